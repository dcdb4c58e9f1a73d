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
(:func:`mlplab.viz.iterates.snapshot_indices`); the curves themselves are thinned
for drawing (:func:`mlplab.viz.iterates.thin_indices`), so a 100,000-step run
stays a few MB. Linked traces carry ``meta = {"link": ..., "run": i}``; a
few lines of JavaScript in the page restyle them from the snapshot data.

The figures are the figure library's (:mod:`mlplab.viz`: ``plotly_surface``,
``plotly_curves``, ``plotly_layers``, ``plotly_plane``); :func:`figures` returns
the ``plotly.graph_objects.Figure`` s by name (the same set as
:func:`mlplab.plots.figures`). This module assembles the page.
"""

from __future__ import annotations

import html
import json
import math
import sys
from pathlib import Path

import numpy as np

from mlplab.io import atomic_write
from mlplab.viz.flow import flow_lines
from mlplab.viz.iterates import snapshots
from mlplab.viz.notation import html_text, pretty
from mlplab.viz.plane import decision
from mlplab.viz.plotly_curves import convergence, grad_norms, step_sizes
from mlplab.viz.plotly_layers import bound_factors, layer_bars, layer_grad_norms, layer_heatmap
from mlplab.viz.plotly_plane import decision_boundary, hidden_units
from mlplab.viz.plotly_surface import contour, infimum, slice_1d, surface_3d
from mlplab.viz.surface import SurfaceView, comparison_surface
from mlplab.viz.plan import figure_plan
from mlplab.viz.words import CAPTIONS

__all__ = ["surface_3d", "contour", "slice_1d", "infimum", "convergence", "grad_norms", "step_sizes", "layer_bars",
           "layer_grad_norms", "layer_heatmap", "bound_factors", "decision_boundary", "hidden_units", "figures",
           "SECTIONS", "snapshot_data", "write_report"]

def figures(comp, view: SurfaceView | None = None) -> dict:
    """Every figure that applies, by name (the names of :func:`mlplab.plots.figures`, and ``layer_bars``);
    ``view``: the :func:`~mlplab.viz.surface.comparison_surface` when the caller has it."""
    this = sys.modules[__name__]
    view = comparison_surface(comp, snapshots=snapshots(comp)[0]) if view is None else view
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
    return html_text(v)


def _table(rows: list[dict], cls="t") -> str:
    if not rows:
        return "<p>(empty)</p>"
    head = "".join(f"<th>{html_text(str(k).replace('||grad E||', '‖∇E‖').replace('||', '‖'))}</th>" for k in rows[0])
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


def snapshot_data(comp, view: SurfaceView) -> dict:
    """What the slider steps through: per run and position, k, cost, E − E*, ‖∇E‖, the step, the per-layer
    gradient norms, the point on the plane and (2-D inputs) ŷ over the input plane."""
    snaps, labels, _ = snapshots(comp)
    dd = decision(comp)
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


def _windows(comp) -> str:
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
    parts = [f'<p id="diagnosis"><b>{html_text(comp.runs[comp.flow_run].name)}</b>: {html_text(flow.diagnosis.message)}</p>']
    if fl is not None:
        parts.append(f'<p class="note" id="saturation">{html_text(fl.saturation_text())}.</p>')
    parts += [f'<details><summary>Per layer, medians over the samples of the factors of ‖∇<sub>W<sup>ℓ</sup></sub>e‖₂ '
              f'≤ ‖Diag(φ′)‖₂ ‖V<sup>ℓ+1</sup>⋯V<sup>L</sup>δ<sup>L</sup>‖₂ ‖a<sup>ℓ−1</sup>‖₂ at '
              f'{html.escape(pretty(flow.diagnosis.point))}</summary>',
              _table([{FLOW_HEADERS.get(k, k): v for k, v in row.items()} for row in flow.table()]), "</details>"]
    return parts


def write_report(path, comp, max_history_rows: int = 200) -> Path:
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
    snaps = snapshots(comp)
    view = comparison_surface(comp, snapshots=snaps[0])  # once: the figures and the note below share it
    figs = figures(comp, view)
    single = len(comp.runs) == 1
    m = len(snaps[1])
    has_history = any(len(r.history) >= 2 for r in comp.runs)
    parts = [f"<h1>{html_text(comp.title)}</h1>"]
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
                     f'{html_text("; ".join(estimated))} holds the training monitor\'s block estimate of E and ‖∇E‖ (the '
                     f'sampled blocks since the previous record), not E(wᵏ) itself: the curves over k show it; the '
                     f'paths on the surfaces are coloured by E(wᵏ) evaluated on all samples.</p>')
    parts += [*(f'<p class="note" id="note-{j}">{html_text(n)}</p>' for j, n in enumerate(comp.notes)),
              "<h2>Configuration</h2>", _table([{"setting": k, "value": v} for k, v in comp.config.items()]),
              "<h2>The run</h2>" if single else "<h2>Comparison</h2>", _table(comp.table()),
              f'<p class="note">Rates are fitted over {html_text(_windows(comp))}; {html_text(comp.E_ref_note)}.</p>']
    cuts = [f"<li><b>{html_text(r.name)}</b>: {html_text(r.budget_note)}</li>"
            for r in comp.runs if getattr(r, "budget_note", "")]
    if cuts:
        parts.append("<h3>Held to the budget</h3><ul>" + "".join(cuts) + "</ul>")
    stops = [f"<li><b>{html_text(r.name)}</b>: {html_text(r.stop.message)}</li>"
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
        parts.append(f"<h2>{html_text(title)}</h2>")
        if section == "Loss surface":
            parts.append(f'<p class="note">{html_text(view.note)}.</p>')
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
        parts.append(f"<details><summary>{html_text(r.name)}: {n} records"
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
