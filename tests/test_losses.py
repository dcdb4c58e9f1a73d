"""mlplab.losses: the sample-wise errors e^s = E(y^s, ŷ^s) summed as the lecture writes them, the
targets each loss accepts (labels or one-hot rows), and the bad targets and loss/activation pairs it refuses."""

import numpy as np
import pytest

import mlplab


# --- losses: values and accepted targets ---------------------------------------------


def test_squared_loss_is_the_lecture_sum_without_half():
    net = mlplab.MLP([1, 2], activation="identity", bias=False, init=[np.array([[1.0], [2.0]])])
    E, _ = net.loss_and_grad([[1.0], [3.0]], [[0.0, 0.0], [1.0, 1.0]])
    # ŷ = (1, 2), (3, 6): e = 1 + 4, 4 + 25
    assert E == 34.0


def test_absolute_and_perceptron_values():
    net = mlplab.MLP([1, 1], activation="identity", bias=False, init=[np.array([[2.0]])])
    X = np.array([[1.0], [-1.0], [0.5]])
    assert net.loss_and_grad(X, [0.0, 0.0, 3.0], loss="absolute")[0] == 2 + 2 + 2
    # ŷ = 2, −2, 1 with y = +1, +1, −1: e = max(0, −y ŷ) = 0, 2, 1
    assert net.loss_and_grad(X, [1, 1, -1], loss="perceptron")[0] == 3.0
    assert net.loss_and_grad(X, [1, 1, 0], loss="perceptron")[0] == 3.0  # 0 is read as −1


def test_binary_labels_pm1_equal_01():
    net = mlplab.MLP([2, 3, 1], activation=["tanh", "sigmoid"], seed=0)
    X = np.random.default_rng(0).normal(size=(6, 2))
    y01 = np.array([0, 1, 1, 0, 1, 0])
    a = net.loss_and_grad(X, y01, loss="binary_cross_entropy")
    b = net.loss_and_grad(X, 2 * y01 - 1, loss="binary_cross_entropy")
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    # e = −[y log ŷ + (1 − y) log(1 − ŷ)]
    p = net.forward(X)[:, 0]
    assert a[0] == pytest.approx(-np.sum(y01 * np.log(p) + (1 - y01) * np.log(1 - p)), rel=1e-12)


def test_cross_entropy_labels_equal_one_hot():
    net = mlplab.MLP([2, 3], activation="softmax", seed=0)
    X = np.random.default_rng(0).normal(size=(5, 2))
    labels = np.array([0, 2, 1, 2, 0])
    a = net.loss_and_grad(X, labels, loss="cross_entropy")
    b = net.loss_and_grad(X, np.eye(3)[labels], loss="cross_entropy")
    assert a[0] == pytest.approx(b[0], rel=1e-15) and np.allclose(a[1], b[1], rtol=1e-15)
    P = net.forward(X)
    assert a[0] == pytest.approx(-np.sum(np.log(P[np.arange(5), labels])), rel=1e-12)


def test_squared_loss_with_class_labels_is_one_hot():
    net = mlplab.MLP([2, 3], activation="sigmoid", seed=0)
    X = np.random.default_rng(0).normal(size=(4, 2))
    a = net.loss_and_grad(X, [0, 1, 2, 1])
    b = net.loss_and_grad(X, np.eye(3)[[0, 1, 2, 1]])
    assert a[0] == b[0]


# --- refused: bad targets, a loss that does not fit the output activation, unknown names --


@pytest.mark.parametrize("loss,Y,match", [
    ("binary_cross_entropy", [0, 2, 1], "binary labels"),
    ("cross_entropy", [0, 3, 1], "label 3"),
    ("cross_entropy", [[0.5, 0.6, 0.0]] * 3, "probability rows"),
    ("perceptron", [0, 1, -1], "perceptron"),
    ("squared", [0.5, np.nan, 1.0], "NaN"),
    ("squared", ["a", "b", "c"], "numeric"),
    ("squared", [0.0, 1.0], "X has 3 samples but Y has 2"),
])
def test_bad_targets(loss, Y, match):
    out = {"binary_cross_entropy": ("sigmoid", 1), "cross_entropy": ("softmax", 3),
           "perceptron": ("identity", 1), "squared": ("identity", 1)}[loss]
    net = mlplab.MLP([2, out[1]], activation=out[0], seed=0)
    with pytest.raises(ValueError, match=match):
        net.loss_and_grad(np.zeros((3, 2)), np.array(Y, dtype=object if loss == "squared" and
                                                       isinstance(Y[0], str) else None), loss=loss)


def test_loss_activation_mismatch():
    with pytest.raises(ValueError, match="binary_cross_entropy.*'tanh'.*sigmoid"):
        mlplab.MLP([2, 1], activation="tanh").loss_and_grad(np.zeros((1, 2)), [1], loss="binary_cross_entropy")
    with pytest.raises(ValueError, match="softmax"):
        mlplab.MLP([2, 3], activation="sigmoid").loss_and_grad(np.zeros((1, 2)), [1], loss="cross_entropy")


def test_unknown_loss_lists_valid_ones():
    with pytest.raises(ValueError, match="'hinge'.*squared, absolute, binary_cross_entropy, cross_entropy, perceptron"):
        mlplab.MLP([2, 1]).loss_and_grad(np.zeros((1, 2)), [0.0], loss="hinge")
