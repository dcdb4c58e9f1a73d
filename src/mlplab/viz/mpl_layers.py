"""Gradient flow as matplotlib figures: per-layer gradient norms over k (lines, a heat map) and the
per-sample medians against depth that the verdict is decided from."""

from __future__ import annotations

import textwrap

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from mlplab.viz.flow import flow_lines
from mlplab.viz.iterates import thin_indices
from mlplab.viz.mpl_base import caption, log_axis
from mlplab.viz.notation import mathtext, pretty
from mlplab.viz.style import VERDICT_SHADES, run_color, run_dash
from mlplab.viz.words import BOUND, DELTA_CHAIN, DPHI, LAYER_GRAD, QUARTER, SAMPLE_GRAD, SIGMA_QUARTER, VERDICT_WORDS

__all__ = ["layer_grad_norms", "layer_heatmap", "bound_factors"]


def layer_grad_norms(comp, run_index: int | None = None) -> Figure:
    """Per-layer ‖∇_{W^ℓ}E(w^k)‖ over k of one run (the first: the run the gradient-flow section is about)."""
    run = comp.runs[comp.flow_run if run_index is None else run_index]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    ix = thin_indices(len(H))
    fig = Figure(figsize=(7, 4.3))
    ax = fig.add_subplot()
    cmap = mpl.colormaps["plasma"]
    L = H.shape[1]
    for ell in range(L):
        ax.semilogy(np.asarray(run.history.k)[ix], H[ix, ell], ls=run_dash(ell), color=cmap(0.85 * ell / max(L - 1, 1)),
                    label=f"layer {ell + 1}")
    log_axis(ax, "y")
    ax.set_xlabel("iteration k")
    ax.set_ylabel(mathtext(LAYER_GRAD))
    ax.set_title(f"Gradient flow per layer ({pretty(run.name)})", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    caption(fig, "layer_grad_norms")
    return fig


def layer_heatmap(comp, run_index: int | None = None) -> Figure:
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
    caption(fig, "layer_heatmap")
    return fig


def bound_factors(comp) -> Figure | None:
    """Gradient flow against depth on a log axis: per-sample medians of ‖δ^ℓ‖, ‖∇_{W^ℓ} e‖, the lecture's
    bound, ‖Diag(φ′)‖ and, for sigmoid, the (¼)^(L−ℓ) reference — the numbers the verdict is decided from;
    saturation as numbers (the output layer's marked harmless where its loss makes it so)."""
    fl = flow_lines(comp)
    if fl is None:
        return None
    fig = Figure(figsize=(9, 5.2))
    ax = fig.add_subplot()
    lines = [(mathtext(DELTA_CHAIN), fl.delta, "-", "o"), (mathtext(SAMPLE_GRAD), fl.grad, "--", "s"),
             ("the lecture's bound " + mathtext(BOUND), fl.bound, ":", "^"), (mathtext(DPHI), fl.dphi, "-.", "D")]
    for j, (label, y, ls, mk) in enumerate(lines):
        ax.plot(fl.layers, y, ls=ls, marker=mk, color=run_color(j), lw=2, ms=7, label=label)
    if fl.quarter is not None:
        ax.plot(fl.layers, fl.quarter, ls=(0, (8, 3)), color="grey", lw=1.3,
                label=f"{mathtext(QUARTER)}: {mathtext(SIGMA_QUARTER)} per layer")
    shade = VERDICT_SHADES.get(fl.kind)
    for k, named in enumerate(fl.named if shade else ()):
        ax.axvspan(named - 0.5, named + 0.5, color=shade, alpha=0.08, lw=0,
                   label=f"{fl.kind} (named in the verdict)" if k == 0 else None)
    ax.set_yscale("log")
    log_axis(ax, "y")
    ax.set_xticks(fl.layers)
    ax.set_xlabel("layer ℓ (1 = first hidden layer, L = output)")
    ax.set_ylabel(f"median over the {fl.n_samples} samples")
    verdict = VERDICT_WORDS.get(fl.kind, fl.kind)
    ax.set_title(f"Gradient flow of {pretty(fl.run.name)} at {pretty(fl.point)}: {verdict}", fontsize=10)
    ax.legend(fontsize=7, loc="best")
    ax.annotate(textwrap.fill(fl.saturation_text() + ".", 120), xy=(0.5, 0), xycoords="axes fraction",
                xytext=(0, -38), textcoords="offset points", ha="center", va="top", fontsize=8,
                annotation_clip=False)
    caption(fig, "gradient_flow", offset=14 * (1 + len(fl.saturation_text()) // 120))
    return fig
