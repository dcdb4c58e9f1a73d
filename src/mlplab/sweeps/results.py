"""The sweep's results as tables: one row per run, and grouped by everything but the seed.

The grouped table gives, over the seeds of each configuration, the mean and
the sample standard deviation (ddof = 1; blank for a single seed) of E(w),
‖∇E(w)‖, the accuracy, the cost (sample-gradient equivalents: gradients +
line-search forward passes / 3, the figures' cost axis) and the training time,
computed over the runs that finished (``done``). The best configuration —
the lowest mean E — is marked.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from mlplab.train import FORWARD_PER_GRADIENT

RUN_COLUMNS = ("status", "final_loss", "grad_norm", "accuracy", "cost", "forward_evals", "grad_equivalents",
               "n_iter", "stop_reason", "seconds", "attempts", "error", "model", "params", "history")
STATS = (("final_loss", "E"), ("grad_norm", "grad_norm"), ("accuracy", "accuracy"),
         ("grad_equivalents", "cost"), ("seconds", "seconds"))


def _swept_from(rows) -> list[str]:
    keys = []
    for r in rows:
        for k in r["combo"] or {}:
            if k not in keys:
                keys.append(k)
    return keys


def runs_frame(rows: list[dict], swept: list[str] | None = None) -> pd.DataFrame:
    """One row per run: id, the swept values, then RUN_COLUMNS (params as canonical JSON)."""
    swept = [k for k in (swept or []) if any(k in (r["combo"] or {}) for r in rows)] or _swept_from(rows)
    records = []
    for r in rows:
        rec = {"id": r["id"]}
        rec.update({k: (r["combo"] or {}).get(k) for k in swept})
        fwd = r.get("forward_evals") or 0
        rec.update(status=r["status"], final_loss=r["final_loss"], grad_norm=r["grad_norm"], accuracy=r["accuracy"],
                   cost=r["cost"], forward_evals=r["forward_evals"],
                   grad_equivalents=None if r["cost"] is None else r["cost"] + fwd / FORWARD_PER_GRADIENT,
                   n_iter=r["n_iter"], stop_reason=r["stop_reason"], seconds=r["seconds"], attempts=r["attempts"],
                   error=r["error"], model=r["model"], params=json.dumps(r["params"], sort_keys=True,
                                                                          separators=(",", ":")),
                   history=r["history"])
        records.append(rec)
    df = pd.DataFrame.from_records(records, columns=["id", *swept, *RUN_COLUMNS])
    for c in ("final_loss", "grad_norm", "accuracy", "grad_equivalents", "seconds"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df.attrs["swept"] = list(swept)
    return df


def _group_key(params_json: str) -> str:
    p = json.loads(params_json)
    p.pop("seed", None)
    return json.dumps(p, sort_keys=True, separators=(",", ":"))


def _label(values: dict) -> str:
    from mlplab.sweeps.spec import describe

    return describe(values) or "(all runs)"


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration (all settings but the seed), in the order of first appearance.

    Columns: config (a label of its swept values), the swept values but the seed,
    runs, done, diverged, failed, then ``<name>_mean`` and ``<name>_std`` for
    E, grad_norm, accuracy, cost, seconds, and best (the lowest mean E).
    """
    swept = [k for k in runs.attrs.get("swept", []) if k != "seed"]
    keys = runs["params"].map(_group_key)
    out = []
    for key in dict.fromkeys(keys):
        g = runs[keys == key]
        first = g.iloc[0]
        row = {"config": _label({k: first[k] for k in swept})}
        row.update({k: first[k] for k in swept})
        done = g[g["status"] == "done"]
        row.update(runs=len(g), done=len(done), diverged=int((g["status"] == "diverged").sum()),
                   failed=int((g["status"] == "failed").sum()))
        for col, name in STATS:
            v = done[col].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            row[f"{name}_mean"] = float(v.mean()) if len(v) else math.nan
            row[f"{name}_std"] = float(v.std(ddof=1)) if len(v) > 1 else math.nan
        out.append(row)
    df = pd.DataFrame(out)
    if len(df):
        E = df["E_mean"].to_numpy(dtype=float)
        best = int(np.nanargmin(E)) if np.isfinite(E).any() else -1
        df["best"] = [i == best for i in range(len(df))]
    df.attrs["swept"] = swept
    return df


def _pm(mean, std, fmt) -> str:
    if mean is None or not math.isfinite(mean):
        return "-"
    return f"{mean:{fmt}}" + ("" if std is None or not math.isfinite(std) else f" ± {std:.2g}")


def table_rows(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the printed table."""
    swept = summary.attrs.get("swept", [])
    has_acc = "accuracy_mean" in summary and np.isfinite(summary["accuracy_mean"].to_numpy(dtype=float)).any()
    header = ["", *swept, "runs", "E", "||grad E||", *(["accuracy"] if has_acc else []), "cost", "time (s)"]
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
    return "\n".join(lines) + "\n" + FOOTNOTE


FOOTNOTE = ("mean ± std over seeds of the runs done; cost in sample-gradient equivalents; "
            "* best configuration (lowest mean E)")


def print_table(summary: pd.DataFrame, rich: bool, title: str = "sweep results") -> None:
    if not rich:
        print(format_table(summary))
        return
    from rich.console import Console
    from rich.table import Table

    header, rows = table_rows(summary)
    n_text = 1 + len(summary.attrs.get("swept", []))
    table = Table(title=title, caption=FOOTNOTE)
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i < n_text else "right")
    for r in rows:
        table.add_row(*r, style="bold green" if r[0] == "*" else None)
    Console().print(table)
