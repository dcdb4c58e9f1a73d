"""Optimizers on the flat parameter vector w, as ``init`` / ``update`` pairs.

Every optimizer computes w^{k+1} = w^k + α_k d^k from a gradient g^k that the
training loop evaluates on the samples the optimizer asks for:

=====================  ==================  ===========================  ==========================
optimizer              samples B_k         direction d^k                step size α_k
=====================  ==================  ===========================  ==========================
:class:`GD`            all S               −∇E(w^k)                     exact line search, Armijo
                                                                        or a constant
:class:`SGD`           one sample j_k      −∇e^{j_k}(w^k)               schedule γ_k
:class:`MiniBatchSGD`  a block B_k         −Σ_{j∈B_k} ∇e^j(w^k)         schedule γ_k
                                           (or the block mean)
:class:`Momentum`      as its base         −v^k, v^k = β v^{k−1} + g^k   as its base
                                           (Nesterov: −(g^k + β v^k))
:class:`Adam`          as its base         −m̂^k / (√v̂^k + ε)            as its base
=====================  ==================  ===========================  ==========================

State is explicit (optax style) and never mutated: ``update`` returns a new state::

    state = opt.init(w)
    step, state, info = opt.update(g, state, w, value_fn=E_on_the_batch)
    w += step

``value_fn(w) -> float`` evaluates the objective on the same samples as g; only
line searches call it. ``info`` holds the step size used and line-search
details. Momentum and Adam are built by composition around a base optimizer,
whose sampling and step-size rule they keep.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from mlplab.fast import blas
from mlplab._checks import check_int, check_real, is_real
from mlplab.optim.linesearch import Armijo, ExactLineSearch
from mlplab.optim.schedules import Schedule, as_schedule, inverse

SAMPLINGS = ("uniform", "shuffle", "cyclic")


@dataclass(frozen=True)
class OptState:
    """Explicit optimizer state.

    Attributes:
        k: number of updates done so far (the next step is step k).
        alpha: the last step size (a line search's warm start).
        slots: per-parameter buffers of composed optimizers (momentum v; Adam m, v);
            ``update`` puts new arrays here instead of writing into the old ones.
    """

    k: int = 0
    alpha: float | None = None
    slots: dict = field(default_factory=dict)


@dataclass
class StepInfo:
    """What one update did: the step size and, for line searches, their details.

    Attributes:
        step_size: α_k (or γ_k).
        n_evals: line-search evaluations of φ alone (each a forward pass over the batch).
        n_slope_evals: line-search evaluations of (φ, φ′) (a forward and a forward-mode pass).
        capped: α_k = alpha_max.
        unbounded: E was still decreasing at alpha_max along d^k (no minimiser on the ray
            up to the cap; the step was capped there).
        failed: the line search found no decrease (α_k = 0).
        n_basins: basins of φ the exact line search saw; lowest: whether the one taken
            was the lowest found.
        restarted: momentum reset because its direction was not a descent direction.
    """

    step_size: float
    n_evals: int = 0
    n_slope_evals: int = 0
    capped: bool = False
    unbounded: bool = False
    failed: bool = False
    n_basins: int = 0
    lowest: bool = True
    restarted: bool = False

    @property
    def forward_passes(self) -> int:
        """Forward passes over the batch this step's line search made (φ: 1, (φ, φ′): 2)."""
        return self.n_evals + 2 * self.n_slope_evals


@dataclass(frozen=True)
class Draw:
    """How B_k is drawn and summed.

    Attributes:
        batch_size: |B_k| (None: all S samples, GD).
        mode: "full", "uniform", "shuffle" or "cyclic" (see :class:`SGD`, :class:`MiniBatchSGD`).
        block: "sum" — g^k = ∇E_B as the objective's reduction gives it (the lecture's Σ_{j∈B_k} ∇e^j
            for E = Σ_s e^s); "mean" — the block mean (1/|B_k|) Σ_{j∈B_k} ∇e^j of a summed
            objective; "summed" — the block sum |B_k| ∇E_B of a "mean" objective's per-sample losses.
    """

    batch_size: int | None
    mode: str
    block: str = "sum"


def scheduled_step(g: np.ndarray, gamma: float, out: np.ndarray | None = None) -> np.ndarray:
    """The (stochastic) gradient step −γ_k g^k, in g's dtype (``out``: a buffer to write it into)."""
    return np.multiply(g, g.dtype.type(-gamma), out=out)


class Optimizer:
    """A method = how B_k is drawn (:attr:`draw`) × a direction d^k (:meth:`direction`) × a
    step-size rule α_k (:meth:`step_size`); ``update`` composes them: the step α_k d^k.

    Subclasses define ``batch_size`` (None: all samples), ``sampling``,
    ``average``, :meth:`direction` and :meth:`step_size`.
    """

    batch_size: int | None = None
    sampling: str = "uniform"
    average: bool = False
    uses_line_search: bool = False

    @property
    def draw(self) -> Draw:
        """How the loop draws B_k and scales its gradient (the one thing it asks about sampling)."""
        return Draw(self.batch_size, self.sampling, "mean" if self.average else "sum")

    @property
    def fused_schedule(self):
        """The schedule γ_k when every step is exactly ``scheduled_step(g^k, γ_k)`` (the fused and
        compiled kernels may then take it), else None."""
        return None

    def init(self, params: np.ndarray) -> OptState:
        return OptState()

    def advanced(self, state: OptState, n: int, alpha: float) -> OptState:
        """The state after n steps of a fused kernel, the last with step size alpha."""
        return OptState(k=state.k + n, alpha=alpha, slots=state.slots)

    def direction(self, grad: np.ndarray, state: OptState) -> tuple[np.ndarray, OptState]:
        return -grad, state  # d^k = −g^k, the steepest-descent direction

    def step_size(self, d, grad, state, params, loss, value_fn) -> StepInfo:  # pragma: no cover
        raise NotImplementedError

    def update(self, grad: np.ndarray, state: OptState, params: np.ndarray, *,
               loss: float | None = None, value_fn=None):
        """One step: returns (step = α_k d^k, new state, StepInfo)."""
        d, state = self.direction(grad, state)
        restarted = False
        if self.uses_line_search and blas.dot(grad, d) >= 0:
            d, restarted = -grad, True  # not a descent direction: fall back to −g
        info = self.step_size(d, grad, state, params, loss, value_fn)
        info.restarted = restarted
        d *= d.dtype.type(info.step_size)  # α_k d^k, in place
        return d, replace(state, k=state.k + 1, alpha=info.step_size), info


class GD(Optimizer):
    """Gradient descent on all S samples: w^{k+1} = w^k + α_k d^k, d^k = −∇E(w^k).

    Args:
        step: ``"exact"`` (the lecture's α_k = argmin_{α>0} E(w^k + α d^k)),
            ``"armijo"`` (backtracking), a positive number (constant α), or a
            line-search object (:class:`ExactLineSearch`, :class:`Armijo`).
        alpha_max: cap of the exact line search (see :class:`ExactLineSearch`).
    """

    batch_size = None
    sampling = "full"

    def __init__(self, step="exact", alpha_max: float = 1e4):
        if isinstance(step, str):
            if step == "exact":
                step = ExactLineSearch(alpha_max=alpha_max)
            elif step == "armijo":
                step = Armijo()
            else:
                raise ValueError(f"GD step must be 'exact', 'armijo', a number or a line search; got {step!r}")
        elif is_real(step):
            step = check_real("GD constant step", step, low=0.0, low_open=True)
        elif not isinstance(step, (ExactLineSearch, Armijo)):
            raise ValueError(f"GD step must be 'exact', 'armijo', a number or a line search; got {step!r}")
        self.step = step
        self.uses_line_search = not isinstance(step, float)

    def __repr__(self):
        return f"GD(step={self.step!r})"

    def step_size(self, d, grad, state, params, loss, value_fn) -> StepInfo:
        if not self.uses_line_search:
            return StepInfo(step_size=self.step)
        if value_fn is None or loss is None:
            raise ValueError("a line search needs value_fn and loss (E at w^k)")
        slope = blas.dot(grad, d)  # φ′(0) = ⟨∇E(w^k), d^k⟩ < 0
        if hasattr(value_fn, "along"):  # the training loop's: reuses layer 1's GEMMs, gives φ′ too
            phi = value_fn.along(params, d)
        else:
            trial = np.empty_like(params)

            def phi(alpha):  # φ(α) = E(w^k + α d^k)
                np.multiply(d, d.dtype.type(alpha), out=trial)
                np.add(trial, params, out=trial)
                return value_fn(trial)

        alpha_init = state.alpha if state.alpha else (1.0 if isinstance(self.step, ExactLineSearch) else None)
        alpha, ls = self.step(phi, loss, slope, alpha_init)
        return StepInfo(step_size=alpha, n_evals=ls.n_evals, n_slope_evals=getattr(ls, "n_slope_evals", 0),
                        capped=ls.capped, unbounded=getattr(ls, "unbounded", False), failed=ls.failed,
                        n_basins=getattr(ls, "n_basins", 0), lowest=getattr(ls, "lowest", True))


class Scheduled(Optimizer):
    """Step size γ_k from a schedule (SGD, mini-batch SGD)."""

    schedule: Schedule

    def step_size(self, d, grad, state, params, loss, value_fn) -> StepInfo:
        return StepInfo(step_size=self.schedule(state.k))

    @property
    def plain(self) -> bool:
        """d^k = −g^k (not overridden by a subclass), so the step is −γ_k g^k."""
        return type(self).direction is Optimizer.direction

    @property
    def fused_schedule(self):
        kind = type(self)
        plain = self.plain and kind.update is Scheduled.update and kind.step_size is Scheduled.step_size
        return self.schedule if plain else None

    def update(self, grad, state, params, *, loss=None, value_fn=None):
        """(step = −γ_k g^k, new state, StepInfo): d^k = −g^k and α_k = γ_k in one pass over g."""
        if not self.plain:  # a subclass with its own d^k
            return super().update(grad, state, params, loss=loss, value_fn=value_fn)
        gamma = self.schedule(state.k)
        return scheduled_step(grad, gamma), replace(state, k=state.k + 1, alpha=gamma), StepInfo(step_size=gamma)


def _check_sampling(sampling):
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}; got {sampling!r}")
    return sampling


class SGD(Scheduled):
    """Stochastic gradient descent: pick j_k, w^{k+1} = w^k − γ_k ∇e^{j_k}(w^k).

    Args:
        schedule: γ_k — a :mod:`~mlplab.optim.schedules` object, a number
            (constant), a name, or a callable k ↦ γ_k. Default: the lecture's
            γ_k = 1/(k+1).
        sampling: how j_k is chosen — "uniform" (i.i.d. uniform over the S
            samples, the lecture's), "shuffle" (a fresh random permutation each
            epoch), or "cyclic" (1, 2, …, S, 1, …).
    """

    batch_size = 1

    def __init__(self, schedule=None, sampling: str = "uniform"):
        self.schedule = as_schedule(schedule, inverse(1.0))
        self.sampling = _check_sampling(sampling)

    def __repr__(self):
        return f"SGD(schedule={self.schedule!r}, sampling={self.sampling!r})"


class MiniBatchSGD(Scheduled):
    """Mini-batch SGD: pick B_k, w^{k+1} = w^k − γ_k Σ_{j∈B_k} ∇e^j(w^k).

    Args:
        batch_size: |B_k| (the last block of an epoch may be smaller with
            "shuffle"/"cyclic" sampling).
        schedule: γ_k, as for :class:`SGD` (default 1/(k+1)).
        average: use the block mean (1/|B_k|) Σ_{j∈B_k} ∇e^j instead of the
            lecture's sum.
        sampling: "shuffle" (default: disjoint blocks of a fresh permutation
            each epoch), "uniform" (each block drawn without replacement,
            independently), or "cyclic" (consecutive blocks in data order).
    """

    def __init__(self, batch_size: int = 32, schedule=None, average: bool = False, sampling: str = "shuffle"):
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.schedule = as_schedule(schedule, inverse(1.0))
        self.average = bool(average)
        self.sampling = _check_sampling(sampling)

    def __repr__(self):
        return (f"MiniBatchSGD(batch_size={self.batch_size}, schedule={self.schedule!r}, "
                f"average={self.average}, sampling={self.sampling!r})")


class _Composed(Optimizer):
    """Wraps a base optimizer: keeps its sampling and step-size rule, changes the direction."""

    def __init__(self, base: Optimizer):
        if not isinstance(base, Optimizer) or isinstance(base, _Composed):
            raise ValueError(
                f"base must be GD(...), SGD(...) or MiniBatchSGD(...), got {base!r}; "
                "Momentum and Adam each replace the direction, so they do not nest")
        self.base = base
        self.batch_size = base.batch_size
        self.sampling = base.sampling
        self.average = base.average
        self.uses_line_search = base.uses_line_search

    def step_size(self, d, grad, state, params, loss, value_fn) -> StepInfo:
        return self.base.step_size(d, grad, state, params, loss, value_fn)


class Momentum(_Composed):
    """Heavy-ball momentum (or Nesterov) around a base optimizer.

    v^k = β v^{k−1} + g^k;  d^k = −v^k, or d^k = −(g^k + β v^k) with ``nesterov``
    (the form PyTorch uses); w^{k+1} = w^k + α_k d^k with the base's α_k. With a
    line-searched base, a momentum direction that is not a descent direction
    restarts the momentum (v ← g).

    Args:
        base: the optimizer whose samples and step sizes are used
            (default ``MiniBatchSGD(32, schedule=0.01, average=True)``).
        beta: momentum coefficient in [0, 1] (β = 1: v^k sums every gradient so far, as scikit-learn allows).
        nesterov: use Nesterov's look-ahead form.
    """

    def __init__(self, base: Optimizer | None = None, beta: float = 0.9, nesterov: bool = False):
        super().__init__(base if base is not None else MiniBatchSGD(32, schedule=0.01, average=True))
        self.beta, self.nesterov = check_real("beta", beta, low=0.0, high=1.0), bool(nesterov)

    def __repr__(self):
        return f"Momentum({self.base!r}, beta={self.beta}, nesterov={self.nesterov})"

    def init(self, params):
        return replace(self.base.init(params), slots={"v": np.zeros_like(params)})

    def direction(self, grad, state):
        beta = grad.dtype.type(self.beta)
        v = beta * state.slots["v"] + grad  # v^k = β v^{k−1} + g^k
        d = -(grad + beta * v) if self.nesterov else -v
        return d, replace(state, slots={"v": v})

    def update(self, grad, state, params, *, loss=None, value_fn=None):
        step, state, info = super().update(grad, state, params, loss=loss, value_fn=value_fn)
        if info.restarted:  # the step taken was along −g: momentum starts again from v = g
            state = replace(state, slots={"v": grad.copy()})
        return step, state, info


class Adam(_Composed):
    """Adam (Kingma & Ba, 2015) around a base optimizer.

    m^k = β₁ m^{k−1} + (1 − β₁) g^k,  v^k = β₂ v^{k−1} + (1 − β₂) (g^k)²,
    m̂ = m^k / (1 − β₁^{k+1}),  v̂ = v^k / (1 − β₂^{k+1}),
    d^k = −m̂ / (√v̂ + ε),  w^{k+1} = w^k + α_k d^k with the base's α_k.

    Args:
        base: default ``MiniBatchSGD(32, schedule=1e-3, average=True)``.
        b1, b2: moment decay rates in [0, 1).
        eps: ε > 0.
    """

    def __init__(self, base: Optimizer | None = None, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
        super().__init__(base if base is not None else MiniBatchSGD(32, schedule=1e-3, average=True))
        self.b1 = check_real("b1", b1, low=0.0, high=1.0, high_open=True)
        self.b2 = check_real("b2", b2, low=0.0, high=1.0, high_open=True)
        self.eps = check_real("eps", eps, low=0.0, low_open=True)

    def __repr__(self):
        return f"Adam({self.base!r}, b1={self.b1}, b2={self.b2}, eps={self.eps})"

    def init(self, params):
        return replace(self.base.init(params), slots={"m": np.zeros_like(params), "v": np.zeros_like(params)})

    def direction(self, grad, state):
        # three new arrays per step (m^k, v^k, d^k: the old state stays valid) and one scratch array
        # kept across steps, instead of a temporary per operation; the same operations in the same
        # order as m = β₁ m + (1 − β₁) g, …, d = −m̂ / (√v̂ + ε), so the same bits
        f = grad.dtype.type
        t = state.k + 1
        m, v, scratch = self._moments(grad, state)
        m_hat = np.divide(m, f(1 - self.b1 ** t), out=scratch)  # bias corrections
        d = np.divide(v, f(1 - self.b2 ** t))  # v̂
        np.sqrt(d, out=d)
        d += f(self.eps)
        np.divide(m_hat, d, out=d)
        np.negative(d, out=d)  # −m̂ / (√v̂ + ε)
        return d, replace(state, slots={"m": m, "v": v})

    def _moments(self, grad, state):
        """(m^k, v^k, scratch): two new arrays, and the scratch array they were computed with."""
        f = grad.dtype.type
        scratch = self._scratch(grad)
        m = np.multiply(state.slots["m"], f(self.b1))
        m += np.multiply(grad, f(1 - self.b1), out=scratch)  # m^k = β₁ m + (1 − β₁) g
        v = np.multiply(state.slots["v"], f(self.b2))
        np.multiply(grad, grad, out=scratch)
        v += np.multiply(scratch, f(1 - self.b2), out=scratch)  # v^k = β₂ v + (1 − β₂) g²
        return m, v, scratch

    def __getstate__(self):  # (pickles and copies leave the scratch array behind)
        state = self.__dict__.copy()
        state.pop("_buf", None)
        return state

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        buf = self.__dict__.get("_buf")
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._buf = np.empty_like(like)
        return buf
