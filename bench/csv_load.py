"""CSV loading: ``mlplab.data.load_file`` against a bare ``pandas.read_csv`` of the same file.

    PYTHONPATH=src python -m bench.csv_load [--rows 200000] [--cols 50] [--repeats 3]

Writes a CSV of ``rows`` samples × ``cols`` columns (a header, ``cols − 1`` float features with
7 significant digits, an integer class label last; ~93 MB at the defaults), then loads it in
fresh processes, alternating the two readers so that outside load hits both alike. Each process
imports NumPy, pandas and mlplab.data first; the time is the load alone, the memory the process's
peak resident set (VmHWM) and its growth during the load. Prints the medians and the ratios
mlplab / pandas (issue 14's bounds: time ≤ 2.5×, peak memory ≤ 2×).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import json, sys, time
import numpy as np, pandas as pd
import mlplab.data as D

def status(key):
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith(key)).split()[1]) * 1024

path, which = sys.argv[1], sys.argv[2]
before = status("VmRSS:")
t0 = time.perf_counter()
if which == "pandas":
    df = pd.read_csv(path)
    shape = df.shape
else:
    t = D.load_file(path)
    shape = (t.X.shape[0], t.X.shape[1] + 1)
elapsed = time.perf_counter() - t0
print(json.dumps({"time": elapsed, "peak": status("VmHWM:"), "growth": status("VmHWM:") - before,
                  "shape": list(shape)}))
"""


def write_csv(path: Path, rows: int, cols: int, seed: int = 0) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, cols - 1))
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(cols - 1)])
    df["label"] = (X[:, 0] > 0).astype(int)
    df.to_csv(path, index=False, float_format="%.7g")


def measure(path: Path, which: str) -> dict:
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", _CHILD, str(path), which], capture_output=True, text=True, env=env,
                       timeout=600)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout)


def compare(path: Path, repeats: int) -> dict:
    runs = {"pandas": [], "mlplab": []}
    for _ in range(repeats):
        for which in ("pandas", "mlplab"):
            runs[which].append(measure(path, which))
    out = {}
    for which, rs in runs.items():
        out[which] = {k: statistics.median(r[k] for r in rs) for k in ("time", "peak", "growth")}
        out[which]["shape"] = rs[0]["shape"]
    out["ratio"] = {k: out["mlplab"][k] / out["pandas"][k] for k in ("time", "peak", "growth")}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--cols", type=int, default=50)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.csv"
        write_csv(path, args.rows, args.cols)
        size = path.stat().st_size
        res = compare(path, args.repeats)
    mb = 1024 ** 2
    print(f"{args.rows} x {args.cols} CSV, {size / 1e6:.1f} MB; medians of {args.repeats} fresh processes each")
    for which in ("pandas", "mlplab"):
        r = res[which]
        print(f"  {which:<7} {r['time']:.3f} s   peak RSS {r['peak'] / mb:.0f} MiB   growth {r['growth'] / mb:.0f} MiB")
    q = res["ratio"]
    print(f"  ratio   time {q['time']:.2f}x (bound 2.5x)   peak {q['peak']:.2f}x (bound 2x)   growth {q['growth']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
