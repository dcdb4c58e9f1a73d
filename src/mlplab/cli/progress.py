"""Training progress: a Rich bar with live E, ‖∇E‖ and step size on a terminal, plain lines otherwise.

Fed by :func:`mlplab.train`'s ``callback``, which is called at every recorded
iteration with ``{k, epoch, loss, grad_norm, layer_grad_norms, cost, time,
last_step_size}``; the step shown is the α/γ of the step that produced w^k.
"""

from __future__ import annotations

import math
import sys
import time



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
