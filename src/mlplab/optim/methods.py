"""One constructor for every front end: a method from its parts.

A method is how B_k is drawn (all samples, one sample j_k, or a block B_k: ``batch_size``,
``sampling``, ``average``) × a direction d^k (−g^k, heavy-ball or Nesterov momentum, Adam) ×
a step-size rule α_k (exact or Armijo line search, a constant, a schedule γ_k). The CLI, the
sweeps, the playground and the scikit-learn estimators all build their optimizer here, from
their own option names, so that the same options give the same method everywhere.
"""

from __future__ import annotations

from mlplab.optim import schedules
from mlplab.optim.optimizers import GD, SGD, Adam, MiniBatchSGD, Momentum, Optimizer

METHODS = ("gd", "sgd", "minibatch", "momentum", "adam")
SCHEDULES = ("constant", "inverse", "power", "step", "exp")


def schedule(name: str, c: float, *, power: float | None = None, factor: float | None = None,
             every: int | None = None, rate: float | None = None) -> schedules.Schedule:
    """γ_k by name: "constant" c, "inverse" c/(k+1), "power" c/(k+1)^p (p = 0.75),
    "step" c·f^⌊k/n⌋ (f = 0.5, n = 1000), "exp" c·exp(−r k) (r = 1e-3)."""
    if name == "constant":
        return schedules.constant(c)
    if name == "inverse":
        return schedules.inverse(c)
    if name == "power":
        return schedules.power(c, 0.75 if power is None else power)
    if name == "step":
        return schedules.step(c, factor or 0.5, every or 1000)
    if name in ("exp", "exponential"):
        return schedules.exponential(c, 1e-3 if rate is None else rate)
    raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {name!r}")


def method(name: str, *, step="exact", alpha_max: float | None = None, gamma=None, batch_size: int = 32,
           sampling: str | None = None, average: bool = False, beta: float | None = None,
           nesterov: bool = False, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """The optimizer ``name`` ∈ METHODS from its parts.

    Args:
        name: "gd" (all S samples), "sgd" (one sample j_k), "minibatch" (a block B_k), "momentum"
            or "adam" (their direction on mini-batch blocks).
        step: GD's α_k: "exact", "armijo" or a positive constant; alpha_max caps the exact search.
        gamma: the schedule γ_k of the stochastic methods (a Schedule, a number, or a callable).
        batch_size, sampling, average: how B_k is drawn and whether g^k is the block mean.
        beta, nesterov: momentum's β (default 0.9) and form; b1, b2, eps: Adam's.
    """
    if name == "gd":
        return GD(step) if alpha_max is None else GD(step, alpha_max=alpha_max)
    if name not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {name!r}")
    drawn = {} if sampling is None else {"sampling": sampling}
    if name == "sgd":
        return SGD(gamma, **drawn)
    base = MiniBatchSGD(batch_size, gamma, average=average, **drawn)
    if name == "minibatch":
        return base
    if name == "momentum":
        return Momentum(base, beta=0.9 if beta is None else beta, nesterov=bool(nesterov))
    return Adam(base, b1=b1, b2=b2, eps=eps)
