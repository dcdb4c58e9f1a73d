"""A session's downloads: the network w^k as an mlplab model file, the (thinned) history as CSV."""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile

import mlplab


def model_bytes(net, extra: dict) -> bytes:
    """``net`` as an ``mlplab.save`` file (``extra``: its metadata), as bytes."""
    fd, path = tempfile.mkstemp(suffix=".safetensors")
    os.close(fd)
    try:
        mlplab.save(net, path, extra=extra)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


def history_csv(rows: list, n_layers: int, test: bool) -> str:
    """The records as CSV: k, cost, E, ‖∇E‖, step size, ‖∇_{W^ℓ}E‖ per layer (and, with a test set,
    its loss E_test·S/S_test); floats written exactly (repr), a step size not taken yet left empty."""
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    layers = [f"grad_norm_W{ell}" for ell in range(1, n_layers + 1)]
    wr.writerow(["k", "cost", "loss", "grad_norm", "step_size"] + layers + (["test_loss_scaled"] if test else []))
    for r in rows:
        wr.writerow([r["k"], repr(r["cost"]), repr(r["loss"]), repr(r["grad_norm"]),
                     "" if math.isnan(r["step_size"]) else repr(r["step_size"])] + [repr(v) for v in r["layers"]]
                    + ([repr(r["test_loss"])] if test else []))
    return buf.getvalue()
