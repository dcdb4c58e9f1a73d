"""Backpropagation against independent oracles: finite differences, per-sample sums, the trace."""

import itertools

import numpy as np
import pytest

import mlplab

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity", "softplus"]
# every (loss, output activation) pair where the maths is defined
PAIRS = (
    [("squared", a) for a in HIDDEN + ["softmax"]]
    + [("absolute", a) for a in HIDDEN + ["softmax"]]
    + [("binary_cross_entropy", "sigmoid"), ("cross_entropy", "softmax")]
    + [("perceptron", "identity"), ("perceptron", "tanh")]
)


def make_targets(loss, n_out, S, rng):
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, size=S) if n_out == 1 else rng.integers(0, 2, size=(S, n_out))
    if loss == "cross_entropy":
        return rng.integers(0, n_out, size=S)
    if loss == "perceptron":
        return rng.choice([-1, 1], size=S) if n_out == 1 else rng.choice([-1, 1], size=(S, n_out))
    return rng.normal(size=(S, n_out)) if n_out > 1 else rng.normal(size=S)


def make_problem(loss, out_act, depth, bias, S, seed):
    """A random problem whose gradient is non-zero in every layer (no dead ReLU layer,
    perceptron samples misclassified), so that every check is a real one."""
    for attempt in range(100):
        net, X, Y = _random_problem(loss, out_act, depth, bias, S, seed + 1000 * attempt)
        if loss == "perceptron":  # make every sample a mistake: e = max(0, −y ŷ) > 0
            Y = -np.sign(net.forward(X)[:, 0])
        _, g = net.loss_and_grad(X, Y, loss=loss)
        if all(np.abs(g[s.all]).max() > 1e-6 for s in net.slices):
            return net, X, Y
    raise AssertionError("no problem with a non-zero gradient found")


def _random_problem(loss, out_act, depth, bias, S, seed):
    rng = np.random.default_rng(seed)
    n_out = 3 if out_act == "softmax" else (1 if loss == "perceptron" else 2)
    sizes = [3] + [4] * (depth - 1) + [n_out]
    hidden = [HIDDEN[(seed + i) % len(HIDDEN)] for i in range(depth - 1)]  # cycle through them
    net = mlplab.MLP(sizes, activation=hidden + [out_act], bias=bias, init="normal(0.8)", seed=seed)
    X = rng.normal(size=(S, 3))
    Y = make_targets(loss, n_out, S, rng)
    return net, X, Y


CASES = [
    (loss, act, depth, bias, S)
    for (loss, act), depth, bias, S in itertools.product(PAIRS, range(1, 6), (True, False), (1, 7))
]


@pytest.mark.parametrize("loss,out_act,depth,bias,S", CASES,
                         ids=[f"{l}-{a}-L{d}-{'b' if b else 'nob'}-S{s}" for l, a, d, b, s in CASES])
def test_gradcheck_every_pair(loss, out_act, depth, bias, S):
    seed = depth * 10 + S + (1 if bias else 0)
    net, X, Y = make_problem(loss, out_act, depth, bias, S, seed)
    result = mlplab.gradcheck(net, X, Y, loss=loss)
    assert len(result.per_layer) == depth
    assert result.max_error <= 1e-6, str(result)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_gradcheck_with_l2_weights_and_reduction(reduction):
    net, X, Y = make_problem("squared", "tanh", 3, True, 9, 5)
    sw = np.random.default_rng(1).uniform(0.1, 2.0, size=9)
    result = mlplab.gradcheck(net, X, Y, loss="squared", l2=0.3, reduction=reduction, sample_weight=sw)
    assert result.max_error <= 1e-6


def test_gradcheck_detects_a_wrong_gradient(monkeypatch):
    """The check must be able to fail: corrupt φ′ of tanh and it reports a large error."""
    from mlplab import activations

    net, X, Y = make_problem("squared", "tanh", 2, True, 5, 3)
    bad = activations.Activation("tanh", activations._tanh, lambda z, a: 1 - 0.9 * a * a)
    monkeypatch.setattr(net, "activations", (bad, bad))
    assert mlplab.gradcheck(net, X, Y).max_error > 1e-2


def test_gradcheck_float32_network_is_checked_in_float64():
    net = mlplab.MLP([3, 4, 2], activation="tanh", seed=0, dtype="float32")
    X = np.random.default_rng(0).normal(size=(5, 3))
    Y = np.random.default_rng(1).normal(size=(5, 2))
    before = net.params.copy()
    result = mlplab.gradcheck(net, X, Y)
    assert result.analytic.dtype == np.float64
    assert result.max_error <= 1e-6
    assert np.array_equal(net.params, before) and net.params.dtype == np.float32


@pytest.mark.parametrize("loss,out_act", PAIRS)
def test_per_sample_grads_sum_and_rows(loss, out_act):
    net, X, Y = make_problem(loss, out_act, 3, True, 6, 7)
    G = net.per_sample_grads(X, Y, loss=loss)
    E, g = net.loss_and_grad(X, Y, loss=loss)
    assert G.shape == (6, net.n_params)
    # rows sum to the batch gradient (relative 1e-10)
    assert np.linalg.norm(G.sum(axis=0) - g) <= 1e-10 * max(np.linalg.norm(g), 1e-300)
    # each row is loss_and_grad on that one sample
    for s in range(6):
        _, g_s = net.loss_and_grad(X[s:s + 1], np.asarray(Y)[s:s + 1], loss=loss)
        np.testing.assert_allclose(G[s], g_s, rtol=1e-12, atol=1e-14)


def test_per_sample_grads_float32():
    net = mlplab.MLP([4, 5, 3], activation=["relu", "softmax"], seed=2, dtype="float32")
    X = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    y = np.arange(8) % 3
    G = net.per_sample_grads(X, y, loss="cross_entropy")
    assert G.dtype == np.float32
    _, g = net.loss_and_grad(X, y, loss="cross_entropy")
    np.testing.assert_allclose(G.sum(0), g, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("loss,out_act", PAIRS)
def test_trace_gradient_equals_backprop(loss, out_act):
    """The trace is computed with the slides' explicit V^ℓ and Diag(φ′) matrices."""
    net, X, Y = make_problem(loss, out_act, 4, True, 3, 11)
    G = net.per_sample_grads(X, Y, loss=loss)
    for s in range(3):
        t = net.trace(X[s], np.asarray(Y)[s], loss=loss)
        np.testing.assert_allclose(t.grad, G[s], rtol=1e-12, atol=1e-14)
        e_s = net.loss_and_grad(X[s:s + 1], np.asarray(Y)[s:s + 1], loss=loss)[0]
        assert t.e == pytest.approx(e_s, rel=1e-13)


def test_trace_quantities_follow_the_recursion():
    net = mlplab.MLP([2, 3, 3, 2], activation=["tanh", "sigmoid", "identity"], seed=4)
    x, y = np.array([0.3, -1.2]), np.array([0.5, -0.5])
    t = net.trace(x, y)
    L = net.n_layers
    a_prev = x
    for lt in t.layers:
        W, b = net.weights[lt.layer - 1], net.biases[lt.layer - 1]
        np.testing.assert_allclose(lt.z, W @ a_prev + b, rtol=1e-14)  # z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ
        np.testing.assert_allclose(lt.V, W.T @ np.diag(lt.dphi), rtol=1e-14)  # V^ℓ
        # ∇_{W^ℓ} e = Diag(φ′) δ^ℓ (a^{ℓ−1})ᵀ
        np.testing.assert_allclose(lt.grad_W, np.outer(lt.dphi * lt.delta, a_prev), rtol=1e-13)
        a_prev = lt.a
    np.testing.assert_allclose(t.layers[-1].delta, 2 * (t.yhat - y))  # δ^L = ∂e/∂ŷ = 2(ŷ − y)
    for ell in range(L, 1, -1):  # δ^{ℓ−1} = V^ℓ δ^ℓ
        np.testing.assert_allclose(t.layers[ell - 2].delta, t.layers[ell - 1].V @ t.layers[ell - 1].delta,
                                   rtol=1e-13)
    text = str(t)
    assert "δ^3" in text and "V^2" in text and "z^1" in text


def test_trace_softmax_shows_the_jacobian():
    net = mlplab.MLP([2, 3], activation="softmax", seed=0)
    t = net.trace([0.2, 0.4], 1, loss="cross_entropy")
    a = t.layers[0].a
    np.testing.assert_allclose(t.layers[0].dphi, np.diag(a) - np.outer(a, a), rtol=1e-14)


def test_gradcheck_of_a_float32_network_runs_in_float64_and_takes_numpy_eps():
    X, y = np.random.default_rng(0).normal(size=(6, 3)), np.random.default_rng(1).normal(size=6)
    net = mlplab.MLP([3, 4, 1], activation="tanh", output_activation="identity", seed=0, dtype="float32")
    report = mlplab.gradcheck(net, X, y, eps=np.float32(1e-3))
    assert report.max_error <= 1e-6 and report.analytic.dtype == np.float64
    copy = net.copy(dtype="float64")
    assert copy.dtype == np.float64 and copy.params.dtype == np.float64 and net.dtype == np.float32
    np.testing.assert_array_equal(copy.params, net.params.astype(np.float64))
    assert copy.weights[0].base is copy.params or np.shares_memory(copy.weights[0], copy.params)


# --- reused workspaces: what a call returns is never overwritten by the next -------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("out_act, loss", [("softmax", "cross_entropy"), ("identity", "squared")])
def test_loss_and_grad_per_batch_reuses_buffers_but_never_hands_them_out(dtype, out_act, loss):
    from mlplab import Problem

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    Y = rng.integers(0, 3, size=40) if loss == "cross_entropy" else rng.normal(size=(40, 3))
    net = mlplab.MLP([6, 5, 3], activation="tanh", output_activation=out_act, seed=2, dtype=dtype)
    fresh = lambda: net.copy()  # noqa: E731  (an oracle with no buffers of its own yet)
    results = [net.loss_and_grad(X[i:i + 8], Y[i:i + 8], loss, l2=0.1) for i in range(0, 40, 8)]
    kept = [(E, g.copy()) for E, g in results]
    for i, (E, g) in enumerate(results):  # every batch of 8 rows went through the same buffers
        E_ref, g_ref = fresh().loss_and_grad(X[8 * i:8 * i + 8], Y[8 * i:8 * i + 8], loss, l2=0.1)
        assert E == E_ref == kept[i][0]
        np.testing.assert_array_equal(g, g_ref)
        np.testing.assert_array_equal(g, kept[i][1])  # not overwritten by the later calls
    assert len({id(g) for _, g in results}) == len(results)
    # out=: the gradient lands in the caller's array, the same numbers
    out = np.full(net.n_params, np.nan, dtype=net.dtype)
    E, g = net.loss_and_grad(X[:8], Y[:8], loss, l2=0.1, out=out)
    assert g is out and E == kept[0][0]
    np.testing.assert_array_equal(out, kept[0][1])
    # per-sample gradients and values through the same buffers: equal to a fresh network's
    G1 = net.per_sample_grads(X[:8], Y[:8], loss)
    G2 = net.per_sample_grads(X[8:16], Y[8:16], loss)
    np.testing.assert_array_equal(G1, fresh().per_sample_grads(X[:8], Y[:8], loss))
    np.testing.assert_array_equal(G2, fresh().per_sample_grads(X[8:16], Y[8:16], loss))
    np.testing.assert_allclose(G1.sum(axis=0), fresh().loss_and_grad(X[:8], Y[:8], loss)[1], rtol=1e-4, atol=1e-5)
    p = Problem(net, X, Y, loss)
    values = [p.value(net.params, np.arange(i, i + 8)) for i in range(0, 40, 8)]
    assert values == [Problem(fresh(), X, Y, loss).value(net.params, np.arange(i, i + 8)) for i in range(0, 40, 8)]


def test_loss_and_grad_rejects_an_out_that_does_not_fit():
    net = mlplab.MLP([2, 3, 1], seed=0)
    X, y = np.ones((4, 2)), np.zeros(4)
    for bad, what in ((np.empty(5), "shape \\(5,\\)"), (np.empty(net.n_params, dtype=np.float32), "float32"),
                      (np.empty(2 * net.n_params)[::2], "not contiguous"), ([0.0] * net.n_params, "list")):
        with pytest.raises(ValueError, match=f"out must be a writable C-contiguous array .*{what}"):
            net.loss_and_grad(X, y, out=bad)
