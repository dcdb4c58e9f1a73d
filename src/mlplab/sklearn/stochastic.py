"""Solvers "sgd" and "adam": scikit-learn's stochastic solvers, run by mlplab's training loop.

Per epoch the loop takes ⌈S/b⌉ steps (``run.loop(max_steps=…)``) over scikit-learn's blocks
(its shuffle from its random_state, or in order; the last block shorter, its E_B and penalty
over its own |B| rows) with scikit-learn's update rule (:mod:`.updates`); between epochs,
scikit-learn's bookkeeping (:mod:`.epochs`) and its learning-rate rule (invscaling, adaptive).

fit() starts the optimizer afresh (v, Adam's m, v and t), as scikit-learn's does, warm_start
included; partial_fit continues it. A non-finite loss or step raises ValueError at once, keeping
the weights of the epoch's start — with early_stopping the fit ends there instead, with the best
weights (scikit-learn's loop would go on with NaN scores to the same weights).
"""

from __future__ import annotations

import math
import time

import numpy as np

from mlplab.sklearn.compat import append_record, make_schedule, warn
from mlplab.sklearn.epochs import FitData, epoch_ends, finish, stall_message
from mlplab.sklearn.objective import EpochSums, SklearnObjective, sklearn_log_loss
from mlplab.sklearn.updates import LearningRate, SklearnAdam, SklearnSGD, SklearnShuffles
from mlplab.training import DivergenceError, History, start


def objective(est, fd: FitData) -> SklearnObjective:
    """scikit-learn's E_B for this fit (fg = ½ for its squared error's gradient, see :mod:`.objective`)."""
    fg = 0.5 if fd.f != 1.0 and est._sk_squared() else fd.f
    log_loss = sklearn_log_loss(est._is_classifier, est.loss, est.net_.activations[-1].name, fd.loss)
    return SklearnObjective(est.net_, fd.X, fd.Y, fd.loss, f=fd.f, fg=fg, sample_weight=fd.sw, alpha=est.alpha,
                            log_loss=log_loss)


def optimizer(est, batch_size: int):
    """scikit-learn's "sgd" (velocity momentum, ``learning_rate``) or "adam" as an mlplab optimizer;
    a ``schedule``, if given, replaces γ by γ_k per step."""
    schedule = None if est.schedule is None else make_schedule(est.schedule, est.learning_rate_init)
    sampling = "reshuffle" if est.shuffle else "cyclic"  # (its one block of all rows is shuffled too)
    if est.solver == "adam":
        rate = LearningRate(est.learning_rate_init, schedule=schedule)
        return SklearnAdam(batch_size, sampling, rate, est.beta_1, est.beta_2, est.epsilon)
    rate = LearningRate(est.learning_rate_init, est.learning_rate, est.power_t, schedule)
    return SklearnSGD(batch_size, sampling, rate, est.momentum, est.nesterovs_momentum)


def _continues(state, fresh) -> bool:
    """A partial_fit continues the previous call's state when it is the same rule on the same network."""
    return (state is not None and set(state.slots) == set(fresh.slots)
            and all(state.slots[k].shape == v.shape and state.slots[k].dtype == v.dtype
                    for k, v in fresh.slots.items()))


def fit_stochastic(est, fd: FitData) -> None:
    """Epochs of the loop with scikit-learn's bookkeeping between them (see the module docstring)."""
    n = fd.X.shape[0]
    b = est._batch(n)
    if est.batch_size != "auto" and est.batch_size > n:  # scikit-learn's warning, word for word
        warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
    w = est.net_.params
    problem = objective(est, fd)
    problem.fold = est.solver == "sgd"  # (adam keeps scikit-learn's division: its bits as before)
    opt = optimizer(est, b)
    state = est._sgd_state if fd.incremental else None
    state = state if _continues(state, opt.init(w)) else None
    steps = -(-n // b)  # steps per epoch
    epochs = 1 if fd.incremental else est.max_iter
    sums = problem.sums = EpochSums(n, w, whole=b >= n)
    # the run pauses after each epoch; it records nothing (scikit-learn's epoch loss is the sum of the
    # block losses, kept by the objective's EpochSums): no pass over all samples at w^0 or at the end
    run = start(problem, opt, max_iter=epochs * steps, tol=None, rtol=None, monitor="epoch", records=False,
                seed=SklearnShuffles(est._random_state) if est.shuffle else 0, opt_state=state,
                diverge_factor=None)
    est._sgd_state = run.state
    history = History()
    t0 = time.perf_counter()
    ran_out = True
    est.n_iter_ = 0
    grad_norm = math.nan
    for _ in range(epochs):
        start_w = w.copy()
        sums.reset()
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                run.loop(max_steps=steps)
        except DivergenceError as exc:
            if fd.early:  # the best weights so far are the result (restored by finish)
                ran_out = False
                break
            w[...] = start_w  # the weights of the epoch's start
            est._sgd_state = None
            est._diverged(exc)
        state = run.state
        est.loss_ = sums.loss / n
        g_epoch = sums.grad
        if est.monitor == "full":  # the exact E(w) and ∇E(w) after the epoch, one more pass
            with np.errstate(over="ignore", invalid="ignore"):
                est.loss_, g_epoch = problem.evaluate(w, None, np.empty_like(w))
        est.t_ += n
        est.n_iter_ += 1
        grad_norm = float(np.linalg.norm(g_epoch))
        append_record(history, k=state.k, epoch=est.t_ / n, loss=est.loss_, grad_norm=grad_norm, exact=False,
                      step_size=float(state.alpha),
                      layer_grad_norms=[float(np.linalg.norm(g_epoch[s.W])) for s in est.net_.slices],
                      cost=est.t_, time=time.perf_counter() - t0)
        # scikit-learn's order, partial_fit included: patience, iteration_ends(t_), trigger_stopping
        stop = epoch_ends(est, est.loss_, fd)
        state = opt.rate.after_epoch(state, est.t_) if est.solver == "sgd" else state
        if stop:  # scikit-learn's trigger_stopping, its verbose lines included
            rule = opt.rate.rule if est.solver == "sgd" else "constant"
            state, go_on = opt.rate.on_stall(state) if est.solver == "sgd" else (state, False)
            if go_on:
                est._no_improvement_count = 0
                if est.verbose:
                    print(stall_message(est, fd.early) + f" Setting learning rate to {state.lr:f}")
                stop = False
            elif est.verbose:
                tail = " Learning rate too small. Stopping." if rule == "adaptive" else " Stopping."
                print(stall_message(est, fd.early) + tail)
        run.state = est._sgd_state = state
        if fd.incremental or stop or (est.tol_grad is not None and grad_norm <= est.tol_grad) or (
                est.rtol_grad is not None and grad_norm <= est.rtol_grad * history.grad_norm[0]):
            ran_out = False
            break
    est.history_ = history
    finish(est, fd, ran_out and est.n_iter_ >= est.max_iter, grad_norm)
