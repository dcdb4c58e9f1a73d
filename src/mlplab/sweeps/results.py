"""The sweep's results as tables: one row per run, and grouped by everything but the seed.

The grouped table gives, over the seeds of each configuration, the mean and
the sample standard deviation (ddof = 1; blank for a single seed) of E(w),
‖∇E(w)‖, the accuracy, the cost (sample-gradient equivalents: gradients +
line-search forward passes / 3, the figures' cost axis) and the training time,
computed over the runs that finished (``done``). Configurations are ranked
(:func:`summarize`) by a metric — by default the validation mean loss, else the
test mean loss, else the training E — with diverged and failed seeds counted
against a configuration; the best is marked.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from mlplab.sweeps.spec import METRICS, check_metric, describe
from mlplab.train import FORWARD_PER_GRADIENT

RUN_COLUMNS = ("status", "final_loss", "grad_norm", "accuracy", "cost", "forward_evals", "grad_equivalents",
               "n_iter", "stop_reason", "seconds", "attempts", "error", "model", "params", "history")
SPLIT_COLUMNS = ("train_loss", "validation_loss", "test_loss", "train_accuracy", "validation_accuracy",
                 "test_accuracy")
STATS = (("final_loss", "E"), ("grad_norm", "grad_norm"), ("accuracy", "accuracy"),
         ("grad_equivalents", "cost"), ("seconds", "seconds"))


def _swept_from(rows) -> list[str]:
    keys = []
    for r in rows:
        for k in r["combo"] or {}:
            if k not in keys:
                keys.append(k)
    return keys


def _split_values(metrics) -> list:
    """(train/validation/test mean loss, then accuracy) of a run's metrics JSON; None where absent."""
    m = metrics or {}
    return [*((m.get(s) or {}).get("mean_loss") for s in ("train", "validation", "test")),
            *((m.get(s) or {}).get("accuracy") for s in ("train", "validation", "test"))]


def runs_frame(rows: list[dict], swept: list[str] | None = None) -> pd.DataFrame:
    """One row per run: id, the swept values, then RUN_COLUMNS (params as canonical JSON), then the split
    metrics (train/validation/test mean loss and accuracy)."""
    swept = [k for k in (swept or []) if any(k in (r["combo"] or {}) for r in rows)] or _swept_from(rows)
    records = []
    for r in rows:
        rec = {"id": r["id"]}
        rec.update({k: (r["combo"] or {}).get(k) for k in swept})
        fwd = r.get("forward_evals") or 0
        params = r["params"]
        rec.update(status=r["status"], final_loss=r["final_loss"], grad_norm=r["grad_norm"], accuracy=r["accuracy"],
                   cost=r["cost"], forward_evals=r["forward_evals"],
                   grad_equivalents=None if r["cost"] is None else r["cost"] + fwd / FORWARD_PER_GRADIENT,
                   n_iter=r["n_iter"], stop_reason=r["stop_reason"], seconds=r["seconds"], attempts=r["attempts"],
                   error=r["error"], model=r["model"],
                   params=params if isinstance(params, str) else json.dumps(params, sort_keys=True,
                                                                             separators=(",", ":")),
                   history=r.get("history"))
        rec.update(zip(SPLIT_COLUMNS, _split_values(r.get("metrics"))))
        records.append(rec)
    df = pd.DataFrame.from_records(records, columns=["id", *swept, *RUN_COLUMNS, *SPLIT_COLUMNS])
    for c in ("final_loss", "grad_norm", "accuracy", "grad_equivalents", "seconds", *SPLIT_COLUMNS):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df.attrs["swept"] = list(swept)
    return df


def metric_values(runs: pd.DataFrame, metric: str = "auto") -> tuple[np.ndarray, str, bool]:
    """(values per run, the metric's name as shown, lower is better) of a ranking metric
    (:data:`mlplab.sweeps.spec.METRICS`); NaN where a run has no value (not done, no such split)."""
    check_metric(metric)
    lower = METRICS[metric][1]
    col = {"E": "final_loss", "cost": "grad_equivalents"}.get(metric, metric)
    if metric == "auto":
        for name in ("validation_loss", "test_loss"):
            if name in runs and np.isfinite(runs[name].to_numpy(dtype=float)).any():
                return runs[name].to_numpy(dtype=float), name, True
        return runs["final_loss"].to_numpy(dtype=float), "E", True
    if col not in runs:
        return np.full(len(runs), np.nan), metric, lower
    return runs[col].to_numpy(dtype=float), metric, lower


def _group_key(params_json: str) -> str:
    p = json.loads(params_json)
    p.pop("seed", None)
    return json.dumps(p, sort_keys=True, separators=(",", ":"))


def group_keys(runs: pd.DataFrame) -> pd.Series:
    """The configuration of each run: its settings but the seed (canonical JSON)."""
    return runs["params"].map(_group_key)


def _label(values: dict) -> str:
    return describe(values) or "(all runs)"


def group_positions(keys) -> list[np.ndarray]:
    """The row positions of each configuration, configurations in the order of first appearance (linear)."""
    codes, _ = pd.factorize(np.asarray(keys, dtype=object), sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, bounds) if len(order) else []


def configurations(runs: pd.DataFrame, keys=None, which=None) -> list[tuple[str, pd.DataFrame]]:
    """[(label, runs of the configuration)] in the summary's order (``which``: only these configurations,
    by position in that order); linear in the runs, a DataFrame made only for the configurations asked for."""
    swept = [k for k in runs.attrs.get("swept", []) if k != "seed"]
    keys = group_keys(runs) if keys is None else keys
    pos = group_positions(keys)
    values_of = {k: runs[k].tolist() for k in swept}
    out = []
    for i in (range(len(pos)) if which is None else which):
        g = runs.iloc[pos[i]]
        out.append((_label({k: values_of[k][pos[i][0]] for k in swept}), g))
    return out


def first_params(runs: pd.DataFrame, keys) -> list[dict]:
    """The settings of each configuration's first run, in the summary's order."""
    params = runs["params"].tolist()
    return [json.loads(params[p[0]]) for p in group_positions(keys)]


def is_numeric(values) -> bool:
    """Every value a number (bools aside): drawn on a numeric axis, binned by quantiles."""
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
               for v in values)


def summarize(runs: pd.DataFrame, metric: str = "auto", keys=None) -> pd.DataFrame:
    """One row per configuration (all settings but the seed), ranked: rank 1 is the best.

    Columns: config (a label of its swept values), the swept values but the seed,
    runs, done, diverged, failed, then ``<name>_mean`` and ``<name>_std`` (over the
    runs done) for E, grad_norm, accuracy, cost, seconds and the ranking metric
    (``metric_mean``; ``df.attrs["metric"]`` names it), rank, and best.

    The ranking is divergence-aware: a configuration whose seeds diverged or failed
    ranks after every configuration whose runs all finished (by the fraction that did
    not), then by the metric's mean over the runs done (lower first, or higher for an
    accuracy); with successive halving, a configuration trained on a larger budget
    ranks first. Linear in the number of runs (one groupby).
    """
    swept = [k for k in runs.attrs.get("swept", []) if k != "seed"]
    budget = runs.attrs.get("budget")
    values, name, lower = metric_values(runs, metric)
    if not len(runs):
        df = pd.DataFrame(columns=["config", *swept, "runs", "done", "diverged", "failed"])
        df.attrs.update(swept=swept, metric=name, lower=lower)
        return df
    keys = group_keys(runs) if keys is None else keys
    status = runs["status"].to_numpy()
    done = status == "done"
    frame = pd.DataFrame({"key": np.asarray(keys, dtype=object), "done": done, "diverged": status == "diverged",
                          "failed": status == "failed", "metric": np.where(done, values, np.nan)})
    for col, stat in STATS:
        frame[stat] = np.where(done, runs[col].to_numpy(dtype=float), np.nan)
    g = frame.groupby("key", sort=False)
    first = g.head(1).index.to_numpy()  # positions (frame has a RangeIndex): each configuration's first run
    values_of = {k: runs[k].tolist() for k in swept}  # plain lists: .at per cell costs a copy of attrs
    out = pd.DataFrame({"config": [_label({k: values_of[k][i] for k in swept}) for i in first]})
    for k in swept:
        out[k] = pd.Series([values_of[k][i] for i in first], dtype=object)
    out["runs"] = g.size().to_numpy()
    for c in ("done", "diverged", "failed"):
        out[c] = g[c].sum().to_numpy().astype(int)
    for stat in [s for _, s in STATS] + ["metric"]:
        col = frame[stat].where(np.isfinite(frame[stat]))
        frame[stat] = col
        gg = frame.groupby("key", sort=False)[stat]
        out[f"{stat}_mean"] = gg.mean().to_numpy()
        out[f"{stat}_std"] = gg.std(ddof=1).to_numpy()
    bad = (out["diverged"] + out["failed"]) / out["runs"]
    score = out["metric_mean"].to_numpy(dtype=float) * (1 if lower else -1)
    score = np.where(np.isfinite(score), score, np.inf)
    order_keys = [np.arange(len(out)), score, bad.to_numpy()]
    if budget and budget in out:
        order_keys.insert(2, -pd.to_numeric(out[budget], errors="coerce").fillna(0).to_numpy())
    order = np.lexsort(order_keys)
    rank = np.empty(len(out), dtype=int)
    rank[order] = np.arange(1, len(out) + 1)
    out["rank"] = rank
    eligible = np.isfinite(out["metric_mean"].to_numpy(dtype=float))
    out["best"] = (rank == 1) & eligible
    out.attrs.update(swept=swept, metric=name, lower=lower)
    return out


def ranked(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary sorted by rank (best first)."""
    if "rank" not in summary:
        return summary
    out = summary.sort_values("rank", kind="stable")
    out.attrs.update(summary.attrs)
    return out


def _pm(mean, std, fmt) -> str:
    if mean is None or not math.isfinite(mean):
        return "-"
    return f"{mean:{fmt}}" + ("" if std is None or not math.isfinite(std) else f" ± {std:.2g}")


def table_rows(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the printed table."""
    swept = summary.attrs.get("swept", [])
    has_acc = "accuracy_mean" in summary and np.isfinite(summary["accuracy_mean"].to_numpy(dtype=float)).any()
    metric = summary.attrs.get("metric", "E")
    extra = metric not in ("E", "grad_norm", "accuracy", "cost", "seconds") and "metric_mean" in summary
    header = ["", *swept, "runs", "E", "||grad E||", *(["accuracy"] if has_acc else []), *([metric] if extra else []),
              "cost", "time (s)"]
    rows = []
    for _, r in summary.iterrows():
        runs = f"{r['done']}/{r['runs']}" + "".join(f" {r[s]} {s}" for s in ("diverged", "failed") if r[s])
        values = []
        for k in swept:
            v = r[k]
            values.append(",".join(map(str, v)) if isinstance(v, list) else f"{v:g}" if isinstance(v, float) else str(v))
        rows.append(["*" if r.get("best") else "", *values, runs,
                     _pm(r["E_mean"], r["E_std"], ".4g"), _pm(r["grad_norm_mean"], r["grad_norm_std"], ".3g"),
                     *([_pm(r["accuracy_mean"], r["accuracy_std"], ".3f")] if has_acc else []),
                     *([_pm(r["metric_mean"], r["metric_std"], ".4g")] if extra else []),
                     _pm(r["cost_mean"], r["cost_std"], ".4g"), _pm(r["seconds_mean"], r["seconds_std"], ".2f")])
    return header, rows


def format_table(summary: pd.DataFrame) -> str:
    """The grouped table as aligned plain text (numbers right-aligned), with its footnote."""
    header, rows = table_rows(summary)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    n_text = 1 + len(summary.attrs.get("swept", []))

    def line(cells):
        return "  ".join(c.ljust(w) if i < n_text else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    lines = [line(header), *(line(r) for r in rows)]
    return "\n".join(lines) + "\n" + footnote(summary)


FOOTNOTE = ("mean ± std over seeds of the runs done; cost in sample-gradient equivalents; "
            "* best configuration (ranked by the metric's mean; a configuration with diverged or failed seeds "
            "ranks after those whose seeds all finished)")


def footnote(summary) -> str:
    metric = summary.attrs.get("metric", "E")
    return FOOTNOTE.replace("the metric's mean", f"the mean {metric}")


def print_table(summary: pd.DataFrame, rich: bool, title: str = "sweep results") -> None:
    if not rich:
        print(format_table(summary))
        return
    from rich.console import Console
    from rich.table import Table

    header, rows = table_rows(summary)
    n_text = 1 + len(summary.attrs.get("swept", []))
    table = Table(title=title, caption=footnote(summary))
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i < n_text else "right")
    for r in rows:
        table.add_row(*r, style="bold green" if r[0] == "*" else None)
    Console().print(table)
