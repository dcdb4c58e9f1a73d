"""Step-size schedules k ↦ γ_k, pure functions of the iteration counter k = 0, 1, 2, …

Each schedule knows whether it meets the Robbins–Monro conditions under which
the lecture's SGD converges asymptotically:

    Σ_k γ_k = ∞   and   Σ_k γ_k² < ∞.

``robbins_monro`` is ``True``/``False`` for the built-in schedules and ``None``
for an arbitrary callable (unknown).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from mlplab._checks import check_int, check_real, is_real


class Schedule:
    """Base class: ``schedule(k) -> γ_k``; subclasses are frozen dataclasses."""

    def __call__(self, k: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def values(self, k0: int, n: int) -> list[float]:
        """[γ_{k0}, …, γ_{k0+n−1}] as Python floats, equal to calling the schedule at each k."""
        return [float(self(k)) for k in range(k0, k0 + n)]

    @property
    def sum_diverges(self) -> bool | None:
        """Σ_k γ_k = ∞ ?"""
        return None

    @property
    def sum_squares_converges(self) -> bool | None:
        """Σ_k γ_k² < ∞ ?"""
        return None

    @property
    def robbins_monro(self) -> bool | None:
        a, b = self.sum_diverges, self.sum_squares_converges
        if a is None or b is None:
            return None
        return a and b


@dataclass(frozen=True)
class Constant(Schedule):
    """γ_k = c. Not Robbins–Monro: Σγ_k² = ∞ (SGD only reaches a neighbourhood)."""

    c: float = 0.01

    def __post_init__(self):
        check_real("constant step size c", self.c, low=0.0, low_open=True)

    def __call__(self, k: int) -> float:
        return self.c

    def values(self, k0: int, n: int) -> list[float]:
        return [float(self.c)] * n

    sum_diverges = property(lambda self: True)
    sum_squares_converges = property(lambda self: False)


@dataclass(frozen=True)
class Inverse(Schedule):
    """γ_k = c / (k + 1) — the lecture's typical choice (c = 1). Robbins–Monro."""

    c: float = 1.0

    def __post_init__(self):
        check_real("inverse schedule c", self.c, low=0.0, low_open=True)

    def __call__(self, k: int) -> float:
        return self.c / (k + 1)

    def values(self, k0: int, n: int) -> list[float]:
        # one IEEE division per k, as in __call__: the same numbers, without a Python loop
        return (float(self.c) / np.arange(k0 + 1, k0 + n + 1, dtype=np.float64)).tolist()

    sum_diverges = property(lambda self: True)
    sum_squares_converges = property(lambda self: True)


@dataclass(frozen=True)
class Power(Schedule):
    """γ_k = c / (k + 1)^p. Robbins–Monro exactly when 1/2 < p ≤ 1."""

    c: float = 1.0
    p: float = 0.75

    def __post_init__(self):
        check_real("power schedule c", self.c, low=0.0, low_open=True)
        check_real("power schedule p", self.p, low=0.0)

    def __call__(self, k: int) -> float:
        return self.c / (k + 1) ** self.p

    sum_diverges = property(lambda self: self.p <= 1)
    sum_squares_converges = property(lambda self: self.p > 0.5)


@dataclass(frozen=True)
class StepDecay(Schedule):
    """γ_k = c · factor^⌊k / every⌋. Not Robbins–Monro for factor < 1: Σγ_k < ∞."""

    c: float = 0.1
    factor: float = 0.5
    every: int = 1000

    def __post_init__(self):
        check_real("step decay c", self.c, low=0.0, low_open=True)
        check_real("step decay factor", self.factor, low=0.0, high=1.0, low_open=True)
        check_int("step decay 'every'", self.every, low=1)

    def __call__(self, k: int) -> float:
        return self.c * self.factor ** (k // self.every)

    sum_diverges = property(lambda self: self.factor == 1)
    sum_squares_converges = property(lambda self: self.factor < 1)


@dataclass(frozen=True)
class Exponential(Schedule):
    """γ_k = c · e^{−rate·k}. Not Robbins–Monro for rate > 0: Σγ_k < ∞."""

    c: float = 0.1
    rate: float = 1e-3

    def __post_init__(self):
        check_real("exponential schedule c", self.c, low=0.0, low_open=True)
        check_real("exponential schedule rate", self.rate, low=0.0)

    def __call__(self, k: int) -> float:
        return self.c * math.exp(-self.rate * k)

    sum_diverges = property(lambda self: self.rate == 0)
    sum_squares_converges = property(lambda self: self.rate > 0)


@dataclass(frozen=True)
class Custom(Schedule):
    """Any callable k ↦ γ_k; the Robbins–Monro conditions are unknown (``None``)."""

    fn: Callable[[int], float]

    def __call__(self, k: int) -> float:
        gamma = self.fn(k)
        if not is_real(gamma) or not math.isfinite(gamma) or gamma <= 0:
            raise ValueError(f"schedule {self.fn!r} gave gamma_{k} = {gamma!r}; step sizes must be finite numbers > 0")
        return float(gamma)


# lower-case constructors, as users write them
constant = Constant
inverse = Inverse
power = Power
step = StepDecay
exponential = Exponential

SCHEDULES = {"constant": Constant, "inverse": Inverse, "power": Power, "step": StepDecay,
             "exponential": Exponential, "exp": Exponential}


def as_schedule(schedule, default: Schedule | None = None) -> Schedule:
    """A Schedule from a Schedule, a number (constant γ), a name, or a callable k ↦ γ_k."""
    if schedule is None:
        if default is None:
            raise ValueError("a schedule is required")
        return default
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}; valid schedules are: {', '.join(SCHEDULES)}")
        return SCHEDULES[schedule]()
    if is_real(schedule):
        return Constant(float(schedule))
    if callable(schedule):
        return Custom(schedule)
    raise ValueError(
        f"schedule must be a Schedule, a positive number, a name ({', '.join(SCHEDULES)}) "
        f"or a callable k -> gamma_k; got {schedule!r}"
    )
