"""Pins on the compiled one-sample SGD kernel's float32 step (issue 28, item 10).

The oracle is the lecture's component formulas written out with NumPy float32 scalars in
the kernel's order (z = b + Σ_q w_q x_q left to right, dz = 2(a − y), w_q ← (1 − γρλ)w_q − (γ dz) x_q,
b ← b − γ dz): IEEE single precision, no BLAS, so it is bit-exact on every machine. A kernel
that computed any part in float64 (γ, the shrink factor or a constant not cast to float32)
rounds differently and is caught; the float64 kernel is the same step to float32's precision.
"""

import numpy as np
import pytest

import mlplab
from mlplab.fast import compiled
from mlplab.objective import Problem

numba = pytest.importorskip("numba")


@pytest.fixture(autouse=True)
def _numba_on(monkeypatch):
    monkeypatch.delenv(compiled.ENV_SWITCH, raising=False)


def problem(dtype, l2=0.0, S=9, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(S, 3)).astype(dtype)
    Y = rng.normal(size=(S, 1)).astype(dtype)
    net = mlplab.MLP([3, 1], activation="identity", bias=True, seed=3, dtype=dtype)
    net.params[:] = rng.normal(size=4).astype(dtype)
    return Problem(net, X, Y, "squared", l2=l2)


def steps(p, n=40, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, p.S, n).tolist(), list(rng.uniform(0.01, 0.2, n))


def reference_float32(p, w, js, gammas):
    """The kernel's steps in float32 scalars, component by component."""
    f = np.float32
    sl = p.net.slices[0]
    W, b = list(range(sl.W.start, sl.W.stop)), sl.b.start
    rho_lam = float(p._reg_weight(1) * p.l2)
    w = w.astype(np.float32).copy()
    for j, gamma in zip(js, gammas):
        x, y = p.X[j].astype(np.float32), f(p.Y[j, 0])
        z = w[b]
        for q, iw in enumerate(W):
            z = f(z + f(w[iw] * x[q]))
        dz = f(f(2.0) * f(z - y))
        g_t, shrink = f(gamma), 1.0 - gamma * rho_lam
        g = f(g_t * dz)
        for q, iw in enumerate(W):
            w[iw] = f(f(f(shrink) * w[iw]) - f(g * x[q])) if shrink != 1.0 else f(w[iw] - f(g * x[q]))
        w[b] = f(w[b] - f(g_t * dz))
    return w


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_float32_kernel_is_bit_exact_float32_arithmetic(l2):
    p = problem(np.float32, l2)
    assert compiled.plan(p) is not None
    js, gammas = steps(p)
    w = p.net.params.copy()
    assert p.sgd_steps(w, js, gammas) == len(js) and w.dtype == np.float32
    ref = reference_float32(p, p.net.params, js, gammas)
    np.testing.assert_array_equal(w, ref)


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_float32_step_against_the_float64_step(l2):
    p32, p64 = problem(np.float32, l2), problem(np.float64, l2)
    w64 = p32.net.params.astype(np.float64)
    p64.net.params[:] = w64
    js, gammas = steps(p32, n=1)
    w32 = p32.net.params.copy()
    assert p32.sgd_steps(w32, js, gammas) == 1 and p64.sgd_steps(w64, js, gammas) == 1
    # one step: the same to float32's rounding of the inputs and a few operations
    np.testing.assert_allclose(w32.astype(np.float64), w64, rtol=4e-7, atol=4e-7)
    # and the float64 step is the exact formula on the float32 inputs
    f = p64.net.params
    x, y = p64.X[js[0]], float(p64.Y[js[0], 0])
    z = f[3] + f[:3] @ x
    shrink = 1 - gammas[0] * float(p64._reg_weight(1) * l2)
    np.testing.assert_allclose(w64[:3], shrink * f[:3] - gammas[0] * 2 * (z - y) * x, rtol=1e-14, atol=1e-15)
    assert w64[3] == pytest.approx(f[3] - gammas[0] * 2 * (z - y), rel=1e-14, abs=1e-15)


def test_the_block_sums_hold_the_error_and_the_gradient_with_the_regulariser():
    p = problem(np.float64, l2=0.3)
    js, gammas = steps(p, n=1)
    w0 = p.net.params.copy()
    acc = np.zeros(p.d + 1)
    assert p.sgd_steps(p.net.params.copy(), js, gammas, acc=acc) == 1
    E, g = p.value_and_grad(w0, np.array(js))
    assert acc[0] == pytest.approx(E, rel=1e-13)
    np.testing.assert_allclose(acc[1:], g, rtol=1e-13, atol=1e-15)
    j = js[0]
    r = float(p.X[j] @ w0[:3] + w0[3] - p.Y[j, 0])
    rho_lam = float(p._reg_weight(1) * 0.3)
    assert acc[0] == pytest.approx(r * r + 0.5 * rho_lam * float(w0[:3] @ w0[:3]), rel=1e-13)
