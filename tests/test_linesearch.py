"""mlplab.optim.linesearch: the exact line search and Armijo backtracking on φ(α) = E(w^k + α d^k).

Every expected value below is written out from the formula in the comment next
to it (the lecture's / the docstrings'), never obtained by calling the code
under test a second time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlplab.optim import Armijo, ExactLineSearch
from optim_helpers import quadratic


# ---------------------------------------------------------------------------
# line searches on φ(α)
# ---------------------------------------------------------------------------


class CountingPhi:
    def __init__(self, fn):
        self.fn, self.n = fn, 0

    def __call__(self, alpha):
        self.n += 1
        return self.fn(alpha)


def test_exact_line_search_on_1d_quadratic():
    phi = CountingPhi(lambda a: (a - 3.0) ** 2 + 1.0)  # minimiser α* = 3, φ(α*) = 1
    alpha, info = ExactLineSearch()(phi, phi0=10.0, slope=-6.0)
    assert alpha == pytest.approx(3.0, rel=1e-6)
    assert info.value == pytest.approx(1.0, abs=1e-10)
    assert info.n_evals == phi.n > 0
    assert not info.capped and not info.failed


def test_exact_line_search_on_non_quadratic():
    # φ(α) = e^α − 5α: φ′(α*) = e^{α*} − 5 = 0 → α* = ln 5 (Brent cannot hit it by one parabola)
    phi = CountingPhi(lambda a: math.exp(a) - 5.0 * a)
    alpha, info = ExactLineSearch()(phi, phi0=1.0, slope=-4.0)
    assert alpha == pytest.approx(math.log(5.0), rel=1e-6)
    assert info.value == pytest.approx(5.0 - 5.0 * math.log(5.0), rel=1e-12)
    assert info.n_evals == phi.n < 100


def test_exact_line_search_decreasing_phi_is_capped():
    phi = CountingPhi(lambda a: math.exp(-a))  # infimum only as α → ∞
    ls = ExactLineSearch()
    alpha, info = ls(phi, phi0=1.0, slope=-1.0)
    assert alpha == ls.alpha_max == 1e4
    assert info.capped and not info.failed
    assert math.isfinite(info.value) and info.value <= math.exp(-1.0)
    assert info.n_evals == phi.n < 100


def test_exact_line_search_small_cap_value():
    phi = CountingPhi(lambda a: math.exp(-a))
    alpha, info = ExactLineSearch(alpha_max=50.0)(phi, phi0=1.0, slope=-1.0)
    assert alpha == 50.0 and info.capped
    assert info.value == pytest.approx(math.exp(-50.0), rel=1e-12)  # φ(alpha_max)
    assert info.n_evals == phi.n < 100


@pytest.mark.parametrize("fn", [lambda a: 1.0 + a, lambda a: 1.0 + a * a, lambda a: math.nan],
                         ids=["linear", "quadratic", "nan"])
def test_exact_line_search_no_decrease_fails_without_looping(fn):
    phi = CountingPhi(fn)
    alpha, info = ExactLineSearch()(phi, phi0=1.0, slope=-1.0)
    assert alpha == 0.0 and info.failed and not info.capped
    assert info.value == 1.0  # φ(0): nothing changes
    assert info.n_evals == phi.n <= 100


def test_armijo_sufficient_decrease_hand_worked():
    A = np.diag([1.0, 10.0])
    f = quadratic(A)
    w = np.array([1.0, 1.0])
    g = A @ w                  # (1, 10)
    slope = -float(g @ g)      # φ′(0) = ⟨g, −g⟩ = −101
    phi = CountingPhi(lambda a: f(w - a * g))
    ls = Armijo()
    alpha, info = ls(phi, phi0=f(w), slope=slope)
    # trials 1, 1/2, 1/4 give φ = 405, 80.125, 11.53 > 5.5; α = 1/8 gives 0.6953 < 5.5 − 1e-4·101/8
    assert alpha == 0.125
    assert info.n_evals == phi.n == 4 and not info.failed
    assert f(w - alpha * g) <= f(w) + ls.c1 * alpha * slope          # sufficient decrease
    assert f(w - 2 * alpha * g) > f(w) + ls.c1 * 2 * alpha * slope   # the previous trial failed it
    assert info.value == pytest.approx(0.5 * (0.875 ** 2 + 10 * 0.25 ** 2), rel=1e-15)


def test_armijo_c1_matters():
    # same quadratic with c1 = 0.5: α = 1/8 gives 0.6953 > 5.5 − 0.5·101/8 = −0.8125 (rejected);
    # α = 1/16 gives ½(0.9375² + 10·0.375²) = 1.1426 ≤ 5.5 − 0.5·101/16 = 2.34375 (accepted)
    A = np.diag([1.0, 10.0])
    f = quadratic(A)
    w = np.array([1.0, 1.0])
    g = A @ w
    alpha, info = Armijo(c1=0.5)(lambda a: f(w - a * g), phi0=f(w), slope=-float(g @ g))
    assert alpha == 0.0625 and info.n_evals == 5


def test_armijo_fails_on_ascent():
    alpha, info = Armijo(max_iter=30)(lambda a: 1.0 + a, phi0=1.0, slope=-1.0)
    assert alpha == 0.0 and info.failed and info.n_evals == 30


def test_armijo_never_accepts_a_zero_step():
    # warm start from a previous α: the first trial is min(α_prev · grow, alpha0 · 1e6) > 0
    alpha, info = Armijo()(lambda a: (a - 1.0) ** 2, phi0=1.0, slope=-2.0, alpha_init=0.25)
    assert alpha == 0.5 and info.n_evals == 1  # φ(0.5) = 0.25 ≤ 1 − 1e-4 · 0.5 · 2


# ---------------------------------------------------------------------------
# bad arguments: ValueError quoting the value
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, text",
    [
        (lambda: Armijo(grow=0), "0"),
        (lambda: Armijo(grow=-1.0), "-1.0"),
        (lambda: Armijo(max_iter=-3), "-3"),
        (lambda: ExactLineSearch(max_shrink=-1), "-1"),
        (lambda: ExactLineSearch(max_shrink=2.5), "2.5"),
    ],
    ids=["armijo-grow-0", "armijo-grow-negative", "armijo-max_iter-negative", "exact-max_shrink-negative",
         "exact-max_shrink-float"],
)
def test_line_search_counts_and_factors_validated(make, text):
    with pytest.raises(ValueError) as exc:
        make()
    assert text in str(exc.value)
