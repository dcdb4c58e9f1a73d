"""Optimizers, step-size schedules and line searches on the flat parameter vector w.

A method = how B_k is drawn × a direction d^k × a step-size rule α_k (:mod:`.optimizers`);
:func:`method` builds one from option names (every front end does); :mod:`.schedules` holds
γ_k, :mod:`.linesearch` the exact and Armijo searches.
"""

from mlplab.optim.linesearch import Armijo, ExactLineSearch, LineSearchInfo
from mlplab.optim.methods import METHODS, method
from mlplab.optim.optimizers import (
    GD,
    SGD,
    Adam,
    MiniBatchSGD,
    Momentum,
    Optimizer,
    OptState,
    StepInfo,
)
from mlplab.optim.schedules import (
    Constant,
    Custom,
    Exponential,
    Inverse,
    Power,
    Schedule,
    StepDecay,
    as_schedule,
    constant,
    exponential,
    inverse,
    power,
    step,
)

__all__ = [
    "method", "METHODS", "GD", "SGD", "MiniBatchSGD", "Momentum", "Adam", "Optimizer", "OptState", "StepInfo",
    "ExactLineSearch", "Armijo", "LineSearchInfo",
    "Schedule", "Constant", "Inverse", "Power", "StepDecay", "Exponential", "Custom", "as_schedule",
    "constant", "inverse", "power", "step", "exponential",
]
