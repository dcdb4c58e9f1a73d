"""The training loop — the single loop every front end goes through.

At each iteration k it (1) evaluates E(w^k) and ∇E(w^k) on all samples when
this iteration is recorded (GD needs them anyway), (2) checks the stopping
rules, (3) draws j_k or B_k as the optimizer asks, (4) computes the gradient on
those samples by backpropagation, (5) asks the optimizer for the step and
applies it: w^{k+1} = w^k + α_k d^k.

Stopping rules, in order: ‖∇E(w^k)‖₂ ≤ tol (the lecture's criterion
‖∇E(w^{k+1})‖₂ = 0, with a tolerance; checked at recorded iterations),
iteration / epoch budget, wall-clock budget, a callback asking to stop, and a
failed line search (no decrease possible). A non-finite loss or step raises
:class:`DivergenceError`, carrying the last finite weights, which are also left
in the network.

Cost axis: ``history.cost`` counts sample-gradient evaluations — GD costs S per
step, SGD 1, mini-batch |B_k| — plus, for line searches, one unit per sample
per evaluation of E. Evaluations made only to record the history or test the
stopping rule (full E and ∇E at w^k that no step uses, e.g. at the final w or
every ``eval_every`` steps of a stochastic method) are not counted, so
``result.cost == history.cost[-1]``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from mlplab._checks import check_int, check_real
from mlplab.objective import Problem
from mlplab.optim.optimizers import GD, Optimizer, OptState, _Scheduled


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or step.

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
        ls_evals: line-search evaluations of E in that step (0 without a line search).
        capped: whether the exact line search hit alpha_max in that step.
        cost: sample-gradient evaluations up to w^k (the cost axis).
        time: seconds since the start.
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

    def __len__(self) -> int:
        return len(self.k)

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Every column as a NumPy array."""
        return {name: np.asarray(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes:
        params: copy of the final w (also in ``net.params``).
        stop_reason: "converged", "max_iter", "epochs", "time_limit", "callback"
            or "line_search_failed".
        n_iter: number of steps taken.
        epochs: samples seen / S.
        loss: E at the final w; grad_norm: ‖∇E‖₂ there.
        cost: sample-gradient evaluations (see the module docstring).
        history: :class:`History`.
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

    @property
    def converged(self) -> bool:
        return self.stop_reason == "converged"


class _Sampler:
    """Draws j_k (an int) or B_k (an index array or slice); None means all samples."""

    def __init__(self, S: int, batch_size: int | None, mode: str, rng: np.random.Generator):
        self.S, self.rng, self.mode = S, rng, mode
        self.b = None if batch_size is None or (batch_size >= S and mode != "uniform") else min(batch_size, S)
        self.pos = S  # position within the current epoch's order
        self.order = None

    @property
    def steps_per_epoch(self) -> int:
        return 1 if self.b is None else math.ceil(self.S / self.b)

    def next(self):
        if self.b is None:
            return None
        S, b = self.S, self.b
        if self.mode == "uniform":
            if b == 1:
                if self.pos >= S:  # draw a whole epoch of i.i.d. indices at once
                    self.order, self.pos = self.rng.integers(0, S, size=S), 0
                self.pos += 1
                return int(self.order[self.pos - 1])
            return np.sort(self.rng.choice(S, size=b, replace=False))
        if self.pos >= S:
            self.pos = 0
            if self.mode == "shuffle":
                self.order = self.rng.permutation(S)
        i, self.pos = self.pos, min(self.pos + b, S)
        if self.mode == "cyclic":
            return i if b == 1 else slice(i, self.pos)
        return int(self.order[i]) if b == 1 else self.order[i:self.pos]


def train(net, X, Y, loss="squared", optimizer: Optimizer | None = None, *,
          max_iter: int | None = None, epochs: int | None = None, tol: float | None = 1e-6,
          time_limit: float | None = None, eval_every: int | None = None, callback=None,
          seed=None, l2: float = 0.0, reduction: str = "sum", sample_weight=None,
          opt_state: OptState | None = None) -> TrainResult:
    """Minimise E(w) = Σ_s e(y^s, MLP(x^s; w)) (+ regulariser) over w, in place.

    Args:
        net: the :class:`mlplab.MLP`; its ``params`` are updated in place.
        X: (S, N_0) inputs; Y: targets as the loss accepts them (:mod:`mlplab.losses`).
        loss: loss name (default "squared", the lecture's).
        optimizer: :class:`~mlplab.optim.GD` (default, exact line search),
            :class:`~mlplab.optim.SGD`, :class:`~mlplab.optim.MiniBatchSGD`,
            :class:`~mlplab.optim.Momentum`, :class:`~mlplab.optim.Adam`.
        max_iter: maximum number of steps k.
        epochs: maximum number of passes over the data (GD: one per step).
            With neither max_iter nor epochs nor time_limit, 200 epochs.
        tol: stop when ‖∇E(w^k)‖₂ ≤ tol (None or 0 disables it).
        time_limit: wall-clock budget in seconds.
        eval_every: record E, ‖∇E‖ (and test tol) every this many steps.
            Default: every step for GD, once per epoch for stochastic methods
            (whose record costs an extra pass over the data, not counted in cost).
        callback: called as ``callback(record)`` with a dict of the recorded
            values (k, epoch, loss, grad_norm, layer_grad_norms, cost, time)
            at every record; returning a true value stops training.
        seed: seed of the sampling RNG (j_k, B_k), or a ``np.random.Generator``
            (continues its stream). Same seed → bit-identical run.
        l2, reduction, sample_weight: the objective (see :class:`~mlplab.objective.Problem`).
        opt_state: optimizer state from an earlier ``TrainResult.opt_state`` to
            continue from (its k keeps counting, so schedules go on); the
            budgets and ``history`` count this call's steps only.

    Returns:
        :class:`TrainResult`.

    Raises:
        DivergenceError: the loss or a step became non-finite.
    """
    optimizer = GD() if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be an mlplab.optim optimizer such as GD() or SGD(); got {optimizer!r}")
    problem = Problem(net, X, Y, loss, l2=l2, reduction=reduction, sample_weight=sample_weight)
    max_iter = None if max_iter is None else check_int("max_iter", max_iter, low=0)
    epochs = None if epochs is None else check_int("epochs", epochs, low=0)
    eval_every = None if eval_every is None else check_int("eval_every", eval_every, low=1)
    tol = None if tol is None else check_real("tol (or None)", tol, low=0.0)
    if time_limit is not None:
        time_limit = check_real("time_limit (seconds)", time_limit, low=0.0, low_open=True)
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable, got {callback!r}")

    S = problem.S
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sampler = _Sampler(S, optimizer.batch_size, optimizer.sampling, rng)
    full = sampler.b is None
    per_epoch = sampler.steps_per_epoch
    if max_iter is None and epochs is None and time_limit is None:
        epochs = 200
    budgets = [b for b in (max_iter, None if epochs is None else epochs * per_epoch) if b is not None]
    max_steps = min(budgets) if budgets else None
    reason_for_budget = "max_iter" if max_iter is not None and max_steps == max_iter else "epochs"
    if eval_every is None:
        eval_every = 1 if full else per_epoch
    average = optimizer.average and problem.reduction == "sum"
    # one sample per step and d^k = −g^k: the step is rank one per layer, taken in place
    lean = sampler.b == 1 and isinstance(optimizer, _Scheduled) and optimizer.plain

    w = net.params
    history = History()
    if opt_state is None:
        state = optimizer.init(w)
    elif isinstance(opt_state, OptState):
        state = opt_state
    else:
        raise ValueError(f"opt_state must be a TrainResult.opt_state, got {opt_state!r}")
    g = np.empty_like(w)
    last_good = w.copy()
    cost, seen, k = 0, 0, 0
    t0 = time.perf_counter()
    stop_reason, E_k, gnorm_k, recorded_k = None, math.nan, math.nan, -1

    def record(E, grad):
        nonlocal last_good, recorded_k
        norms = [float(math.sqrt(np.dot(grad[s.W], grad[s.W]))) for s in net.slices]
        history.k.append(k)
        history.epoch.append(seen / S)
        history.loss.append(E)
        history.grad_norm.append(float(math.sqrt(np.dot(grad, grad))))
        history.layer_grad_norms.append(norms)
        history.step_size.append(math.nan)
        history.ls_evals.append(0)
        history.capped.append(False)
        history.cost.append(cost)
        history.time.append(time.perf_counter() - t0)
        last_good[...] = w
        recorded_k = k

    def diverged(what):
        good = w.copy() if np.all(np.isfinite(w)) else last_good.copy()
        w[...] = good
        raise DivergenceError(
            f"training diverged at iteration {k}: {what}. The last finite weights are kept in the "
            "network and in this error's .params; try a smaller step size or schedule constant",
            good, k, history)

    while True:
        # (1) E(w^k), ∇E(w^k) on all samples: every step for GD, every eval_every steps otherwise
        is_record = k % eval_every == 0
        if full or is_record:
            E_k, g_full = problem.value_and_grad(w, None, out=g)
            if not math.isfinite(E_k):
                diverged(f"E(w) = {E_k}")
            gnorm_k = float(math.sqrt(np.dot(g_full, g_full)))
            if is_record:
                record(E_k, g_full)
                if callback is not None and callback(_last_record(history)):
                    stop_reason = "callback"
            if stop_reason is None and tol and gnorm_k <= tol:
                stop_reason = "converged"
        # (2) budgets
        if stop_reason is None:
            if max_steps is not None and k >= max_steps:
                stop_reason = reason_for_budget
            elif time_limit is not None and time.perf_counter() - t0 >= time_limit:
                stop_reason = "time_limit"
        if stop_reason is not None:
            break
        # (3)-(4) sample and differentiate
        if full:
            idx, E_B, n_B = None, E_k, S
            cost += S  # GD's step uses the gradient computed above
        elif lean:  # the lecture's SGD: w^{k+1} = w^k − γ_k ∇e^{j_k}(w^k), applied in place
            idx = sampler.next()
            gamma = optimizer.schedule(state.k)
            E_B, taken = problem.sgd_step(w, idx, gamma)
            if taken:
                cost += 1
                state = OptState(k=state.k + 1, alpha=gamma, slots=state.slots)
                if recorded_k == k:
                    history.step_size[-1] = gamma
                k += 1
                seen += 1
                continue
            # not finite, or too close to overflow: the general path below reports it exactly
            E_B, _ = problem.value_and_grad(w, idx, out=g)
            n_B = 1
            cost += n_B
            if not math.isfinite(E_B):
                diverged(f"the loss on the sampled block is {E_B}")
        else:
            idx = sampler.next()
            E_B, _ = problem.value_and_grad(w, idx, out=g)
            n_B = 1 if isinstance(idx, int) else (idx.stop - idx.start if isinstance(idx, slice) else len(idx))
            cost += n_B
            if not math.isfinite(E_B):
                diverged(f"the loss on the sampled block is {E_B}")
        if average:  # the block mean (1/|B_k|) Σ_{j∈B_k} ∇e^j instead of the sum
            g /= g.dtype.type(n_B)
            E_B /= n_B
        value_fn = _block_value(problem, idx, n_B if average else 1)
        # (5) the step
        step, state, info = optimizer.update(g, state, w, loss=E_B, value_fn=value_fn)
        if not np.isfinite(step).all():
            diverged("the step is not finite")
        cost += info.n_evals * n_B
        if recorded_k == k:
            history.step_size[-1] = info.step_size
            history.ls_evals[-1] = info.n_evals
            history.capped[-1] = info.capped
        w += step
        k += 1
        seen += n_B
        if info.failed:
            stop_reason = "line_search_failed"
            break

    if recorded_k != k:  # make the last record describe the final w
        E_k, g_full = problem.value_and_grad(w, None, out=g)
        if not math.isfinite(E_k):
            diverged(f"E(w) = {E_k}")
        gnorm_k = float(math.sqrt(np.dot(g_full, g_full)))
        record(E_k, g_full)
    return TrainResult(params=w.copy(), stop_reason=stop_reason, n_iter=k, epochs=seen / S,
                       loss=float(E_k), grad_norm=gnorm_k, cost=cost, history=history,
                       elapsed=time.perf_counter() - t0, optimizer=optimizer, opt_state=state)


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
        return phi if self.divisor == 1 else (lambda alpha: phi(alpha) / self.divisor)


def _block_value(problem: Problem, idx, divisor: int) -> _BlockValue:
    return _BlockValue(problem, idx, divisor)


def _last_record(history: History) -> dict:
    return {name: getattr(history, name)[-1] for name in
            ("k", "epoch", "loss", "grad_norm", "layer_grad_norms", "cost", "time")}
