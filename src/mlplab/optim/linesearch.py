"""Line searches: choose α^k > 0 along a descent direction d^k.

Both work on the one-dimensional function φ(α) = E(w^k + α d^k), given
φ(0) = E(w^k) and the slope φ′(0) = ⟨∇E(w^k), d^k⟩ < 0, and return
``(alpha, info)``.

* :class:`ExactLineSearch` — the lecture's α^k = argmin_{α>0} E(w^k + α d^k):
  bracket the minimiser by expanding (or shrinking) trial steps, then refine it
  with bounded Brent minimisation (``scipy.optimize.minimize_scalar``). When E
  keeps decreasing as α grows — the lecture's toy data is separable, so its
  infimum is only approached as ‖w‖ → ∞ — α is capped at ``alpha_max`` and
  ``info.capped`` is set; the search never loops forever and never returns
  inf or NaN.
* :class:`Armijo` — backtracking until the sufficient-decrease condition
  φ(α) ≤ φ(0) + c₁ α φ′(0) holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from scipy.optimize import minimize_scalar

from mlplab._checks import check_int, check_real


@dataclass
class LineSearchInfo:
    """What a line search did.

    Attributes:
        n_evals: evaluations of φ (each one forward pass over the batch).
        value: φ(α) at the returned α (E at the new point).
        capped: α reached ``alpha_max`` while E was still decreasing.
        failed: no decrease was found (α = 0 returned).
    """

    n_evals: int = 0
    value: float = math.nan
    capped: bool = False
    failed: bool = False


class _Counted:
    """φ with an evaluation counter; non-finite values read as +inf (a step too far)."""

    def __init__(self, phi: Callable[[float], float]):
        self.phi, self.n = phi, 0

    def __call__(self, alpha: float) -> float:
        self.n += 1
        v = self.phi(alpha)
        return v if math.isfinite(v) else math.inf


@dataclass(frozen=True)
class ExactLineSearch:
    """α^k = argmin_{0 < α ≤ alpha_max} E(w^k + α d^k).

    Args:
        alpha_max: cap on α (default 1e4); reaching it is reported as ``capped``.
        xtol: relative tolerance on α of the final Brent refinement.
        grow: factor by which trial steps expand (or shrink) while bracketing.
        max_shrink: maximum number of shrinking trials before giving up.
    """

    alpha_max: float = 1e4
    xtol: float = 1e-8
    grow: float = 2.0
    max_shrink: int = 80

    def __post_init__(self):
        check_real("alpha_max", self.alpha_max, low=0.0, low_open=True)
        check_real("xtol", self.xtol, low=0.0, low_open=True)
        check_real("grow", self.grow, low=1.0, low_open=True)
        check_int("max_shrink", self.max_shrink, low=1)

    def __call__(self, phi, phi0: float, slope: float, alpha_init: float = 1.0):
        f = _Counted(phi)
        info = LineSearchInfo()
        # start below the cap so that "still decreasing at alpha_max" is observed, not assumed
        a_cur = min(max(alpha_init, 1e-12), self.alpha_max / self.grow)
        f_cur = f(a_cur)
        if f_cur >= phi0:
            # shrink until E decreases: then (0, a_cur, a_hi) brackets a minimiser
            a_hi = a_cur
            for _ in range(self.max_shrink):
                a_cur /= self.grow
                f_cur = f(a_cur)
                if f_cur < phi0:
                    break
                a_hi = a_cur
            else:
                info.n_evals, info.value, info.failed = f.n, phi0, True
                return 0.0, info
            a_lo = 0.0
        else:
            # expand while E does not increase (a plateau, e.g. E rounded to exactly 0 on
            # separable data, is followed to the cap: the minimiser lies further out)
            a_lo = 0.0
            while True:
                a_next = min(a_cur * self.grow, self.alpha_max)
                f_next = f(a_next)
                if f_next > f_cur:
                    a_hi = a_next
                    break
                a_lo, a_cur, f_cur = a_cur, a_next, f_next
                if a_cur >= self.alpha_max:
                    info.n_evals, info.value, info.capped = f.n, f_cur, True
                    return self.alpha_max, info
        # refine inside the bracket a_lo < a_cur < a_hi, with φ(a_cur) below both ends
        res = minimize_scalar(f, bounds=(a_lo, a_hi), method="bounded",
                              options={"xatol": self.xtol * a_hi})
        alpha, value = a_cur, f_cur
        if res.success and math.isfinite(res.fun) and res.fun < f_cur and res.x > 0:
            alpha, value = float(res.x), float(res.fun)
        info.n_evals, info.value = f.n, value
        return alpha, info


@dataclass(frozen=True)
class Armijo:
    """Backtracking: the largest α = alpha0 · rho^i with φ(α) ≤ φ(0) + c1 α φ′(0).

    Args:
        alpha0: first trial step (the previous accepted step times ``grow`` is
            used instead when available, capped at alpha0 · 1e6).
        c1: sufficient-decrease constant in (0, 1).
        rho: backtracking factor in (0, 1).
        grow: factor applied to the previous step to start the next search.
        max_iter: maximum number of trials before giving up (α = 0).
    """

    alpha0: float = 1.0
    c1: float = 1e-4
    rho: float = 0.5
    grow: float = 2.0
    max_iter: int = 60

    def __post_init__(self):
        check_real("alpha0", self.alpha0, low=0.0, low_open=True)
        check_real("c1", self.c1, low=0.0, high=1.0, low_open=True, high_open=True)
        check_real("rho", self.rho, low=0.0, high=1.0, low_open=True, high_open=True)
        check_real("grow", self.grow, low=1.0)
        check_int("max_iter", self.max_iter, low=1)

    def __call__(self, phi, phi0: float, slope: float, alpha_init: float | None = None):
        f = _Counted(phi)
        alpha = self.alpha0 if alpha_init is None else min(alpha_init * self.grow, self.alpha0 * 1e6)
        for _ in range(self.max_iter):
            value = f(alpha)
            if value <= phi0 + self.c1 * alpha * slope:  # sufficient decrease
                return alpha, LineSearchInfo(n_evals=f.n, value=value)
            alpha *= self.rho
        return 0.0, LineSearchInfo(n_evals=f.n, value=phi0, failed=True)
