"""What a record of E(w^k) and ∇E(w^k) holds, and what it costs.

Every record is either *exact* (E and ∇E on all S samples, an extra pass over the
data that no step uses and ``cost`` does not count) or a free *block estimate*
from the steps taken since the previous record: the block losses and block
gradients those steps computed anyway, scaled to the whole data set (as
scikit-learn's loss curve),

    "sum":  Ê = (S / n) Σ_k E_{B_k},          ∇Ê = (S / n) Σ_k ∇E_{B_k}
    "mean": Ê = Σ_k |B_k| E_{B_k} / n,        ∇Ê = Σ_k |B_k| ∇E_{B_k} / n

(n = Σ_k |B_k|; each E_B carries |B|/S of the regulariser, so the scaled sum
carries all of it). ``history.exact`` says which is which.

Modes (``train(..., monitor=...)``), for the stochastic methods — GD's records
are always exact (its step needs E and ∇E at every w^k anyway):

* ``"auto"`` (default): exact at the first and the last iterate; between them the
  block estimate, plus exact evaluations on a cadence that keeps their work at
  most :data:`EXACT_SHARE` of the steps' work so far (the first and last
  evaluations not counted: they are there in every run). Work is counted, not
  timed: the steps' sample gradients (``cost``) against S + :data:`EXACT_OVERHEAD`
  per exact pass (a pass over all S samples, plus its fixed call overhead in
  sample-gradient units), so the whole history — which records are exact
  included — is the same for a seed on any machine under any load. The stopping
  tests (tol, rtol, diverge_factor) between the ends use the estimate.
* ``"epoch"`` (alias ``"full"``, mlplab < 0.3's default): every record exact, the
  tests on the exact values — one extra pass over the data per record.
* ``"batch"``: every record after the first is the block estimate, the last one
  too (nothing but the steps' own work).
"""

from __future__ import annotations

import numpy as np

from mlplab.fast import blas

MODES = ("auto", "epoch", "full", "batch")
EXACT_SHARE = 0.10  # "auto": exact evaluations between the ends take at most this share of the steps' work
EXACT_OVERHEAD = 2048  # an exact pass's fixed cost (NumPy calls), in sample gradients of the compiled kernel
RECORD_WORK = 8192  # a record (≈ 30 µs of Python) waits for at least this many sample·parameter products …
MIN_RECORDS = 100  # … unless the step budget would then give fewer than this many records


def default_eval_every(sampler, d: int, max_steps: int | None) -> int:
    """Steps between records when ``eval_every`` is not given: 1 for GD; whole epochs otherwise.

    One epoch, unless the steps are so cheap that a record per epoch would cost more than
    the steps (tiny networks on tiny data: 4 one-sample steps of the slides' 2-2-2-1 net take
    ~2 µs in the compiled kernel, a record ~30 µs): then as many epochs as hold RECORD_WORK
    sample·parameter products (|B|·d per step), but no more than leave MIN_RECORDS records
    in a step budget. Deterministic (no clock), so the records — and the stopping tests made
    at them — are the same on every machine.
    """
    if sampler.b is None:
        return 1
    per = sampler.steps_per_epoch
    epochs = max(1, -(-RECORD_WORK // (sampler.b * d * per)))
    if max_steps is not None:
        epochs = max(1, min(epochs, max_steps // (MIN_RECORDS * per)))
    return epochs * per


class Monitor:
    """Block sums since the last record and the exact-evaluation cadence."""

    def __init__(self, mode: str, problem, full: bool, state: dict | None = None):
        self.mode = "epoch" if mode == "full" else mode
        self.problem = problem
        self.S, self.reduction = problem.S, problem.reduction
        # the block sums are kept for every stochastic run outside "epoch"
        self.estimates = not full and self.mode != "epoch"
        self.acc_E, self.acc_n = 0.0, 0
        self.acc_g = np.zeros(problem.d, dtype=problem.net.dtype) if self.estimates else None
        # the compiled one-sample kernel adds [E_j, ∇E_j] of its steps here, in float64, step by
        # step across its calls (so that the sums do not depend on how the steps were chunked)
        self.pending = np.zeros(problem.d + 1) if self.estimates else None
        if state is not None and self.estimates:  # from a checkpoint
            self.acc_E, self.acc_n = float(state["acc_E"]), int(state["acc_n"])
            self.acc_g[...] = state["acc_g"]
            if state.get("pending") is not None:
                self.pending[...] = state["pending"]
        self.step_work = 0  # sample gradients the steps computed (their cost)
        self.exact_work = 0  # the exact evaluations between the ends, in the same units
        if state is not None and self.estimates:
            self.step_work = int(state.get("step_work", 0))
            self.exact_work = int(state.get("exact_work", 0))

    def drop_estimates(self) -> None:
        """No record will use the block estimate (the run's only records are its exact ends): the
        steps skip the sums (one pass over the d parameters per step less)."""
        self.estimates = False
        self.acc_E, self.acc_n = 0.0, 0
        self.pending = None

    # --- block sums ---------------------------------------------------------------

    def add(self, E_B: float, n_B: int, g: np.ndarray) -> None:
        """Add one block's E_B and ∇E_B (before any averaging) to the sums."""
        if not self.estimates:
            return
        weight = n_B if self.reduction == "mean" else 1
        self.acc_E += E_B * weight
        if weight == 1:
            self.acc_g += g
        else:  # += |B| ∇E_B by BLAS axpy: one pass, no temporary
            blas.axpy(self.acc_g, float(weight), g)
        self.acc_n += n_B

    def has_blocks(self) -> bool:
        return self.estimates and self.acc_n > 0

    def estimate(self, out: np.ndarray) -> tuple[float, np.ndarray]:
        """(Ê, ∇Ê) from the sums (written into ``out``); the sums start again."""
        if self.pending.any():  # the compiled kernel's steps
            self.acc_E += float(self.pending[0])
            self.acc_g += self.pending[1:].astype(self.acc_g.dtype)
            self.pending[...] = 0
        scale = self.S / self.acc_n if self.reduction == "sum" else 1.0 / self.acc_n
        np.multiply(self.acc_g, self.acc_g.dtype.type(scale), out=out)
        E = float(self.acc_E * scale)
        self.acc_E, self.acc_n = 0.0, 0
        self.acc_g[...] = 0
        return E, out

    def state(self) -> dict | None:
        """The sums, for a checkpoint (None when nothing is summed)."""
        if not self.estimates:
            return None
        return {"acc_E": self.acc_E, "acc_n": self.acc_n, "acc_g": self.acc_g.copy(),
                "pending": self.pending.copy(), "step_work": self.step_work, "exact_work": self.exact_work}

    # --- exact evaluations --------------------------------------------------------

    def exact(self, w: np.ndarray, out: np.ndarray, between: bool = False) -> tuple[float, np.ndarray]:
        """E(w), ∇E(w) on all samples (``between``: counted against the share)."""
        E, g = self.problem.value_and_grad(w, None, out=out)
        if between:
            self.exact_work += self.S + EXACT_OVERHEAD
        return E, g

    def exact_is_due(self) -> bool:
        """"auto": one more exact evaluation keeps their work within EXACT_SHARE of the steps'."""
        return (self.mode == "auto"
                and self.exact_work + self.S + EXACT_OVERHEAD <= EXACT_SHARE * self.step_work)
