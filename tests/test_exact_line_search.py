"""The lecture's exact line search α^k = argmin_{0<α≤α_max} E(w^k + α d^k), exact to the precision of α.

Oracles: closed-form minimisers of one-dimensional functions, the normal equations
(``np.linalg.lstsq``) for least squares, a dense scan of φ along the line, and
central differences / ∇E(w + αd)ᵀd for the forward-mode slope.
"""

import math

import numpy as np
import pytest

import mlplab
from mlplab.analysis import batched_loss
from mlplab.objective import Problem
from mlplab.optim import GD, ExactLineSearch


def with_slope(phi, dphi):
    phi.value_and_slope = lambda a: (phi(a), dphi(a))
    return phi


# --- one-dimensional functions with known minimisers -------------------------------------


def test_quadratic_minimiser_to_relative_1e12():
    # φ(α) = (α − 3)² + 1: α* = 3 exactly
    phi = with_slope(lambda a: (a - 3.0) ** 2 + 1.0, lambda a: 2.0 * (a - 3.0))
    alpha, info = ExactLineSearch()(phi, 10.0, -6.0)
    assert abs(alpha - 3.0) <= 1e-12 * 3.0
    assert info.value == 1.0 and not info.capped and not info.unbounded and not info.failed
    assert info.n_slope_evals > 0 and info.n_basins == 1 and info.lowest


def test_minimiser_below_the_rounding_of_phi():
    # φ(α) = E* + c(α − α*)² with c(α − α*)² far below ε·E* near α*: values cannot tell steps
    # apart there, the slope can (the old search stalled here)
    E_star, c, a_star = 1e4, 1e-6, 2.5
    phi = with_slope(lambda a: E_star + c * (a - a_star) ** 2, lambda a: 2 * c * (a - a_star))
    alpha, info = ExactLineSearch()(phi, phi(0.0), -2 * c * a_star)
    assert abs(alpha - a_star) <= 1e-10 * a_star
    assert not info.failed


def test_bimodal_phi_takes_the_global_minimum():
    # φ(α) = 1 − 0.5 exp(−(α−1)²) − 2 exp(−(α−6)²/2): a local minimum near α = 1 (φ ≈ 0.5),
    # the global one near α = 6 (φ ≈ −1)
    def phi(a):
        return 1 - 0.5 * math.exp(-(a - 1) ** 2) - 2 * math.exp(-(a - 6) ** 2 / 2)

    def dphi(a):
        return (a - 1) * math.exp(-(a - 1) ** 2) + (a - 6) * math.exp(-(a - 6) ** 2 / 2)

    slope0 = dphi(0.0)
    alpha, info = ExactLineSearch()(with_slope(phi, dphi), phi(0.0), slope0)
    # exact: dphi(α*) = 0 near 6; (α* − 6) e^{−(α*−6)²/2} = −(α* − 1) e^{−(α*−1)²} ≈ −5e-11
    assert alpha == pytest.approx(6.0, abs=1e-9)
    assert abs(dphi(alpha)) <= 1e-12 * abs(slope0)
    assert info.value == pytest.approx(-1.0, abs=1e-10)
    assert info.n_basins == 2 and info.lowest
    # without a slope (a plain φ) the scan still finds the lower basin, to ~√ε in α
    alpha, info = ExactLineSearch()(phi, phi(0.0), slope0)
    assert alpha == pytest.approx(6.0, abs=1e-6) and info.value == pytest.approx(-1.0, abs=1e-10)


def test_decreasing_to_alpha_max_is_unbounded():
    phi = with_slope(lambda a: math.exp(-a / 100), lambda a: -math.exp(-a / 100) / 100)
    alpha, info = ExactLineSearch(alpha_max=500.0)(phi, 1.0, -0.01)
    assert alpha == 500.0 and info.capped and info.unbounded and not info.failed
    assert info.value == pytest.approx(math.exp(-5.0), rel=1e-15)


def test_minimum_just_below_alpha_max_is_not_unbounded():
    phi = with_slope(lambda a: (a - 90.0) ** 2, lambda a: 2 * (a - 90.0))
    alpha, info = ExactLineSearch(alpha_max=100.0)(phi, 8100.0, -180.0)
    assert alpha == pytest.approx(90.0, rel=1e-12) and not info.capped and not info.unbounded


def test_first_minimiser_far_below_the_warm_start():
    # α* = 1e-9 while the warm start is 1: found below the scan through φ′
    phi = with_slope(lambda a: (a - 1e-9) ** 2, lambda a: 2 * (a - 1e-9))
    alpha, info = ExactLineSearch()(phi, 1e-18, -2e-9, 1.0)
    assert alpha == pytest.approx(1e-9, rel=1e-12) and not info.failed


def test_no_descent_fails_cleanly():
    phi = with_slope(lambda a: 1.0 + a, lambda a: 1.0)
    alpha, info = ExactLineSearch()(phi, 1.0, -1.0)  # the given slope contradicts φ
    assert alpha == 0.0 and info.failed and info.value == 1.0


def test_parameters_are_validated():
    for kwargs, text in (({"grow": 1.0}, "grow"), ({"zoom": 0}, "zoom"), ({"max_basins": 0}, "max_basins"),
                         ({"scan_below": 0.5}, "scan_below"), ({"xtol": 0}, "xtol")):
        with pytest.raises(ValueError, match=text):
            ExactLineSearch(**kwargs)


# --- the slope φ′(α) by a forward-mode pass ----------------------------------------------


@pytest.mark.parametrize("case", ["sigmoid-squared", "tanh-identity-l2", "softmax-ce-mean", "bce-weights",
                                  "relu-chunked", "no-bias"])
def test_forward_mode_slope_equals_gradient_along_d(case):
    rng = np.random.default_rng(3)
    kw = {}
    if case == "sigmoid-squared":
        net, S, loss, Y = mlplab.MLP([3, 4, 2], seed=0), 20, "squared", rng.standard_normal((20, 2))
    elif case == "tanh-identity-l2":
        net, S, loss = mlplab.MLP([3, 5, 4, 1], activation=["tanh", "tanh", "identity"], seed=1), 30, "squared"
        Y, kw = rng.standard_normal(30), {"l2": 0.3}
    elif case == "softmax-ce-mean":
        net = mlplab.MLP([3, 6, 3], activation="relu", output_activation="softmax", seed=2)
        S, loss, Y, kw = 25, "cross_entropy", rng.integers(0, 3, 25), {"reduction": "mean", "l2": 0.1}
    elif case == "bce-weights":
        net, S, loss, Y = mlplab.MLP([3, 4, 1], activation="tanh", output_activation="sigmoid", seed=3), 15, \
            "binary_cross_entropy", rng.integers(0, 2, 15)
        kw = {"sample_weight": rng.uniform(0, 2, 15)}
    elif case == "relu-chunked":  # S > CHUNK: the pass runs in pieces
        net, S, loss, Y = mlplab.MLP([3, 8, 1], activation=["relu", "identity"], seed=4), 5000, "squared", \
            rng.standard_normal(5000)
    else:
        net, S, loss, Y = mlplab.MLP([3, 4, 1], bias=False, seed=5), 10, "squared", rng.uniform(0, 1, 10)
    X = rng.standard_normal((S, 3))
    P = Problem(net, X, Y, loss, **kw)
    w = net.params.copy()
    d = rng.standard_normal(w.size)
    phi = P.value_along(w, d)
    for alpha in (0.0, 0.1, 0.7):
        v, s = phi.value_and_slope(alpha)
        E, g = P.value_and_grad(w + alpha * d)
        assert v == pytest.approx(E, rel=1e-13)
        assert s == pytest.approx(float(g @ d), rel=1e-10, abs=1e-12 * np.abs(g).sum() * np.abs(d).max())
        h = 1e-6
        fd = (phi(alpha + h) - phi(alpha - h)) / (2 * h)
        assert s == pytest.approx(fd, rel=1e-5, abs=1e-7)


# --- GD with the exact line search on least squares ----------------------------------------


@pytest.mark.parametrize("S", [200, 5000])
def test_gd_exact_reaches_the_least_squares_solution(S):
    rng = np.random.default_rng(S)
    X = rng.standard_normal((S, 5))
    y = X @ rng.standard_normal(5) + 0.5 + rng.standard_normal(S)  # noisy: E* > 0
    net = mlplab.MLP([5, 1], activation="identity", seed=0)
    r = mlplab.train(net, X, y, optimizer=GD("exact"), max_iter=500, tol=None, rtol=1e-8)
    assert r.stop_reason == "converged"
    assert r.grad_norm <= 1e-8 * r.grad_norm0 and r.history.grad_norm[0] == r.grad_norm0
    assert r.rtol == 1e-8 and r.tol is None
    w_star = np.linalg.lstsq(np.c_[X, np.ones(S)], y, rcond=None)[0]  # [W, b] in the params layout
    assert np.linalg.norm(net.params - w_star) <= 1e-8 * np.linalg.norm(w_star)
    assert not any(r.history.capped) and not any(r.history.unbounded)
    # every step is exact: ∇E(w^{k+1}) ⟂ d^k = −∇E(w^k) (to rounding of the gradient)
    E_star = float(np.sum((np.c_[X, np.ones(S)] @ w_star - y) ** 2))
    assert r.loss == pytest.approx(E_star, rel=1e-14)


def test_each_exact_step_makes_the_new_gradient_orthogonal():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4)) * np.array([1.0, 2.0, 0.5, 3.0])
    y = X @ np.ones(4) + rng.standard_normal(300)
    net = mlplab.MLP([4, 1], activation="identity", bias=False, seed=0)
    P = Problem(net, X, y)
    w = net.params.copy()
    for _ in range(5):
        E, g = P.value_and_grad(w)
        g = g.copy()
        step, _, info = GD("exact").update(g.copy(), GD("exact").init(w), w, loss=E,
                                           value_fn=mlplab.fast.kernels.BlockValue(P, None, 1))
        w = w + step
        g_new = P.value_and_grad(w)[1]
        assert abs(g_new @ g) <= 1e-12 * (g @ g)  # φ′(α*) = ∇E(w + α*d)ᵀd = 0
        assert info.n_slope_evals > 0


# --- the lecture's toy problem ---------------------------------------------------------------


def toy(w0):
    X, y = mlplab.datasets.lecture()
    return mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=np.array(w0, dtype=float)), X, y


def test_toy_from_zero_is_unbounded_not_converged():
    net, X, y = toy([0.0, 0.0])
    r = mlplab.train(net, X, y, optimizer=GD("exact"), max_iter=100, tol=1e-6)
    assert r.stop_reason == "unbounded" and not r.converged
    assert r.history.capped[0] and r.history.unbounded[0]
    assert r.history.step_size[0] == 1e4  # the cap, said to be one


def test_toy_from_half_flags_every_capped_step_unbounded():
    net, X, y = toy([0.5, 0.5])
    r = mlplab.train(net, X, y, optimizer=GD("exact"), max_iter=100, tol=1e-6)
    h = r.history
    assert r.stop_reason == "unbounded"
    assert np.all(np.diff(h.loss) < 0)
    assert h.capped == h.unbounded and sum(h.unbounded) >= 10
    # with an rtol instead, the same run is judged on the scale of its own start
    net, X, y = toy([0.5, 0.5])
    r = mlplab.train(net, X, y, optimizer=GD("exact"), max_iter=100, tol=None, rtol=1e-3)
    assert r.grad_norm <= 1e-3 * r.grad_norm0 < r.history.grad_norm[-2]


# --- multimodal φ: 1-3-1 tanh nets -----------------------------------------------------------


def test_tanh_nets_take_the_lowest_minimum_on_the_line():
    x = np.linspace(-3, 3, 50)[:, None]
    y = np.sin(2 * x[:, 0])
    alphas = np.concatenate([np.linspace(0, 1e-3, 400)[1:], np.geomspace(1e-3, 1e4, 40000)])
    multi = 0
    for seed in range(40, 54):
        net = mlplab.MLP([1, 3, 1], activation="tanh", init="normal(1.5)", seed=seed)
        P = Problem(net, x, y)
        w = net.params.copy()
        E, g = P.value_and_grad(w)
        d = -g
        alpha, info = ExactLineSearch()(P.value_along(w, d), E, float(g @ d))
        dense = batched_loss(P, w[None, :] + alphas[:, None] * d[None, :]).min()
        assert info.value <= dense * (1 + 2e-2), seed  # the lowest seen on a 40,000-point scan, or close
        assert info.value == pytest.approx(P.value(w + alpha * d), rel=1e-12)
        multi += info.n_basins > 1
    assert multi >= 8  # these lines do have several basins


# --- rtol in train ---------------------------------------------------------------------------


def test_rtol_is_validated_and_scale_free():
    X, y = mlplab.datasets.lecture()
    with pytest.raises(ValueError, match="rtol"):
        mlplab.train(mlplab.MLP([2, 1], bias=False, seed=0), X, y, rtol=-1)
    # the same problem with the data repeated 10 times: E and ∇E scale by 10 (reduction "sum"),
    # an rtol stop happens at the same iterate, an absolute tol does not
    rng = np.random.default_rng(1)
    Xs, ys = rng.standard_normal((50, 3)), rng.standard_normal(50)
    runs = []
    for reps in (1, 10):
        net = mlplab.MLP([3, 1], activation="identity", seed=0)
        runs.append(mlplab.train(net, np.tile(Xs, (reps, 1)), np.tile(ys, reps), optimizer=GD(1e-3 / reps),
                                 tol=None, rtol=1e-4, max_iter=10000))
    assert runs[0].n_iter == runs[1].n_iter and runs[0].stop_reason == "converged"


def test_cli_rtol_and_the_reported_stop_rule(tmp_path):
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "mlplab.cli", "train", "linear-regression", "--activation", "identity",
                          "--tol", "0", "--rtol", "1e-8", "--max-iter", "300", "--json"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    t = json.loads(out.stdout)["training"]
    assert t["stop_reason"] == "converged" and t["rtol"] == 1e-8 and t["tol"] is None
    assert t["grad_norm"] <= 1e-8 * t["grad_norm0"]
    assert t["forward_evals"] > 0 and t["cost"] == 200 * t["n_iter"]  # GD: S sample gradients per step
    text = subprocess.run([sys.executable, "-m", "mlplab.cli", "train", "--quiet"], capture_output=True, text=True,
                          cwd=tmp_path).stdout
    assert "stop rule      ||grad E|| <= 1e-06" in text
    assert "unbounded after" in text and "found E still decreasing at alpha_max" in text
    bad = subprocess.run([sys.executable, "-m", "mlplab.cli", "train", "--rtol", "-1"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert bad.returncode == 2 and "--rtol" in bad.stderr and "Traceback" not in bad.stderr


def test_estimator_rtol_grad():
    from mlplab.sklearn import MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    y = X @ np.ones(4) + 0.1 * rng.standard_normal(300)
    est = MLPRegressor(hidden_layer_sizes=(), activation="identity", solver="gd", max_iter=500, tol_grad=0, rtol_grad=1e-9,
                       alpha=0.0).fit(X, y)
    h = est.history_
    assert h.grad_norm[-1] <= 1e-9 * h.grad_norm[0] < h.grad_norm[-2]
    assert est.get_params()["rtol_grad"] == 1e-9


@pytest.mark.parametrize("S", [200, 5000])
def test_gd_exact_goes_on_past_the_rounding_of_E(S):
    # correlated columns (uniform inputs and a bias): dozens of steps with a decrease far below
    # ε·E* each; E's values cannot tell these steps apart, the slope can. The old search stopped
    # with line_search_failed around ‖∇E‖ ≈ √(ε E*/α); this one reaches rtol 1e-13
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 3, (S, 5))
    y = X @ rng.standard_normal(5) + 0.1 * rng.standard_normal(S) + 1.0
    net = mlplab.MLP([5, 1], activation="identity", seed=1)
    r = mlplab.train(net, X, y, optimizer=GD("exact"), max_iter=3000, tol=0, rtol=1e-13)
    assert r.stop_reason == "converged" and r.grad_norm <= 1e-13 * r.grad_norm0
    w_star = np.linalg.lstsq(np.c_[X, np.ones(S)], y, rcond=None)[0]
    assert np.linalg.norm(net.params - w_star) <= 1e-11 * np.linalg.norm(w_star)
