"""The sweep report's figures (Plotly): convergence bands, the metric against each swept value, parallel axes.

Convergence bands: per configuration, the median of E(w^k) over its seeds as a line and their
range (min–max) as a band, against the iteration k and against the cost (sample-gradient
equivalents). Runs of one configuration record at the same k but may stop at different points
(and a line search's cost differs by seed), so each run is interpolated linearly onto the union
of their x values, inside its own range only; the band at x covers the runs that got there.
Plotly is imported inside the figure builders: it is needed only when a report is written.
"""

from __future__ import annotations

import warnings

import numpy as np

from mlplab.sweeps.results import configurations, is_numeric, metric_values
from mlplab.sweeps.spec import describe
from mlplab.train import FORWARD_PER_GRADIENT

COST_LABEL = "cost: sample-gradient equivalents (gradients + line-search forward passes / 3)"
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
MAX_POINTS = 400  # points per drawn curve: a band of 1000 records × 40 configurations stays light
MAX_SCATTER = 1000  # points drawn per "metric against a value" figure; beyond it the best runs, and bins of all


def _color(i: int) -> str:
    from plotly.colors import qualitative

    return qualitative.Plotly[i % len(qualitative.Plotly)]


def _layout(fig, title, **kw):
    fig.update_layout(title=title, template="plotly_white", margin=dict(l=60, r=20, t=60, b=50),
                      legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0), **kw)
    fig.update_xaxes(exponentformat="power")
    fig.update_yaxes(exponentformat="power")
    return fig


def _rgba(color: str, alpha: float) -> str:
    c = color.lstrip("#")
    r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _history_xy(history: dict | None, axis: str):
    """(x, E) of a stored history (None entries dropped); axis 'k' or 'cost' (gradient equivalents)."""
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
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return xs, np.nanmedian(Y, axis=0), np.nanmin(Y, axis=0), np.nanmax(Y, axis=0), n


def _thin(x, *ys):
    """x and each y at no more than MAX_POINTS evenly spaced indices (the first and the last kept)."""
    if len(x) <= MAX_POINTS:
        return (x, *ys)
    idx = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).round().astype(int))
    return (x[idx], *(y[idx] for y in ys))


def convergence_bands(runs, axis: str = "k", groups=None):
    """Plotly figure: per configuration the median of E over seeds (line) and its min–max range (band)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (label, g) in enumerate(groups if groups is not None else configurations(runs)):
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


def final_vs(runs, key: str, metric: str = "auto"):
    """Plotly figure: the ranking metric of every finished run against the values of one swept key
    (a numeric axis for numbers, log-scaled when they span more than 20×; categories otherwise).
    Beyond :data:`MAX_SCATTER` runs the best of them are drawn as points and every run enters the
    line (the median per value, or per one of 30 quantile bins of a continuous value) and its 10–90 % band."""
    import plotly.graph_objects as go

    values_all, name, lower = metric_values(runs, metric)
    keep = (runs["status"] == "done").to_numpy() & np.isfinite(values_all)
    raw_all = runs[key].tolist()
    y = values_all[keep]
    raw = [v for v, k in zip(raw_all, keep) if k]
    numeric = is_numeric([v for v in raw_all if v is not None])
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
        if is_numeric(vals):
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
