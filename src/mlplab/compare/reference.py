"""E* for E − E* when the infimum is unknown, the fitted rates, and holding a run to the budget."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from mlplab import analysis
from mlplab.compare.runs import Run

__all__ = ["E_MARGIN", "NONNEGATIVE_LOSSES", "reference_below_best", "fit_run_rate", "hold_to_budget",
           "History_slice"]

E_MARGIN = 1e-3  # Δ is at least this fraction of E(w^0) − E_best


NONNEGATIVE_LOSSES = frozenset({"squared", "absolute", "binary_cross_entropy", "cross_entropy", "perceptron"})
"""Losses with e ≥ 0 for every sample (and L2 ≥ 0), so E ≥ 0 and E* is never below 0."""


def reference_below_best(losses, lower: float | None = None) -> tuple[float, str]:
    """E* for E − E* when the infimum is unknown: E_best − Δ (never below ``lower``), with its note.

    E_best is the smallest E(w^k) any run recorded; taking E* = E_best would make
    E − E* plunge to 0 at that record (a fake acceleration at a run's own best
    point). Δ = max(d, 10⁻³·(E(w^0) − E_best)), where d is the decrease of E into
    that record, so E − E* ≥ Δ > 0 everywhere and falls at most 2× at that record
    because of E*.

    Args:
        losses: per run, its recorded E(w^k) (1-D, the first is E(w^0)).
        lower: a known lower bound of E (0 for the losses in :data:`NONNEGATIVE_LOSSES`);
            when E_best − Δ falls below it, E* is that bound.
    """
    runs = [np.asarray(h, dtype=float) for h in losses]
    runs = [h[np.isfinite(h)] for h in runs]
    runs = [h for h in runs if h.size]
    if not runs:
        return 0.0, "E* = 0 (no finite E recorded)"
    best_run = min(runs, key=lambda h: float(h.min()))
    i = int(np.argmin(best_run))
    E_best = float(best_run[i])
    d = float(best_run[i - 1] - E_best) if i > 0 else 0.0
    spread = max(float(h[0]) for h in runs) - E_best
    delta = max(d, E_MARGIN * spread)
    if not delta > 0:  # one point, or E never moved: a margin relative to E itself
        delta = E_MARGIN * abs(E_best) if E_best != 0 else 1e-12
    E_ref = E_best - delta
    if lower is not None and E_ref < lower:
        return float(lower), (f"E* = {lower:g}, E's lower bound (every e^s ≥ 0); E_best − Δ = {E_ref:.6g} would be "
                              f"below it (E_best = {E_best:.6g}, the smallest E(w^k) recorded by any run)")
    note = (f"E* = E_best − Δ = {E_ref:.6g}: E_best = {E_best:.6g}, the smallest E(w^k) recorded by any run, "
            f"less a margin Δ = {delta:.3g} = max(the decrease of E into that record, "
            f"{E_MARGIN:g}·(E(w^0) − E_best)), so E − E* stays ≥ Δ > 0")
    return E_ref, note


def fit_run_rate(run: Run, E_ref: float, window=None) -> None:
    """Set ``run.rate`` (and ``run.rate_note`` when no fit is made) from E − E_ref over k."""
    k = np.asarray(run.history.k, dtype=float)
    err = np.asarray(run.history.loss, dtype=float) - E_ref
    try:
        run.rate = analysis.fit_rate(k, err, window=window)
    except ValueError as exc:
        run.rate = None
        run.rate_note = (f"n/a (fewer than {analysis.rates.MIN_POINTS} points)" if "at least" in str(exc)
                         else f"n/a ({exc})")


def hold_to_budget(result, trajectory, budget):
    """(result, trajectory, note): the run cut back to the records whose cost is within ``budget``.

    ``train`` stops at the first record whose cost reaches the budget, so a method
    with a line search (GD: a gradient plus the line search's forward passes per
    step) can overshoot it by up to one step. Here such a step is cut off at the
    budget and not taken: the run ends at its last record within the budget, whose
    w, E and ‖∇E‖ are the result, and the cost is that record's. ``note`` says what
    was cut ("" when nothing was).
    """
    h = result.history
    ge = np.asarray(h.grad_equivalents, dtype=float)
    if budget is None or not len(ge) or ge[-1] <= budget * (1 + 1e-12):
        return result, trajectory, ""
    keep = max(1, int(np.searchsorted(ge, budget * (1 + 1e-12), side="right")))
    over = float(ge[keep]) if keep < len(ge) else float(ge[-1])
    cut = History_slice(h, keep)
    cut.step_size[-1] = math.nan  # the step from the last kept record was not taken
    cut.ls_evals[-1] = 0
    traj = np.asarray(trajectory)[:keep] if len(trajectory) >= keep else np.asarray(trajectory)
    params = np.array(traj[-1] if len(traj) == keep else result.params, copy=True)
    k_last = int(cut.k[-1])
    note = (f"the step from w^{k_last} would have brought the cost to {over:.6g} > the budget {budget:g}: "
            f"its line search was cut off at the budget and the step not taken (the run ends at w^{k_last})")
    res = replace(result, params=params, loss=float(cut.loss[-1]), grad_norm=float(cut.grad_norm[-1]),
                  n_iter=k_last, cost=int(cut.cost[-1]), forward_evals=int(cut.forward_evals[-1])
                  if cut.forward_evals else 0, stop_reason="max_cost", history=cut,
                  epochs=float(cut.epoch[-1]))
    return res, traj, note


def History_slice(h, n: int):
    """A copy of history ``h`` with its first ``n`` records."""
    out = type(h)()
    for name in h.__dataclass_fields__:
        col = getattr(h, name)
        setattr(out, name, list(col[:n]) if len(col) >= n else list(col))
    return out
