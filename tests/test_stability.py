"""Numerical stability: saturated units, ŷ ∈ {0, 1}, |z| up to 1e4, float32 and float64,
with every floating-point warning turned into an error."""

import numpy as np
import pytest

import mlplab
from mlplab.activations import ACTIVATIONS, log_softmax

DTYPES = ["float64", "float32"]
Z_EXTREME = np.array([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_at_extremes(name, dtype):
    act = ACTIVATIONS[name]
    z = Z_EXTREME.astype(dtype).reshape(1, -1)
    with np.errstate(all="raise"):
        a = act.phi(z)
        d = act.backward(z, a, np.ones_like(z))
    assert a.dtype == np.dtype(dtype) and d.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(d))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_and_softmax_limits(dtype):
    z = np.array([[-1e4, 0.0, 1e4]], dtype=dtype)
    with np.errstate(all="raise"):
        s = ACTIVATIONS["sigmoid"].phi(z)
        p = ACTIVATIONS["softmax"].phi(z)
        lp = log_softmax(z)
    np.testing.assert_array_equal(s, np.array([[0.0, 0.5, 1.0]], dtype=dtype))
    np.testing.assert_allclose(p, [[0.0, 0.0, 1.0]], atol=1e-30)
    assert p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(lp, [[-2e4, -1e4, 0.0]], rtol=1e-6)  # exact, not −inf


def _one_unit(out_act, w, dtype):
    """MLP([1, n]) with weights w (column) and no bias, so z^1 = w x."""
    w = np.asarray(w, dtype=float).reshape(-1, 1)
    return mlplab.MLP([1, w.shape[0]], activation=out_act, bias=False, init=[w], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("y", [0.0, 1.0])
@pytest.mark.parametrize("z", [-1e4, 1e4])
def test_binary_cross_entropy_when_yhat_is_exactly_0_or_1(z, y, dtype):
    net = _one_unit("sigmoid", [z], dtype)  # x = 1 → z^1 = z, ŷ = σ(z) rounds to 0 or 1
    with np.errstate(all="raise"):
        E, g = net.loss_and_grad(np.ones((1, 1)), [y], loss="binary_cross_entropy")
    wrong = (z > 0) != (y > 0)
    # e = −[y log σ(z) + (1 − y) log σ(−z)]: |z| when wrong, ≈ 0 when right
    assert E == pytest.approx(1e4 if wrong else 0.0, abs=1e-3 if dtype == "float32" else 1e-12)
    # ∂e/∂w = (σ(z) − y) x: ±1 when wrong, 0 when right
    assert g.dtype == np.dtype(dtype) and np.all(np.isfinite(g))
    assert g[0] == pytest.approx((1.0 if z > 0 else 0.0) - y, abs=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_when_a_probability_is_exactly_0(dtype):
    net = _one_unit("softmax", [1e4, -1e4, 0.0], dtype)
    X = np.ones((3, 1))
    y = np.array([0, 1, 2])  # class 1 has probability exactly 0 in float
    with np.errstate(all="raise"):
        E, g = net.loss_and_grad(X, y, loss="cross_entropy")
        G = net.per_sample_grads(X, y, loss="cross_entropy")
    # e^s = −log softmax(z)_{y_s} = 0, 2e4, 1e4
    assert E == pytest.approx(3e4, rel=1e-6)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(G))
    # ∂e/∂z = a − y, a = (1, 0, 0): rows (0,0,0), (1,−1,0), (1,0,−1); x = 1
    np.testing.assert_allclose(G, [[0, 0, 0], [1, -1, 0], [1, 0, -1]], atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_saturated_sigmoid_with_squared_error(loss, dtype):
    net = _one_unit("sigmoid", [1e4], dtype)
    with np.errstate(all="raise"):
        E, g = net.loss_and_grad(np.array([[1.0], [-1.0]]), [0.0, 1.0], loss=loss)
    assert E == pytest.approx(2.0)  # both predictions exactly wrong: (1 − 0)², (0 − 1)²
    assert np.all(g == 0)  # σ′ = 0 at saturation: the lecture's vanishing-gradient extreme


@pytest.mark.parametrize("dtype", DTYPES)
def test_trace_is_finite_where_delta_L_is_infinite(dtype):
    net = _one_unit("sigmoid", [1e4], dtype)
    with np.errstate(all="raise"):
        t = net.trace([1.0], 0.0, loss="binary_cross_entropy")
    assert np.isinf(t.layers[0].delta[0])  # δ^L = ∂e/∂ŷ = 1/(1 − ŷ) with ŷ = 1: honestly infinite
    assert np.all(np.isfinite(t.grad)) and t.grad[0] == pytest.approx(1.0)


def test_float32_end_to_end():
    net = mlplab.MLP([4, 8, 3], activation=["tanh", "softmax"], seed=0, dtype="float32")
    X = np.random.default_rng(0).normal(size=(16, 4))  # float64 input is cast at the boundary
    y = np.arange(16) % 3
    assert net.params.dtype == np.float32 and all(W.dtype == np.float32 for W in net.weights)
    assert net.forward(X).dtype == np.float32
    E, g = net.loss_and_grad(X, y, loss="cross_entropy")
    assert isinstance(E, float) and g.dtype == np.float32
    result = mlplab.train(net, X, y, loss="cross_entropy",
                          optimizer=mlplab.MiniBatchSGD(4, schedule=0.05), epochs=3, seed=1)
    assert result.params.dtype == np.float32 and net.params.dtype == np.float32
