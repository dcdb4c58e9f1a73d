"""What a fit hands its solver, and scikit-learn's per-epoch bookkeeping: the loss curve,
the no-improvement count (tol, n_iter_no_change), early stopping's validation score and best
weights, and the end of a fit (best weights restored, the ConvergenceWarning)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from mlplab.sklearn.compat import warn


@dataclass
class FitData:
    """One fit's data and settings: X (S, N_0), Y encoded (S, k), mlplab's loss name, the factor f
    of scikit-learn's objective, the raw weights c_s (None: all 1), the validation part (early
    stopping), whether this is a partial_fit, and the best weights so far (early stopping)."""

    X: object
    Y: np.ndarray
    loss: str
    f: float
    sw: np.ndarray | None
    early: bool
    X_val: object = None
    y_val: np.ndarray | None = None
    sw_val: np.ndarray | None = None
    incremental: bool = False
    best: dict = field(default_factory=lambda: {"params": None})


def epoch_ends(est, loss: float, fd: FitData) -> bool:
    """Append the epoch's loss, update the no-improvement count (scikit-learn's rule); True: patience ran out."""
    est.loss_curve_.append(loss)
    if est.verbose:
        k = est.n_iter_ if est.solver in ("sgd", "adam") else len(est.loss_curve_)  # (sgd, adam: this call's)
        print(f"Iteration {k}, loss = {loss:.8f}")
    # scikit-learn's comparisons, written as there: a NaN score or loss (a diverged network) compares
    # False both ways, so it resets the count and is never the best
    if fd.early:
        score = float(est._score_encoded(fd.X_val, fd.y_val, fd.sw_val))
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        worse = score < est.best_validation_score_ + est.tol
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            fd.best["params"] = est.net_.params.copy()
    else:
        worse = loss > est.best_loss_ - est.tol
        if loss < est.best_loss_:
            est.best_loss_ = loss
    est._no_improvement_count = est._no_improvement_count + 1 if worse else 0
    return est._no_improvement_count > est.n_iter_no_change


def stall_message(est, early: bool) -> str:
    """scikit-learn's ``trigger_stopping`` sentence."""
    what = "Validation score" if early else "Training loss"
    return f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs."


def finish(est, fd: FitData, ran_out: bool, grad_norm: float) -> None:
    """The end of a stochastic fit: partial_fit's best loss, early stopping's best weights, and the
    ConvergenceWarning when the budget ran out."""
    if fd.incremental:
        est.best_loss_ = min(est.best_loss_, est.loss_)
    if fd.early:
        est.best_loss_ = None
        if fd.best["params"] is not None:
            est.net_.params[...] = fd.best["params"]
    if not fd.incremental and ran_out:
        # scikit-learn's sentence first, so that filters on "Stochastic Optimizer" catch it
        head = "Stochastic Optimizer" if est.solver != "gd" else "Gradient Descent"
        warn(f"{head}: Maximum iterations ({est.max_iter}) reached and the optimization hasn't "
             f"converged yet. {type(est).__name__}(solver={est.solver!r}): the budget of "
             f"max_iter={est.max_iter} {'iterations' if est.solver == 'gd' else 'epochs'} ran out "
             f"(||grad E|| = {grad_norm:.3g}); raise max_iter or check the step size", ConvergenceWarning)
