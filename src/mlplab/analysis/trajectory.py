"""Trajectories: keep every recorded iterate w^k of a run, w^{k+1} = w^k + α_k d^k.

The recorded iterates w^0, w^1, … (rows of a (n_records, d) array, aligned with
``result.history``) are what the loss-surface pictures draw as paths and what
:func:`mlplab.analysis.gradient_flow` reads w^0 from. NumPy only.
"""

from __future__ import annotations

import numpy as np


class TrajectoryRecorder:
    """``train(..., callback=TrajectoryRecorder(net), eval_every=1)`` keeps every recorded w^k.

    ``train`` calls it at each record (reading ``net.params`` there); after
    training, :meth:`finish` appends the final w if the last record was made
    without a callback (e.g. after a failed line search).

    Attributes:
        params: list of copies of w^k, one per record.
        records: the record dicts train passed.
    """

    def __init__(self, net, stop_at_cost: int | None = None):
        self.net = net
        self.stop_at_cost = stop_at_cost
        self.params: list[np.ndarray] = []
        self.records: list[dict] = []

    def __call__(self, record: dict):
        self.params.append(self.net.params.copy())
        self.records.append(dict(record))
        return self.stop_at_cost is not None and record["cost"] >= self.stop_at_cost

    def finish(self, result) -> np.ndarray:
        """(n_records, d) array of the trajectory, matching ``result.history``."""
        if len(self.params) < len(result.history):
            self.params.append(np.array(result.params, copy=True))
        return np.array(self.params)
