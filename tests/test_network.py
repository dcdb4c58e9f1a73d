"""mlplab.network: one flat parameter vector with weights and biases as views, the forward pass,
copies and pickles, per-layer activations, and bad model arguments or inputs named in the message."""

import pickle

import numpy as np
import pytest

import mlplab


# --- parameters: one flat vector, weights and biases are views --------------------


def test_flat_layout_and_views():
    net = mlplab.MLP([3, 4, 2], seed=0)
    assert net.n_params == 3 * 4 + 4 + 4 * 2 + 2 == net.params.size
    W1, b1, W2, b2 = net.weights[0], net.biases[0], net.weights[1], net.biases[1]
    assert W1.shape == (4, 3) and b1.shape == (4,) and W2.shape == (2, 4) and b2.shape == (2,)
    # order W^1, b^1, W^2, b^2, each W row-major
    np.testing.assert_array_equal(net.params, np.concatenate([W1.ravel(), b1, W2.ravel(), b2]))
    for v in (W1, b1, W2, b2):
        assert np.shares_memory(v, net.params)
    W1[2, 1] = 7.5  # writing into a view changes the model
    assert net.params[2 * 3 + 1] == 7.5
    net.params[12] = -3.0  # and the other way round: params[12] is b^1_1
    assert b1[0] == -3.0


def test_writing_weights_changes_forward():
    net = mlplab.MLP([2, 1], activation="identity", bias=True, init="zeros")
    net.weights[0][...] = [[2.0, -1.0]]
    net.biases[0][...] = 0.5
    np.testing.assert_allclose(net.forward([[1.0, 3.0]]), [[2 - 3 + 0.5]])


def test_no_bias():
    net = mlplab.MLP([2, 2, 1], bias=False, seed=0)
    assert net.biases is None and net.n_params == 4 + 2


# --- the forward pass ---------------------------------------------------------------


def test_forward_shapes():
    net = mlplab.MLP([3, 5, 2], activation=["relu", "softmax"], seed=1)
    X = np.random.default_rng(0).normal(size=(7, 3))
    Y = net.forward(X)
    assert Y.shape == (7, 2)
    np.testing.assert_allclose(Y.sum(1), 1.0)
    y1 = net.forward(X[0])  # a 1-D x is one sample
    assert y1.shape == (2,)
    np.testing.assert_allclose(y1, Y[0])
    np.testing.assert_allclose(net(X), Y)


def test_forward_matches_explicit_formula():
    net = mlplab.MLP([3, 4, 2], activation=["tanh", "sigmoid"], seed=3)
    x = np.array([0.1, -0.4, 2.0])
    a1 = np.tanh(net.weights[0] @ x + net.biases[0])
    a2 = 1 / (1 + np.exp(-(net.weights[1] @ a1 + net.biases[1])))
    np.testing.assert_allclose(net.forward(x), a2, rtol=1e-14)


def test_forward_with_other_params_does_not_change_net():
    net = mlplab.MLP([2, 3, 1], seed=0)
    before = net.params.copy()
    w = np.zeros(net.n_params)
    np.testing.assert_allclose(net.forward([[1.0, 2.0]], params=w), [[0.5]])
    np.testing.assert_array_equal(net.params, before)


def test_per_layer_activation_list_and_output_override():
    net = mlplab.MLP([2, 3, 3, 1], activation=["relu", "tanh", "sigmoid"], output_activation="identity")
    assert [a.name for a in net.activations] == ["relu", "tanh", "identity"]


# --- copies and pickles -------------------------------------------------------------


def test_copy_is_independent():
    net = mlplab.MLP([2, 3, 1], seed=0)
    other = net.copy()
    other.weights[0][0, 0] = 99.0
    assert net.weights[0][0, 0] != 99.0 and np.shares_memory(other.weights[0], other.params)


def test_pickle_keeps_views_into_params():
    net = pickle.loads(pickle.dumps(mlplab.MLP([2, 3, 1], seed=0)))
    assert all(np.shares_memory(W, net.params) for W in net.weights)
    net.weights[0][0, 0] = 42.0
    assert net.params[0] == 42.0


# --- validation: bad arguments name the value ----------------------------------------


@pytest.mark.parametrize("kwargs,match", [
    (dict(layer_sizes=[3]), r"\[3\]"),
    (dict(layer_sizes=[3, 0, 1]), r"\[3, 0, 1\]"),
    (dict(layer_sizes=[3, 1.5]), "1.5"),
    (dict(layer_sizes=[2, 1], activation="gelu"), "'gelu'.*sigmoid, tanh, relu"),
    (dict(layer_sizes=[2, 3, 1], activation=["relu"]), r"\['relu'\]"),
    (dict(layer_sizes=[2, 3, 1], activation=["softmax", "sigmoid"]), "softmax.*output layer"),
    (dict(layer_sizes=[2, 1], init="xavier"), "'xavier'"),
    (dict(layer_sizes=[2, 1], init="normal(-1)"), "normal\\(-1\\)"),
    (dict(layer_sizes=[2, 1], dtype="float16"), "float16"),
    (dict(layer_sizes=[2, 1], bias="yes"), "'yes'"),
])
def test_bad_model_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mlplab.MLP(**kwargs)


@pytest.mark.parametrize("X,match", [
    (np.zeros((3, 4)), "4 features.*N_0 = 2"),
    (np.zeros(3), "needs 2 features"),
    (np.array([[1.0, np.inf]]), r"row 0, column 1"),
    (np.zeros((0, 2)), "no samples"),
    (np.zeros((2, 2, 2)), "2-D"),
    (np.array([["a", "b"]]), "real numbers"),
])
def test_bad_inputs(X, match):
    with pytest.raises(ValueError, match=match):
        mlplab.MLP([2, 1]).forward(X)


def test_more_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="NaN or inf"):
        mlplab.MLP([2, 1], bias=False, init=np.array([np.nan, 1.0]))
    np.testing.assert_array_equal(mlplab.MLP([2, 1], bias=False, init=[0.5, 0.5]).params, [0.5, 0.5])
    for seed in (1.5, "x", -1):
        with pytest.raises(ValueError, match="seed"):
            mlplab.MLP([2, 1], seed=seed)
    with pytest.raises(ValueError, match="rectangular"):
        mlplab.MLP([2, 1]).forward([[1.0, 2.0], [3.0]])
    with pytest.raises(ValueError, match="floor"):
        mlplab.gradcheck(mlplab.MLP([2, 1]), np.zeros((1, 2)), [0.0], floor=0)
