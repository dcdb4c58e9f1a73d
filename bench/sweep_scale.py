"""Sweep scale bench: ``python -m bench.sweep_scale [--runs 10000] [--out bench/sweep_scale_results.md]``.

A 10,000-run sweep (by default: 10,000 random draws of lr, batch size, width
and l2, one seed each, so 10,000 configurations — the hardest case for the
per-configuration summary) is stored through the real driver
(:func:`mlplab.sweeps.run`) with a stand-in backend whose "runs" return at
once with made-up results (E, ‖∇E‖, split metrics, a 100-record history; one in
50 diverged), so the bench measures the sweep's own code, not training.
Then, each in a fresh ``mlplab`` process as a user runs it:

1. **spec expansion**: :func:`mlplab.sweeps.spec.expand_spec` in-process (imports done), and the resume
   ``mlplab sweep SPEC --out DIR`` of the finished sweep (expansion + checks + nothing to run);
2. **--show**: ``mlplab sweep DIR --show``;
3. **--report**: ``mlplab sweep DIR --show --report r.html --quiet``, wall time, peak memory
   (``ru_maxrss`` of the child) and the page's size;
4. **the page in Chromium**: headless Chromium (Playwright) from navigation to the load event
   and every Plotly figure drawn.

Targets (issue #27): expansion ≤ 2 s, --show ≤ 3 s, --report ≤ 20 s and ≤ 10 MB, the page open ≤ 5 s.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """data = "moons"
n_samples = 200
epochs = 2
optimizer = "minibatch"
val_split = 0.25
[random]
n = {n}
lr = {{ loguniform = [1e-4, 3.0] }}
batch_size = [4, 8, 16, 32, 64]
hidden = [[4], [8], [16], [32]]
l2 = {{ uniform = [0.0, 0.01] }}
"""


class FakeBackend:
    """A backend whose runs finish at once with made-up, deterministic results (no training)."""

    name = "local"
    capacity = 64

    def __init__(self):
        self.done = []

    def describe(self):
        return "stand-in backend (no training)"

    def submit(self, task):
        import numpy as np

        rid = task["id"]
        cfg = task["cfg"]
        rng = np.random.default_rng(rid)
        lr = cfg.get("lr") or 0.1
        E = float(20 + 30 * abs(math.log10(lr) + 1) + 5 * rng.random())
        k = np.arange(100) * 4
        hist = {"k": k.tolist(), "epoch": (k / 150).tolist(), "loss": (E * (1 + 3 * np.exp(-k / 80))).tolist(),
                "grad_norm": (10 * np.exp(-k / 100) + 1).tolist(), "cost": (k * 16).tolist()}
        if rid % 50 == 0:
            payload = {"status": "diverged", "stop_reason": "diverged", "n_iter": 17, "final_loss": None,
                       "grad_norm": None, "cost": 272, "forward_evals": 0, "seconds": 0.01, "history": hist,
                       "error": "training diverged at iteration 17; try a smaller --lr", "metrics": None,
                       "accuracy": None, "model": None}
        else:
            val = E / 150 * (1 + 0.1 * rng.random())
            payload = {"status": "done", "stop_reason": "epochs", "n_iter": 396, "final_loss": E,
                       "grad_norm": 1.5, "cost": 6336, "forward_evals": 0, "seconds": 0.2 + rng.random() / 10,
                       "history": hist if rid % 10 == 0 else None, "error": None,
                       "metrics": {"train": {"n": 150, "loss": E, "mean_loss": E / 150, "accuracy": 0.85},
                                   "validation": {"n": 50, "loss": val * 50, "mean_loss": val, "accuracy": 0.8}},
                       "accuracy": 0.8, "accuracy_split": "validation", "model": None}
        self.done.append(("ok", task, payload))

    def wait(self, timeout):
        out, self.done = self.done, []
        return out

    def close(self):
        pass


def _mlplab(*args) -> tuple[float, int, subprocess.CompletedProcess]:
    """(wall seconds, peak RSS in MB, the result) of one `mlplab` command in a fresh process."""
    exe = Path(sys.executable).with_name("mlplab")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "mlplab.cli"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    r = subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if r.returncode != 0:
        raise RuntimeError(f"mlplab {' '.join(map(str, args))}: exit {r.returncode}: {r.stderr[-2000:]}")
    return wall, max(peak, before) // 1024, r


def _chromium_open(page_path: Path) -> float | None:
    """Seconds from navigation to the load event with every Plotly figure drawn (None: no Chromium)."""
    chromium = os.environ.get("MLPLAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not chromium:
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            n = page_path.read_text().count('class="plotly-graph-div')
            t = time.perf_counter()
            page.goto(page_path.resolve().as_uri(), wait_until="load", timeout=120_000)
            page.wait_for_function(f"document.querySelectorAll('.plotly-graph-div .main-svg').length >= {n}",
                                   timeout=120_000)
            return time.perf_counter() - t
        finally:
            browser.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.sweep_scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--out", default=str(Path(__file__).with_name("sweep_scale_results.md")))
    p.add_argument("--keep", metavar="DIR", help="keep the sweep's folder here")
    args = p.parse_args(argv)

    from mlplab import sweeps
    from mlplab.sweeps.spec import expand_spec

    root = Path(args.keep or tempfile.mkdtemp(prefix="mlplab-bench-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    spec = root / "spec.toml"
    spec.write_text(SPEC.format(n=args.runs))
    out = root / "out"
    shutil.rmtree(out, ignore_errors=True)
    rows = []
    try:
        expand_spec({"data": "moons", "grid": {"lr": [0.1]}})  # imports (NumPy, SciPy, scikit-learn) not counted
        t = time.perf_counter()
        e = expand_spec(spec)
        t_expand = time.perf_counter() - t
        rows.append((f"spec expansion, {len(e.runs):,} runs (in-process, imports done)", f"{t_expand:.2f} s",
                     "target ≤ 2 s"))
        t = time.perf_counter()
        outcome = sweeps.run(spec, out, backend=FakeBackend())
        t_store = time.perf_counter() - t
        rows.append((f"store {len(outcome.ids):,} runs through the driver (stand-in backend, no training)",
                     f"{t_store:.2f} s", f"{outcome.counts}"))
        wall, _, _ = _mlplab("sweep", spec, "--out", out, "--quiet")
        rows.append(("resume of the finished sweep: `mlplab sweep SPEC --out DIR` (fresh process, nothing to run)",
                     f"{wall:.2f} s", "expansion + checks + summary; includes ~1 s of Python imports"))
        wall, _, r = _mlplab("sweep", out, "--show")
        rows.append(("`mlplab sweep DIR --show` (fresh process)", f"{wall:.2f} s", "target ≤ 3 s"))
        page = root / "report.html"
        wall, peak, _ = _mlplab("sweep", out, "--show", "--report", page, "--quiet")
        size = page.stat().st_size / 1e6
        rows.append(("`mlplab sweep DIR --show --report r.html` (fresh process)", f"{wall:.2f} s",
                     f"page {size:.2f} MB (target ≤ 20 s, ≤ 10 MB); peak RSS of the mlplab process {peak} MB"))
        opened = _chromium_open(page)
        rows.append(("the report opened in headless Chromium (load + every figure drawn)",
                     "n/a" if opened is None else f"{opened:.2f} s",
                     "target ≤ 5 s" if opened is not None else "Chromium or Playwright not installed"))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()
    lines = ["# Sweep scale bench (`python -m bench.sweep_scale`)", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.platform()}; {os.cpu_count()} cores; "
             f"Python {platform.python_version()}; load average after: {load[0]:.2f}.", "",
             f"{args.runs:,} random draws (lr, batch size, width, l2), one seed each: {args.runs:,} configurations.", "",
             "| measurement | wall | notes |", "|---|---:|---|", *(f"| {a} | {b} | {c} |" for a, b, c in rows), ""]
    text = "\n".join(lines)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
