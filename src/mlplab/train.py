"""The training loop — the single loop every front end goes through.

At each iteration k it (1) evaluates E(w^k) and ∇E(w^k) on all samples when
this iteration is recorded (GD needs them anyway), (2) checks the stopping
rules, (3) draws j_k or B_k as the optimizer asks, (4) computes the gradient on
those samples by backpropagation, (5) asks the optimizer for the step and
applies it: w^{k+1} = w^k + α_k d^k.

Stopping rules, in order: ‖∇E(w^k)‖₂ ≤ tol or ‖∇E(w^k)‖₂ ≤ rtol·‖∇E(w^0)‖₂
(the lecture's criterion ‖∇E(w^{k+1})‖₂ = 0, with an absolute or a relative
tolerance; checked at recorded iterations), iteration / epoch / cost budget,
wall-clock budget, a callback asking to stop, and a failed line search (no
decrease possible). When the gradient test passes right after a step along
which E was still decreasing at the line search's cap (``unbounded``), the run
stops as "unbounded", not "converged": ∇E vanished because w ran off towards
‖w‖ → ∞ (the toy problem's infimum), not at a stationary point. A non-finite
loss or step raises :class:`DivergenceError`, carrying the last finite weights,
which are also left in the network; so does a finite blow-up, E(w^k) (at a
recorded iterate: exact, or the ``monitor="batch"`` estimate) above
``diverge_factor`` · max(E(w^0), 1e-6 per sample) — GD with too large a constant step
can run E up to 1e305 without ever overflowing.

Cost axis: ``history.cost`` counts sample-gradient evaluations — GD costs S per
step, SGD 1, mini-batch |B_k|. Line searches evaluate E (a forward pass) and its
slope φ′ (a forward-mode pass), not gradients: ``history.forward_evals`` counts
those sample forward passes separately (φ: 1 per sample, (φ, φ′): 2).
``history.grad_equivalents`` = cost + forward_evals / 3 puts both on one axis
(a sample gradient = a forward and a backward pass ≈ 3 forward passes); figures
and the ``max_cost`` budget use it. (Before mlplab 0.2, ``cost`` itself counted
every line-search evaluation of E as one sample gradient per sample.)
Evaluations made only to record the history or test the stopping rule (full E
and ∇E at w^k that no step uses, e.g. at the final w or every ``eval_every``
steps of a stochastic method) are not counted, so ``result.cost ==
history.cost[-1]``.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np

from mlplab import _blas
from mlplab._checks import check_int, check_real, make_rng
from mlplab.objective import Problem
from mlplab.optim.optimizers import GD, Optimizer, OptState, _Scheduled


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or step, or E grew by more than ``diverge_factor``.

    Attributes:
        params: the last finite parameter vector w (also written back into the net).
        k: the iteration at which it happened.
        history: the history recorded so far.
    """

    def __init__(self, message, params, k, history):
        super().__init__(message)
        self.params, self.k, self.history = params, k, history


@dataclass
class History:
    """Per recorded iteration (arrays of equal length; see :func:`train`).

    Attributes:
        k: iteration index.
        epoch: samples seen / S.
        loss: E(w^k) on all samples.
        grad_norm: ‖∇E(w^k)‖₂.
        layer_grad_norms: (n_records, L) array of ‖∇_{W^ℓ}E(w^k)‖_F.
        step_size: α_k / γ_k of the step taken from w^k (NaN for the last record).
        ls_evals: line-search evaluations of E in that step, with or without its slope
            (0 without a line search).
        capped: whether the step was capped at the exact line search's alpha_max.
        unbounded: whether E was still decreasing at alpha_max along that step's direction.
        cost: sample-gradient evaluations up to w^k.
        forward_evals: sample forward passes made by line searches up to w^k
            (φ: 1 per sample, (φ, φ′): 2).
        time: seconds since the start.

    ``grad_equivalents`` (a property) is the cost axis of the figures:
    cost + forward_evals / 3.
    """

    k: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    layer_grad_norms: list = field(default_factory=list)
    step_size: list = field(default_factory=list)
    ls_evals: list = field(default_factory=list)
    capped: list = field(default_factory=list)
    cost: list = field(default_factory=list)
    time: list = field(default_factory=list)
    forward_evals: list = field(default_factory=list)
    unbounded: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.k)

    @property
    def grad_equivalents(self) -> np.ndarray:
        """The cost axis in sample-gradient equivalents: cost + forward_evals / FORWARD_PER_GRADIENT."""
        fwd = self.forward_evals if len(self.forward_evals) == len(self.cost) else [0] * len(self.cost)
        return np.asarray(self.cost, dtype=float) + np.asarray(fwd, dtype=float) / FORWARD_PER_GRADIENT

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Every column as a NumPy array."""
        return {name: np.asarray(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes:
        params: copy of the final w (also in ``net.params``).
        stop_reason: "converged", "unbounded", "max_iter", "epochs", "max_cost",
            "time_limit", "callback" or "line_search_failed".
        n_iter: number of steps taken.
        epochs: samples seen / S.
        loss: E at the final w; grad_norm: ‖∇E‖₂ there.
        cost: sample-gradient evaluations (see the module docstring).
        history: :class:`History`.
        tol, rtol: the stopping tolerances used; grad_norm0: ‖∇E(w^0)‖₂, the scale of rtol.
        forward_evals: sample forward passes of line searches.
        elapsed: wall-clock seconds.
        optimizer: the optimizer used.
        opt_state: its final state; pass it back as ``train(..., opt_state=...)``
            to continue where this run stopped (schedule counter, momentum, Adam moments).
    """

    params: np.ndarray
    stop_reason: str
    n_iter: int
    epochs: float
    loss: float
    grad_norm: float
    cost: int
    history: History
    elapsed: float
    optimizer: Optimizer
    opt_state: OptState

    tol: float | None = None
    rtol: float | None = None
    grad_norm0: float = math.nan
    forward_evals: int = 0

    @property
    def converged(self) -> bool:
        return self.stop_reason == "converged"

    @property
    def grad_equivalents(self) -> float:
        """cost + forward_evals / 3 (see the module docstring)."""
        return self.cost + self.forward_evals / FORWARD_PER_GRADIENT


@dataclass
class Checkpoint:
    """Everything :func:`train` needs to continue a run bit-identically (``train(..., resume=ckpt)``).

    Taken at the start of iteration k, before w^k is recorded. Arrays are copies.
    See :func:`mlplab.io.save_checkpoint` / :func:`mlplab.io.load_checkpoint`.
    """

    params: np.ndarray  # w^k
    opt_state: OptState
    k: int
    cost: int
    seen: int  # samples used by steps so far
    elapsed: float  # seconds of training before this checkpoint (for time_limit)
    rng_state: dict  # the sampling generator's bit_generator.state
    sampler_pos: int
    sampler_order: np.ndarray | None
    history: History
    forward_evals: int = 0  # sample forward passes of line searches so far


class _Sampler:
    """Draws (j_k, 1) or (B_k, |B_k|) with B_k an index array or slice; (None, S) means all samples."""

    def __init__(self, S: int, batch_size: int | None, mode: str, rng: np.random.Generator):
        self.S, self.rng, self.mode = S, rng, mode
        self.b = None if batch_size is None or (batch_size >= S and mode != "uniform") else min(batch_size, S)
        self.pos = S  # position within the current epoch's order
        self.order = None

    @property
    def steps_per_epoch(self) -> int:
        return 1 if self.b is None else math.ceil(self.S / self.b)

    def steps_for(self, epochs: int) -> int:
        """Steps in ``epochs`` passes: whole epochs of blocks, or (uniform) ⌈epochs·S / b⌉ draws."""
        if self.b is not None and self.mode == "uniform":
            return math.ceil(epochs * self.S / self.b)
        return epochs * self.steps_per_epoch

    def _refill(self):
        """Start a new order where the current one is used up: a block of i.i.d. one-sample
        j_k ("uniform", drawn max(S, 16384) at a time; NumPy's stream does not depend on how
        draws are split into calls), or the next epoch (a fresh permutation for "shuffle")."""
        if self.mode == "uniform" and self.b == 1:
            if self.order is None or self.pos >= len(self.order):
                self.order, self.pos = self.rng.integers(0, self.S, size=max(self.S, _UNIFORM_DRAWS)), 0
        elif self.pos >= self.S:
            self.pos = 0
            if self.mode == "shuffle":
                self.order = self.rng.permutation(self.S)

    def peek(self, n: int) -> list[int]:
        """The next ≤ n indices j_k of one-sample sampling, without taking them (advance ``pos``
        by the number used): the same j_k as ``next()`` calls would give, up to the end of
        the current order (an epoch, or a block of uniform draws)."""
        self._refill()
        stop = min(self.pos + n, len(self.order) if self.mode == "uniform" else self.S)
        if self.mode == "cyclic":
            return list(range(self.pos, stop))
        return self.order[self.pos:stop].tolist()

    def next(self):
        if self.b is None:
            return None, self.S
        S, b = self.S, self.b
        if self.mode == "uniform" and b > 1:
            return np.sort(self.rng.choice(S, size=b, replace=False)), b
        self._refill()
        if self.mode == "uniform":
            self.pos += 1
            return int(self.order[self.pos - 1]), 1
        i, self.pos = self.pos, min(self.pos + b, S)
        n = self.pos - i
        if self.mode == "cyclic":
            return (i if b == 1 else slice(i, self.pos)), n
        return (int(self.order[i]) if b == 1 else self.order[i:self.pos]), n


FORWARD_PER_GRADIENT = 3  # a sample gradient = forward + backward ≈ 3 forward passes (the cost axis' rule)
_E_FLOOR = 1e-6  # per sample: the blow-up test's scale is at least this (a start with E(w^0) ≈ 0,
# e.g. a trained model trained on, must not call ordinary SGD noise a divergence)
_UNIFORM_DRAWS = 16384  # i.i.d. one-sample indices drawn at a time (at least S)
_CHUNK_SECONDS = 0.02  # one-sample SGD runs about this long between checks of the clock …
_CHUNK_STEPS = 16384  # … and at most this many steps


def train(net, X, Y, loss="squared", optimizer: Optimizer | None = None, *,
          max_iter: int | None = None, epochs: int | None = None, max_cost: int | None = None,
          tol: float | None = 1e-6, rtol: float | None = None,
          time_limit: float | None = None, eval_every: int | None = None, callback=None,
          seed=None, l2: float = 0.0, reduction: str = "sum", sample_weight=None,
          opt_state: OptState | None = None, monitor: str = "full",
          checkpoint_every: int | None = None, on_checkpoint=None,
          resume: Checkpoint | None = None, diverge_factor: float | None = 1e6) -> TrainResult:
    """Minimise E(w) = Σ_s e(y^s, MLP(x^s; w)) (+ regulariser) over w, in place.

    Args:
        net: the :class:`mlplab.MLP`; its ``params`` are updated in place.
        X: (S, N_0) inputs; Y: targets as the loss accepts them (:mod:`mlplab.losses`).
        loss: loss name (default "squared", the lecture's).
        optimizer: :class:`~mlplab.optim.GD` (default, exact line search),
            :class:`~mlplab.optim.SGD`, :class:`~mlplab.optim.MiniBatchSGD`,
            :class:`~mlplab.optim.Momentum`, :class:`~mlplab.optim.Adam`.
        max_iter: maximum number of steps k.
        max_cost: stop at the first iteration whose cost in sample-gradient
            equivalents (cost + forward_evals / 3, see above) has reached this; a
            step is never split, so a line-searched step may overshoot it.
        epochs: maximum number of passes over the data (GD: one per step).
            With neither max_iter nor epochs nor time_limit, 200 epochs.
        tol: stop when ‖∇E(w^k)‖₂ ≤ tol (None or 0 disables it).
        rtol: stop when ‖∇E(w^k)‖₂ ≤ rtol·‖∇E(w^0)‖₂ (None or 0 disables it), w^0
            the first iterate of the run (of the original run after ``resume``).
            Scale-free: with ``reduction="sum"`` ‖∇E‖ grows with S, so an absolute
            tol means different things on different data.
        time_limit: wall-clock budget in seconds.
        eval_every: record E, ‖∇E‖ (and test tol) every this many steps.
            Default: every step for GD, once per epoch for stochastic methods
            (whose record costs an extra pass over the data, not counted in cost).
        callback: called as ``callback(record)`` with a dict of the recorded
            values (k, epoch, loss, grad_norm, layer_grad_norms, cost, time)
            at every record, plus ``last_step_size``, the α/γ of the step that
            produced w^k (NaN at the start); returning a true value stops
            training. The final record is passed too (its return value is then ignored).
        seed: seed of the sampling RNG (j_k, B_k), or a ``np.random.Generator``
            (continues its stream). Same seed → bit-identical run.
        l2, reduction, sample_weight: the objective (see :class:`~mlplab.objective.Problem`).
        opt_state: optimizer state from an earlier ``TrainResult.opt_state`` to
            continue from (its k keeps counting, so schedules go on); the
            budgets and ``history`` count this call's steps only.
        monitor: what a record of a stochastic method holds. "full" (default):
            E(w^k) and ∇E(w^k) on all samples (an extra pass, not counted in
            cost). "batch": free estimates from the steps since the previous
            record — the mean of the block losses and of the block gradients,
            scaled to the whole data set (as scikit-learn's loss curve); the
            tol test then uses the estimate. The first record (k = 0) is
            always full. GD always records the exact values.
        checkpoint_every: call ``on_checkpoint(Checkpoint)`` at the start of
            every iteration k > 0 that is a multiple of this.
        on_checkpoint: receives a :class:`Checkpoint` snapshot (e.g. to save
            it with :func:`mlplab.io.save_checkpoint`).
        resume: a :class:`Checkpoint` of an earlier run with the same data,
            network architecture, optimizer and seed: training continues from it
            and ends bit-identical to the uninterrupted run; k, cost, history
            and the budgets continue from the checkpoint's values.
        diverge_factor: raise :class:`DivergenceError` when a recorded E(w^k)
            (exact, or the ``monitor="batch"`` estimate) exceeds
            ``diverge_factor`` · max(E(w^0), 1e-6·S) (1e-6 with ``reduction="mean"``:
            a start that already fits, E(w^0) ≈ 0, must not call ordinary noise a
            divergence), w^0 the first iterate of the run (of the original run
            after ``resume``). Default 1e6; None disables the test (inf/NaN
            still raise).

    Returns:
        :class:`TrainResult`.

    Raises:
        DivergenceError: the loss or a step became non-finite, or a recorded E(w^k)
            exceeded ``diverge_factor`` · max(E(w^0), 1e-6 per sample). Its ``params`` (also
            left in the network) are the last weights whose E was finite and
            below that bound.
    """
    optimizer = GD() if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be an mlplab.optim optimizer such as GD() or SGD(); got {optimizer!r}")
    problem = Problem(net, X, Y, loss, l2=l2, reduction=reduction, sample_weight=sample_weight)
    max_iter = None if max_iter is None else check_int("max_iter", max_iter, low=0)
    max_cost = None if max_cost is None else check_int("max_cost", max_cost, low=0)
    epochs = None if epochs is None else check_int("epochs", epochs, low=0)
    eval_every = None if eval_every is None else check_int("eval_every", eval_every, low=1)
    tol = None if tol is None else check_real("tol (or None)", tol, low=0.0)
    rtol = None if rtol is None else check_real("rtol (or None)", rtol, low=0.0)
    if time_limit is not None:
        time_limit = check_real("time_limit (seconds)", time_limit, low=0.0, low_open=True)
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable, got {callback!r}")
    if monitor not in ("full", "batch"):
        raise ValueError(f"monitor must be 'full' or 'batch', got {monitor!r}")
    checkpoint_every = None if checkpoint_every is None else check_int("checkpoint_every", checkpoint_every, low=1)
    if checkpoint_every is not None and not callable(on_checkpoint):
        raise ValueError(f"checkpoint_every needs a callable on_checkpoint, got {on_checkpoint!r}")
    if diverge_factor is not None:
        diverge_factor = check_real("diverge_factor (or None)", diverge_factor, low=1.0, low_open=True)
    if resume is not None and not isinstance(resume, Checkpoint):
        raise ValueError(f"resume must be a mlplab.train.Checkpoint, got {type(resume).__name__}")

    S = problem.S
    rng = make_rng(seed)
    sampler = _Sampler(S, optimizer.batch_size, optimizer.sampling, rng)
    full = sampler.b is None
    per_epoch = sampler.steps_per_epoch
    batch_monitor = monitor == "batch" and not full
    if max_iter is None and epochs is None and time_limit is None and max_cost is None:
        epochs = 200
    budgets = [b for b in (max_iter, None if epochs is None else sampler.steps_for(epochs)) if b is not None]
    max_steps = min(budgets) if budgets else None
    reason_for_budget = "max_iter" if max_iter is not None and max_steps == max_iter else "epochs"
    if eval_every is None:
        eval_every = 1 if full else per_epoch
    average = optimizer.average and problem.reduction == "sum"
    # sampled blocks and d^k = −g^k: each W^ℓ takes its step in the BLAS call that computes
    # its gradient (Problem.sgd_step); monitor="batch" needs the block gradients themselves
    lean = (sampler.b is not None and isinstance(optimizer, _Scheduled) and optimizer.plain
            and not batch_monitor)

    w = net.params
    history = History()
    state = optimizer.init(w) if opt_state is None else _check_opt_state(opt_state, optimizer.init(w))
    cost, seen, k, elapsed0, fwd = 0, 0, 0, 0.0, 0
    if resume is not None:
        if resume.params.shape != w.shape or resume.params.dtype != w.dtype:
            raise ValueError(f"resume: the checkpoint's parameters (shape {resume.params.shape}, dtype "
                             f"{resume.params.dtype}) do not fit this network (d = {w.size}, {w.dtype})")
        w[...] = resume.params
        state = _check_opt_state(resume.opt_state, optimizer.init(w))
        cost, seen, k, elapsed0 = resume.cost, resume.seen, resume.k, resume.elapsed
        fwd = resume.forward_evals
        history = copy.deepcopy(resume.history)
        try:
            rng.bit_generator.state = resume.rng_state
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"resume: the checkpoint's RNG state does not fit this run ({exc})") from None
        sampler.pos = resume.sampler_pos
        sampler.order = None if resume.sampler_order is None else np.array(resume.sampler_order)
    g = np.empty_like(w)
    last_good = w.copy()
    t0 = time.perf_counter() - elapsed0
    k_start = k
    stop_reason, E_k, gnorm_k, recorded_k, evaluated_k = None, math.nan, math.nan, -1, -1
    gnorm0 = history.grad_norm[0] if len(history) else math.nan  # ‖∇E(w^0)‖, rtol's scale
    last_step = math.nan  # α/γ of the step that produced the current w (for callbacks)
    last_unbounded = False  # the step into w^k found E still decreasing at alpha_max
    chunk_steps = 1  # one-sample SGD steps in the first chunk; then sized from the measured step time
    acc_E, acc_g, acc_n = 0.0, np.zeros_like(w) if batch_monitor else None, 0  # block sums since the last record

    E0 = history.loss[0] if len(history) else math.nan  # E(w^0), the blow-up test's scale
    E_floor = _E_FLOOR * (S if problem.reduction == "sum" else 1)  # … but at least 1e-6 per sample

    def record(E, grad, grad_norm):
        nonlocal recorded_k, E0
        if math.isnan(E0):
            E0 = E
        elif diverge_factor is not None and E > diverge_factor * max(E0, E_floor):
            diverged(f"E(w) = {E:.6g} grew above diverge_factor = {diverge_factor:g} times E(w^0) = {E0:.6g}",
                     keep_current=False)
        norms = [math.sqrt(_blas.dot(grad[s.W], grad[s.W])) for s in net.slices]  # ‖∇_{W^ℓ} E‖
        history.k.append(k)
        history.epoch.append(seen / S)
        history.loss.append(E)
        history.grad_norm.append(grad_norm)
        history.layer_grad_norms.append(norms)
        history.step_size.append(math.nan)
        history.ls_evals.append(0)
        history.capped.append(False)
        history.unbounded.append(False)
        history.cost.append(cost)
        history.forward_evals.append(fwd)
        history.time.append(time.perf_counter() - t0)
        last_good[...] = w
        recorded_k = k

    def advanced(n_steps, first_gamma, last_gamma, n_samples):
        """Bookkeeping after n_steps steps taken in place by a fast path (no StepInfo)."""
        nonlocal k, seen, cost, state, last_step
        if recorded_k == k:
            history.step_size[-1] = first_gamma
        cost += n_samples
        seen += n_samples
        k += n_steps
        state = OptState(k=state.k + n_steps, alpha=last_gamma, slots=state.slots)
        last_step = last_gamma

    def diverged(what, keep_current=True):
        # w^k itself is kept when its loss was finite (the step was not); otherwise the
        # last recorded w, whose E was finite
        good = w.copy() if keep_current and np.all(np.isfinite(w)) else last_good.copy()
        w[...] = good
        raise DivergenceError(
            f"training diverged at iteration {k}: {what}. The last good weights are kept in the "
            "network and in this error's .params; try a smaller step size or schedule constant",
            good, k, history)

    while True:
        if checkpoint_every is not None and k > k_start and k % checkpoint_every == 0:
            on_checkpoint(Checkpoint(
                params=w.copy(), opt_state=state, k=k, cost=cost, seen=seen, forward_evals=fwd,
                elapsed=time.perf_counter() - t0, rng_state=copy.deepcopy(rng.bit_generator.state),
                sampler_pos=sampler.pos, sampler_order=None if sampler.order is None else sampler.order.copy(),
                history=copy.deepcopy(history)))
        # (1) E(w^k), ∇E(w^k) on all samples: every step for GD, every eval_every steps otherwise
        is_record = k % eval_every == 0
        estimated = is_record and batch_monitor and acc_n > 0
        if estimated:  # monitor="batch": the blocks since the last record stand in for all samples
            E_k, g_full = _estimate(acc_E, acc_g, acc_n, S, problem.reduction, g)
            acc_E, acc_n = 0.0, 0
            acc_g[...] = 0
        elif full or is_record:
            E_k, g_full = problem.value_and_grad(w, None, out=g)
            evaluated_k = k
            if not math.isfinite(E_k):
                diverged(f"E(w) = {E_k}", keep_current=False)
        if estimated or full or is_record:
            gnorm_k = math.sqrt(_blas.dot(g_full, g_full))
            if math.isnan(gnorm0):
                gnorm0 = gnorm_k
            if is_record:
                record(E_k, g_full, gnorm_k)
                if callback is not None and callback(_last_record(history, last_step)):
                    stop_reason = "callback"
            if stop_reason is None and _small_gradient(gnorm_k, tol, rtol, gnorm0):
                stop_reason = "unbounded" if last_unbounded else "converged"
        # (2) budgets
        if stop_reason is None:
            if max_steps is not None and k >= max_steps:
                stop_reason = reason_for_budget
            elif max_cost is not None and cost + fwd / FORWARD_PER_GRADIENT >= max_cost:
                stop_reason = "max_cost"
            elif time_limit is not None and time.perf_counter() - t0 >= time_limit:
                stop_reason = "time_limit"
        if stop_reason is not None:
            break
        # (3)-(4) sample and differentiate
        if full:
            idx, E_B, n_B = None, E_k, S
            cost += S  # GD's step uses the gradient computed above
        else:
            idx = None
            if lean and sampler.b == 1:  # the lecture's SGD, w^{k+1} = w^k − γ_k ∇e^{j_k}(w^k), in place,
                # as many steps at once as fit before the next record, checkpoint or budget, and
                # about _CHUNK_SECONDS' worth (the time limit is checked between chunks)
                limits = [chunk_steps, eval_every - k % eval_every]
                limits += [] if max_steps is None else [max_steps - k]
                limits += [] if max_cost is None else [math.ceil(max_cost - cost - fwd / FORWARD_PER_GRADIENT)]
                limits += [] if checkpoint_every is None else [checkpoint_every - k % checkpoint_every]
                js = sampler.peek(min(limits))
                try:  # γ_k for the chunk at once
                    gammas = optimizer.schedule.values(state.k, len(js))
                except Exception:  # a schedule that fails at some k fails there, with w = w^k
                    gammas = []
                    try:
                        for kk in range(state.k, state.k + len(js)):
                            gammas.append(float(optimizer.schedule(kk)))
                    except Exception:
                        if not gammas:
                            raise
                        js = js[:len(gammas)]
                t_chunk = time.perf_counter()
                taken = problem.sgd_steps(w, js, gammas)
                t_chunk = time.perf_counter() - t_chunk
                chunk_steps = _CHUNK_STEPS if t_chunk <= 0 else max(1, min(
                    _CHUNK_STEPS, int(_CHUNK_SECONDS * max(taken, 1) / t_chunk)))
                sampler.pos += taken
                if taken:
                    advanced(taken, gammas[0], gammas[taken - 1], taken)
                    continue
            elif lean:  # mini-batch SGD, w^{k+1} = w^k − γ_k Σ_{j∈B_k} ∇e^j(w^k), in place
                idx, n_B = sampler.next()
                gamma = float(optimizer.schedule(state.k))
                if problem.sgd_step(w, idx, gamma / n_B if average else gamma)[1]:
                    advanced(1, gamma, gamma, n_B)
                    continue
            # the general path; also for a step a fast path declined (E not finite, or a step
            # too close to overflow), which it reports exactly
            if idx is None:
                idx, n_B = sampler.next()  # (after a declined one-sample step: the same j)
            E_B, _ = problem.value_and_grad(w, idx, out=g)
            cost += n_B
            if not math.isfinite(E_B):
                diverged(f"the loss on the sampled block is {E_B}", keep_current=False)
            if batch_monitor:  # block sums for the next record's estimate
                weight = n_B if problem.reduction == "mean" else 1
                acc_E += E_B * weight
                acc_g += g if weight == 1 else g * g.dtype.type(weight)
                acc_n += n_B
        if average:  # the block mean (1/|B_k|) Σ_{j∈B_k} ∇e^j instead of the sum
            g /= g.dtype.type(n_B)
            E_B /= n_B
        value_fn = _BlockValue(problem, idx, n_B if average else 1)
        # (5) the step
        step, state, info = optimizer.update(g, state, w, loss=E_B, value_fn=value_fn)
        if not np.isfinite(step).all():
            diverged("the step is not finite")
        fwd += info.forward_passes * n_B
        if recorded_k == k:
            history.step_size[-1] = info.step_size
            history.ls_evals[-1] = info.n_evals + info.n_slope_evals
            history.capped[-1] = info.capped
            history.unbounded[-1] = info.unbounded
        w += step
        last_step = info.step_size
        last_unbounded = info.unbounded
        k += 1
        seen += n_B
        if info.failed:
            stop_reason = "line_search_failed"
            break

    if recorded_k != k:  # make the last record describe the final w
        if batch_monitor and acc_n > 0:  # the estimate over the last steps
            E_k, g_full = _estimate(acc_E, acc_g, acc_n, S, problem.reduction, g)
        elif evaluated_k != k:  # (GD between records has E, ∇E at this w already)
            E_k, g_full = problem.value_and_grad(w, None, out=g)
            if not math.isfinite(E_k):
                diverged(f"E(w) = {E_k}", keep_current=False)
        gnorm_k = math.sqrt(_blas.dot(g_full, g_full))
        record(E_k, g_full, gnorm_k)
        if callback is not None:
            callback(_last_record(history, last_step))  # the final w, too (return value ignored)
    return TrainResult(params=w.copy(), stop_reason=stop_reason, n_iter=k, epochs=seen / S,
                       loss=float(E_k), grad_norm=gnorm_k, cost=cost, history=history,
                       elapsed=time.perf_counter() - t0, optimizer=optimizer, opt_state=state,
                       tol=tol, rtol=rtol, grad_norm0=gnorm0, forward_evals=fwd)


def _small_gradient(gnorm: float, tol, rtol, gnorm0: float) -> bool:
    """The lecture's stop ‖∇E(w^k)‖ = 0, with a tolerance: ≤ tol, or ≤ rtol·‖∇E(w^0)‖."""
    return bool((tol and gnorm <= tol) or (rtol and gnorm <= rtol * gnorm0))


def _estimate(acc_E, acc_g, acc_n, S, reduction, out):
    """E and ∇E of the whole data set estimated from block sums over acc_n samples.

    "sum": Ê = (S / n) Σ_k E_{B_k} (each E_B carries |B|/S of the regulariser, so the
    scaled sum carries all of it); "mean": Ê = Σ_k |B_k| E_{B_k} / n.
    """
    scale = S / acc_n if reduction == "sum" else 1.0 / acc_n
    np.multiply(acc_g, acc_g.dtype.type(scale), out=out)
    return float(acc_E * scale), out


def _check_opt_state(state, fresh: OptState) -> OptState:
    """A state to continue from must come from this optimizer kind and this network."""
    if not isinstance(state, OptState):
        raise ValueError(f"opt_state must be a TrainResult.opt_state, got {state!r}")
    if set(state.slots) != set(fresh.slots):
        raise ValueError(f"opt_state holds buffers {sorted(state.slots)} but this optimizer uses "
                         f"{sorted(fresh.slots)}; pass the state of a run with the same optimizer")
    for name, buf in state.slots.items():
        ref = fresh.slots[name]
        if not isinstance(buf, np.ndarray) or buf.shape != ref.shape or buf.dtype != ref.dtype:
            raise ValueError(f"opt_state buffer {name!r} does not match the network's parameters "
                             f"(shape {ref.shape}, dtype {ref.dtype}); pass the state of a run on this network")
    return state


class _BlockValue:
    """E on the block idx (what the block gradient differentiates), for line searches.

    Called as ``value_fn(w)``; ``value_fn.along(w, d)`` gives φ(α) = E(w + α d)
    with layer 1's GEMMs done once (:meth:`Problem.value_along`).
    """

    def __init__(self, problem: Problem, idx, divisor: int):
        self.problem, self.idx, self.divisor = problem, idx, divisor

    def __call__(self, w) -> float:
        E = self.problem.value(w, self.idx)
        return E if self.divisor == 1 else E / self.divisor

    def along(self, w, d):
        phi = self.problem.value_along(w, d, self.idx)
        if self.divisor == 1:
            return phi
        both = phi.value_and_slope

        def scaled(alpha):  # the block mean: φ / |B|
            return phi(alpha) / self.divisor

        def scaled_both(alpha):
            v, s = both(alpha)
            return v / self.divisor, s / self.divisor

        scaled.value_and_slope = scaled_both
        return scaled


def _last_record(history: History, last_step: float) -> dict:
    record = {name: getattr(history, name)[-1] for name in
              ("k", "epoch", "loss", "grad_norm", "layer_grad_norms", "cost", "time")}
    record["last_step_size"] = last_step
    return record
