"""The sweep's HTML report: one self-contained file (plotly.js embedded once, opens offline).

Sections:

* the grouped results table (mean ± std over seeds; the best configuration marked);
* convergence bands — per configuration, the median of E(w^k) over its seeds as a
  line and their range (min–max) as a band, against the iteration k and against
  the cost (sample-gradient equivalents). Runs of one configuration record at
  the same k but may stop at different points (and a line search's cost differs
  by seed), so each run is interpolated linearly onto the union of their x
  values, inside its own range only; the band at x covers the runs that got there;
* the final E against each swept value (every run a point, the median a line);
* the Robbins–Monro verdict of each configuration's step-size schedule
  (Σγ_k = ∞ and Σγ_k² < ∞, :mod:`mlplab.optim.schedules`) with the lecture's
  statement for the method (:func:`mlplab.analysis.theory_rate`);
* every run: its settings, status, E, ‖∇E‖, accuracy, cost, time, stop reason, model file.
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


def _groups(runs):
    """[(label, [run rows])] of the configurations, in the summary's order."""
    from mlplab.sweeps.results import _group_key, _label

    swept = [k for k in runs.attrs.get("swept", []) if k != "seed"]
    keys = runs["params"].map(_group_key)
    out = []
    for key in dict.fromkeys(keys):
        g = runs[keys == key]
        out.append((_label({k: g.iloc[0][k] for k in swept}), g))
    return out


def _rgba(color: str, alpha: float) -> str:
    c = color.lstrip("#")
    r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def convergence_bands(runs, axis: str = "k"):
    """Plotly figure: per configuration the median of E over seeds (line) and its min–max range (band)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (label, g) in enumerate(_groups(runs)):
        curves = [_history_xy(h, axis) for h in g["history"]]
        x, med, lo, hi, n = band(curves)
        if not len(x):
            continue
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


def final_vs(runs, key: str):
    """Plotly figure: the final E of every finished run against the values of one swept key."""
    import plotly.graph_objects as go

    from mlplab.sweeps.spec import describe

    done = runs[runs["status"] == "done"]
    values = list(dict.fromkeys(describe({key: v}).split("=", 1)[1] for v in runs[key]))
    xs = [describe({key: v}).split("=", 1)[1] for v in done[key]]
    others = [k for k in runs.attrs.get("swept", []) if k != key]
    text = [describe({k: r[k] for k in others}) for _, r in done.iterrows()]
    fig = go.Figure([go.Scatter(x=xs, y=done["final_loss"], mode="markers", name="runs", text=text,
                                marker=dict(size=9, opacity=0.7),
                                hovertemplate=f"{key}=%{{x}}<br>E=%{{y:.4g}}<br>%{{text}}")])
    med = [float(np.median(done["final_loss"][[x == v for x in xs]])) if v in xs else None for v in values]
    fig.add_trace(go.Scatter(x=values, y=med, mode="lines+markers", name="median", line=dict(color="black"),
                             marker=dict(symbol="diamond", size=10)))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=values)
    return _layout(fig, f"Final E(w) against {key}", xaxis_title=key, yaxis_title="final E(w)", yaxis_type="log",
                   height=450)


def robbins_monro(runs) -> list[dict]:
    """Per configuration: its method, γ_k, Σγ_k = ∞?, Σγ_k² < ∞?, Robbins–Monro, and the lecture's statement."""
    from mlplab.analysis import theory_rate
    from mlplab.cli.common import build_optimizer, describe_optimizer

    def yn(v):
        return "—" if v is None else "yes" if v else "no"

    rows = []
    for label, g in _groups(runs):
        cfg = json.loads(g.iloc[0]["params"])
        opt = build_optimizer(cfg)
        sched = getattr(opt, "schedule", None) or getattr(getattr(opt, "base", None), "schedule", None)
        if sched is None:  # GD: a line search or a constant step, no schedule
            verdict = ("not a stochastic method: Robbins–Monro does not apply (the step comes from the line search)"
                       if cfg.get("line_search") != "none" else
                       "not a stochastic method: Robbins–Monro does not apply (constant step α)")
            rows.append({"configuration": label, "method": describe_optimizer(cfg), "Σγ_k = ∞": "—",
                         "Σγ_k² < ∞": "—", "Robbins–Monro": "n/a", "verdict": verdict + "; " + theory_rate(opt)})
            continue
        rm = sched.robbins_monro
        rows.append({"configuration": label, "method": describe_optimizer(cfg), "Σγ_k = ∞": yn(sched.sum_diverges),
                     "Σγ_k² < ∞": yn(sched.sum_squares_converges), "Robbins–Monro": yn(rm),
                     "verdict": theory_rate(opt)})
    return rows


def _fmt_cell(v):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return ",".join(map(str, v))
    return str(v)


def write_report(path, runs, title: str | None = None) -> Path:
    """Write the sweep report (one HTML file, plotly.js embedded) for a runs DataFrame; returns the path."""
    from mlplab.io import atomic_write
    from mlplab.sweeps.results import FOOTNOTE, summarize, table_rows

    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write the report to {str(path)!r}: folder {str(path.parent)!r} does not exist")
    title = title or "mlplab sweep"
    swept = runs.attrs.get("swept", [])
    summary = summarize(runs)
    header, rows = table_rows(summary)
    counts = runs["status"].value_counts().to_dict()
    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="note">{len(runs)} runs: ' + ", ".join(f"{v} {k}" for k, v in counts.items())
             + f"; swept: {html.escape(', '.join(swept) or '(nothing)')}.</p>",
             "<h2>Results by configuration</h2>",
             _table([dict(zip([h or "best" for h in header], r)) for r in rows]),
             f'<p class="note">{html.escape(FOOTNOTE)}.</p>',
             "<h2>Robbins–Monro verdict of each schedule</h2>",
             '<p class="note">SGD converges asymptotically when Σ_k γ_k = ∞ and Σ_k γ_k² &lt; ∞ '
             "(Robbins–Monro); a schedule that fails it leaves SGD in a noise floor around a minimiser.</p>",
             _table(robbins_monro(runs), cls="t rm")]
    figs = [("convergence-k", convergence_bands(runs, "k")), ("convergence-cost", convergence_bands(runs, "cost"))]
    figs += [(f"final-{k}", final_vs(runs, k)) for k in swept if k != "seed" and (runs["status"] == "done").any()]
    parts.append("<h2>Convergence and final E</h2>")
    for i, (name, fig) in enumerate(figs):
        div = fig.to_html(full_html=False, include_plotlyjs=i == 0, div_id=f"fig-{name}",
                          config={"displaylogo": False, "responsive": True})
        parts.append(f'<div class="plot" data-name="{name}">{div}</div>')
    cols = ["id", *swept, "status", "final_loss", "grad_norm", "accuracy", "grad_equivalents", "n_iter", "seconds",
            "stop_reason", "attempts", "error", "model"]
    table = [{("cost" if c == "grad_equivalents" else c): _fmt_cell(r[c]) for c in cols}
             for r in runs.to_dict("records")]
    parts += ["<h2>Runs</h2>", "<details><summary>every run</summary>", _table(table), "</details>"]
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    atomic_write(path, page.encode("utf-8"))
    return path
