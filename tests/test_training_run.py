"""mlplab.training.start / fit / Run.loop(max_steps): stepping a run a few iterations at a time
continues it exactly (the playground's way), and fit(Problem) is train()."""

import numpy as np
import pytest

import mlplab
from mlplab.objective import Problem
from mlplab.optim import GD, SGD, Adam, MiniBatchSGD, Momentum
from mlplab.training import fit, start

METHODS = [lambda: GD(), lambda: GD("armijo"), lambda: SGD(0.05), lambda: SGD(0.05, sampling="shuffle"),
           lambda: MiniBatchSGD(8, 0.01), lambda: Momentum(MiniBatchSGD(8, 0.01)), lambda: Adam()]


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    return mlplab.MLP([2, 4, 1], activation="sigmoid", seed=1), X, y


@pytest.mark.parametrize("make", METHODS)
def test_stepping_in_pieces_equals_one_run(make):
    net, X, y = _setup()
    whole = mlplab.train(net.copy(), X, y, optimizer=make(), max_iter=37, eval_every=1, monitor="epoch", seed=3,
                         tol=None)
    piece_net = net.copy()
    run = start(Problem(piece_net, X, y, "squared"), make(), max_iter=37, eval_every=1, monitor="epoch", seed=3,
                tol=None)
    sizes = [1, 5, 2, 10, 3, 100]
    done = [run.loop(max_steps=n) for n in sizes]
    assert done[-1] is True and not any(done[:-1])
    assert run.k == 37 and run.stop_reason == "max_iter"
    np.testing.assert_array_equal(piece_net.params, whole.params)
    assert run.history.loss == whole.history.loss
    assert run.result().loss == whole.loss


def test_paused_run_has_no_final_record_until_it_ends():
    net, X, y = _setup()
    run = start(Problem(net, X, y, "squared"), SGD(0.05), max_iter=50, eval_every=10, seed=0, tol=None)
    assert run.loop(max_steps=15) is False
    assert run.k == 15 and run.history.k == [0, 10]
    assert run.loop() is True
    assert run.history.k[-1] == 50


def test_fit_is_train():
    net, X, y = _setup()
    a = mlplab.train(net.copy(), X, y, optimizer=MiniBatchSGD(8, 0.01), epochs=5, seed=2)
    n2 = net.copy()
    b = fit(Problem(n2, X, y, "squared"), MiniBatchSGD(8, 0.01), epochs=5, seed=2)
    np.testing.assert_array_equal(a.params, b.params)
    assert a.history.loss == b.history.loss and a.stop_reason == b.stop_reason


def test_line_search_details_of_the_last_step():
    net, X, y = _setup()
    run = start(Problem(net, X, y, "squared"), GD(), max_iter=3, seed=0, tol=None)
    run.loop(max_steps=1)
    info = run.last_info
    assert info is not None and info.step_size == run.history.step_size[0] and info.step_size > 0


def test_a_finished_run_stays_finished():
    net, X, y = _setup()
    run = start(Problem(net, X, y, "squared"), SGD(0.05), max_iter=5, seed=0, tol=None)
    assert run.loop() is True
    w = net.params.copy()
    assert run.loop(max_steps=3) is True and run.loop() is True
    assert run.k == 5 and len(run.history) == 2
    np.testing.assert_array_equal(net.params, w)


def test_a_block_of_all_samples_is_still_the_block_mean():
    """batch_size ≥ S draws all samples once per step (the GD path of the loop): average=True still steps
    along the mean (1/S) Σ_s ∇e^s, as a hand loop does."""
    net, X, y = _setup()
    w = net.params.copy()
    p = Problem(net.copy(), X, y, "squared")
    for _ in range(4):
        _, g = p.value_and_grad(w)
        g = g / g.dtype.type(len(X))
        g *= g.dtype.type(-0.5)
        w += g
    r = mlplab.train(net, X, y, optimizer=MiniBatchSGD(100, 0.5, average=True), max_iter=4, tol=None)
    np.testing.assert_array_equal(r.params, w)


def test_records_off_takes_the_same_steps_and_evaluates_nothing_else(monkeypatch):
    net, X, y = _setup()
    ref = mlplab.train(net.copy(), X, y, optimizer=MiniBatchSGD(8, 0.01), max_iter=20, tol=None, seed=4)
    p = Problem(net.copy(), X, y, "squared")
    calls = []
    original = p.value_and_grad
    monkeypatch.setattr(p, "value_and_grad", lambda w, idx=None, out=None: calls.append(idx) or original(w, idx, out))
    run = start(p, MiniBatchSGD(8, 0.01), max_iter=20, tol=None, seed=4, records=False, monitor="epoch")
    assert run.loop() is True and run.stop_reason == "max_iter"
    np.testing.assert_array_equal(p.net.params, ref.params)
    assert len(run.history) == 0 and len(calls) == 20 and all(c is not None for c in calls)  # no pass over all S
