"""Static figures (matplotlib, Agg) of a :class:`mlplab.compare.Comparison`, and the PNG files.

Every function returns a :class:`matplotlib.figure.Figure` built without
pyplot (no global state, no GUI backend; ``fig.savefig`` renders with Agg).
:func:`save_pngs` writes all figures that apply as PNG files — what
``--plots DIR`` does. The figures are the figure library's
(:mod:`mlplab.viz`: ``mpl_surface``, ``mpl_curves``, ``mpl_layers``,
``mpl_plane``), drawn from the same data, styles and captions as the HTML
report; each carries its one-line caption under the axes.

Figures: :func:`surface_3d`, :func:`contour` (surface with the optimizer
paths), :func:`slice_1d`, :func:`infimum`, :func:`convergence` (E − E* over
k or cost, log-log and semi-log, fitted rate lines, the budget line),
:func:`grad_norms`, :func:`step_sizes`, :func:`layer_grad_norms`,
:func:`layer_heatmap`, :func:`bound_factors` (gradient flow against depth),
:func:`decision_boundary`, :func:`hidden_units`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from matplotlib.figure import Figure

from mlplab.viz.mpl_curves import convergence, grad_norms, step_sizes
from mlplab.viz.mpl_layers import bound_factors, layer_grad_norms, layer_heatmap
from mlplab.viz.mpl_plane import decision_boundary, hidden_units
from mlplab.viz.mpl_surface import contour, infimum, slice_1d, surface_3d
from mlplab.viz.notation import pretty
from mlplab.viz.plan import figure_plan

__all__ = ["surface_3d", "contour", "slice_1d", "infimum", "convergence", "grad_norms", "step_sizes",
           "layer_grad_norms", "layer_heatmap", "bound_factors", "decision_boundary", "hidden_units", "figures",
           "save_pngs", "pretty"]


def figures(comp) -> dict[str, Figure]:
    """Every figure that applies to the comparison, by name (:func:`mlplab.viz.plan.figure_plan`)."""
    this = sys.modules[__name__]  # looked up here, so a builder replaced on this module is the one drawn
    figs = {name: getattr(this, fn)(comp, *args) for name, fn, args in figure_plan(comp)}
    return {k: v for k, v in figs.items() if v is not None}


def save_pngs(directory, comp, dpi: int = 110) -> list[Path]:
    """Write every applicable figure as ``DIR/<name>.png``; returns the paths.

    DIR is created if needed; if it was created here and drawing fails, it is
    removed again (no empty folder is left behind).
    """
    out = Path(directory)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    try:
        for name, fig in figures(comp).items():
            path = out / f"{name}.png"
            fig.savefig(path, dpi=dpi, bbox_inches="tight")
            paths.append(path)
    except BaseException:
        for p in paths:
            p.unlink(missing_ok=True)
        if created:
            try:
                out.rmdir()
            except OSError:
                pass
        raise
    return paths
