"""Static figures (matplotlib, Agg) of a :class:`mlplab.compare.Comparison`.

Every function returns a :class:`matplotlib.figure.Figure` built without
pyplot (no global state, no GUI backend; ``fig.savefig`` renders with Agg).
:func:`save_pngs` writes all figures that apply as PNG files — what
``--plots DIR`` does. The numbers come from :mod:`mlplab.analysis` and
:mod:`mlplab.compare`; nothing is computed here but the drawing.

Figures: :func:`surface_3d`, :func:`contour` (surface with the optimizer
paths), :func:`slice_1d`, :func:`infimum`, :func:`convergence` (E − E* over
k or cost, log-log and semi-log, fitted rate lines), :func:`grad_norms`,
:func:`step_sizes`, :func:`layer_grad_norms`, :func:`layer_heatmap`,
:func:`bound_factors`, :func:`decision_boundary`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mlplab.compare import (COST_LABEL, FEW_POINTS, Comparison, comparison_surface, decision_view, figure_plan,
                            infimum_curve, longest_run, run_color, run_dash, run_marker)


def surface_3d(comp: Comparison, view=None) -> Figure:
    """E over the surface's plane as a 3-D surface with every run's path on it."""
    view = comparison_surface(comp) if view is None else view
    s = view.surface
    fig = Figure(figsize=(8, 6.5))
    ax = fig.add_subplot(projection="3d", computed_zorder=False)  # paths drawn over the surface
    AA, BB = np.meshgrid(s.a, s.b)
    stride = max(1, max(s.E.shape) // 70)  # at most ~70 × 70 facets: enough detail, quick to render
    ax.plot_surface(AA, BB, s.E, cmap="viridis", alpha=0.8, linewidth=0, antialiased=False, rstride=stride,
                    cstride=stride)
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if len(p) < 2:  # one point is no path: it is drawn as the start marker below
            continue
        ax.plot(p[:, 0], p[:, 1], p[:, 2], "-o", color=run_color(i), ms=2.5, lw=1.5, label=run.name, zorder=10)
        ax.scatter([p[-1, 0]], [p[-1, 1]], [p[-1, 2]], color=run_color(i), s=40, marker="*", zorder=11)
    ax.scatter([view.paths[0][0, 0]], [view.paths[0][0, 1]], [view.paths[0][0, 2]], color="k", s=40,
               label=comp.start_label, zorder=12)
    ax.set_xlabel(s.labels[0])
    ax.set_ylabel(s.labels[1])
    ax.set_zlabel("E(w)")
    ax.set_title("Loss surface E(w) with the optimizer paths")
    ax.view_init(elev=32, azim=-125)
    ax.legend(loc="upper left", fontsize=8)
    return fig


def contour(comp: Comparison, view=None) -> Figure:
    """Contour map of the surface with every run's path (start ●, end ★)."""
    view = comparison_surface(comp) if view is None else view
    s = view.surface
    fig = Figure(figsize=(7.5, 6))
    ax = fig.add_subplot()
    finite = s.E[np.isfinite(s.E)]
    cs = ax.contourf(s.a, s.b, s.E, levels=np.linspace(finite.min(), finite.max(), 25), cmap="viridis")
    ax.contour(s.a, s.b, s.E, levels=np.linspace(finite.min(), finite.max(), 25)[1:6], colors="w",
               linewidths=0.4, alpha=0.6)  # the low levels, where the paths run
    fig.colorbar(cs, ax=ax, label="E(w)")
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if len(p) < 2:  # one point is no path: it is drawn as the start marker below
            continue
        ax.plot(p[:, 0], p[:, 1], "-o", color=run_color(i), ms=2.5, lw=1.3, label=run.name)
        ax.plot(p[-1, 0], p[-1, 1], "*", color=run_color(i), ms=14, mec="k")
    ax.plot(view.paths[0][0, 0], view.paths[0][0, 1], "o", color="white", mec="k", ms=9, label=comp.start_label)
    ax.set_xlim(s.a[0], s.a[-1])
    ax.set_ylim(s.b[0], s.b[-1])
    ax.set_xlabel(s.labels[0])
    ax.set_ylabel(s.labels[1])
    ax.set_title("Contours of E(w) with the optimizer paths")
    ax.legend(loc="best", fontsize=8)
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
    return fig


def infimum(comp: Comparison) -> Figure | None:
    """For d = 2: min over the circle ‖w‖ = r of E against r (log-log) — the infimum is at ‖w‖ → ∞."""
    curve = infimum_curve(comp)
    if curve is None:
        return None
    r, Emin = curve
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ax.loglog(r, np.maximum(Emin, 1e-300), "o-", color="k", ms=3, label="min_{‖w‖=r} E(w)")
    for i, run in enumerate(comp.runs):
        ax.plot(np.linalg.norm(run.result.params), run.result.loss, "*", color=run_color(i), ms=12, label=run.name)
    ax.set_xlabel("r = ‖w‖")
    ax.set_ylabel("min E on the circle ‖w‖ = r")
    ax.set_title("E has no minimiser: its infimum 0 is approached only as ‖w‖ → ∞")
    ax.legend(fontsize=8)
    return fig


def _err(run: Comparison, comp) -> np.ndarray:
    e = np.asarray(run.history.loss, dtype=float) - comp.E_ref
    return np.where(e > 0, e, np.nan)


def convergence(comp: Comparison, x: str = "cost") -> Figure:
    """E(w^k) − E* against ``x`` = "cost" (sample-gradient equivalents) or "k": log-log and semi-log.

    On the k axis the fitted rate of each run is drawn dashed over its window.
    """
    if x not in ("cost", "k"):
        raise ValueError(f"x must be 'cost' or 'k', got {x!r}")
    fig = Figure(figsize=(12, 4.6))
    axes = fig.subplots(1, 2)
    xlabel = COST_LABEL if x == "cost" else "iteration k"
    for ax, scale in zip(axes, ("log-log", "semi-log")):
        for i, run in enumerate(comp.runs):
            h = run.history
            xs = h.grad_equivalents if x == "cost" else np.asarray(h.k, dtype=float)
            label = run.name + (f" — {run.rate.describe()}" if run.rate is not None and x == "k" else "")
            err = _err(run, comp)
            if scale == "log-log":  # x = 0 (the start) has no place on a log axis
                err = np.where(xs > 0, err, np.nan)
            few = len(h) <= FEW_POINTS  # few records: mark each, so a short run is not read as a line
            ax.plot(xs, err, ls=run_dash(i), marker=run_marker(i) if few else None, ms=4, color=run_color(i),
                    lw=1.4, label=label, gid="data")
            if x == "k" and run.rate is not None:
                lo, hi = run.rate.window
                kk = np.linspace(max(lo, 1), hi, 50)
                fit = (run.rate.C * run.rate.q ** kk if run.rate.kind == "linear" else run.rate.C * kk ** -run.rate.p)
                ax.plot(kk, fit, "-", color=run_color(i), lw=6, alpha=0.25, gid="fit")  # a band under the data
        ax.set_yscale("log")
        if scale == "log-log":
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("E(w^k) − E*")
        ax.set_title(f"{scale}: E − E* against {'cost' if x == 'cost' else 'k'}")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Convergence; {comp.E_ref_note}", fontsize=9)
    fig.tight_layout()
    return fig


def grad_norms(comp: Comparison) -> Figure:
    """‖∇E(w^k)‖ over k (semi-log)."""
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    for i, run in enumerate(comp.runs):
        ax.semilogy(run.history.k, run.history.grad_norm, color=run_color(i), label=run.name)
    ax.set_xlabel("iteration k")
    ax.set_ylabel("‖∇E(w^k)‖₂")
    ax.set_title("Gradient norm over the iterations")
    ax.legend(fontsize=8)
    return fig


def step_sizes(comp: Comparison) -> Figure:
    """Step sizes α^k (line search) / γ_k (schedule) over k."""
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    for i, run in enumerate(comp.runs):  # dash and marker per run: identical γ_k lines stay told apart
        n = len(run.history)
        ax.loglog(np.asarray(run.history.k) + 1, run.history.step_size, ls=run_dash(i), marker=run_marker(i),
                  ms=6 if n <= FEW_POINTS else 3, markevery=max(1, n // 25), mfc="none", lw=1.4 + 0.6 * (i == 0),
                  color=run_color(i), label=run.name)
    ax.set_xlabel("k + 1")
    ax.set_ylabel("α^k / γ_k")
    ax.set_title("Step sizes over the iterations")
    ax.legend(fontsize=8)
    return fig


def layer_grad_norms(comp: Comparison, run_index: int | None = None) -> Figure:
    """Per-layer ‖∇_{W^ℓ}E(w^k)‖ over k, one line per layer."""
    run = comp.runs[longest_run(comp) if run_index is None else run_index]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    for ell in range(H.shape[1]):
        ax.semilogy(run.history.k, H[:, ell], label=f"layer {ell + 1}")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("‖∇_{W^ℓ} E‖_F")
    ax.set_title(f"Gradient flow per layer ({run.name})")
    ax.legend(fontsize=8, ncol=2)
    return fig


def layer_heatmap(comp: Comparison, run_index: int | None = None) -> Figure:
    """Layers × iterations heatmap of log10 ‖∇_{W^ℓ}E(w^k)‖."""
    run = comp.runs[longest_run(comp) if run_index is None else run_index]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    fig = Figure(figsize=(8, 3 + 0.25 * H.shape[1]))
    ax = fig.add_subplot()
    k = np.asarray(run.history.k)
    im = ax.pcolormesh(np.append(k, k[-1] + 1) if k.size else [0, 1], np.arange(H.shape[1] + 1) + 0.5,
                       np.log10(np.maximum(H.T, 1e-300)), cmap="magma", shading="flat")
    fig.colorbar(im, ax=ax, label="log10 ‖∇_{W^ℓ} E‖")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("layer ℓ")
    ax.set_title(f"Gradient norm per layer and iteration ({run.name})")
    return fig


def bound_factors(comp: Comparison) -> Figure:
    """The three factors of ‖∇_{W^ℓ} e‖₂ ≤ ‖Diag(φ^ℓ′)‖₂ ‖V^{ℓ+1}…V^L δ^L‖₂ ‖a^{ℓ−1}‖₂, and saturation.

    Bars are medians over the samples of the per-sample norms — the numbers the
    verdict (the figure's title) is decided from — at the point the verdict is
    about; the layers it names are shaded.
    """
    flow = comp.gradient_flow
    layers = flow.layers
    diag = flow.diagnosis
    ell = np.array([f.layer for f in layers])
    fig = Figure(figsize=(12, 4.5))
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1.3]})
    names = [("‖Diag(φ′)‖₂", "dphi_norm"), ("‖V^{ℓ+1}…V^L δ^L‖₂", "delta_norm"), ("‖a^{ℓ−1}‖₂", "a_prev_norm"),
             ("bound (product)", "bound"), ("‖∇_{W^ℓ} e‖₂", "grad_norm")]
    width = 0.16
    for j, (label, attr) in enumerate(names):
        vals = [f.median(attr) for f in layers]
        ax.bar(ell + (j - 2) * width, vals, width, label=label, color=run_color(j))
    shade = {"vanishing": "#1f77b4", "exploding": "#d62728"}.get(diag.kind)
    for k, named in enumerate(diag.layers if shade else ()):
        ax.axvspan(named - 0.5, named + 0.5, color=shade, alpha=0.1, lw=0,
                   label=f"{diag.kind} (named in the verdict)" if k == 0 else None)
    ax.set_yscale("log")
    ax.set_xticks(ell)
    ax.set_xlabel("layer ℓ")
    ax.set_ylabel(f"median over the {layers[-1].n_used} samples")
    holds = all(f.holds for f in layers)
    ax.set_title(f"The lecture's bound per layer at {diag.point}, per-sample medians "
                 f"(holds on every sample: {holds})", fontsize=10)
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.17))
    ax2.bar(ell, [100 * f.saturated for f in layers], color="grey")
    ax2.set_xticks(ell)
    ax2.set_ylim(0, 100)
    ax2.set_xlabel("layer ℓ")
    ax2.set_ylabel("% of units")
    ax2.set_title("Saturated units (φ′ < 1% of max)")
    fig.suptitle(diag.message, fontsize=8, wrap=True)
    fig.tight_layout()
    return fig


def decision_boundary(comp: Comparison, run_index: int | None = None) -> Figure | None:
    """Predicted probability over the 2-D input plane with the data on top (None unless N_0 = 2)."""
    view = decision_view(comp, run_index)
    if view is None:
        return None
    run, xs, ys, P = view
    problem = comp.problem
    fig = Figure(figsize=(6.5, 5.5))
    ax = fig.add_subplot()
    im = ax.pcolormesh(xs, ys, P, cmap="RdBu_r", vmin=0, vmax=1, shading="auto")
    ax.contour(xs, ys, P, levels=[0.5], colors="k", linewidths=1)
    fig.colorbar(im, ax=ax, label="ŷ (output)")
    y = problem.Y[:, -1]
    ax.scatter(problem.X[y >= 0.5, 0], problem.X[y >= 0.5, 1], marker="o", c="white", edgecolors="k", s=90,
               linewidths=2, label="y = 1")
    ax.scatter(problem.X[y < 0.5, 0], problem.X[y < 0.5, 1], marker="X", c="white", edgecolors="k", s=110,
               linewidths=1.5, label="y = 0")
    ax.legend(fontsize=8)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"Decision boundary ({run.name})")
    return fig


def figures(comp: Comparison) -> dict[str, Figure]:
    """Every figure that applies to the comparison, by name."""
    this = sys.modules[__name__]
    figs = {name: getattr(this, fn)(comp, *args) for name, fn, args in figure_plan(comp)}
    return {k: v for k, v in figs.items() if v is not None}


def save_pngs(directory, comp: Comparison, dpi: int = 110) -> list[Path]:
    """Write every applicable figure as ``DIR/<name>.png`` (creating DIR); returns the paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures(comp).items():
        path = out / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        paths.append(path)
    return paths
