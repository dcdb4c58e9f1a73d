"""What the records hold (exact or block estimates), what they cost, and that they never steer the iterates.

Oracles: ``Problem.value_and_grad`` at the recorded iterate (exact records), block values
summed by hand at the iterates the steps saw (estimates), and runs with another monitor.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlplab import MLP, Problem, train
from mlplab.optim import SGD, Adam, MiniBatchSGD
from mlplab.fast import kernels
from mlplab.training.monitor import EXACT_OVERHEAD, EXACT_SHARE, Monitor


def _data(S=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(S, 3)), rng.normal(size=S)


def _net(dtype="float64"):
    return MLP([3, 4, 1], activation="tanh", output_activation="identity", seed=1, dtype=dtype)


OPTIMIZERS = {
    "sgd (compiled)": lambda: SGD(0.02, sampling="shuffle"),
    "minibatch (fused)": lambda: MiniBatchSGD(5, schedule=0.01),
    "adam (general)": lambda: Adam(MiniBatchSGD(4, schedule=0.01, average=True)),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_no_monitor_changes_the_iterates_or_the_kernel(name, monkeypatch):
    X, y = _data()
    chosen, original = [], kernels.choose
    monkeypatch.setattr(kernels, "choose", lambda run: chosen.append(type(original(run)).__name__) or original(run))
    runs = {m: train(_net(), X, y, optimizer=OPTIMIZERS[name](), epochs=6, tol=None, seed=4, monitor=m)
            for m in ("auto", "epoch", "full", "batch")}
    assert len(set(chosen)) == 1
    for m, r in runs.items():
        np.testing.assert_array_equal(r.params, runs["epoch"].params, err_msg=m)
        assert r.history.k == runs["epoch"].history.k and len(r.history) == 7
    assert runs["epoch"].history.exact == [True] * 7 == runs["full"].history.exact
    assert runs["batch"].history.exact == [True] + [False] * 6
    auto = runs["auto"].history
    assert auto.exact[0] and auto.exact[-1]
    # "epoch" records are exact everywhere; wherever "auto" shows an exact record it is that value
    for i, exact in enumerate(auto.exact):
        if exact:
            assert auto.loss[i] == runs["epoch"].history.loss[i]
    # the estimates of "auto" and "batch" are the same numbers (the same block sums)
    for i, exact in enumerate(auto.exact[:-1]):
        if not exact:
            assert auto.loss[i] == runs["batch"].history.loss[i]
            assert auto.grad_norm[i] == runs["batch"].history.grad_norm[i]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_last_record_is_exact_at_the_final_w(dtype):
    X, y = _data()
    for opt in (SGD(0.02), MiniBatchSGD(5, schedule=0.01), Adam(SGD(0.01))):
        net = _net(dtype)
        r = train(net, X, y, optimizer=opt, epochs=3, tol=None, seed=0, l2=0.1)
        E, g = Problem(net, X, y, l2=0.1).value_and_grad(net.params)
        assert r.history.exact[-1] and r.history.k[-1] == r.n_iter
        assert r.loss == r.history.loss[-1] == E
        assert r.grad_norm == r.history.grad_norm[-1] == pytest.approx(np.linalg.norm(g), rel=1e-5)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_sample_estimates_from_the_compiled_loop_are_the_block_values(reduction, weighted):
    """Ê = (S/n) Σ_k E_{j_k}, ∇Ê likewise ("sum"), Σ_k E_{j_k} / n ("mean"), at the iterates the steps saw."""
    X, y = _data(S=8)
    sw = np.linspace(0.5, 2.0, 8) if weighted else None
    net = _net()
    start = net.params.copy()
    r = train(net, X, y, optimizer=SGD(0.05, sampling="cyclic"), epochs=2, tol=None, monitor="batch",
              reduction=reduction, l2=0.2, sample_weight=sw)
    p = Problem(_net(), X, y, reduction=reduction, l2=0.2, sample_weight=sw)
    w = start.copy()
    Es, gs = [], []
    for k in range(16):
        E_j, g_j = p.value_and_grad(w, k % 8)
        Es.append(E_j), gs.append(g_j.copy())
        w -= 0.05 * g_j
    np.testing.assert_allclose(r.params, w, rtol=1e-12)
    scale = 8 / 8 if reduction == "sum" else 1 / 8  # n = 8 samples per epoch
    for rec, sl in ((1, slice(0, 8)), (2, slice(8, 16))):
        assert not r.history.exact[rec]
        assert r.history.loss[rec] == pytest.approx(sum(Es[sl]) * scale, rel=1e-12)
        assert r.history.grad_norm[rec] == pytest.approx(np.linalg.norm(sum(gs[sl]) * scale), rel=1e-11)


def test_batch_monitor_takes_one_full_pass_auto_at_least_two(monkeypatch):
    X, y = _data(S=30)
    calls = []
    original = Problem.value_and_grad

    def spy(self, w, idx=None, out=None):
        if idx is None:
            calls.append(1)
        return original(self, w, idx, out=out)

    monkeypatch.setattr(Problem, "value_and_grad", spy)
    train(_net(), X, y, optimizer=MiniBatchSGD(4, schedule=0.01), epochs=5, tol=None, monitor="batch")
    assert len(calls) == 1  # E(w^0), ∇E(w^0); everything after comes from the steps
    calls.clear()
    train(_net(), X, y, optimizer=MiniBatchSGD(4, schedule=0.01), epochs=5, tol=None, monitor="epoch")
    assert len(calls) == 6  # w^0 and after every epoch
    calls.clear()
    r = train(_net(), X, y, optimizer=MiniBatchSGD(4, schedule=0.01), epochs=5, tol=None)
    assert len(calls) == sum(r.history.exact) >= 2


def test_the_exact_evaluations_keep_within_their_share_of_the_steps_work():
    X, y = _data()  # S = 20
    m = Monitor("auto", Problem(_net(), X, y), full=False)
    one = m.S + EXACT_OVERHEAD  # an exact pass, in sample gradients
    assert not m.exact_is_due()  # no steps yet
    m.step_work = 10 * one - 1
    assert not m.exact_is_due()  # one pass would be just over 10 %
    m.step_work = 10 * one
    assert m.exact_is_due() and EXACT_SHARE == 0.10
    m.exact(Problem(_net(), X, y).net.params, np.empty(m.problem.d), between=True)
    assert m.exact_work == one and not m.exact_is_due()  # the next one needs 10 passes' worth more
    m.step_work = 20 * one
    assert m.exact_is_due()
    for mode in ("epoch", "batch"):
        other = Monitor(mode, Problem(_net(), X, y), full=False)
        other.step_work = 10**9
        assert not other.exact_is_due()


def test_which_records_are_exact_is_counted_not_timed_so_histories_repeat_bit_for_bit():
    # the cadence depends on work, never on the clock: the same seed gives the same history
    X, y = _data(S=30)
    runs = [train(_net(), X, y, optimizer=MiniBatchSGD(4, schedule=0.01), epochs=2000, tol=None, seed=3)
            for _ in range(2)]
    a, b = runs[0].history, runs[1].history
    assert a.exact == b.exact and a.loss == b.loss and a.grad_norm == b.grad_norm
    assert a.exact[0] and a.exact[-1] and 2 < sum(a.exact) < len(a.exact)  # some exact between, not all
    steps_work = a.cost[-1]
    between = sum(a.exact[1:-1])
    assert between * (30 + EXACT_OVERHEAD) <= EXACT_SHARE * steps_work


def test_the_monitor_state_survives_a_checkpoint_file(tmp_path):
    from mlplab.io import load_checkpoint, save_checkpoint

    X, y = _data(S=10)
    ckpts = []
    full = train(_net(), X, y, optimizer=MiniBatchSGD(3, schedule=0.02), epochs=600, tol=None, seed=2,
                 checkpoint_every=401, on_checkpoint=ckpts.append)
    ck = ckpts[-1]
    assert ck.monitor_state is not None and ck.monitor_state["step_work"] > 0
    path = save_checkpoint(tmp_path / "ck.safetensors", ck, net=_net())
    loaded, _ = load_checkpoint(path)
    assert loaded.monitor_state["acc_n"] == ck.monitor_state["acc_n"]
    assert loaded.monitor_state["step_work"] == ck.monitor_state["step_work"]
    np.testing.assert_array_equal(loaded.monitor_state["acc_g"], ck.monitor_state["acc_g"])
    again = train(_net(), X, y, optimizer=MiniBatchSGD(3, schedule=0.02), epochs=600, tol=None, seed=2,
                  resume=loaded)
    assert again.history.loss == full.history.loss and again.history.exact == full.history.exact
    np.testing.assert_array_equal(again.params, full.params)


def test_the_stopping_tests_use_the_estimate_so_the_stop_does_not_depend_on_time():
    # tol is met by the block estimate at some epoch: "auto" and "batch" stop at the same record,
    # whether or not "auto" also showed the exact value there
    X, y = _data(S=12)
    runs = [train(_net(), X, y, optimizer=MiniBatchSGD(4, schedule=0.05), epochs=400, tol=3.0, seed=1, monitor=m)
            for m in ("auto", "batch", "auto")]
    assert runs[0].stop_reason == runs[1].stop_reason == runs[2].stop_reason == "converged"
    assert runs[0].n_iter == runs[1].n_iter == runs[2].n_iter < 1200
    np.testing.assert_array_equal(runs[0].params, runs[1].params)


def test_an_unknown_monitor_is_named_in_the_error():
    X, y = _data()
    with pytest.raises(ValueError, match="monitor must be 'auto', 'epoch'"):
        train(_net(), X, y, optimizer=SGD(0.1), max_iter=3, monitor="every")


def test_a_resumed_run_continues_the_block_sums_of_its_checkpoint():
    X, y = _data(S=10)
    ckpts = []
    full = train(_net(), X, y, optimizer=MiniBatchSGD(3, schedule=0.02), epochs=3, tol=None, seed=2,
                 monitor="batch", checkpoint_every=2, on_checkpoint=ckpts.append)
    for ck in ckpts:
        assert ck.monitor_state is not None and ck.monitor_state["acc_n"] == {0: 10, 2: 6}[ck.k % 4]
        again = train(_net(), X, y, optimizer=MiniBatchSGD(3, schedule=0.02), epochs=3, tol=None, seed=2,
                      monitor="batch", resume=ck)
        assert again.history.loss == full.history.loss and again.history.exact == full.history.exact
        assert not math.isnan(again.history.loss[-1])
