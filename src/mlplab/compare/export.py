"""A comparison written out: every run's history as CSV/JSON, the table as text, ``python -m mlplab.compare``."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
from pathlib import Path

import numpy as np

from mlplab.compare.build import run_comparison
from mlplab.compare.runs import Comparison
from mlplab.io import atomic_write

__all__ = ["history_table", "write_history", "format_table", "main"]


def history_table(runs) -> tuple[list[str], list[list]]:
    """(header, rows) of every record of every run: ``runs`` is a list of (name, History).

    Columns: run, k, epoch, cost (sample gradients), forward passes, cost in
    sample-gradient equivalents, E(w^k), ‖∇E(w^k)‖, the step size taken from w^k,
    line-search evaluations, capped, unbounded, time, and ‖∇_{W^ℓ}E(w^k)‖ per layer.
    """
    L = max((len(h.layer_grad_norms[0]) for _, h in runs if len(h) and len(h.layer_grad_norms)), default=0)
    head = ["run", "k", "epoch", "cost", "forward_evals", "grad_equivalents", "loss", "grad_norm", "step_size",
            "ls_evals", "capped", "unbounded", "time"] + [f"layer_{ell}_grad_norm" for ell in range(1, L + 1)]
    rows = []
    for name, h in runs:
        n = len(h)
        ge = np.asarray(h.grad_equivalents, dtype=float)

        def col(attr, default):
            c = getattr(h, attr, None)
            return c if c is not None and len(c) == n else [default] * n

        fwd, capped, unb, tm = col("forward_evals", 0), col("capped", False), col("unbounded", False), col("time", math.nan)
        for i in range(n):
            lg = list(h.layer_grad_norms[i]) if i < len(h.layer_grad_norms) else []
            rows.append([name, int(h.k[i]), float(h.epoch[i]), int(h.cost[i]), int(fwd[i]), float(ge[i]),
                         float(h.loss[i]), float(h.grad_norm[i]), float(h.step_size[i]), int(h.ls_evals[i]),
                         bool(capped[i]), bool(unb[i]), float(tm[i])] + [float(v) for v in lg]
                        + [math.nan] * (L - len(lg)))
    return head, rows


def write_history(path, runs) -> Path:
    """Write the recorded history of every run to ``path`` (.csv or .json); returns the path.

    ``runs``: a :class:`Comparison`, or a list of (name, :class:`mlplab.train.History`).
    CSV: one row per record, the columns of :func:`history_table` (a ``run`` column
    tells the runs apart; NaN/inf written as ``nan``/``inf``). JSON:
    ``{"runs": [{"name": ..., "history": {column: [...]}}]}`` with the columns of
    :meth:`mlplab.train.History.to_dict` (NaN/inf as null). Written atomically.
    """
    path = Path(path)
    if isinstance(runs, Comparison):
        runs = [(r.name, r.history) for r in runs.runs]
    suffix = path.suffix.lower()
    if suffix == ".json":
        doc = {"format": "mlplab history", "version": 1,
               "columns": "k, epoch, loss = E(w^k), grad_norm = ‖∇E(w^k)‖, layer_grad_norms, step_size (of the step "
                          "from w^k), ls_evals, capped, cost (sample gradients), time, forward_evals, unbounded",
               "runs": [{"name": name, "history": _history_dict(h)} for name, h in runs]}
        data = json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8")
    elif suffix in (".csv", ".tsv"):
        head, rows = history_table(runs)
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="\t" if suffix == ".tsv" else ",", lineterminator="\n")
        w.writerow(head)
        for row in rows:
            w.writerow([repr(v) if isinstance(v, float) else str(v).lower() if isinstance(v, bool) else v
                        for v in row])
        data = buf.getvalue().encode("utf-8")
    else:
        raise ValueError(f"history file {str(path)!r}: use a .csv, .tsv or .json name")
    atomic_write(path, data)
    return path


def _history_dict(h) -> dict:
    if hasattr(h, "to_dict"):
        return h.to_dict()
    return {name: [None if isinstance(v, float) and not math.isfinite(v) else v for v in getattr(h, name)]
            for name in h.__dataclass_fields__}


def format_table(comp: Comparison) -> str:
    """The comparison table as plain text."""
    lines = [comp.title, f"for the rates: {comp.E_ref_note}", ""]
    head = f"{'method':<38} {'E(w)':>10} {'||grad E||':>10} {'steps':>6} {'cost':>6}  {'stopped':<18} fitted rate"
    lines += [head, "-" * len(head)]
    for row in comp.table():
        lines.append(f"{row['method']:<38} {row['E(w)']:>10.3e} {row['||grad E||']:>10.3e} {row['steps']:>6} "
                     f"{row['cost']:>6.0f}  {row['stopped']:<18} {row['fitted rate']}")
    lines.append("")
    for r in comp.runs:
        lines.append(f"{r.name}: lecture: {r.theory}")
        if r.budget_note:
            lines.append(f"  budget: {r.budget_note}")
        if r.stop is not None:
            lines.append(f"  where it stopped: {r.stop.message}")
    if comp.gradient_flow is not None:
        lines.append(f"gradient flow ({comp.runs[comp.flow_run].name}): {comp.gradient_flow.diagnosis.message}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """``python -m mlplab.compare``: print the default comparison's table (the figures: ``mlplab compare``)."""
    parser = argparse.ArgumentParser(
        prog="python -m mlplab.compare",
        description="Compare GD (exact line search), SGD (γ_k = 1/(k+1)) and mini-batch SGD on the lecture's "
                    "toy problem from the same w^0 with the same budget of sample-gradient evaluations. "
                    "For the HTML report and PNG figures use: mlplab compare --report FILE.html --plots DIR")
    parser.add_argument("--budget", type=int, default=1000, help="sample-gradient evaluations per method (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--history", metavar="FILE", help="write every run's recorded history here (.csv or .json)")
    args = parser.parse_args(argv)
    if args.budget < 1:
        parser.error(f"--budget must be a positive integer, got {args.budget}")
    if args.history and Path(args.history).suffix.lower() not in (".csv", ".tsv", ".json"):
        parser.error(f"--history {args.history!r}: use a .csv or .json file name")
    comp = run_comparison(budget=args.budget, seed=args.seed)
    print(format_table(comp))
    if args.history:
        try:
            print(f"\nhistory: {write_history(args.history, comp)}")
        except OSError as exc:
            parser.exit(2, f"{parser.prog}: cannot write --history {args.history!r}: {exc.strerror or exc}\n")
    return 0
