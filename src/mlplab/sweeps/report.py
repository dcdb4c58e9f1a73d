"""The sweep's HTML report: one self-contained file (plotly.js embedded once, opens offline).

Sections (sized for sweeps of any size: the top-k configurations are drawn, the rest summarised;
10,000 runs give a page of a few MB that a browser opens in seconds):

* the ranked results table (mean ± std over seeds; the best configuration marked; sortable by any
  column), the top ``table_rows`` configurations, the rest summarised in one line;
* parameter importance (the share of the ranking metric's variance over configurations that each
  swept key's values explain) and a parallel-coordinates plot of the configurations;
* convergence bands of the top-k configurations — per configuration, the median of E(w^k) over its seeds as a
  line and their range (min–max) as a band, against the iteration k and against
  the cost (sample-gradient equivalents; :mod:`mlplab.sweeps.figures`);
* the ranking metric against each swept value (every run a point, the median a line; numbers on a
  numeric axis, logarithmic when they span more than a factor of 20);
* the Robbins–Monro verdict of each distinct method and step-size schedule
  (Σγ_k = ∞ and Σγ_k² < ∞; :mod:`mlplab.sweeps.findings`): a schedule whose sum
  converges fails by stalling, one whose squares' sum diverges by a noise floor;
* the best runs: settings, status, E, ‖∇E‖, accuracy, cost, time, stop reason, model file.

The figures are built in :mod:`mlplab.sweeps.figures`, the η² and Robbins–Monro tables in
:mod:`mlplab.sweeps.findings`; this module lays them out as one page.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np

from mlplab.io import atomic_write
from mlplab.sweeps import store
from mlplab.sweeps.figures import (COST_LABEL, DASHES, MAX_POINTS, MAX_SCATTER, band, convergence_bands, final_vs,
                                   parallel)
from mlplab.sweeps.findings import VERDICT_FAIL, importance, robbins_monro
from mlplab.sweeps.results import configurations, footnote, group_keys, metric_values, ranked, summarize, table_rows

__all__ = ["write_report", "band", "convergence_bands", "final_vs", "parallel", "importance", "robbins_monro",
           "COST_LABEL", "DASHES", "MAX_POINTS", "MAX_SCATTER", "VERDICT_FAIL", "CSS"]

CSS = """body{font-family:system-ui,sans-serif;margin:0 auto 2em;max-width:1250px;color:#222;padding:0 1em}
table.t{border-collapse:collapse;font-size:13px;margin:.5em 0}table.t td,table.t th{border:1px solid #ccc;padding:3px 7px;
text-align:left}table.t th{background:#f3f3f3}.note{color:#555;font-size:14px}.plot{margin:1.5em 0;border-top:1px solid #eee}
details{margin:.5em 0}"""


def _fmt_cell(v):
    """A table cell's text: blank for None and non-finite numbers, floats to 6 significant digits."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return ",".join(map(str, v))
    return str(v)


def _table(rows: list[dict], cls: str = "t") -> str:
    """An HTML table of dicts (one row each; the first one's keys are the header)."""
    if not rows:
        return "<p>(empty)</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt_cell(v))}</td>" for v in r.values()) + "</tr>"
                   for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


SORT_JS = """document.querySelectorAll('table.sortable th').forEach(function(th){th.style.cursor='pointer';
th.title='sort';th.addEventListener('click',function(){var t=th.closest('table'),b=t.tBodies[0],i=th.cellIndex,
d=th.dataset.dir==='asc'?-1:1;th.dataset.dir=d===1?'asc':'desc';var r=Array.from(b.rows);r.sort(function(x,y){
var a=x.cells[i].dataset.v||x.cells[i].textContent,c=y.cells[i].dataset.v||y.cells[i].textContent,p=parseFloat(a),
q=parseFloat(c);if(!isNaN(p)&&!isNaN(q))return d*(p-q);return d*a.localeCompare(c);});r.forEach(function(e){
b.appendChild(e);});});});"""


def _sortable(header: list[str], rows: list[list], keys: list[list] | None = None) -> str:
    """An HTML table sortable by clicking a header (numbers by value: ``keys`` gives each cell's sort key)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for i, r in enumerate(rows):
        cells = []
        for j, v in enumerate(r):
            k = None if keys is None else keys[i][j]
            attr = "" if k is None or (isinstance(k, float) and not math.isfinite(k)) else f' data-v="{k}"'
            cells.append(f"<td{attr}>{html.escape(_fmt_cell(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="t sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def write_report(path, runs, title: str | None = None, *, out=None, metric: str | None = None, top: int = 10,
                 table_rows_max: int = 100, run_rows_max: int = 200) -> Path:
    """Write the sweep report (one HTML file, plotly.js embedded once) for a runs DataFrame; returns the path.

    ``top``: configurations drawn in the convergence figures (the best by the ranking metric);
    ``table_rows_max`` / ``run_rows_max``: rows of the configuration and run tables (the rest summarised).
    ``out``: the sweep's folder, to read the drawn runs' histories from their model files when ``runs``
    was loaded without them.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write the report to {str(path)!r}: folder {str(path.parent)!r} does not exist")
    title = title or "mlplab sweep"
    swept = runs.attrs.get("swept", [])
    metric = metric or runs.attrs.get("metric") or "auto"
    keys = group_keys(runs)
    summary = summarize(runs, metric, keys=keys)
    mname = summary.attrs.get("metric", "E")
    order = ranked(summary)
    counts = runs["status"].value_counts().to_dict()
    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="note">{len(runs)} runs: ' + ", ".join(f"{v} {k}" for k, v in counts.items())
             + f"; {len(summary)} configurations; swept: {html.escape(', '.join(swept) or '(nothing)')}; ranked by "
             f"{html.escape(mname)}.</p>"]
    parts += _ranked_section(summary, order, table_rows_max)
    parts += _verdict_sections(runs, summary, keys)
    parts += _figure_section(runs, summary, order, keys, metric, top, out)
    parts += _runs_section(runs, metric, run_rows_max)
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{''.join(parts)}<script>{SORT_JS}</script></body></html>")
    atomic_write(path, page.encode("utf-8"))
    return path


def _ranked_section(summary, order, table_rows_max: int) -> list[str]:
    """The ranked table of the top ``table_rows_max`` configurations; the rest in one line."""
    mname = summary.attrs.get("metric", "E")
    shown = order.head(table_rows_max)
    header, rows = table_rows(shown)
    header = ["rank", *[h or "best" for h in header]]
    rows = [[int(r["rank"]), *row] for (_, r), row in zip(shown.iterrows(), rows)]
    parts = ["<h2>Results by configuration, ranked</h2>", _sortable(header, rows),
             f'<p class="note">{html.escape(footnote(summary))}. Click a column to sort.</p>']
    if len(summary) > len(shown):
        rest = order.iloc[len(shown):]
        m = rest["metric_mean"].to_numpy(dtype=float)
        fin = m[np.isfinite(m)]
        parts.append(f'<p class="note">… and {len(rest)} more configurations: {int(rest["done"].sum())} runs done, '
                     f'{int(rest["diverged"].sum())} diverged, {int(rest["failed"].sum())} failed'
                     + (f"; mean {html.escape(mname)} from {fin.min():.4g} to {fin.max():.4g} (median "
                        f"{np.median(fin):.4g})" if len(fin) else "")
                     + " — all of them in the results database and `mlplab sweep DIR --show --json`.</p>")
    return parts


def _verdict_sections(runs, summary, keys) -> list[str]:
    """Which settings matter (η², when there are enough configurations) and the Robbins–Monro table."""
    mname = summary.attrs.get("metric", "E")
    parts = []
    imp = importance(summary)
    if imp:
        parts += ["<h2>Which settings matter</h2>",
                  '<p class="note">The share of the variance of the configurations\' mean ' + html.escape(mname)
                  + " (log scale for losses) that each swept key's values explain (η²; continuous draws in 10 "
                    "quantile bins), and the value with the best mean.</p>", _table(imp)]
    parts += ["<h2>Robbins–Monro verdict of each schedule</h2>",
              '<p class="note">SGD converges asymptotically when Σ_k γ_k = ∞ and Σ_k γ_k² &lt; ∞ '
              "(Robbins–Monro). A schedule that fails the first (Σγ_k &lt; ∞: step, exponential, power p &gt; 1) "
              "stalls — its steps add up to a finite distance; one that fails the second (a constant step) leaves "
              "SGD in a noise floor around a minimiser.</p>",
              _table(robbins_monro(runs, keys), cls="t rm")]
    return parts


def _drawn(runs, keys, order, top: int, out) -> list:
    """[(label, runs)] of the top-k configurations, their histories read from the model files where missing."""
    drawn = configurations(runs, keys, which=[int(i) for i in order.index[:top]])
    if drawn and "history" in runs and out is not None and any(
            h is None for _, g in drawn for h, st in zip(g["history"], g["status"]) if st == "done"):
        con = store.connect(out, create=False)
        try:
            hist = store.histories(con, out, [int(i) for _, g in drawn for i in g["id"]])
        finally:
            con.close()
        drawn = [(label, g.assign(history=[hist.get(int(i)) for i in g["id"]])) for label, g in drawn]
    return drawn


def _figure_section(runs, summary, order, keys, metric: str, top: int, out) -> list[str]:
    """Parallel axes (several keys swept), the convergence bands of the top-k, the metric against each value."""
    swept = runs.attrs.get("swept", [])
    n_cfg = len(summary)
    figs = []
    if len(swept) > 1 and n_cfg >= 3 and np.isfinite(summary["metric_mean"].to_numpy(dtype=float)).sum() >= 2:
        figs.append(("parallel", parallel(summary)))
    drawn = _drawn(runs, keys, order, top, out)
    figs += [("convergence-k", convergence_bands(runs, "k", drawn)),
             ("convergence-cost", convergence_bands(runs, "cost", drawn))]
    if (runs["status"] == "done").any():
        figs += [(f"final-{k}", final_vs(runs, k, metric)) for k in swept if k != "seed"]
    parts = ["<h2>Convergence and the metric against each swept value</h2>"]
    if n_cfg > len(drawn):
        parts.append(f'<p class="note">The convergence figures draw the {len(drawn)} best of {n_cfg} '
                     "configurations.</p>")
    for i, (name, fig) in enumerate(figs):
        div = fig.to_html(full_html=False, include_plotlyjs=i == 0, div_id=f"fig-{name}",
                          config={"displaylogo": False, "responsive": True})
        parts.append(f'<div class="plot" data-name="{name}">{div}</div>')
    return parts


def _runs_section(runs, metric: str, run_rows_max: int) -> list[str]:
    """The best ``run_rows_max`` runs (every run when fewer), in id order, folded."""
    swept = runs.attrs.get("swept", [])
    cols = ["id", *swept, "status", "final_loss", "grad_norm", "accuracy", "grad_equivalents", "n_iter", "seconds",
            "stop_reason", "attempts", "error", "model"]
    values, _, lower = metric_values(runs, metric)
    score = np.where(np.isfinite(values), values if lower else -values, np.inf)
    pick = np.argsort(score, kind="stable")[:run_rows_max]
    sub = runs.iloc[np.sort(pick)] if len(runs) > run_rows_max else runs
    table = [{("cost" if c == "grad_equivalents" else c): _fmt_cell(r[c]) for c in cols}
             for r in sub[cols].to_dict("records")]
    what = "every run" if len(sub) == len(runs) else f"the {len(sub)} best of {len(runs)} runs"
    return ["<h2>Runs</h2>", f"<details><summary>{what}</summary>",
            _sortable(list(table[0]) if table else [], [list(r.values()) for r in table]), "</details>"]
