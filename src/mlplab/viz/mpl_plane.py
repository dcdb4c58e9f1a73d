"""The input plane of a 2-D problem as matplotlib figures: the decision boundary and each hidden unit's
activation over the plane (one fixed colour scale per activation)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from mlplab.viz.mpl_base import caption
from mlplab.viz.notation import mathtext, pretty
from mlplab.viz.plane import decision_data, unit_maps
from mlplab.viz.style import CLASS_COLORS, unit_cmap
from mlplab.viz.words import unit_label

__all__ = ["decision_boundary", "hidden_units"]


def decision_boundary(comp, run_index: int | None = None) -> Figure | None:
    """ŷ over the 2-D input plane, the ŷ = 0.5 line, the data coloured by class, accuracy in the title
    (None unless N_0 = 2); a constant output is said in words."""
    dd = decision_data(comp, run_index)
    if dd is None:
        return None
    fig = Figure(figsize=(7, 6.3))
    ax = fig.add_subplot()
    im = ax.pcolormesh(dd.xs, dd.ys, dd.P, cmap="RdBu_r", vmin=0, vmax=1, shading="auto")
    if dd.constant is None and dd.P.min() < 0.5 < dd.P.max():
        ax.contour(dd.xs, dd.ys, dd.P, levels=[0.5], colors="k", linewidths=2)
        ax.plot([], [], "k-", lw=2, label="ŷ = 0.5")
    fig.colorbar(im, ax=ax, label="ŷ (output)", shrink=0.85)
    for c in sorted(set(dd.y.tolist())):
        sel = dd.y == c
        ax.scatter(dd.X[sel, 0], dd.X[sel, 1], marker="o" if c else "X", c=CLASS_COLORS[int(c) % len(CLASS_COLORS)],
                   edgecolors="white", s=60 if len(dd.X) > 50 else 110, linewidths=0.8, label=f"class y = {c:g}")
    if dd.constant:
        ax.text(0.5, 0.5, dd.constant.capitalize(), transform=ax.transAxes, ha="center", va="center", fontsize=12,
                bbox=dict(facecolor="white", alpha=0.85, edgecolor="grey"))
    ax.legend(fontsize=7, loc="upper right")
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(pretty(dd.title()), fontsize=9, wrap=True)
    caption(fig, "decision_boundary", "Background ŷ(x) (blue 0 … red 1), the black line ŷ = 0.5, the data "
                                       "coloured by class.")
    return fig


def hidden_units(comp) -> Figure | None:
    """What each hidden unit computes over the input plane at the final w (nets up to 64 hidden units),
    every map of one activation on that activation's one fixed scale, with its colour bar."""
    um = unit_maps(comp, decision_data(comp))
    if um is None:
        return None
    xs, ys, maps, rows, cols, acts, ranges = um.xs, um.ys, um.maps, um.rows, um.cols, um.activations, um.ranges
    fig = Figure(figsize=(1.5 * cols + 0.5 + 0.9 * len(ranges), 1.6 * rows + 1.2))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax in axes:
        ax.set_axis_off()
    meshes = {}
    for ax, (ell, i, A) in zip(axes, maps):
        lo, hi = ranges[acts[ell - 1]]
        meshes[acts[ell - 1]] = ax.pcolormesh(xs, ys, A, cmap=unit_cmap(lo, hi), shading="auto", vmin=lo, vmax=hi)
        ax.set_title(mathtext(unit_label(ell, i)), fontsize=8)
        ax.set_aspect("equal")
    for name, mesh in meshes.items():
        fig.colorbar(mesh, ax=list(axes), fraction=0.04, pad=0.02).set_label(f"{name}: a", fontsize=8)
    fig.suptitle(f"Hidden units of {pretty(um.run.name)} over the input plane", fontsize=10)
    caption(fig, "hidden_units", "What each hidden unit computes over the input plane at the final w (as "
                                  "TensorFlow Playground shows it), every map on its activation's fixed scale "
                                  "(colour bar): red high, blue low.")
    return fig
