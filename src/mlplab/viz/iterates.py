"""Which records of a run are drawn, and E − E* on the curves.

* :func:`thin_indices`: the records drawn — log-spaced over the run plus every
  record of its last 5 %, so a 100,000-step run draws a few thousand points.
* :func:`snapshot_indices`: about 30 log-spaced iterates per run, aligned on
  the cost axis, for the report's iteration slider (:func:`snapshots` keeps them
  on the comparison, computed once per page).
* :func:`gap_split`: E − E* split where E* is the runs' own best E.

``comp`` is a :class:`mlplab.compare.Comparison` throughout.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["N_SNAPSHOTS", "THIN_ABOVE", "N_LOG", "TAIL", "thin_indices", "snapshot_indices", "snapshots",
           "longest_run", "step_symbol", "step_label", "SET_BY_REFERENCE", "reference_margin", "gap_split"]

N_SNAPSHOTS = 30  # iterates per run the report's slider steps through

THIN_ABOVE = 800  # runs with more records than this are thinned for drawing
N_LOG = 400  # log-spaced records kept
TAIL = 0.05  # ... plus every record of the last 5 %


def thin_indices(n: int, n_log: int = N_LOG, tail: float = TAIL, keep_all: int = THIN_ABOVE) -> np.ndarray:
    """Indices of the records of an n-record run that are drawn.

    Up to ``keep_all`` records: all. Beyond: about ``n_log`` indices log-spaced over
    1…n (dense at the start, where E changes fastest on a log axis), and every
    record of the last ``tail`` fraction (where the runs are compared), the first
    and the last always included. Sorted and unique.
    """
    if n <= keep_all:
        return np.arange(n)
    logs = np.unique(np.round(np.geomspace(1, n, n_log)).astype(int) - 1)
    last = np.arange(int(math.floor(n * (1 - tail))), n)
    return np.unique(np.concatenate([[0], logs, last, [n - 1]]))


def snapshot_indices(comp, m: int = N_SNAPSHOTS) -> tuple[list[np.ndarray], list[str], str]:
    """(per run, m record indices; m slider labels; the axis they are aligned on).

    The m positions are log-spaced on the cost axis (sample-gradient equivalents)
    from 0 to the largest cost any run reached; at each, every run shows its last
    record at or below that cost — all runs having spent the same. Runs that
    record no cost (a saved history without it) are aligned on k instead.
    """
    ges = [np.asarray(r.history.grad_equivalents, dtype=float) for r in comp.runs]
    on = "cost" if max((g[-1] for g in ges if g.size), default=0.0) > 0 else "k"
    axes = ges if on == "cost" else [np.asarray(r.history.k, dtype=float) for r in comp.runs]
    top = max((a[-1] for a in axes if a.size), default=0.0)
    firsts = [a[a > 0][0] for a in axes if np.any(a > 0)]
    low = min(firsts) if firsts else 1.0
    if top <= 0:
        targets = np.zeros(m)
    else:
        low = min(max(low, top * 1e-6), top)
        targets = np.concatenate([[0.0], np.geomspace(low, top, m - 1)]) if m > 1 else np.array([top])
    out = []
    for a in axes:
        idx = np.searchsorted(a, targets * (1 + 1e-12), side="right") - 1
        out.append(np.clip(idx, 0, max(len(a) - 1, 0)))
    word = "cost" if on == "cost" else "k"
    labels = [f"{word} ≤ {t:,.4g}" if j else f"start ({word} = 0)" for j, t in enumerate(targets)]
    return out, labels, on



def snapshots(comp):
    """:func:`snapshot_indices` of ``comp``, computed once and kept on it (every linked figure shares them)."""
    if not hasattr(comp, "_snapshots"):
        comp._snapshots = snapshot_indices(comp)
    return comp._snapshots


def longest_run(comp) -> int:
    """Index of the run with the most records."""
    return int(np.argmax([len(r.history) for r in comp.runs]))


def step_symbol(run) -> str:
    """'α' for a step found by a line search (α_k), 'γ' for a schedule's or a constant step (γ_k)."""
    return "α" if getattr(run.optimizer, "uses_line_search", False) else "γ"


def step_label(run) -> str:
    """The step size's symbol as the figures write it: 'α^k' (line search) or 'γ_k' (schedule)."""
    return "α^k" if step_symbol(run) == "α" else "γ_k"


# --- E − E* where E* is the runs' own best E --------------------------------------------------------

SET_BY_REFERENCE = 10.0  # E − E* below this many Δ = E_best − E* is set by the choice of E*, not by the run


def reference_margin(comp) -> float | None:
    """Δ = E_best − E* when E* was taken from the runs themselves (E_best − Δ, :mod:`mlplab.compare`),
    else None (E* given or a known infimum: every E − E* is a true gap)."""
    if not str(comp.E_ref_note).startswith("E* = E_best"):
        return None
    best = [float(np.nanmin(np.asarray(r.history.loss, dtype=float))) for r in comp.runs if len(r.history)]
    best = [b for b in best if math.isfinite(b)]
    if not best:
        return None
    delta = min(best) - comp.E_ref
    return delta if delta > 0 else None


def gap_split(comp, err) -> tuple[np.ndarray, np.ndarray]:
    """(measured, set_by_reference): E − E* split into the records where it measures the run's
    progress and those within :data:`SET_BY_REFERENCE`·Δ of E* taken from the runs' own best E,
    where the curve would plunge only because E* sits just below the run's own end (NaN elsewhere)."""
    err = np.asarray(err, dtype=float)
    delta = reference_margin(comp)
    if delta is None:
        return err, np.full_like(err, np.nan)
    low = err < SET_BY_REFERENCE * delta
    return np.where(low, np.nan, err), np.where(low, err, np.nan)

