"""The training loop: convergence on the lecture's data, history and cost
accounting, budgets, sampling, determinism, divergence, dtypes, arguments.

Oracles: the lecture's closed forms (E(w^0) on the toy data), hand-simulated
SGD / GD trajectories on a linear model whose gradient is written out here,
and counts that follow from the definitions in the train module's docstring.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import mlplab
from mlplab import MLP, DivergenceError, Problem, train
from mlplab.optim import GD, SGD, Adam, Inverse, MiniBatchSGD, Momentum

E0_LECTURE = 2.68083  # E(w^0) at w^0 = (0.5, 0.5) on the lecture's toy data


def lecture_net(dtype="float64"):
    return MLP([2, 1], activation="sigmoid", bias=False, init=np.array([0.5, 0.5]), dtype=dtype)


def linear_data(S=10, n=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(S, n)) * scale
    y = X @ np.arange(1.0, n + 1) + 0.1 * rng.normal(size=S)
    return X, y


def linear_net(n=3, w0=None):
    """ŷ = wᵀx (identity output, no bias): e^s = (y_s − wᵀx_s)², ∇e^s = −2 (y_s − wᵀx_s) x_s."""
    w0 = np.linspace(-0.5, 0.5, n) if w0 is None else w0
    return MLP([n, 1], activation="identity", bias=False, init=np.asarray(w0, dtype=float))


def grad_linear(w, X, y):
    """Σ_s ∇e^s for squared error on a linear model, written out by hand."""
    r = y - X @ w
    return -2.0 * X.T @ r


def small_mlp(seed=0, dtype="float64"):
    return MLP([2, 3, 1], activation="tanh", output_activation="sigmoid", seed=seed, dtype=dtype)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------
# the lecture's toy problem
# ---------------------------------------------------------------------------

def test_lecture_initial_loss():
    X, y = mlplab.datasets.lecture()
    E, g = lecture_net().loss_and_grad(X, y, "squared")
    w0 = np.array([0.5, 0.5])
    yhat = sigmoid(X @ w0)
    assert E == pytest.approx(np.sum((y - yhat) ** 2), rel=1e-14)  # E = Σ_s (y^s − σ(wᵀx^s))²
    assert E == pytest.approx(E0_LECTURE, abs=5e-6)
    # ∇E = Σ_s 2(ŷ − y) σ′(z) x, σ′ = ŷ(1 − ŷ)
    np.testing.assert_allclose(g, (2 * (yhat - y) * yhat * (1 - yhat)) @ X, rtol=1e-13)


def test_gd_exact_decreases_and_converges():
    X, y = mlplab.datasets.lecture()
    net = lecture_net()
    tol = 1e-6
    r = train(net, X, y, "squared", GD("exact"), tol=tol)
    loss = np.array(r.history.loss)
    assert loss[0] == pytest.approx(E0_LECTURE, abs=5e-6)
    assert np.all(np.diff(loss) < 0)  # E(w^{k+1}) < E(w^k) at every step
    # ‖∇E‖ ≤ tol is reached, but right after a step along which E still fell at alpha_max:
    # the toy data are separable, E's infimum lies at ‖w‖ → ∞, so this is no convergence
    assert r.stop_reason == "unbounded" and not r.converged
    assert r.history.unbounded[-2] and r.history.capped[-2]
    assert r.grad_norm <= tol and r.history.grad_norm[-1] <= tol
    # the reported final E, ‖∇E‖ are those of the final weights
    E, g = net.loss_and_grad(X, y)
    assert r.loss == pytest.approx(E, rel=1e-12)
    assert r.grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-12)
    np.testing.assert_array_equal(r.params, net.params)
    assert r.n_iter == r.history.k[-1] == len(r.history) - 1  # GD records every step


@pytest.mark.parametrize("opt", [SGD(), MiniBatchSGD(2)], ids=["sgd", "minibatch2"])
def test_stochastic_methods_reduce_lecture_loss(opt):
    X, y = mlplab.datasets.lecture()
    net = lecture_net()
    r = train(net, X, y, "squared", opt, max_iter=400, seed=0)
    assert r.n_iter == 400 and r.stop_reason == "max_iter"
    assert r.history.loss[0] == pytest.approx(E0_LECTURE, abs=5e-6)
    assert r.loss < 0.25 * E0_LECTURE
    assert r.loss == pytest.approx(net.loss_and_grad(X, y)[0], rel=1e-12)


# ---------------------------------------------------------------------------
# the loop against hand-simulated trajectories
# ---------------------------------------------------------------------------

def test_cyclic_sgd_matches_hand_simulation():
    X, y = linear_data(S=5)
    net = linear_net()
    w = net.params.copy()
    r = train(net, X, y, "squared", SGD(schedule=Inverse(0.02), sampling="cyclic"), max_iter=12, tol=None)
    for k in range(12):
        j = k % 5  # j_k = 0, 1, …, S−1, 0, …
        w = w - 0.02 / (k + 1) * grad_linear(w, X[j:j + 1], y[j:j + 1])  # w − γ_k ∇e^{j_k}
    np.testing.assert_allclose(net.params, w, rtol=1e-12)


def test_cyclic_minibatch_average_matches_hand_simulation():
    X, y = linear_data(S=7)
    net = linear_net()
    w = net.params.copy()
    opt = MiniBatchSGD(3, schedule=0.01, average=True, sampling="cyclic")
    train(net, X, y, "squared", opt, max_iter=6, tol=None)
    blocks = [slice(0, 3), slice(3, 6), slice(6, 7)] * 2  # the last block of an epoch is smaller
    for B in blocks:
        n_B = B.stop - B.start
        w = w - 0.01 * grad_linear(w, X[B], y[B]) / n_B  # w − γ (1/|B|) Σ_{j∈B} ∇e^j
    np.testing.assert_allclose(net.params, w, rtol=1e-12)


def test_gd_and_momentum_match_hand_simulation():
    X, y = linear_data(S=8)
    net = linear_net()
    w = net.params.copy()
    train(net, X, y, "squared", GD(0.01), max_iter=5, tol=None)
    w_gd = w.copy()
    for _ in range(5):
        w_gd = w_gd - 0.01 * grad_linear(w_gd, X, y)  # w − α ∇E
    np.testing.assert_allclose(net.params, w_gd, rtol=1e-12)

    net = linear_net()
    train(net, X, y, "squared", Momentum(GD(0.01), beta=0.5), max_iter=5, tol=None)
    v = np.zeros_like(w)
    for _ in range(5):
        v = 0.5 * v + grad_linear(w, X, y)  # v = βv + ∇E
        w = w - 0.01 * v
    np.testing.assert_allclose(net.params, w, rtol=1e-12)


# ---------------------------------------------------------------------------
# history and cost accounting
# ---------------------------------------------------------------------------

def test_history_lengths_and_columns():
    X, y = mlplab.datasets.lecture()
    r = train(lecture_net(), X, y, optimizer=SGD(), max_iter=20, seed=1)
    h = r.history
    n = len(h)
    cols = h.as_arrays()
    assert set(cols) >= {"k", "epoch", "loss", "grad_norm", "layer_grad_norms", "step_size",
                         "ls_evals", "capped", "cost", "time", "forward_evals", "unbounded"}
    for name, arr in cols.items():
        assert arr.shape[0] == n, name
    # SGD records once per epoch (S = 4 steps) plus the final weights
    assert h.k == [0, 4, 8, 12, 16, 20]
    np.testing.assert_allclose(h.epoch, np.array(h.k) / 4)
    assert np.isnan(h.step_size[-1])
    # γ_k = 1/(k+1) of the step taken at each recorded k
    np.testing.assert_allclose(h.step_size[:-1], [1 / (k + 1) for k in h.k[:-1]], rtol=1e-15)
    assert np.all(np.diff(h.time) >= 0)


def test_gd_constant_step_cost_is_k_times_S():
    X, y = mlplab.datasets.lecture()
    S = 4
    r = train(lecture_net(), X, y, optimizer=GD(0.5), max_iter=10, tol=None)
    h = r.history
    assert h.k == list(range(11))
    assert h.cost == [k * S for k in h.k]  # GD costs S per step
    assert h.ls_evals == [0] * 11
    assert h.step_size[:-1] == [0.5] * 10


def test_gd_result_cost_agrees_with_history():
    X, y = mlplab.datasets.lecture()
    r = train(lecture_net(), X, y, optimizer=GD(0.5), max_iter=10, tol=None)
    assert r.cost == r.history.cost[-1] == 10 * 4


def test_gd_line_search_cost_counts_gradients_and_forward_passes_apart():
    X, y = mlplab.datasets.lecture()
    S = 4
    r = train(lecture_net(), X, y, optimizer=GD("exact"), max_iter=6, tol=None)
    h = r.history
    ls = np.array(h.ls_evals[:-1])
    assert np.all(ls > 0) and h.ls_evals[-1] == 0
    # cost^{k+1} − cost^k = S (the gradient only); the line search's evaluations are forward
    # passes: S per φ, 2 S per (φ, φ′), so between S·ls and 2·S·ls per step
    np.testing.assert_array_equal(np.diff(h.cost), S)
    fwd = np.diff(h.forward_evals)
    assert np.all(fwd >= S * ls) and np.all(fwd <= 2 * S * ls) and np.any(fwd > S * ls)
    assert h.cost[0] == 0 and h.forward_evals[0] == 0
    np.testing.assert_array_equal(h.grad_equivalents, np.array(h.cost) + np.array(h.forward_evals) / 3)
    assert r.cost == h.cost[-1] and r.forward_evals == h.forward_evals[-1]
    assert r.grad_equivalents == h.grad_equivalents[-1]


def test_sgd_costs_one_per_step():
    X, y = mlplab.datasets.lecture()
    r = train(lecture_net(), X, y, optimizer=SGD(), max_iter=9, eval_every=1, seed=0)
    h = r.history
    assert h.k == list(range(10))
    assert h.cost == h.k  # 1 sample gradient per step
    assert r.cost == 9


@pytest.mark.parametrize("sampling", ["uniform", "shuffle", "cyclic"])
def test_minibatch_costs_block_size_per_step(sampling):
    X, y = linear_data(S=10)
    r = train(linear_net(), X, y, optimizer=MiniBatchSGD(3, schedule=1e-3, sampling=sampling),
              max_iter=9, eval_every=1, seed=0, tol=None)
    h = r.history
    if sampling == "uniform":
        assert h.cost == [3 * k for k in h.k]  # |B_k| = 3 every step
    else:  # epochs split as 3 + 3 + 3 + 1
        sizes = [3, 3, 3, 1] * 3
        assert h.cost == [sum(sizes[:k]) for k in h.k]
    np.testing.assert_allclose(h.epoch, np.array(h.cost) / 10)  # epochs = samples seen / S
    assert r.cost == h.cost[-1]


def test_layer_grad_norms_are_frobenius_norms_of_weight_gradients():
    X, y = mlplab.datasets.lecture()
    net = small_mlp(seed=3)
    r = train(net, X, y, "squared", GD(0.2), max_iter=7, tol=None)
    lgn = np.asarray(r.history.layer_grad_norms)
    assert lgn.shape == (len(r.history), net.n_layers) == (8, 2)
    _, g = net.loss_and_grad(X, y, "squared")
    expected = [np.linalg.norm(g[s.W].reshape(s.shape), "fro") for s in net.slices]  # ‖∇_{W^ℓ}E‖_F
    np.testing.assert_allclose(lgn[-1], expected, rtol=1e-12)
    assert r.history.grad_norm[-1] == pytest.approx(np.linalg.norm(g), rel=1e-12)  # biases included
    assert r.history.grad_norm[-1] > np.linalg.norm(expected)  # …so it exceeds the W-part


# ---------------------------------------------------------------------------
# budgets and stopping rules
# ---------------------------------------------------------------------------

def test_max_iter_budget():
    X, y = mlplab.datasets.lecture()
    r = train(lecture_net(), X, y, optimizer=GD("exact"), max_iter=3)
    assert r.stop_reason == "max_iter" and r.n_iter == 3 and r.history.k[-1] == 3


def test_max_iter_zero_takes_no_step():
    X, y = mlplab.datasets.lecture()
    net = lecture_net()
    r = train(net, X, y, optimizer=SGD(), max_iter=0)
    assert r.n_iter == 0 and r.stop_reason == "max_iter"
    np.testing.assert_array_equal(net.params, [0.5, 0.5])


def test_epochs_budget_minibatch():
    X, y = linear_data(S=10)
    r = train(linear_net(), X, y, optimizer=MiniBatchSGD(3, schedule=1e-3), epochs=2, seed=0, tol=None)
    assert r.n_iter == 2 * math.ceil(10 / 3) == 8
    assert r.stop_reason == "epochs"
    assert r.epochs == 2.0 and r.cost == 20


def test_time_limit():
    X, y = linear_data(S=10)
    limit = 0.05
    r = train(linear_net(), X, y, optimizer=SGD(schedule=1e-6), time_limit=limit, tol=None, seed=0)
    assert r.stop_reason == "time_limit"
    assert r.n_iter > 0 and r.elapsed >= limit


def test_callback_stops_training():
    X, y = mlplab.datasets.lecture()
    seen = []

    def cb(rec):
        seen.append(rec)
        return rec["k"] >= 2

    r = train(lecture_net(), X, y, optimizer=GD(0.5), callback=cb, max_iter=50)
    assert r.stop_reason == "callback" and r.n_iter == 2
    assert [rec["k"] for rec in seen] == [0, 1, 2]
    assert set(seen[0]) >= {"k", "epoch", "loss", "grad_norm", "layer_grad_norms", "cost", "time"}
    assert seen[0]["loss"] == pytest.approx(E0_LECTURE, abs=5e-6)


def test_callback_numpy_true_stops_training():
    X, y = mlplab.datasets.lecture()
    r = train(lecture_net(), X, y, optimizer=GD(0.5), callback=lambda rec: np.bool_(rec["k"] >= 1), max_iter=20)
    assert r.stop_reason == "callback" and r.n_iter == 1


def test_tol_none_disables_gradient_test():
    # e = (2 − w)² with x = 1: GD(0.25) halves the error each step, ∇E = 2(w − 2) → 0 geometrically
    X, y = np.array([[1.0]]), np.array([2.0])
    r_tol = train(linear_net(1, [0.0]), X, y, optimizer=GD(0.25), max_iter=60)
    assert r_tol.stop_reason == "converged" and r_tol.n_iter < 60
    # ‖∇E(w^k)‖ = 4 · 2^{−k}: the first k with 4·2^{−k} ≤ 1e-6 is 22
    assert r_tol.n_iter == 22
    for tol in (None, 0):
        r = train(linear_net(1, [0.0]), X, y, optimizer=GD(0.25), max_iter=60, tol=tol)
        assert r.stop_reason == "max_iter" and r.n_iter == 60
        assert r.grad_norm < 1e-6


# ---------------------------------------------------------------------------
# sampling of j_k and B_k
# ---------------------------------------------------------------------------

@pytest.fixture
def sampled(monkeypatch):
    """Records the index set of every block gradient the loop asks Problem for
    (through value_and_grad, or sgd_step / sgd_steps, the in-place SGD steps)."""
    calls = []
    original = Problem.value_and_grad
    original_sgd_step = Problem.sgd_step

    def spy(self, w, idx=None, out=None):
        if idx is not None:
            calls.append(np.arange(self.S)[idx].reshape(-1).tolist())
        return original(self, w, idx, out=out)

    def spy_sgd_step(self, w, idx, gamma):
        E, taken = original_sgd_step(self, w, idx, gamma)
        if taken:  # otherwise the loop asks value_and_grad for the same block, recorded there
            calls.append(np.arange(self.S)[idx].reshape(-1).tolist())
        return E, taken

    original_sgd_steps = Problem.sgd_steps

    def spy_sgd_steps(self, w, js, gammas, **kw):
        taken = original_sgd_steps(self, w, js, gammas, **kw)
        if self._use_scalar or self.compiled_plan() is not None:  # otherwise each step went through
            # sgd_step, recorded there
            calls.extend([j] for j in js[:taken])
        return taken

    monkeypatch.setattr(Problem, "value_and_grad", spy)
    monkeypatch.setattr(Problem, "sgd_step", spy_sgd_step)
    monkeypatch.setattr(Problem, "sgd_steps", spy_sgd_steps)
    return calls


def test_cyclic_sgd_visits_samples_in_order(sampled):
    X, y = linear_data(S=5)
    train(linear_net(), X, y, optimizer=SGD(schedule=1e-3, sampling="cyclic"), max_iter=12, tol=None)
    assert [c[0] for c in sampled] == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]
    assert all(len(c) == 1 for c in sampled)


@pytest.mark.parametrize("batch", [1, 2])
def test_shuffle_visits_each_sample_once_per_epoch(sampled, batch):
    S, n_epochs = 7, 4
    X, y = linear_data(S=S)
    opt = SGD(schedule=1e-3, sampling="shuffle") if batch == 1 else MiniBatchSGD(batch, schedule=1e-3)
    r = train(linear_net(), X, y, optimizer=opt, epochs=n_epochs, tol=None, seed=5)
    assert r.n_iter == n_epochs * math.ceil(S / batch)
    per_epoch = math.ceil(S / batch)
    orders = []
    for e in range(n_epochs):
        blocks = sampled[e * per_epoch:(e + 1) * per_epoch]
        order = [j for b in blocks for j in b]
        assert sorted(order) == list(range(S))  # a permutation: each sample exactly once
        orders.append(order)
    assert len({tuple(o) for o in orders}) > 1  # a fresh permutation each epoch


def test_uniform_sgd_draws_single_valid_indices(sampled):
    S = 6
    X, y = linear_data(S=S)
    train(linear_net(), X, y, optimizer=SGD(schedule=1e-3), max_iter=300, tol=None, seed=2)
    idx = np.array([c[0] for c in sampled])
    assert len(idx) == 300 and idx.min() >= 0 and idx.max() < S
    assert len(set(idx.tolist())) == S  # all samples drawn in 300 i.i.d. draws
    # i.i.d. with replacement: some epoch-sized window repeats an index
    assert any(len(set(idx[i:i + S].tolist())) < S for i in range(0, 300, S))


# ---------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------

def _run_seeded(opt_factory, seed, monitor="auto"):
    X, y = linear_data(S=20, seed=1)
    net = MLP([3, 4, 1], activation="tanh", output_activation="identity", seed=0)
    r = train(net, X, y, "squared", opt_factory(), epochs=5, seed=seed, eval_every=3, monitor=monitor)
    return net.params.copy(), r


OPTIMIZERS = {
    "sgd": lambda: SGD(schedule=Inverse(0.01)),
    "minibatch": lambda: MiniBatchSGD(4, schedule=0.005),
    "adam": lambda: Adam(MiniBatchSGD(4, schedule=0.01, average=True)),
}


@pytest.mark.parametrize("monitor", ["auto", "epoch", "batch"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_same_seed_is_bit_identical(name, monitor):
    p1, r1 = _run_seeded(OPTIMIZERS[name], seed=123, monitor=monitor)
    p2, r2 = _run_seeded(OPTIMIZERS[name], seed=123, monitor=monitor)
    assert np.array_equal(p1, p2)
    h1, h2 = r1.history.as_arrays(), r2.history.as_arrays()
    # "auto": which records also show the exact values depends on the measured time; a record
    # exact in both runs (the first, the last at least) and one estimated in both are the same
    same = np.array(r1.history.exact) == np.array(r2.history.exact)
    assert same[0] and same[-1] and r1.history.exact[0] and r1.history.exact[-1] == (monitor != "batch")
    for col in h1:
        if col != "time":
            a, b = (h1[col][same], h2[col][same]) if col in ("loss", "grad_norm", "layer_grad_norms") else (
                h1[col], h2[col])
            assert np.array_equal(a, b, equal_nan=col == "step_size"), col
    if monitor != "auto":
        assert same.all()
    p3, _ = _run_seeded(OPTIMIZERS[name], seed=124)
    assert not np.array_equal(p1, p3)


# ---------------------------------------------------------------------------
# divergence
# ---------------------------------------------------------------------------

def test_divergence_error_keeps_finite_weights():
    X, y = linear_data(S=20, scale=100.0)
    net = MLP([3, 1], activation="identity", seed=0)
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point of the test
        with pytest.raises(DivergenceError) as exc:
            train(net, X, y, "squared", SGD(schedule=1e6), max_iter=2000, seed=0)
    err = exc.value
    assert np.all(np.isfinite(err.params))
    np.testing.assert_array_equal(net.params, err.params)
    assert err.k > 0 and len(err.history) >= 1
    assert "diverged" in str(err)


@pytest.mark.parametrize("gamma, scale", [(1e6, 100.0), (1e300, 1e5)],
                         ids=["loss-overflows-first", "step-overflows-first"])
def test_divergence_stops_at_the_hand_simulated_iteration(gamma, scale):
    # cyclic SGD with a huge γ on e^s = (y_s − wᵀx_s)²: simulate by hand until e^{j_k}(w^k) or
    # the step −γ∇e^{j_k}(w^k) stops being finite; the error must carry that k and w^k when only
    # the step overflowed, or the last recorded w (E finite there; one record per epoch of 6
    # steps) when the loss at w^k itself overflowed
    X, y = linear_data(S=6, scale=scale)
    net = linear_net()
    w = net.params.copy()
    w_recorded = w.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(10_000):
            j = k % 6
            if j == 0:
                w_recorded = w.copy()
            r = y[j] - X[j] @ w
            step = gamma * 2.0 * r * X[j]  # −γ ∇e^j = γ · 2 r x_j
            if not math.isfinite(r * r):
                w = w_recorded
                break
            if not np.all(np.isfinite(step)):
                break
            w = w + step
        with pytest.raises(DivergenceError) as exc:
            # diverge_factor=None: this test pins the inf/NaN rule alone (the blow-up rule stops earlier)
            train(net, X, y, "squared", SGD(schedule=gamma, sampling="cyclic"), max_iter=10_000, tol=None,
                  diverge_factor=None, eval_every=6)
    assert exc.value.k == k
    np.testing.assert_allclose(exc.value.params, w, rtol=1e-6)
    np.testing.assert_array_equal(net.params, exc.value.params)


# ---------------------------------------------------------------------------
# dtype and the objective's block gradients
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("opt", [GD("exact"), SGD(), Adam(MiniBatchSGD(2, schedule=0.05, average=True)),
                                 Momentum(MiniBatchSGD(2, schedule=0.05), beta=0.5)],
                         ids=["gd", "sgd", "adam", "momentum"])
def test_float32_stays_float32(opt):
    X, y = mlplab.datasets.lecture()
    net = small_mlp(seed=1, dtype="float32")
    params_obj = net.params
    r = train(net, X, y, "squared", opt, max_iter=20, seed=0)
    assert net.params is params_obj  # trained in place
    assert net.params.dtype == np.float32 and r.params.dtype == np.float32
    np.testing.assert_array_equal(net.weights[0].ravel(), net.params[net.slices[0].W])  # views intact
    E, g = net.loss_and_grad(X, y)
    assert g.dtype == np.float32 and math.isfinite(E)
    assert r.loss < r.history.loss[0]


@pytest.mark.parametrize("l2, reduction", [(0.0, "sum"), (0.3, "sum"), (0.0, "mean"), (0.3, "mean")])
def test_full_minibatch_equals_full_gradient(l2, reduction):
    X, y = linear_data(S=9, n=2)
    net = small_mlp(seed=4)
    sw = np.linspace(0.5, 1.5, 9)
    for weights in (None, sw):
        prob = Problem(net, X, y, "squared", l2=l2, reduction=reduction, sample_weight=weights)
        w = net.params
        E_all, g_all = prob.value_and_grad(w)
        E_B, g_B = prob.value_and_grad(w, idx=np.arange(9))
        assert E_B == pytest.approx(E_all, rel=1e-12)
        np.testing.assert_allclose(g_B, g_all, rtol=1e-12)
        assert prob.value(w, np.arange(9)) == pytest.approx(E_all, rel=1e-12)


def test_block_gradients_sum_to_full_gradient():
    # "sum": the regulariser is split ρ_B = |B|/S, so disjoint blocks add up to ∇E exactly
    X, y = linear_data(S=9, n=2)
    net = small_mlp(seed=4)
    prob = Problem(net, X, y, "squared", l2=0.7)
    w = net.params
    E_all, g_all = prob.value_and_grad(w)
    parts = [prob.value_and_grad(w, idx=np.arange(i, i + 3)) for i in (0, 3, 6)]
    assert sum(E for E, _ in parts) == pytest.approx(E_all, rel=1e-12)
    np.testing.assert_allclose(sum(g for _, g in parts), g_all, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# bad arguments
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, text",
    [
        (dict(max_iter=-1), "-1"),
        (dict(max_iter=2.5), "2.5"),
        (dict(epochs=-3), "-3"),
        (dict(tol=-1), "-1"),
        (dict(tol=float("nan")), "nan"),
        (dict(eval_every=-2), "-2"),
        (dict(optimizer="sgd"), "sgd"),
        (dict(time_limit=0), "got 0"),
        (dict(time_limit=-1.5), "-1.5"),
        (dict(callback="print"), "print"),
        (dict(l2=-0.1), "-0.1"),
        (dict(reduction="avg"), "avg"),
    ],
)
def test_train_bad_arguments(kwargs, text):
    X, y = mlplab.datasets.lecture()
    with pytest.raises(ValueError) as exc:
        train(lecture_net(), X, y, **kwargs)
    assert text in str(exc.value)


def test_train_eval_every_zero_names_value():
    X, y = mlplab.datasets.lecture()
    with pytest.raises(ValueError, match=r"got 0\b"):
        train(lecture_net(), X, y, eval_every=0)


def test_train_eval_every_zero_rejected():
    X, y = mlplab.datasets.lecture()
    with pytest.raises(ValueError, match="eval_every"):
        train(lecture_net(), X, y, eval_every=0)


def test_train_rejects_nan_time_limit():
    X, y = mlplab.datasets.lecture()
    with pytest.raises(ValueError, match="nan"):
        train(lecture_net(), X, y, optimizer=SGD(), time_limit=float("nan"), max_iter=5)  # max_iter: no hang


def test_opt_state_continues_a_run():
    """Two calls chained through opt_state equal one call: k, the schedule and Adam's moments go on."""
    X, y = mlplab.datasets.lecture()
    one = mlplab.MLP([2, 1], bias=False, init=np.array([0.5, 0.5]))
    mlplab.train(one, X, y, optimizer=Adam(SGD(Inverse(0.5), sampling="cyclic")), max_iter=12, tol=None)
    two = mlplab.MLP([2, 1], bias=False, init=np.array([0.5, 0.5]))
    opt = Adam(SGD(Inverse(0.5), sampling="cyclic"))
    first = mlplab.train(two, X, y, optimizer=opt, max_iter=4, tol=None)
    second = mlplab.train(two, X, y, optimizer=opt, max_iter=8, tol=None, opt_state=first.opt_state)
    assert second.opt_state.k == 12 and second.n_iter == 8
    np.testing.assert_array_equal(one.params, two.params)
    with pytest.raises(ValueError, match="opt_state"):
        mlplab.train(two, X, y, optimizer=opt, max_iter=1, opt_state={"k": 3})


def test_composed_optimizers_do_not_nest():
    with pytest.raises(ValueError, match="do not nest"):
        Momentum(Adam(SGD(0.1)))


def test_opt_state_must_match_optimizer_and_network():
    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP([2, 1], bias=False, init=np.array([0.5, 0.5]))
    r = mlplab.train(net, X, y, optimizer=SGD(0.1), max_iter=2, tol=None)
    with pytest.raises(ValueError, match="buffers"):
        mlplab.train(net, X, y, optimizer=Momentum(SGD(0.1)), max_iter=1, opt_state=r.opt_state)
    big = mlplab.MLP([2, 3, 1], seed=0)
    r = mlplab.train(big, X, y, optimizer=Momentum(SGD(0.1)), max_iter=2, tol=None)
    with pytest.raises(ValueError, match="does not match"):
        mlplab.train(net, X, y, optimizer=Momentum(SGD(0.1)), max_iter=1, opt_state=r.opt_state)


def test_custom_schedule_values_are_checked():
    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP([2, 1], bias=False)
    with pytest.raises(ValueError, match="gamma_0 = -1.0"):
        mlplab.train(net, X, y, optimizer=SGD(lambda k: -1.0), max_iter=3)


def test_epochs_budget_with_uniform_blocks_counts_samples():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 2)), rng.normal(size=50)
    net = mlplab.MLP([2, 1], activation="identity")
    r = mlplab.train(net, X, y, optimizer=MiniBatchSGD(7, 0.01, sampling="uniform"), epochs=3, tol=None, seed=0)
    assert r.n_iter == math.ceil(3 * 50 / 7) and r.stop_reason == "epochs"


# --- checkpoints, resume and cheap monitoring ------------------------------------------------

RESUME_CASES = {
    "sgd-shuffle": lambda: SGD(Inverse(0.5), sampling="shuffle"),
    "sgd-uniform": lambda: SGD(0.05, sampling="uniform"),
    "adam-uniform-blocks": lambda: Adam(MiniBatchSGD(3, schedule=0.01, average=True, sampling="uniform")),
    "momentum-shuffle-blocks": lambda: Momentum(MiniBatchSGD(4, schedule=0.02), beta=0.8, nesterov=True),
    "gd-exact": lambda: GD("exact"),
}


@pytest.mark.parametrize("name", list(RESUME_CASES))
def test_resume_from_any_checkpoint_is_bit_identical(name):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 3)), rng.normal(size=10)
    make = lambda: mlplab.MLP([3, 4, 1], activation=["tanh", "identity"], seed=1)  # noqa: E731
    full_net = make()
    ckpts = []
    full = mlplab.train(full_net, X, y, optimizer=RESUME_CASES[name](), max_iter=23, tol=None, seed=7,
                        checkpoint_every=5, on_checkpoint=ckpts.append)
    assert [c.k for c in ckpts] == [5, 10, 15, 20]
    for ck in ckpts:
        net = make()
        again = mlplab.train(net, X, y, optimizer=RESUME_CASES[name](), max_iter=23, tol=None, seed=7, resume=ck)
        np.testing.assert_array_equal(net.params, full_net.params)
        assert again.n_iter == full.n_iter == 23 and again.cost == full.cost
        same = np.array(again.history.exact) == np.array(full.history.exact)  # (see test_same_seed…)
        for col in ("k", "loss", "grad_norm", "step_size", "cost"):
            a, b = np.asarray(getattr(again.history, col)), np.asarray(getattr(full.history, col))
            if col in ("loss", "grad_norm"):
                a, b = a[same], b[same]
            np.testing.assert_array_equal(a, b)


def test_checkpoint_file_round_trip_resumes_bit_identically(tmp_path):
    from mlplab.io import load_checkpoint, save_checkpoint

    X, y = mlplab.datasets.xor()
    net = mlplab.MLP([2, 3, 1], activation=["tanh", "sigmoid"], seed=0)
    paths = []
    opt = lambda: Adam(SGD(0.05, sampling="shuffle"))  # noqa: E731
    full = mlplab.train(net, X, y, loss="binary_cross_entropy", optimizer=opt(), max_iter=30, tol=None, seed=3,
                        checkpoint_every=10,
                        on_checkpoint=lambda ck: paths.append(save_checkpoint(tmp_path / f"c{ck.k}.safetensors",
                                                                              ck, net=net, extra={"k": ck.k})))
    ck, meta = load_checkpoint(paths[1])
    assert ck.k == 20 and meta["extra"] == {"k": 20} and meta["architecture"]["layer_sizes"] == [2, 3, 1]
    other = mlplab.MLP([2, 3, 1], activation=["tanh", "sigmoid"], seed=99)
    mlplab.train(other, X, y, loss="binary_cross_entropy", optimizer=opt(), max_iter=30, tol=None, seed=3, resume=ck)
    np.testing.assert_array_equal(other.params, full.params)
    paths[0].write_bytes(paths[0].read_bytes()[:100])
    with pytest.raises(mlplab.ModelFileError, match="not a readable"):
        load_checkpoint(paths[0])


def test_resume_rejects_a_checkpoint_of_another_network():
    X, y = mlplab.datasets.lecture()
    ckpts = []
    mlplab.train(mlplab.MLP([2, 3, 1], seed=0), X, y, optimizer=SGD(0.1), max_iter=4, tol=None,
                 checkpoint_every=2, on_checkpoint=ckpts.append)
    with pytest.raises(ValueError, match="do not fit this network"):
        mlplab.train(mlplab.MLP([2, 1], seed=0), X, y, optimizer=SGD(0.1), max_iter=4, resume=ckpts[0])
    with pytest.raises(ValueError, match="on_checkpoint"):
        mlplab.train(mlplab.MLP([2, 1]), X, y, checkpoint_every=2)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_batch_monitor_is_the_scaled_mean_of_block_values(reduction):
    """monitor="batch": Ê = (S/n)Σ E_B ("sum") or Σ|B|E_B/n ("mean"), likewise for the gradient."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 2)), rng.normal(size=12)
    net = mlplab.MLP([2, 1], activation="identity", seed=0)
    start = net.params.copy()
    r = mlplab.train(net, X, y, optimizer=MiniBatchSGD(4, 0.01, sampling="cyclic"), epochs=1, tol=None,
                     monitor="batch", reduction=reduction, l2=0.1)
    # replay the three blocks by hand at the same iterates
    replay = mlplab.MLP([2, 1], activation="identity", init=start)
    prob = Problem(replay, X, y, l2=0.1, reduction=reduction)
    Es, gs = [], []
    for b in range(3):
        E_b, g_b = prob.value_and_grad(replay.params, slice(4 * b, 4 * b + 4))
        Es.append(E_b), gs.append(g_b.copy())
        replay.params -= 0.01 * g_b
    scale = 12 / 12 if reduction == "sum" else 4 / 12
    assert r.history.loss[-1] == pytest.approx(sum(Es) * scale, rel=1e-12)
    np.testing.assert_allclose(r.history.grad_norm[-1], np.linalg.norm(sum(gs) * scale), rtol=1e-12)
    assert r.history.loss[0] == pytest.approx(prob.value(start), rel=1e-12)  # k = 0 is exact


def test_max_cost_budget_and_callback_sees_every_record():
    X, y = mlplab.datasets.lecture()
    seen = []
    net = mlplab.MLP([2, 1], bias=False, init=np.array([0.5, 0.5]))
    r = mlplab.train(net, X, y, optimizer=SGD(Inverse(1.0), sampling="cyclic"), max_cost=10, tol=None,
                     eval_every=4, callback=lambda rec: seen.append(rec))
    assert r.stop_reason == "max_cost" and r.cost == 10 and r.n_iter == 10
    assert [rec["k"] for rec in seen] == [0, 4, 8, 10]  # the final record reaches the callback too
    assert math.isnan(seen[0]["last_step_size"])
    assert seen[1]["last_step_size"] == pytest.approx(1 / 4)  # γ_3 = 1/(3+1) produced w^4
    gd = mlplab.train(mlplab.MLP([2, 1], bias=False, init=np.array([0.5, 0.5])), X, y, optimizer=GD(0.5),
                      max_cost=10, tol=None)
    assert gd.stop_reason == "max_cost" and gd.cost == 12  # 3 steps of S = 4: a step is never split


def test_gd_between_records_evaluates_each_iterate_once(monkeypatch):
    # 7 GD steps with eval_every=5: E, ∇E at w^0 … w^7, eight full passes (the last one also records)
    X, y = linear_data(S=6)
    calls = []
    original = Problem.value_and_grad

    def spy(self, w, idx=None, out=None):
        if idx is None:
            calls.append(w.copy())
        return original(self, w, idx, out=out)

    monkeypatch.setattr(Problem, "value_and_grad", spy)
    r = train(linear_net(), X, y, optimizer=GD(step=1e-3), max_iter=7, eval_every=5, tol=None)
    assert len(calls) == 8
    assert list(r.history.k) == [0, 5, 7]
    np.testing.assert_array_equal(calls[-1], r.params)
