"""The training checkpoint format: a :class:`~mlplab.training.records.Checkpoint` as one ``.safetensors`` file.

Tensors: ``params`` (w^k, (d,)), ``opt.<slot>`` (momentum / Adam buffers, (d,)),
``sampler.order`` (the current epoch's permutation, int64), ``history.<column>`` (float64;
``layer_grad_norms`` (n_records, L)), ``monitor.acc_g`` (d,) and ``monitor.pending`` (d + 1,)
(the monitor's block sums since the last record); JSON metadata: counters, the sampling
RNG's state, the architecture of the network (when given) and ``extra`` — all that a
bit-identical resume needs. Checksummed like a model file (:mod:`mlplab.model_format`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mlplab.model_format import FORMAT_VERSION, ModelFileError, architecture, check_checksum, tensors_sha256


def checkpoint_bytes(checkpoint, path: Path, net=None, extra: dict | None = None) -> bytes:
    """The .safetensors bytes of a checkpoint (``path`` names it in errors); ValueError for NaN or inf in w^k."""
    from safetensors.numpy import save as st_save

    from mlplab import __version__

    ck = checkpoint
    if not np.all(np.isfinite(ck.params)):
        raise ValueError(f"cannot save checkpoint {str(path)!r}: its parameters w^{ck.k} contain NaN or inf")
    tensors = {"params": np.ascontiguousarray(ck.params)}
    for name, buf in ck.opt_state.slots.items():
        tensors[f"opt.{name}"] = np.ascontiguousarray(buf)
    if ck.sampler_order is not None:
        tensors["sampler.order"] = np.ascontiguousarray(ck.sampler_order, dtype=np.int64)
    for col in ck.history.__dataclass_fields__:  # the History columns, each a float64 tensor
        values = getattr(ck.history, col)
        arr = np.asarray(values, dtype=np.float64)
        if col == "layer_grad_norms":
            arr = arr.reshape(len(values), -1)
        tensors[f"history.{col}"] = np.ascontiguousarray(arr)
    monitor = None
    if ck.monitor_state is not None:  # the block sums since the last record (train's monitor)
        ms = ck.monitor_state
        tensors["monitor.acc_g"] = np.ascontiguousarray(ms["acc_g"])
        tensors["monitor.pending"] = np.ascontiguousarray(ms["pending"], dtype=np.float64)
        monitor = {"acc_E": float(ms["acc_E"]), "acc_n": int(ms["acc_n"]),
                   "step_work": int(ms.get("step_work", 0)), "exact_work": int(ms.get("exact_work", 0))}
    meta = {
        "format_version": FORMAT_VERSION,
        "mlplab_version": __version__,
        "kind": "checkpoint",
        "architecture": None if net is None else architecture(net),
        "k": ck.k, "cost": ck.cost, "seen": ck.seen, "elapsed": ck.elapsed, "forward_evals": ck.forward_evals,
        "opt_k": ck.opt_state.k, "opt_alpha": ck.opt_state.alpha,
        "rng_state": ck.rng_state, "sampler_pos": ck.sampler_pos,
        "monitor": monitor,
        "extra": extra or {},
        "tensors_sha256": tensors_sha256(tensors),
    }
    return st_save(tensors, metadata={"mlplab": json.dumps(meta, allow_nan=False)})


def checkpoint_from_file(path: Path, raw_meta: dict, tensors: dict):
    """(Checkpoint, metadata dict) from a checkpoint file's metadata strings and tensors, validated."""
    from mlplab.optim.optimizers import OptState
    from mlplab.training.records import Checkpoint, History

    where = repr(str(path))
    try:
        meta = json.loads(raw_meta["mlplab"])
    except (KeyError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{where} is not an mlplab checkpoint: its metadata is missing or not JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("kind") != "checkpoint" or meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{where} is not an mlplab checkpoint of format version {FORMAT_VERSION}")
    check_checksum(meta, tensors, where)
    try:
        params = tensors["params"]
        if params.ndim != 1 or not np.all(np.isfinite(params)):
            raise ValueError("params must be a finite flat vector")
        slots = {k[4:]: v for k, v in tensors.items() if k.startswith("opt.")}
        for name, buf in slots.items():
            if buf.shape != params.shape or buf.dtype != params.dtype:
                raise ValueError(f"optimizer buffer {name!r} does not match params")
        columns = {k[len("history."):]: v for k, v in tensors.items() if k.startswith("history.")}
        history = History.from_dict({k: v.tolist() for k, v in columns.items()})
        ck = Checkpoint(
            params=params, opt_state=OptState(k=int(meta["opt_k"]), alpha=meta["opt_alpha"], slots=slots),
            k=int(meta["k"]), cost=int(meta["cost"]), seen=int(meta["seen"]), elapsed=float(meta["elapsed"]),
            forward_evals=int(meta.get("forward_evals", 0)),
            rng_state=meta["rng_state"], sampler_pos=int(meta["sampler_pos"]),
            sampler_order=tensors.get("sampler.order"), history=history,
            monitor_state=_monitor_state(meta.get("monitor"), tensors, params))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{where}: checkpoint contents are inconsistent ({exc})") from None
    return ck, meta


def _monitor_state(meta_monitor, tensors, params):
    """The training monitor's block sums saved with a checkpoint (None when it had none)."""
    if meta_monitor is None:
        return None
    acc_g, pending = tensors.get("monitor.acc_g"), tensors.get("monitor.pending")
    if not isinstance(meta_monitor, dict) or acc_g is None or pending is None:
        raise ValueError("the monitor's block sums are incomplete")
    if acc_g.shape != params.shape or pending.shape != (params.size + 1,):
        raise ValueError("the monitor's block sums do not match params")
    return {"acc_E": float(meta_monitor["acc_E"]), "acc_n": int(meta_monitor["acc_n"]), "acc_g": acc_g,
            "pending": pending, "step_work": int(meta_monitor.get("step_work", 0)),
            "exact_work": int(meta_monitor.get("exact_work", 0))}
