"""Step kernels: how one step w^{k+1} = w^k + α_k d^k (or a run of them) is computed.

* :class:`GeneralStep` — any :class:`~mlplab.optim.Optimizer`: gradient on B_k,
  then ``optimizer.update`` (direction, step size — a line search if it has one),
  then the step. A new optimizer needs nothing else.
* :class:`FusedStep` — methods whose step is −γ_k g^k (``optimizer.fused_schedule``:
  SGD, mini-batch SGD): the same arithmetic as the general kernel, in the same order
  (so the same bits), without the per-step objects: the gradient lands in a reused
  buffer, −γ_k g^k in another.
* :class:`OneSampleBLAS` — one-sample SGD on networks too large for the compiled
  kernel: each W^ℓ updated by a BLAS rank-1 update (ger) in place, no (d,) vectors.
* :class:`CompiledSGD` — the lecture's one-sample SGD on small networks as a
  compiled loop (:mod:`mlplab.fast.compiled`, Numba), as many steps per call as fit
  before the next record, checkpoint or budget: the same formulas per component,
  equal to the array kernels to rounding (its sums run in another order than BLAS').

:func:`choose` picks the kernel. Each kernel's ``step(w, state, E_k, room)`` takes
at most ``room`` steps from w (in place) and returns a :class:`Taken` — how many steps,
samples and forward passes, the step sizes, the optimizer's new state. The kernels
compute; the loop (:class:`~mlplab.training.loop.Run`) advances its counters from what
they return. A step that is not finite raises :class:`StepNotFinite`. Every kernel adds
its blocks' E_B, ∇E_B to the monitor (the records' block estimates).
"""

from __future__ import annotations

import math
import time

import numpy as np

from mlplab.fast import blas
from mlplab.fast.compiled import MAX_PARAMS
from mlplab.optim.optimizers import scheduled_step

_CHUNK_SECONDS = 0.02  # one-sample compiled SGD runs about this long between checks of the clock …
_CHUNK_STEPS = 16384  # … and at most this many steps

# networks with more parameters than the compiled kernel takes take their one-sample SGD steps
# with BLAS ger in place (OneSampleBLAS)
ONE_SAMPLE_BLAS_MIN = MAX_PARAMS


class StepNotFinite(ArithmeticError):
    """A block's loss or a step is not finite; ``keep_current``: w^k itself is still good."""

    def __init__(self, what: str, keep_current: bool):
        super().__init__(what)
        self.what, self.keep_current = what, keep_current


class Taken:
    """What a kernel's call did: ``steps`` steps over ``samples`` samples (the cost axis: one
    sample gradient each), ``forward`` sample forward passes of line searches, the step sizes
    of the first and the last step, the first step's line-search details (``info``), and the
    optimizer state after them. One object per kernel, reused: the loop reads it at once."""

    __slots__ = ("steps", "samples", "forward", "first", "last", "info", "state", "failed")

    def set(self, steps, samples, forward, first, last, info, state, failed=False):
        self.steps, self.samples, self.forward, self.first, self.last = steps, samples, forward, first, last
        self.info, self.state, self.failed = info, state, failed
        return self


def choose(run):
    """The fastest kernel that gives the general kernel's results for this run."""
    if run.sampler.b is None or run.optimizer.fused_schedule is None:
        return GeneralStep(run)
    if run.sampler.b == 1:
        plan = run.problem.compiled_plan()
        if plan is not None:
            return CompiledSGD(run, plan)
        if run.problem.d > ONE_SAMPLE_BLAS_MIN and not getattr(run.problem, "l1", 0.0):  # (ger has no L1 term)
            return OneSampleBLAS(run)
    return FusedStep(run)


class _Kernel:
    """The parts a kernel reads (fixed for the run): problem, optimizer, sampler, monitor, and
    how a block's gradient is scaled (the optimizer's ``draw.block`` against the objective)."""

    full_gradient = False
    takes_runs = False  # a call may take several steps (then it needs the room up to the next event)

    def __init__(self, run):
        self.problem, self.optimizer, self.sampler, self.monitor = run.problem, run.optimizer, run.sampler, run.monitor
        self.g = run.g  # ∇E_B(w^k) lands here (for GD the loop has put ∇E(w^k) there)
        block = run.optimizer.draw.block
        # "mean": the block mean (1/|B_k|) Σ_{j∈B_k} ∇e^j of a summed objective; "sum": as the
        # objective's reduction gives it; "summed": the block sum |B_k| ∇E_B of a "mean" objective
        self.average = block == "mean" and run.problem.reduction == "sum"
        self.summed = block == "summed" and run.problem.reduction == "mean"
        self.rescales = self.average or self.summed
        self.taken = Taken()

    def block_gradient(self, w, idx, n_B) -> float:
        """E_B(w^k), ∇E_B(w^k) into self.g (scaled as the method's block asks); the monitor gets both."""
        g = self.g
        E_B, _ = self.problem.value_and_grad(w, idx, out=g)  # the block's forward and backward pass
        if not math.isfinite(E_B):
            raise StepNotFinite(f"the loss on the sampled block is {E_B}", keep_current=False)
        self.monitor.add(E_B, n_B, g)
        return self.scaled(E_B, n_B) if self.rescales else E_B

    def scaled(self, E_B, n_B) -> float:
        """The block mean or the block sum of g (in place) and E_B, as the method asks."""
        g = self.g
        if self.average:
            g /= g.dtype.type(n_B)
            E_B /= n_B
        elif self.summed:
            g *= g.dtype.type(n_B)
            E_B *= n_B
        return E_B


class GeneralStep(_Kernel):
    """Sample B_k, g^k = ∇E_B(w^k), (step, state, info) = optimizer.update(g^k, …), w += step."""

    def __init__(self, run):
        super().__init__(run)
        self.full_gradient = run.sampler.b is None  # GD: the loop evaluates E, ∇E at every w^k

    def step(self, w, state, E_k=None, room=1) -> Taken:
        problem = self.problem
        if self.full_gradient:  # GD: the gradient at w^k is already in g
            idx, n_B = None, problem.S
            E_B = self.scaled(E_k, n_B)
        else:
            idx, n_B = self.sampler.next()
            E_B = self.block_gradient(w, idx, n_B)
        value_fn = BlockValue(problem, idx, n_B if self.average else 1.0 / n_B if self.summed else 1)
        step, state, info = self.optimizer.update(self.g, state, w, loss=E_B, value_fn=value_fn)
        if not blas.all_finite(step):
            raise StepNotFinite("the step is not finite", keep_current=True)
        w += step
        return self.taken.set(1, n_B, info.forward_passes * n_B, info.step_size, info.step_size, info, state,
                              info.failed)


class FusedStep(_Kernel):
    """w^{k+1} = w^k − γ_k g^k for SGD and mini-batch SGD, bit-identical to :class:`GeneralStep`."""

    def __init__(self, run):
        super().__init__(run)
        self.schedule = run.optimizer.fused_schedule
        self.buf = np.empty_like(run.w)

    def step(self, w, state, E_k=None, room=1) -> Taken:
        return self.block(w, state, *self.sampler.next())

    def block(self, w, state, idx, n_B) -> Taken:
        self.block_gradient(w, idx, n_B)
        gamma = self.schedule(state.k)
        step = scheduled_step(self.g, gamma, out=self.buf)  # −γ_k g^k
        if not blas.all_finite(step):
            raise StepNotFinite("the step is not finite", keep_current=True)
        w += step
        return self.taken.set(1, n_B, 0, gamma, gamma, None, self.optimizer.advanced(state, 1, gamma))


class OneSampleBLAS(_Kernel):
    """One-sample SGD on networks too large for the compiled kernel (more than ONE_SAMPLE_BLAS_MIN
    parameters): :meth:`Problem.sgd_step` per sample j_k — backprop's dz^ℓ and a^{ℓ−1}, then
    W^ℓ ← W^ℓ − γ_k dz^ℓ (a^{ℓ−1})ᵀ in place by BLAS ger, and, where the history uses the block
    estimate, ∇E_j added to the monitor's sums by a second ger. No (d,) gradient and no (d,) step
    are written: on 784-300-10 a step reads and writes the weights once instead of five times.
    Equal to the general kernel to rounding (ger rounds γ dz a once, the general kernel's g, −γ g
    and w + step three times), as the compiled kernel; chosen by the network's size alone, so
    a seed gives the same bits whatever else the run asks for."""

    def __init__(self, run):
        super().__init__(run)
        self.schedule = run.optimizer.fused_schedule
        self.fallback = FusedStep(run)  # a step sgd_step declines is taken (and judged) there
        self.acc = run.monitor.acc_g if run.monitor.estimates else None

    def step(self, w, state, E_k=None, room=1) -> Taken:
        j, n_B = self.sampler.next()
        gamma = self.schedule(state.k)
        E, done = self.problem.sgd_step(w, j, gamma, acc=self.acc)
        if not done:  # E_j not finite, or a step near overflow: the array kernel reports it exactly
            return self.fallback.block(w, state, j, n_B)
        if self.acc is not None:  # one sample: weight 1 for both reductions
            self.monitor.acc_E += E
            self.monitor.acc_n += 1
        return self.taken.set(1, 1, 0, gamma, gamma, None, self.optimizer.advanced(state, 1, gamma))


class CompiledSGD(_Kernel):
    """Runs of one-sample SGD steps in the compiled loop (see :mod:`mlplab.fast.compiled`)."""

    takes_runs = True

    def __init__(self, run, plan):
        super().__init__(run)
        self.plan = plan
        self.chunk_steps = 1  # steps in the first chunk; then sized from the measured step time
        self.fallback = FusedStep(run)  # a step the compiled loop declines is taken (and judged) here
        # the block sums [Σ E_j, Σ ∇E_j] go straight into the monitor's float64 sums, step by step
        self.acc = run.monitor.pending

    def step(self, w, state, E_k=None, room=1) -> Taken:
        sampler = self.sampler
        js = sampler.peek(min(self.chunk_steps, room))
        gammas = _gammas(self.optimizer.fused_schedule, state.k, len(js))
        js = js[:len(gammas)]
        t = time.perf_counter()
        n = self.problem.sgd_steps(w, js, gammas, acc=self.acc)
        t = time.perf_counter() - t
        self.chunk_steps = _CHUNK_STEPS if t <= 0 else max(1, min(_CHUNK_STEPS, int(_CHUNK_SECONDS * max(n, 1) / t)))
        if not n:  # declined (E_j not finite, or a step near overflow): the array kernel takes it
            return self.fallback.block(w, state, *sampler.next())  # and reports a divergence exactly (the same j)
        sampler.pos += n
        if self.acc is not None:  # one-sample blocks: weight 1 for both reductions
            self.monitor.acc_n += n
        return self.taken.set(n, n, 0, gammas[0], gammas[n - 1], None,
                              self.optimizer.advanced(state, n, gammas[n - 1]))


class BlockValue:
    """E on the block idx (what the block gradient differentiates), for line searches.

    Called as ``value_fn(w)``; ``value_fn.along(w, d)`` gives φ(α) = E(w + α d)
    with layer 1's GEMMs done once (:meth:`Problem.value_along`).
    """

    def __init__(self, problem, idx, divisor: int):
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
