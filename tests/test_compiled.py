"""The compiled one-sample SGD kernel (mlplab.fast.compiled) against the paths it replaces.

Oracles: ``scalar.sgd_steps`` (the same component formulas in Python floats) and
``Problem.sgd_step`` one sample at a time (the array code). Tests of the fallback
(no Numba, ``MLPLAB_NO_NUMBA=1``) run without Numba too.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import mlplab
from mlplab import MLP, Problem, train
from mlplab.fast import compiled, scalar
from mlplab.optim import SGD

try:
    import numba
except ImportError:  # pragma: no cover - depends on the environment
    numba = None

needs_numba = pytest.mark.skipif(numba is None, reason="numba is not installed (pip install mlplab[fast])")


@pytest.fixture(autouse=True)
def _numba_on(monkeypatch):
    monkeypatch.delenv(compiled.ENV_SWITCH, raising=False)


def _problem(sizes, act, out, loss, bias, l2=0.0, reduction="sum", weighted=False, dtype="float64", S=9):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(S, sizes[0]))
    if loss == "perceptron":
        Y = rng.choice([-1.0, 1.0], size=(S, sizes[-1]))
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=(S, sizes[-1])).astype(float)
    elif loss == "cross_entropy":
        Y = rng.integers(0, sizes[-1], size=S)
    else:
        Y = rng.normal(size=(S, sizes[-1]))
    sw = rng.uniform(0.5, 2.0, size=S) if weighted else None
    net = MLP(sizes, activation=act, output_activation=out, bias=bias, seed=3, dtype=dtype)
    return Problem(net, X, Y, loss, l2=l2, reduction=reduction, sample_weight=sw)


# (hidden activation, output activation, loss): every activation and every loss
COMBOS = [
    ("sigmoid", "sigmoid", "squared"),  # the lecture's pair: the logit form
    ("tanh", "identity", "squared"),
    ("relu", "tanh", "squared"),
    ("leaky_relu", "softplus", "squared"),
    ("softplus", "relu", "squared"),
    ("identity", "leaky_relu", "squared"),
    ("tanh", "tanh", "absolute"),
    ("sigmoid", "identity", "absolute"),
    ("leaky_relu", "sigmoid", "binary_cross_entropy"),
    ("relu", "identity", "perceptron"),
    ("sigmoid", "tanh", "perceptron"),
    ("tanh", "softmax", "cross_entropy"),
    ("sigmoid", "softmax", "cross_entropy"),
]
CONFIGS = [(False, 0.0, "sum", False), (True, 0.0, "sum", False), (True, 0.2, "sum", True),
           (True, 0.2, "mean", True)]


def _sizes(out, loss):
    return (3, 4, 3, 3) if loss == "cross_entropy" else (3, 4, 3, 2)


def _run(p, n, seed=11, scale=0.05):
    rng = np.random.default_rng(seed)
    return rng.integers(0, p.S, size=n).tolist(), [scale / (k + 1) ** 0.6 for k in range(n)]


@needs_numba
@pytest.mark.parametrize("act, out, loss", COMBOS)
@pytest.mark.parametrize("bias, l2, reduction, weighted", CONFIGS)
def test_compiled_float64_matches_scalar_and_array_steps(act, out, loss, bias, l2, reduction, weighted):
    p = _problem(_sizes(out, loss), act, out, loss, bias, l2, reduction, weighted)
    assert compiled.plan(p) is not None
    js, gammas = _run(p, 1000)
    w = p.net.params.copy()
    assert p.sgd_steps(w, js, gammas) == 1000
    assert p._compiled_plan is not None
    assert not np.array_equal(w, p.net.params)
    if scalar.supports(p):
        w_s = p.net.params.copy()
        assert scalar.sgd_steps(p, w_s, js, gammas) == 1000
        np.testing.assert_allclose(w, w_s, rtol=1e-12, atol=1e-14)
    w_a = p.net.params.copy()
    for j, gamma in zip(js, gammas):
        assert p.sgd_step(w_a, j, gamma)[1]
    np.testing.assert_allclose(w, w_a, rtol=1e-12, atol=1e-13)


@needs_numba
@pytest.mark.parametrize("act, out, loss", COMBOS)
@pytest.mark.parametrize("bias, l2, reduction, weighted", [CONFIGS[0], CONFIGS[2], CONFIGS[3]])
def test_compiled_float32_runs_in_float32_and_matches_array_steps(act, out, loss, bias, l2, reduction, weighted):
    p = _problem(_sizes(out, loss), act, out, loss, bias, l2, reduction, weighted, dtype="float32")
    js, gammas = _run(p, 100)
    w = p.net.params.copy()
    assert p.sgd_steps(w, js, gammas) == 100
    assert p._compiled_plan is not None and w.dtype == np.float32
    w_a = p.net.params.copy()
    for j, gamma in zip(js, gammas):
        assert p.sgd_step(w_a, j, gamma)[1]
    np.testing.assert_allclose(w, w_a, rtol=2e-5, atol=2e-6)
    # and not float64 arithmetic rounded at the end: the float64 run differs by more than float32's ε
    p64 = _problem(_sizes(out, loss), act, out, loss, bias, l2, reduction, weighted)
    w64 = p.net.params.astype(np.float64)
    assert p64.sgd_steps(w64, js, gammas) == 100
    assert not np.array_equal(w.astype(np.float64), w64)


@needs_numba
def test_train_on_the_slides_network_goes_through_the_kernel_and_matches_array_steps():
    X, y = mlplab.datasets.lecture_network()
    net = MLP(mlplab.datasets.LECTURE_NETWORK_SIZES, activation="sigmoid", bias=False, seed=0)
    p = Problem(net, X, y, "squared")
    w = net.params.copy()
    js = np.random.default_rng(4).integers(0, len(X), size=3000)
    for k, j in enumerate(js):
        p.sgd_step(w, int(j), 1.0 / (k + 1))
    r = train(net.copy(), X, y, "squared", SGD(), max_iter=3000, tol=None, seed=4)
    np.testing.assert_allclose(r.params, w, rtol=1e-12)
    assert compiled.plan(p) is not None


@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compiled_steps_stop_before_a_step_that_could_overflow(dtype):
    p = _problem((2, 2, 1), "identity", "identity", "squared", True, dtype=dtype)
    huge = 1e308 if dtype == "float64" else 1e38
    js, gammas = [0, 1, 2, 3], [1e-3, 1e-3, huge, 1e-3]
    w, w_ref = p.net.params.copy(), p.net.params.copy()
    for j, gamma in zip(js[:2], gammas[:2]):
        p.sgd_step(w_ref, j, gamma)
    assert p.sgd_steps(w, js, gammas) == 2  # the third step is declined; w is w^2
    assert p._compiled_plan is not None
    np.testing.assert_allclose(w, w_ref, rtol=1e-12 if dtype == "float64" else 1e-6)
    if dtype == "float64":
        w_s = p.net.params.copy()
        assert scalar.sgd_steps(p, w_s, js, gammas) == 2


@needs_numba
def test_compiled_steps_stop_at_a_non_finite_error_and_a_regulariser_factor_beyond_one():
    p = _problem((2, 3, 1), "tanh", "identity", "squared", True)
    w = p.net.params.copy()
    w[0] = np.nan  # E_j is NaN from the first step on
    before = w.copy()
    assert p.sgd_steps(w, [0, 1], [0.1, 0.1]) == 0
    np.testing.assert_array_equal(w, before)
    q = _problem((2, 2, 1), "tanh", "identity", "squared", True, l2=1e10)
    w = q.net.params.copy()
    assert q.sgd_steps(w, [0, 1], [1e-12, 1e300]) == 1  # |1 − γρλ| > 1 is declined
    assert q._compiled_plan is not None and np.all(np.isfinite(w))


@needs_numba
def test_negative_and_out_of_range_sample_indices():
    p = _problem((2, 2, 1), "sigmoid", "sigmoid", "squared", True)
    w, w_ref = p.net.params.copy(), p.net.params.copy()
    assert p.sgd_steps(w, [-1, 3], [0.1, 0.1]) == 2
    scalar.sgd_steps(p, w_ref, [-1, 3], [0.1, 0.1])
    np.testing.assert_allclose(w, w_ref, rtol=1e-14)
    with pytest.raises(IndexError):
        p.sgd_steps(w, [p.S], [0.1])
    assert p.sgd_steps(w, [], []) == 0


@needs_numba
def test_kernel_applies_only_where_it_is_defined():
    from mlplab.activations import Activation

    assert compiled.plan(_problem((2, 2, 1), "sigmoid", "sigmoid", "squared", False, dtype="float32")) is not None
    big = _problem((20, 200, 200, 3), "tanh", "identity", "squared", True)  # d > MAX_PARAMS: BLAS is faster
    assert big.d > compiled.MAX_PARAMS and compiled.plan(big) is None
    X, y = np.random.default_rng(0).normal(size=(6, 2)), np.eye(3)[np.arange(6) % 3]
    sq_softmax = Problem(MLP([2, 2, 3], output_activation="softmax", seed=0), X, y, "squared")
    assert compiled.plan(sq_softmax) is None  # softmax only with cross-entropy
    p = _problem((2, 3, 1), "relu", "identity", "squared", True)
    p.net.activations = (Activation("relu", lambda z: np.maximum(z, 0) ** 2, lambda z, a: 2 * np.maximum(z, 0)),
                         p.net.activations[1])
    assert compiled.plan(p) is None  # a look-alike record, not the built-in relu


@needs_numba
def test_a_read_only_install_compiles_without_a_cache(monkeypatch):
    # no cache locator can write (read-only site-packages and home): numba.njit(cache=True)
    # raises at decoration; the kernel is then compiled without a cache
    from numba.core import caching

    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])

    def f(x):
        return x + 1.0

    with pytest.raises(RuntimeError, match="cannot cache"):
        numba.njit(cache=True)(f)
    assert compiled._njit(numba, f)(1.0) == 2.0


# --- the fallback: no Numba, or MLPLAB_NO_NUMBA=1 -----------------------------------


def test_import_mlplab_does_not_import_numba():
    code = ("import sys, numpy as np, mlplab\n"
            "X, y = mlplab.datasets.lecture()\n"
            "p = mlplab.Problem(mlplab.MLP([2, 2, 1], seed=0), X, y)\n"
            "p.value_and_grad(p.net.params)\n"
            "assert 'numba' not in sys.modules, 'numba imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def _fallback_matches_scalar():
    p = _problem((2, 2, 2, 1), "sigmoid", "sigmoid", "squared", False)
    js, gammas = _run(p, 200)
    w = p.net.params.copy()
    assert p.sgd_steps(w, js, gammas) == 200
    assert p._compiled_plan is None
    w_s = p.net.params.copy()
    scalar.sgd_steps(p, w_s, js, gammas)
    np.testing.assert_array_equal(w, w_s)  # the Python-float path itself
    q = _problem((3, 4, 3), "tanh", "softmax", "cross_entropy", True, dtype="float32")
    w = q.net.params.copy()
    assert q.sgd_steps(w, *_run(q, 20)) == 20 and q._compiled_plan is None  # the array path
    r = train(MLP([2, 2, 1], bias=False, seed=0), *mlplab.datasets.lecture(), "squared", SGD(),
              max_iter=500, tol=None, seed=1)
    assert r.n_iter == 500


def test_without_numba_everything_runs_as_before(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    monkeypatch.setattr(compiled, "_state", {})
    assert compiled.kernel() is None
    _fallback_matches_scalar()


def test_environment_switch_forces_the_fallback(monkeypatch):
    monkeypatch.setenv(compiled.ENV_SWITCH, "1")
    assert compiled.disabled()
    _fallback_matches_scalar()
    monkeypatch.setenv(compiled.ENV_SWITCH, "0")
    assert not compiled.disabled()
