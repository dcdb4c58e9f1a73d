"""Pins on the training loop's stop tests, budgets and counters at their boundaries (issue 28, item 10).

Boundaries are hit exactly: a tolerance equal to the ‖∇E‖ the loop itself recorded (taken
from a first run on the same machine, so no BLAS kernel's last bits matter), a cost budget
that a whole number of one-sample steps meets exactly, a Budget asked directly.
"""

import math
import time

import numpy as np
import pytest

import mlplab
from mlplab.optim import GD, SGD, MiniBatchSGD, Momentum, constant
from mlplab.training.budget import FORWARD_PER_GRADIENT, Budget
from mlplab.training.loop import _small_gradient
from mlplab.training.sampler import Sampler


def least_squares(S=7, n=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((S, n)) * np.array([1.0, 3.0, 0.3])[:n]
    y = X @ rng.standard_normal(n) + 0.1 * rng.standard_normal(S)
    return X, y


def gd_run(tol=None, rtol=None, max_iter=8, eval_every=1, step=0.02, **kw):
    X, y = least_squares()
    net = mlplab.MLP([3, 1], activation="identity", bias=False, init="zeros")
    return mlplab.train(net, X, y, optimizer=GD(step), tol=tol, rtol=rtol, max_iter=max_iter,
                        eval_every=eval_every, **kw)


# --- ‖∇E‖ ≤ tol and ‖∇E‖ ≤ rtol·‖∇E(w^0)‖ -------------------------------------------------------


def test_small_gradient_is_inclusive_for_tol_and_rtol():
    up = math.nextafter
    assert _small_gradient(0.5, 0.5, None, math.nan)
    assert not _small_gradient(up(0.5, 1.0), 0.5, None, math.nan)
    assert _small_gradient(1.0, None, 0.5, 2.0)  # 1 ≤ 0.5 · 2
    assert not _small_gradient(up(1.0, 2.0), None, 0.5, 2.0)
    assert not _small_gradient(1.0, None, 0.5, up(2.0, 0.0))  # rtol scales ‖∇E(w^0)‖, not 1
    assert _small_gradient(1.0, 1e-9, 0.5, 2.0) and _small_gradient(1e-9, 1e-9, 1e-12, 2.0)  # either rule
    assert not _small_gradient(0.3, None, None, 1.0) and not _small_gradient(0.3, 0.2, 0.1, 1.0)


def test_tol_equal_to_the_recorded_gradient_norm_stops_there():
    free = gd_run()
    g = free.history.grad_norm
    assert all(a > b for a, b in zip(g, g[1:]))  # (GD with a small step on least squares: ‖∇E‖ falls)
    for k in (0, 3):
        r = gd_run(tol=g[k])
        assert r.stop_reason == "converged" and r.n_iter == k and r.history.grad_norm[-1] == g[k]
        r = gd_run(tol=math.nextafter(g[k], 0.0))  # a hair below: one more step
        assert r.n_iter == k + 1


def test_rtol_is_measured_against_the_first_gradient_norm():
    free = gd_run()
    g = free.history.grad_norm
    r = gd_run(rtol=1.0)  # ‖∇E(w^0)‖ ≤ 1·‖∇E(w^0)‖
    assert r.stop_reason == "converged" and r.n_iter == 0 and r.grad_norm0 == g[0]
    r = gd_run(rtol=math.nextafter(1.0, 0.0))
    assert r.n_iter == 1
    k = 4
    rtol = next(c for c in (g[k] / g[0], math.nextafter(g[k] / g[0], 1), math.nextafter(g[k] / g[0], 0))
                if c * g[0] == g[k])  # rtol·‖∇E(w^0)‖ equal to ‖∇E(w^4)‖ exactly
    r = gd_run(rtol=rtol)
    assert r.stop_reason == "converged" and r.n_iter == k and r.grad_norm0 == g[0]
    lower = math.nextafter(rtol, 0.0)
    while lower * g[0] >= g[k]:  # the largest rtol whose product falls below ‖∇E(w^4)‖
        lower = math.nextafter(lower, 0.0)
    assert gd_run(rtol=lower).n_iter == k + 1


def test_gd_tests_the_gradient_at_every_iterate_whatever_eval_every():
    g = gd_run().history.grad_norm
    r = gd_run(tol=g[4], eval_every=3)
    assert r.n_iter == 4 and r.stop_reason == "converged"
    assert list(r.history.k) == [0, 3, 4]  # records at multiples of 3, and the final w


# --- budgets --------------------------------------------------------------------------------------


def sampler(S=10, b=3, mode="shuffle"):
    return Sampler(S, b, mode, np.random.default_rng(0))


def test_budget_step_limits_and_their_names():
    s = sampler()  # 10 samples in blocks of 3: 4 steps per epoch
    b = Budget(s, max_iter=5)
    assert b.max_steps == 5 and b.step_reason == "max_iter"
    assert b.stop_reason(4, 0, 0, time.perf_counter()) is None
    assert b.stop_reason(5, 0, 0, time.perf_counter()) == "max_iter"
    assert Budget(s, epochs=2).max_steps == 8 and Budget(s, epochs=2).step_reason == "epochs"
    assert Budget(s, max_iter=8, epochs=2).step_reason == "max_iter"  # equal: max_iter names it
    both = Budget(s, max_iter=9, epochs=2)
    assert both.max_steps == 8 and both.step_reason == "epochs"
    assert Budget(s, max_iter=3, epochs=2).max_steps == 3
    assert Budget(s).max_steps == 200 * 4 and Budget(s).step_reason == "epochs"  # the default: 200 epochs
    assert Budget(s, max_cost=5).max_steps is None and Budget(s, time_limit=1.0).max_steps is None
    assert Budget(sampler(mode="uniform"), epochs=2).max_steps == math.ceil(2 * 10 / 3)


def test_budget_cost_is_met_exactly_with_forward_passes_at_a_third():
    s = sampler()
    assert FORWARD_PER_GRADIENT == 3
    b = Budget(s, max_cost=10)
    t0 = time.perf_counter()
    assert b.stop_reason(0, 10, 0, t0) == "max_cost"
    assert b.stop_reason(0, 9, 0, t0) is None
    assert b.stop_reason(0, 9, 3, t0) == "max_cost"  # 9 + 3/3 = 10
    assert b.stop_reason(0, 9, 2, t0) is None  # 9 + 2/3 < 10
    assert b.stop_reason(0, 0, 30, t0) == "max_cost" and b.stop_reason(0, 0, 29, t0) is None
    assert b.steps_left(0, 3, 4) == 6  # ⌈10 − 3 − 4/3⌉
    assert b.steps_left(0, 3, 3) == 6 and b.steps_left(0, 10, 0) == 0
    assert Budget(s, max_iter=5, max_cost=10).steps_left(1, 3, 4) == 4  # min(5 − 1, 6)
    assert Budget(s, max_iter=5).steps_left(2, 100, 100) == 3
    assert Budget(s, time_limit=1.0).steps_left(0, 0, 0) is None


def test_budget_time_limit():
    b = Budget(sampler(), time_limit=0.5)
    assert b.stop_reason(0, 0, 0, time.perf_counter()) is None
    assert b.stop_reason(0, 0, 0, time.perf_counter() - 0.5) == "time_limit"
    assert Budget(sampler(), max_iter=3, time_limit=0.5).stop_reason(3, 0, 0, time.perf_counter() - 9) == "max_iter"


@pytest.mark.parametrize("budget", [7, 12])
def test_one_sample_sgd_meets_a_cost_budget_exactly(budget):
    X, y = least_squares(S=5)
    net = mlplab.MLP([3, 1], activation="identity", bias=False, init="zeros")
    r = mlplab.train(net, X, y, optimizer=SGD(schedule=constant(0.01)), max_cost=budget, tol=None, eval_every=1,
                     seed=0)
    h = r.history
    assert r.stop_reason == "max_cost" and r.n_iter == budget and h.cost[-1] == budget
    assert list(h.cost) == list(range(budget + 1)) and list(h.forward_evals) == [0] * (budget + 1)
    assert h.epoch == pytest.approx([k / 5 for k in range(budget + 1)], rel=0, abs=0)


def test_gd_cost_budget_counts_line_search_forward_passes_as_thirds():
    X, y = least_squares()
    S = 7
    net = mlplab.MLP([3, 1], activation="identity", bias=False, init="zeros")
    r = mlplab.train(net, X, y, optimizer=GD("armijo"), max_cost=40, tol=None, eval_every=1)
    h = r.history
    assert r.stop_reason == "max_cost"
    used = [c + f / 3 for c, f in zip(h.cost, h.forward_evals)]
    assert used[-1] >= 40 > used[-2]  # stopped at the first record whose cost reached the budget
    assert list(h.cost) == [S * k for k in range(len(h.cost))]
    # Armijo evaluates φ alone: S forward passes per evaluation
    assert [b - a for a, b in zip(h.forward_evals, h.forward_evals[1:])] == [S * n for n in h.ls_evals[:-1]]
    assert all(n >= 1 for n in h.ls_evals[:-1])


# --- counters -----------------------------------------------------------------------------------


def test_gd_counts_S_per_step_and_one_epoch_per_step():
    r = gd_run(max_iter=4)
    h = r.history
    assert list(h.k) == [0, 1, 2, 3, 4] and list(h.cost) == [0, 7, 14, 21, 28]
    assert list(h.epoch) == [0.0, 1.0, 2.0, 3.0, 4.0] and list(h.forward_evals) == [0] * 5
    assert h.step_size[:4] == [0.02] * 4 and math.isnan(h.step_size[4])


@pytest.mark.parametrize("opt", ["plain", "momentum"])
def test_mini_batch_counts_blocks_and_samples(opt):
    X, y = least_squares(S=7)
    net = mlplab.MLP([3, 1], activation="identity", bias=False, init="zeros")
    o = MiniBatchSGD(3, schedule=constant(0.01)) if opt == "plain" else Momentum(MiniBatchSGD(3, schedule=constant(0.01)), 0.5)
    r = mlplab.train(net, X, y, optimizer=o, max_iter=6, tol=None, eval_every=1, seed=0)
    h = r.history
    # blocks of 3, 3 and the remaining 1 per epoch of 7 samples
    assert list(h.cost) == [0, 3, 6, 7, 10, 13, 14]
    assert h.epoch == pytest.approx([0, 3 / 7, 6 / 7, 1, 10 / 7, 13 / 7, 2], rel=1e-15)
    assert list(h.k) == list(range(7)) and list(h.forward_evals) == [0] * 7


# --- records: when, and which is exact -----------------------------------------------------------


def sgd_problem(S=40):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((S, 3))
    y = np.tanh(X @ np.array([1.0, -2.0, 0.5]))
    return X, y


@pytest.mark.parametrize("max_iter", [12, 10])
def test_the_final_record_is_exact_under_auto(max_iter):
    X, y = sgd_problem()
    net = mlplab.MLP([3, 4, 1], activation="tanh", output_activation="identity", seed=0)
    r = mlplab.train(net, X, y, optimizer=SGD(schedule=constant(0.01)), max_iter=max_iter, eval_every=5,
                     tol=None, seed=0, monitor="auto")
    h = r.history
    assert list(h.k) == sorted({0, 5, 10, max_iter})
    assert h.exact[0] and h.exact[-1]
    E, g = mlplab.Problem(net, X, y).value_and_grad(net.params)
    assert h.loss[-1] == pytest.approx(E, rel=1e-12) and h.grad_norm[-1] == pytest.approx(np.linalg.norm(g), rel=1e-10)
    assert r.loss == h.loss[-1]


def test_the_final_record_under_batch_is_the_block_estimate():
    X, y = sgd_problem()
    net = mlplab.MLP([3, 4, 1], activation="tanh", output_activation="identity", seed=0)
    r = mlplab.train(net, X, y, optimizer=SGD(schedule=constant(0.01)), max_iter=12, eval_every=5, tol=None,
                     seed=0, monitor="batch")
    h = r.history
    assert list(h.k) == [0, 5, 10, 12] and h.exact == [True, False, False, False]
    E = mlplab.Problem(net, X, y).value(net.params)
    assert h.loss[-1] != E


def test_records_fall_on_multiples_of_eval_every_for_every_kernel():
    X, y = sgd_problem(S=30)
    for opt in (SGD(schedule=constant(0.01)), MiniBatchSGD(4, schedule=constant(0.01)), GD(0.001)):
        net = mlplab.MLP([3, 4, 1], activation="tanh", output_activation="identity", seed=0)
        r = mlplab.train(net, X, y, optimizer=opt, max_iter=23, eval_every=7, tol=None, seed=0)
        assert list(r.history.k) == [0, 7, 14, 21, 23], opt
        assert r.n_iter == 23


@pytest.mark.parametrize("tol, rtol, reason, n_iter", [(0, 0, "max_iter", 3), (0, None, "max_iter", 3),
                                                       (None, 0, "max_iter", 3), (1e-300, None, "converged", 0)])
def test_zero_tolerances_disable_the_test_even_where_the_gradient_is_exactly_zero(tol, rtol, reason, n_iter):
    # w = 0 of a two-layer identity net with zero targets: ∇E = 0 exactly ("None or 0 disables it")
    X, _ = least_squares()
    net = mlplab.MLP([3, 2, 1], activation="identity", bias=False, init="zeros")
    r = mlplab.train(net, X, np.zeros(7), optimizer=GD(0.1), tol=tol, rtol=rtol, max_iter=3)
    assert r.history.grad_norm[0] == 0.0
    assert r.stop_reason == reason and r.n_iter == n_iter


def test_the_blow_up_test_scales_with_E_w0_but_never_below_its_floor():
    # E = w² (x = 1, y = 0), GD with α = 1.5: w ← −2w, so E grows ×4 per step: ×4¹² ≈ 1.7e7 > diverge_factor = 1e6
    def run(w0):
        net = mlplab.MLP([1, 1], activation="identity", bias=False, init=np.array([w0]))
        return mlplab.train(net, [[1.0]], [0.0], optimizer=GD(1.5), max_iter=12, tol=None)

    r = run(1e-15)  # E(w^0) = 1e-30: the scale is the floor 1e-6 per sample, and 1.7e-23 is far below it
    assert r.n_iter == 12 and r.loss == pytest.approx(4.0 ** 12 * 1e-30, rel=1e-12)
    with pytest.raises(mlplab.DivergenceError, match="diverge_factor"):
        run(1e-2)  # E(w^0) = 1e-4 > the floor: 1.7e3 > 1e6 · 1e-4
