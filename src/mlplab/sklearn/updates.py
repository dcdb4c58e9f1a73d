"""scikit-learn's update rules ("sgd", "adam") as mlplab optimizers, and its epoch orders.

A method is composed: B_k drawn as scikit-learn's blocks (:class:`SklearnShuffles`), a step
rule (:class:`SklearnSGD`, :class:`SklearnAdam`) and the learning rate γ, which lives in the
optimizer state (:class:`RateState`, as scikit-learn's optimizer holds ``learning_rate``) and
changes between epochs only by the rule object :class:`LearningRate`.

scikit-learn's velocity carries the old γ (v ← μ v − γ g^k, w ← w + v), where mlplab's
:class:`~mlplab.optim.Momentum` keeps v = β v + g and steps −γ v: the same iterates while γ is
constant, not when "invscaling" or "adaptive" change it — hence a rule of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from sklearn.utils import shuffle as sk_shuffle

from mlplab.fast import blas
from mlplab.optim import MiniBatchSGD, Optimizer, OptState, StepInfo
from mlplab.optim.optimizers import Draw


@dataclass(frozen=True)
class RateState(OptState):
    """The optimizer state with scikit-learn's ``learning_rate``: "sgd"'s current γ (after
    invscaling / adaptive changes), "adam"'s last bias-corrected γ_t."""

    lr: float = math.nan


class LearningRate:
    """γ for scikit-learn's "sgd" and "adam": ``learning_rate_init`` (or a schedule's γ_k per step)
    and scikit-learn's ``learning_rate`` rule between epochs.

    * "constant": γ = learning_rate_init.
    * "invscaling": after each epoch γ = learning_rate_init / (t + 1)^power_t, t the samples seen.
    * "adaptive": γ / 5 when the loss (or validation score) has not improved by tol for more
      than n_iter_no_change epochs; stop once γ ≤ 1e-6.

    "adam" keeps learning_rate_init (scikit-learn applies the rule to "sgd" only).
    """

    def __init__(self, init: float, rule: str = "constant", power_t: float = 0.5, schedule=None):
        self.init, self.rule, self.power_t, self.schedule = float(init), rule, power_t, schedule

    def base(self, state: OptState) -> float:
        """γ before any bias correction: the schedule's γ_k where one is given, else the state's γ."""
        return float(self.schedule(state.k)) if self.schedule is not None else state.lr

    def adam_base(self, state: OptState) -> float:
        """Adam's γ before its bias correction: the schedule's γ_k, else learning_rate_init."""
        return float(self.schedule(state.k)) if self.schedule is not None else self.init

    def after_epoch(self, state: RateState, t: int) -> RateState:
        """scikit-learn's ``iteration_ends(t)``: invscaling's new γ."""
        if self.rule == "invscaling":
            return replace(state, lr=self.init / (t + 1) ** self.power_t)
        return state

    def on_stall(self, state: RateState) -> tuple[RateState, bool]:
        """scikit-learn's ``trigger_stopping``: (state, True: go on) — "adaptive" divides γ by 5
        while γ > 1e-6; every other rule stops."""
        if self.rule == "adaptive" and state.lr > 1e-6:
            return replace(state, lr=state.lr / 5.0), True
        return state, False


class _InPlace(Optimizer):
    """scikit-learn's optimizers update their buffers in place: so do these — the state's slots
    are the same arrays after ``update`` (a state kept from before a step does not stay valid),
    and the step lands in a buffer reused from step to step (the loop adds it to w at once)."""

    def _buffers(self, like: np.ndarray):
        bufs = self.__dict__.get("_bufs")
        if bufs is None or bufs[0].shape != like.shape or bufs[0].dtype != like.dtype:
            bufs = self._bufs = (np.empty_like(like), np.empty_like(like))
        return bufs

    def __getstate__(self):  # (pickles and copies leave the buffers behind)
        state = self.__dict__.copy()
        state.pop("_bufs", None)
        return state


class SklearnSGD(_InPlace):
    """scikit-learn's ``SGDOptimizer``: v ← μ v − γ g^k, then w^{k+1} = w^k + v, or with
    ``nesterov`` w^{k+1} = w^k + μ v − γ g^k (the new v); g^k = ∇E_B(w^k), the block mean.

    The operations are scikit-learn's, in its order (μ v and γ g rounded, then subtracted)."""

    def __init__(self, batch_size: int, sampling: str, rate: LearningRate, momentum: float, nesterov: bool):
        self.batch_size, self.sampling, self.rate = batch_size, sampling, rate
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def init(self, params):
        return RateState(lr=self.rate.init, slots={"v": np.zeros_like(params)})

    def update(self, grad, state, params, *, loss=None, value_fn=None):
        f = grad.dtype.type
        lr = float(f(self.rate.base(state)))
        mu = f(self.momentum)
        v = state.slots["v"]
        v *= mu
        blas.axpy(v, -lr, grad)  # v = μ v − γ g^k, one pass (BLAS axpy)
        if not self.nesterov:  # the step is v itself (the loop only adds it to w)
            return v, replace(state, k=state.k + 1, alpha=lr), StepInfo(step_size=lr)
        step = self._buffers(grad)[1]
        np.multiply(v, mu, out=step)  # μ v − γ g^k with the new v
        blas.axpy(step, -lr, grad)
        return step, replace(state, k=state.k + 1, alpha=lr), StepInfo(step_size=lr)


class SklearnAdam(_InPlace):
    """scikit-learn's ``AdamOptimizer``: m ← β₁ m + (1 − β₁) g, v ← β₂ v + (1 − β₂) g²,
    γ_t = γ √(1 − β₂^t) / (1 − β₁^t), w^{k+1} = w^k − γ_t m / (√v + ε), t = k + 1.

    The operations are scikit-learn's, in its order ((−γ_t m) / (√v + ε))."""

    def __init__(self, batch_size: int, sampling: str, rate: LearningRate, b1: float, b2: float, eps: float):
        self.batch_size, self.sampling, self.rate = batch_size, sampling, rate
        self.b1, self.b2, self.eps = float(b1), float(b2), float(eps)

    def init(self, params):
        return RateState(lr=self.rate.init, slots={"m": np.zeros_like(params), "v": np.zeros_like(params)})

    def update(self, grad, state, params, *, loss=None, value_fn=None):
        b1, b2 = self.b1, self.b2
        t = state.k + 1
        m, v = state.slots["m"], state.slots["v"]
        tmp, step = self._buffers(grad)
        m *= b1
        m += np.multiply(grad, 1.0 - b1, out=tmp)  # m = β₁ m + (1 − β₁) g
        np.square(grad, out=tmp)
        tmp *= 1.0 - b2
        v *= b2
        v += tmp  # v = β₂ v + (1 − β₂) g²
        lr = self.rate.adam_base(state) * np.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
        np.sqrt(v, out=tmp)
        tmp += grad.dtype.type(self.eps)
        np.divide(np.multiply(m, -lr), tmp, out=step)  # −γ_t m / (√v + ε) (γ_t a float64: as there)
        return step, replace(state, k=t, alpha=lr, lr=lr), StepInfo(step_size=lr)


class SklearnShuffles(np.random.Generator):
    """The sampling stream with scikit-learn's epoch orders: each ``permutation(S)`` (the sampler's
    new epoch) is scikit-learn's ``sample_idx = shuffle(sample_idx, random_state=rs)`` from its
    RandomState ``rs``, so that the loop visits scikit-learn's blocks for the same random_state.
    Every other draw comes from ``seed``'s stream (None: a fixed stream, for samplers that draw
    nothing else — scikit-learn's "sgd" and "adam" take no other random numbers)."""

    def __init__(self, random_state: np.random.RandomState, seed: np.random.Generator | None = None):
        bits = np.random.PCG64(0) if seed is None else type(seed.bit_generator)(seed.integers(2 ** 63))
        super().__init__(bits)
        self._random_state, self._order = random_state, None

    def permutation(self, x, axis=0):
        if not isinstance(x, (int, np.integer)):
            return super().permutation(x, axis)
        if self._order is None or len(self._order) != x:
            self._order = np.arange(x)
        self._order = sk_shuffle(self._order, random_state=self._random_state)
        return self._order


class SummedBlocks(MiniBatchSGD):
    """solver="minibatch": the lecture's mini-batch SGD on the per-sample losses ℓ_j of the estimator's
    objective, w ← w − γ_k Σ_{j∈B_k} ∇ℓ_j(w) = w − γ_k |B_k| ∇E_B(w) — a block moves as far as
    "lecture_sgd" (γ_k per sample) would over the same samples, where scikit-learn's "sgd" and
    mlplab's "momentum"/"adam" step along the block mean ∇E_B."""

    @property
    def draw(self) -> Draw:
        return Draw(self.batch_size, self.sampling, "summed")
