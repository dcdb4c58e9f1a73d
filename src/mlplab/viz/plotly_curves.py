"""Curves over the iterations as Plotly figures: E − E* against cost or k, ‖∇E(w^k)‖, the step sizes.

Curves are thinned for drawing (:func:`mlplab.viz.iterates.thin_indices`); each
run has a cursor at the slider's iterate (``meta = {"link": "conv" | "grad" |
"step", "run": i}``).
"""

from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mlplab.viz.iterates import gap_split, snapshots, step_label, thin_indices
from mlplab.viz.notation import html_math, pretty
from mlplab.viz.plotly_base import f32, layout, log_ticks
from mlplab.viz.style import FEW_POINTS, run_color, run_dash, run_marker
from mlplab.viz.words import COST_LABEL, GRAD_NORM, STEP_TITLE

__all__ = ["convergence", "grad_norms", "step_sizes"]


def convergence(comp, x: str = "cost") -> go.Figure:
    """E(w^k) − E* against ``x`` = "cost" (sample-gradient equivalents) or "k": log-log (against 1 + x, so
    the start shows) and semi-log; the fitted rates on the k axis, the budget line on the cost axis; the
    records within 10 Δ of an E* taken from the runs' own best E drawn faint."""
    if x not in ("cost", "k"):
        raise ValueError(f"x must be 'cost' or 'k', got {x!r}")
    xlabel = COST_LABEL if x == "cost" else "iteration k"
    snaps = snapshots(comp)[0]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=(f"log-log: E − E* against 1 + {x}", f"semi-log: E − E* against {x}"))
    ymin, ymax = math.inf, 0.0
    ref_legend = False
    for col in (1, 2):
        shift = 1.0 if col == 1 else 0.0
        for i, run in enumerate(comp.runs):
            h = run.history
            ix = thin_indices(len(h))
            xs_all = (np.asarray(h.grad_equivalents, dtype=float) if x == "cost" else np.asarray(h.k, dtype=float))
            err_all = np.asarray(h.loss, dtype=float) - comp.E_ref
            xs, err = xs_all[ix] + shift, err_all[ix]
            keep = err > 0
            if keep.any():
                ymin, ymax = min(ymin, float(err[keep].min())), max(ymax, float(err[keep].max()))
            few = len(h) <= FEW_POINTS  # few records: mark each, so a short run is not read as a line
            measured, by_ref = gap_split(comp, np.where(keep, err, np.nan))
            if np.isfinite(by_ref).any():  # within 10 Δ of E* = the runs' own best: faint, named for what it is
                fig.add_trace(go.Scatter(x=f32(xs), y=f32(by_ref), mode="lines+markers", name="E − E* < 10 Δ: set by E*",
                                         legendgroup="by-ref", showlegend=col == 1 and not ref_legend,
                                         opacity=0.35, connectgaps=False, hovertemplate="E − E* = %{y:.3g} (set by "
                                         "the choice of E*)<extra></extra>",
                                         marker=dict(size=4, color=run_color(i)),
                                         line=dict(color=run_color(i), dash="dot", width=1)), row=1, col=col)
                ref_legend = ref_legend or col == 1
            keep = np.isfinite(measured)
            fig.add_trace(go.Scatter(x=f32(xs[keep]), y=f32(err[keep]), mode="lines+markers" if few else "lines",
                                     name=pretty(run.name), legendgroup=run.name, showlegend=col == 1,
                                     hovertemplate=("1 + " if shift else "") + x + " = %{x:.6g}<br>E − E* = %{y:.4g}"
                                                   "<extra>" + html.escape(pretty(run.name)) + "</extra>",
                                     marker=dict(symbol=run_marker(i, plotly=True), size=7, color=run_color(i)),
                                     line=dict(color=run_color(i), dash=run_dash(i, plotly=True), width=2)),
                          row=1, col=col)
            if x == "k" and run.rate is not None and run.rate.fits:  # only a fit that fits is drawn
                lo, hi = run.rate.window
                kf = np.linspace(max(lo, 1), hi, 50)
                fit = run.rate.C * run.rate.q ** kf if run.rate.kind == "linear" else run.rate.C * kf ** -run.rate.p
                fig.add_trace(go.Scatter(x=kf + shift, y=fit, mode="lines", name=f"fit: {pretty(run.rate.describe())}",
                                         legendgroup=run.name, showlegend=col == 1, hoverinfo="skip",
                                         opacity=0.3, line=dict(color=run_color(i), width=8)), row=1, col=col)
            j = snaps[i][-1]
            if len(h):
                fig.add_trace(go.Scatter(x=[xs_all[j] + shift], y=[max(err_all[j], 1e-300)], mode="markers",
                                         showlegend=False, hoverinfo="skip", name=f"{pretty(run.name)}: slider",
                                         meta=dict(link="conv", run=i, axis=x, shift=shift),
                                         marker=dict(size=12, color=run_color(i), symbol=run_marker(i, plotly=True),
                                                     line=dict(color="black", width=2))), row=1, col=col)
        if x == "cost" and comp.budget is not None and math.isfinite(ymin):
            fig.add_trace(go.Scatter(x=[comp.budget + shift] * 2, y=[ymin, ymax], mode="lines", name="budget",
                                     legendgroup="budget", showlegend=col == 1, hoverinfo="name",
                                     line=dict(color="black", dash="dash", width=1.5)), row=1, col=col)
        fig.update_yaxes(type="log", title_text=html_math("E(w^k) − E*"), dtick=1, row=1, col=col)
        fig.update_xaxes(type="log" if col == 1 else "linear",
                         title_text=("1 + " if col == 1 else "") + xlabel, row=1, col=col)
    fig.update_xaxes(dtick=1, row=1, col=1)
    return layout(fig, f"Convergence against {'cost' if x == 'cost' else 'k'} — {html.escape(pretty(comp.E_ref_note))}"
                   if len(comp.E_ref_note) < 90 else f"Convergence against {'cost' if x == 'cost' else 'k'}",
                   height=500)


def _history_xy(run, attr, shift=0.0):
    """(k + shift, history column ``attr``) at the drawn records."""
    h = run.history
    ix = thin_indices(len(h))
    return np.asarray(h.k, dtype=float)[ix] + shift, np.asarray(getattr(h, attr), dtype=float)[ix]


def grad_norms(comp) -> go.Figure:
    """‖∇E(w^k)‖ over k (semi-log), with the slider's cursor."""
    snaps = snapshots(comp)[0]
    fig = go.Figure()
    for i, r in enumerate(comp.runs):
        k, g = _history_xy(r, "grad_norm")
        fig.add_trace(go.Scatter(x=f32(k), y=f32(g), mode="lines+markers" if len(r.history) <= FEW_POINTS else "lines",
                                 name=pretty(r.name), marker=dict(symbol=run_marker(i, plotly=True), size=6),
                                 line=dict(color=run_color(i), dash=run_dash(i, plotly=True))))
        j = snaps[i][-1]
        fig.add_trace(go.Scatter(x=[r.history.k[j]], y=[r.history.grad_norm[j]], mode="markers", showlegend=False,
                                 hoverinfo="skip", meta=dict(link="grad", run=i), name=f"{pretty(r.name)}: slider",
                                 marker=dict(size=12, color=run_color(i), line=dict(color="black", width=2))))
    fig = layout(fig, html_math("Gradient norm ‖∇E(w^k)‖ over the iterations"), xaxis_title="iteration k",
                  yaxis_title=html_math(GRAD_NORM), yaxis_type="log", height=420)
    log_ticks(fig)
    return fig


def step_sizes(comp) -> go.Figure:
    """The step size α_k (line search) or γ_k (schedule) taken from w^k, against k + 1 (log-log)."""
    snaps = snapshots(comp)[0]
    fig = go.Figure()
    for i, r in enumerate(comp.runs):  # dash and marker per run: identical γ_k lines stay told apart
        k, a = _history_xy(r, "step_size", 1.0)
        lab = html_math(step_label(r))
        fig.add_trace(go.Scatter(x=f32(k), y=f32(a), mode="lines+markers", name=f"{pretty(r.name)} ({lab})",
                                 marker=dict(size=7 if len(r.history) <= FEW_POINTS else 4, maxdisplayed=60,
                                             symbol=run_marker(i, plotly=True) + "-open"),
                                 line=dict(color=run_color(i), dash=run_dash(i, plotly=True), width=3 if i == 0 else 2)))
        j = snaps[i][-1]
        fig.add_trace(go.Scatter(x=[r.history.k[j] + 1], y=[r.history.step_size[j]], mode="markers", showlegend=False,
                                 hoverinfo="skip", meta=dict(link="step", run=i), name=f"{pretty(r.name)}: slider",
                                 marker=dict(size=12, color=run_color(i), line=dict(color="black", width=2))))
    fig = layout(fig, html_math(STEP_TITLE + " over the iterations"),
                  xaxis_title="k + 1", yaxis_title="step size", xaxis_type="log", yaxis_type="log", height=420)
    log_ticks(fig)
    fig.update_xaxes(dtick=1)
    return fig
