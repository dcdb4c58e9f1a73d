"""mlplab — multi-layer perceptrons trained the way the lecture teaches it.

The engine (this package's top level) depends on NumPy and SciPy only::

    import mlplab
    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init="zeros")
    result = mlplab.train(net, X, y, loss="squared", optimizer=mlplab.optim.GD("exact"), max_iter=50)
    result.stop_reason        # "unbounded": from w^0 = 0, E falls all the way to the line search's cap
    result.history.unbounded  # [True, False]: the toy data are separable, E's infimum lies at ‖w‖ → ∞
"""

from mlplab import datasets, optim
from mlplab.activations import ACTIVATIONS, get_activation
from mlplab.gradcheck import GradCheck, gradcheck
from mlplab.io import ModelFileError, load, save
from mlplab.losses import LOSSES, get_loss
from mlplab.network import MLP, LayerTrace, Trace
from mlplab.objective import Problem
from mlplab.optim import GD, SGD, Adam, MiniBatchSGD, Momentum
from mlplab.train import DivergenceError, History, TrainResult, train

__version__ = "0.3.0"


def __getattr__(name):
    # mlplab.sweep (from mlplab.sweeps) is an edge like the CLI: loaded on first use, not by `import mlplab`
    if name == "sweep":
        from mlplab.sweeps import sweep

        globals()["sweep"] = sweep
        return sweep
    raise AttributeError(f"module 'mlplab' has no attribute {name!r}")

__all__ = [
    "MLP", "Trace", "LayerTrace", "Problem", "gradcheck", "GradCheck", "train", "TrainResult",
    "History", "DivergenceError", "GD", "SGD", "MiniBatchSGD", "Momentum", "Adam",
    "save", "load", "ModelFileError", "ACTIVATIONS", "LOSSES", "get_activation", "get_loss", "datasets", "optim", "__version__",
    "sweep",
]
