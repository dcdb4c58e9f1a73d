"""Training progress: a Rich bar with live E, ‖∇E‖ and step size on a terminal, plain lines otherwise.

Fed by :func:`mlplab.train`'s ``callback``, which is called at every recorded
iteration with ``{k, epoch, loss, grad_norm, layer_grad_norms, cost, time}``.
The record carries no step size, so :class:`StepSize` works it out: γ_k from
the schedule, the constant α, or — for a line search — the previous step's
α = ‖w^k − w^{k−1}‖ / ‖∇E(w^{k−1})‖ (exact for plain GD recorded every step).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np


class StepSize:
    """α_k / γ_k for display, from the optimizer and successive recorded weights."""

    def __init__(self, optimizer):
        from mlplab.optim import GD

        base = getattr(optimizer, "base", optimizer)
        self.schedule = getattr(base, "schedule", None)
        self.constant = base.step if isinstance(base, GD) and isinstance(base.step, float) else None
        self.prev_w, self.prev_gnorm, self.prev_k = None, None, None

    def __call__(self, record, w) -> float:
        k = record["k"]
        if self.schedule is not None:
            return float(self.schedule(k))
        if self.constant is not None:
            return self.constant
        alpha = math.nan
        if self.prev_w is not None and self.prev_gnorm and k == self.prev_k + 1:
            alpha = float(np.linalg.norm(w - self.prev_w)) / self.prev_gnorm
        self.prev_w, self.prev_gnorm, self.prev_k = w.copy(), record["grad_norm"], k
        return alpha


class Progress:
    """Shows training progress; ``update(record, step)`` at every record, ``close()`` at the end."""

    def __init__(self, total: int | None, mode: str, stream=None):
        self.total, self.mode = total, mode  # mode: "rich", "plain" or "off"
        self.stream = stream or sys.stdout
        self.bar = None
        self.next_k = 0
        self.last_t = 0.0
        self.every = max(1, total // 10) if total else None
        if mode == "rich":
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, \
                TimeElapsedColumn

            self.bar = RichProgress(
                TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(), transient=False)
            self.task = self.bar.add_task("train", total=total, stats="")
            self.bar.start()

    def update(self, rec: dict, step: float) -> None:
        shown = "-" if not math.isfinite(step) else f"{step:.3g}"
        stats = f"E={rec['loss']:.4e}  ||grad E||={rec['grad_norm']:.3e}  step={shown}"
        if self.mode == "rich":
            self.bar.update(self.task, completed=rec["k"], stats=stats)
        elif self.mode == "plain":
            now = time.perf_counter()
            due = rec["k"] >= self.next_k if self.every else now - self.last_t >= 1.0
            if due or rec["k"] == 0:
                print(f"k={rec['k']:<7d} epoch={rec['epoch']:<9.4g} {stats}", file=self.stream, flush=True)
                self.last_t = now
                if self.every:
                    while self.next_k <= rec["k"]:
                        self.next_k += self.every

    def close(self, final_k: int | None = None) -> None:
        if self.bar is not None:
            if final_k is not None:
                self.bar.update(self.task, completed=final_k if self.total is None else min(final_k, self.total))
            self.bar.stop()
            self.bar = None
