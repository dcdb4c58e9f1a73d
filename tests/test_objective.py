"""mlplab.objective: E(w) = Σ_s c_s e^s (+ (λ/2) Σ‖W^ℓ‖²) and ∇E(w) with their options (reduction,
l2, sample weights), the per-call checks of X and class labels, and when a Problem asks for the scalar kernel."""

import numpy as np
import pytest

import mlplab
from mlplab.fast import scalar
from mlplab.objective import Problem


# --- the objective's options ---------------------------------------------------------


def test_reduction_mean_is_sum_over_S():
    net = mlplab.MLP([3, 4, 2], seed=0)
    X, Y = np.random.default_rng(0).normal(size=(8, 3)), np.random.default_rng(1).normal(size=(8, 2))
    Es, gs = net.loss_and_grad(X, Y)
    Em, gm = net.loss_and_grad(X, Y, reduction="mean")
    assert Em == pytest.approx(Es / 8, rel=1e-14)
    np.testing.assert_allclose(gm, gs / 8, rtol=1e-13)


def test_l2_regulariser_covers_weights_not_biases():
    net = mlplab.MLP([3, 4, 2], seed=0)
    X, Y = np.random.default_rng(0).normal(size=(8, 3)), np.random.default_rng(1).normal(size=(8, 2))
    E0, g0 = net.loss_and_grad(X, Y)
    E1, g1 = net.loss_and_grad(X, Y, l2=0.5)
    sq = sum(np.sum(W ** 2) for W in net.weights)
    assert E1 == pytest.approx(E0 + 0.25 * sq, rel=1e-14)  # + (λ/2) Σ‖W^ℓ‖²
    diff = g1 - g0
    for s, W in zip(net.slices, net.weights):
        np.testing.assert_allclose(diff[s.W], 0.5 * W.ravel(), rtol=1e-12)  # + λ W
        assert np.all(diff[s.b] == 0)


def test_sample_weight_scales_each_error():
    net = mlplab.MLP([2, 1], activation="identity", seed=0)
    X, y = np.random.default_rng(0).normal(size=(4, 2)), np.arange(4.0)
    c = np.array([1.0, 0.0, 2.0, 0.5])
    G = net.per_sample_grads(X, y)
    e = (y - net.forward(X)[:, 0]) ** 2
    E, g = net.loss_and_grad(X, y, sample_weight=c)
    assert E == pytest.approx(np.dot(c, e), rel=1e-14)
    np.testing.assert_allclose(g, c @ G, rtol=1e-13)


def test_bad_objective_options():
    net = mlplab.MLP([2, 1])
    with pytest.raises(ValueError, match="'median'"):
        net.loss_and_grad(np.zeros((1, 2)), [0.0], reduction="median")
    with pytest.raises(ValueError, match="-1"):
        net.loss_and_grad(np.zeros((1, 2)), [0.0], l2=-1)


# --- the per-call checks of loss_and_grad's front door (cheap, and still complete) ------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_x_finiteness_check_finds_every_nan_and_inf_and_keeps_huge_finite_inputs(dtype):
    """X is checked by one Σ x² (a BLAS dot): NaN and ±inf anywhere are refused with their place;
    finite values whose squares overflow are not (the exact check decides then)."""
    net = mlplab.MLP([3, 2, 1], dtype=dtype, seed=0)
    for bad in (np.nan, np.inf, -np.inf):
        for row, col in ((0, 0), (4, 2), (2, 1)):
            X = np.ones((5, 3))
            X[row, col] = bad
            with pytest.raises(ValueError, match=rf"NaN or inf \(row {row}, column {col}\)"):
                net.loss_and_grad(X, np.zeros(5))
    huge = 0.5 * float(np.finfo(dtype).max)  # x² overflows to inf: still a finite input
    X = np.array([[huge, -huge, 1.0], [0.0, 1.0, 2.0]])
    checked, _ = net.check_X(X)
    np.testing.assert_array_equal(checked, X.astype(dtype))
    E, g = net.loss_and_grad(np.array([[0.5, -1.0, 2.0]]), [0.25])
    assert np.isfinite(E) and np.all(np.isfinite(g))


@pytest.mark.parametrize("labels, bad", [
    (np.array([0, 2, -1, 1]), "sample 2 has label -1"),
    (np.array([0, 3, 1], dtype=np.int32), "sample 1 has label 3"),
    (np.array([0, 1, 7], dtype=np.uint8), "sample 2 has label 7"),
    (np.array([0.0, 1.5, 2.0]), "sample 1 has label 1.5"),
    (np.array([0.0, 2.0, 3.0]), "sample 2 has label 3.0"),
])
def test_class_labels_out_of_range_name_the_sample(labels, bad):
    net = mlplab.MLP([2, 3], activation="softmax", seed=0)
    with pytest.raises(ValueError, match=bad):
        net.loss_and_grad(np.zeros((len(labels), 2)), labels, loss="cross_entropy")


@pytest.mark.parametrize("kind", [np.int8, np.int64, np.uint16, np.float32, np.float64, bool])
def test_class_labels_of_every_dtype_equal_one_hot_rows(kind):
    net = mlplab.MLP([2, 3, 2], activation="tanh", output_activation="softmax", seed=1)
    X = np.array([[0.1, -0.3], [0.7, 0.2], [-0.5, 0.4]])
    labels = np.array([1, 0, 1]).astype(kind)
    E, g = net.loss_and_grad(X, labels, loss="cross_entropy")
    E1, g1 = net.loss_and_grad(X, np.eye(2)[[1, 0, 1]], loss="cross_entropy")
    assert E == E1
    np.testing.assert_array_equal(g, g1)


# --- Problem: the one-sample scalar kernel is asked for only by sgd_steps ----------------


def test_a_problem_for_one_gradient_does_not_ask_for_the_scalar_kernel(monkeypatch):
    """Whether the one-sample scalar kernel applies is decided when sgd_steps first asks."""
    asked = []
    real = scalar.supports
    monkeypatch.setattr(scalar, "supports", lambda p: asked.append(p) or real(p))
    net = mlplab.MLP([2, 2, 1], seed=0)
    X, y = np.array([[0.1, 0.2], [0.3, -0.1]]), np.array([0.5, -0.5])
    net.loss_and_grad(X, y)
    p = Problem(net, X, y)
    p.value_and_grad(net.params)
    assert asked == []
    w = net.params.copy()
    assert p.sgd_steps(w, [0, 1], [0.1, 0.1]) == 2
    assert len(asked) <= 1  # the compiled kernel, where Numba is installed, comes first
    assert p._use_scalar is real(p) and p._use_scalar is real(p)
    assert asked == [p]  # asked once, then kept
