"""The training loop and its parts.

Reading order: :mod:`.loop` (the lecture's loop, :class:`Run`), :mod:`.run` (:func:`start`,
:func:`fit`: options checked, parts built), then the parts — :mod:`.sampler` (B_k),
:mod:`.monitor` (records), :mod:`.budget` (limits),
:mod:`.records` (History, TrainResult, Checkpoint, DivergenceError). :func:`mlplab.train` is
the front door. The step kernels are speed paths: :mod:`mlplab.fast.kernels`.
"""

from mlplab.training.loop import Run
from mlplab.training.records import Checkpoint, DivergenceError, History, TrainResult
from mlplab.training.run import fit, start

__all__ = ["Run", "fit", "start", "Checkpoint", "DivergenceError", "History", "TrainResult"]
