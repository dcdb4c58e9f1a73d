"""Optimizers, step-size schedules and line searches on the flat parameter vector w."""

from mlplab.optim.linesearch import Armijo, ExactLineSearch, LineSearchInfo
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
    "GD", "SGD", "MiniBatchSGD", "Momentum", "Adam", "Optimizer", "OptState", "StepInfo",
    "ExactLineSearch", "Armijo", "LineSearchInfo",
    "Schedule", "Constant", "Inverse", "Power", "StepDecay", "Exponential", "Custom", "as_schedule",
    "constant", "inverse", "power", "step", "exponential",
]
