"""Which samples step k uses: j_k (one sample) or B_k (a block), or all S (GD)."""

from __future__ import annotations

import math

import numpy as np

_UNIFORM_DRAWS = 16384  # i.i.d. one-sample indices drawn at a time (at least S)


class Sampler:
    """Draws (j_k, 1) or (B_k, |B_k|) with B_k an index array or slice; (None, S) means all samples.

    Modes: "uniform", "shuffle", "cyclic" (see :class:`mlplab.optim.MiniBatchSGD`), and "reshuffle":
    "shuffle", also when one block holds every sample (scikit-learn's epochs: the block is that
    epoch's permutation, which sets the order of its sums and advances the random stream)."""

    def __init__(self, S: int, batch_size: int | None, mode: str, rng: np.random.Generator):
        self.S, self.rng, self.mode = S, rng, mode
        whole = batch_size is None or (batch_size >= S and mode not in ("uniform", "reshuffle"))
        self.b = None if whole else min(batch_size, S)
        self.pos = S  # position within the current epoch's order
        self.order = None

    @property
    def steps_per_epoch(self) -> int:
        return 1 if self.b is None else math.ceil(self.S / self.b)

    def steps_for(self, epochs: int) -> int:
        """Steps in ``epochs`` passes: whole epochs of blocks, or (uniform) ⌈epochs·S / b⌉ draws."""
        if self.b is not None and self.mode == "uniform":
            return math.ceil(epochs * self.S / self.b)
        return epochs * self.steps_per_epoch

    def _refill(self):
        """Start a new order where the current one is used up: a block of i.i.d. one-sample
        j_k ("uniform", drawn max(S, 16384) at a time; NumPy's stream does not depend on how
        draws are split into calls), or the next epoch (a fresh permutation for "shuffle")."""
        if self.mode == "uniform" and self.b == 1:
            if self.order is None or self.pos >= len(self.order):
                self.order, self.pos = self.rng.integers(0, self.S, size=max(self.S, _UNIFORM_DRAWS)), 0
        elif self.pos >= self.S:
            self.pos = 0
            if self.mode in ("shuffle", "reshuffle"):
                self.order = self.rng.permutation(self.S)

    def peek(self, n: int) -> list[int]:
        """The next ≤ n indices j_k of one-sample sampling, without taking them (advance ``pos``
        by the number used): the same j_k as ``next()`` calls would give, up to the end of
        the current order (an epoch, or a block of uniform draws)."""
        self._refill()
        stop = min(self.pos + n, len(self.order) if self.mode == "uniform" else self.S)
        if self.mode == "cyclic":
            return list(range(self.pos, stop))
        return self.order[self.pos:stop].tolist()

    def next(self):
        if self.b is None:
            return None, self.S
        S, b = self.S, self.b
        if self.mode == "uniform" and b > 1:
            return np.sort(self.rng.choice(S, size=b, replace=False)), b
        self._refill()
        if self.mode == "uniform":
            self.pos += 1
            return int(self.order[self.pos - 1]), 1
        i, self.pos = self.pos, min(self.pos + b, S)
        n = self.pos - i
        if self.mode == "cyclic":
            return (i if b == 1 else slice(i, self.pos)), n
        return (int(self.order[i]) if b == 1 else self.order[i:self.pos]), n
