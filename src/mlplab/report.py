"""One self-contained, interactive HTML report of a :class:`mlplab.compare.Comparison` (Plotly).

:func:`write_report` writes a single file holding the configuration, the
comparison table (fitted rates next to the lecture's theory, where each run
stopped), the gradient-flow diagnosis, every figure that applies as an
interactive Plotly chart (hover values, zoom, 3-D rotation), and the history
tables. plotly.js is embedded once (``include_plotlyjs=True``), so the file
opens offline; no CDN is contacted.

:func:`figures` returns the ``plotly.graph_objects.Figure`` s by name (the
same set as :func:`mlplab.plots.figures`).
"""

from __future__ import annotations

import html
import math
import sys
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mlplab.compare import (COST_LABEL, FEW_POINTS, Comparison, SurfaceView, comparison_surface, decision_view,
                            figure_plan, infimum_curve, longest_run, run_color, run_dash, run_marker)
from mlplab.io import atomic_write


def _layout(fig, title, **kw):
    fig.update_layout(title=title, template="plotly_white", margin=dict(l=60, r=20, t=60, b=50),
                      legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0), **kw)
    fig.update_xaxes(exponentformat="power")
    fig.update_yaxes(exponentformat="power")
    return fig


def surface_3d(comp: Comparison, view=None) -> go.Figure:
    view = comparison_surface(comp) if view is None else view
    s = view.surface
    fig = go.Figure([go.Surface(x=s.a, y=s.b, z=s.E, colorscale="Viridis", opacity=0.9, name="E(w)",
                                colorbar=dict(title="E"))])
    lift = 0.01 * float(np.ptp(s.E[np.isfinite(s.E)]) or 1.0)  # a path drawn exactly on the surface flickers
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if len(p) < 2:  # one point is no path: drawn as the start marker below
            continue
        fig.add_trace(go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2] + lift, mode="lines+markers", name=run.name,
                                   line=dict(color=run_color(i), width=5), marker=dict(size=2.5, color=run_color(i))))
    if all(len(p) < 2 for p in view.paths):
        p0 = view.paths[0][0]
        fig.add_trace(go.Scatter3d(x=[p0[0]], y=[p0[1]], z=[p0[2] + lift], mode="markers", name=comp.start_label,
                                   text=[comp.start_label], marker=dict(size=6, color="black")))
    return _layout(fig, "Loss surface E(w) with the optimizer paths", height=700,
                   scene=dict(xaxis_title=s.labels[0], yaxis_title=s.labels[1], zaxis_title="E(w)",
                              camera=dict(eye=dict(x=-1.2, y=-1.6, z=1.1))))


def contour(comp: Comparison, view=None) -> go.Figure:
    view = comparison_surface(comp) if view is None else view
    s = view.surface
    fig = go.Figure([go.Contour(x=s.a, y=s.b, z=s.E, colorscale="Viridis", ncontours=30, name="E(w)",
                                colorbar=dict(title="E"))])
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if len(p) < 2:  # one point is no path (a saved model without history): only the marker below
            continue
        fig.add_trace(go.Scatter(x=p[:, 0], y=p[:, 1], mode="lines+markers", name=run.name,
                                 line=dict(color=run_color(i)), marker=dict(size=4), text=[f"k={k}" for k in run.history.k]))
    p0 = view.paths[0][0]
    fig.add_trace(go.Scatter(x=[p0[0]], y=[p0[1]], mode="markers", name=comp.start_label, text=[comp.start_label],
                             marker=dict(size=12, color="white", line=dict(color="black", width=2))))
    return _layout(fig, "Contours of E(w) with the optimizer paths", height=600,
                   xaxis_title=s.labels[0], yaxis_title=s.labels[1])


def slice_1d(comp: Comparison, view=None):
    view = comparison_surface(comp) if view is None else view
    if view.slice_1d is None:
        return None
    a, E = view.slice_1d
    fig = go.Figure([go.Scatter(x=a, y=E, mode="lines", name="E(w + a·u)")])
    return _layout(fig, "1-D slice of E through the final w", xaxis_title=f"a along {view.surface.labels[0]}",
                   yaxis_title="E(w + a·u)")


def infimum(comp: Comparison):
    curve = infimum_curve(comp)
    if curve is None:
        return None
    r, Emin = curve
    fig = go.Figure([go.Scatter(x=r, y=np.maximum(Emin, 1e-300), mode="lines+markers", name="min over ‖w‖ = r",
                                line=dict(color="black"))])
    for i, run in enumerate(comp.runs):
        fig.add_trace(go.Scatter(x=[float(np.linalg.norm(run.result.params))], y=[run.result.loss], mode="markers",
                                 name=run.name, marker=dict(size=12, symbol="star", color=run_color(i))))
    return _layout(fig, "E has no minimiser: its infimum 0 is approached only as ‖w‖ → ∞",
                   xaxis_title="r = ‖w‖", yaxis_title="min E on the circle ‖w‖ = r", xaxis_type="log", yaxis_type="log")


def convergence(comp: Comparison, x: str = "cost") -> go.Figure:
    if x not in ("cost", "k"):
        raise ValueError(f"x must be 'cost' or 'k', got {x!r}")
    xlabel = COST_LABEL if x == "cost" else "iteration k"
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"log-log: E − E* against {x}", f"semi-log: E − E* against {x}"))
    for col in (1, 2):
        for i, run in enumerate(comp.runs):
            h = run.history
            xs = h.grad_equivalents if x == "cost" else np.asarray(h.k, dtype=float)
            err = np.asarray(h.loss, dtype=float) - comp.E_ref
            keep = (err > 0) & ((xs > 0) if col == 1 else True)
            few = len(h) <= FEW_POINTS  # few records: mark each, so a short run is not read as a line
            fig.add_trace(go.Scatter(x=xs[keep], y=err[keep], mode="lines+markers" if few else "lines", name=run.name,
                                     legendgroup=run.name, showlegend=col == 1,
                                     marker=dict(symbol=run_marker(i, plotly=True), size=6),
                                     line=dict(color=run_color(i), dash=run_dash(i, plotly=True))), row=1, col=col)
            if x == "k" and run.rate is not None:
                lo, hi = run.rate.window
                kk = np.linspace(max(lo, 1), hi, 50)
                fit = run.rate.C * run.rate.q ** kk if run.rate.kind == "linear" else run.rate.C * kk ** -run.rate.p
                fig.add_trace(go.Scatter(x=kk, y=fit, mode="lines", name=f"fit: {run.rate.describe()}",
                                         legendgroup=run.name, showlegend=col == 1,
                                         opacity=0.3, line=dict(color=run_color(i), width=8)), row=1, col=col)
        fig.update_yaxes(type="log", title_text="E(w^k) − E*", row=1, col=col)
        fig.update_xaxes(type="log" if col == 1 else "linear", title_text=xlabel, row=1, col=col)
    return _layout(fig, f"Convergence against {'cost' if x == 'cost' else 'k'} ({comp.E_ref_note})", height=480)


def grad_norms(comp: Comparison) -> go.Figure:
    fig = go.Figure([go.Scatter(x=r.history.k, y=r.history.grad_norm, mode="lines", name=r.name, line=dict(color=run_color(i)))
                     for i, r in enumerate(comp.runs)])
    return _layout(fig, "Gradient norm ‖∇E(w^k)‖ over the iterations", xaxis_title="iteration k",
                   yaxis_title="‖∇E(w^k)‖₂", yaxis_type="log")


def step_sizes(comp: Comparison) -> go.Figure:
    # dash and marker per run: identical γ_k lines (SGD and mini-batch) stay told apart
    fig = go.Figure([go.Scatter(x=np.asarray(r.history.k) + 1, y=r.history.step_size, mode="lines+markers",
                                marker=dict(size=7 if len(r.history) <= FEW_POINTS else 4,
                                            symbol=run_marker(i, plotly=True) + "-open"),
                                name=r.name, line=dict(color=run_color(i), dash=run_dash(i, plotly=True),
                                                       width=3 if i == 0 else 2))
                     for i, r in enumerate(comp.runs)])
    return _layout(fig, "Step sizes α^k / γ_k over the iterations", xaxis_title="k + 1", yaxis_title="α^k / γ_k",
                   xaxis_type="log", yaxis_type="log")


def layer_grad_norms(comp: Comparison, run_index: int | None = None) -> go.Figure:
    run = comp.runs[longest_run(comp) if run_index is None else run_index]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    fig = go.Figure([go.Scatter(x=run.history.k, y=H[:, ell], mode="lines", name=f"layer {ell + 1}")
                     for ell in range(H.shape[1])])
    return _layout(fig, f"Gradient flow per layer: ‖∇_W^ℓ E‖ over k ({run.name})", xaxis_title="iteration k",
                   yaxis_title="‖∇_W^ℓ E‖_F", yaxis_type="log")


def layer_heatmap(comp: Comparison, run_index: int | None = None) -> go.Figure:
    run = comp.runs[longest_run(comp) if run_index is None else run_index]
    H = np.asarray(run.history.layer_grad_norms, dtype=float)
    fig = go.Figure([go.Heatmap(x=run.history.k, y=np.arange(1, H.shape[1] + 1), z=np.log10(np.maximum(H.T, 1e-300)),
                                colorscale="Magma", colorbar=dict(title="log10 ‖∇‖"))])
    fig.update_yaxes(dtick=1)
    return _layout(fig, f"log10 ‖∇_W^ℓ E‖ per layer and iteration ({run.name})", xaxis_title="iteration k",
                   yaxis_title="layer ℓ", height=300 + 20 * H.shape[1])


def bound_factors(comp: Comparison) -> go.Figure:
    """Per-layer medians over the samples of the bound's factors at the point the verdict is about;
    the layers the verdict names are shaded."""
    flow = comp.gradient_flow
    diag = flow.diagnosis
    ell = [f.layer for f in flow.layers]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.7, 0.3],
                        subplot_titles=(f"The lecture's bound per layer, per-sample medians (holds on every sample: "
                                        f"{all(f.holds for f in flow.layers)})", "Saturated units (φ′ < 1% of max)"))
    names = [("‖Diag(φ′)‖₂", "dphi_norm"), ("‖V^{ℓ+1}…V^L δ^L‖₂", "delta_norm"), ("‖a^{ℓ−1}‖₂", "a_prev_norm"),
             ("bound (product)", "bound"), ("‖∇_W^ℓ e‖₂", "grad_norm")]
    for j, (label, attr) in enumerate(names):
        fig.add_trace(go.Bar(x=ell, y=[f.median(attr) for f in flow.layers], name=label,
                             marker_color=run_color(j)), row=1, col=1)
    fig.add_trace(go.Bar(x=ell, y=[100 * f.saturated for f in flow.layers], name="% saturated",
                         marker_color="grey"), row=1, col=2)
    shade = {"vanishing": "#1f77b4", "exploding": "#d62728"}.get(diag.kind)
    for named in (diag.layers if shade else ()):
        fig.add_vrect(x0=named - 0.5, x1=named + 0.5, fillcolor=shade, opacity=0.1, line_width=0, row=1, col=1)
    fig.update_yaxes(type="log", title_text=f"median over the {flow.layers[-1].n_used} samples", row=1, col=1)
    fig.update_yaxes(range=[0, 100], title_text="% of units", row=1, col=2)
    fig.update_xaxes(title_text="layer ℓ", dtick=1)
    verdict = diag.kind if not diag.layers else f"{diag.kind} ({_span_text(diag.layers)} shaded)"
    return _layout(fig, f"Gradient flow at {diag.point} of {comp.runs[0].name}: {verdict}", barmode="group",
                   height=450)


def _span_text(layers) -> str:
    layers = sorted(layers)
    if len(layers) > 1 and layers == list(range(layers[0], layers[-1] + 1)):
        return f"layers {layers[0]}–{layers[-1]}"
    return ("layer " if len(layers) == 1 else "layers ") + ", ".join(map(str, layers))


def decision_boundary(comp: Comparison, run_index: int | None = None):
    view = decision_view(comp, run_index)
    if view is None:
        return None
    run, xs, ys, P = view
    problem = comp.problem
    fig = go.Figure([go.Heatmap(x=xs, y=ys, z=P, colorscale="RdBu", reversescale=True, zmin=0, zmax=1,
                                colorbar=dict(title="ŷ")),
                     ])
    y = problem.Y[:, -1]
    for cls, symbol in ((1, "circle"), (0, "x")):
        sel = (y >= 0.5) if cls == 1 else (y < 0.5)
        fig.add_trace(go.Scatter(x=problem.X[sel, 0], y=problem.X[sel, 1], mode="markers", name=f"data, y = {cls}",
                                 marker=dict(size=14, symbol=symbol, color="white",
                                             line=dict(color="black", width=2))))
    return _layout(fig, f"Decision boundary: predicted output ({run.name})", xaxis_title="x1", yaxis_title="x2",
                   height=550)


def figures(comp: Comparison, view: SurfaceView | None = None) -> dict[str, go.Figure]:
    """Every figure that applies, by name (the names of :func:`mlplab.plots.figures`);
    ``view``: the :func:`~mlplab.compare.comparison_surface` when the caller has it."""
    this = sys.modules[__name__]
    figs = {name: getattr(this, fn)(comp, *args) for name, fn, args in figure_plan(comp, view)}
    return {k: v for k, v in figs.items() if v is not None}


SECTIONS = [
    ("Loss surface", ["surface_3d", "contour", "slice_1d"]),
    ("Convergence", ["convergence_cost", "convergence_k", "grad_norm", "step_sizes"]),
    ("Gradient flow", ["layer_grad_norms", "layer_heatmap", "gradient_flow"]),
    ("Where did it stop?", ["infimum"]),
    ("Decision boundary", ["decision_boundary"]),
]


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        return "nan" if not math.isfinite(v) else f"{v:.6g}"
    return html.escape(str(v))


def _table(rows: list[dict], cls="t") -> str:
    if not rows:
        return "<p>(empty)</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _history_rows(run, max_rows: int):
    h = run.history
    n = len(h)
    idx = np.unique(np.linspace(0, n - 1, min(n, max_rows)).round().astype(int)) if n else []
    return [{"k": h.k[i], "epoch": h.epoch[i], "E(w^k)": h.loss[i], "||grad E||": h.grad_norm[i],
             "step size": h.step_size[i], "line-search evals": h.ls_evals[i], "cost": h.cost[i],
             "forward passes": h.forward_evals[i] if i < len(h.forward_evals) else 0,
             "per-layer ||grad_W E||": ", ".join(f"{v:.3g}" for v in h.layer_grad_norms[i])} for i in idx], n


CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1250px;color:#222}
table.t{border-collapse:collapse;font-size:13px;margin:.5em 0}table.t td,table.t th{border:1px solid #ccc;padding:3px 7px;text-align:left}
table.t th{background:#f3f3f3}.note{color:#555;font-size:14px}.plot{margin:1.5em 0;border-top:1px solid #eee}
details{margin:.5em 0}"""


def _windows(comp: Comparison) -> str:
    """The k windows the rates were fitted over, as the note under the comparison table says them."""
    fits = [f"{r.name}: k = {r.rate.window[0]:g}…{r.rate.window[1]:g}" for r in comp.runs if r.rate is not None]
    return "; ".join(fits) if fits else "no run (too few points)"


def write_report(path, comp: Comparison, max_history_rows: int = 200) -> Path:
    """Write the comparison as ONE self-contained HTML file (plotly.js embedded); returns the path.

    The page holds the configuration, the comparison table, the gradient-flow
    diagnosis and bound table, every applicable figure (``div.plot`` with
    ``data-name``), and each run's history (at most ``max_history_rows`` rows,
    evenly spaced, in a collapsible block).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write the report to {str(path)!r}: folder {str(path.parent)!r} does not exist")
    view = comparison_surface(comp)  # once: the figures and the note below share it
    figs = figures(comp, view)
    parts = [f"<h1>{html.escape(comp.title)}</h1>",
             *(f'<p class="note" id="note-{j}">{html.escape(n)}</p>' for j, n in enumerate(comp.notes)),
             "<h2>Configuration</h2>", _table([{"setting": k, "value": v} for k, v in comp.config.items()]),
             "<h2>Comparison</h2>", _table(comp.table()),
             f'<p class="note">Rates are fitted over {html.escape(_windows(comp))}; {html.escape(comp.E_ref_note)}.</p>']
    stops = [f"<li><b>{html.escape(r.name)}</b>: {html.escape(r.stop.message)}</li>" for r in comp.runs if r.stop]
    if stops:
        parts.append("<h3>Where did each run stop?</h3><ul>" + "".join(stops) + "</ul>")
    if comp.gradient_flow is not None:
        flow = comp.gradient_flow
        parts += ["<h3>Gradient flow</h3>", f'<p id="diagnosis">{html.escape(flow.diagnosis.message)}</p>',
                  f'<p class="note">Per layer, medians over the samples of the per-sample factors of '
                  f'‖∇_W^ℓ e‖₂ ≤ ‖Diag(φ′)‖₂ ‖V^(ℓ+1)…V^L δ^L‖₂ ‖a^(ℓ−1)‖₂ at {html.escape(flow.diagnosis.point)} '
                  f'(the numbers the verdict is decided from, drawn in the gradient-flow figure below):</p>',
                  _table(flow.table())]
    first = True
    for section, names in SECTIONS:
        present = [n for n in names if n in figs]
        if not present:
            continue
        parts.append(f"<h2>{html.escape(section)}</h2>")
        if section == "Loss surface":
            parts.append(f'<p class="note">{html.escape(view.note)}.</p>')
        for name in present:
            div = figs[name].to_html(full_html=False, include_plotlyjs=True if first else False,
                                     div_id=f"fig-{name}", config={"displaylogo": False, "responsive": True})
            first = False
            parts.append(f'<div class="plot" data-name="{name}">{div}</div>')
    parts.append("<h2>History</h2>")
    for r in comp.runs:
        rows, n = _history_rows(r, max_history_rows)
        parts.append(f"<details><summary>{html.escape(r.name)}: {n} records"
                     f"{' (evenly spaced rows shown)' if n > len(rows) else ''}</summary>{_table(rows)}</details>")
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(comp.title)}</title>'
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    atomic_write(path, page.encode("utf-8"))  # temp file in the same folder, fsync, os.replace
    return path
