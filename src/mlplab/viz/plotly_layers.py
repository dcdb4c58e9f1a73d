"""Gradient flow as Plotly figures: per-layer gradient norms (bars at the slider's iterate, lines and a
heat map over k) and the per-sample medians against depth that the verdict is decided from."""

from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go

from mlplab.viz.flow import flow_lines
from mlplab.viz.iterates import snapshots, thin_indices
from mlplab.viz.notation import html_math, pretty
from mlplab.viz.plotly_base import f32, layout, log_ticks
from mlplab.viz.style import VERDICT_SHADES, run_color, run_dash
from mlplab.viz.words import (BOUND, DELTA_CHAIN, DPHI, LAYER_GRAD, QUARTER, SAMPLE_GRAD, SIGMA_QUARTER, VERDICT_WORDS,
                              span_text)

__all__ = ["layer_bars", "layer_grad_norms", "layer_heatmap", "bound_factors"]


def layer_bars(comp) -> go.Figure:
    """Per-layer ‖∇_{W^ℓ}E(w^k)‖ of the run the gradient-flow section is about, at the slider's iterate."""
    fi = comp.flow_run
    run = comp.runs[fi]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    j = snapshots(comp)[0][fi][-1]
    ell = np.arange(1, H.shape[1] + 1)
    fig = go.Figure([go.Bar(x=ell, y=H[j], name=pretty(run.name), marker_color=run_color(fi),
                            meta=dict(link="bars", run=fi),
                            hovertemplate="layer %{x}: %{y:.4g}<extra></extra>")])
    finite = H[np.isfinite(H) & (H > 0)]
    rng = [math.floor(math.log10(finite.min())) - 0.2, math.ceil(math.log10(finite.max())) + 0.2] if finite.size else None
    fig = layout(fig, html_math("‖∇_{W^ℓ}E(w^k)‖ per layer at the slider's iterate ")
                 + f"({html.escape(pretty(run.name))})",
                  xaxis_title="layer ℓ", yaxis_title=html_math(LAYER_GRAD), yaxis_type="log",
                  height=360, showlegend=False)
    fig.update_xaxes(dtick=1)
    fig.update_yaxes(dtick=1, range=rng, autorange=False if rng else True)
    fig.update_layout(meta=dict(kind="bars"))
    return fig


def layer_grad_norms(comp, run_index: int | None = None) -> go.Figure:
    """Per-layer ‖∇_{W^ℓ}E(w^k)‖ over k of one run (default: the run the gradient-flow section is about)."""
    run = comp.runs[comp.flow_run if run_index is None else run_index]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    ix = thin_indices(len(H))
    k = np.asarray(run.history.k)[ix]
    L = H.shape[1]
    fig = go.Figure([go.Scatter(x=f32(k), y=f32(H[ix, ell]), mode="lines", name=f"layer {ell + 1}",
                                line=dict(dash=run_dash(ell, plotly=True),
                                          color=f"hsl({int(260 * ell / max(L - 1, 1))},70%,45%)"))
                     for ell in range(L)])
    fig = layout(fig, html_math("Gradient flow per layer: ‖∇_{W^ℓ}E(w^k)‖ over k ")
                 + f"({html.escape(pretty(run.name))})", xaxis_title="iteration k",
                  yaxis_title=html_math(LAYER_GRAD), yaxis_type="log", height=420)
    log_ticks(fig)
    return fig


def layer_heatmap(comp, run_index: int | None = None) -> go.Figure:
    """Layers × iterations heat map of log10 ‖∇_{W^ℓ}E(w^k)‖ of one run."""
    run = comp.runs[comp.flow_run if run_index is None else run_index]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    ix = thin_indices(len(H))
    fig = go.Figure([go.Heatmap(x=np.asarray(run.history.k)[ix], y=np.arange(1, H.shape[1] + 1),
                                z=f32(np.log10(np.maximum(H[ix].T, 1e-300))), colorscale="Magma",
                                colorbar=dict(title="log₁₀ ‖∇‖"),
                                hovertemplate="k = %{x}<br>layer %{y}<br>log₁₀ ‖∇‖ = %{z:.2f}<extra></extra>")])
    fig.update_yaxes(dtick=1)
    return layout(fig, html_math("log₁₀ ‖∇_{W^ℓ}E‖ per layer and iteration ")
                  + f"({html.escape(pretty(run.name))})", xaxis_title="iteration k", yaxis_title="layer ℓ",
                  height=300 + 20 * H.shape[1])


def bound_factors(comp) -> go.Figure | None:
    """Gradient flow against depth: per-sample medians of ‖δ^ℓ‖, ‖∇_{W^ℓ} e‖ and the lecture's bound
    (and, for sigmoid, the (¼)^depth reference) at the point the verdict is about."""
    fl = flow_lines(comp)
    if fl is None:
        return None
    lines = [(html_math(DELTA_CHAIN), fl.delta, "solid", "circle"),
             (html_math(SAMPLE_GRAD), fl.grad, "dash", "square"),
             (html_math("the lecture's bound " + BOUND), fl.bound, "dot", "triangle-up"),
             (html_math(DPHI), fl.dphi, "dashdot", "diamond")]
    fig = go.Figure()
    for j, (label, y, dash, sym) in enumerate(lines):
        fig.add_trace(go.Scatter(x=fl.layers, y=y, mode="lines+markers", name=label,
                                 line=dict(color=run_color(j), dash=dash, width=2.5),
                                 marker=dict(symbol=sym, size=9),
                                 hovertemplate="layer %{x}: %{y:.4g}<extra>" + label + "</extra>"))
    if fl.quarter is not None:
        fig.add_trace(go.Scatter(x=fl.layers, y=fl.quarter, mode="lines", name=html_math(f"{QUARTER}: {SIGMA_QUARTER} per layer"),
                                 line=dict(color="grey", dash="longdash", width=1.5)))
    shade = VERDICT_SHADES.get(fl.kind)
    for named in (fl.named if shade else ()):
        fig.add_vrect(x0=named - 0.5, x1=named + 0.5, fillcolor=shade, opacity=0.08, line_width=0)
    verdict = VERDICT_WORDS.get(fl.kind, fl.kind)
    if fl.named and shade:
        verdict += f" ({span_text(fl.named)} shaded)"
    fig = layout(fig, f"Gradient flow of {html.escape(pretty(fl.run.name))} at {html.escape(pretty(fl.point))}: {verdict}",
                  xaxis_title="layer ℓ (1 = first hidden layer, L = output)",
                  yaxis_title=f"median over the {fl.n_samples} samples", yaxis_type="log", height=460)
    fig.update_xaxes(dtick=1)
    log_ticks(fig)
    return fig

