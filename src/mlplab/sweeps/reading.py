"""Reading a sweep's results folder back: the runs as a table, grouped and ranked, the best run as a config.

:func:`load_runs` reads ``DIR/results.sqlite`` (:mod:`mlplab.sweeps.store`) into one row per run,
:func:`summarize` groups them by everything but the seed (:func:`mlplab.sweeps.results.summarize`),
and :func:`best` writes the best configuration's best run as a ``mlplab train --config`` file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mlplab.io import atomic_write
from mlplab.sweeps import store
from mlplab.sweeps.spec import Resolver, SpecError


def load_runs(out, ids=None, history: bool = True):
    """The runs stored in ``out/results.sqlite`` as a pandas DataFrame, one row per run (see :func:`mlplab.sweep`).

    ``history=False``: without the histories (a finished run's is read from its model file), which is
    what tables and rankings need — 10,000 runs load in well under a second."""
    from mlplab.sweeps import results  # pandas: only where a table is made

    out = Path(out)
    if (out / store.FILE).exists() and not (out / store.FILE).is_file():
        raise SpecError(f"{str(out)!r}: {store.FILE!r} is a folder or not a regular file; it holds no sweep's "
                        "results — remove or rename it")
    if not (out / store.FILE).is_file():
        raise SpecError(f"{str(out)!r} holds no sweep results ({store.FILE}); run `mlplab sweep SPEC.toml --out "
                        f"{out}` first")
    try:
        store.check_store(out)
    except store.StoreError as exc:
        raise SpecError(str(exc)) from None
    con = store.connect(out, create=False)
    try:
        rows = store.rows(con, ids, history=False, params=False)
        if history:
            hist = store.histories(con, out, [r["id"] for r in rows])
            for r in rows:
                r["history"] = hist.get(r["id"])
        meta = store.get_meta(con)
    finally:
        con.close()
    df = results.runs_frame(rows, meta.get("swept"))
    df.attrs.update(metric=meta.get("metric", "auto"), budget=meta.get("budget"))
    return df


def summarize(runs, metric: str | None = None):
    """The runs grouped by everything but the seed, ranked (rank 1 the best): mean and std of E, ‖∇E‖,
    accuracy, cost, time and the ranking metric (default: the sweep's [search] metric, else "auto")."""
    from mlplab.sweeps import results

    return results.summarize(runs, metric or runs.attrs.get("metric") or "auto")


def best(out, metric: str | None = None, config=None):
    """The best configuration's best run (by the metric, divergence-aware) as ``mlplab train --config``
    options; writes them to ``config`` (a TOML path) when given. Returns (options dict, runs row)."""
    from mlplab.sweeps import results

    runs = load_runs(out, history=False)
    summary = summarize(runs, metric)
    if not len(summary) or not summary["best"].any():
        raise SpecError(f"{str(out)!r} holds no finished run to rank; run the sweep first")
    order = results.ranked(summary)
    label = order.iloc[0]["config"]
    groups = results.group_keys(runs).to_numpy()
    cfg_keys = list(dict.fromkeys(groups))  # the summary's rows are the configurations in this order
    mine = runs[groups == cfg_keys[int(order.index[0])]]
    values, _, lower = results.metric_values(mine, summary.attrs.get("metric", "auto") if metric is None
                                             else metric)
    values = np.where(mine["status"].to_numpy() == "done", values, np.nan)
    if not np.isfinite(values).any():
        i = 0
    else:
        i = int(np.nanargmin(values) if lower else np.nanargmax(values))
    row = mine.iloc[i]
    params = json.loads(row["params"])
    options = train_options(params)
    if config is not None:
        atomic_write(config, to_toml(options, f"best of {out} ({label}; run {int(row['id'])})").encode("utf-8"))
    return options, row


def train_options(cfg: dict) -> dict:
    """``mlplab train --config`` options that resolve to the settings ``cfg`` (a run's params): every
    setting that is a train option, the architecture as ``layers``; derived settings (classes) left out."""
    flags = Resolver().train_flags()
    opts = {}
    for k, v in cfg.items():
        if k == "layer_sizes":
            opts["layers"] = list(v)
        elif k.replace("_", "-") in flags and v is not None:
            opts[k] = v
    return opts


def to_toml(options: dict, comment: str = "") -> str:
    """A flat TOML table of scalars and lists (what a `mlplab train --config` file holds)."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise ValueError(f"cannot write {v!r} to TOML")

    lines = [f"# {comment}"] if comment else []
    lines += [f"{k} = {value(v)}" for k, v in options.items()]
    return "\n".join(lines) + "\n"
