"""Step kernels: how one step w^{k+1} = w^k + α_k d^k (or a run of them) is computed.

* :class:`GeneralStep` — any :class:`~mlplab.optim.Optimizer`: gradient on B_k,
  then ``optimizer.update`` (direction, step size — a line search if it has one),
  then the step. A new optimizer needs nothing else.
* :class:`FusedStep` — the plain scheduled methods (SGD, mini-batch SGD: d^k = −g^k,
  α_k = γ_k): the same arithmetic as the general kernel, in the same order (so the
  same bits), without the per-step objects: the gradient lands in a reused buffer,
  −γ_k g^k in another, and the block's loss and gradient go to the monitor's sums.
* :class:`OneSampleBLAS` — one-sample SGD on networks too large for the compiled
  kernel: each W^ℓ updated by a BLAS rank-1 update (ger) in place, no (d,) vectors.
* :class:`CompiledSGD` — the lecture's one-sample SGD on small networks as a
  compiled loop (:mod:`mlplab._compiled`, Numba), as many steps per call as fit
  before the next record, checkpoint or budget: the same formulas per component,
  equal to the array kernels to rounding (its sums run in another order than BLAS'),
  summing the block estimates in the loop.

:func:`choose` picks the kernel; each has ``advance(run)``, which takes the step(s)
from ``run.w`` and updates the run's counters.
"""

from __future__ import annotations

import math
import time

import numpy as np

from mlplab import _blas
from mlplab._compiled import MAX_PARAMS
from mlplab.optim.optimizers import OptState, _Scheduled
from mlplab.training.records import _BlockValue

_CHUNK_SECONDS = 0.02  # one-sample compiled SGD runs about this long between checks of the clock …
_CHUNK_STEPS = 16384  # … and at most this many steps


def choose(run):
    """The fastest kernel that gives the general kernel's results for this run."""
    opt, kind = run.optimizer, type(run.optimizer)
    # d^k = −g^k and α_k = γ_k exactly as SGD/MiniBatchSGD define them (a subclass that
    # overrides the direction, the step size or the update gets the general kernel)
    plain = (run.sampler.b is not None and isinstance(opt, _Scheduled) and opt.plain
             and kind.update is _Scheduled.update and kind.step_size is _Scheduled.step_size)
    if not plain:
        return GeneralStep(run)
    if run.sampler.b == 1:
        plan = run.problem.compiled_plan()
        if plan is not None:
            return CompiledSGD(run, plan)
        if run.problem.d > ONE_SAMPLE_BLAS_MIN:
            return OneSampleBLAS(run)
    return FusedStep(run)


# networks with more parameters than the compiled kernel takes take their one-sample SGD steps
# with BLAS ger in place (OneSampleBLAS)
ONE_SAMPLE_BLAS_MIN = MAX_PARAMS


class GeneralStep:
    """Sample B_k, g^k = ∇E_B(w^k), (step, state, info) = optimizer.update(g^k, …), w += step."""

    full_gradient = False

    def __init__(self, run):
        self.run = run
        self.full_gradient = run.sampler.b is None  # GD: the loop evaluates E, ∇E at every w^k

    def advance(self, run, E_k=None) -> None:
        g, w, problem = run.g, run.w, run.problem
        if self.full_gradient:  # GD: the gradient at w^k is already in g
            idx, n_B, E_B = None, problem.S, E_k
        else:
            idx, n_B = run.sampler.next()
            E_B, _ = problem.value_and_grad(w, idx, out=g)
            if not math.isfinite(E_B):
                run.diverged(f"the loss on the sampled block is {E_B}", keep_current=False)
            run.monitor.add(E_B, n_B, g)
        run.cost += n_B
        if run.average:  # the block mean (1/|B_k|) Σ_{j∈B_k} ∇e^j instead of the sum
            g /= g.dtype.type(n_B)
            E_B /= n_B
        elif run.summed:  # the block sum |B_k| ∇E_B of a "mean" objective's per-sample losses
            g *= g.dtype.type(n_B)
            E_B *= n_B
        value_fn = _BlockValue(problem, idx, n_B if run.average else 1.0 / n_B if run.summed else 1)
        step, run.state, info = run.optimizer.update(g, run.state, w, loss=E_B, value_fn=value_fn)
        if not _blas.all_finite(step):
            run.diverged("the step is not finite")
        run.fwd += info.forward_passes * n_B
        run.last_info = info
        run.note_step(info.step_size, info.n_evals + info.n_slope_evals, info.capped, info.unbounded)
        w += step
        run.k += 1
        run.seen += n_B
        if info.failed:
            run.stop_reason = "line_search_failed"


class FusedStep:
    """w^{k+1} = w^k − γ_k g^k for SGD and mini-batch SGD, bit-identical to :class:`GeneralStep`."""

    full_gradient = False

    def __init__(self, run):
        self.schedule = run.optimizer.schedule
        self.step = np.empty_like(run.w)

    def advance(self, run, E_k=None) -> None:
        self.block(run, *run.sampler.next())

    def block(self, run, idx, n_B) -> None:
        g, w, problem = run.g, run.w, run.problem
        E_B, _ = problem.value_and_grad(w, idx, out=g)  # the block's forward and backward pass
        if not math.isfinite(E_B):
            run.diverged(f"the loss on the sampled block is {E_B}", keep_current=False)
        run.monitor.add(E_B, n_B, g)
        run.cost += n_B
        if run.average:
            g /= g.dtype.type(n_B)
        elif run.summed:
            g *= g.dtype.type(n_B)
        gamma = self.schedule(run.state.k)
        step = np.multiply(g, g.dtype.type(-gamma), out=self.step)  # −γ_k g^k
        if not _blas.all_finite(step):
            run.diverged("the step is not finite")
        w += step
        run.note_step(gamma, 0, False, False)
        run.state = OptState(k=run.state.k + 1, alpha=gamma, slots=run.state.slots)
        run.k += 1
        run.seen += n_B


class OneSampleBLAS:
    """One-sample SGD on networks too large for the compiled kernel (more than ONE_SAMPLE_BLAS_MIN
    parameters): :meth:`Problem.sgd_step` per sample j_k — backprop's dz^ℓ and a^{ℓ−1}, then
    W^ℓ ← W^ℓ − γ_k dz^ℓ (a^{ℓ−1})ᵀ in place by BLAS ger, and, where the history uses the block
    estimate, ∇E_j added to the monitor's sums by a second ger. No (d,) gradient and no (d,) step
    are written: on 784-300-10 a step reads and writes the weights once instead of five times.
    Equal to the general kernel to rounding (ger rounds γ dz a once, the general kernel's g, −γ g
    and w + step three times), as the compiled kernel; chosen by the network's size alone, so
    a seed gives the same bits whatever else the run asks for."""

    full_gradient = False

    def __init__(self, run):
        self.schedule = run.optimizer.schedule
        self.fallback = FusedStep(run)  # a step sgd_step declines is taken (and judged) there
        self.acc = run.monitor.acc_g if run.monitor.estimates else None

    def advance(self, run, E_k=None) -> None:
        j, n_B = run.sampler.next()
        gamma = self.schedule(run.state.k)
        E, taken = run.problem.sgd_step(run.w, j, gamma, acc=self.acc)
        if not taken:  # E_j not finite, or a step near overflow: the array kernel reports it exactly
            self.fallback.block(run, j, n_B)
            return
        if self.acc is not None:  # one sample: weight 1 for both reductions
            run.monitor.acc_E += E
            run.monitor.acc_n += 1
        run.cost += 1
        run.note_step(gamma, 0, False, False)
        run.state = OptState(k=run.state.k + 1, alpha=gamma, slots=run.state.slots)
        run.k += 1
        run.seen += 1


class CompiledSGD:
    """Runs of one-sample SGD steps in the compiled loop (see :mod:`mlplab._compiled`)."""

    full_gradient = False

    def __init__(self, run, plan):
        self.plan = plan
        self.chunk_steps = 1  # steps in the first chunk; then sized from the measured step time
        self.fallback = FusedStep(run)  # a step the compiled loop declines is taken (and judged) here
        # the block sums [Σ E_j, Σ ∇E_j] go straight into the monitor's float64 sums, step by step
        self.acc = run.monitor.pending

    def advance(self, run, E_k=None) -> None:
        opt, sampler = run.optimizer, run.sampler
        limits = [self.chunk_steps, run.eval_every - run.k % run.eval_every]
        left = run.budget.steps_left(run.k, run.cost, run.fwd)
        limits += [] if left is None else [left]
        if run.checkpoint_every is not None:
            limits.append(run.checkpoint_every - run.k % run.checkpoint_every)
        if run.pause_at is not None:
            limits.append(run.pause_at - run.k)
        js = sampler.peek(min(limits))
        gammas = _gammas(opt.schedule, run.state.k, len(js))
        js = js[:len(gammas)]
        t = time.perf_counter()
        taken = run.problem.sgd_steps(run.w, js, gammas, acc=self.acc)
        t = time.perf_counter() - t
        self.chunk_steps = _CHUNK_STEPS if t <= 0 else max(1, min(
            _CHUNK_STEPS, int(_CHUNK_SECONDS * max(taken, 1) / t)))
        if taken:
            sampler.pos += taken
            if self.acc is not None:  # one-sample blocks: weight 1 for both reductions
                run.monitor.acc_n += taken
            run.cost += taken
            run.seen += taken
            run.note_step(gammas[0], 0, False, False)
            run.k += taken
            run.state = OptState(k=run.state.k + taken, alpha=gammas[taken - 1], slots=run.state.slots)
            run.last_step = gammas[taken - 1]
        else:  # declined (E_j not finite, or a step near overflow): the array kernel takes it and
            self.fallback.block(run, *sampler.next())  # reports a divergence exactly (the same j)


def _gammas(schedule, k: int, n: int) -> list:
    """γ_k … γ_{k+n−1} at once; a schedule that fails at some k gives the values before it
    (and raises when the very first fails), so that the failure comes with w = w^k."""
    try:
        return schedule.values(k, n)
    except Exception:
        gammas = []
        try:
            for kk in range(k, k + n):
                gammas.append(float(schedule(kk)))
        except Exception:
            if not gammas:
                raise
        return gammas
