"""mlplab's own solvers ("gd", "lecture_sgd", "minibatch", "momentum") through :func:`mlplab.train`
on the engine's weighted "mean" objective, and "lbfgs": scipy's L-BFGS-B on scikit-learn's E(w)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.optimize
from sklearn.utils.optimize import _check_optimize_result

from mlplab.optim import method
from mlplab.optim.schedules import as_schedule
from mlplab.sklearn.compat import make_schedule, warn
from mlplab.sklearn.epochs import FitData, epoch_ends, finish
from mlplab.sklearn.stochastic import objective
from mlplab.sklearn.updates import SklearnShuffles, SummedBlocks
from mlplab.train import train
from mlplab.training import DivergenceError, History


def engine_optimizer(est, n_samples, mean_w=1.0):
    """The engine optimizer for mlplab's own solvers (its batch size, schedule, line search).

    "minibatch" with sample weights steps Σ_{j∈B} c_j ∇ℓ_j (a weight of 2 is a repeated row) =
    mean(c) |B| ∇E_B, the engine's block mean being over c/mean(c): its γ_k is mean(c) times the
    schedule's."""
    sampling = "shuffle" if est.shuffle else "cyclic"
    lr = est.learning_rate_init
    if est.solver == "gd":
        return method("gd", step=est.line_search if est.line_search is not None else float(lr))
    schedule = make_schedule(est.schedule, lr)
    if est.solver == "lecture_sgd":
        return method("sgd", gamma=schedule, sampling=sampling)
    if est.solver == "minibatch":  # the lecture's step along the block's summed sample gradients
        if mean_w != 1.0:
            gamma = schedule
            schedule = as_schedule(lambda k: mean_w * gamma(k))
        return SummedBlocks(est._batch(n_samples), schedule=schedule, sampling=sampling)
    return method("momentum", gamma=schedule, batch_size=est._batch(n_samples), average=True, sampling=sampling,
                  beta=est.momentum, nesterov=est.nesterovs_momentum)


def fit_engine(est, fd: FitData) -> None:
    """mlplab's own solvers ("gd", "lecture_sgd", "minibatch", "momentum") through :func:`mlplab.train`,
    scikit-learn's bookkeeping in the per-epoch callback."""
    X, Y, loss, f, sw, incremental = fd.X, fd.Y, fd.loss, fd.f, fd.sw, fd.incremental
    n = X.shape[0]
    # weighted means as scikit-learn's MLP: data term (1/Σc) Σ c_s f e^s and penalty alpha/(2 Σc) ‖W‖²,
    # so that a weight of 2 equals a repeated row; the engine's "mean" divides by n, hence f c/mean(c)
    if sw is None:
        mean_w, c = 1.0, (None if f == 1.0 else np.full(n, f, dtype=X.dtype))
    else:
        mean_w = float(np.mean(sw))
        c = sw * sw.dtype.type(f / mean_w)
    optimizer = engine_optimizer(est, n, mean_w)
    if est._opt_state is not None and type(est._optimizer_kind) is not type(optimizer):
        est._opt_state = None  # the solver changed between warm starts: start its state afresh
    est._optimizer_kind = optimizer

    # one block holding every row: the engine's record at k is E(w^k), after the epoch's step, where
    # scikit-learn's epoch loss is the block's loss before it — the previous record's
    whole = est.solver != "gd" and est._batch(n) >= n
    before = {"loss": None}

    def per_epoch(record):
        loss = before["loss"] if whole else record["loss"]
        before["loss"] = record["loss"]
        if record["k"] == 0:
            return False
        return epoch_ends(est, loss, fd)

    epochs = 1 if incremental else est.max_iter
    steps_per_epoch = 1 if est.solver == "gd" else -(-n // est._batch(n))
    try:
        result = train(est.net_, X, Y, loss=loss, optimizer=optimizer, epochs=epochs,
                       tol=est.tol_grad, rtol=est.rtol_grad, eval_every=steps_per_epoch,
                       callback=None if incremental else per_epoch,
                       seed=SklearnShuffles(est._random_state, est._engine_rng()) if est.shuffle
                       else est._engine_rng(),
                       l2=est.alpha / (est._batch(n) * mean_w), reduction="mean",
                       sample_weight=c, opt_state=est._opt_state, monitor=est.monitor,
                       # stochastic solvers: only a non-finite loss or step is a divergence, as in
                       # scikit-learn (its SGD's loss may jump 1e4× in an epoch on unscaled data and recover)
                       diverge_factor=1e6 if est.solver == "gd" else None)
    except DivergenceError as exc:
        est._opt_state = None  # its buffers may hold inf; the network keeps the last finite weights
        est._diverged(exc)
    est._opt_state = result.opt_state
    est.history_ = result.history
    # this call's epochs (gd: iterations); partial_fit: 1 per call, as scikit-learn's
    est.n_iter_ = result.n_iter if est.solver == "gd" else -(-result.n_iter // steps_per_epoch)
    est.t_ += int(round(result.epochs * n))
    # (one whole block: the loss before the last step, as scikit-learn's)
    est.loss_ = result.history.loss[-2] if whole and len(result.history) > 1 else result.loss
    if incremental:
        est.loss_curve_.append(est.loss_)
    finish(est, fd, result.stop_reason in ("max_iter", "epochs", "time_limit"), result.grad_norm)


def fit_lbfgs(est, fd: FitData) -> None:
    """``scipy.optimize.minimize(method="L-BFGS-B")`` on E(w) and ∇E(w) over all samples, with
    scikit-learn's options: maxfun=max_fun, maxiter=max_iter, gtol=tol; n_iter_ and the
    ConvergenceWarning from scikit-learn's ``_check_optimize_result``; loss_ = E at the result.

    As scikit-learn's: with a float32 network scipy evaluates E and ∇E at float32 points (it casts
    each x to x0's dtype) while L-BFGS-B's own iterates are float64, and the result is float64 — so
    the fitted network becomes float64. ``t_`` stays 0 and ``loss_curve_``, ``best_loss_`` and the
    validation scores are not set (the per-iteration E is in ``history_``)."""
    w = est.net_.params
    problem = objective(est, fd)
    history = History()
    t0 = time.perf_counter()

    def fun(x):
        w[...] = x
        # a new gradient array per call: scipy keeps the previous one while it tries the next point
        return problem.evaluate(w, None, np.empty_like(w))

    losses, times = [], []

    def record(intermediate_result):  # (the History is built once at the end: small fits feel its cost)
        losses.append(float(intermediate_result.fun))
        times.append(time.perf_counter() - t0)
        if est.verbose:
            print(f"Iteration {len(losses)}, loss = {losses[-1]:.8f}")

    with np.errstate(over="ignore", invalid="ignore"):
        res = scipy.optimize.minimize(fun, w.copy(), method="L-BFGS-B", jac=True, callback=record,
                                      options={"maxfun": est.max_fun, "maxiter": est.max_iter,
                                               "gtol": est.tol})
    if est.net_.dtype != res.x.dtype:  # scikit-learn unpacks scipy's float64 result
        est.net_ = est.net_.copy(dtype=res.x.dtype.name)
    est.net_.params[...] = res.x
    # scikit-learn's check and warning text; re-issued from here under scikit-learn's module name
    # (its stacklevel would file it under the caller, mlplab.sklearn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.n_iter_ = _check_optimize_result("lbfgs", res, est.max_iter)
    for caught_warning in caught:
        warn(caught_warning.message, caught_warning.category)
    est.loss_ = float(res.fun)
    m = len(losses)  # the History's columns at once (per-iteration appends cost small fits ~5 %)
    columns = dict(k=list(range(1, m + 1)), epoch=[float(k) for k in range(1, m + 1)], loss=losses,
                   grad_norm=[np.nan] * m, layer_grad_norms=[[] for _ in range(m)], step_size=[np.nan] * m,
                   ls_evals=[0] * m, capped=[False] * m, unbounded=[False] * m, cost=[0] * m,
                   forward_evals=[0] * m, time=times, exact=[True] * m)
    for name in getattr(history, "__dataclass_fields__", columns):
        setattr(history, name, columns.get(name, [None] * m))
    est.history_ = history
