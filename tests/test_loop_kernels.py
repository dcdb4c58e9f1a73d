"""The training loop's step kernels against the general one, and optimizers the loop has never seen.

Oracle: the general kernel (``optimizer.update`` on the block gradient, then w += step), forced
by replacing :func:`mlplab.fast.kernels.choose`; and hand-written update loops.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlplab import MLP, DivergenceError, Problem, train
from mlplab.optim import GD, SGD, Adam, MiniBatchSGD, Momentum, Optimizer, StepInfo
from mlplab.optim.schedules import inverse
from mlplab.fast import kernels


def _data(S=23, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(S, 4))
    y = rng.integers(0, 3, size=S)
    return X, y


def _net(dtype="float64", sizes=(4, 5, 3)):
    return MLP(list(sizes), activation="tanh", output_activation="softmax", seed=2, dtype=dtype)


OPTIMIZERS = {
    "gd-exact": (lambda: GD("exact"), "GeneralStep"),
    "gd-armijo": (lambda: GD("armijo"), "GeneralStep"),
    "gd-constant": (lambda: GD(0.05), "GeneralStep"),
    "sgd-uniform": (lambda: SGD(inverse(0.3)), "CompiledSGD"),
    "sgd-shuffle": (lambda: SGD(0.05, sampling="shuffle"), "CompiledSGD"),
    "minibatch-sum": (lambda: MiniBatchSGD(5, schedule=0.02), "FusedStep"),
    "minibatch-mean-uniform": (lambda: MiniBatchSGD(4, schedule=inverse(0.5), average=True, sampling="uniform"),
                               "FusedStep"),
    "minibatch-cyclic": (lambda: MiniBatchSGD(6, schedule=0.03, sampling="cyclic"), "FusedStep"),
    "momentum": (lambda: Momentum(MiniBatchSGD(5, schedule=0.02), beta=0.7), "GeneralStep"),
    "nesterov-sgd": (lambda: Momentum(SGD(0.02), beta=0.5, nesterov=True), "GeneralStep"),
    "adam": (lambda: Adam(MiniBatchSGD(4, schedule=0.01, average=True)), "GeneralStep"),
    "adam-gd": (lambda: Adam(GD(0.01)), "GeneralStep"),
}


def _train(opt, dtype, monkeypatch=None, general=False, **kw):
    X, y = _data()
    net = _net(dtype)
    chosen = []
    original = kernels.choose

    def spy(run):
        kernel = kernels.GeneralStep(run) if general else original(run)
        chosen.append(type(kernel).__name__)
        return kernel

    monkeypatch.setattr(kernels, "choose", spy)
    kw = {"max_iter": 40, "tol": None, "seed": 9, "l2": 0.01, **kw}
    r = train(net, X, y, "cross_entropy", opt, **kw)
    return r, chosen[0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_kernel_gives_the_general_kernels_results(name, dtype, monkeypatch):
    make, expected_kernel = OPTIMIZERS[name]
    fast, kernel = _train(make(), dtype, monkeypatch)
    ref, ref_kernel = _train(make(), dtype, monkeypatch, general=True)
    assert (kernel, ref_kernel) == (expected_kernel, "GeneralStep")
    assert fast.n_iter == ref.n_iter == 40 and fast.cost == ref.cost and fast.stop_reason == ref.stop_reason
    assert fast.history.k == ref.history.k and fast.history.cost == ref.history.cost
    # records exact in one run and estimated in the other (the "auto" cadence follows the clock)
    # are not compared; the first and the last are exact in both
    same = np.array(fast.history.exact) == np.array(ref.history.exact)
    assert same[0] and same[-1] and fast.history.exact[-1]
    loss, ref_loss = np.array(fast.history.loss)[same], np.array(ref.history.loss)[same]
    gnorm, ref_gnorm = np.array(fast.history.grad_norm)[same], np.array(ref.history.grad_norm)[same]
    if kernel == "CompiledSGD":  # the compiled loop sums in its own order: equal to rounding
        tol = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(fast.params, ref.params, rtol=tol, atol=tol)
        np.testing.assert_allclose(loss, ref_loss, rtol=tol)
        np.testing.assert_allclose(gnorm, ref_gnorm, rtol=10 * tol)
    else:  # the same operations in the same order: the same bits
        np.testing.assert_array_equal(fast.params, ref.params)
        np.testing.assert_array_equal(fast.history.step_size, ref.history.step_size)
        np.testing.assert_array_equal(loss, ref_loss)
        np.testing.assert_array_equal(gnorm, ref_gnorm)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_sample_sgd_without_numba_takes_the_fused_kernel_bit_identically(dtype, monkeypatch):
    monkeypatch.setenv("MLPLAB_NO_NUMBA", "1")
    fast, kernel = _train(SGD(inverse(0.3)), dtype, monkeypatch, reduction="mean")
    ref, _ = _train(SGD(inverse(0.3)), dtype, monkeypatch, general=True, reduction="mean")
    assert kernel == "FusedStep"
    np.testing.assert_array_equal(fast.params, ref.params)


def test_the_fused_kernel_reports_a_non_finite_step_where_the_general_one_does(monkeypatch):
    # a step that overflows while the loss is finite: both kernels stop at the same k with w^k kept
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 3)) * 1e5, rng.normal(size=6)
    out = []
    for general in (False, True):
        net = MLP([3, 1], activation="identity", bias=False, init="zeros")
        original = kernels.choose
        monkeypatch.setattr(kernels, "choose",
                            lambda run, g=general, o=original: kernels.GeneralStep(run) if g else o(run))
        with pytest.raises(DivergenceError) as exc, np.errstate(over="ignore"):
            train(net, X, y, "squared", MiniBatchSGD(2, schedule=1e304, sampling="cyclic"), max_iter=100,
                  tol=None, diverge_factor=None)
        monkeypatch.setattr(kernels, "choose", original)
        out.append(exc.value)
    assert "the step is not finite" in str(out[0]) and str(out[0]) == str(out[1])
    assert out[0].k == out[1].k == 0  # (|γ ∇E_B| ≈ 1e304 · 1e5 overflows, E_B(0) = Σ y² does not)
    np.testing.assert_array_equal(out[0].params, out[1].params)
    np.testing.assert_array_equal(out[0].params, np.zeros(3))


class SignDescent(Optimizer):
    """d^k = −sign(g^k), a constant α: an optimizer written outside mlplab."""

    batch_size = 3
    sampling = "cyclic"

    def __init__(self, alpha):
        self.alpha = alpha

    def direction(self, grad, state):
        return -np.sign(grad), state

    def step_size(self, d, grad, state, params, loss, value_fn):
        return StepInfo(step_size=self.alpha)


class HalvingSteps(Optimizer):
    """Full-batch steps along −g with α_k = α_0 / 2^k, and a state slot counting the steps."""

    def init(self, params):
        from mlplab.optim import OptState

        return OptState(slots={"seen": np.zeros(1)})

    def step_size(self, d, grad, state, params, loss, value_fn):
        return StepInfo(step_size=0.1 / 2 ** state.k)

    def direction(self, grad, state):
        from dataclasses import replace

        return -grad, replace(state, slots={"seen": state.slots["seen"] + 1})


def test_a_new_optimizer_trains_without_any_change_to_the_loop():
    X, y = _data(S=10)
    net = _net()
    w = net.params.copy()
    p = Problem(net, X, y, "cross_entropy")
    for k in range(7):  # the hand loop: cyclic blocks {0,1,2}, {3,4,5}, {6,7,8}, {9}, {0,1,2}, …
        start = 3 * (k % 4)
        _, g = p.value_and_grad(w, slice(start, min(start + 3, 10)))
        d = -np.sign(g)
        d *= d.dtype.type(0.01)
        w += d
    r = train(net, X, y, "cross_entropy", SignDescent(0.01), max_iter=7, tol=None)
    np.testing.assert_array_equal(r.params, w)
    assert r.cost == 3 + 3 + 3 + 1 + 3 + 3 + 3 and r.history.step_size[0] == 0.01
    assert r.stop_reason == "max_iter" and r.history.k == [0, 4, 7]  # one record per epoch of 4 blocks
    assert r.history.exact[0] and r.history.exact[-1]

    net2 = _net()
    w = net2.params.copy()
    for k in range(5):
        _, g = p.value_and_grad(w)
        w -= (0.1 / 2 ** k) * g
    r2 = train(net2, X, y, "cross_entropy", HalvingSteps(), max_iter=5, tol=None)
    np.testing.assert_allclose(r2.params, w, rtol=1e-14, atol=1e-15)
    assert r2.opt_state.slots["seen"][0] == 5 and r2.cost == 5 * 10
    assert r2.history.step_size[:5] == [0.1 / 2 ** k for k in range(5)]


class HalfSGD(MiniBatchSGD):
    """Mini-batch SGD whose step size is half the schedule's: a subclass the fused kernel must not take."""

    def step_size(self, d, grad, state, params, loss, value_fn):
        return StepInfo(step_size=0.5 * self.schedule(state.k))

    def update(self, grad, state, params, *, loss=None, value_fn=None):
        return Optimizer.update(self, grad, state, params, loss=loss, value_fn=value_fn)


def test_a_subclass_with_its_own_step_size_gets_the_general_kernel(monkeypatch):
    X, y = _data(S=10)
    chosen, original = [], kernels.choose
    monkeypatch.setattr(kernels, "choose", lambda run: chosen.append(type(original(run)).__name__) or original(run))
    net = _net()
    w = net.params.copy()
    p = Problem(net, X, y, "cross_entropy")
    for k in range(6):  # cyclic blocks of 5: {0..4}, {5..9}, …
        _, g = p.value_and_grad(w, slice(5 * (k % 2), 5 * (k % 2) + 5))
        d = -g
        d *= d.dtype.type(0.5 * 0.1)
        w += d
    r = train(net, X, y, "cross_entropy", HalfSGD(5, schedule=0.1, sampling="cyclic"), max_iter=6, tol=None)
    assert chosen == ["GeneralStep"] and r.history.step_size[0] == 0.05
    np.testing.assert_array_equal(r.params, w)


@pytest.mark.parametrize("monitor", ["auto", "batch", "epoch"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_sample_blas_kernel_equals_the_general_kernel_to_rounding(dtype, reduction, monitor, monkeypatch):
    """Networks above the compiled kernel's size take one-sample SGD through Problem.sgd_step (ger in
    place, ∇E_j added to the history's sums by a second ger): the general kernel's weights, records and
    block estimates, to rounding (here on a small net, the size threshold lowered to 0)."""
    monkeypatch.setenv("MLPLAB_NO_NUMBA", "1")
    monkeypatch.setattr(kernels, "ONE_SAMPLE_BLAS_MIN", 0)
    kw = dict(reduction=reduction, monitor=monitor, eval_every=7, max_iter=60)
    fast, kernel = _train(SGD(inverse(0.3)), dtype, monkeypatch, **kw)
    ref, _ = _train(SGD(inverse(0.3)), dtype, monkeypatch, general=True, **kw)
    assert kernel == "OneSampleBLAS"
    tol = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(fast.params, ref.params, rtol=tol, atol=tol)
    assert fast.history.k == ref.history.k and fast.history.exact == ref.history.exact
    assert fast.history.cost == ref.history.cost and fast.n_iter == ref.n_iter == 60
    np.testing.assert_allclose(fast.history.loss, ref.history.loss, rtol=tol)
    np.testing.assert_allclose(fast.history.grad_norm, ref.history.grad_norm, rtol=10 * tol)
    np.testing.assert_allclose(fast.history.layer_grad_norms, ref.history.layer_grad_norms, rtol=10 * tol)


def test_a_large_network_takes_one_sample_steps_with_blas_and_stops_on_divergence_as_the_general_kernel(
        monkeypatch):
    """A 4-3000-3 net (24,003 parameters, above ONE_SAMPLE_BLAS_MIN) chooses OneSampleBLAS by itself;
    with a step that blows up, it raises the general kernel's DivergenceError at the same iteration."""
    X, y = _data()
    net = MLP([4, 3000, 3], activation="tanh", output_activation="softmax", seed=2)
    assert net.n_params > kernels.ONE_SAMPLE_BLAS_MIN
    chosen = []
    original = kernels.choose
    monkeypatch.setattr(kernels, "choose", lambda run: chosen.append(original(run)) or chosen[-1])
    train(net, X, y, "cross_entropy", SGD(0.001), max_iter=20, tol=None, seed=1)
    assert type(chosen[-1]).__name__ == "OneSampleBLAS"
    errors = []
    for general in (False, True):
        big = MLP([4, 3000, 3], activation="tanh", output_activation="softmax", seed=2)
        if general:
            monkeypatch.setattr(kernels, "choose", lambda run: kernels.GeneralStep(run))
        with pytest.raises(DivergenceError) as info:
            train(big, X * 1e3, y, "cross_entropy", SGD(1e30), max_iter=50, tol=None, seed=1)
        errors.append(info.value)
    assert errors[0].k == errors[1].k
    np.testing.assert_array_equal(errors[0].params, errors[1].params)
