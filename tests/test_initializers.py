"""mlplab.initializers: w^0 from zeros, a constant, normal, uniform, Glorot and He draws or explicit
arrays; a seed reproduces it and leaves NumPy's global generator alone."""

import numpy as np
import pytest

import mlplab


def test_init_zeros_constant():
    assert np.all(mlplab.MLP([3, 2], init="zeros").params == 0)
    assert np.all(mlplab.MLP([3, 2], init="constant(0.3)").params == 0.3)


def test_init_normal_uniform_statistics():
    net = mlplab.MLP([200, 300], init="normal(0.5)", seed=0)
    assert np.std(net.weights[0]) == pytest.approx(0.5, rel=0.02)
    net = mlplab.MLP([200, 300], init="uniform(2.0)", seed=0)
    W = net.weights[0]
    assert W.min() >= -2 and W.max() <= 2 and np.std(W) == pytest.approx(2 / np.sqrt(3), rel=0.02)


def test_init_glorot_and_he():
    net = mlplab.MLP([200, 300], init="glorot", seed=0)
    r = np.sqrt(6 / 500)
    W = net.weights[0]
    assert np.abs(W).max() <= r and np.abs(W).max() > 0.99 * r and np.all(net.biases[0] == 0)
    net = mlplab.MLP([200, 300], init="he", seed=0)
    assert np.std(net.weights[0]) == pytest.approx(np.sqrt(2 / 200), rel=0.02)


def test_init_explicit_arrays():
    W1, b1, W2 = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0, 3.0]), np.ones((1, 3))
    net = mlplab.MLP([2, 3, 1], init=[(W1, b1), W2])
    np.testing.assert_array_equal(net.weights[0], W1)
    np.testing.assert_array_equal(net.biases[0], b1)
    np.testing.assert_array_equal(net.biases[1], [0.0])
    flat = np.arange(net.n_params, dtype=float)
    np.testing.assert_array_equal(mlplab.MLP([2, 3, 1], init=flat).params, flat)
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        mlplab.MLP([2, 3, 1], init=[np.ones((2, 3)), W2])
    with pytest.raises(ValueError, match="length"):
        mlplab.MLP([2, 3, 1], init=np.ones(5))


def test_seed_reproducible_and_global_rng_untouched():
    state = np.random.get_state()[1].copy()
    a = mlplab.MLP([4, 5, 2], init="normal(1.0)", seed=42).params
    b = mlplab.MLP([4, 5, 2], init="normal(1.0)", seed=42).params
    c = mlplab.MLP([4, 5, 2], init="normal(1.0)", seed=43).params
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(np.random.get_state()[1], state)
