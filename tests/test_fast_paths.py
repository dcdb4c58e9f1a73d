"""The engine's fast paths against the plain formulas they replace.

Oracle: the general path (``Problem.value_and_grad`` forming the full gradient,
then w − γ g, or a fresh forward pass at w + α d).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import mlplab
from mlplab import MLP, Problem, train
from mlplab.optim import SGD, MiniBatchSGD
from mlplab.optim.schedules import inverse


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


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias, l2, reduction, weighted", [
    (True, 0.0, "sum", False), (False, 0.0, "mean", False), (True, 0.3, "sum", True), (True, 0.3, "mean", True)])
@pytest.mark.parametrize("idx", [np.array([7, 0, 11, 3]), slice(2, 9)])
def test_block_sgd_step_is_w_minus_gamma_g(dtype, bias, l2, reduction, weighted, idx):
    # the gemm path: W ← (1 − γρλ) W − γ dZᵀ A, against w − γ ∇E_B from value_and_grad
    p = _problem(dtype, bias, l2, reduction, weighted)
    w = p.net.params.copy()
    E_ref, g = p.value_and_grad(w, idx)
    expected = w - w.dtype.type(0.37) * g
    E, taken = p.sgd_step(w, idx, 0.37)
    assert taken
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(E, E_ref, rtol=tol)
    np.testing.assert_allclose(w, expected, rtol=tol, atol=tol)
    assert not np.array_equal(w, p.net.params)  # it moved


def test_block_sgd_step_declines_a_step_that_could_overflow():
    p = _problem("float32")
    w = p.net.params.copy()
    before = w.copy()
    _, taken = p.sgd_step(w, np.arange(6), 1e38)  # |B| γ max|dz| max|a| beyond float32's 3.4e38
    assert not taken
    np.testing.assert_array_equal(w, before)


@pytest.mark.parametrize("average", [False, True])
def test_train_minibatch_matches_the_general_update_loop(average):
    # the same B_k as train draws ("shuffle": a permutation per epoch, blocks of 5, the last of 2)
    p = _problem()
    net = p.net
    w = net.params.copy()
    rng = np.random.default_rng(5)
    blocks = []
    for _ in range(2):
        order = rng.permutation(p.S)
        blocks += [order[i:i + 5] for i in range(0, p.S, 5)]
    for k, B in enumerate(blocks):
        _, g = p.value_and_grad(w, B)
        w -= (0.1 / (k + 1)) / (len(B) if average else 1) * g
    r = train(net, p.X, p.Y, "cross_entropy", MiniBatchSGD(5, schedule=inverse(0.1), average=average),
              epochs=2, tol=None, seed=5)
    np.testing.assert_allclose(r.params, w, rtol=1e-12, atol=1e-14)
    assert r.cost == 2 * p.S and r.n_iter == len(blocks) == 6
    assert r.history.step_size[0] == 0.1  # γ_0, not γ_0 / |B|


@pytest.mark.parametrize("gamma, scale", [(1e6, 100.0), (1e300, 1e5)],
                         ids=["loss-overflows-first", "step-overflows-first"])
def test_train_minibatch_divergence_stops_at_the_hand_simulated_iteration(gamma, scale):
    # cyclic blocks {0,1}, {2,3}, {4,5} on e^s = (y_s − wᵀx_s)², no bias: simulate by hand until
    # E_B(w^k) or the step −γ∇E_B(w^k) stops being finite. The error carries that k and w^k when
    # only the step overflowed (the fast path declined it), or the last recorded w (one record per
    # epoch of 3 blocks) when the loss itself overflowed.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3)) * scale
    y = rng.normal(size=6)
    net = MLP([3, 1], activation="identity", bias=False, init="zeros")
    w = net.params.copy()
    w_recorded = w.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(10_000):
            B = slice(2 * (k % 3), 2 * (k % 3) + 2)
            if k % 3 == 0:  # a record: E(w^k) on all samples
                r_all = y - X @ w
                if not math.isfinite(float(r_all @ r_all)):
                    w = w_recorded
                    break
                w_recorded = w.copy()
            r = y[B] - X[B] @ w
            step = gamma * 2.0 * (r @ X[B])  # −γ ∇E_B = γ · 2 Σ_s r_s x_s
            if not math.isfinite(float(r @ r)):
                w = w_recorded
                break
            if not np.all(np.isfinite(step)):
                break
            w = w + step
        with pytest.raises(mlplab.DivergenceError) as exc:
            train(net, X, y, "squared", MiniBatchSGD(2, schedule=gamma, sampling="cyclic"),
                  max_iter=10_000, tol=None, diverge_factor=None,  # the inf/NaN rule alone,
                  monitor="epoch", eval_every=3)  # exact records (as simulated): E(w^k), all samples, each epoch
    assert exc.value.k == k > 0
    np.testing.assert_allclose(exc.value.params, w, rtol=1e-6)
    assert np.all(np.isfinite(net.params))
    np.testing.assert_array_equal(net.params, exc.value.params)


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


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("S", [12, 5000])  # one block; several CHUNK pieces
def test_value_hands_out_the_outputs_of_its_forward_pass(dtype, S):
    """value(w, outputs=ŷ): the same E, and ŷ = net.forward(X), from one pass (the CLI's metrics)."""
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(S, 5)), rng.integers(0, 3, size=S)
    net = MLP([5, 4, 3], activation="tanh", output_activation="softmax", seed=1, dtype=dtype)
    p = Problem(net, X, y, "cross_entropy", l2=0.1)
    w = net.params
    out = np.full((S, 3), np.nan, dtype=dtype)
    E = p.value(w, outputs=out)
    tol = 1e-12 if dtype == "float64" else 2e-6
    assert E == pytest.approx(p.value(w), rel=tol)
    np.testing.assert_allclose(out, net.forward(X), rtol=tol, atol=tol)
    idx = np.array([3, 0, 7])
    block = np.empty((3, 3), dtype=dtype)
    assert p.value(w, idx, outputs=block) == pytest.approx(p.value(w, idx), rel=tol)
    np.testing.assert_allclose(block, net.forward(X[idx]), rtol=tol, atol=tol)
    for bad in (np.empty((S, 2)), np.empty((S + 1, 3)), [[0.0] * 3] * S):
        with pytest.raises(ValueError, match=r"outputs must be a writable array of shape"):
            p.value(w, outputs=bad)


# ---------------------------------------------------------------------------
# fast.blas: every product through one BLAS, against float64 NumPy
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("m, k, n", [(1, 784, 300), (300, 784, 1), (128, 784, 300), (3, 4, 5), (1, 2, 2),
                                     (40, 300, 1), (1, 300, 40), (64, 20, 16)])
@pytest.mark.parametrize("tA, tB", [(False, False), (True, False), (False, True), (True, True)])
def test_blas_products_match_numpy(dtype, tol, m, k, n, tA, tB):
    from mlplab.fast import blas

    rng = np.random.default_rng(m * 1000 + k + n)
    A = rng.standard_normal((k, m) if tA else (m, k)).astype(dtype)
    A = A.T if tA else A  # transposed views, as the engine passes W.T and dZ.T
    B = rng.standard_normal((n, k) if tB else (k, n)).astype(dtype)
    B = B.T if tB else B
    ref = A.astype(np.float64) @ B.astype(np.float64)
    scale = max(1.0, float(np.abs(ref).max()))
    out = blas.matmul(A, B)
    assert out.shape == (m, n) and out.dtype == dtype and out.flags.c_contiguous
    assert np.abs(out - ref).max() / scale < tol
    into = np.full((m, n), np.nan, dtype=dtype)  # β = 0 must not read the old contents
    assert blas.matmul(A, B, out=into) is into
    assert np.abs(into - ref).max() / scale < tol
    C = rng.standard_normal((m, n)).astype(dtype)
    expected = 0.9 * C.astype(np.float64) - 0.5 * ref
    blas.gemm_update(C, -0.5, A, B, 0.9)
    assert np.abs(C - expected).max() / scale < tol


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blas_rank_one_update_and_dot(dtype):
    from mlplab.fast import blas

    rng = np.random.default_rng(0)
    C = rng.standard_normal((300, 784)).astype(dtype)
    x, y = rng.standard_normal(300).astype(dtype), rng.standard_normal(784).astype(dtype)
    expected = C.astype(np.float64) - 0.25 * np.outer(x, y)
    blas.ger_update(C, -0.25, x, y)
    np.testing.assert_allclose(C, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    for size in (5, 50_000):  # NumPy's dot below OpenBLAS's threading size, SciPy's from it on
        u, v = rng.standard_normal(size).astype(dtype), rng.standard_normal(size).astype(dtype)
        ref = float(u.astype(np.float64) @ v.astype(np.float64))
        assert isinstance(blas.dot(u, v), float)
        assert abs(blas.dot(u, v) - ref) <= (1e-3 if dtype == np.float32 else 1e-10) * max(1.0, abs(ref))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blas_axpy_updates_in_place(dtype):
    from mlplab.fast import blas

    rng = np.random.default_rng(1)
    y, x = rng.standard_normal(1001).astype(dtype), rng.standard_normal(1001).astype(dtype)
    expected = y.astype(np.float64) - 0.3 * x.astype(np.float64)
    address = y.ctypes.data
    blas.axpy(y, -0.3, x)
    assert y.ctypes.data == address  # the same memory, updated
    np.testing.assert_allclose(y, expected, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-6)
    big = np.zeros(2001, dtype=dtype)
    strided = big[::2]  # not contiguous: the result is written back
    blas.axpy(strided, 2.0, x)
    np.testing.assert_array_equal(big[::2], 2 * x)
    assert not big[1::2].any()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_all_finite_finds_every_nan_and_inf_and_accepts_huge_finite_entries(dtype):
    """The steps' and inputs' finiteness check (one BLAS dot, the entries where it is not finite)."""
    from mlplab.fast import blas

    rng = np.random.default_rng(3)
    for size in (1, 7, 50_000):
        x = rng.standard_normal(size).astype(dtype)
        assert blas.all_finite(x) is True
        for bad in (np.nan, np.inf, -np.inf):
            for where in {0, size // 2, size - 1}:
                y = x.copy()
                y[where] = bad
                assert blas.all_finite(y) is False
                assert blas.all_finite(y.reshape(1, -1)) is False
                assert blas.all_finite(y[::-1]) is False  # not contiguous: the entries decide
        huge = x.copy()
        huge[size // 2] = 0.9 * np.finfo(dtype).max  # its square overflows: still finite
        huge[0] = -0.9 * np.finfo(dtype).max
        assert blas.all_finite(huge) is True and blas.all_finite(huge[::-1]) is True
    assert blas.all_finite(np.zeros(0, dtype)) is True
    assert blas.all_finite(np.array([1, 2], dtype=np.int64)) is True
    assert blas.all_finite(np.array([1.0, np.nan], dtype=np.float16)) is False


def test_sigmoid_block_form_matches_expit_to_a_few_ulps():
    # blocks of ≥ 1024 entries use 1/(1 + exp(−z)) with NumPy's SIMD exp; one sample uses expit
    from scipy.special import expit

    from mlplab.activations import get_activation

    sigmoid = get_activation("sigmoid").phi
    for dtype in (np.float64, np.float32):
        z = np.concatenate([np.linspace(-120, 120, 200_001), [-1e4, 1e4, -88.8, -745.2, 0.0]]).astype(dtype)
        with np.errstate(all="raise"):  # no overflow/underflow escapes
            a = sigmoid(z.reshape(-1, 1))
        assert a.dtype == dtype and np.all((a >= 0) & (a <= 1))
        ref = expit(z.astype(np.float64)).reshape(-1, 1)
        normal = ref > np.finfo(dtype).tiny
        rel = np.abs(a[normal] - ref[normal]) / ref[normal]
        assert rel.max() <= 4 * np.finfo(dtype).eps
        np.testing.assert_array_equal(a[[-5, -2]].ravel(), [0.0, 0.0])  # σ(−1e4), σ(−745.2): exp(−z) overflowed
        assert a[-4, 0] == 1.0 and a[-1, 0] == 0.5


# ---------------------------------------------------------------------------
# _scalar: tiny networks in Python floats, against the array code
# ---------------------------------------------------------------------------

def test_scalar_activations_match_the_array_ones():
    from mlplab.fast import scalar
    from mlplab.activations import get_activation

    z = np.concatenate([np.linspace(-50, 50, 2001), [-800.0, -745.0, -720.0, -40.0, 0.0, 1e-300, 40.0, 800.0,
                                                       np.nan]])
    for name, (phi, dphi) in scalar.ACTIVATIONS.items():
        act = get_activation(name)
        # rows of one sample's size: the array code's one-sample form (NaN passes through both)
        a_ref = np.concatenate([act.phi(z[i:i + 100].reshape(1, -1)).ravel() for i in range(0, len(z), 100)])
        da_ref = act.dphi(z, a_ref)
        a = np.array([phi(float(v)) for v in z])
        da = np.array([dphi(float(v), float(av)) for v, av in zip(z, a)])
        np.testing.assert_allclose(a, a_ref, rtol=2e-15, atol=1e-300, err_msg=name)  # a few ulps
        np.testing.assert_allclose(da, da_ref, rtol=2e-15, atol=1e-15, err_msg=name)  # 1 − a² near 0
    assert set(scalar.ACTIVATIONS) == set(mlplab.activations.ACTIVATIONS) - {"softmax"}


@pytest.mark.parametrize("loss, out", [("squared", "sigmoid"), ("squared", "identity"), ("absolute", "tanh"),
                                       ("perceptron", "identity"), ("perceptron", "tanh"),
                                       ("binary_cross_entropy", "sigmoid")])
def test_scalar_output_error_matches_the_array_one(loss, out):
    from mlplab.fast import scalar
    from mlplab.activations import get_activation
    from mlplab.losses import get_loss, output_error

    rng = np.random.default_rng(1)
    act, lossf = get_activation(out), get_loss(loss)
    for _ in range(50):
        z = rng.normal(scale=4.0, size=(1, 3))
        y = {"perceptron": rng.choice([-1.0, 1.0], size=(1, 3)), "binary_cross_entropy": rng.integers(0, 2, size=(1, 3))
             }.get(loss, rng.normal(size=(1, 3))).astype(float)
        a = act.phi(z)
        e_ref, dz_ref = output_error(lossf, act, y, z, a)
        if (loss, out) in scalar.LOGIT_FORMS:
            value, grad_z = scalar.LOGIT_FORMS[(loss, out)]
            e = sum(value(yi, zi) for yi, zi in zip(y[0], z[0]))
            dz = [grad_z(yi, zi, ai) for yi, zi, ai in zip(y[0], z[0], a[0])]
        else:
            value, grad = scalar.LOSSES[loss]
            dphi = scalar.ACTIVATIONS[out][1]
            e = sum(value(yi, ai) for yi, ai in zip(y[0], a[0]))
            dz = [grad(yi, ai) * dphi(zi, ai) for yi, zi, ai in zip(y[0], z[0], a[0])]
        np.testing.assert_allclose(e, e_ref[0], rtol=1e-14)
        np.testing.assert_allclose(dz, dz_ref[0], rtol=1e-14, atol=1e-300)


def _tiny_problem(sizes, act, out, loss, bias, l2=0.0, reduction="sum", weighted=False, dtype="float64"):
    rng = np.random.default_rng(7)
    S = 9
    X = rng.normal(size=(S, sizes[0]))
    if loss == "perceptron":
        Y = rng.choice([-1.0, 1.0], size=(S, sizes[-1]))
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=(S, sizes[-1])).astype(float)
    else:
        Y = rng.normal(size=(S, sizes[-1]))
    sw = rng.uniform(0.5, 2.0, size=S) if weighted else None
    net = MLP(sizes, activation=act, output_activation=out, bias=bias, seed=3, dtype=dtype)
    return Problem(net, X, Y, loss, l2=l2, reduction=reduction, sample_weight=sw)


@pytest.mark.parametrize("sizes, act, out, loss", [
    ((2, 2, 1), "sigmoid", "sigmoid", "squared"),  # a 2-2-1 sigmoid net (the slides' backprop network is [2, 2, 2, 1])
    ((3, 4, 2), "tanh", "identity", "absolute"),
    ((2, 3, 3, 1), "relu", "tanh", "perceptron"),
    ((3, 4, 2), "leaky_relu", "sigmoid", "binary_cross_entropy"),
    ((2, 5, 1), "softplus", "identity", "squared"),
    ((1, 1), "identity", "identity", "squared"),
])
@pytest.mark.parametrize("bias, l2, reduction, weighted", [
    (False, 0.0, "sum", False), (True, 0.0, "sum", False), (True, 0.2, "sum", True), (True, 0.2, "mean", True)])
def test_scalar_steps_match_array_steps(sizes, act, out, loss, bias, l2, reduction, weighted):
    from mlplab.fast import scalar

    p = _tiny_problem(sizes, act, out, loss, bias, l2, reduction, weighted)
    assert scalar.supports(p)
    rng = np.random.default_rng(11)
    js = rng.integers(0, p.S, size=60).tolist()
    gammas = [0.3 / (k + 1) ** 0.6 for k in range(60)]
    w_ref = p.net.params.copy()
    for j, gamma in zip(js, gammas):
        assert p.sgd_step(w_ref, j, gamma)[1]
    w = p.net.params.copy()
    assert p.sgd_steps(w, js, gammas) == 60
    assert p._use_scalar
    np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-13)
    assert not np.array_equal(w, p.net.params)


def test_scalar_path_is_used_only_where_it_applies():
    from mlplab.fast import scalar

    assert scalar.supports(_tiny_problem((2, 2, 1), "sigmoid", "sigmoid", "squared", False))
    assert not scalar.supports(_tiny_problem((2, 2, 1), "sigmoid", "sigmoid", "squared", False, dtype="float32"))
    assert not scalar.supports(_tiny_problem((2, 40, 3), "tanh", "identity", "squared", True))  # d = 243
    X, y = np.random.default_rng(0).normal(size=(6, 2)), np.arange(6) % 3
    ce = Problem(MLP([2, 2, 3], output_activation="softmax", seed=0), X, y, "cross_entropy")
    assert not scalar.supports(ce)


def test_scalar_steps_stop_before_a_step_that_could_overflow():
    p = _tiny_problem((2, 2, 1), "identity", "identity", "squared", True)
    w = p.net.params.copy()
    js, gammas = [0, 1, 2, 3], [1e-3, 1e-3, 1e308, 1e-3]
    w_ref = w.copy()
    for j, gamma in zip(js[:2], gammas[:2]):
        p.sgd_step(w_ref, j, gamma)
    assert p.sgd_steps(w, js, gammas) == 2  # the third step is declined; w is w^2
    np.testing.assert_allclose(w, w_ref, rtol=1e-14)
    assert not p.sgd_step(w.copy(), js[2], gammas[2])[1]  # the array step declines it too


def test_train_sgd_on_the_slides_network_matches_array_steps_and_resumes_bit_identically():
    # train's chunks of scalar steps against sgd_step one at a time with the same j_k (uniform)
    X, y = mlplab.datasets.lecture()
    net = MLP([2, 2, 1], bias=False, seed=0)
    w = net.params.copy()
    p = Problem(net, X, y, "squared")
    js = np.random.default_rng(4).integers(0, len(X), size=3000)
    for k, j in enumerate(js):
        p.sgd_step(w, int(j), 1.0 / (k + 1))
    r = train(net.copy(), X, y, "squared", SGD(), max_iter=3000, tol=None, seed=4)
    np.testing.assert_allclose(r.params, w, rtol=1e-12)
    checkpoints = []
    part = train(net.copy(), X, y, "squared", SGD(), max_iter=1700, tol=None, seed=4,
                 checkpoint_every=700, on_checkpoint=checkpoints.append)
    resumed = train(net.copy(), X, y, "squared", SGD(), max_iter=3000, tol=None, seed=4, resume=checkpoints[-1])
    assert part.n_iter == 1700 and checkpoints[-1].k == 1400
    np.testing.assert_array_equal(resumed.params, r.params)


# ---------------------------------------------------------------------------
# passes over all samples in chunks
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("chunk", [5, 4, 1])  # 12 rows: chunks of 5, 5, 2; 4, 4, 4; twelve of one row
@pytest.mark.parametrize("bias, l2, reduction, weighted", [
    (True, 0.0, "sum", False), (False, 0.3, "mean", True), (True, 0.3, "sum", True)])
def test_full_pass_in_chunks_equals_one_pass(monkeypatch, chunk, bias, l2, reduction, weighted):
    from mlplab import objective

    p = _problem("float64", bias, l2, reduction, weighted)
    w = p.net.params.copy()
    E_ref, g_ref = p.value_and_grad(w, np.arange(p.S))  # all 12 rows as one block: no chunks
    V_ref = p.value(w, np.arange(p.S))
    monkeypatch.setattr(objective, "CHUNK", chunk)
    out = np.full_like(w, np.nan)  # accumulating must start from the first chunk, not from out
    E, g = p.value_and_grad(w, out=out)
    assert g is out
    np.testing.assert_allclose(E, E_ref, rtol=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p.value(w), V_ref, rtol=1e-13)
    np.testing.assert_allclose(p.value(w), E, rtol=1e-13)



def test_scalar_path_rejects_look_alike_records():
    # a user's own activation that happens to be called "relu" must not run the built-in formulas
    from mlplab.fast import scalar
    from mlplab.activations import Activation

    p = _tiny_problem((2, 3, 1), "relu", "identity", "squared", True)
    assert scalar.supports(p)
    mine = Activation("relu", lambda z: np.maximum(z, 0) ** 2, lambda z, a: 2 * np.maximum(z, 0))
    p.net.activations = (mine, p.net.activations[1])
    assert not scalar.supports(p)
    # copies of the built-in records (a pickled network) are the records
    import pickle

    X, y = mlplab.datasets.lecture()
    copied = pickle.loads(pickle.dumps(MLP([2, 2, 1], bias=False, seed=0)))
    assert Problem(copied, X, y)._use_scalar


def test_steps_with_a_regulariser_factor_beyond_one_are_declined():
    # γρλ > 2 flips and grows the weights: |1 − γρλ| > 1 is declined by both fast paths
    for sizes, dtype in (((2, 2, 1), "float64"), ((2, 40, 3), "float64"), ((2, 2, 1), "float32")):
        p = _tiny_problem(sizes, "tanh", "identity", "squared", True, l2=1e10, dtype=dtype)
        w = p.net.params.copy()
        assert not p.sgd_step(w, 0, 1e300 if dtype == "float64" else 1e30)[1]
        assert p.sgd_steps(w, [0, 1], [1e-12, 1e300 if dtype == "float64" else 1e30]) == 1
        assert np.all(np.isfinite(w))
        assert not p.sgd_step(w, np.arange(3), 1e300 if dtype == "float64" else 1e30)[1]


def test_float32_schedule_values_run_the_scalar_path_in_float64():
    import warnings

    from mlplab.optim.schedules import Constant

    X, y = mlplab.datasets.lecture()
    nets = [MLP([2, 2, 1], bias=False, seed=0) for _ in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no float32 casts of the overflow bound
        a = train(nets[0], X, y, "squared", SGD(schedule=Constant(np.float32(0.25))), max_iter=300, tol=None, seed=2)
    b = train(nets[1], X, y, "squared", SGD(schedule=float(np.float32(0.25))), max_iter=300, tol=None, seed=2)
    np.testing.assert_array_equal(a.params, b.params)


def test_time_limit_is_kept_by_one_sample_sgd_on_a_large_network():
    # steps of a few ms each: the clock is checked every ~20 ms of steps, not every 1024 steps
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3000)), rng.normal(size=20)
    net = MLP([3000, 2000, 1], activation="tanh", output_activation="identity", seed=0)  # d = 6 million
    r = train(net, X, y, "squared", SGD(schedule=1e-7), time_limit=0.3, eval_every=10**6, tol=None)
    assert r.stop_reason == "time_limit" and r.elapsed >= 0.3
    assert r.n_iter < 1024  # 1024 steps of this network take seconds (under load even the first
    # record, a full pass at w^0, may use up the 0.3 s: then no step is taken at all)
    # the overshoot is at most one chunk of ~20 ms of steps plus the final record's full pass, both
    # measured on this run itself (a loaded machine, slower at both, gets a larger allowance)
    t_record = r.history.time[0]  # the first record: one full pass over the data
    step = (r.elapsed - 2 * t_record) / max(r.n_iter, 1)
    assert r.elapsed - 0.3 <= 0.05 + 30 * max(step, 0.0) + 2 * t_record


def test_line_search_phi_at_zero_reproduces_the_chunked_E(monkeypatch):
    # GD hands E(w^k) from value_and_grad to the line search as φ(0): both must be the same number
    from mlplab import objective

    monkeypatch.setattr(objective, "CHUNK", 5)
    for l2, weighted in ((0.0, False), (0.3, True)):
        p = _problem("float32", True, l2, "sum", weighted)
        w = p.net.params.copy()
        E, g = p.value_and_grad(w)
        assert p.value_along(w, -g)(0.0) == E
        assert p.value(w) == E



def test_a_schedule_failing_at_step_k_fails_there_with_w_at_k():
    # γ_k are computed a chunk ahead; a schedule that raises at k = 500 must leave w = w^500
    X, y = mlplab.datasets.lecture()
    reference = MLP([2, 2, 1], bias=False, seed=0)
    train(reference, X, y, "squared", SGD(schedule=0.1), max_iter=500, tol=None, eval_every=5000, seed=1)
    net = MLP([2, 2, 1], bias=False, seed=0)
    with pytest.raises(ValueError, match="gamma_500"):
        train(net, X, y, "squared", SGD(schedule=lambda k: 0.1 if k < 500 else -1.0), max_iter=2000, tol=None,
              eval_every=5000, seed=1)
    np.testing.assert_array_equal(net.params, reference.params)


def test_blas_dot_falls_back_to_numpy_for_other_dtypes_and_overflows_quietly():
    import warnings

    from mlplab.fast import blas

    rng = np.random.default_rng(0)
    x = rng.normal(size=20_000)
    for a, b in ((x.astype(np.float16), x.astype(np.float16)), (np.arange(20_000), np.arange(20_000)),
                 (x.astype(np.float32), x)):
        assert blas.dot(a, b) == pytest.approx(float(np.dot(a, b)), rel=1e-3)
    big = np.full(10, 1e30, dtype=np.float32)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        assert blas.dot(big, big) == np.inf  # the overflow tests read inf; no warning, no exception


def test_overflow_test_of_the_step_raises_no_floating_point_errors():
    net = MLP([2, 3, 1], activation="tanh", output_activation="identity", seed=0, dtype="float32")
    p = Problem(net, [[0.1, -0.2], [0.3, 0.1]], [0.0, 0.0], "squared", sample_weight=[1e30, 1.0])
    w = net.params.copy()
    E_ref, g = p.value_and_grad(w, 0)
    with np.errstate(all="raise"):
        E, taken = p.sgd_step(w, 0, 1e-30)  # ‖dz‖² overflows float32: the bound falls back to max|dz|
    assert taken and E == pytest.approx(E_ref, rel=1e-6)
    np.testing.assert_allclose(w, net.params - np.float32(1e-30) * g, rtol=1e-5)


def test_sigmoid_of_integer_blocks():
    from scipy.special import expit

    from mlplab.activations import get_activation

    z = np.arange(-1000, 1000)
    np.testing.assert_allclose(get_activation("sigmoid").phi(z), expit(z.astype(float)))


def test_blas_thread_policy_runs_small_products_on_one_thread_and_restores_the_count(monkeypatch):
    from mlplab.fast import blas

    fns = blas._openblas()
    if fns is None:
        pytest.skip("threadpoolctl cannot find SciPy's OpenBLAS here")
    from threadpoolctl import threadpool_limits

    get, _ = fns
    seen = []
    original = blas._threads_for

    def spy(size):
        original(size)
        seen.append((size, int(get())))

    monkeypatch.setattr(blas, "_threads_for", spy)
    A32 = np.ones((64, 64), dtype=np.float32)
    big = np.ones((600, 600), dtype=np.float32)  # 2.16e8 ≥ THREADED_MIN
    v = np.ones(600, dtype=np.float32)
    with threadpool_limits(2, user_api="blas"):
        before = int(get())
        with blas.thread_policy():
            blas.matmul(A32, A32)
            blas.matmul(big, v[:, None])  # a matrix-vector product: gemv, by size
            with blas.thread_policy():  # nested: the outer policy rules
                blas.matmul(A32, A32)
        assert int(get()) == before  # restored
        assert seen == [(64 ** 3, 1), (600 ** 2, 1), (64 ** 3, 1)]
        seen.clear()
        blas.matmul(A32, A32)  # outside a policy: the count is left alone
        assert seen == [(64 ** 3, before)]
    with threadpool_limits(1, user_api="blas"):  # a limit around the call is never raised
        seen.clear()
        with blas.thread_policy():
            blas.matmul(big, big)
        assert seen == [(600 ** 3, 1)] and int(get()) == 1
    np.testing.assert_allclose(blas.matmul(big, big), np.full((600, 600), 600.0, dtype=np.float32))


def test_blas_tuner_moves_a_shape_to_the_thread_count_that_measures_faster(monkeypatch):
    """A fake clock makes products slow on 2 threads (cores taken by other work), then slow on one:
    the shape moves to one thread, then back; the product itself always runs on the chosen count
    and gives the right numbers; the probe (the other count) only writes scratch memory."""
    from mlplab.fast import blas

    fns = blas._openblas()
    if fns is None:
        pytest.skip("threadpoolctl cannot find SciPy's OpenBLAS here")
    from threadpoolctl import threadpool_limits

    get, _ = fns
    cost = {1: 1.0, 2: 0.5}  # seconds per product on 1 and 2 threads (a quiet machine)
    clock = {"t": 0.0, "end": False}

    def fake_clock():  # called at the start and the end of each timed product, alternately
        if clock["end"]:
            clock["t"] += cost[int(get())]
        clock["end"] = not clock["end"]
        return clock["t"]

    monkeypatch.setattr(blas, "_clock", fake_clock)
    monkeypatch.setattr(blas, "_shapes", {})
    monkeypatch.setattr(blas, "PROBE_MIN", 1.5)
    monkeypatch.setattr(blas, "PROBE_MAX", 3.0)
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((128, 300)), rng.standard_normal((300, 200))  # 7.7e6 ≥ TUNED_MIN
    runs = []
    original = blas._tuned_gemm

    def spy(call, key, allowed, probe):
        def counted():
            runs.append(int(get()))
            call()

        original(counted, key, allowed, probe)

    monkeypatch.setattr(blas, "_tuned_gemm", spy)
    with threadpool_limits(2, user_api="blas"):
        if int(get()) != 2:
            pytest.skip("this OpenBLAS cannot run 2 threads")
        with blas.thread_policy():
            for _ in range(6):
                np.testing.assert_allclose(blas.matmul(A, B), A @ B, rtol=1e-12, atol=1e-12)
            (shape,) = blas._shapes.values()
            assert runs == [2] * 6 and shape.threads == 2  # the quiet machine: 2 threads hold
            cost[2] = 20.0  # another process takes a core: 2 threads are 20× slower
            runs.clear()
            for _ in range(8):
                np.testing.assert_allclose(blas.matmul(A, B), A @ B, rtol=1e-12, atol=1e-12)
            # a slow product triggers a probe at once; once the median of the last five is slow, two
            # probes in a row on one thread win: a few slow products, not a probe interval's worth
            assert shape.threads == 1 and runs[0] == 2 and runs[-1] == 1 and runs.count(2) <= 4
            cost[2] = 0.5  # the core is free again
            runs.clear()
            for _ in range(20):
                blas.matmul(A, B)
            assert shape.threads == 2 and runs[-1] == 2 and 1 in runs
            cost[2] = 1.2  # no longer decisively faster (1.2 > SWITCH_BACK × 1): one thread holds
            shape.threads, shape.recent, shape.favour = 1, [1.0], None
            runs.clear()
            for _ in range(40):
                blas.matmul(A, B)
            assert set(runs) == {1}
            cost[2] = 0.85  # back to the allowed count at ≤ SWITCH_BACK (0.9) × the 1-thread time …
            runs.clear()
            for _ in range(40):
                blas.matmul(A, B)
            assert shape.threads == 2 and runs[-1] == 2
            cost[2], cost[1] = 1.0, 0.85  # … but away from it only at ≤ SWITCH (0.75) ×: 2 threads hold
            shape.recent, shape.favour = [1.0], None
            runs.clear()
            for _ in range(40):
                blas.matmul(A, B)
            assert set(runs) == {2}
        assert int(get()) == 2  # restored
