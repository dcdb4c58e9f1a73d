"""``train(progress=True)``: a progress bar fed by the loop's records (tqdm.auto, else Rich)."""

from __future__ import annotations

import math


class ProgressBar:
    """``train(progress=True)``: a callback drawing a bar (tqdm.auto, else Rich), then calling the user's."""

    def __init__(self, total: int | None, callback=None):
        self.callback, self.total, self.k = callback, total, 0
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            self.kind = "tqdm"
            self.bar = tqdm(total=total, desc="training", unit="step", dynamic_ncols=True)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.kind = "rich"
            self.bar = Progress(TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[stats]}"), TimeElapsedColumn())
            self.task = self.bar.add_task("train", total=total, stats="")
            self.bar.start()

    def __call__(self, rec: dict):
        k = int(rec["k"])
        step = rec.get("last_step_size", math.nan)
        stats = f"E={rec['loss']:.4e} ‖∇E‖={rec['grad_norm']:.3e}" + (f" step={step:.3g}" if math.isfinite(step) else "")
        if self.kind == "tqdm":
            self.bar.update(k - self.k)
            self.bar.set_postfix_str(stats, refresh=False)
        else:
            self.bar.update(self.task, completed=k, stats=stats)
        self.k = k
        return self.callback(rec) if self.callback is not None else None

    def close(self, k: int) -> None:
        if self.kind == "tqdm":
            if self.total is not None and k > self.k:
                self.bar.update(k - self.k)
            self.bar.close()
        else:
            self.bar.update(self.task, completed=k)
            self.bar.stop()
