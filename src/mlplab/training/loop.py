"""The training loop, as the lecture writes it.

    for k = 0, 1, …:
        record E(w^k), ∇E(w^k) when due; test ‖∇E(w^k)‖ ≤ tol
        stop when a rule or a budget says so
        sample B_k; g^k = ∇E_B(w^k) by backpropagation; d^k and α_k (line search or γ_k)
        w^{k+1} = w^k + α_k d^k

:meth:`Run.loop` is that loop, in one function with those sections. The counters (k, cost,
samples seen, forward passes) advance in one place, :meth:`Run.take_step`, from what the step
kernel returns. The parts are named objects: the sampler (:mod:`.sampler`), the step kernel
(:mod:`mlplab.fast.kernels`: general, fused mini-batch, compiled one-sample — they compute and return),
the monitor (:mod:`.monitor`: exact records or block estimates), the budget (:mod:`.budget`)
and the checkpoint state (:meth:`Run.checkpoint`). ``loop(max_steps=n)`` pauses after n steps
and continues exactly (the playground, the estimators' epochs).
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np

from mlplab.fast import blas
from mlplab.fast import kernels
from mlplab.fast.kernels import StepNotFinite
from mlplab.training.records import Checkpoint, DivergenceError, History, TrainResult

_E_FLOOR = 1e-6  # per sample: the blow-up test's scale is at least this (a start with E(w^0) ≈ 0,
# e.g. a trained model trained on, must not call ordinary SGD noise a divergence)


class Run:
    """One call of :func:`mlplab.train`: the iterate w^k, the counters, and the parts."""

    def __init__(self, problem, optimizer, sampler, rng, budget, monitor, *, state, history, eval_every,
                 tol, rtol, callback, checkpoint_every, on_checkpoint, diverge_factor, counters=None,
                 records=True):
        self.problem, self.optimizer, self.sampler, self.rng = problem, optimizer, sampler, rng
        self.budget, self.monitor, self.state = budget, monitor, state
        self.eval_every, self.tol, self.rtol, self.callback = eval_every, tol, rtol, callback
        self.checkpoint_every, self.on_checkpoint, self.diverge_factor = checkpoint_every, on_checkpoint, diverge_factor
        history = History() if history is None else history
        self.w, self.history = problem.net.params, history
        self.g = np.empty_like(self.w)  # ∇E(w^k) or ∇E_B(w^k)
        self.last_good = self.w.copy()  # the last recorded w (its E was finite and not blown up)
        self.k = self.cost = self.seen = self.fwd = 0
        elapsed0 = 0.0
        if counters is not None:
            self.k, self.cost, self.seen, self.fwd, elapsed0 = counters
        self.k_start = self.k
        self.stop_reason = None
        self.recorded_k = self.evaluated_k = -1
        self.E_k, self.gnorm_k = math.nan, math.nan
        self.gnorm0 = history.grad_norm[0] if len(history) else math.nan  # ‖∇E(w^0)‖, rtol's scale
        self.E0 = history.loss[0] if len(history) else math.nan  # E(w^0), the blow-up test's scale
        self.E_floor = _E_FLOOR * (problem.S if problem.reduction == "sum" else 1)
        self.last_step = math.nan  # α/γ of the step that produced w^k (for callbacks)
        self.last_unbounded = False  # the step into w^k found E still decreasing at alpha_max
        self.last_info = None  # the StepInfo of the general kernel's latest step (line-search details)
        self.done = False  # the run has stopped (a stop rule or a budget) and has its final record
        self.pause_at = None  # loop(max_steps): the k at which the loop returns, to be continued
        self.progress_bar = None
        self.records = records  # False: no records, no gradient test, no callback (the caller keeps its own)
        exact = getattr(history, "exact", None)
        if not isinstance(exact, list) or len(exact) != len(history):  # (histories of older versions
            history.exact = [True] * len(history)  # lack the column: every record was exact)
        if monitor.estimates and monitor.mode != "batch" and budget.max_steps is not None and \
                (self.k // eval_every + 1) * eval_every >= budget.max_steps:
            monitor.drop_estimates()  # no record between here and the end (which is exact): nothing to sum
        self.kernel = kernels.choose(self)  # (may import Numba: a one-time cost not charged to time_limit)
        self.t0 = time.perf_counter() - elapsed0

    # --- the loop -------------------------------------------------------------------------

    def loop(self, max_steps: int | None = None) -> bool:
        """Iterate until a stop rule or a budget ends the run (then the final record; True), or —
        with ``max_steps`` — after that many more steps (False: ``loop`` again continues the run
        exactly, the playground's way of stepping a run a few iterations at a time)."""
        self.pause_at = None if max_steps is None else self.k + max_steps
        if self.done or max_steps == 0:
            return self.done
        with blas.thread_policy():  # small products on one BLAS thread (robust when cores are busy)
            return self._loop()

    def _loop(self) -> bool:
        full = self.kernel.full_gradient  # GD: E(w^k), ∇E(w^k) on all S samples at every iterate
        while True:
            self.checkpoint()
            # record E(w^k), ∇E(w^k) when due; the gradient test ‖∇E(w^k)‖ ≤ tol; the callback
            E_k = None
            if self.records:
                E_k = self.gradient_at_w() if full else None
                if full or self.k % self.eval_every == 0:
                    self.observe(E_k)
            # the stop rules and the budgets
            if self.stop_reason is None:
                self.stop_reason = self.budget.stop_reason(self.k, self.cost, self.fwd, self.t0)
            if self.stop_reason is not None:
                break
            # sample B_k; the gradient on B_k; d^k and α_k (line search or γ_k); w^{k+1} = w^k + α_k d^k
            if full and E_k is None:
                E_k = self.gradient_at_w()
            self.take_step(E_k)
            if self.stop_reason is not None:  # (a failed line search)
                break
            if self.pause_at is not None and self.k >= self.pause_at and \
                    self.budget.stop_reason(self.k, self.cost, self.fwd, self.t0) is None:
                return False  # paused at w^k: the next loop() records it, as an unpaused loop would
        if self.records:
            self.final_record()
        self.done = True
        return True

    def result(self) -> TrainResult:
        """The run so far as a :class:`TrainResult` (w is copied)."""
        return TrainResult(params=self.w.copy(), stop_reason=self.stop_reason, n_iter=self.k,
                           epochs=self.seen / self.problem.S, loss=float(self.E_k), grad_norm=self.gnorm_k,
                           cost=self.cost, history=self.history, elapsed=time.perf_counter() - self.t0,
                           optimizer=self.optimizer, opt_state=self.state, tol=self.tol, rtol=self.rtol,
                           grad_norm0=self.gnorm0, forward_evals=self.fwd)

    def take_step(self, E_k) -> None:
        """The kernel's step(s) from w^k; the counters k, cost, seen and forward passes advance here."""
        kernel = self.kernel
        try:
            t = kernel.step(self.w, self.state, E_k, self.room() if kernel.takes_runs else 1)
        except StepNotFinite as exc:
            self.diverged(exc.what, keep_current=exc.keep_current)
        self.state, n = t.state, t.samples
        self.cost += n
        self.seen += n
        self.fwd += t.forward
        self.monitor.step_work += n
        info = t.info
        if info is None:
            self.note_step(t.first, 0, False, False)
        else:
            self.note_step(info.step_size, info.n_evals + info.n_slope_evals, info.capped, info.unbounded)
            self.last_info = info
        self.k += t.steps
        self.last_step = t.last
        if t.failed:
            self.stop_reason = "line_search_failed"

    def room(self) -> int:
        """Steps a run of one-sample steps may take from w^k: up to the next record, checkpoint,
        pause or budget."""
        k = self.k
        limits = [self.eval_every - k % self.eval_every]
        left = self.budget.steps_left(k, self.cost, self.fwd)
        if left is not None:
            limits.append(left)
        if self.checkpoint_every is not None:
            limits.append(self.checkpoint_every - k % self.checkpoint_every)
        if self.pause_at is not None:
            limits.append(self.pause_at - k)
        return min(limits)

    # --- records and the stopping tests -------------------------------------------------

    def gradient_at_w(self) -> float:
        """E(w^k), ∇E(w^k) on all samples into self.g (GD's step uses them)."""
        E, _ = self.problem.value_and_grad(self.w, None, out=self.g)
        self.evaluated_k = self.k
        if not math.isfinite(E):
            self.diverged(f"E(w) = {E}", keep_current=False)
        return E

    def observe(self, E_k) -> None:
        """At a record (or GD's every iterate): the record, the callback and the gradient test.

        The tests (blow-up, ‖∇E‖ ≤ tol) use E, ∇E exact or the block estimate (see :mod:`.monitor`);
        the record shows the exact values where "auto" also evaluated them."""
        monitor, is_record = self.monitor, self.k % self.eval_every == 0
        exact = True
        if self.kernel.full_gradient:  # GD: exact at every iterate
            E, g = E_k, self.g
        elif monitor.has_blocks():  # "auto" and "batch": the blocks since the last record
            E, g = monitor.estimate(self.g)
            exact = False
        else:  # the first record, "epoch", or a record with no steps since the last one
            E, g = monitor.exact(self.w, self.g)
            self.evaluated_k = self.k
            if not math.isfinite(E):
                self.diverged(f"E(w) = {E}", keep_current=False)
        gnorm = math.sqrt(blas.dot(g, g))
        if math.isnan(self.gnorm0):
            self.gnorm0 = gnorm
        self.E_k, self.gnorm_k = E, gnorm
        if is_record:
            self.check_blow_up(E)
            shown = (E, g, gnorm, exact)
            if not exact and monitor.exact_is_due():  # "auto": the exact values too, within their work share
                E_x, g_x = monitor.exact(self.w, np.empty_like(self.g), between=True)
                if math.isfinite(E_x):  # (only shown: the tests keep the estimate)
                    shown = (E_x, g_x, math.sqrt(blas.dot(g_x, g_x)), True)
            self.record(*shown)
            self.E_k, self.gnorm_k = shown[0], shown[2]
            if self.callback is not None and self.callback(self.last_record()):
                self.stop_reason = "callback"
        if self.stop_reason is None and _small_gradient(gnorm, self.tol, self.rtol, self.gnorm0):
            self.stop_reason = "unbounded" if self.last_unbounded else "converged"

    def check_blow_up(self, E: float) -> None:
        if math.isnan(self.E0):
            self.E0 = E
        elif self.diverge_factor is not None and E > self.diverge_factor * max(self.E0, self.E_floor):
            self.diverged(f"E(w) = {E:.6g} grew above diverge_factor = {self.diverge_factor:g} times "
                          f"E(w^0) = {self.E0:.6g}", keep_current=False)

    def record(self, E: float, g: np.ndarray, gnorm: float, exact: bool) -> None:
        """Append w^k's record to the history (the step columns are filled by the step from w^k)."""
        h, w = self.history, self.w
        h.k.append(self.k)
        h.epoch.append(self.seen / self.problem.S)
        h.loss.append(E)
        h.grad_norm.append(gnorm)
        h.layer_grad_norms.append([math.sqrt(blas.dot(g[s.W], g[s.W])) for s in self.problem.net.slices])
        h.step_size.append(math.nan)
        h.ls_evals.append(0)
        h.capped.append(False)
        h.unbounded.append(False)
        h.cost.append(self.cost)
        h.forward_evals.append(self.fwd)
        h.time.append(time.perf_counter() - self.t0)
        h.exact.append(exact)
        self.last_good[...] = w
        self.recorded_k = self.k

    def note_step(self, step_size: float, ls_evals: int, capped: bool, unbounded: bool) -> None:
        """The step from w^k: into w^k's record when it has one."""
        if self.recorded_k == self.k:
            h = self.history
            h.step_size[-1], h.ls_evals[-1], h.capped[-1], h.unbounded[-1] = step_size, ls_evals, capped, unbounded
        self.last_step, self.last_unbounded = step_size, unbounded

    def final_record(self) -> None:
        """The last record describes the final w: exact, except with monitor="batch" after steps."""
        monitor = self.monitor
        if self.recorded_k != self.k:
            if monitor.mode == "batch" and monitor.has_blocks():
                E, g = monitor.estimate(self.g)
                exact = False
            elif self.evaluated_k == self.k:  # GD between records has E, ∇E at this w already
                E, g, exact = self.E_k, self.g, True
            else:
                E, g = monitor.exact(self.w, self.g)
                exact = True
                if not math.isfinite(E):
                    self.diverged(f"E(w) = {E}", keep_current=False)
            self.E_k, self.gnorm_k = E, math.sqrt(blas.dot(g, g))
            self.record(E, g, self.gnorm_k, exact)
            if self.callback is not None:
                self.callback(self.last_record())  # the final w, too (return value ignored)
        elif monitor.mode == "auto" and not self.history.exact[-1]:  # stopped at an estimated record
            E, g = monitor.exact(self.w, self.g)
            if math.isfinite(E):
                h = self.history
                self.E_k, self.gnorm_k = E, math.sqrt(blas.dot(g, g))
                h.loss[-1], h.grad_norm[-1], h.exact[-1] = E, self.gnorm_k, True
                h.layer_grad_norms[-1] = [math.sqrt(blas.dot(g[s.W], g[s.W])) for s in self.problem.net.slices]

    def last_record(self) -> dict:
        h = self.history
        record = {name: getattr(h, name)[-1] for name in
                  ("k", "epoch", "loss", "grad_norm", "layer_grad_norms", "cost", "time", "exact")}
        record["last_step_size"] = self.last_step
        return record

    def diverged(self, what: str, keep_current: bool = True):
        """Raise DivergenceError with the last good weights, also left in the network: w^k itself
        when its loss was finite (the step was not), else the last recorded w."""
        w = self.w
        good = w.copy() if keep_current and np.all(np.isfinite(w)) else self.last_good.copy()
        w[...] = good
        raise DivergenceError(
            f"training diverged at iteration {self.k}: {what}. The last good weights are kept in the "
            "network and in this error's .params; try a smaller step size or schedule constant",
            good, self.k, self.history)

    # --- checkpoints -----------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Hand ``on_checkpoint`` the state at the start of iteration k, every ``checkpoint_every``."""
        every = self.checkpoint_every
        if every is None or self.k <= self.k_start or self.k % every:
            return
        sampler = self.sampler
        self.on_checkpoint(Checkpoint(
            params=self.w.copy(), opt_state=self.state, k=self.k, cost=self.cost, seen=self.seen,
            forward_evals=self.fwd, elapsed=time.perf_counter() - self.t0,
            rng_state=copy.deepcopy(self.rng.bit_generator.state), sampler_pos=sampler.pos,
            sampler_order=None if sampler.order is None else sampler.order.copy(),
            history=copy.deepcopy(self.history), monitor_state=self.monitor.state()))


def _small_gradient(gnorm: float, tol, rtol, gnorm0: float) -> bool:
    """The lecture's stop ‖∇E(w^k)‖ = 0, with a tolerance: ≤ tol, or ≤ rtol·‖∇E(w^0)‖."""
    return bool((tol and gnorm <= tol) or (rtol and gnorm <= rtol * gnorm0))
