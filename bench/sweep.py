"""Sweep bench: ``python -m bench.sweep [--runs 16] [--epochs E] [--no-ray] [--out bench/sweep_results.md]``.

Two measurements, each on warm workers (pool start-up and ``ray.init`` are
timed separately and reported, not mixed into the per-run numbers):

1. **Local pool speed-up**: the same N short runs (default 16: mini-batch SGD on
   ``moons``, 16 hidden units, a few hundred steps each) with 1 and with 2 worker
   processes, each worker's BLAS on one thread. Speed-up = wall(1) / wall(2),
   walls measured from the first run handed out to the last result stored
   (every run, its SQLite row and its model file included).
2. **Ray overhead per run**: N tiny runs (one epoch on the lecture's 2-sample set,
   so the training itself is ~1 ms) on the local pool and on a local Ray with the
   same number of workers; overhead per run = (wall(Ray) − wall(local)) / N,
   plus each backend's wall per tiny run.

Each configuration is repeated (``--repeats``, default 3; 1 and 2 workers
interleaved, so both see the same load) and the best wall is kept (the least
disturbed by other processes); the load average before and after is written
next to the numbers, since a loaded machine lowers the speed-up.
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


def _spec(n_runs: int, epochs: int) -> dict:
    return {"data": "moons", "n_samples": 1000, "hidden": [16], "optimizer": "minibatch", "batch_size": 16,
            "epochs": epochs, "tol": 0, "grid": {"seed": list(range(n_runs))}}


def _tiny(n_runs: int) -> dict:
    return {"data": "lecture", "optimizer": "sgd", "epochs": 1, "grid": {"seed": list(range(n_runs))}}


def _timed(spec, backend, root: Path, tag: str) -> float:
    """Wall seconds of one sweep on a warm backend, from its first hand-out to its last stored result."""
    from mlplab import sweeps

    out = root / tag
    shutil.rmtree(out, ignore_errors=True)
    marks = {}
    outcome = sweeps.run(spec, out, backend=backend,
                         on_start=lambda *a: marks.setdefault("t0", time.perf_counter()),
                         on_result=lambda row: marks.__setitem__("t1", time.perf_counter()))
    bad = {k: v for k, v in outcome.counts.items() if k != "done"}
    if bad:
        raise RuntimeError(f"bench sweep {tag}: runs not done: {bad}")
    return marks["t1"] - marks["t0"]


def _best(spec, backend, root, tag, repeats) -> float:
    return min(_timed(spec, backend, root, f"{tag}-{i}") for i in range(repeats))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=16)
    p.add_argument("--epochs", type=int, default=30, help="epochs of each short run (default 30)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-ray", action="store_true", help="skip the Ray measurement")
    p.add_argument("--out", default=str(Path(__file__).with_name("sweep_results.md")))
    args = p.parse_args(argv)

    from mlplab.sweeps.backends import LocalPool

    load0 = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="mlplab-bench-sweep-"))
    rows, notes = [], []
    try:
        spec = _spec(args.runs, args.epochs)
        pools, starts = {}, {}
        try:
            for w in (1, 2):
                pools[w] = LocalPool(w)
                t = time.perf_counter()
                pools[w]._spawn(w)
                starts[w] = time.perf_counter() - t
                _timed(_spec(w, 1), pools[w], root, f"warm{w}")  # first runs: caches, compiled kernels
            walls = {1: [], 2: []}
            for i in range(args.repeats):  # interleaved, so that both see the same load from other processes
                for w in (1, 2):
                    walls[w].append(_timed(spec, pools[w], root, f"local{w}-{i}"))
        finally:
            for pool in pools.values():
                pool.close()
        for w in (1, 2):
            best = min(walls[w])
            rows.append((f"{args.runs} short runs, local pool, {w} worker{'s' * (w > 1)}", f"{best:.2f} s",
                         f"{best / args.runs * 1000:.0f} ms per run (all repeats: "
                         f"{', '.join(f'{x:.2f}' for x in walls[w])} s); pool start-up {starts[w]:.2f} s"))
        ratios = sorted(a / b for a, b in zip(walls[1], walls[2]))
        speedup = min(walls[1]) / min(walls[2])
        rows.append(("speed-up 2 workers vs 1", f"{speedup:.2f}x",
                     f"best wall / best wall; paired repeats: {', '.join(f'{r:.2f}x' for r in ratios)}; "
                     "target >= 1.7x on 2 idle cores"))
        if not args.no_ray:
            try:
                import ray
            except ImportError:
                notes.append("Ray is not installed (pip install \"mlplab[ray]\"): no Ray row.")
            else:
                from mlplab.sweeps.backends import RayBackend

                tiny = _tiny(args.runs)
                pool = LocalPool(2)
                pool._spawn(2)
                try:
                    _timed(_tiny(2), pool, root, "warm-tiny")
                    local = _best(tiny, pool, root, "tiny-local", args.repeats)
                finally:
                    pool.close()
                t = time.perf_counter()
                ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
                init = time.perf_counter() - t
                try:
                    rb = RayBackend(workers=2)
                    _timed(_tiny(4), rb, root, "warm-ray")  # Ray starts its worker processes
                    on_ray = _best(tiny, rb, root, "tiny-ray", args.repeats)
                    _timed(_tiny(2), rb, root, "warm-ray-short")
                    ray_short = _best(spec, rb, root, "ray-short", args.repeats)
                finally:
                    ray.shutdown()
                rows.append((f"{args.runs} tiny runs, local pool, 2 workers", f"{local:.2f} s",
                             f"{local / args.runs * 1000:.0f} ms per run (the pool's own overhead + ~1 ms training)"))
                rows.append((f"{args.runs} tiny runs, Ray (local, num_cpus=2)", f"{on_ray:.2f} s",
                             f"{on_ray / args.runs * 1000:.0f} ms per run; ray.init {init:.1f} s"))
                rows.append(("Ray overhead per run (vs the local pool)", f"{(on_ray - local) / args.runs * 1000:.0f} ms",
                             "(wall(Ray) - wall(local)) / runs, tiny runs, 2 workers each"))
                rows.append((f"{args.runs} short runs, Ray, 2 tasks at a time", f"{ray_short:.2f} s",
                             f"{ray_short / min(walls[2]):.2f}x the local pool's 2-worker wall "
                             f"({min(walls[2]):.2f} s; below 1: Ray was faster)"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load1 = os.getloadavg()
    import numpy

    lines = ["# Sweep bench (`python -m bench.sweep`)", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.platform()}; {os.cpu_count()} cores; "
             f"Python {platform.python_version()}, NumPy {numpy.__version__}; each worker's BLAS on 1 thread.", "",
             f"Load average (1, 5, 15 min) before: {load0[0]:.2f}, {load0[1]:.2f}, {load0[2]:.2f}; after: "
             f"{load1[0]:.2f}, {load1[1]:.2f}, {load1[2]:.2f}. Other processes sharing the cores lower the "
             "speed-up; walls are the best of "
             f"{args.repeats} repeats.", "",
             f"Short run: mini-batch SGD (|B| = 16) on moons (1000 samples), 2-16-1 tanh network, {args.epochs} epochs "
             f"({args.epochs * 63} steps). Tiny run: one epoch of SGD on the lecture's 2-sample set.", "",
             "| measurement | wall | notes |", "|---|---:|---|",
             *(f"| {a} | {b} | {c} |" for a, b, c in rows), ""]
    cores = os.cpu_count() or 1
    if max(load0[0], load1[0]) > cores:
        notes.append(f"**The machine was busy** (load average up to {max(load0[0], load1[0]):.1f} on {cores} cores, "
                     "other processes included): the workers got a fluctuating share of the cores, so the speed-up "
                     "and the Ray comparison are not representative. Rerun `python -m bench.sweep` on an idle "
                     "machine for the numbers that matter.")
    lines += [f"{n}\n" for n in notes]
    text = "\n".join(lines).rstrip() + "\n"
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
