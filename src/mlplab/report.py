"""One self-contained, interactive HTML report of a :class:`mlplab.compare.Comparison` (Plotly).

:func:`write_report` writes a single file holding the configuration, the
comparison table (fitted rates next to the lecture's theory, where each run
stopped), the gradient-flow diagnosis, every figure that applies as an
interactive Plotly chart with a one-line caption, and the history tables.
plotly.js is embedded once, so the file opens offline; no CDN is contacted.

One iteration slider (at the top of the page, it stays in view) drives the
linked panels: each run's point on the surface and the contours, cursors on
the convergence, gradient-norm and step-size curves, the per-layer gradient
bars and, for 2-D inputs, the decision boundary at that iterate. It steps
through about 30 iterates per run, log-spaced on the cost axis
(:func:`mlplab.figures.snapshot_indices`); the curves themselves are thinned
for drawing (:func:`mlplab.figures.thin_indices`), so a 100,000-step run
stays a few MB. Linked traces carry ``meta = {"link": ..., "run": i}``; a
few lines of JavaScript in the page restyle them from the snapshot data.

:func:`figures` returns the ``plotly.graph_objects.Figure`` s by name (the
same set as :func:`mlplab.plots.figures`).
"""

from __future__ import annotations

import html
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mlplab.compare import Comparison
from mlplab.figures import (CAPTIONS, COST_LABEL, FEW_POINTS, SurfaceView, comparison_surface, decision_data,
                            figure_plan, flow_lines, hidden_map_grid, infimum_curve, log_levels, pretty, run_color,
                            run_dash, run_marker, snapshot_indices, step_symbol, thin_indices, unit_ranges,
                            UNIT_COLORSCALE, gap_split, unit_colorscale)
from mlplab.io import atomic_write

def _h(text) -> str:
    """Text for the page: escaped, the lecture's notation in Unicode, remaining sub/superscripts as HTML."""
    t = html.escape(pretty(str(text)), quote=False)
    t = re.sub(r"_\{([^{}]*)\}", r"<sub>\1</sub>", t)
    t = re.sub(r"\^\(([−\-0-9.]+)\)", r"<sup>\1</sup>", t)
    return re.sub(r"\^\{([^{}]*)\}", r"<sup>\1</sup>", t)


def _layout(fig, title, **kw):
    fig.update_layout(title=dict(text=title, font=dict(size=15)), template="plotly_white",
                      margin=dict(l=60, r=20, t=60, b=50),
                      legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0),
                      hoverlabel=dict(namelength=-1, align="left"), **kw)  # whole names in hovers, not 15 chars
    fig.update_xaxes(exponentformat="power")
    fig.update_yaxes(exponentformat="power")
    return fig


def _log_ticks(fig, **where):
    """Log axes labelled at the decades only (no printed minor labels)."""
    fig.update_yaxes(dtick=1, minor=dict(showgrid=False), **where)


def _equal(fig):
    """One unit as long on both axes; the plot area shrinks to fit (the ranges stay those asked for)."""
    fig.update_xaxes(constrain="domain")
    fig.update_yaxes(scaleanchor="x", scaleratio=1, constrain="domain")


# --- the surface ---------------------------------------------------------------------------------------


def _hover(run):
    s = step_symbol(run)
    lab = "α<sup>k</sup>" if s == "α" else "γ<sub>k</sub>"
    return ("k = %{customdata[0]}<br>E = %{customdata[1]:.6g}<br>‖∇E‖ = %{customdata[2]:.4g}<br>"
            + lab + " = %{customdata[3]:.4g}<extra>" + html.escape(pretty(run.name)) + "</extra>")


def _custom(p):
    return np.column_stack([p.k.astype(float), p.E, p.grad, p.step])


def _f32(a):
    """float32 grids: half the bytes in the page, far below what a colour can show."""
    return np.asarray(a, dtype=np.float32)


def _logz(E, floor):
    return np.log10(np.maximum(np.asarray(E, dtype=float) - floor, 1e-300))


def _colorbar(levels, floor):
    lo, hi = math.log10(levels[0]), math.log10(levels[-1])
    ticks = np.linspace(lo, hi, 6)
    return dict(title="E" if floor == 0 else f"E − ({floor:.3g})", tickvals=ticks,
                ticktext=[f"{10 ** t:.3g}" for t in ticks])


def surface_3d(comp: Comparison, view=None) -> go.Figure:
    view = comparison_surface(comp) if view is None else view
    s = view.surface
    levels, floor = log_levels(s.E)
    cmin, cmax = math.log10(levels[0]), math.log10(levels[-1])
    fig = go.Figure([go.Surface(x=s.a, y=s.b, z=_f32(s.E), surfacecolor=_f32(_logz(s.E, floor)), cmin=cmin, cmax=cmax,
                                colorscale="Viridis", opacity=0.85, name="E on the plane" if view.projected else "E(w)",
                                colorbar=_colorbar(levels, floor), hoverinfo="skip")])
    lift = 0.005 * float(np.ptp(s.E[np.isfinite(s.E)]) or 1.0)  # a path drawn exactly on the surface flickers
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if p is None or len(p.a) < 2:
            continue
        marker = dict(size=2.5, color=run_color(i))
        if view.projected:
            marker = dict(size=3, color=_f32(_logz(p.E, floor)), colorscale="Viridis", cmin=cmin, cmax=cmax,
                          line=dict(color=run_color(i), width=1))
        fig.add_trace(go.Scatter3d(x=_f32(p.a), y=_f32(p.b), z=_f32(p.z + lift), mode="lines+markers", name=pretty(run.name),
                                   line=dict(color=run_color(i), width=5), marker=marker,
                                   customdata=_f32(_custom(p)), hovertemplate=_hover(run)))
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):  # the slider's cursor
        if p is None or p.snap_a is None or len(p.a) < 2:
            continue
        fig.add_trace(go.Scatter3d(x=[p.snap_a[-1]], y=[p.snap_b[-1]], z=[p.snap_z[-1] + lift], mode="markers",
                                   name=f"{pretty(run.name)}: slider", showlegend=False, hoverinfo="skip",
                                   marker=dict(size=7, color=run_color(i), line=dict(color="black", width=2)),
                                   meta=dict(link="plane3d", run=i, lift=lift)))
    st = view.start
    if st is not None:
        fig.add_trace(go.Scatter3d(x=[st[0]], y=[st[1]], z=[st[2] + lift], mode="markers", name=pretty(comp.start_label),
                                   marker=dict(size=6, color="white", line=dict(color="black", width=2)),
                                   hovertemplate=f"{html.escape(pretty(comp.start_label))}<br>E = {st[3]:.6g}<extra></extra>"))
    title = ("Loss surface E(w) with the optimizer paths" if not view.projected else
             "E on a plane through w (the loss of the projection) with the paths")
    return _layout(fig, title, height=650,
                   scene=dict(xaxis_title=pretty(s.labels[0]), yaxis_title=pretty(s.labels[1]), zaxis_title="E",
                              aspectmode="manual", aspectratio=dict(x=1, y=1, z=0.7),
                              camera=dict(eye=dict(x=-1.2, y=-1.6, z=1.1))))


def _arrows(fig, p, color, n=6):
    """Arrowheads along a path (annotations in data coordinates), log-spaced so the early steps get some."""
    m = len(p.a)
    if m < 2:
        return
    picks = np.unique(np.round(np.geomspace(1, m - 1, n)).astype(int))
    for j in picks:
        if (p.a[j], p.b[j]) == (p.a[j - 1], p.b[j - 1]):
            continue
        fig.add_annotation(x=p.a[j], y=p.b[j], ax=p.a[j - 1], ay=p.b[j - 1], xref="x", yref="y", axref="x",
                           ayref="y", showarrow=True, arrowhead=2, arrowsize=1.3, arrowwidth=1.6, arrowcolor=color,
                           text="")


def contour(comp: Comparison, view=None) -> go.Figure:
    view = comparison_surface(comp) if view is None else view
    s, full = view.surface, view.full
    levels, floor = log_levels(s.E if full is None else np.concatenate([s.E.ravel(), full.E.ravel()]))
    cmin, cmax = math.log10(levels[0]), math.log10(levels[-1])
    zl, zlevels = log_levels(s.E)
    common = dict(colorscale="Viridis", zmin=cmin, zmax=cmax, hoverinfo="skip")
    lz, lzh = math.log10(zl[0]), math.log10(zl[-1])
    fig = go.Figure([go.Contour(x=s.a, y=s.b, z=_f32(_logz(s.E, floor)), name="E (zoomed)", colorbar=_colorbar(levels, floor),
                                contours=dict(start=lz, end=lzh, size=(lzh - lz) / 24), **common)])
    n_bg = 1
    if full is not None:
        fig.add_trace(go.Contour(x=full.a, y=full.b, z=_f32(_logz(full.E, floor)), name="E (full view)", visible=False,
                                 showscale=False, contours=dict(start=cmin, end=cmax, size=(cmax - cmin) / 24), **common))
        n_bg = 2
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if p is None or len(p.a) < 2:  # one point is no path (a saved model without history)
            continue
        few = len(p.a) <= FEW_POINTS
        marker = dict(size=6 if few else 3, color=run_color(i), symbol=run_marker(i, plotly=True))
        if view.projected:
            marker.update(color=_f32(_logz(p.E, floor)), colorscale="Viridis", cmin=cmin, cmax=cmax, size=7 if few else 5,
                          line=dict(color=run_color(i), width=1.5))
        fig.add_trace(go.Scatter(x=_f32(p.a), y=_f32(p.b), mode="lines+markers", name=pretty(run.name),
                                 line=dict(color=run_color(i), dash=run_dash(i, plotly=True), width=2), marker=marker,
                                 customdata=_f32(_custom(p)), hovertemplate=_hover(run)))
        fig.add_trace(go.Scatter(x=[p.a[-1]], y=[p.b[-1]], mode="markers", showlegend=False,
                                 name=f"{pretty(run.name)}: end", customdata=_custom(p)[-1:], hovertemplate=_hover(run),
                                 marker=dict(size=16, symbol="star", color=run_color(i), line=dict(color="black", width=1))))
        _arrows(fig, p, run_color(i))
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if p is None or p.snap_a is None or len(p.a) < 2:
            continue
        fig.add_trace(go.Scatter(x=[p.snap_a[-1]], y=[p.snap_b[-1]], mode="markers", showlegend=False,
                                 name=f"{pretty(run.name)}: slider", hoverinfo="skip", meta=dict(link="plane", run=i),
                                 marker=dict(size=13, color=run_color(i), line=dict(color="white", width=2.5))))
    st = view.start
    if st is not None:
        fig.add_trace(go.Scatter(x=[st[0]], y=[st[1]], mode="markers", name=pretty(comp.start_label),
                                 hovertemplate=f"{html.escape(pretty(comp.start_label))}<br>E = {st[3]:.6g}<extra></extra>",
                                 marker=dict(size=12, color="white", line=dict(color="black", width=2))))
    zoom = dict(xaxis=dict(range=[s.a[0], s.a[-1]]), yaxis=dict(range=[s.b[0], s.b[-1]]))
    title = "Contours of E(w) with the optimizer paths" if not view.projected else \
        "Contours of E on the plane (the loss of the projection); paths coloured by their true E"
    _layout(fig, title, height=620, xaxis_title=pretty(s.labels[0]), yaxis_title=pretty(s.labels[1]),
            xaxis_range=[s.a[0], s.a[-1]], yaxis_range=[s.b[0], s.b[-1]])
    if view.equal_axes:
        _equal(fig)
    if full is not None:
        n = len(fig.data)
        vis_zoom = [True] + ([False] if n_bg == 2 else []) + [True] * (n - n_bg)
        vis_full = [False, True] + [True] * (n - n_bg)
        fig.update_layout(updatemenus=[dict(
            type="buttons", direction="right", x=1.0, xanchor="right", y=1.08, yanchor="bottom", showactive=True,
            buttons=[dict(label="Zoom to the paths", method="update",
                          args=[{"visible": vis_zoom}, {"xaxis.range": zoom["xaxis"]["range"],
                                                         "yaxis.range": zoom["yaxis"]["range"]}]),
                     dict(label="Full view", method="update",
                          args=[{"visible": vis_full}, {"xaxis.range": [full.a[0], full.a[-1]],
                                                         "yaxis.range": [full.b[0], full.b[-1]]}])])])
    return fig


def slice_1d(comp: Comparison, view=None):
    view = comparison_surface(comp) if view is None else view
    if view.slice_1d is None:
        return None
    a, E = view.slice_1d
    fig = go.Figure([go.Scatter(x=a, y=E, mode="lines", name="E(w + a·u)", line=dict(color="black"))])
    fig.add_vline(x=0.0, line_dash="dot", line_color="grey")
    return _layout(fig, "1-D slice of E through the final w", xaxis_title=f"a along {view.surface.labels[0]}",
                   yaxis_title="E(w + a·u)", height=380)


def infimum(comp: Comparison):
    curve = infimum_curve(comp)
    if curve is None:
        return None
    r, Emin = curve
    fig = go.Figure([go.Scatter(x=r, y=np.maximum(Emin, 1e-300), mode="lines+markers", name="min E on ‖w‖ = r",
                                line=dict(color="black"))])
    for i, run in enumerate(comp.runs):
        fig.add_trace(go.Scatter(x=[float(np.linalg.norm(run.result.params))], y=[run.result.loss], mode="markers",
                                 name=pretty(run.name), marker=dict(size=12, symbol="star", color=run_color(i))))
    fig = _layout(fig, "E has no minimiser: its infimum 0 is approached only as ‖w‖ → ∞",
                  xaxis_title="r = ‖w‖", yaxis_title="min E on the circle ‖w‖ = r", xaxis_type="log",
                  yaxis_type="log", height=420)
    _log_ticks(fig)
    return fig


# --- curves over the iterations --------------------------------------------------------------------------


def _snap(comp):
    if not hasattr(comp, "_snapshots"):
        comp._snapshots = snapshot_indices(comp)
    return comp._snapshots


def convergence(comp: Comparison, x: str = "cost") -> go.Figure:
    if x not in ("cost", "k"):
        raise ValueError(f"x must be 'cost' or 'k', got {x!r}")
    xlabel = COST_LABEL if x == "cost" else "iteration k"
    snaps = _snap(comp)[0]
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
                fig.add_trace(go.Scatter(x=_f32(xs), y=_f32(by_ref), mode="lines+markers", name="E − E* < 10 Δ: set by E*",
                                         legendgroup="by-ref", showlegend=col == 1 and not ref_legend,
                                         opacity=0.35, connectgaps=False, hovertemplate="E − E* = %{y:.3g} (set by "
                                         "the choice of E*)<extra></extra>",
                                         marker=dict(size=4, color=run_color(i)),
                                         line=dict(color=run_color(i), dash="dot", width=1)), row=1, col=col)
                ref_legend = ref_legend or col == 1
            keep = np.isfinite(measured)
            fig.add_trace(go.Scatter(x=_f32(xs[keep]), y=_f32(err[keep]), mode="lines+markers" if few else "lines",
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
        fig.update_yaxes(type="log", title_text="E(w<sup>k</sup>) − E*", dtick=1, row=1, col=col)
        fig.update_xaxes(type="log" if col == 1 else "linear",
                         title_text=("1 + " if col == 1 else "") + xlabel, row=1, col=col)
    fig.update_xaxes(dtick=1, row=1, col=1)
    return _layout(fig, f"Convergence against {'cost' if x == 'cost' else 'k'} — {html.escape(pretty(comp.E_ref_note))}"
                   if len(comp.E_ref_note) < 90 else f"Convergence against {'cost' if x == 'cost' else 'k'}",
                   height=500)


def _history_xy(run, attr, shift=0.0):
    h = run.history
    ix = thin_indices(len(h))
    return np.asarray(h.k, dtype=float)[ix] + shift, np.asarray(getattr(h, attr), dtype=float)[ix]


def grad_norms(comp: Comparison) -> go.Figure:
    snaps = _snap(comp)[0]
    fig = go.Figure()
    for i, r in enumerate(comp.runs):
        k, g = _history_xy(r, "grad_norm")
        fig.add_trace(go.Scatter(x=_f32(k), y=_f32(g), mode="lines+markers" if len(r.history) <= FEW_POINTS else "lines",
                                 name=pretty(r.name), marker=dict(symbol=run_marker(i, plotly=True), size=6),
                                 line=dict(color=run_color(i), dash=run_dash(i, plotly=True))))
        j = snaps[i][-1]
        fig.add_trace(go.Scatter(x=[r.history.k[j]], y=[r.history.grad_norm[j]], mode="markers", showlegend=False,
                                 hoverinfo="skip", meta=dict(link="grad", run=i), name=f"{pretty(r.name)}: slider",
                                 marker=dict(size=12, color=run_color(i), line=dict(color="black", width=2))))
    fig = _layout(fig, "Gradient norm ‖∇E(w<sup>k</sup>)‖ over the iterations", xaxis_title="iteration k",
                  yaxis_title="‖∇E(w<sup>k</sup>)‖₂", yaxis_type="log", height=420)
    _log_ticks(fig)
    return fig


def step_sizes(comp: Comparison) -> go.Figure:
    snaps = _snap(comp)[0]
    fig = go.Figure()
    for i, r in enumerate(comp.runs):  # dash and marker per run: identical γ_k lines stay told apart
        k, a = _history_xy(r, "step_size", 1.0)
        lab = "α<sup>k</sup>" if step_symbol(r) == "α" else "γ<sub>k</sub>"
        fig.add_trace(go.Scatter(x=_f32(k), y=_f32(a), mode="lines+markers", name=f"{pretty(r.name)} ({lab})",
                                 marker=dict(size=7 if len(r.history) <= FEW_POINTS else 4, maxdisplayed=60,
                                             symbol=run_marker(i, plotly=True) + "-open"),
                                 line=dict(color=run_color(i), dash=run_dash(i, plotly=True), width=3 if i == 0 else 2)))
        j = snaps[i][-1]
        fig.add_trace(go.Scatter(x=[r.history.k[j] + 1], y=[r.history.step_size[j]], mode="markers", showlegend=False,
                                 hoverinfo="skip", meta=dict(link="step", run=i), name=f"{pretty(r.name)}: slider",
                                 marker=dict(size=12, color=run_color(i), line=dict(color="black", width=2))))
    fig = _layout(fig, "Step sizes α<sup>k</sup> (line search) and γ<sub>k</sub> (schedule) over the iterations",
                  xaxis_title="k + 1", yaxis_title="step size", xaxis_type="log", yaxis_type="log", height=420)
    _log_ticks(fig)
    fig.update_xaxes(dtick=1)
    return fig


def layer_bars(comp: Comparison) -> go.Figure:
    """Per-layer ‖∇_{W^ℓ}E(w^k)‖ of the first run at the slider's iterate."""
    fi = comp.flow_run
    run = comp.runs[fi]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    j = _snap(comp)[0][fi][-1]
    ell = np.arange(1, H.shape[1] + 1)
    fig = go.Figure([go.Bar(x=ell, y=H[j], name=pretty(run.name), marker_color=run_color(fi),
                            meta=dict(link="bars", run=fi),
                            hovertemplate="layer %{x}: %{y:.4g}<extra></extra>")])
    finite = H[np.isfinite(H) & (H > 0)]
    rng = [math.floor(math.log10(finite.min())) - 0.2, math.ceil(math.log10(finite.max())) + 0.2] if finite.size else None
    fig = _layout(fig, f"‖∇<sub>W<sup>ℓ</sup></sub>E(w<sup>k</sup>)‖ per layer at the slider's iterate "
                       f"({html.escape(pretty(run.name))})",
                  xaxis_title="layer ℓ", yaxis_title="‖∇<sub>W<sup>ℓ</sup></sub>E‖<sub>F</sub>", yaxis_type="log",
                  height=360, showlegend=False)
    fig.update_xaxes(dtick=1)
    fig.update_yaxes(dtick=1, range=rng, autorange=False if rng else True)
    fig.update_layout(meta=dict(kind="bars"))
    return fig


def layer_grad_norms(comp: Comparison, run_index: int | None = None) -> go.Figure:
    run = comp.runs[comp.flow_run if run_index is None else run_index]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    ix = thin_indices(len(H))
    k = np.asarray(run.history.k)[ix]
    L = H.shape[1]
    fig = go.Figure([go.Scatter(x=_f32(k), y=_f32(H[ix, ell]), mode="lines", name=f"layer {ell + 1}",
                                line=dict(dash=run_dash(ell, plotly=True),
                                          color=f"hsl({int(260 * ell / max(L - 1, 1))},70%,45%)"))
                     for ell in range(L)])
    fig = _layout(fig, f"Gradient flow per layer: ‖∇<sub>W<sup>ℓ</sup></sub>E(w<sup>k</sup>)‖ over k "
                       f"({html.escape(pretty(run.name))})", xaxis_title="iteration k",
                  yaxis_title="‖∇<sub>W<sup>ℓ</sup></sub>E‖<sub>F</sub>", yaxis_type="log", height=420)
    _log_ticks(fig)
    return fig


def layer_heatmap(comp: Comparison, run_index: int | None = None) -> go.Figure:
    run = comp.runs[comp.flow_run if run_index is None else run_index]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    ix = thin_indices(len(H))
    fig = go.Figure([go.Heatmap(x=np.asarray(run.history.k)[ix], y=np.arange(1, H.shape[1] + 1),
                                z=_f32(np.log10(np.maximum(H[ix].T, 1e-300))), colorscale="Magma",
                                colorbar=dict(title="log₁₀ ‖∇‖"),
                                hovertemplate="k = %{x}<br>layer %{y}<br>log₁₀ ‖∇‖ = %{z:.2f}<extra></extra>")])
    fig.update_yaxes(dtick=1)
    return _layout(fig, f"log₁₀ ‖∇<sub>W<sup>ℓ</sup></sub>E‖ per layer and iteration ({html.escape(pretty(run.name))})",
                   xaxis_title="iteration k", yaxis_title="layer ℓ", height=300 + 20 * H.shape[1])


def bound_factors(comp: Comparison) -> go.Figure | None:
    """Gradient flow against depth: per-sample medians of ‖δ^ℓ‖, ‖∇_{W^ℓ} e‖ and the lecture's bound
    (and, for sigmoid, the (¼)^depth reference) at the point the verdict is about."""
    fl = flow_lines(comp)
    if fl is None:
        return None
    lines = [("‖δ<sup>ℓ</sup>‖ = ‖V<sup>ℓ+1</sup>⋯V<sup>L</sup>δ<sup>L</sup>‖", fl.delta, "solid", "circle"),
             ("‖∇<sub>W<sup>ℓ</sup></sub>e‖", fl.grad, "dash", "square"),
             ("the lecture's bound ‖Diag(φ′)‖·‖δ<sup>ℓ</sup>‖·‖a<sup>ℓ−1</sup>‖", fl.bound, "dot", "triangle-up"),
             ("‖Diag(φ′)‖", fl.dphi, "dashdot", "diamond")]
    fig = go.Figure()
    for j, (label, y, dash, sym) in enumerate(lines):
        fig.add_trace(go.Scatter(x=fl.layers, y=y, mode="lines+markers", name=label,
                                 line=dict(color=run_color(j), dash=dash, width=2.5),
                                 marker=dict(symbol=sym, size=9),
                                 hovertemplate="layer %{x}: %{y:.4g}<extra>" + label + "</extra>"))
    if fl.quarter is not None:
        fig.add_trace(go.Scatter(x=fl.layers, y=fl.quarter, mode="lines", name="(¼)<sup>L−ℓ</sup>·‖δ<sup>L</sup>‖: σ′ ≤ ¼ "
                                 "per layer", line=dict(color="grey", dash="longdash", width=1.5)))
    shade = {"vanishing": "#1f77b4", "exploding": "#d62728"}.get(fl.kind)
    for named in (fl.named if shade else ()):
        fig.add_vrect(x0=named - 0.5, x1=named + 0.5, fillcolor=shade, opacity=0.08, line_width=0)
    verdict = {"vanishing": "vanishing gradients", "exploding": "exploding gradients",
               "healthy": "no vanishing or exploding gradients"}.get(fl.kind, fl.kind)
    if fl.named and shade:
        verdict += f" ({_span_text(fl.named)} shaded)"
    fig = _layout(fig, f"Gradient flow of {html.escape(pretty(fl.run.name))} at {html.escape(pretty(fl.point))}: {verdict}",
                  xaxis_title="layer ℓ (1 = first hidden layer, L = output)",
                  yaxis_title=f"median over the {fl.n_samples} samples", yaxis_type="log", height=460)
    fig.update_xaxes(dtick=1)
    _log_ticks(fig)
    return fig


def _span_text(layers) -> str:
    layers = sorted(layers)
    if len(layers) > 1 and layers == list(range(layers[0], layers[-1] + 1)):
        return f"layers {layers[0]}–{layers[-1]}"
    return ("layer " if len(layers) == 1 else "layers ") + ", ".join(map(str, layers))


# --- the playground views ---------------------------------------------------------------------------

CLASS_COLORS = ["#1f5fbf", "#c8302b", "#2a9d3a", "#8e44ad", "#e67e22"]


def decision_boundary(comp: Comparison, run_index: int | None = None):
    dd = _decision(comp, run_index)
    if dd is None:
        return None
    snaps = dd.snaps
    # with the slider, the background ŷ(x) and the line ŷ = 0.5 are both drawn at the slider's iterate (the
    # snapshot grid, the final iterate first) and move with it, with the title's accuracy
    if snaps is not None:
        gx, gy, P0, link = snaps["xs"], snaps["ys"], snaps["frames"][-1][0], dict(link="decision", run=dd.run_index)
    else:
        gx, gy, P0, link = dd.xs, dd.ys, dd.P, None
    fig = go.Figure([go.Heatmap(x=gx, y=gy, z=_f32(P0), colorscale=UNIT_COLORSCALE, zmin=0, zmax=1, meta=link,
                                opacity=0.55,  # light enough for the data's class colours to stand out
                                name="ŷ(x)", colorbar=dict(title="ŷ"),
                                hovertemplate="x₁ = %{x:.3g}<br>x₂ = %{y:.3g}<br>ŷ = %{z:.4g}<extra></extra>")])
    if dd.constant is None or snaps is not None:
        fig.add_trace(go.Contour(x=gx, y=gy, z=_f32(P0), contours=dict(start=0.5, end=0.5, size=1, coloring="lines"),
                                 line=dict(color="black", width=2.5), colorscale=[[0, "black"], [1, "black"]],
                                 showscale=False, name="ŷ = 0.5", hoverinfo="skip", meta=link,
                                 showlegend=True))
    classes = sorted(set(dd.y.tolist()))
    for c in classes:
        sel = dd.y == c
        col = CLASS_COLORS[int(c) % len(CLASS_COLORS)]
        fig.add_trace(go.Scatter(x=dd.X[sel, 0], y=dd.X[sel, 1], mode="markers", name=f"class y = {c:g}",
                                 marker=dict(size=9 if len(dd.X) > 50 else 14, color=col,
                                             symbol="circle" if c else "x", line=dict(color="white", width=1)),
                                 hovertemplate=f"y = {c:g}<br>x₁ = %{{x:.3g}}<br>x₂ = %{{y:.3g}}<extra></extra>"))
    titles = None
    if snaps is not None:
        titles = [dd.title(P, a, c, where="slider's iterate") for P, a, c in snaps["frames"]]
    fig = _layout(fig, dd.title(), xaxis_title="x₁", yaxis_title="x₂", height=560)
    fig.update_layout(meta=dict(titles=titles) if titles else None)
    fig.update_xaxes(range=[dd.xs[0], dd.xs[-1]], constrain="domain")
    fig.update_yaxes(range=[dd.ys[0], dd.ys[-1]], scaleanchor="x", scaleratio=1, constrain="domain")
    if dd.constant and snaps is None:  # (with the slider, the title says it, iterate by iterate)
        fig.add_annotation(text=dd.constant.capitalize(), xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                           font=dict(size=18, color="black"), bgcolor="rgba(255,255,255,0.85)")
    return fig


def _decision(comp, run_index=None):
    key = ("_decision", run_index)
    cache = comp.__dict__.setdefault("_fig_cache", {})
    if key not in cache:
        cache[key] = decision_data(comp, run_index, snapshots=_snap(comp)[0])
    return cache[key]


def hidden_units(comp: Comparison):
    dd = _decision(comp)
    grid = hidden_map_grid(comp, dd)
    if grid is None:
        return None
    xs, ys, maps, rows, cols = grid
    acts = [a.name for a in dd.run.net.activations]
    ranges = unit_ranges(acts, maps)
    axis_of = {name: "coloraxis" if k == 0 else f"coloraxis{k + 1}" for k, name in enumerate(ranges)}
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"a<sup>{ell}</sup><sub>{i}</sub>" for ell, i, _ in maps],
                        horizontal_spacing=0.02, vertical_spacing=0.06 if rows > 1 else 0.1)
    for j, (ell, i, A) in enumerate(maps):
        fig.add_trace(go.Heatmap(x=xs, y=ys, z=_f32(A), coloraxis=axis_of[acts[ell - 1]],
                                 hovertemplate=f"a<sup>{ell}</sup><sub>{i}</sub> = %{{z:.3g}}<extra></extra>"),
                      row=j // cols + 1, col=j % cols + 1)
    for k, (name, (lo, hi)) in enumerate(ranges.items()):  # one fixed scale per activation, with its colour bar
        fig.layout[axis_of[name]] = dict(cmin=lo, cmax=hi, colorscale=unit_colorscale(lo, hi),
                                         colorbar=dict(title=dict(text=f"{name}: a", side="right"), len=0.9,
                                                       x=1.02 + 0.12 * k, thickness=12))
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, constrain="domain")
    for j in range(len(maps)):  # square cells: x₁ and x₂ drawn to the same scale
        fig.layout[f"yaxis{j + 1 if j else ''}"].update(scaleanchor=f"x{j + 1 if j else ''}", scaleratio=1)
    _layout(fig, f"Hidden units of {html.escape(pretty(dd.run.name))} over the input plane at the final w",
            height=150 + 140 * rows, showlegend=False)
    fig.update_layout(margin=dict(r=60 + 70 * len(ranges)))
    return fig


def figures(comp: Comparison, view: SurfaceView | None = None) -> dict[str, go.Figure]:
    """Every figure that applies, by name (the names of :func:`mlplab.plots.figures`, and ``layer_bars``);
    ``view``: the :func:`~mlplab.figures.comparison_surface` when the caller has it."""
    this = sys.modules[__name__]
    view = comparison_surface(comp, snapshots=_snap(comp)[0]) if view is None else view
    figs = {}
    for name, fn, args in figure_plan(comp, view):
        figs[name] = getattr(this, fn)(comp, *args)
        if name == "step_sizes" and len(comp.runs[comp.flow_run].history) >= 2:
            figs["layer_bars"] = layer_bars(comp)
    return {k: v for k, v in figs.items() if v is not None}


SECTIONS = [
    ("Loss surface", ["surface_3d", "contour", "slice_1d"]),
    ("Convergence", ["convergence_cost", "convergence_k", "grad_norm", "step_sizes"]),
    ("Gradient flow", ["gradient_flow", "layer_bars", "layer_grad_norms", "layer_heatmap"]),
    ("Where did it stop?", ["infimum"]),
    ("Decision boundary", ["decision_boundary", "hidden_units"]),
]


# --- the page ---------------------------------------------------------------------------------------------


def _fmt(v):
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if v is None:
        return "—"
    if isinstance(v, (float, np.floating)):
        return "nan" if not math.isfinite(v) else f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return html.escape(", ".join(str(x) for x in v))
    return _h(v)


def _table(rows: list[dict], cls="t") -> str:
    if not rows:
        return "<p>(empty)</p>"
    head = "".join(f"<th>{_h(str(k).replace('||grad E||', '‖∇E‖').replace('||', '‖'))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _history_rows(run, max_rows: int):
    h = run.history
    n = len(h)
    idx = np.unique(np.linspace(0, n - 1, min(n, max_rows)).round().astype(int)) if n else []
    return [{"k": h.k[i], "epoch": h.epoch[i], "E(w^k)": h.loss[i], "‖∇E‖": h.grad_norm[i],
             "step size": h.step_size[i], "line-search evals": h.ls_evals[i], "cost": h.cost[i],
             "forward passes": h.forward_evals[i] if i < len(h.forward_evals) else 0,
             "per-layer ‖∇_W E‖": ", ".join(f"{v:.3g}" for v in h.layer_grad_norms[i])} for i in idx], n


CSS = """body{font-family:system-ui,sans-serif;margin:0 auto 2em;max-width:1250px;color:#222;padding:0 1em}
table.t{border-collapse:collapse;font-size:13px;margin:.5em 0}table.t td,table.t th{border:1px solid #ccc;padding:3px 7px;text-align:left}
table.t th{background:#f3f3f3}.note{color:#555;font-size:14px}.plot{margin:1.5em 0 .3em;border-top:1px solid #eee}
p.caption{color:#444;font-size:13px;margin:.1em 0 1.2em;font-style:italic}details{margin:.5em 0}
#stepper{position:sticky;top:0;z-index:10;background:#fff;border-bottom:1px solid #ccc;padding:.5em 0;display:flex;
gap:1em;align-items:center;font-size:14px}#stepper input{flex:1}#snap-label{min-width:28em;font-variant-numeric:tabular-nums}"""

SCRIPT = """
(function(){
const S = JSON.parse(document.getElementById('mlplab-snapshots').textContent);
const el = document.getElementById('snap');
function val(a, j){ const v = a[j]; return (v === null || v === undefined) ? NaN : v; }
function traceUpdate(m, j){
  const r = S.runs[m.run];
  if (m.link === 'plane' && r.a) return {x: [val(r.a, j)], y: [val(r.b, j)]};
  if (m.link === 'plane3d' && r.a) return {x: [val(r.a, j)], y: [val(r.b, j)], z: [val(r.z, j) + m.lift]};
  if (m.link === 'conv') return {x: [(m.axis === 'cost' ? val(r.cost, j) : val(r.k, j)) + m.shift], y: [val(r.err, j)]};
  if (m.link === 'grad') return {x: [val(r.k, j)], y: [val(r.g, j)]};
  if (m.link === 'step') return {x: [val(r.k, j) + 1], y: [val(r.step, j)]};
  if (m.link === 'bars') return {y: r.layers[j]};
  if (m.link === 'decision' && r.P) return {z: r.P[j]};
  return null;
}
// the figures with linked traces (or per-iterate titles), found once; f.j: the iterate each one shows
const linked = [];
document.querySelectorAll('.js-plotly-plot').forEach(gd => {
  if (!gd.data) return;
  const idx = [];
  gd.data.forEach((t, ti) => { if (t.meta && t.meta.link) idx.push(ti); });
  const lm = gd.layout && gd.layout.meta;
  if (idx.length || (lm && lm.titles)) linked.push({gd, idx, j: +el.value});
});
function draw(f, j){
  // ONE Plotly.update per figure and step: every linked trace and the title together
  const {gd, idx} = f;
  f.j = j;
  const ups = [], ti = [];
  for (const i of idx) { const u = traceUpdate(gd.data[i].meta, j); if (u) { ups.push(u); ti.push(i); } }
  const data = {};
  for (const k of new Set(ups.flatMap(u => Object.keys(u)))) data[k] = ups.map(u => (k in u) ? u[k] : undefined);  // per trace: its new array
  const lm = gd.layout && gd.layout.meta;
  const lay = (lm && lm.titles) ? {'title.text': lm.titles[j]} : {};
  return Plotly.update(gd, data, lay, ti);
}
// figures on screen are redrawn at once; the others follow one per frame unless the slider moves on,
// and one scrolled into view catches up at once
let current = +el.value, generation = 0;
const onScreen = new Set();
const io = new IntersectionObserver(es => es.forEach(e => {
  if (!e.isIntersecting) { onScreen.delete(e.target); return; }
  onScreen.add(e.target);
  const f = linked.find(g => g.gd === e.target);
  if (f && f.j !== current) draw(f, current);
}), {rootMargin: '200px'});
linked.forEach(f => io.observe(f.gd));
function label(j){
  document.getElementById('snap-label').textContent = S.labels[j] + ' — ' + S.runs.map(r => r.name + ': k = ' + r.k[j]).join('; ');
}
function update(j){  // {shown: the visible figures drawn, all: every figure drawn}
  current = j; const gen = ++generation;
  label(j);
  const shown = Promise.all(linked.filter(f => onScreen.has(f.gd)).map(f => draw(f, j)));
  const all = shown.then(() => new Promise(resolve => {
    const rest = linked.filter(f => f.j !== j);
    const next = () => {
      if (gen !== generation) return resolve(false);
      const f = rest.shift();
      if (!f) { el.setAttribute('data-j', j); return resolve(true); }
      (f.j === j ? Promise.resolve() : draw(f, j)).then(() => requestAnimationFrame(next));
    };
    next();
  }));
  return {shown, all};
}
let busy = false, want = null, lastAll = Promise.resolve(true);
function request(j){  // while one step draws, only the latest position asked for is drawn next
  want = j; if (busy) return Promise.resolve();
  busy = true;
  const go = () => { const k = want; want = null; const u = update(k); lastAll = u.all;
                     return u.shown.then(() => { if (want !== null) return go(); }); };
  return go().finally(() => { busy = false; });
}
el.addEventListener('input', () => request(+el.value));
const play = document.getElementById('snap-play');
let playing = false;
function tick(){
  if (!playing) return;
  if (+el.value >= +el.max) { playing = false; play.textContent = '▶ play'; return; }
  el.value = +el.value + 1;
  const t0 = performance.now();
  request(+el.value).then(() => { if (playing) setTimeout(tick, Math.max(0, 300 - (performance.now() - t0))); });
}
play.addEventListener('click', () => {  // pause acts at once: no step is queued behind the one drawing
  if (playing) { playing = false; play.textContent = '▶ play'; return; }
  playing = true; play.textContent = '❚❚ pause'; if (+el.value >= +el.max) el.value = 0;
  tick();
});
// for tests and measurements: step j, resolved when the visible figures (mlplabStep) or all (mlplabStepAll) are drawn
window.mlplabStep = j => { el.value = j; return request(+j); };
window.mlplabStepAll = j => { el.value = j; return request(+j).then(() => lastAll); };
label(+el.value);
})();
"""


def _num(a, digits=6):
    """JSON-able list with NaN/inf as null, rounded to ``digits`` significant digits (a small page)."""
    out = []
    for v in np.asarray(a, dtype=float).ravel().tolist():
        out.append(float(f"{v:.{digits}g}") if math.isfinite(v) else None)
    return out


def snapshot_data(comp: Comparison, view: SurfaceView) -> dict:
    """What the slider steps through: per run and position, k, cost, E − E*, ‖∇E‖, the step, the per-layer
    gradient norms, the point on the plane and (2-D inputs) ŷ over the input plane."""
    snaps, labels, _ = _snap(comp)
    dd = _decision(comp)
    runs = []
    for i, (run, ix) in enumerate(zip(comp.runs, snaps)):
        h = run.history
        ge = np.asarray(h.grad_equivalents, dtype=float)
        loss = np.asarray(h.loss, dtype=float)
        H = np.asarray(h.layer_grad_norms, dtype=float)
        r = {"name": pretty(run.name), "k": [int(h.k[j]) for j in ix], "cost": _num(ge[ix]),
             "err": _num(np.maximum(loss[ix] - comp.E_ref, 1e-300)), "E": _num(loss[ix]),
             "g": _num(np.asarray(h.grad_norm, dtype=float)[ix]), "step": _num(np.asarray(h.step_size, dtype=float)[ix]),
             "layers": [_num(H[j], 4) for j in ix] if H.ndim == 2 else None}
        p = view.paths[i] if i < len(view.paths) else None
        if p is not None and p.snap_a is not None:
            r.update(a=_num(p.snap_a), b=_num(p.snap_b), z=_num(p.snap_z))
        if dd is not None and dd.snaps is not None and dd.run_index == i:
            r["P"] = [np.round(P, 3).tolist() for P, _, _ in dd.snaps["frames"]]
        runs.append(r)
    return {"labels": labels, "runs": runs}


def _windows(comp: Comparison) -> str:
    """The k windows the rates were fitted over, as the note under the comparison table says them."""
    fits = [f"{r.name}: k = {r.rate.window[0]:g}…{r.rate.window[1]:g}" for r in comp.runs if r.rate is not None]
    return "; ".join(fits) if fits else "no run (too few points)"


FLOW_HEADERS = {"median ||Diag(phi')||": "median ‖Diag(φ′)‖", "median ||delta^l||": "median ‖δ^ℓ‖",
                "median chain ||delta^l||/||delta^L||": "median chain ‖δ^ℓ‖/‖δ^L‖",
                "median ||a^(l-1)||": "median ‖a^{ℓ−1}‖", "median ||grad_W e||": "median ‖∇_{W^ℓ} e‖",
                "||grad_W E|| (batch sum)": "‖∇_{W^ℓ} E‖ (sum over the samples)",
                "saturated": "saturated units (fraction)"}


def _flow_section(comp) -> list[str]:
    flow = comp.gradient_flow
    if flow is None:
        return []
    fl = flow_lines(comp)
    parts = [f'<p id="diagnosis"><b>{_h(comp.runs[comp.flow_run].name)}</b>: {_h(flow.diagnosis.message)}</p>']
    if fl is not None:
        parts.append(f'<p class="note" id="saturation">{_h(fl.saturation_text())}.</p>')
    parts += [f'<details><summary>Per layer, medians over the samples of the factors of ‖∇<sub>W<sup>ℓ</sup></sub>e‖₂ '
              f'≤ ‖Diag(φ′)‖₂ ‖V<sup>ℓ+1</sup>⋯V<sup>L</sup>δ<sup>L</sup>‖₂ ‖a<sup>ℓ−1</sup>‖₂ at '
              f'{html.escape(pretty(flow.diagnosis.point))}</summary>',
              _table([{FLOW_HEADERS.get(k, k): v for k, v in row.items()} for row in flow.table()]), "</details>"]
    return parts


def write_report(path, comp: Comparison, max_history_rows: int = 200) -> Path:
    """Write the comparison as ONE self-contained HTML file (plotly.js embedded); returns the path.

    The page holds the configuration, the comparison table, the gradient-flow
    diagnosis, every applicable figure (``div.plot`` with ``data-name``, a
    ``p.caption`` under each), the iteration slider (``input#snap``) linking
    them, and each run's history (at most ``max_history_rows`` rows, evenly
    spaced, in a collapsible block).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write the report to {str(path)!r}: folder {str(path.parent)!r} does not exist")
    snaps = _snap(comp)
    view = comparison_surface(comp, snapshots=snaps[0])  # once: the figures and the note below share it
    figs = figures(comp, view)
    single = len(comp.runs) == 1
    m = len(snaps[1])
    has_history = any(len(r.history) >= 2 for r in comp.runs)
    parts = [f"<h1>{_h(comp.title)}</h1>"]
    if has_history:
        parts.append(f'<div id="stepper"><label for="snap">Iterate:</label>'
                     f'<input type="range" id="snap" min="0" max="{m - 1}" value="{m - 1}" step="1" '
                     f'aria-label="iteration slider">'
                     f'<button id="snap-play" type="button">▶ play</button><span id="snap-label"></span></div>'
                     f'<p class="note">The slider steps every linked panel (● on the surfaces, cursors on the curves, '
                     f'the layer bars, the decision boundary) through {m} iterates of each run, log-spaced on the '
                     f'cost axis; all runs have spent the same cost at each position.</p>')
    estimated = [r.name for r in comp.runs if 0 < len(getattr(r.history, "exact", ()) or ()) == len(r.history)
                 and not all(r.history.exact)]
    if estimated:
        parts.append(f'<p class="note" id="estimated">Between the first and the last record, the history of '
                     f'{_h("; ".join(estimated))} holds the training monitor\'s block estimate of E and ‖∇E‖ (the '
                     f'sampled blocks since the previous record), not E(wᵏ) itself: the curves over k show it; the '
                     f'paths on the surfaces are coloured by E(wᵏ) evaluated on all samples.</p>')
    parts += [*(f'<p class="note" id="note-{j}">{_h(n)}</p>' for j, n in enumerate(comp.notes)),
              "<h2>Configuration</h2>", _table([{"setting": k, "value": v} for k, v in comp.config.items()]),
              "<h2>The run</h2>" if single else "<h2>Comparison</h2>", _table(comp.table()),
              f'<p class="note">Rates are fitted over {_h(_windows(comp))}; {_h(comp.E_ref_note)}.</p>']
    cuts = [f"<li><b>{_h(r.name)}</b>: {_h(r.budget_note)}</li>"
            for r in comp.runs if getattr(r, "budget_note", "")]
    if cuts:
        parts.append("<h3>Held to the budget</h3><ul>" + "".join(cuts) + "</ul>")
    stops = [f"<li><b>{_h(r.name)}</b>: {_h(r.stop.message)}</li>"
             for r in comp.runs if r.stop]
    if stops:
        parts.append(("<h3>Where did it stop?</h3><ul>" if single else "<h3>Where did each run stop?</h3><ul>")
                     + "".join(stops) + "</ul>")
    first = True
    for section, names in SECTIONS:
        present = [n for n in names if n in figs]
        if not present:
            continue
        title = section if not (section == "Gradient flow" and not single) else \
            f"Gradient flow of {comp.runs[comp.flow_run].name}"
        parts.append(f"<h2>{_h(title)}</h2>")
        if section == "Loss surface":
            parts.append(f'<p class="note">{_h(view.note)}.</p>')
        if section == "Gradient flow":
            parts += _flow_section(comp)
        for name in present:
            div = figs[name].to_html(full_html=False, include_plotlyjs=True if first else False,
                                     div_id=f"fig-{name}", config={"displaylogo": False, "responsive": True})
            first = False
            cap = CAPTIONS.get(name, "")
            if name == "contour" or (name == "surface_3d" and view.projected):
                cap = view.caption
            if name == "convergence_cost" and comp.budget is not None:
                cap += CAPTIONS["budget"]
            parts.append(f'<div class="plot" data-name="{name}">{div}</div>'
                         f'<p class="caption" data-for="{name}">{html.escape(cap)}</p>')
    parts.append("<h2>History</h2>")
    for r in comp.runs:
        rows, n = _history_rows(r, max_history_rows)
        parts.append(f"<details><summary>{_h(r.name)}: {n} records"
                     f"{' (evenly spaced rows shown)' if n > len(rows) else ''}</summary>{_table(rows)}</details>")
    if has_history:
        data = json.dumps(snapshot_data(comp, view), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        data = data.replace("</", "<\\/")  # no '</script>' inside the data
        parts.append(f'<script type="application/json" id="mlplab-snapshots">{data}</script>')
        parts.append(f"<script>{SCRIPT}</script>")
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(pretty(comp.title))}'
            f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    atomic_write(path, page.encode("utf-8"))  # temp file in the same folder, fsync, os.replace
    return path
