"""The L1 regulariser λ₁ Σ_ℓ Σ_ij |W^ℓ_ij| of mlplab.objective.Problem: value, subgradient and the
line search's slope against finite differences; the fused SGD paths decline it; l1 = 0 changes nothing."""

import dataclasses
import math
import re

import numpy as np
import pytest

import mlplab
from mlplab import MLP, Problem, train
from mlplab.fast.kernels import ONE_SAMPLE_BLAS_MIN
from mlplab.optim import GD, SGD, MiniBatchSGD

LAM1 = 0.3


def _problem(l1=LAM1, l2=0.0, reduction="sum", weighted=False, sizes=(5, 4, 3), S=12):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(S, sizes[0]))
    y = rng.integers(0, sizes[-1], size=S)
    sw = rng.uniform(0.5, 2.0, size=S) if weighted else None
    net = MLP(list(sizes), activation="tanh", output_activation="softmax", seed=1)
    return Problem(net, X, y, "cross_entropy", l1=l1, l2=l2, reduction=reduction, sample_weight=sw)


def _abs_weights(p, w):
    return sum(float(np.abs(w[s.W]).sum()) for s in p.net.slices)


def _n(p, idx):
    return p.S if idx is None else 1 if isinstance(idx, int) else len(idx)


BLOCKS = [None, 7, np.array([7, 0, 11, 3])]
CASES = [("sum", False), ("mean", False), ("sum", True), ("mean", True)]


@pytest.mark.parametrize("reduction, weighted", CASES)
@pytest.mark.parametrize("idx", BLOCKS)
def test_value_is_the_data_term_plus_rho_lambda1_sum_abs_w(reduction, weighted, idx):
    p, p0 = _problem(reduction=reduction, weighted=weighted), _problem(0.0, reduction=reduction, weighted=weighted)
    w = p.net.params
    rho = _n(p, idx) / p.S if reduction == "sum" else 1.0  # the regulariser's share of the block
    assert p.value(w, idx) == pytest.approx(p0.value(w, idx) + rho * LAM1 * _abs_weights(p, w), rel=1e-14)
    E, _ = p.value_and_grad(w, idx)
    assert E == pytest.approx(p.value(w, idx), rel=1e-14)


@pytest.mark.parametrize("reduction, weighted", CASES)
@pytest.mark.parametrize("idx", BLOCKS)
def test_gradient_matches_central_differences_away_from_zero_weights(reduction, weighted, idx):
    p = _problem(reduction=reduction, weighted=weighted, l2=0.1)
    w = p.net.params.copy()
    h = 1e-6
    assert min(np.abs(w[s.W]).min() for s in p.net.slices) > 100 * h  # |W_ij| is smooth within ±h
    _, g = p.value_and_grad(w, idx)
    fd = np.empty_like(w)
    for i in range(p.d):
        e = np.zeros_like(w)
        e[i] = h
        fd[i] = (p.value(w + e, idx) - p.value(w - e, idx)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_gradient_adds_rho_lambda1_sign_w_on_weights_only_and_zero_at_zero():
    p, p0 = _problem(), _problem(0.0)
    w = p.net.params.copy()
    w[p.net.slices[0].W][:3] = 0.0  # three weights exactly at the kink: sign(0) = 0
    _, g = p.value_and_grad(w)
    _, g0 = p0.value_and_grad(w)
    diff = g - g0
    for s in p.net.slices:
        np.testing.assert_allclose(diff[s.W], LAM1 * np.sign(w[s.W]), rtol=1e-12, atol=1e-15)
        assert np.all(diff[s.b] == 0)
    assert np.all(diff[p.net.slices[0].W][:3] == 0)
    E, gl = mlplab.objective.loss_and_grad(p.net, p.X, p.Y, "cross_entropy", l1=LAM1)  # the front door too
    assert E == pytest.approx(p.value(p.net.params), rel=1e-14)


@pytest.mark.parametrize("reduction, weighted", CASES)
@pytest.mark.parametrize("idx", BLOCKS)
def test_phi_and_its_slope_along_d_match_values_and_central_differences(reduction, weighted, idx):
    p = _problem(reduction=reduction, weighted=weighted, l2=0.1)
    w = p.net.params.copy()
    d = np.random.default_rng(8).normal(size=p.d)
    phi = p.value_along(w, d, idx)
    h = 1e-6
    kinks = np.concatenate([-w[s.W] / d[s.W] for s in p.net.slices])  # α where some W_ij + α D_ij = 0
    for alpha in (0.0, 0.05, 0.3):
        assert np.abs(kinks - alpha).min() > 100 * h
        assert phi(alpha) == pytest.approx(p.value(w + alpha * d, idx), rel=1e-12)
        value, slope = phi.value_and_slope(alpha)
        assert value == pytest.approx(phi(alpha), rel=1e-12)
        fd = (phi(alpha + h) - phi(alpha - h)) / (2 * h)
        assert slope == pytest.approx(fd, rel=1e-6, abs=1e-8)
    _, g = p.value_and_grad(w, idx)
    assert phi.value_and_slope(0.0)[1] == pytest.approx(float(g @ d), rel=1e-12)  # φ′(0) = ∇Eᵀd


def test_fused_one_sample_paths_decline_l1():
    p = _problem()
    w = p.net.params.copy()
    before = w.copy()
    E, taken = p.sgd_step(w, 3, 0.1)
    assert not taken and math.isnan(E)
    E, taken = p.sgd_step(w, np.array([1, 2]), 0.1)
    assert not taken
    assert p.sgd_steps(w, [1, 2, 3], [0.1, 0.1, 0.1]) == 0
    assert p.compiled_plan() is None
    np.testing.assert_array_equal(w, before)  # untouched


def _hand_sgd(p, steps, seed, gamma):
    """w ← w − γ_k (∇E_j(w) + ρ λ₁ sign(W) on the weights), j_k drawn as train draws them (uniform)."""
    p0 = Problem(p.net, p.X, p.Y, "cross_entropy", reduction=p.reduction)  # the data term alone
    rho = 1.0 / p.S if p.reduction == "sum" else 1.0  # one sample's share of the regulariser
    w = p.net.params.copy()
    order = np.random.default_rng(seed).integers(0, p.S, size=p.S)
    for k in range(steps):
        _, g = p0.value_and_grad(w, int(order[k]))
        for s in p.net.slices:
            g[s.W] += rho * LAM1 * np.sign(w[s.W])
        w -= gamma(k) * g
    return w


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_train_sgd_with_l1_is_the_hand_loop(reduction):
    p = _problem(reduction=reduction)
    w = _hand_sgd(p, 10, 5, lambda k: 1.0 / (k + 1))
    r = train(p.net.copy(), p.X, p.Y, "cross_entropy", SGD(), max_iter=10, tol=None, seed=5, l1=LAM1,
              reduction=reduction)
    np.testing.assert_allclose(r.params, w, rtol=1e-12, atol=1e-14)
    assert r.cost == 10


def test_train_sgd_with_l1_on_a_network_beyond_the_compiled_kernel():
    # d > ONE_SAMPLE_BLAS_MIN: the BLAS ger kernel is chosen, declines every step, the array kernel takes it
    p = _problem(sizes=(200, 90, 2), S=20)
    assert p.d > ONE_SAMPLE_BLAS_MIN
    w = _hand_sgd(p, 6, 2, lambda k: 0.1)
    r = train(p.net.copy(), p.X, p.Y, "cross_entropy", SGD(0.1), max_iter=6, tol=None, seed=2, l1=LAM1)
    np.testing.assert_allclose(r.params, w, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("optimizer", [lambda: GD(), lambda: SGD(), lambda: MiniBatchSGD(batch_size=4)],
                         ids=["gd-exact", "sgd", "minibatch"])
def test_l1_zero_is_bit_identical_to_no_l1(optimizer):
    p = _problem(0.0)
    runs = [train(p.net.copy(), p.X, p.Y, "cross_entropy", optimizer(), max_iter=30, tol=None, seed=4, **kw)
            for kw in ({}, {"l1": 0.0}, {"l1": 0})]
    for r in runs[1:]:
        np.testing.assert_array_equal(r.params, runs[0].params)
        for f in dataclasses.fields(runs[0].history):
            if f.name != "time":
                np.testing.assert_array_equal(np.asarray(getattr(r.history, f.name), dtype=float),
                                              np.asarray(getattr(runs[0].history, f.name), dtype=float),
                                              err_msg=f.name)


def test_train_with_l1_and_exact_line_search_shrinks_the_weights():
    p = _problem(0.0)
    plain = train(p.net.copy(), p.X, p.Y, "cross_entropy", GD(), max_iter=40, tol=None)
    sparse = train(p.net.copy(), p.X, p.Y, "cross_entropy", GD(), max_iter=40, tol=None, l1=1.0)
    assert _abs_weights(p, sparse.params) < _abs_weights(p, plain.params)


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf")])
def test_bad_l1_is_a_value_error_naming_the_value_and_the_rule(bad):
    net = MLP([2, 1])
    rule = r"l1 must be a finite number in \[0, inf\), got " + re.escape(repr(bad))
    with pytest.raises(ValueError, match=rule):
        Problem(net, np.zeros((1, 2)), [0.0], l1=bad)
    with pytest.raises(ValueError, match="l1 must be"):
        train(net, np.zeros((1, 2)), [0.0], l1=bad, max_iter=1)
    with pytest.raises(ValueError, match="l1 must be"):
        net.loss_and_grad(np.zeros((1, 2)), [0.0], l1=bad)


def test_the_surface_panel_includes_the_l1_term():
    """analysis.batched_loss (the playground's and the reports' surfaces) is the Problem's E with λ₁ too."""
    from mlplab.analysis import batched_loss

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(12, 2)), (rng.normal(size=12) > 0).astype(float)
    net = mlplab.MLP([2, 3, 1], activation="tanh", seed=0)
    for reduction in ("sum", "mean"):
        p = Problem(net, X, y, "squared", l1=0.3, l2=0.1, reduction=reduction)
        Ws = np.stack([net.params, net.params * 0.5, net.params + 0.1])
        np.testing.assert_allclose(batched_loss(p, Ws), [p.value(w) for w in Ws], rtol=1e-12)
