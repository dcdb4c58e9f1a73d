"""The loss surface as matplotlib figures: E in 3-D and as log-spaced contours with the optimizer paths
(start ●, end ★, arrows), a 1-D slice through the final w, and min E on circles ‖w‖ = r.

What is drawn comes from :func:`mlplab.viz.surface.comparison_surface`.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from mlplab.viz.mpl_base import caption, decade_ticks, log_axis
from mlplab.viz.notation import pretty
from mlplab.viz.style import run_color, run_dash, run_marker
from mlplab.viz.surface import comparison_surface, infimum_curve, log_levels

__all__ = ["surface_3d", "contour", "slice_1d", "infimum"]


def _start_end(ax, p, color, three_d=False):
    if three_d:
        ax.scatter([p.a[-1]], [p.b[-1]], [p.z[-1]], color=color, s=70, marker="*", edgecolors="k", zorder=11)
    else:
        ax.plot(p.a[-1], p.b[-1], "*", color=color, ms=15, mec="k", zorder=6)


def surface_3d(comp, view=None) -> Figure:
    """E over the surface's plane as a 3-D surface with every run's path on it (log-scaled colours)."""
    view = comparison_surface(comp) if view is None else view
    s = view.surface
    levels, floor = log_levels(s.E)
    fig = Figure(figsize=(8, 7))
    ax = fig.add_subplot(projection="3d", computed_zorder=False)  # paths drawn over the surface
    AA, BB = np.meshgrid(s.a, s.b)
    stride = max(1, max(s.E.shape) // 70)  # at most ~70 × 70 facets: enough detail, quick to render
    norm = LogNorm(levels[0], levels[-1])
    colors = mpl.colormaps["viridis"](norm(np.maximum(s.E - floor, levels[0])))
    ax.plot_surface(AA, BB, s.E, facecolors=colors, alpha=0.8, linewidth=0, antialiased=False, rstride=stride,
                    cstride=stride, shade=False)
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if p is None or len(p.a) < 2:
            continue
        ax.plot(p.a, p.b, p.z, ls=run_dash(i), marker=run_marker(i), color=run_color(i), ms=2.5, lw=1.5,
                label=pretty(run.name), zorder=10)
        _start_end(ax, p, run_color(i), three_d=True)
    st = view.start
    if st is not None:
        ax.scatter([st[0]], [st[1]], [st[2]], color="white", edgecolors="k", s=50, label=pretty(comp.start_label),
                   zorder=12)
    ax.set_xlabel(pretty(s.labels[0]))
    ax.set_ylabel(pretty(s.labels[1]))
    ax.set_zlabel("E")
    ax.set_title("Loss surface E(w) with the optimizer paths" if not view.projected
                 else "E on a plane through w (the loss of the projection)")
    if view.equal_axes:
        ax.set_box_aspect((1, 1, 0.7))
    ax.view_init(elev=32, azim=-125)
    ax.legend(loc="upper left", fontsize=7)
    caption(fig, "surface_3d", view.caption if view.projected else "● start, ★ end; colours are log-scaled E.")
    return fig


def _arrows(ax, p, color, n=6):
    m = len(p.a)
    if m < 2:
        return
    for j in np.unique(np.round(np.geomspace(1, m - 1, n)).astype(int)):
        if (p.a[j], p.b[j]) != (p.a[j - 1], p.b[j - 1]):
            ax.annotate("", xy=(p.a[j], p.b[j]), xytext=(p.a[j - 1], p.b[j - 1]),
                        arrowprops=dict(arrowstyle="-|>", color=color, lw=1.4, mutation_scale=14), zorder=7)


def contour(comp, view=None) -> Figure:
    """Log-spaced contours of the surface zoomed to the paths, equal axes for weights, start ●, end ★, arrows."""
    view = comparison_surface(comp) if view is None else view
    s = view.surface
    levels, floor = log_levels(s.E)
    fig = Figure(figsize=(7.5, 7))
    ax = fig.add_subplot()
    Z = np.maximum(s.E - floor, levels[0])
    norm = LogNorm(levels[0], levels[-1])
    cs = ax.contourf(s.a, s.b, Z, levels=levels, cmap="viridis", norm=norm, extend="both")
    ax.contour(s.a, s.b, Z, levels=levels[::3], colors="w", linewidths=0.4, alpha=0.6)
    cb = fig.colorbar(cs, ax=ax, label="E" if floor == 0 else f"E − ({floor:.3g})", shrink=0.85)
    decade_ticks(cb, levels)
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if p is None or len(p.a) < 2:
            continue
        ax.plot(p.a, p.b, ls=run_dash(i), color=run_color(i), lw=1.6, label=pretty(run.name), zorder=4)
        if view.projected:  # markers coloured by the run's TRUE loss on the same scale as the background
            ax.scatter(p.a, p.b, c=np.maximum(p.E - floor, levels[0]), cmap="viridis", norm=norm, s=22,
                       edgecolors=run_color(i), linewidths=1.0, zorder=5)
        else:
            ax.plot(p.a, p.b, run_marker(i), color=run_color(i), ms=3, zorder=5)
        _start_end(ax, p, run_color(i))
        _arrows(ax, p, run_color(i))
    st = view.start
    if st is not None:
        ax.plot(st[0], st[1], "o", color="white", mec="k", ms=10, label=pretty(comp.start_label), zorder=8)
    ax.set_xlim(s.a[0], s.a[-1])
    ax.set_ylim(s.b[0], s.b[-1])
    if view.equal_axes:
        ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(pretty(s.labels[0]))
    ax.set_ylabel(pretty(s.labels[1]))
    ax.set_title("Contours of E(w) with the optimizer paths (zoomed to them)" if not view.projected else
                 "Contours of E on the plane; path points coloured by their true E", fontsize=11)
    ax.legend(loc="best", fontsize=7)
    caption(fig, "contour", view.caption.replace("the ‘Full view’ button shows", "the HTML report's ‘Full view’ shows"))
    return fig


def slice_1d(comp, view=None) -> Figure | None:
    """E along the first direction of the plane through its centre (None for d = 2)."""
    view = comparison_surface(comp) if view is None else view
    if view.slice_1d is None:
        return None
    a, E = view.slice_1d
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ax.plot(a, E, color="k")
    ax.axvline(0.0, color="grey", ls=":")
    ax.set_xlabel(f"a along {view.surface.labels[0]}")
    ax.set_ylabel("E(w + a·u)")
    ax.set_title("1-D slice of E through the final w")
    caption(fig, "slice_1d")
    return fig


def infimum(comp) -> Figure | None:
    """For d = 2: min over the circle ‖w‖ = r of E against r (log-log) — the infimum is at ‖w‖ → ∞."""
    curve = infimum_curve(comp)
    if curve is None:
        return None
    r, Emin = curve
    fig = Figure(figsize=(7, 4.3))
    ax = fig.add_subplot()
    ax.loglog(r, np.maximum(Emin, 1e-300), "o-", color="k", ms=3, label="min E on the circle ‖w‖ = r")
    for i, run in enumerate(comp.runs):
        ax.plot(np.linalg.norm(run.result.params), run.result.loss, run_marker(i), color=run_color(i), ms=10,
                mec="k", label=pretty(run.name))
    ax.set_xlabel("r = ‖w‖")
    ax.set_ylabel("min E on the circle ‖w‖ = r")
    ax.set_title("E has no minimiser: its infimum 0 is approached only as ‖w‖ → ∞", fontsize=10)
    log_axis(ax, "y")
    ax.legend(fontsize=7)
    caption(fig, "infimum", "The smallest E on each circle ‖w‖ = r keeps falling as r grows: no minimiser, "
                             "only the infimum 0 at ‖w‖ → ∞; markers: each run's final w.")
    return fig
