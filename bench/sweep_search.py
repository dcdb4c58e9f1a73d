"""Search bench: ``python -m bench.sweep_search [--workers 2] [--out bench/sweep_search_results.md]``.

One search space — mini-batch SGD on ``moons`` (500 samples, a quarter held out for
validation), 27 epochs: lr (10 values, 1e-3 … 3, log-spaced), hidden width (2, 4,
8, 16, 32) and batch size (8, 16, 32, 64) — searched three ways on the local pool:

1. **grid**: all 200 configurations at the full budget;
2. **successive halving** (``[search] early_stop = { budget = "epochs", min = 1, eta = 3 }``):
   the same 200 configurations, the best third promoted from 1 to 3, 9 and 27 epochs;
3. **TPE** (``[search] sampler = "tpe"``, Optuna): 40 trials over the same ranges
   (lr log-uniform on [1e-3, 3], width and batch size as choices).

Each is ranked by the training E (``metric = "E"``); the table gives the wall time,
the epochs trained in all (the budget spent) and the best E and validation loss
found. One sweep at a time; the machine's load is written next to the numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

BASE = """data = "moons"
n_samples = 500
val_split = 0.25
optimizer = "minibatch"
epochs = 27
tol = 0
"""
GRID = """[grid]
lr = [0.001, 0.00215, 0.00464, 0.01, 0.0215, 0.0464, 0.1, 0.215, 0.464, 1.0]
hidden = [[2], [4], [8], [16], [32]]
batch_size = [8, 16, 32, 64]
"""
SEARCH = {
    "grid": BASE + GRID + '[search]\nmetric = "E"\n',
    "successive halving": BASE + GRID + '[search]\nmetric = "E"\nearly_stop = { budget = "epochs", min = 1, eta = 3 }\n',
    "TPE, 40 trials": BASE + """[random]
n = 40
sampler_seed = 0
lr = { loguniform = [0.001, 3.0] }
hidden = [[2], [4], [8], [16], [32]]
batch_size = [8, 16, 32, 64]
[search]
metric = "E"
sampler = "tpe"
""",
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.sweep_search", description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--only", choices=list(SEARCH), action="append")
    p.add_argument("--out", default=str(Path(__file__).with_name("sweep_search_results.md")))
    args = p.parse_args(argv)

    import json

    from mlplab import sweeps

    root = Path(tempfile.mkdtemp(prefix="mlplab-bench-search-"))
    rows = []
    load0 = os.getloadavg()
    try:
        for name, text in SEARCH.items():
            if args.only and name not in args.only:
                continue
            spec = root / f"{name.split()[0].lower()}.toml"
            spec.write_text(text)
            out = root / spec.stem
            t = time.perf_counter()
            outcome = sweeps.run(str(spec), out, workers=args.workers)
            wall = time.perf_counter() - t
            runs = sweeps.load_runs(out, history=False)
            summary = sweeps.summarize(runs, "E")
            best = summary[summary["best"]].iloc[0]
            val = runs["validation_loss"].to_numpy(dtype=float)
            epochs = sum(json.loads(p)["epochs"] for p in runs["params"])
            rows.append((name, f"{wall:.1f} s", len(runs), epochs, f"{best['E_mean']:.4g}",
                         f"{float(min(v for v in val if v == v)):.4g}", best["config"], str(outcome.counts)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load1 = os.getloadavg()
    lines = ["# Search bench (`python -m bench.sweep_search`)", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.platform()}; {os.cpu_count()} cores; "
             f"{args.workers} workers; load average before {load0[0]:.2f}, after {load1[0]:.2f} (other processes "
             "share the cores: walls are indicative, epochs trained are exact).", "",
             "| search | wall | runs | epochs trained | best E | best validation mean loss | best configuration | "
             "status |", "|---|---:|---:|---:|---:|---:|---|---|",
             *(f"| {' | '.join(map(str, r))} |" for r in rows), ""]
    text = "\n".join(lines)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
