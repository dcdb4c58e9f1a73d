"""Static figures (matplotlib, Agg) of a :class:`mlplab.compare.Comparison`.

Every function returns a :class:`matplotlib.figure.Figure` built without
pyplot (no global state, no GUI backend; ``fig.savefig`` renders with Agg).
:func:`save_pngs` writes all figures that apply as PNG files — what
``--plots DIR`` does. What is drawn comes from :mod:`mlplab.figures` (thinned
curves, the zoomed surface with the paths, the decision boundary, the
gradient-flow lines, the captions); nothing is computed here but the drawing.
Each figure carries its one-line caption under the axes.

Figures: :func:`surface_3d`, :func:`contour` (surface with the optimizer
paths), :func:`slice_1d`, :func:`infimum`, :func:`convergence` (E − E* over
k or cost, log-log and semi-log, fitted rate lines, the budget line),
:func:`grad_norms`, :func:`step_sizes`, :func:`layer_grad_norms`,
:func:`layer_heatmap`, :func:`bound_factors` (gradient flow against depth),
:func:`decision_boundary`, :func:`hidden_units`.
"""

from __future__ import annotations

import math
import sys
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

from mlplab.compare import Comparison
from mlplab.figures import (CAPTIONS, COST_LABEL, FEW_POINTS, comparison_surface, decision_data, figure_plan,
                            flow_lines, hidden_map_grid, infimum_curve, log_levels, pretty, run_color, run_dash,
                            run_marker, step_symbol, thin_indices, unit_ranges, gap_split)

def _caption(fig: Figure, name: str, text: str | None = None, offset: float = 0) -> None:
    """The one-line caption under the figure, saying how to read it."""
    text = CAPTIONS.get(name, "") if text is None else text
    if not text or not fig.axes:
        return
    width = max(60, int(fig.get_figwidth() * 15))  # characters per line at this font size
    style = dict(ha="center", va="top", fontsize=7.5, color="#444", style="italic")
    if name == "hidden_units":  # a grid of small maps: under the whole figure
        fig.text(0.5, 0.0, textwrap.fill(text, width), **style)
        return
    ax = fig.axes[0]
    two = name.startswith("convergence")  # two panels side by side: centred under both
    ax.annotate(textwrap.fill(text, width), xy=(1.1 if two else 0.5, 0), xycoords="axes fraction",
                xytext=(0, -(38 + offset)), textcoords="offset points", annotation_clip=False, **style)


def _log_axis(ax, which="y"):
    """Decade labels only: minor ticks unlabelled unless the axis spans less than a decade."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    lo, hi = (ax.get_ylim() if which == "y" else ax.get_xlim())
    axis.set_major_locator(LogLocator(base=10, numticks=12))
    if lo > 0 and hi / lo > 10:
        axis.set_minor_formatter(NullFormatter())
    else:
        axis.set_minor_formatter(LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def _decade_ticks(cb, levels) -> None:
    """Colour-bar ticks at the decades (and the ends) of log-spaced levels, labelled 10⁻³ style."""
    lo, hi = math.log10(levels[0]), math.log10(levels[-1])
    ticks = [10.0 ** e for e in range(math.ceil(lo), math.floor(hi) + 1)]
    if len(ticks) < 3:
        ticks = sorted(set(ticks) | {float(f"{levels[0]:.2g}"), float(f"{levels[-1]:.2g}")})
    cb.set_ticks(ticks)
    cb.set_ticklabels([LogFormatterSciNotation()(t) if math.log10(t).is_integer() else f"{t:.2g}" for t in ticks])
    cb.ax.minorticks_off()


def _start_end(ax, p, color, three_d=False):
    if three_d:
        ax.scatter([p.a[-1]], [p.b[-1]], [p.z[-1]], color=color, s=70, marker="*", edgecolors="k", zorder=11)
    else:
        ax.plot(p.a[-1], p.b[-1], "*", color=color, ms=15, mec="k", zorder=6)


def surface_3d(comp: Comparison, view=None) -> Figure:
    """E over the surface's plane as a 3-D surface with every run's path on it (log-scaled colours)."""
    view = comparison_surface(comp) if view is None else view
    s = view.surface
    levels, floor = log_levels(s.E)
    fig = Figure(figsize=(8, 7))
    ax = fig.add_subplot(projection="3d", computed_zorder=False)  # paths drawn over the surface
    AA, BB = np.meshgrid(s.a, s.b)
    stride = max(1, max(s.E.shape) // 70)  # at most ~70 × 70 facets: enough detail, quick to render
    norm = LogNorm(levels[0], levels[-1])
    import matplotlib as mpl
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
    _caption(fig, "surface_3d", view.caption if view.projected else "● start, ★ end; colours are log-scaled E.")
    return fig


def _arrows(ax, p, color, n=6):
    m = len(p.a)
    if m < 2:
        return
    for j in np.unique(np.round(np.geomspace(1, m - 1, n)).astype(int)):
        if (p.a[j], p.b[j]) != (p.a[j - 1], p.b[j - 1]):
            ax.annotate("", xy=(p.a[j], p.b[j]), xytext=(p.a[j - 1], p.b[j - 1]),
                        arrowprops=dict(arrowstyle="-|>", color=color, lw=1.4, mutation_scale=14), zorder=7)


def contour(comp: Comparison, view=None) -> Figure:
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
    _decade_ticks(cb, levels)
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
    _caption(fig, "contour", view.caption.replace("the ‘Full view’ button shows", "the HTML report's ‘Full view’ shows"))
    return fig


def slice_1d(comp: Comparison, view=None) -> Figure | None:
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
    _caption(fig, "slice_1d")
    return fig


def infimum(comp: Comparison) -> Figure | None:
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
    _log_axis(ax, "y")
    ax.legend(fontsize=7)
    _caption(fig, "infimum", "The smallest E on each circle ‖w‖ = r keeps falling as r grows: no minimiser, "
                             "only the infimum 0 at ‖w‖ → ∞; markers: each run's final w.")
    return fig


def _err(run, comp) -> np.ndarray:
    e = np.asarray(run.history.loss, dtype=float) - comp.E_ref
    return np.where(e > 0, e, np.nan)


def convergence(comp: Comparison, x: str = "cost") -> Figure:
    """E(w^k) − E* against ``x`` = "cost" (sample-gradient equivalents) or "k": log-log (against 1 + x, so
    the start shows) and semi-log; the fitted rates on the k axis; the budget line on the cost axis."""
    if x not in ("cost", "k"):
        raise ValueError(f"x must be 'cost' or 'k', got {x!r}")
    fig = Figure(figsize=(12, 5))
    axes = fig.subplots(1, 2)
    xlabel = COST_LABEL if x == "cost" else "iteration k"
    for ax, scale in zip(axes, ("log-log", "semi-log")):
        shift = 1.0 if scale == "log-log" else 0.0
        for i, run in enumerate(comp.runs):
            h = run.history
            ix = thin_indices(len(h))
            xs = (np.asarray(h.grad_equivalents, dtype=float) if x == "cost" else np.asarray(h.k, dtype=float))[ix]
            label = pretty(run.name) + (f" — {pretty(run.rate.describe())}" if run.rate is not None and x == "k" else "")
            err, by_ref = gap_split(comp, _err(run, comp)[ix])
            few = len(h) <= FEW_POINTS  # few records: mark each, so a short run is not read as a line
            ax.plot(xs + shift, err, ls=run_dash(i), marker=run_marker(i) if few else None, ms=5, color=run_color(i),
                    lw=1.5, label=label, gid="data")
            if np.isfinite(by_ref).any():  # within 10 Δ of E* = the runs' own best E: set by E*, drawn faint
                ax.plot(xs + shift, by_ref, ":", marker=".", ms=3, color=run_color(i), lw=1, alpha=0.4, gid="by-ref",
                        label="E − E* < 10 Δ: set by E*" if scale == "log-log" and not any(
                            ln.get_gid() == "by-ref" for ln in ax.get_lines()[:-1]) else None)
            if x == "k" and run.rate is not None and run.rate.fits:  # only a fit that fits is drawn
                lo, hi = run.rate.window
                kk = np.linspace(max(lo, 1), hi, 50)
                fit = (run.rate.C * run.rate.q ** kk if run.rate.kind == "linear" else run.rate.C * kk ** -run.rate.p)
                ax.plot(kk + shift, fit, "-", color=run_color(i), lw=6, alpha=0.25, gid="fit")  # a band under the data
        if x == "cost" and comp.budget is not None:
            ax.axvline(comp.budget + shift, color="k", ls="--", lw=1, label="budget" if scale == "log-log" else None,
                       gid="budget")
        ax.set_yscale("log")
        if scale == "log-log":
            ax.set_xscale("log")
            _log_axis(ax, "x")
        _log_axis(ax, "y")
        ax.set_xlabel(("1 + " if shift else "") + xlabel, fontsize=8 if x == "cost" else 10)
        ax.set_ylabel("E(wᵏ) − E*")
        ax.set_title(f"{scale}: E − E* against {'1 + ' if shift else ''}{'cost' if x == 'cost' else 'k'}")
        ax.grid(True, which="major", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()  # a run's label carries its rate: wrapped to the panel
    axes[0].legend(handles, [textwrap.fill(t, 80) for t in labels], fontsize=7, loc="lower left")
    fig.suptitle(f"Convergence; {pretty(comp.E_ref_note)}", fontsize=8, wrap=True)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    _caption(fig, "convergence_cost" if x == "cost" else "convergence_k",
             "E − E* on log axes (left, against 1 + cost so the start shows) and semi-log (right)."
             + (CAPTIONS["budget"] if comp.budget is not None else "") if x == "cost" else None)
    return fig


def grad_norms(comp: Comparison) -> Figure:
    """‖∇E(w^k)‖ over k (semi-log)."""
    fig = Figure(figsize=(7, 4.3))
    ax = fig.add_subplot()
    for i, run in enumerate(comp.runs):
        ix = thin_indices(len(run.history))
        few = len(run.history) <= FEW_POINTS
        ax.semilogy(np.asarray(run.history.k)[ix], np.asarray(run.history.grad_norm, dtype=float)[ix],
                    ls=run_dash(i), marker=run_marker(i) if few else None, ms=4, color=run_color(i),
                    label=pretty(run.name))
    _log_axis(ax, "y")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("‖∇E(wᵏ)‖₂")
    ax.set_title("Gradient norm over the iterations")
    ax.legend(fontsize=7)
    _caption(fig, "grad_norm")
    return fig


def step_sizes(comp: Comparison) -> Figure:
    """Step sizes α^k (line search) / γ_k (schedule) over k."""
    fig = Figure(figsize=(7, 4.3))
    ax = fig.add_subplot()
    for i, run in enumerate(comp.runs):  # dash and marker per run: identical γ_k lines stay told apart
        ix = thin_indices(len(run.history))
        n = len(ix)
        lab = "αᵏ" if step_symbol(run) == "α" else "γₖ"
        ax.loglog(np.asarray(run.history.k)[ix] + 1, np.asarray(run.history.step_size, dtype=float)[ix],
                  ls=run_dash(i), marker=run_marker(i), ms=6 if n <= FEW_POINTS else 4, markevery=max(1, n // 25),
                  mfc="none", lw=1.5 + 0.8 * (i == 0), color=run_color(i), label=f"{pretty(run.name)} ({lab})")
    _log_axis(ax, "y")
    _log_axis(ax, "x")
    ax.set_xlabel("k + 1")
    ax.set_ylabel("step size")
    ax.set_title("Step sizes αᵏ (line search) and γₖ (schedule)")
    ax.legend(fontsize=7)
    _caption(fig, "step_sizes")
    return fig


def layer_grad_norms(comp: Comparison, run_index: int | None = None) -> Figure:
    """Per-layer ‖∇_{W^ℓ}E(w^k)‖ over k of one run (the first: the run the gradient-flow section is about)."""
    run = comp.runs[comp.flow_run if run_index is None else run_index]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    ix = thin_indices(len(H))
    fig = Figure(figsize=(7, 4.3))
    ax = fig.add_subplot()
    import matplotlib as mpl
    cmap = mpl.colormaps["plasma"]
    L = H.shape[1]
    for ell in range(L):
        ax.semilogy(np.asarray(run.history.k)[ix], H[ix, ell], ls=run_dash(ell), color=cmap(0.85 * ell / max(L - 1, 1)),
                    label=f"layer {ell + 1}")
    _log_axis(ax, "y")
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"$\|\nabla_{W^\ell} E\|_F$")
    ax.set_title(f"Gradient flow per layer ({pretty(run.name)})", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    _caption(fig, "layer_grad_norms")
    return fig


def layer_heatmap(comp: Comparison, run_index: int | None = None) -> Figure:
    """Layers × iterations heatmap of log10 ‖∇_{W^ℓ}E(w^k)‖ of one run (the first)."""
    run = comp.runs[comp.flow_run if run_index is None else run_index]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    ix = thin_indices(len(H))
    fig = Figure(figsize=(8, 3.4 + 0.25 * H.shape[1]))
    ax = fig.add_subplot()
    k = np.asarray(run.history.k)[ix]
    edges = np.append(k, k[-1] + 1) if k.size else [0, 1]
    im = ax.pcolormesh(edges, np.arange(H.shape[1] + 1) + 0.5, np.log10(np.maximum(H[ix].T, 1e-300)), cmap="magma",
                       shading="flat")
    fig.colorbar(im, ax=ax, label=r"$\log_{10} \|\nabla_{W^\ell} E\|$")
    ax.set_yticks(np.arange(1, H.shape[1] + 1))
    ax.set_xlabel("iteration k")
    ax.set_ylabel("layer ℓ")
    ax.set_title(f"Gradient norm per layer and iteration ({pretty(run.name)})", fontsize=10)
    _caption(fig, "layer_heatmap")
    return fig


def bound_factors(comp: Comparison) -> Figure | None:
    """Gradient flow against depth on a log axis: per-sample medians of ‖δ^ℓ‖, ‖∇_{W^ℓ} e‖, the lecture's
    bound, ‖Diag(φ′)‖ and, for sigmoid, the (¼)^(L−ℓ) reference — the numbers the verdict is decided from;
    saturation as numbers (the output layer's marked harmless where its loss makes it so)."""
    fl = flow_lines(comp)
    if fl is None:
        return None
    fig = Figure(figsize=(9, 5.2))
    ax = fig.add_subplot()
    lines = [(r"$\|\delta^\ell\| = \|V^{\ell+1}\cdots V^L\delta^L\|$", fl.delta, "-", "o"),
             (r"$\|\nabla_{W^\ell} e\|$", fl.grad, "--", "s"),
             (r"the lecture's bound $\|\mathrm{Diag}(\varphi')\|\,\|\delta^\ell\|\,\|a^{\ell-1}\|$", fl.bound, ":", "^"),
             (r"$\|\mathrm{Diag}(\varphi')\|$", fl.dphi, "-.", "D")]
    for j, (label, y, ls, mk) in enumerate(lines):
        ax.plot(fl.layers, y, ls=ls, marker=mk, color=run_color(j), lw=2, ms=7, label=label)
    if fl.quarter is not None:
        ax.plot(fl.layers, fl.quarter, ls=(0, (8, 3)), color="grey", lw=1.3,
                label=r"$(1/4)^{L-\ell}\,\|\delta^L\|$: $\sigma' \leq 1/4$ per layer")
    shade = {"vanishing": "#1f77b4", "exploding": "#d62728"}.get(fl.kind)
    for k, named in enumerate(fl.named if shade else ()):
        ax.axvspan(named - 0.5, named + 0.5, color=shade, alpha=0.08, lw=0,
                   label=f"{fl.kind} (named in the verdict)" if k == 0 else None)
    ax.set_yscale("log")
    _log_axis(ax, "y")
    ax.set_xticks(fl.layers)
    ax.set_xlabel("layer ℓ (1 = first hidden layer, L = output)")
    ax.set_ylabel(f"median over the {fl.n_samples} samples")
    verdict = {"vanishing": "vanishing gradients", "exploding": "exploding gradients",
               "healthy": "no vanishing or exploding gradients"}.get(fl.kind, fl.kind)
    ax.set_title(f"Gradient flow of {pretty(fl.run.name)} at {pretty(fl.point)}: {verdict}", fontsize=10)
    ax.legend(fontsize=7, loc="best")
    ax.annotate(textwrap.fill(fl.saturation_text() + ".", 120), xy=(0.5, 0), xycoords="axes fraction",
                xytext=(0, -38), textcoords="offset points", ha="center", va="top", fontsize=8,
                annotation_clip=False)
    _caption(fig, "gradient_flow", offset=14 * (1 + len(fl.saturation_text()) // 120))
    return fig


CLASS_COLORS = ["#1f5fbf", "#c8302b", "#2a9d3a", "#8e44ad", "#e67e22"]


def decision_boundary(comp: Comparison, run_index: int | None = None) -> Figure | None:
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
    _caption(fig, "decision_boundary", "Background ŷ(x) (blue 0 … red 1), the black line ŷ = 0.5, the data "
                                       "coloured by class.")
    return fig


def hidden_units(comp: Comparison) -> Figure | None:
    """What each hidden unit computes over the input plane at the final w (nets up to 64 hidden units),
    every map of one activation on that activation's one fixed scale, with its colour bar."""
    dd = decision_data(comp)
    grid = hidden_map_grid(comp, dd)
    if grid is None:
        return None
    xs, ys, maps, rows, cols = grid
    acts = [a.name for a in dd.run.net.activations]
    ranges = unit_ranges(acts, maps)
    fig = Figure(figsize=(1.5 * cols + 0.5 + 0.9 * len(ranges), 1.6 * rows + 1.2))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax in axes:
        ax.set_axis_off()
    meshes = {}
    for ax, (ell, i, A) in zip(axes, maps):
        lo, hi = ranges[acts[ell - 1]]
        cmap = "Reds" if lo == 0.0 else "RdBu_r"  # from 0 (ReLU, softplus): white … red
        meshes[acts[ell - 1]] = ax.pcolormesh(xs, ys, A, cmap=cmap, shading="auto", vmin=lo, vmax=hi)
        ax.set_title(f"$a^{{{ell}}}_{{{i}}}$", fontsize=8)
        ax.set_aspect("equal")
    for name, mesh in meshes.items():
        fig.colorbar(mesh, ax=list(axes), fraction=0.04, pad=0.02).set_label(f"{name}: a", fontsize=8)
    fig.suptitle(f"Hidden units of {pretty(dd.run.name)} over the input plane", fontsize=10)
    _caption(fig, "hidden_units", "What each hidden unit computes over the input plane at the final w (as "
                                  "TensorFlow Playground shows it), every map on its activation's fixed scale "
                                  "(colour bar): red high, blue low.")
    return fig


def figures(comp: Comparison) -> dict[str, Figure]:
    """Every figure that applies to the comparison, by name."""
    this = sys.modules[__name__]
    figs = {name: getattr(this, fn)(comp, *args) for name, fn, args in figure_plan(comp)}
    return {k: v for k, v in figs.items() if v is not None}


def save_pngs(directory, comp: Comparison, dpi: int = 110) -> list[Path]:
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
