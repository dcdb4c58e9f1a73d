"""Convergence rates: does E(w^k) − E* fall like C k^{−p} (sublinear) or like C q^k (linear)?

The lecture's rates: GD O(1/√k) under minor assumptions if a local optimum
exists (O(1/k²) possible, linear for strongly convex smooth E); SGD and
mini-batch SGD O(1/k) for smooth E in theory, with step sizes γ_k satisfying
Robbins–Monro (Σγ_k = ∞, Σγ_k² < ∞). :func:`fit_rate` fits both laws as straight
lines — log(E − E*) against log k and against k — and keeps the better one;
:func:`theory_rate` quotes the lecture for a method. NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RateFit:
    """Empirical rate of E(w^k) − E* over a window of k.

    Attributes:
        kind: "sublinear" (E − E* ≈ C k^{−p}) or "linear" (E − E* ≈ C q^k),
            whichever straight line fits better (log-log vs semi-log R²).
        p: the fitted exponent of the power law (always computed).
        q: the fitted ratio of the geometric law (always computed).
        C: the constant of the chosen law.
        r2_power, r2_linear: R² of the two fits.
        window: (k_lo, k_hi) used.
    """

    kind: str
    p: float
    q: float
    C: float
    r2_power: float
    r2_linear: float
    window: tuple[int, int]

    @property
    def flat(self) -> bool:
        """A linear fit whose ratio q is within :data:`Q_TOL` of 1: no measurable linear rate."""
        return self.kind == "linear" and abs(self.q - 1.0) < Q_TOL

    @property
    def r2(self) -> float:
        """R² of the chosen law."""
        return self.r2_linear if self.kind == "linear" else self.r2_power

    @property
    def falls(self) -> bool:
        """The chosen law has E − E* falling: q < 1 − :data:`Q_TOL` (linear) or p > 0 (power law)."""
        return self.q < 1.0 - Q_TOL if self.kind == "linear" else self.p > 0

    @property
    def fits(self) -> bool:
        """Whether the law is worth drawing and quoting: R² ≥ :data:`R2_MIN` and a measurable rate (not
        :attr:`flat`). A fit that does not fit is neither drawn nor quoted as a rate (:meth:`describe`
        says why); a law that fits while E − E* grows is quoted as what it is (k^(+p), q > 1)."""
        return self.r2 >= R2_MIN and not self.flat

    def describe(self) -> str:
        if self.kind == "linear" and self.flat:
            return f"no measurable linear rate (|q − 1| < {Q_TOL:g}; R² {self.r2_linear:.3f})"
        if not self.fits:
            return (f"no rate: neither C·k^(−p) nor C·q^k fits E − E* over k = {self.window[0]}…{self.window[1]} "
                    f"(best R² {self.r2:.2f} < {R2_MIN:g})")
        if self.kind == "linear":
            return f"linear: E − E* ≈ {self.C:.2g}·{_base(self.q)}^k (R² {self.r2_linear:.3f})"
        sign = "−" if self.p >= 0 else ""  # a negative p (E growing) prints as k^(2.28), not k^(−-2.28)
        return f"E − E* ≈ {self.C:.2g}·k^({sign}{abs(self.p):.2f}) (R² {self.r2_power:.3f})"


Q_TOL = 1e-3  # a linear ratio q with |q − 1| below this is no measurable rate
R2_MIN = 0.9  # a law fitting worse than this (R² of log(E − E*)) is not shown as a rate
MIN_POINTS = 5  # fewer points than this: no fit


def _base(q: float) -> str:
    """q with as many significant digits (3 or more) as it takes not to print as 1."""
    for digits in range(3, 17):
        text = f"{q:.{digits}g}"
        if float(text) != 1.0:
            return text
    return repr(q)


def _r2(x, y, coef):
    resid = y - np.polyval(coef, x)
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum(resid ** 2)) / ss if ss > 0 else 1.0


def fit_rate(k, err, window=None, min_points: int = MIN_POINTS) -> RateFit:
    """Fit E − E* ∼ C k^{−p} (straight line in log-log) and ∼ C q^k (straight line in semi-log).

    Args:
        k: iteration indices (n,).
        err: E(w^k) − E* (n,); non-positive or non-finite entries are dropped.
        window: (k_lo, k_hi) inclusive; default: the second half of the run
            (k ≥ k_max / 2), where the asymptotic rate shows.
        min_points: the fewest usable points (k ≥ 1, E − E* > 0, in the window)
            to fit on (default 5); fewer raise ``ValueError``.

    Returns:
        :class:`RateFit`; ``kind`` is the law whose fit has the larger R².
    """
    k = np.asarray(k, dtype=float)
    err = np.asarray(err, dtype=float)
    if k.shape != err.shape:
        raise ValueError(f"k and err must have the same shape, got {k.shape} and {err.shape}")
    if window is None:
        window = (max(1, int(np.nanmax(k) // 2)) if k.size else 1, int(np.nanmax(k)) if k.size else 1)
    lo, hi = window
    keep = (k >= max(lo, 1)) & (k <= hi) & np.isfinite(err) & (err > 0)
    if isinstance(min_points, bool) or not isinstance(min_points, (int, np.integer)) or min_points < 3:
        raise ValueError(f"min_points must be an integer >= 3, got {min_points!r}")
    if keep.sum() < min_points:
        raise ValueError(f"fit_rate needs at least {min_points} points with k >= 1 and E - E* > 0 in the window "
                         f"{window}, got {int(keep.sum())}")
    kk, le = k[keep], np.log(err[keep])
    cp = np.polyfit(np.log(kk), le, 1)
    cl = np.polyfit(kk, le, 1)
    r2p, r2l = _r2(np.log(kk), le, cp), _r2(kk, le, cl)
    kind = "linear" if r2l > r2p else "sublinear"
    C = float(np.exp(cl[1] if kind == "linear" else cp[1]))
    return RateFit(kind, float(-cp[0]), float(np.exp(cl[0])), C, r2p, r2l, (int(lo), int(hi)))


def theory_rate(optimizer) -> str:
    """What the lecture says about the convergence of this method (a sentence)."""
    name = type(optimizer).__name__
    base = getattr(optimizer, "base", None)
    if base is not None and name in ("Momentum", "Adam"):
        return f"{name} on {theory_rate(base)} (not covered by the lecture's rates)"
    if name == "GD":
        return ("GD: E(w^k) − E* = O(1/√k) under minor assumptions if a local optimum exists; "
                "O(1/k²) possible; linear if E is strongly convex and smooth")
    sched = getattr(optimizer, "schedule", None)
    rm = getattr(sched, "robbins_monro", None)
    cond = ("γ_k satisfies Robbins–Monro (Σγ_k = ∞, Σγ_k² < ∞): asymptotic convergence"
            if rm else "γ_k does not satisfy Robbins–Monro: no convergence guarantee (noise floor)"
            if rm is False else "Robbins–Monro status of γ_k unknown")
    if name == "SGD":
        return f"SGD: O(1/k) possible for smooth E (in theory); {cond}"
    if name == "MiniBatchSGD":
        return f"mini-batch SGD: like SGD, O(1/k) for smooth E in theory; {cond}"
    return f"{name}: no rate in the lecture"
