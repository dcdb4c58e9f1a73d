"""The engine's fast paths against the plain formulas they replace.

Oracle: the general path (``Problem.value_and_grad`` forming the full gradient,
then w − γ g, or a fresh forward pass at w + α d).
"""

from __future__ import annotations

import numpy as np
import pytest

import mlplab
from mlplab import MLP, Problem, train
from mlplab.optim import SGD


def _problem(dtype="float64", bias=True, l2=0.0, reduction="sum", weighted=False, loss="cross_entropy"):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 5))
    y = rng.integers(0, 3, size=12)
    sw = rng.uniform(0.5, 2.0, size=12) if weighted else None
    net = MLP([5, 4, 3], activation="tanh", output_activation="softmax", bias=bias, seed=1, dtype=dtype)
    return Problem(net, X, y, loss, l2=l2, reduction=reduction, sample_weight=sw)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias, l2, reduction, weighted", [
    (True, 0.0, "sum", False), (False, 0.0, "sum", False), (True, 0.3, "sum", True), (True, 0.3, "mean", False)])
def test_sgd_step_is_w_minus_gamma_g(dtype, bias, l2, reduction, weighted):
    p = _problem(dtype, bias, l2, reduction, weighted)
    w = p.net.params.copy()
    E_ref, g = p.value_and_grad(w, 7)
    expected = w - w.dtype.type(0.37) * g
    E, taken = p.sgd_step(w, 7, 0.37)
    assert taken
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(E, E_ref, rtol=tol)
    np.testing.assert_allclose(w, expected, rtol=tol, atol=tol)


def test_sgd_step_declines_a_step_that_could_overflow():
    p = _problem("float32")
    w = p.net.params.copy()
    before = w.copy()
    _, taken = p.sgd_step(w, 0, 1e39)  # γ max|dz| max|a| near float32's 3.4e38
    assert not taken
    np.testing.assert_array_equal(w, before)


def test_train_sgd_matches_the_general_update_loop():
    # the same j_k as train draws (uniform, one epoch of indices at a time), general path by hand
    p = _problem()
    net = p.net
    w = net.params.copy()
    rng = np.random.default_rng(5)
    order = rng.integers(0, p.S, size=p.S)
    for k in range(10):
        _, g = p.value_and_grad(w, int(order[k]))
        w -= (1.0 / (k + 1)) * g
    r = train(net, p.X, p.Y, "cross_entropy", SGD(), max_iter=10, tol=None, seed=5)
    np.testing.assert_allclose(r.params, w, rtol=1e-12, atol=1e-14)
    assert r.cost == 10 and list(r.history.k) == [0, 10]


def test_lean_sgd_is_deterministic_in_float32():
    X, y = mlplab.datasets.lecture()
    runs = []
    for _ in range(2):
        net = MLP([2, 2, 1], bias=False, seed=0, dtype="float32")
        runs.append(train(net, X, y, "squared", SGD(), max_iter=500, tol=None, seed=1).params)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert runs[0].dtype == np.float32


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("bias, l2, idx", [(True, 0.0, None), (False, 0.2, None), (True, 0.2, [1, 4, 5])])
def test_value_along_is_value_at_w_plus_alpha_d(dtype, tol, bias, l2, idx):
    p = _problem(dtype, bias, l2)
    w = p.net.params.copy()
    d = -p.value_and_grad(w, idx)[1]
    phi = p.value_along(w, d, idx)
    for alpha in (0.0, 1e-3, 0.5, 7.0):
        trial = w + w.dtype.type(alpha) * d
        np.testing.assert_allclose(phi(alpha), p.value(trial, idx), rtol=tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_block_gradients_with_reused_buffers_match_fresh_problems(dtype):
    # blocks of the same size share the net's Workspace; each result must equal a fresh
    # full-data pass (no buffers) on that block alone, also after other blocks ran
    p = _problem(dtype, l2=0.1, weighted=True)
    w = p.net.params.copy()
    blocks = [[0, 3, 5], [2, 7, 11], [1, 4, 9], [6, 8]]
    got = [p.value_and_grad(w, np.array(b), out=np.empty_like(w)) for b in blocks]
    for b, (E, g) in zip(blocks, got):
        ref = Problem(p.net, p.X[b], p.Y[b], "cross_entropy", l2=0.1, sample_weight=p.sample_weight[b])
        E_ref, g_ref = ref.value_and_grad(w)
        tol = 1e-12 if dtype == "float64" else 1e-5
        # the regulariser's share is |B|/S of λ/2‖W‖² in a block; a fresh problem on the block has S = |B|
        reg = 0.5 * 0.1 * sum(float(np.dot(w[s.W], w[s.W])) for s in p.net.slices)
        np.testing.assert_allclose(E - len(b) / p.S * reg, E_ref - reg, rtol=tol)
        gl = g.copy()
        for s in p.net.slices:
            gl[s.W] += (1 - len(b) / p.S) * 0.1 * w[s.W]
        np.testing.assert_allclose(gl, g_ref, rtol=tol, atol=tol)
