"""Line searches: choose α_k > 0 along a descent direction d^k.

Both work on the one-dimensional function φ(α) = E(w^k + α d^k), given
φ(0) = E(w^k) and the slope φ′(0) = ⟨∇E(w^k), d^k⟩ < 0, and return
``(alpha, info)``.

* :class:`ExactLineSearch` — the lecture's α_k = argmin_{0<α≤α_max} E(w^k + α d^k),
  over the whole interval and exact to the precision of α, not of E:

  1. **scan** φ on a log grid α_max, α_max/r, α_max/r², … (r = ``grow``, r² more
     than ``fine_decades`` away from the warm start) down to a small α near the warm start, and below it (by factors of 10) while the
     grid's smallest point is already past the first minimiser (φ(α) > φ(0) or
     φ′(α) > 0);
  2. every discrete local minimum of the scanned values is a **basin**; the
     basins within reach of the best (their grid value minus their visible depth
     is below the best minimum found so far) are **refined** by finding the root
     of the slope φ′(α) = ∇E(w + αd)ᵀd with a safeguarded method (Brent's root
     finder, ``scipy.optimize.brentq``) inside a bracket where φ′ changes sign
     from − to +, until |φ′(α)| ≤ ``rtol``·|φ′(0)| or the bracket is ``rtol``·α
     wide;
  3. the lowest refined minimum is taken. When φ still falls at α_max (φ′(α_max)
     < 0 and no basin is lower) the direction is **unbounded** below α_max: the
     step is capped at α_max and ``info.unbounded`` says so (the lecture's toy
     data are separable: E's infimum is approached only as ‖w‖ → ∞).

  φ′ decides where values of E cannot: once E(w^k) − min φ is below the rounding
  of E (about ε·E), comparisons of φ cannot tell steps apart, but φ′ still can.
  The slope comes from ``phi.value_and_slope(α) -> (φ(α), φ′(α))`` when the φ
  passed in has it (the training loop's does: one forward pass plus one
  forward-mode pass, see :meth:`mlplab.objective.Problem.value_along`); a plain
  φ without it is refined by bounded Brent minimisation of φ instead, exact only
  to about √ε in α.

  **Cost**: the scan takes 2·log₂ of the fine range plus log₂ of the rest in
  evaluations of φ (about 40 with the defaults), each a forward pass without
  layer 1's GEMMs; each refined basin takes a few (φ, φ′) evaluations (3–10),
  each about two forward passes. ``info.n_evals`` and ``info.n_slope_evals``
  count them; the training loop charges them as forward passes, not gradients.
* :class:`Armijo` — backtracking until the sufficient-decrease condition
  φ(α) ≤ φ(0) + c₁ α φ′(0) holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from mlplab._checks import check_int, check_real

_EPS = float(np.finfo(np.float64).eps)
NOISE = 1e-10  # relative differences of E below this are left to the slope (E's rounding: up to S ε)


@dataclass
class LineSearchInfo:
    """What a line search did.

    Attributes:
        n_evals: evaluations of φ alone (each one forward pass over the batch).
        n_slope_evals: evaluations of (φ, φ′) together (a forward and a forward-mode pass).
        value: φ(α) at the returned α (E at the new point).
        capped: α = ``alpha_max`` was returned.
        unbounded: φ was still decreasing at ``alpha_max`` (φ′(α_max) < 0) and no basin
            below it was lower: along this direction E has no minimiser in (0, α_max].
        failed: no decrease was found (α = 0 returned).
        n_basins: basins (discrete local minima of φ on the scan) seen.
        lowest: the minimum taken is the lowest φ seen anywhere in the search.
    """

    n_evals: int = 0
    n_slope_evals: int = 0
    value: float = math.nan
    capped: bool = False
    unbounded: bool = False
    failed: bool = False
    n_basins: int = 0
    lowest: bool = True


class _Phi:
    """φ (and φ′ when available) with evaluation counters and a cache; non-finite → +inf."""

    def __init__(self, phi: Callable[[float], float], phi0: float, slope0: float):
        self.phi = phi
        self.both = getattr(phi, "value_and_slope", None)
        self.values = {0.0: phi0}
        self.slopes = {0.0: slope0}
        self.n = self.n_slope = 0

    @property
    def has_slope(self) -> bool:
        return self.both is not None

    def noise(self, v: float) -> float:
        """How far apart two values of E near v must be to tell them apart: NOISE·max(|v|, |φ(0)|).

        E sums S per-sample errors, so its rounding grows with S (at worst S ε |E|); below this
        margin only the slope decides (its rounding is that of one gradient)."""
        return NOISE * max(abs(v) if v < math.inf else 0.0, abs(self.values[0.0]))

    def rises(self, x: float, y: float) -> bool:
        """φ(x) lies clearly above φ(y): by more than :meth:`noise`."""
        vx, vy = self(x), self(y)
        return vx > vy + self.noise(vy)

    def __call__(self, alpha: float) -> float:
        v = self.values.get(alpha)
        if v is None:
            self.n += 1
            try:
                v = _finite_or_inf(self.phi(alpha))
            except (OverflowError, FloatingPointError, ZeroDivisionError):  # a step too far
                v = math.inf
            self.values[alpha] = v
        return v

    def slope(self, alpha: float) -> float:
        """φ′(α) (also caches φ(α)); +inf where φ is not finite (a step too far)."""
        s = self.slopes.get(alpha)
        if s is None:
            self.n_slope += 1
            try:
                v, s = self.both(alpha)
            except (OverflowError, FloatingPointError, ZeroDivisionError):
                v = s = math.inf
            v = _finite_or_inf(v)
            s = float(s) if (math.isfinite(s) and v < math.inf) else math.inf
            self.values[alpha], self.slopes[alpha] = v, s
        return s


def _finite_or_inf(v) -> float:
    v = float(v)
    return v if math.isfinite(v) else math.inf


@dataclass(frozen=True)
class ExactLineSearch:
    """α_k = argmin_{0 < α ≤ alpha_max} E(w^k + α d^k), the lowest minimum on the whole interval.

    Args:
        alpha_max: the largest step (default 1e4); φ still decreasing there is
            reported as ``unbounded`` and the step is capped.
        xtol: relative precision of the minimiser: refinement stops when
            |φ′(α)| ≤ xtol·|φ′(0)| or the bracket is xtol·α wide (default 1e-12).
        grow: ratio r of the scan's log grid (default √2: basins narrower than a factor
            of about 1.4 in α can fall between two grid points).
        max_shrink: most grid points added below the scan's lower end while looking
            for the first minimiser (and in φ-only mode, for a decrease).
        scan_below: the scan reaches down to ``warm start / scan_below`` (default
            1e3); the first minimiser below that is still found through φ′.
        max_basins: most basins refined per search (the lowest first).
        zoom: each refined basin is first looked at on a grid ``zoom`` times finer
            (its two grid intervals), so that a narrow dip next to a grid point is seen.
        fine_decades: the scan uses ratio ``grow`` within this many decades of the warm
            start (where the step of the last iteration was) and ``grow``² beyond.
    """

    alpha_max: float = 1e4
    xtol: float = 1e-12
    grow: float = math.sqrt(2.0)
    max_shrink: int = 80
    scan_below: float = 1e3
    max_basins: int = 8
    zoom: int = 4
    fine_decades: float = 2.0

    def __post_init__(self):
        check_real("alpha_max", self.alpha_max, low=0.0, low_open=True)
        check_real("xtol", self.xtol, low=0.0, low_open=True)
        check_real("grow", self.grow, low=1.0, low_open=True)
        check_int("max_shrink", self.max_shrink, low=1)
        check_real("scan_below", self.scan_below, low=1.0)
        check_int("max_basins", self.max_basins, low=1)
        check_int("zoom", self.zoom, low=1)
        check_real("fine_decades", self.fine_decades, low=0.0)

    # --- the search ----------------------------------------------------------------

    def __call__(self, phi, phi0: float, slope: float, alpha_init: float = 1.0):
        f = _Phi(phi, float(phi0), float(slope))
        grid = self._scan(f, alpha_init)
        basins = _basins(grid)
        best = None  # (value, alpha, unbounded)
        refined: set = set()
        first = min((i for i, _ in basins), default=None)  # the basin nearest α = 0
        for i, j in sorted(basins, key=lambda b: (grid[b[0]][1], b[0]))[:self.max_basins]:
            # within reach: every basin that shows a decrease from φ(0), and the first one
            # (whose decrease may be below the rounding of φ(0): its slope decides)
            if i != first and grid[i][1] >= grid[0][1]:
                continue
            found = self._refine(f, grid, i, j)
            if found is None or found[1] in refined or found[0] == math.inf:
                continue
            if i == first and not self._descends(f, found[1]):
                continue
            refined.add(found[1])
            if best is None or found[0] < best[0] or (found[0] == best[0] and found[1] < best[1]):
                best = found
        info = LineSearchInfo(n_basins=len(basins))
        if best is None:
            info.failed, info.value = True, float(phi0)
            info.n_evals, info.n_slope_evals = f.n, f.n_slope
            return 0.0, info
        value, alpha, unbounded = best
        if unbounded and self.alpha_max * abs(slope) <= _EPS * abs(phi0) and not f.rises(0.0, alpha):
            # "still falling at α_max" on a φ flat to rounding: the slope's own prediction of the decrease
            # over all of (0, α_max], α_max |φ′(0)|, is below the rounding of E and no value found lies
            # below φ(0) — there is no decrease to take (a bracketed minimiser is still refined by φ′)
            info.failed, info.value = True, float(phi0)
            info.n_evals, info.n_slope_evals = f.n, f.n_slope
            return 0.0, info
        info.value, info.unbounded = value, unbounded
        info.capped = alpha == self.alpha_max
        info.lowest = value <= min(f.values.values())
        info.n_evals, info.n_slope_evals = f.n, f.n_slope
        return alpha, info

    def _descends(self, f: _Phi, x: float) -> bool:
        """Does the step x, from the basin next to α = 0, really go down? φ(x) < φ(0), or φ′ = 0
        at x, or φ′ < 0 somewhere in (0, x] (values within rounding of φ(0): the slope decides)."""
        if f.rises(0.0, x) or abs(f.slopes.get(x, math.inf)) <= self.xtol * abs(f.slopes[0.0]):
            return True
        return any(s < 0 for a, s in f.slopes.items() if 0 < a <= x)

    def _scan(self, f: _Phi, alpha_init) -> list[tuple[float, float]]:
        """[(α, φ(α))] ascending from (0, φ(0)) to α_max on a log grid from α_max down.

        Ratio r = ``grow`` within ``fine_decades`` of the warm start, r² further away."""
        r = self.grow
        a_init = alpha_init if alpha_init and math.isfinite(alpha_init) and alpha_init > 0 else 1.0
        a_init = min(a_init, self.alpha_max)
        lo = a_init / self.scan_below
        fine_lo, fine_hi = a_init * 10.0 ** -self.fine_decades, a_init * 10.0 ** self.fine_decades
        alphas, a = [], self.alpha_max
        while a >= lo:
            alphas.append(a)
            a /= r if fine_lo <= a <= fine_hi * r else r * r
        alphas.append(a)
        grid = [(x, f(x)) for x in alphas]
        # below the scan: is its smallest point already past the first minimiser? then go on down
        phi0, slope0 = f.values[0.0], f.slopes[0.0]
        for _ in range(self.max_shrink):
            a_small, v_small = grid[-1]
            if a_small * abs(slope0) <= 0.01 * _EPS * abs(phi0):
                break  # a decrease this small (α |φ′(0)| under 1 % of ε |φ(0)|) changes nothing
            if f.has_slope:
                past = v_small > phi0 or f.slope(a_small) > 0
            else:  # φ alone: past it when φ shows no decrease
                past = v_small >= phi0
            if not past:
                break
            a_small /= 10.0  # coarser than the scan: only a point left of the first minimiser is wanted
            if f.has_slope:
                f.slope(a_small)  # φ comes with it
            grid.append((a_small, f(a_small)))
        grid.append((0.0, phi0))
        grid.reverse()
        return grid

    def _refine(self, f: _Phi, grid, i: int, j: int):
        """The local minimiser of the basin spanning grid[i..j] (equal values): (φ, α, unbounded) or None."""
        n = len(grid)
        if not f.has_slope:
            return self._refine_values(f, grid, i, j)
        if j == n - 1 and f.slope(grid[j][0]) <= 0:  # still falling at α_max (or flat: E underflowed)
            a = grid[j][0]
            return f(a), a, True
        # zoom: the intervals on either side of the basin, each cut into `zoom` steps
        lo_i, hi_i = max(i - 1, 0), min(j + 1, n - 1)
        for a, b in ((grid[lo_i][0], grid[i][0]), (grid[j][0], grid[hi_i][0])):
            for t in range(1, self.zoom):
                f(a + (b - a) * t / self.zoom if a == 0 else a * (b / a) ** (t / self.zoom))
        points = sorted(f.values)  # everything evaluated so far, grid and zoom
        lo_a, hi_a = grid[lo_i][0], grid[hi_i][0]
        m = min((k for k, a in enumerate(points) if lo_a <= a <= hi_a), key=lambda k: (f.values[points[k]], k))
        x = points[m]
        if x == 0.0:
            m, x = m + 1, points[m + 1]
        if f.rises(points[m - 1], x) and m + 1 < len(points) and f.rises(points[m + 1], x):
            return self._bracketed(f, points[m - 1], points[m + 1])  # the values show the dip
        # values too close to tell (E's rounding): walk by slope until φ′ changes sign or φ rises
        s = f.slope(x)
        if s < 0:
            for p in points[m + 1:]:
                if f.rises(p, x) or f.slope(p) > 0:
                    return self._bracketed(f, x, p)
            return f(points[-1]), points[-1], True  # still falling at α_max
        for p in reversed(points[:m]):
            if f.slope(p) < 0 or f.rises(p, x):
                return self._bracketed(f, p, x)
        return None  # pragma: no cover (φ′(0) < 0 ends the walk)

    def _bracketed(self, f: _Phi, a: float, b: float):
        """A local minimiser inside (a, b), to |φ′| ≤ xtol·|φ′(0)| or a bracket xtol·α wide.

        Invariant ("valid"): φ′(a) < 0 or φ(a) clearly above φ(b), and φ′(b) > 0 or φ(b)
        clearly above φ(a): then the minimum of φ over [a, b] is inside. Each trial c (a
        secant step on φ′ where both slopes are known with opposite signs, safeguarded;
        otherwise a bisection, geometric across wide ranges) keeps a valid half, the
        one holding the lowest point.
        """
        target = self.xtol * abs(f.slopes[0.0])
        a0, b0 = a, b

        def valid(x, y):
            return (f.slope(x) < 0 or f.rises(x, y)) and (f.slope(y) > 0 or f.rises(y, x))

        slow = 0  # steps that did not halve the bracket: then bisect
        for _ in range(200):
            width = b - a
            if width <= self.xtol * b:
                break
            sa, sb = f.slope(a), f.slope(b)
            if sa < 0 < sb < math.inf and slow < 2:
                c = a - sa * width / (sb - sa)  # secant on φ′
                c = min(max(c, a + 1e-3 * width), b - 1e-3 * width)
            elif a > 0 and b > 4 * a:
                c = math.sqrt(a * b)
            else:
                c = a + 0.5 * width
            sc, vc = f.slope(c), f(c)
            if abs(sc) <= target and not (f.rises(c, a) or f.rises(c, b)):
                return vc, c, False
            left, right = valid(a, c), valid(c, b)
            if left and right:  # two dips: follow the lower side
                a_new, b_new = (c, b) if min(vc, f(b)) < f(a) or (vc <= f(a) and sc < 0) else (a, c)
            elif left:
                a_new, b_new = a, c
            elif right:
                a_new, b_new = c, b
            else:
                break
            slow = slow + 1 if (b_new - a_new) > 0.5 * width else 0
            a, b = a_new, b_new
        # the lowest point; among points within E's rounding of it, the flattest (|φ′| decides)
        inside = [p for p in f.values if a0 <= p <= b0 and p > 0]
        low = min(f.values[p] for p in inside)
        near = [p for p in inside if f.values[p] <= low + f.noise(low)]
        x = min(near, key=lambda p: (abs(f.slopes.get(p, math.inf)), f.values[p], p))
        return f(x), x, False

    def _refine_values(self, f: _Phi, grid, i: int, j: int):
        """φ-only refinement: bounded Brent on φ in the basin's bracket."""
        n = len(grid)
        if j == n - 1:  # the lowest values sit at α_max: still falling there
            a = grid[n - 1][0]
            return f(a), a, True
        lo, hi = grid[max(i - 1, 0)][0], grid[j + 1][0]
        if i == 0:  # no decrease was visible down to the rounding of φ(0)
            return None
        best_a, best_v = grid[i][0], grid[i][1]
        from scipy.optimize import minimize_scalar  # (scipy.optimize takes ~1 s to import: only when used)

        res = minimize_scalar(f, bounds=(lo, hi), method="bounded",
                              options={"xatol": max(self.xtol, 1e-10) * hi, "maxiter": 60})
        if res.success and math.isfinite(res.fun) and res.fun < best_v and res.x > 0:
            best_a, best_v = float(res.x), float(res.fun)
        if best_v >= f.values[0.0]:
            return None
        return best_v, best_a, False


def _basins(grid) -> list[tuple[int, int]]:
    """Discrete local minima of φ on the ascending grid: (first, last index) of each.

    Runs of equal values count as one point. The run holding α = 0 is a basin when
    the next run is higher (a first minimiser too close to 0 to show in φ); the run
    at α_max is one when it is lower than the run before it.
    """
    runs, start = [], 0
    for k in range(1, len(grid) + 1):
        if k == len(grid) or grid[k][1] != grid[start][1]:
            runs.append((start, k - 1, grid[start][1]))
            start = k
    out = []
    for r, (i, j, v) in enumerate(runs):
        left = runs[r - 1][2] if r > 0 else math.inf
        right = runs[r + 1][2] if r + 1 < len(runs) else math.inf
        if v < left and v < right and v < math.inf:
            out.append((i, j))
    return out


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
        f = _Phi(phi, phi0, slope)
        alpha = self.alpha0 if alpha_init is None else min(alpha_init * self.grow, self.alpha0 * 1e6)
        for _ in range(self.max_iter):
            value = f(alpha)
            if value <= phi0 + self.c1 * alpha * slope:  # sufficient decrease
                return alpha, LineSearchInfo(n_evals=f.n, value=value)
            alpha *= self.rho
        return 0.0, LineSearchInfo(n_evals=f.n, value=phi0, failed=True)
