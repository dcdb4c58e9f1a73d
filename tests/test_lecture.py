"""The lecture, reproduced: the toy problem's closed forms, the backprop slides'
worked formulas, the perceptron homework, and vanishing gradients."""

import numpy as np
import pytest
from scipy.special import expit

import mlplab
from mlplab.optim import GD, SGD, MiniBatchSGD, constant, inverse

X_TOY = np.array([[-3.0, -3.0], [-2.0, -2.0], [4.0, 4.0], [2.0, -5.0]])
Y_TOY = np.array([1.0, 1.0, 0.0, 0.0])


def toy_E(w):
    """E(w) = Σ_i (y^i − 1/(1 + exp(−[w11 x1^i + w12 x2^i])))², as on the slides."""
    return sum((y - 1 / (1 + np.exp(-(w[0] * x[0] + w[1] * x[1])))) ** 2 for x, y in zip(X_TOY, Y_TOY))


def toy_grad(w):
    """∇E(w) = Σ_i −2 (y^i − σ_i) σ_i (1 − σ_i) x^i, derived by hand.

    1 − σ(z) = σ(−z) = 1 / (1 + e^z), without the cancellation of the subtraction."""
    g = np.zeros(2)
    for x, y in zip(X_TOY, Y_TOY):
        s = 1 / (1 + np.exp(-(w @ x)))
        s_neg = 1 / (1 + np.exp(w @ x))  # σ(−z) = 1 − σ(z)
        r = (y - 1) + s_neg if y >= 0.5 else y - s  # y − σ(z), exact for y = 0 and y = 1
        g += -2 * r * s * s_neg * x
    return g


def toy_net(w):
    return mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=np.array(w, dtype=float))


def test_toy_data_is_the_slides():
    X, y = mlplab.datasets.lecture()
    np.testing.assert_array_equal(X, X_TOY)
    np.testing.assert_array_equal(y, Y_TOY)


@pytest.mark.parametrize("w", [(0.0, 0.0), (0.5, 0.5), (1.0, -1.0), (-2.0, 0.3), (3.0, 2.0),
                               (-0.7, -1.9), (10.0, -4.0)])
def test_toy_E_and_grad_equal_the_closed_form(w):
    net = toy_net(w)
    E, g = net.loss_and_grad(X_TOY, Y_TOY, loss="squared")
    assert E == pytest.approx(toy_E(np.array(w)), rel=1e-13, abs=1e-300)
    np.testing.assert_allclose(g, toy_grad(np.array(w)), rtol=1e-12, atol=1e-300)


def test_toy_E_at_zero_is_one():
    # every ŷ = σ(0) = 1/2, so E = 4 · (1/2)² = 1
    assert toy_net((0, 0)).loss_and_grad(X_TOY, Y_TOY)[0] == 1.0


def test_toy_gd_exact_line_search_decreases_E_at_every_step():
    net = toy_net((0.5, 0.5))
    result = mlplab.train(net, X_TOY, Y_TOY, optimizer=GD("exact"), max_iter=100, tol=1e-6)
    E = np.array(result.history.loss)
    assert E[0] == pytest.approx(toy_E(np.array([0.5, 0.5])), rel=1e-13)
    assert np.all(np.diff(E) < 0)
    # ‖∇E‖ ≤ 1e-6 only because w ran off along a ray where E still falls: reported as such
    assert result.stop_reason == "unbounded" and result.grad_norm <= 1e-6
    # the data are separable: the line search keeps running into its cap
    assert any(result.history.capped)


def test_toy_gd_first_step_is_the_exact_minimiser_along_minus_gradient():
    """α^0 = argmin_{α>0} E(w^0 + α d^0), checked against a dense grid of α."""
    w0 = np.array([1.0, -1.0])
    net = toy_net(w0)
    result = mlplab.train(net, X_TOY, Y_TOY, optimizer=GD("exact"), max_iter=1, tol=None)
    d = -toy_grad(w0)
    alphas = np.linspace(0, 20, 400_001)
    W = w0[None, :] + alphas[:, None] * d[None, :]
    z = W @ X_TOY.T  # (n_alpha, 4)
    E_grid = np.sum((Y_TOY - expit(z)) ** 2, axis=1)
    best = np.argmin(E_grid)
    alpha = result.history.step_size[0]
    assert alpha == pytest.approx(alphas[best], abs=2 * (alphas[1] - alphas[0]))
    assert toy_E(net.params) <= E_grid[best] + 1e-12


def test_toy_sgd_and_minibatch_run_and_decrease_E():
    E0 = toy_E(np.array([0.5, 0.5]))
    for opt in (SGD(schedule=inverse(1.0)), MiniBatchSGD(2, schedule=inverse(1.0))):
        net = toy_net((0.5, 0.5))
        result = mlplab.train(net, X_TOY, Y_TOY, optimizer=opt, max_iter=400, seed=0)
        assert result.loss < 0.1 * E0
        assert result.loss == pytest.approx(toy_E(net.params), rel=1e-12)


def test_toy_sgd_steps_follow_the_lecture_rule():
    """w^{k+1} = w^k − γ_k ∇e^{j_k}(w^k) with γ_k = 1/(k+1), cyclic j_k = k mod 4."""
    w = np.array([0.5, 0.5])
    for k in range(9):
        j = k % 4
        x, y = X_TOY[j], Y_TOY[j]
        s = expit(w @ x)
        w = w - (1 / (k + 1)) * (-2 * (y - s) * s * (1 - s) * x)
    net = toy_net((0.5, 0.5))
    mlplab.train(net, X_TOY, Y_TOY, optimizer=SGD(inverse(1.0), sampling="cyclic"), max_iter=9, tol=None)
    np.testing.assert_allclose(net.params, w, rtol=1e-14)


def test_toy_E_infimum_only_at_infinity():
    """E > 0 everywhere, and along the separating direction E → 0 as ‖w‖ grows."""
    d = np.array([-2.75, -1.0])  # −∇E(0)/‖·‖ up to scale: separates all four points
    values = [toy_E(t * d) for t in (1, 2, 4, 8)]
    assert all(v > 0 for v in values) and np.all(np.diff(values) < 0)


# --- the backpropagation slides' network: x1, x2 → 2 → 2 → 1, sigmoid, no bias ---------


@pytest.fixture
def slides():
    rng = np.random.default_rng(3)
    net = mlplab.MLP(mlplab.datasets.LECTURE_NETWORK_SIZES, activation="sigmoid", bias=False,
                     init="normal(1.0)", seed=5)
    x, y = rng.normal(size=2), 1.0
    W1, W2, W3 = (W.copy() for W in net.weights)
    phi = expit
    dphi = lambda z: expit(z) * (1 - expit(z))  # noqa: E731
    z1 = W1 @ x
    a1 = phi(z1)
    z2 = W2 @ a1
    a2 = phi(z2)
    z3 = W3 @ a2
    yhat = phi(z3)[0]
    return dict(net=net, x=x, y=y, W1=W1, W2=W2, W3=W3, z1=z1, a1=a1, z2=z2, a2=a2, z3=z3,
                yhat=yhat, de_dyhat=2 * (yhat - y), dphi=dphi)


def test_slides_layer3_formulas(slides):
    s = slides
    g = s["net"].per_sample_grads(s["x"], [s["y"]])[0]
    base = s["de_dyhat"] * s["dphi"](s["z3"][0])
    # ∇_{w^3_11} e = ∂e/∂ŷ φ′(z^3_1) a^2_1 ;  ∇_{w^3_12} e = ∂e/∂ŷ φ′(z^3_1) a^2_2
    # flat layout without bias: W^1 → 0..3, W^2 → 4..7, W^3 → 8..9 (row-major)
    assert g[8] == pytest.approx(base * s["a2"][0], rel=1e-13)
    assert g[9] == pytest.approx(base * s["a2"][1], rel=1e-13)


def test_slides_layer2_formulas(slides):
    s = slides
    g = s["net"].per_sample_grads(s["x"], [s["y"]])[0]
    dphi, z2, a1, W3 = s["dphi"], s["z2"], s["a1"], s["W3"]
    top = s["de_dyhat"] * dphi(s["z3"][0])
    # ∇_{w^2_11} e = ∂e/∂ŷ φ′(z^3_1) w^3_11 φ′(z^2_1) a^1_1
    assert g[4] == pytest.approx(top * W3[0, 0] * dphi(z2[0]) * a1[0], rel=1e-13)
    # ∇_{w^2_12} e = ∂e/∂ŷ φ′(z^3_1) w^3_11 φ′(z^2_1) a^1_2
    assert g[5] == pytest.approx(top * W3[0, 0] * dphi(z2[0]) * a1[1], rel=1e-13)
    # the slides' exercise: ∇_{w^2_21} e = ∂e/∂ŷ φ′(z^3_1) w^3_12 φ′(z^2_2) a^1_1
    assert g[6] == pytest.approx(top * W3[0, 1] * dphi(z2[1]) * a1[0], rel=1e-13)
    assert g[7] == pytest.approx(top * W3[0, 1] * dphi(z2[1]) * a1[1], rel=1e-13)


def test_slides_layer1_formulas(slides):
    s = slides
    g = s["net"].per_sample_grads(s["x"], [s["y"]])[0]
    dphi, W2, W3, x = s["dphi"], s["W2"], s["W3"], s["x"]
    top = s["de_dyhat"] * dphi(s["z3"][0])
    de_dz2 = top * W3[0] * dphi(s["z2"])  # ∂e/∂z^2_i
    # a^1_1 feeds both z^2_1 and z^2_2: ∂e/∂a^1_1 = Σ_i ∂e/∂z^2_i w^2_i1
    for j in range(2):
        de_da1 = de_dz2 @ W2[:, j]
        for i in range(2):
            # ∇_{w^1_ji} e = ∂e/∂a^1_j φ′(z^1_j) x_i
            assert g[2 * j + i] == pytest.approx(de_da1 * dphi(s["z1"][j]) * x[i], rel=1e-12)


def test_slides_matrix_form_V_chain(slides):
    """∇_{W^ℓ} e = Diag(φ^ℓ′) V^{ℓ+1} … V^L δ^L (a^{ℓ−1})ᵀ."""
    s = slides
    t = s["net"].trace(s["x"], s["y"])
    dphi = [s["dphi"](s[k]) for k in ("z1", "z2", "z3")]
    V = [W.T @ np.diag(d) for W, d in zip((s["W1"], s["W2"], s["W3"]), dphi)]
    delta3 = np.array([s["de_dyhat"]])
    a_prev = [s["x"], s["a1"], s["a2"]]
    for ell in (1, 2, 3):
        chain = delta3
        for m in range(3, ell, -1):  # V^{ℓ+1} … V^L δ^L
            chain = V[m - 1] @ chain
        expected = np.outer(np.diag(dphi[ell - 1]) @ chain, a_prev[ell - 1])
        np.testing.assert_allclose(t.layers[ell - 1].grad_W, expected, rtol=1e-13)
        np.testing.assert_allclose(t.layers[ell - 1].delta, chain, rtol=1e-13)


# --- the perceptron homework ---------------------------------------------------------


def test_sgd_on_perceptron_loss_is_the_perceptron_rule():
    """e = max(0, −y wᵀx), identity output, γ = 1, w^0 = 0: SGD updates w ← w + y x on mistakes."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = np.where(X @ np.array([1.0, -2.0, 0.5]) > 0, 1.0, -1.0)
    w = np.zeros(3)
    for k in range(36):  # the classical perceptron algorithm, cyclic order
        j = k % 12
        if y[j] * (w @ X[j]) <= 0:
            w = w + y[j] * X[j]
    net = mlplab.MLP([3, 1], activation="identity", bias=False, init="zeros")
    mlplab.train(net, X, y, loss="perceptron", optimizer=SGD(constant(1.0), sampling="cyclic"),
                 max_iter=36, tol=None)
    np.testing.assert_array_equal(net.params, w)


# --- vanishing gradients ---------------------------------------------------------------


def test_deep_sigmoid_network_gradients_vanish_toward_the_input():
    rng = np.random.default_rng(0)
    net = mlplab.MLP([8] + [8] * 9 + [1], activation="sigmoid", init="glorot", seed=1)
    X, y = rng.normal(size=(64, 8)), rng.integers(0, 2, 64).astype(float)
    result = mlplab.train(net, X, y, optimizer=GD(0.0001), max_iter=1, tol=None)
    norms = np.array(result.history.layer_grad_norms[0])  # ‖∇_{W^ℓ}E‖ for ℓ = 1..10
    assert norms.shape == (10,)
    # each layer back loses at least the factor max σ′ = 1/4 up to the weights: overall orders of magnitude
    assert norms[0] < 1e-3 * norms[-1]
    assert np.sum(np.diff(np.log(norms)) > 0) >= 8  # shrinking toward the input, layer after layer


def test_lecture_bound_on_layer_gradients():
    """‖∇_{W^ℓ} e‖₂ ≤ ‖Diag(φ^ℓ′)‖₂ ‖V^{ℓ+1} … V^L δ^L‖₂ ‖a^{ℓ−1}‖₂ for every layer."""
    net = mlplab.MLP([5] + [6] * 6 + [2], activation="tanh", init="normal(0.7)", seed=2)
    t = net.trace(np.linspace(-1, 1, 5), np.array([0.3, -0.2]))
    a_prev = t.x
    for lt in t.layers:
        lhs = np.linalg.norm(lt.grad_W, 2)
        rhs = np.max(np.abs(lt.dphi)) * np.linalg.norm(lt.delta) * np.linalg.norm(a_prev)
        assert lhs <= rhs * (1 + 1e-12)
        a_prev = lt.a
