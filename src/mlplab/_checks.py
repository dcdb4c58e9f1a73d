"""Argument checks at the API boundary: clear ValueErrors that quote the bad value."""

from __future__ import annotations

import math
import numbers


def is_real(value) -> bool:
    """A real number (Python or NumPy scalar), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and not _is_np_bool(value)


def _is_np_bool(value) -> bool:
    return type(value).__name__ == "bool" and type(value).__module__ == "numpy"


def check_real(name: str, value, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    """Return float(value) if it is a finite real number in the given interval, else raise ValueError.

    ``low``/``high`` are inclusive bounds unless ``low_open``/``high_open``.
    """
    ok = is_real(value) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        where = f" in {lo or '(-inf'}, {hi or 'inf)'}" if (low is not None or high is not None) else ""
        raise ValueError(f"{name} must be a finite number{where}, got {value!r}")
    return float(value)


def check_int(name: str, value, *, low: int = 0) -> int:
    """Return int(value) if it is an integer >= low, else raise ValueError."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or _is_np_bool(value) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def make_rng(seed, name: str = "seed"):
    """np.random.Generator from None, an integer >= 0, or a Generator (used as is)."""
    import numpy as np

    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    return np.random.default_rng(check_int(name, seed, low=0))
