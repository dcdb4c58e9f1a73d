"""The sweep's HTML report: one self-contained file (plotly.js embedded once, opens offline).

Sections (sized for sweeps of any size: the top-k configurations are drawn, the rest summarised;
10,000 runs give a page of a few MB that a browser opens in seconds):

* the ranked results table (mean ± std over seeds; the best configuration marked; sortable by any
  column), the top ``table_rows`` configurations, the rest summarised in one line;
* parameter importance (the share of the ranking metric's variance over configurations that each
  swept key's values explain) and a parallel-coordinates plot of the configurations;
* convergence bands of the top-k configurations — per configuration, the median of E(w^k) over its seeds as a
  line and their range (min–max) as a band, against the iteration k and against
  the cost (sample-gradient equivalents). Runs of one configuration record at
  the same k but may stop at different points (and a line search's cost differs
  by seed), so each run is interpolated linearly onto the union of their x
  values, inside its own range only; the band at x covers the runs that got there;
* the ranking metric against each swept value (every run a point, the median a line; numbers on a
  numeric axis, logarithmic when they span more than a factor of 20);
* the Robbins–Monro verdict of each distinct method and step-size schedule
  (Σγ_k = ∞ and Σγ_k² < ∞, :mod:`mlplab.optim.schedules`) with the lecture's
  statement for the method (:func:`mlplab.analysis.theory_rate`): a schedule whose sum
  converges fails by stalling, one whose squares' sum diverges by a noise floor;
* the best runs: settings, status, E, ‖∇E‖, accuracy, cost, time, stop reason, model file.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

COST_LABEL = "cost: sample-gradient equivalents (gradients + line-search forward passes / 3)"
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
CSS = """body{font-family:system-ui,sans-serif;margin:0 auto 2em;max-width:1250px;color:#222;padding:0 1em}
table.t{border-collapse:collapse;font-size:13px;margin:.5em 0}table.t td,table.t th{border:1px solid #ccc;padding:3px 7px;
text-align:left}table.t th{background:#f3f3f3}.note{color:#555;font-size:14px}.plot{margin:1.5em 0;border-top:1px solid #eee}
details{margin:.5em 0}"""


def _color(i: int) -> str:
    from plotly.colors import qualitative

    return qualitative.Plotly[i % len(qualitative.Plotly)]


def _layout(fig, title, **kw):
    fig.update_layout(title=title, template="plotly_white", margin=dict(l=60, r=20, t=60, b=50),
                      legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0), **kw)
    fig.update_xaxes(exponentformat="power")
    fig.update_yaxes(exponentformat="power")
    return fig


def _table(rows: list[dict], cls: str = "t") -> str:
    if not rows:
        return "<p>(empty)</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt_cell(v))}</td>" for v in r.values()) + "</tr>"
                   for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _history_xy(history: dict | None, axis: str):
    """(x, E) of a stored history (None entries dropped); axis 'k' or 'cost' (gradient equivalents)."""
    from mlplab.train import FORWARD_PER_GRADIENT

    if not history or not history.get("loss"):
        return np.array([]), np.array([])
    E = np.array([np.nan if v is None else v for v in history["loss"]], dtype=float)
    if axis == "k":
        x = np.asarray(history["k"], dtype=float)
    else:
        fwd = history.get("forward_evals") or [0] * len(E)
        x = np.asarray(history["cost"], dtype=float) + np.asarray(fwd, dtype=float) / FORWARD_PER_GRADIENT
    keep = np.isfinite(E) & np.isfinite(x)
    return x[keep], E[keep]


def band(curves: list[tuple[np.ndarray, np.ndarray]]):
    """(x, median, min, max, count) over curves (x_i increasing), each interpolated inside its own x range."""
    curves = [(x, y) for x, y in curves if len(x)]
    if not curves:
        return (np.array([]),) * 5
    xs = np.unique(np.concatenate([x for x, _ in curves]))
    Y = np.full((len(curves), len(xs)), np.nan)
    for i, (x, y) in enumerate(curves):
        inside = (xs >= x[0]) & (xs <= x[-1])
        Y[i, inside] = np.interp(xs[inside], x, y)
    n = np.sum(np.isfinite(Y), axis=0)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return xs, np.nanmedian(Y, axis=0), np.nanmin(Y, axis=0), np.nanmax(Y, axis=0), n


def _groups(runs, keys=None, which=None):
    """[(label, runs of the configuration)] in the summary's order (``which``: only these configurations,
    by position in that order); linear in the runs, a DataFrame made only for the configurations asked for."""
    from mlplab.sweeps.results import _label, group_keys, group_positions

    swept = [k for k in runs.attrs.get("swept", []) if k != "seed"]
    keys = group_keys(runs) if keys is None else keys
    pos = group_positions(keys)
    values_of = {k: runs[k].tolist() for k in swept}
    out = []
    for i in (range(len(pos)) if which is None else which):
        g = runs.iloc[pos[i]]
        out.append((_label({k: values_of[k][pos[i][0]] for k in swept}), g))
    return out


def _first_params(runs, keys) -> list[dict]:
    """The settings of each configuration's first run, in the summary's order."""
    from mlplab.sweeps.results import group_positions

    params = runs["params"].tolist()
    return [json.loads(params[p[0]]) for p in group_positions(keys)]


def _rgba(color: str, alpha: float) -> str:
    c = color.lstrip("#")
    r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def convergence_bands(runs, axis: str = "k", groups=None):
    """Plotly figure: per configuration the median of E over seeds (line) and its min–max range (band)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (label, g) in enumerate(groups if groups is not None else _groups(runs)):
        curves = [_history_xy(h, axis) for h in g["history"]]
        x, med, lo, hi, n = band(curves)
        if not len(x):
            continue
        x, med, lo, hi, n = _thin(x, med, lo, hi, n)
        color = _color(i)
        fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
                                 fillcolor=_rgba(color, 0.18), line=dict(width=0), hoverinfo="skip",
                                 legendgroup=label, showlegend=False, name=f"{label} (min–max)"))
        fig.add_trace(go.Scatter(x=x, y=med, mode="lines", name=f"{label} ({len(g)} seeds)" if len(g) > 1 else label,
                                 legendgroup=label, line=dict(color=color, dash=DASHES[i // 10 % len(DASHES)]),
                                 customdata=n, hovertemplate="x=%{x}<br>median E=%{y:.4g}<br>runs=%{customdata}"))
    xlabel = "iteration k" if axis == "k" else COST_LABEL
    # SGD takes S steps per epoch where GD takes one: a log axis shows both (x = 0 drops out there)
    fig.update_layout(updatemenus=[dict(type="buttons", direction="right", x=1, xanchor="right", y=1.12,
                                        buttons=[dict(label="x linear", method="relayout", args=[{"xaxis.type": "linear"}]),
                                                 dict(label="x log", method="relayout", args=[{"xaxis.type": "log"}])])])
    return _layout(fig, f"E(w) against {'the iteration k' if axis == 'k' else 'the cost'}: median over seeds, "
                        "band = min–max", xaxis_title=xlabel, yaxis_title="E(w)", yaxis_type="log", height=520)


MAX_POINTS = 400  # points per drawn curve: a band of 1000 records × 40 configurations stays light


def _thin(x, *ys):
    if len(x) <= MAX_POINTS:
        return (x, *ys)
    idx = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).round().astype(int))
    return (x[idx], *(y[idx] for y in ys))


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
               for v in values)


MAX_SCATTER = 1000  # points drawn per "metric against a value" figure; beyond it the best runs, and bins of all


def final_vs(runs, key: str, metric: str = "auto"):
    """Plotly figure: the ranking metric of every finished run against the values of one swept key
    (a numeric axis for numbers, log-scaled when they span more than 20×; categories otherwise).
    Beyond :data:`MAX_SCATTER` runs the best of them are drawn as points and every run enters the
    line (the median per value, or per one of 30 quantile bins of a continuous value) and its 10–90 % band."""
    import plotly.graph_objects as go

    from mlplab.sweeps.results import metric_values
    from mlplab.sweeps.spec import describe

    values_all, name, lower = metric_values(runs, metric)
    keep = (runs["status"] == "done").to_numpy() & np.isfinite(values_all)
    raw_all = runs[key].tolist()
    y = values_all[keep]
    raw = [v for v, k in zip(raw_all, keep) if k]
    numeric = _numeric([v for v in raw_all if v is not None])
    many = len(y) > MAX_SCATTER
    if many:  # the best runs as points
        best = np.argsort(y if lower else -y, kind="stable")[:MAX_SCATTER]
    else:
        best = np.arange(len(y))
    fig = go.Figure()
    point_name = f"the {len(best)} best runs" if many else "runs"
    if numeric:
        xs = np.asarray(raw, dtype=float)
        fig.add_trace(go.Scatter(x=xs[best], y=y[best], mode="markers", name=point_name,
                                 marker=dict(size=7, opacity=0.6),
                                 hovertemplate=f"{key}=%{{x}}<br>{name}=%{{y:.4g}}<extra></extra>"))
        uniq = np.unique(xs)
        if len(uniq) <= 50:  # a grid: the median at each value
            centers = uniq
            groups = [y[xs == u] for u in uniq]
        else:  # continuous draws: 30 quantile bins
            edges = np.unique(np.quantile(xs, np.linspace(0, 1, 31)))
            idx = np.clip(np.searchsorted(edges, xs, side="right") - 1, 0, len(edges) - 2)
            groups = [y[idx == i] for i in range(len(edges) - 1)]
            centers = np.array([float(np.median(xs[idx == i])) if (idx == i).any() else np.nan
                                for i in range(len(edges) - 1)])
        ok = [i for i, g in enumerate(groups) if len(g)]
        cx = np.asarray(centers, dtype=float)[ok]
        med = [float(np.median(groups[i])) for i in ok]
        if len(uniq) > 50 or many:
            lo = [float(np.quantile(groups[i], 0.1)) for i in ok]
            hi = [float(np.quantile(groups[i], 0.9)) for i in ok]
            fig.add_trace(go.Scatter(x=np.concatenate([cx, cx[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                                     fill="toself", fillcolor="rgba(0,0,0,0.08)", line=dict(width=0),
                                     hoverinfo="skip", name=f"10–90 % of all {len(y)} runs"))
        fig.add_trace(go.Scatter(x=cx, y=med, mode="lines+markers", name=f"median of all {len(y)} runs",
                                 line=dict(color="black"), marker=dict(symbol="diamond", size=8)))
        pos = xs[np.isfinite(xs)]
        if len(pos) and pos.min() > 0 and pos.max() / pos.min() > 20:
            fig.update_xaxes(type="log")
    else:
        labels = np.array([describe({key: v}).split("=", 1)[1] for v in raw], dtype=object)
        order = list(dict.fromkeys(describe({key: v}).split("=", 1)[1] for v in raw_all))
        fig.add_trace(go.Scatter(x=labels[best], y=y[best], mode="markers", name=point_name,
                                 marker=dict(size=7, opacity=0.6),
                                 hovertemplate=f"{key}=%{{x}}<br>{name}=%{{y:.4g}}<extra></extra>"))
        med = [float(np.median(y[labels == v])) if (labels == v).any() else None for v in order]
        fig.add_trace(go.Scatter(x=order, y=med, mode="lines+markers", name=f"median of all {len(y)} runs",
                                 line=dict(color="black"), marker=dict(symbol="diamond", size=10)))
        fig.update_xaxes(type="category", categoryorder="array", categoryarray=order)
    ylog = len(y) and np.nanmin(y) > 0
    return _layout(fig, f"{name} against {key}", xaxis_title=key, yaxis_title=name,
                   yaxis_type="log" if ylog else "linear", height=450)


def importance(summary) -> list[dict]:
    """Per swept key (the seed aside): the share of the ranking metric's variance over the configurations
    that the key's values explain (between-value variance / total; η², 0..1), and its best value.
    The metric is taken on a log scale when positive (losses span decades)."""
    swept = [k for k in summary.attrs.get("swept", []) if k != "seed"]
    m = summary["metric_mean"].to_numpy(dtype=float) if "metric_mean" in summary else np.array([])
    ok = np.isfinite(m)
    if ok.sum() < 3:
        return []
    v = np.log(m[ok]) if (m[ok] > 0).all() else m[ok]
    total = float(np.var(v))
    lower = summary.attrs.get("lower", True)
    out = []
    for k in swept:
        labels = [json.dumps(x, sort_keys=True, default=str) for x in summary.loc[ok, k]]
        groups = {}
        for lab, val in zip(labels, v):
            groups.setdefault(lab, []).append(val)
        if len(groups) < 2:
            continue
        if len(groups) > 20 and _numeric(summary.loc[ok, k].tolist()):  # continuous draws: 10 quantile bins
            xs = np.asarray(summary.loc[ok, k].tolist(), dtype=float)
            edges = np.unique(np.quantile(xs, np.linspace(0, 1, 11)))
            bins = np.clip(np.searchsorted(edges, xs, side="right") - 1, 0, len(edges) - 2)
            groups = {}
            for b, val in zip(bins, v):
                groups.setdefault(f"[{edges[b]:.3g}, {edges[b + 1]:.3g}]", []).append(val)
        means = {g: float(np.mean(x)) for g, x in groups.items()}
        between = sum(len(groups[g]) * (means[g] - float(np.mean(v))) ** 2 for g in groups) / len(v)
        share = between / total if total > 0 else 0.0
        best = (min if lower else max)(means, key=means.get)
        out.append({"parameter": k, "share of variance (η²)": round(share, 3), "best value (mean)": best})
    out.sort(key=lambda r: -r["share of variance (η²)"])
    return out


def parallel(summary, limit: int = 500):
    """Plotly parallel-coordinates figure: one line per configuration (the best ``limit``), one axis per
    swept key and one for the ranking metric (colour)."""
    import plotly.graph_objects as go

    swept = [k for k in summary.attrs.get("swept", []) if k != "seed"]
    metric = summary.attrs.get("metric", "E")
    s = summary[np.isfinite(summary["metric_mean"].to_numpy(dtype=float))]
    s = s.sort_values("rank").head(limit)
    dims = []
    for k in swept:
        vals = s[k].tolist()
        if _numeric(vals):
            x = np.asarray(vals, dtype=float)
            if (x > 0).all() and x.max() / x.min() > 20:
                dims.append(dict(label=f"log10 {k}", values=np.log10(x)))
            else:
                dims.append(dict(label=k, values=x))
        else:
            labels = [",".join(map(str, v)) if isinstance(v, list) else str(v) for v in vals]
            cats = list(dict.fromkeys(labels))
            dims.append(dict(label=k, values=[cats.index(v) for v in labels], tickvals=list(range(len(cats))),
                             ticktext=cats))
    m = s["metric_mean"].to_numpy(dtype=float)
    dims.append(dict(label=metric, values=m))
    fig = go.Figure(go.Parcoords(line=dict(color=m, colorscale="Viridis", showscale=True,
                                           reversescale=not summary.attrs.get("lower", True)), dimensions=dims))
    return _layout(fig, f"Configurations ({len(s)} best) on parallel axes; colour: mean {metric}", height=480)


VERDICT_FAIL = "γ_k does not satisfy Robbins–Monro: no convergence guarantee (noise floor)"


def _failure(sched) -> str:
    """How a schedule fails Robbins–Monro: by stalling (Σγ_k < ∞) and/or by a noise floor (Σγ_k² = ∞)."""
    parts = []
    if sched.sum_diverges is False:
        parts.append("stalls: Σγ_k < ∞, so the steps add up to a finite distance and SGD can stop short of "
                     "a minimiser")
    if sched.sum_squares_converges is False:
        parts.append("noise floor: Σγ_k² = ∞, so the gradient noise never averages out and E(w^k) keeps "
                     "fluctuating around a minimiser")
    return "γ_k does not satisfy Robbins–Monro, no convergence guarantee — it " + " and ".join(parts) \
        if parts else "γ_k does not satisfy Robbins–Monro: no convergence guarantee"


def _verdict(text: str, sched) -> str:
    """The lecture's statement with the way a failing schedule fails (the statement says "noise floor" for all)."""
    if sched.robbins_monro is not False:
        return text
    if VERDICT_FAIL in text:
        return text.replace(VERDICT_FAIL, _failure(sched))
    return text.replace(" (noise floor)", "") + "; " + _failure(sched)


def robbins_monro(runs, keys=None) -> list[dict]:
    """Per distinct method and schedule form (the optimizer, its schedule, line search and power; the
    constants aside, they do not change the verdict): how many configurations use it, γ_k of the first,
    Σγ_k = ∞?, Σγ_k² < ∞?, Robbins–Monro, and the lecture's statement (a failing schedule stalls or
    leaves a noise floor)."""
    from mlplab.analysis import theory_rate
    from mlplab.cli.common import build_optimizer, describe_optimizer
    from mlplab.sweeps.results import group_keys

    def yn(v):
        return "—" if v is None else "yes" if v else "no"

    seen: dict = {}
    for cfg in _first_params(runs, group_keys(runs) if keys is None else keys):
        form = tuple(cfg.get(k) for k in ("optimizer", "schedule", "line_search", "power", "nesterov", "average"))
        if form in seen:
            seen[form]["configurations"] += 1
            continue
        method = describe_optimizer(cfg)
        opt = build_optimizer(cfg)
        sched = getattr(opt, "schedule", None) or getattr(getattr(opt, "base", None), "schedule", None)
        if sched is None:  # GD: a line search or a constant step, no schedule
            verdict = ("not a stochastic method: Robbins–Monro does not apply (the step comes from the line search)"
                       if cfg.get("line_search") != "none" else
                       "not a stochastic method: Robbins–Monro does not apply (constant step α)")
            seen[form] = {"method": method, "configurations": 1, "Σγ_k = ∞": "—", "Σγ_k² < ∞": "—",
                          "Robbins–Monro": "n/a", "verdict": verdict + "; " + theory_rate(opt)}
            continue
        rm = sched.robbins_monro
        seen[form] = {"method": method, "configurations": 1, "Σγ_k = ∞": yn(sched.sum_diverges),
                      "Σγ_k² < ∞": yn(sched.sum_squares_converges), "Robbins–Monro": yn(rm),
                      "verdict": _verdict(theory_rate(opt), sched)}
    rows = list(seen.values())
    for r in rows:
        if r["configurations"] > 1:
            r["method"] += f" (first of {r['configurations']}; the constants differ)"
    return rows


def _fmt_cell(v):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return ",".join(map(str, v))
    return str(v)


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
    from mlplab.io import atomic_write
    from mlplab.sweeps.results import footnote, group_keys, metric_values, ranked, summarize, table_rows

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
    n_cfg = len(summary)
    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="note">{len(runs)} runs: ' + ", ".join(f"{v} {k}" for k, v in counts.items())
             + f"; {n_cfg} configurations; swept: {html.escape(', '.join(swept) or '(nothing)')}; ranked by "
             f"{html.escape(mname)}.</p>"]
    # the ranked table, top rows; the rest in one line
    shown = order.head(table_rows_max)
    header, rows = table_rows(shown)
    header = ["rank", *[h or "best" for h in header]]
    rows = [[int(r["rank"]), *row] for (_, r), row in zip(shown.iterrows(), rows)]
    parts += ["<h2>Results by configuration, ranked</h2>", _sortable(header, rows),
              f'<p class="note">{html.escape(footnote(summary))}. Click a column to sort.</p>']
    if n_cfg > len(shown):
        rest = order.iloc[len(shown):]
        m = rest["metric_mean"].to_numpy(dtype=float)
        fin = m[np.isfinite(m)]
        parts.append(f'<p class="note">… and {len(rest)} more configurations: {int(rest["done"].sum())} runs done, '
                     f'{int(rest["diverged"].sum())} diverged, {int(rest["failed"].sum())} failed'
                     + (f"; mean {html.escape(mname)} from {fin.min():.4g} to {fin.max():.4g} (median "
                        f"{np.median(fin):.4g})" if len(fin) else "")
                     + " — all of them in the results database and `mlplab sweep DIR --show --json`.</p>")
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
    figs = []
    if len(swept) > 1 and n_cfg >= 3 and np.isfinite(summary["metric_mean"].to_numpy(dtype=float)).sum() >= 2:
        figs.append(("parallel", parallel(summary)))
    # convergence: the top-k configurations only, their histories read where needed
    drawn = _groups(runs, keys, which=[int(i) for i in order.index[:top]])
    if drawn and "history" in runs and out is not None and any(
            h is None for _, g in drawn for h, st in zip(g["history"], g["status"]) if st == "done"):
        from mlplab.sweeps import store

        con = store.connect(out, create=False)
        try:
            hist = store.histories(con, out, [int(i) for _, g in drawn for i in g["id"]])
        finally:
            con.close()
        drawn = [(label, g.assign(history=[hist.get(int(i)) for i in g["id"]])) for label, g in drawn]
    figs += [("convergence-k", convergence_bands(runs, "k", drawn)),
             ("convergence-cost", convergence_bands(runs, "cost", drawn))]
    if (runs["status"] == "done").any():
        figs += [(f"final-{k}", final_vs(runs, k, metric)) for k in swept if k != "seed"]
    parts.append("<h2>Convergence and the metric against each swept value</h2>")
    if n_cfg > len(drawn):
        parts.append(f'<p class="note">The convergence figures draw the {len(drawn)} best of {n_cfg} '
                     "configurations.</p>")
    for i, (name, fig) in enumerate(figs):
        div = fig.to_html(full_html=False, include_plotlyjs=i == 0, div_id=f"fig-{name}",
                          config={"displaylogo": False, "responsive": True})
        parts.append(f'<div class="plot" data-name="{name}">{div}</div>')
    cols = ["id", *swept, "status", "final_loss", "grad_norm", "accuracy", "grad_equivalents", "n_iter", "seconds",
            "stop_reason", "attempts", "error", "model"]
    values, _, lower = metric_values(runs, metric)
    score = np.where(np.isfinite(values), values if lower else -values, np.inf)
    pick = np.argsort(score, kind="stable")[:run_rows_max]
    sub = runs.iloc[np.sort(pick)] if len(runs) > run_rows_max else runs
    table = [{("cost" if c == "grad_equivalents" else c): _fmt_cell(r[c]) for c in cols}
             for r in sub[cols].to_dict("records")]
    what = "every run" if len(sub) == len(runs) else f"the {len(sub)} best of {len(runs)} runs"
    parts += ["<h2>Runs</h2>", f"<details><summary>{what}</summary>",
              _sortable(list(table[0]) if table else [], [list(r.values()) for r in table]), "</details>"]
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{''.join(parts)}<script>{SORT_JS}</script></body></html>")
    atomic_write(path, page.encode("utf-8"))
    return path
