"""Pins on the exact line search's values at its boundaries (issue 28, item 10).

Every φ here is plain Python arithmetic (no BLAS), so the values, the grid and the
evaluation counts are the same on every machine; the counts are pinned only for these
φ, never for a network's E (whose last bits depend on the BLAS kernel).

Oracles: closed-form minimisers, hand-built piecewise-linear φ with exactly known
values, and :func:`scipy.optimize.brentq` on φ′ for a smooth two-basin φ.
"""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from mlplab.optim import ExactLineSearch
from mlplab.optim.linesearch import NOISE, _basins, _Phi


class Counted:
    """φ with (optionally) ``value_and_slope``; counts its calls of each."""

    def __init__(self, phi, dphi=None):
        self.phi, self.dphi, self.calls, self.both_calls = phi, dphi, 0, 0
        self.alphas = []
        if dphi is not None:
            self.value_and_slope = self._both

    def __call__(self, a):
        self.calls += 1
        self.alphas.append(a)
        return self.phi(a)

    def _both(self, a):
        self.both_calls += 1
        self.alphas.append(a)
        return self.phi(a), self.dphi(a)


# --- the noise margin -----------------------------------------------------------------------


def test_noise_is_relative_to_the_larger_of_the_value_and_phi0():
    f = _Phi(lambda a: 0.0, 2.0, -1.0)
    assert NOISE == 1e-10
    assert f.noise(1.0) == NOISE * 2.0  # |φ(0)| = 2 is the larger
    assert f.noise(-5.0) == NOISE * 5.0  # |v| = 5 is
    assert f.noise(math.inf) == NOISE * 2.0  # a step too far: φ(0)'s scale
    assert _Phi(lambda a: 0.0, 0.0, -1.0).noise(0.0) == 0.0


def test_rises_is_strictly_more_than_the_noise_margin():
    f = _Phi(lambda a: 0.0, 1.0, -1.0)
    margin = f.noise(1.0)
    above = 1.0 + margin
    f.values.update({1.0: 1.0, 2.0: above, 3.0: math.nextafter(above, math.inf), 4.0: 1.0 + 0.5 * margin})
    assert not f.rises(2.0, 1.0)  # exactly the margin above: not clearly above
    assert f.rises(3.0, 1.0)  # one ulp more: clearly above
    assert not f.rises(4.0, 1.0) and not f.rises(1.0, 4.0) and not f.rises(1.0, 1.0)
    f.values[5.0] = 1.0 + 3 * margin
    assert f.rises(5.0, 1.0) and not f.rises(1.0, 5.0)


def test_values_are_cached_and_counted_once():
    phi = Counted(lambda a: (a - 1.0) ** 2, lambda a: 2 * (a - 1.0))
    f = _Phi(phi, 1.0, -2.0)
    assert f(0.5) == 0.25 and f(0.5) == 0.25 and f.n == 1 and phi.calls == 1
    assert f.slope(0.25) == -1.5 and f.slope(0.25) == -1.5 and f.n_slope == 1 and phi.both_calls == 1
    assert f(0.25) == 0.5625 and f.n == 1  # φ came with the slope: no new evaluation
    assert f(0.0) == 1.0 and f.n == 1  # φ(0) is given


def test_non_finite_values_and_slopes_count_as_infinitely_high():
    def phi(a):
        if a > 5:
            raise OverflowError
        return math.nan if a > 4 else 1.0 - a

    f = _Phi(Counted(phi, lambda a: math.nan if a > 4 else -1.0), 1.0, -1.0)
    assert f(6.0) == math.inf and f(4.5) == math.inf and f(2.0) == -1.0
    assert f.slope(4.5) == math.inf and f.slope(2.0) == -1.0


# --- the scan's grid ---------------------------------------------------------------------------


@pytest.mark.parametrize("alpha_init", [1.0, 1.2, 0.37])
def test_scan_grid_ratios_range_and_lower_end(alpha_init):
    ls = ExactLineSearch(alpha_max=1e4)
    f = _Phi(lambda a: 1.0 + a, 1.0, -1.0)  # rises at once: the shrink loop will go on down
    f.both = None  # φ alone
    grid = ls._scan(f, alpha_init)
    a = np.array([x for x, _ in grid])
    assert a[0] == 0.0 and a[-1] == 1e4 and np.all(np.diff(a) > 0)
    assert [v for _, v in grid] == [1.0 + x for x in a]
    lo = alpha_init / 1e3  # warm start / scan_below
    scan = a[a >= lo / 2 * (1 - 1e-12)]
    assert scan[0] < lo <= scan[1]  # the scan's last point is the first below lo
    # ratio √2 where the upper point lies within two decades of the warm start (up to 1e2·√2 times it), else 2
    upper, r = scan[1:], scan[1:] / scan[:-1]
    fine = (upper >= alpha_init * 1e-2) & (upper <= alpha_init * 1e2 * math.sqrt(2))
    assert fine.sum() >= 20 and (~fine).sum() >= 8
    assert np.allclose(r[fine], math.sqrt(2), rtol=1e-12) and np.allclose(r[~fine], 2.0, rtol=1e-12)
    # φ(α) > φ(0) at the scan's end, so points go on down by factors of 10 until α|φ′(0)| ≤ 0.01 ε |φ(0)|
    below = a[1:len(a) - len(scan)]
    assert np.allclose(below[1:] / below[:-1], 10.0, rtol=1e-12) and below[-1] * 10 == pytest.approx(scan[0])
    eps = np.finfo(float).eps
    assert below[0] <= 0.01 * eps < below[1]


def test_scan_boundaries_met_exactly():
    # grow = 2 (and 4 outside the fine range): every grid point is exact, so the boundaries are met exactly —
    # the fine range [4, 4·10⁰·2] from its top 8 down to the warm start 4 itself, and lo = 4/512 = 2⁻⁷
    # (kept, then one more point below it)
    ls = ExactLineSearch(alpha_max=2048.0, grow=2.0, fine_decades=0.0, scan_below=512.0)
    f = _Phi(lambda a: 1.0 - a / 4096, 1.0, -1 / 4096)
    f.both = None
    a = [x for x, _ in ls._scan(f, 4.0)]
    assert a == [0.0, 2.0 ** -9, 2.0 ** -7, 2.0 ** -5, 2.0 ** -3, 0.5, 2.0, 4.0, 8.0, 32.0, 128.0, 512.0, 2048.0]
    # the same grid when its lowest point is exactly the minimiser (φ′ = 0 there, not past it: no more points)
    m = 2.0 ** -9
    g = _Phi(Counted(lambda x: (x - m) ** 2, lambda x: 2 * (x - m)), m * m, -2 * m)
    assert [x for x, _ in ls._scan(g, 4.0)] == a and g.slopes[m] == 0.0
    # one ulp further the slope is positive: the grid goes on down by a factor of 10
    m2 = math.nextafter(m, 0.0)
    g = _Phi(Counted(lambda x: (x - m2) ** 2, lambda x: 2 * (x - m2)), m2 * m2, -2 * m2)
    assert [x for x, _ in ls._scan(g, 4.0)] == [0.0, m / 10] + a[1:]


def test_scan_with_a_warm_start_above_alpha_max_uses_alpha_max():
    ls = ExactLineSearch(alpha_max=100.0)
    f = _Phi(lambda a: 1.0 - a / 1000, 1.0, -1e-3)
    a = [x for x, _ in ls._scan(f, 1e6)]
    assert a[-1] == 100.0 and a[-2] == pytest.approx(100 / math.sqrt(2), rel=1e-14)
    assert min(x for x in a if x > 0) < 100.0 / 1e3 <= sorted(x for x in a if x > 0)[1]


def test_first_minimiser_far_below_the_scan_is_reached_in_decades():
    # φ′(α) > 0 at the scan's lowest point: points by factors of 10 down to where φ′ < 0 again
    phi = Counted(lambda a: (a - 1e-9) ** 2, lambda a: 2 * (a - 1e-9))
    ls = ExactLineSearch()
    f = _Phi(phi, 1e-18, -2e-9)
    grid = ls._scan(f, 1.0)
    a = [x for x, _ in grid]
    lows = [x for x in a if 0 < x < 1e-3]
    assert lows[0] < 1e-9 < lows[1] and lows[1] / lows[0] == pytest.approx(10.0, rel=1e-12)
    assert f.slopes[lows[0]] < 0 < f.slopes[lows[1]]


def test_basins_of_a_hand_made_grid():
    g = [(0.0, 1.0), (1.0, 0.5), (2.0, 0.5), (3.0, 0.7), (4.0, 0.2), (5.0, 0.9), (6.0, 0.9), (7.0, 0.3)]
    assert _basins(g) == [(1, 2), (4, 4), (7, 7)]  # a run of equal values is one basin; α_max is one
    assert _basins([(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]) == [(0, 0)]  # φ(0) lowest: the run at 0
    assert _basins([(0.0, 1.0), (1.0, 1.0), (2.0, 3.0)]) == [(0, 1)]
    assert _basins([(0.0, 1.0), (1.0, 0.5), (2.0, 0.5)]) == [(1, 2)]  # lowest at α_max
    assert _basins([(0.0, 1.0), (1.0, math.inf), (2.0, math.inf)]) == [(0, 0)]  # inf is never a basin
    assert _basins([(0.0, 1.0), (1.0, 0.5), (2.0, 0.5), (3.0, 0.5)]) == [(1, 3)]


# --- which minimum is taken ---------------------------------------------------------------------


def W(a):
    """Two flat-bottomed basins with the same floor, exactly 0: [1, 2] and [3, 4]."""
    if a <= 1:
        return 1 - a
    if a <= 2:
        return 0.0
    if a <= 2.5:
        return a - 2
    if a <= 3:
        return 3 - a
    if a <= 4:
        return 0.0
    return a - 4


def dW(a):
    if a < 1:
        return -1.0
    if a <= 2:
        return 0.0
    if a < 2.5:
        return 1.0
    if a < 3:
        return -1.0
    if a <= 4:
        return 0.0
    return 1.0


@pytest.mark.parametrize("alpha_max", [1e4, 64.0])
def test_equal_floors_take_the_nearer_basin_and_it_is_the_lowest_value(alpha_max):
    phi = Counted(W, dW)
    alpha, info = ExactLineSearch(alpha_max=alpha_max)(phi, 1.0, -1.0)
    assert 1.0 <= alpha <= 2.0 and info.value == 0.0 and W(alpha) == 0.0  # not the basin [3, 4]
    assert info.lowest and info.n_basins == 2 and not info.capped and not info.unbounded and not info.failed
    assert info.n_evals == phi.calls and info.n_slope_evals == phi.both_calls
    # where on the flat floor: the first point the walk reaches from the floor's left end (pure Python φ:
    # the same α and counts on every machine)
    expected = {1e4: (1.026484881901505, 50, 7), 64.0: (1.045253866332628, 42, 7)}[alpha_max]
    assert alpha == pytest.approx(expected[0], rel=1e-9) and (info.n_evals, info.n_slope_evals) == expected[1:]


def narrow(a):
    """A broad shallow basin near α = 10 and a narrow deep one near 3 that the grid barely sees."""
    return 1 - 0.6 * math.exp(-((a - 10) / 5) ** 2) - math.exp(-((a - 3) / 0.35) ** 2)


def dnarrow(a):
    return 0.048 * (a - 10) * math.exp(-((a - 10) / 5) ** 2) + (a - 3) / 0.06125 * math.exp(-((a - 3) / 0.35) ** 2)


def test_the_lowest_sampled_value_is_not_the_minimiser():
    ls = ExactLineSearch()
    f = _Phi(narrow, narrow(0.0), dnarrow(0.0))
    grid = ls._scan(f, 1.0)
    a_low, v_low = min(grid, key=lambda t: t[1])
    assert 9 < a_low < 11 and v_low > 0.3  # the grid's lowest value lies in the broad basin
    a_star = brentq(dnarrow, 2.9, 3.1, xtol=1e-15)  # the narrow basin's minimiser, E ≈ −0.085
    assert narrow(a_star) < -0.08
    phi = Counted(narrow, dnarrow)
    alpha, info = ls(phi, narrow(0.0), dnarrow(0.0))
    assert alpha == pytest.approx(a_star, rel=1e-10) and info.value == narrow(alpha)
    assert info.value == pytest.approx(narrow(a_star), abs=1e-14) and info.lowest and info.n_basins == 2
    assert abs(dnarrow(alpha)) <= 1e-12 * abs(dnarrow(0.0))
    # refining only the basin with the lowest grid value would have taken the broad one
    one = ExactLineSearch(max_basins=1)(Counted(narrow, dnarrow), narrow(0.0), dnarrow(0.0))
    assert 9 < one[0] < 11


# --- how exact: the slope target and the bracket's width -----------------------------------------


@pytest.mark.parametrize("s", [1e-30, 1.0, 1e30])
def test_the_slope_target_is_relative_to_phi_prime_at_zero(s):
    # φ = s (α⁴/4 − α): α* = 1 at every scale s; an absolute target would stop at once for tiny s
    phi = Counted(lambda a: s * (a ** 4 / 4 - a), lambda a: s * (a ** 3 - 1))
    alpha, info = ExactLineSearch()(phi, 0.0, -s)
    assert abs(alpha - 1.0) <= 1e-12 and info.value == pytest.approx(-0.75 * s, rel=1e-15)
    assert abs(alpha ** 3 - 1) <= 1e-12
    assert (info.n_evals, info.n_slope_evals) == (44, 11)  # pure Python φ: the same on every machine


def test_a_loose_xtol_stops_at_the_first_point_within_it():
    phi = Counted(lambda a: a ** 4 / 4 - a, lambda a: a ** 3 - 1)
    alpha, info = ExactLineSearch(xtol=1e-3)(phi, 0.0, -1.0)
    assert abs(alpha ** 3 - 1) <= 1e-3 and abs(alpha - 1) > 1e-6  # within the target, not beyond it
    assert (info.n_evals, info.n_slope_evals) == (44, 7)


@pytest.mark.parametrize("a_star", [3e-3, 3.0, 3000.0])
def test_a_kink_is_bracketed_to_xtol_times_alpha(a_star):
    # φ = |α − α*| + 1: φ′ = ±1 never meets the slope target, the bracket's width ≤ xtol·α decides
    phi = Counted(lambda a: abs(a - a_star) + 1, lambda a: float((a > a_star) - (a < a_star)))
    alpha, info = ExactLineSearch()(phi, a_star + 1, -1.0, a_star)
    assert abs(alpha - a_star) <= 1e-12 * a_star
    assert info.value == abs(alpha - a_star) + 1 and info.lowest
    assert info.n_slope_evals == 41


def test_quadratic_counts_and_value():
    phi = Counted(lambda a: (a - 3.0) ** 2 + 1.0, lambda a: 2.0 * (a - 3.0))
    alpha, info = ExactLineSearch()(phi, 10.0, -6.0)
    assert alpha == 3.0 and info.value == 1.0
    assert (info.n_evals, info.n_slope_evals) == (44, 4) == (phi.calls, phi.both_calls)


# --- the end of the interval --------------------------------------------------------------------


def test_flat_at_alpha_max_after_a_fall_is_unbounded_and_capped():
    # E underflowed to a constant beyond α = 100: φ′ = 0 at α_max still counts as "no minimiser below it"
    phi = Counted(lambda a: (1 - a / 100) ** 2 if a < 100 else 0.0, lambda a: -(1 - a / 100) / 50 if a < 100 else 0.0)
    alpha, info = ExactLineSearch(alpha_max=1000.0)(phi, 1.0, -0.02)
    assert alpha == 1000.0 and info.capped and info.unbounded and info.value == 0.0


def test_a_plain_phi_still_falling_at_alpha_max_is_capped():
    alpha, info = ExactLineSearch(alpha_max=50.0)(lambda a: math.exp(-a / 10), 1.0, -0.1)
    assert alpha == 50.0 and info.capped and info.unbounded and info.value == math.exp(-5.0)


def test_a_minimum_found_walking_by_slope_is_not_unbounded():
    # φ flat to rounding around its minimiser α* = 7 (c(α − 7)² ≪ ε·E*): the walk by slope brackets it
    E_star, c = 1e6, 1e-9
    phi = Counted(lambda a: E_star + c * (a - 7) ** 2, lambda a: 2 * c * (a - 7))
    alpha, info = ExactLineSearch(alpha_max=100.0)(phi, phi.phi(0.0), -14 * c)
    assert alpha == pytest.approx(7.0, rel=1e-10) and not info.capped and not info.unbounded and not info.failed


# --- φ alone (no slope): bounded Brent inside the basin ----------------------------------------


def test_phi_only_quadratic_and_no_descent():
    alpha, info = ExactLineSearch()(lambda a: (a - 3.0) ** 2 + 1.0, 10.0, -6.0)
    assert alpha == pytest.approx(3.0, abs=1e-6) and info.value == pytest.approx(1.0, abs=1e-12)
    assert info.n_slope_evals == 0 and not info.failed
    alpha, info = ExactLineSearch()(lambda a: 1.0 + a, 1.0, -1.0)
    assert alpha == 0.0 and info.failed and info.value == 1.0
    # a φ that equals φ(0) on a stretch and then rises: no decrease, a clean failure
    alpha, info = ExactLineSearch()(lambda a: 1.0 if a < 1 else a, 1.0, -1.0)
    assert alpha == 0.0 and info.failed


def test_phi_only_takes_brent_only_when_it_is_lower_than_the_grid():
    # φ = |α − 3| + 1 sampled without slope: Brent's point must beat the basin's grid point
    phi = Counted(lambda a: abs(a - 3.0) + 1.0)
    alpha, info = ExactLineSearch()(phi, 4.0, -1.0)
    assert abs(alpha - 3.0) <= 1e-8 and info.value == abs(alpha - 3.0) + 1.0
    assert info.value <= min(abs(a - 3.0) + 1.0 for a in phi.alphas)


# --- which basins are within reach ----------------------------------------------------------------

KNOTS = [0.0, 0.25, 1.0, 8.0, 32.0, 40.0, 48.0, 128.0, 2048.0]
VALUES = [1.0, 0.75, 1.5, 2.0, 1.0, -5.0, 1.5, 2.0, 3.0]


def P(a):
    """Piecewise linear: a first basin at 0.25 (0.75), and a deep one at 40 (−5) whose grid point 32 sits at
    exactly φ(0) = 1 (the grid of grow = 2 below: …, 0.125, 0.5, 2, 4, 8, 32, 128, 512, 2048)."""
    return float(np.interp(a, KNOTS, VALUES))


def dP(a):
    i = min(max(int(np.searchsorted(KNOTS, a, side="right")) - 1, 0), len(KNOTS) - 2)
    return (VALUES[i + 1] - VALUES[i]) / (KNOTS[i + 1] - KNOTS[i])


@pytest.mark.parametrize("slope", [True, False])
def test_a_basin_whose_grid_value_is_exactly_phi0_is_out_of_reach(slope):
    ls = ExactLineSearch(alpha_max=2048.0, grow=2.0, fine_decades=0.0, scan_below=512.0)
    phi = Counted(P, dP if slope else None)
    alpha, info = ls(phi, 1.0, -1.0, 4.0)
    assert P(32.0) == 1.0 and info.n_basins == 2
    assert alpha == pytest.approx(0.25, abs=1e-12 if slope else 1e-8) and info.value == P(alpha)
    assert not any(33 < a < 47 for a in phi.alphas)  # the dip at 40 was never looked into
    if slope:
        # the point taken is the flattest among those within E's rounding of the lowest, not the lowest seen
        lowest = min(P(a) for a in phi.alphas)
        assert not info.lowest and lowest < info.value <= lowest + 1e-10 * 1.0
    else:
        assert info.lowest


def test_a_kink_exactly_at_alpha_max_is_capped_but_not_unbounded():
    # φ = |α − 100| with φ′(100) = +1: the minimum is at α_max itself, and φ rises beyond it
    phi = Counted(lambda a: abs(a - 100.0), lambda a: 1.0 if a >= 100 else -1.0)
    alpha, info = ExactLineSearch(alpha_max=100.0)(phi, 100.0, -1.0)
    assert alpha == 100.0 and info.value == 0.0 and info.capped and not info.unbounded and info.lowest


def test_still_falling_within_rounding_up_to_alpha_max_is_unbounded():
    # φ falls by 1e-14 per unit of α up to 5000, then stays 1e-11 above its value there (within E's rounding,
    # 1e-10·|φ|) while φ′ < 0 all the way: the walk by slope reaches α_max
    T = 5000.0
    phi = Counted(lambda a: 1 - 1e-14 * a if a <= T else 1 - 1e-14 * T + 1e-11, lambda a: -1e-14)
    alpha, info = ExactLineSearch()(phi, 1.0, -1e-14)
    assert alpha == 1e4 and info.capped and info.unbounded and info.value == 1 - 1e-14 * T + 1e-11
    assert not info.lowest  # the values at α ≈ 5000 were lower, by less than the rounding of E


# --- inside one bracket: two dips, and a flat hump -----------------------------------------------


def two_vs(a):
    """min(0.5 + |α − 1|, |α − 3|): a dip at 1 (0.5) and a lower one at 3 (0)."""
    return min(0.5 + abs(a - 1), abs(a - 3))


def d_two_vs(a):
    left = 0.5 + abs(a - 1) <= abs(a - 3)
    return float((a > 1) - (a < 1)) if left else float((a > 3) - (a < 3))


def hump(a):
    """A dip at 1 (0.5), a plateau at 1 on [1.5, 2.5] (φ′ = 0 there, yet no minimum), a lower dip at 3 (0)."""
    if a < 1.5:
        return 0.5 + abs(a - 1)
    if a <= 2.5:
        return 1.0
    return 2 * abs(a - 3)


def d_hump(a):
    if a < 1.5:
        return float((a > 1) - (a < 1))
    if a <= 2.5:
        return 0.0
    return 2.0 * ((a > 3) - (a < 3))


@pytest.mark.parametrize("phi, dphi, a, b", [(two_vs, d_two_vs, 0.1, 3.1), (hump, d_hump, 0.5, 3.4)])
def test_a_bracket_with_two_dips_follows_the_lower_one(phi, dphi, a, b):
    f = _Phi(Counted(phi, dphi), phi(0.0), dphi(0.0))
    value, alpha, unbounded = ExactLineSearch()._bracketed(f, a, b)
    assert alpha == pytest.approx(3.0, abs=1e-11) and value == phi(alpha) < 1e-10 and not unbounded


def test_phi_only_keeps_the_grid_point_when_brent_is_no_lower():
    # grow = 2: the grid holds α = 2 = the minimiser exactly; Brent lands within its tolerance of it, not on it
    ls = ExactLineSearch(alpha_max=2048.0, grow=2.0, fine_decades=0.0, scan_below=512.0)
    phi = Counted(lambda a: abs(a - 2.0) + 1.0)
    alpha, info = ls(phi, 3.0, -1.0, 4.0)
    assert alpha == 2.0 and info.value == 1.0 and info.lowest
    assert any(a != 2.0 and abs(a - 2.0) < 1e-6 for a in phi.alphas)  # Brent's own points were near


def test_first_minimiser_far_below_the_scan_counts():
    # a bracket spanning decades (1e-10 … 1e-8) is cut geometrically: pure Python φ, pinned counts
    phi = Counted(lambda a: (a - 1e-9) ** 2, lambda a: 2 * (a - 1e-9))
    alpha, info = ExactLineSearch()(phi, 1e-18, -2e-9, 1.0)
    assert alpha == pytest.approx(1e-9, rel=1e-12) and (info.n_evals, info.n_slope_evals) == (phi.calls, phi.both_calls)
    assert (info.n_evals, info.n_slope_evals) == (44, 8)
