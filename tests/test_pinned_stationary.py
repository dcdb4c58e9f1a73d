"""Pins on the stationary-point verdict's thresholds (issue 28, item 10).

Each threshold is met exactly: the curvature is handed in (``curvature=``), so λ_min, λ_max
and the spectral radius ρ are exact numbers, and the tolerances are chosen so that the
product the code compares with equals the measured quantity to the last bit. The problems
are least squares, whose Hessian 2XᵀX is known in closed form.
"""

import math

import numpy as np
import pytest

import mlplab
from mlplab import analysis
from mlplab.analysis import stationary
from mlplab.analysis.curvature import _fd_step
from mlplab.analysis.stationary import Curvature
from mlplab.analysis.stationary_measure import _falls, _model_restart, ambiguous, underflowed_ray
from mlplab.optim import GD


def below(t, base, target):
    """The largest t' ≤ t with t'·base < target."""
    while t * base >= target:
        t = math.nextafter(t, 0.0)
    return t


def exactly(target, base, make):
    """A parameter p near make⁻¹(target) with base·p == target exactly (None if no neighbour does)."""
    p = target / base
    for cand in (p, math.nextafter(p, math.inf), math.nextafter(p, 0.0)):
        if make(cand) == target:
            return cand
    raise AssertionError("no exact parameter")


def least_squares(seed=0, S=12, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((S, 3)) * np.array([1.0, 2.0, 0.5])
    y = X @ np.array([0.2, -0.1, 0.3]) * scale + 0.05 * rng.standard_normal(S)
    net = mlplab.MLP([3, 1], activation="identity", bias=False)
    problem = mlplab.Problem(net, X, y)
    H = 2 * X.T @ X
    lam, V = np.linalg.eigh(H)
    return problem, np.linalg.lstsq(X, y, rcond=None)[0], lam, V


def curvature(lam, V, lo=None, hi=None):
    return Curvature(lam[0] if lo is None else lo, lam[-1] if hi is None else hi, V[:, 0], V[:, -1], 0.0, 0.0, 0,
                     1e-5)


# --- helpers ------------------------------------------------------------------------------------


def test_model_restart():
    assert _model_restart(-1.0, 2.0, 0.0) == 1.0  # 2·1/2: back at E(w) there
    assert _model_restart(-3.0, 4.0, 1.0) == 1.5
    assert _model_restart(1.0, 2.0, 0.0) == 0.0  # an ascent direction: never below E(w)
    assert _model_restart(-1.0, 0.5, 0.5) == 0.0  # κ not above the flat level: no turning point
    assert _model_restart(-1.0, 0.5, 0.25) == 4.0


def test_falls_first_index_strictly_below_and_rises_strictly_above():
    E0, drop, noise = 1.0, 0.25, 0.5  # below 0.75 counts, above 1.5 ends the search
    assert _falls(E0, [0.9, 0.75, 0.7, 0.1], drop, noise) == 2
    assert _falls(E0, [1.5, 0.7], drop, noise) == 1  # 1.5 is not above E0 + noise
    assert _falls(E0, [1.6, 0.1], drop, noise) is None  # rose first: a minimum's model, not a descent
    assert _falls(E0, [0.8, math.nan, 0.1], drop, noise) is None
    assert _falls(E0, [0.8, math.inf, 0.1], drop, noise) is None
    assert _falls(E0, [0.75, 0.76], drop, noise) is None


def test_ambiguous_is_within_the_residual_of_either_edge():
    v = np.ones(2) / math.sqrt(2)

    def c(lo, res):
        return Curvature(lo, 1.0, v, v, res, 0.0, 0, 1e-5)

    assert ambiguous(c(0.5, 0.25), 0.25) and not ambiguous(c(0.5, 0.2), 0.25)  # |0.5 − 0.25| ≤ 0.25
    assert ambiguous(c(-0.5, 0.25), 0.25) and not ambiguous(c(-0.5, 0.2), 0.25)  # the edge −flat too
    assert not ambiguous(c(2.0, 0.5), 0.25)


def test_fd_step_is_the_cube_root_of_the_unit_roundoff_times_the_rms():
    u = np.finfo(float).eps
    assert _fd_step(np.full(4, 0.1)) == u ** (1 / 3)
    assert _fd_step(np.full(4, 8.0)) == pytest.approx(8.0 * u ** (1 / 3), rel=1e-15)
    assert _fd_step(np.zeros(3), np.float32) == pytest.approx(float(np.finfo(np.float32).eps) ** (1 / 3), rel=1e-15)


# --- flat_tol, the sign of λ_min ----------------------------------------------------------------


@pytest.mark.parametrize("nudge, verdict", [(0, "flat valley / degenerate"), (1, "local minimum")])
def test_lambda_min_equal_to_flat_tol_times_rho_is_flat(nudge, verdict):
    problem, w, lam, V = least_squares()
    flat_tol = exactly(lam[0], lam[-1], lambda t: t * lam[-1])  # flat = λ_min exactly
    if nudge:
        flat_tol = below(flat_tol, lam[-1], lam[0])
    sp = analysis.stationary_point(problem, w, flat_tol=flat_tol, curvature=curvature(lam, V))
    assert sp.verdict == verdict, sp.message
    assert (sp.newton_distance == math.inf) == (verdict != "local minimum")


@pytest.mark.parametrize("nudge, verdict", [(0, "flat valley / degenerate"), (1, "saddle point")])
def test_lambda_min_equal_to_minus_flat_tol_times_rho_is_no_saddle(nudge, verdict):
    problem, w, lam, V = least_squares()
    lo = -0.25 * lam[-1]
    flat_tol = 0.25 if not nudge else math.nextafter(0.25, 0.0)
    sp = analysis.stationary_point(problem, w, flat_tol=flat_tol, curvature=curvature(lam, V, lo=lo))
    assert sp.verdict == verdict, sp.message


def test_rho_is_the_larger_magnitude_of_the_two_ends():
    # λ_min = −5, λ_max = 1 at ‖w‖ < 1: the default gradient scale's stiff part is ρ·max(1, ‖w‖) = 5
    problem, w, lam, V = least_squares()
    w = w / (2 * np.linalg.norm(w))
    assert np.linalg.norm(w) < 1
    per_sample = float(np.sum(stationary.per_sample_grad_norms(problem, w)))
    hi = per_sample / 2  # ρ = 5·hi = 2.5 × the per-sample sum; |λ_max| alone would be half of it
    sp = analysis.stationary_point(problem, w, curvature=curvature(lam, V, lo=-5 * hi, hi=hi))
    assert sp.grad_scale == 5 * hi and "ρ(∇²E)" in sp.grad_scale_note


# --- the gradient scale ---------------------------------------------------------------------------


def test_default_gradient_scale_is_the_larger_of_the_per_sample_sum_and_the_stiffness():
    problem, w, lam, V = least_squares(scale=20.0)
    far = 3 * w  # ‖w‖ > 1: max(1, ‖w‖) = ‖w‖
    wn = np.linalg.norm(far)
    assert wn > 1
    per_sample = float(np.sum(stationary.per_sample_grad_norms(problem, far)))
    # small λ's: the samples' gradients set the scale
    small = curvature(lam, V, lo=1e-6, hi=per_sample / (4 * wn))
    sp = analysis.stationary_point(problem, far, curvature=small)
    assert sp.grad_scale == pytest.approx(per_sample, rel=1e-12) and sp.grad_scale_note == "Σ_s ‖∇e^s(w)‖"
    # large λ_max: ρ·‖w‖ does (not ρ alone)
    big = curvature(lam, V, lo=1e-6, hi=per_sample)
    sp = analysis.stationary_point(problem, far, curvature=big)
    assert sp.grad_scale == per_sample * wn and sp.grad_scale_note == "ρ(∇²E)·max(1, ‖w‖)"
    assert sp.rel_grad == sp.grad_norm / sp.grad_scale


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_an_unusable_gradient_scale_falls_back_to_the_default(bad):
    problem, w, lam, V = least_squares()
    sp = analysis.stationary_point(problem, w, grad_scale=bad, curvature=curvature(lam, V))
    assert sp.grad_scale_note != "given" and 0 < sp.grad_scale < math.inf
    assert sp.verdict == "local minimum"


def test_per_sample_norms_of_a_mean_objective_are_divided_by_S():
    problem, w, lam, V = least_squares()
    mean = mlplab.Problem(problem.net, problem.X, problem.Y, reduction="mean")
    np.testing.assert_allclose(stationary.per_sample_grad_norms(mean, w),
                               stationary.per_sample_grad_norms(problem, w) / 12, rtol=1e-14)
    r = problem.X @ w - problem.Y.ravel()
    np.testing.assert_allclose(stationary.per_sample_grad_norms(problem, w),
                               2 * np.abs(r) * np.linalg.norm(problem.X, axis=1), rtol=1e-12)


# --- near the quadratic model's minimiser: step_tol and decrease_tol -----------------------------


def off_minimum():
    problem, w_star, lam, V = least_squares()
    w = w_star + 1e-3 * V[:, 0]
    assert np.linalg.norm(w) < 1  # max(1, ‖w‖) = 1 ≠ ‖w‖
    E, g = problem.value_and_grad(w)
    gn = float(np.linalg.norm(g))
    return problem, w, lam, V, float(E), gn


@pytest.mark.parametrize("nudge, verdict", [(0, "local minimum"), (1, "not stationary")])
def test_newton_distance_equal_to_step_tol_is_near(nudge, verdict):
    problem, w, lam, V, E, gn = off_minimum()
    newton = gn / lam[0]
    step_tol = newton if not nudge else math.nextafter(newton, 0.0)  # times max(1, ‖w‖) = 1
    sp = analysis.stationary_point(problem, w, grad_scale=gn * 1e6, step_tol=step_tol, decrease_tol=1e-300,
                                   curvature=curvature(lam, V))
    assert sp.newton_distance == newton and sp.rel_grad == pytest.approx(1e-6, rel=1e-12)
    assert sp.verdict == verdict, sp.message


@pytest.mark.parametrize("nudge, verdict", [(0, "local minimum"), (1, "not stationary")])
def test_predicted_decrease_equal_to_decrease_tol_times_E_is_near(nudge, verdict):
    problem, w, lam, V, E, gn = off_minimum()
    decrease = gn * gn / (2.0 * lam[0])
    dtol = exactly(decrease, E, lambda t: t * abs(E))
    if nudge:
        dtol = below(dtol, abs(E), decrease)
    sp = analysis.stationary_point(problem, w, grad_scale=gn * 1e6, step_tol=0.0, decrease_tol=dtol,
                                   curvature=curvature(lam, V))
    assert sp.predicted_decrease == decrease
    assert sp.verdict == verdict, sp.message


# --- the toy problem's edges (issue 28, item 6) ---------------------------------------------------


def toy():
    X, y = mlplab.datasets.lecture()
    return mlplab.Problem(mlplab.MLP([2, 1], activation="sigmoid", bias=False), X, y)


@pytest.mark.parametrize("farther", [1.0, 10.0, 1000.0])
def test_underflowed_points_further_out_on_the_ray_keep_the_infinity_verdict(farther):
    problem = toy()
    w = farther * np.array([-27500.0, -10000.0])  # GD's first capped step from w^0 = 0, and beyond
    assert problem.value(w) == 0.0
    sp = analysis.stationary_point(problem, w)
    assert sp.verdict == "no minimum here: E decreases along the ray t·w", sp.message
    assert "underflowed" in sp.message and "‖w‖ → ∞" in sp.message
    t, E = underflowed_ray(problem, w, np.zeros(3))
    assert np.all(np.diff(E) >= 0) and E[-1] > 0


def test_gd_endpoint_on_the_toy_ray_is_judged_by_the_gradient_across_the_ray():
    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=np.array([0.5, 0.5]))
    r = mlplab.train(net, X, y, optimizer=GD("exact"), max_iter=200, tol=1e-6)
    assert r.stop_reason == "unbounded"
    problem = toy()
    sp = analysis.stationary_point(problem, net.params)
    assert sp.verdict == "no minimum here: E decreases along the ray t·w", sp.message
    # ‖∇E‖ itself is not small against the local scale; what is left across the ray is
    assert sp.rel_grad > 1e-3 and "across the ray only" in sp.message
    t, E = sp.ray
    assert np.all(np.diff(E) < 0) and E[-1] < 1e-6 * sp.loss
