"""Budgets and the stop reasons they give: iterations, epochs, cost, wall-clock time."""

from __future__ import annotations

import math
import time

FORWARD_PER_GRADIENT = 3  # a sample gradient = forward + backward ≈ 3 forward passes (the cost axis' rule)


class Budget:
    """The run's limits, checked at the start of every iteration k (after its record).

    ``max_iter`` and ``epochs`` become one step limit (``epochs`` counted in the
    sampler's steps); ``max_cost`` is in sample-gradient equivalents
    (cost + forward_evals / 3); ``time_limit`` in seconds since ``t0``. With none
    of them, 200 epochs.
    """

    def __init__(self, sampler, *, max_iter=None, epochs=None, max_cost=None, time_limit=None):
        if max_iter is None and epochs is None and time_limit is None and max_cost is None:
            epochs = 200
        limits = [b for b in (max_iter, None if epochs is None else sampler.steps_for(epochs)) if b is not None]
        self.max_steps = min(limits) if limits else None
        self.step_reason = "max_iter" if max_iter is not None and self.max_steps == max_iter else "epochs"
        self.max_cost, self.time_limit = max_cost, time_limit

    def stop_reason(self, k: int, cost: int, fwd: int, t0: float) -> str | None:
        """The budget used up at iteration k, or None."""
        if self.max_steps is not None and k >= self.max_steps:
            return self.step_reason
        if self.max_cost is not None and cost + fwd / FORWARD_PER_GRADIENT >= self.max_cost:
            return "max_cost"
        if self.time_limit is not None and time.perf_counter() - t0 >= self.time_limit:
            return "time_limit"
        return None

    def steps_left(self, k: int, cost: int, fwd: int) -> int | None:
        """One-sample steps (cost 1 each) that fit before the step or cost limit (None: no such limit)."""
        left = [] if self.max_steps is None else [self.max_steps - k]
        if self.max_cost is not None:
            left.append(math.ceil(self.max_cost - cost - fwd / FORWARD_PER_GRADIENT))
        return min(left) if left else None
