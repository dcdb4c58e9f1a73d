"""Which figures a comparison gets: the plan the Plotly page and the PNGs both follow."""

from __future__ import annotations

from mlplab.viz.surface import SurfaceView, comparison_surface

__all__ = ["HISTORY_FIGURES", "figure_plan"]

HISTORY_FIGURES = ("convergence_cost", "convergence_k", "grad_norm", "step_sizes", "layer_grad_norms",
                   "layer_heatmap")


def figure_plan(comp, view: SurfaceView | None = None) -> list[tuple[str, str, tuple]]:
    """(figure name, plotting function name, arguments after ``comp``) of every figure that applies.

    Shared by :func:`mlplab.plots.figures` (matplotlib) and :func:`mlplab.report.figures`
    (Plotly), which define functions of these names. A comparison whose runs each
    recorded a single point (a saved model without history) gets no curves over
    the iterations.
    """
    view = comparison_surface(comp) if view is None else view
    plan = [("surface_3d", "surface_3d", (view,)), ("contour", "contour", (view,)),
            ("slice_1d", "slice_1d", (view,)), ("infimum", "infimum", ()),
            ("convergence_cost", "convergence", ("cost",)), ("convergence_k", "convergence", ("k",)),
            ("grad_norm", "grad_norms", ()), ("step_sizes", "step_sizes", ()),
            ("layer_grad_norms", "layer_grad_norms", ()), ("layer_heatmap", "layer_heatmap", ()),
            ("gradient_flow", "bound_factors", ()), ("decision_boundary", "decision_boundary", ()),
            ("hidden_units", "hidden_units", ())]
    if not any(len(r.history) >= 2 for r in comp.runs):
        plan = [step for step in plan if step[0] not in HISTORY_FIGURES]
    return plan
