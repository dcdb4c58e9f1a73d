"""Model files: one ``.safetensors`` file, weights plus JSON metadata, no pickle.

Layout of a file written by :func:`save`:

* tensors ``layers.<ℓ>.weight`` = W^ℓ, shape (N_ℓ, N_{ℓ−1}), and
  ``layers.<ℓ>.bias`` = b^ℓ (when the network has biases), in the network's dtype;
* metadata key ``mlplab``: a JSON object with ``format_version``,
  ``mlplab_version``, ``kind`` ("MLP", "MLPClassifier" or "MLPRegressor"),
  ``architecture`` (layer_sizes, activations, bias, dtype) and, for
  estimators, ``estimator`` (its parameters, classes, fitted scalars and
  loss curve); callers may add their own JSON-able ``extra`` (training
  configuration, metrics, scalers), and ``tensors_sha256``: the SHA-256 of
  the tensors (see :func:`tensors_sha256`), checked on load; a file without it
  loads only when its ``mlplab_version`` is older than 0.3 (which did not write it).

Writes are atomic: the file is written to a temporary file in the same folder,
flushed and fsynced, then moved over the target with ``os.replace``, so an
interruption never leaves a half-written or destroyed model. Loading validates
everything before use — header, metadata, format version, tensor names,
shapes against the architecture, dtypes, the tensors' checksum, finite
values — and raises :class:`ModelFileError` (a ``ValueError``) naming the
problem. Non-finite weights are refused when saving (``ValueError`` naming the
layer), so a model file never holds a diverged network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
_KINDS = ("MLP", "MLPClassifier", "MLPRegressor")


class ModelFileError(ValueError):
    """A model file is missing, unreadable, corrupt, tampered with or of an unsupported version."""


# --- saving ---------------------------------------------------------------------------------


def tensors_sha256(tensors: dict) -> str:
    """Hex SHA-256 over the tensors in name order: each name, dtype, shape and raw (C-order) bytes."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = np.ascontiguousarray(tensors[name])
        h.update(f"{name}\0{t.dtype.str}\0{t.shape}\0".encode())
        h.update(t.tobytes())
    return h.hexdigest()


CHECKSUM_SINCE = (0, 3)  # every file written by mlplab 0.3 or later has tensors_sha256


def _written_before_checksums(meta: dict) -> bool:
    """The file says it is from an mlplab that did not store checksums (before 0.3)."""
    match = re.match(r"(\d+)\.(\d+)", str(meta.get("mlplab_version", "")))
    return match is not None and (int(match[1]), int(match[2])) < CHECKSUM_SINCE


def _check_checksum(meta: dict, tensors: dict, where: str) -> None:
    expected = meta.get("tensors_sha256")
    if expected is None:
        if _written_before_checksums(meta):
            return
        raise ModelFileError(f"{where}: the file has no SHA-256 checksum of its tensors, which every file of "
                             f"mlplab {CHECKSUM_SINCE[0]}.{CHECKSUM_SINCE[1]} or later has (it says mlplab "
                             f"{meta.get('mlplab_version')!r}); it was modified — restore it from a copy or "
                             "re-train the model")
    if not isinstance(expected, str) or tensors_sha256(tensors) != expected:
        raise ModelFileError(f"{where}: the tensor data do not match the file's SHA-256 checksum; the file is "
                             "corrupt or was modified — restore it from a copy or re-train the model")


def save(model, path, *, extra: dict | None = None) -> Path:
    """Write an :class:`mlplab.MLP` or a fitted mlplab estimator to ``path`` (.safetensors).

    Args:
        model: the network, or a fitted ``mlplab.sklearn`` estimator.
        path: destination file; its folder must exist. An existing file is
            replaced atomically.
        extra: optional JSON-able dictionary stored with the model.

    Returns:
        the path written.
    """
    from safetensors.numpy import save as st_save

    from mlplab import __version__
    from mlplab.network import MLP

    path = Path(path)
    if isinstance(model, MLP):
        net, kind, estimator = model, "MLP", None
    elif type(model).__name__ in _KINDS[1:] and type(model).__module__ == "mlplab.sklearn":
        if not hasattr(model, "net_"):
            raise ValueError(f"{type(model).__name__} is not fitted yet; call fit before saving it")
        net, kind, estimator = model.net_, type(model).__name__, _estimator_state(model)
    else:
        raise ValueError(f"save() takes an mlplab.MLP or a fitted mlplab.sklearn estimator, got {type(model).__name__}")
    tensors = {}
    for ell, W in enumerate(net.weights, start=1):
        tensors[f"layers.{ell}.weight"] = np.ascontiguousarray(W)
        if net.biases is not None:
            tensors[f"layers.{ell}.bias"] = np.ascontiguousarray(net.biases[ell - 1])
    for name, t in tensors.items():
        if not np.all(np.isfinite(t)):
            ell, part = name.split(".")[1], name.split(".")[2]
            raise ValueError(f"cannot save {str(path)!r}: layer {ell}'s {part} ({'W' if part == 'weight' else 'b'}"
                             f"^{ell}) contains NaN or inf; the network diverged — re-train it (smaller step) "
                             "instead of saving it")
    meta = {
        "format_version": FORMAT_VERSION,
        "mlplab_version": __version__,
        "kind": kind,
        "architecture": architecture(net),
        "estimator": estimator,
        "extra": extra or {},
        "tensors_sha256": tensors_sha256(tensors),
    }
    try:
        header = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model metadata is not JSON-serialisable: {exc}") from None
    data = st_save(tensors, metadata={"mlplab": header})
    atomic_write(path, data)
    return path


def architecture(net) -> dict:
    """The JSON description from which :class:`mlplab.MLP` can be rebuilt."""
    return {
        "layer_sizes": list(net.layer_sizes),
        "activations": [a.name for a in net.activations],
        "bias": net.bias,
        "dtype": net.dtype.name,
    }


# the temporary files atomic_write makes: ".<name>.<pid>.<8 characters of tempfile>.tmp" (mlplab 0.2 wrote
# them without the pid) for the files mlplab writes, and the probes of the command line's output checks
_TEMP_NAME = re.compile(r"^\.(.+\.(safetensors|csv|html|png|json|npz|npy)|mlplab-probe)\.(?:(?P<pid>\d+)\.)?"
                        r"[A-Za-z0-9_]{8}\.tmp$")


def _process_start() -> float:
    """When this process started (wall clock), from /proc/self/stat; else when mlplab.io was imported."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime, after the ")"
        clock = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)
        return time.time() - (time.clock_gettime(clock) - since_boot)
    except (OSError, ValueError, IndexError, AttributeError):
        return _IMPORTED


_IMPORTED = time.time()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists
        return True
    return True


def remove_stale_temporaries(folder) -> list[Path]:
    """Remove the temporary files that killed writes of mlplab left in ``folder``; returns them.

    Only names of :func:`atomic_write`'s pattern count (``.model.safetensors.4711.k3j_x9a2.tmp``):
    one whose writer (the pid in its name) is no longer running, or, for names without a pid, one
    last modified before this process started. A write in progress elsewhere is never touched.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    start = None
    for e in entries:
        m = _TEMP_NAME.match(e.name)
        if m is None:
            continue
        try:
            if not e.is_file(follow_symlinks=False):
                continue
            if m.group("pid") is not None:
                pid = int(m.group("pid"))
                if pid == os.getpid() or _alive(pid):
                    continue
            else:
                start = _process_start() if start is None else start
                if e.stat(follow_symlinks=False).st_mtime >= start:
                    continue
            os.unlink(e.path)
            removed.append(Path(e.path))
        except OSError:
            continue
    return removed


def atomic_write(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temporary file in the same folder, fsync, ``os.replace``.

    The new file gets the usual permissions (0o666 minus the umask); an
    interruption at any point leaves the previous file, if any, untouched. A symbolic link is
    written through (its target is replaced, the link stays); a path that exists but is not a
    regular file (a FIFO, a device) is refused.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():
        raise ValueError(f"cannot save to {str(path)!r}: it exists and is not a regular file (a FIFO, a device "
                         "or a socket); give the path of a file")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"cannot save to {str(path)!r}: folder {str(folder)!r} does not exist")
    remove_stale_temporaries(folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a saved model is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# --- loading ---------------------------------------------------------------------------------


def load(path):
    """Read a model file written by :func:`save`; returns an MLP or a fitted estimator.

    Raises:
        ModelFileError: the file is missing, not a safetensors file, truncated,
            tampered with, or inconsistent with its own architecture.
    """
    net, meta = load_network(path)
    if meta["kind"] == "MLP":
        return net
    from mlplab.sklearn import _restore_estimator  # scikit-learn only when an estimator is loaded

    try:
        state = dict(meta["estimator"])
        state["params"] = {key: _param_from_json(value) for key, value in state["params"].items()}
        return _restore_estimator(meta["kind"], state, net)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{str(path)!r}: estimator metadata is invalid ({exc})") from None


def _read_file(path: Path, what: str):
    """(metadata dict of strings, {name: tensor}) of a safetensors file; ModelFileError if unreadable."""
    from safetensors import safe_open

    where = repr(str(path))
    if path.is_dir():
        raise ModelFileError(f"{what} {where} is a directory; give the {what} itself")
    if not path.is_file():
        raise ModelFileError(f"{what} {where} does not exist")
    try:
        with safe_open(str(path), framework="numpy") as f:
            return f.metadata() or {}, {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors reports corrupt headers with its own exception types
        raise ModelFileError(f"{where} is not a readable .safetensors {what} ({exc}); "
                             "it may be truncated or corrupt — re-save or re-train the model") from None


def load_network(path):
    """(MLP, metadata dict) from a model file, fully validated."""
    from mlplab.network import MLP

    path = Path(path)
    where = repr(str(path))
    raw_meta, tensors = _read_file(path, "model file")
    names = set(tensors)
    if "mlplab" not in raw_meta:
        raise ModelFileError(f"{where} has no mlplab metadata; it was not written by mlplab.save")
    try:
        meta = json.loads(raw_meta["mlplab"])
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{where}: mlplab metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{where}: mlplab metadata must be a JSON object")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{where} has model format version {version!r}; this mlplab reads version "
                             f"{FORMAT_VERSION} — upgrade mlplab or re-save the model")
    if meta.get("kind") == "checkpoint":
        raise ModelFileError(f"{where} is a training checkpoint, not a model file; continue its run with "
                             f"`mlplab train --resume {str(path.parent)}` (or --resume {str(path)}), which "
                             "saves a model with --out")
    if meta.get("kind") not in _KINDS:
        raise ModelFileError(f"{where}: unknown model kind {meta.get('kind')!r}")
    _check_checksum(meta, tensors, where)
    arch = meta.get("architecture")
    _check_shapes(arch, tensors, where)  # the metadata against the tensors actually in the file, before allocating
    try:
        net = MLP(arch["layer_sizes"], activation=list(arch["activations"]), bias=bool(arch["bias"]),
                  init="zeros", dtype=arch["dtype"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{where}: architecture metadata is invalid ({exc})") from None
    expected = {f"layers.{ell}.weight" for ell in range(1, net.n_layers + 1)}
    if net.bias:
        expected |= {f"layers.{ell}.bias" for ell in range(1, net.n_layers + 1)}
    if names != expected:
        raise ModelFileError(f"{where}: tensors {sorted(names ^ expected)} do not match the architecture "
                             f"{arch['layer_sizes']}")
    for ell in range(1, net.n_layers + 1):
        pairs = [(f"layers.{ell}.weight", net.weights[ell - 1])]
        if net.bias:
            pairs.append((f"layers.{ell}.bias", net.biases[ell - 1]))
        for name, view in pairs:
            t = tensors[name]
            if t.shape != view.shape:
                raise ModelFileError(f"{where}: tensor {name} has shape {t.shape}, the architecture needs {view.shape}")
            if t.dtype != net.dtype:
                raise ModelFileError(f"{where}: tensor {name} has dtype {t.dtype}, the architecture says {net.dtype}")
            if not np.all(np.isfinite(t)):
                raise ModelFileError(f"{where}: tensor {name} contains NaN or inf")
            view[...] = t
    return net, meta


def _check_shapes(arch, tensors: dict, where: str) -> None:
    """The architecture metadata must describe exactly the tensors in the file (names, shapes, dtype).

    Checked before the network is built, so a small file whose metadata claims a huge network
    is refused without allocating it.
    """
    if not isinstance(arch, dict):
        raise ModelFileError(f"{where}: architecture metadata is missing or not an object")
    sizes, bias = arch.get("layer_sizes"), arch.get("bias")
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes)):
        raise ModelFileError(f"{where}: architecture metadata is invalid (layer_sizes must be a list of at least two "
                             f"positive integers, got {sizes!r})")
    if not isinstance(bias, bool):
        raise ModelFileError(f"{where}: architecture metadata is invalid (bias must be true or false, got {bias!r})")
    expected = {}
    for ell in range(1, len(sizes)):
        expected[f"layers.{ell}.weight"] = (sizes[ell], sizes[ell - 1])
        if bias:
            expected[f"layers.{ell}.bias"] = (sizes[ell],)
    if set(tensors) != set(expected):
        raise ModelFileError(f"{where}: the metadata claim layer sizes {sizes}, but tensors "
                             f"{sorted(set(tensors) ^ set(expected))} are missing or extra; the file is corrupt "
                             "or was modified — re-save or re-train the model")
    for name, shape in expected.items():
        t = tensors[name]
        if tuple(t.shape) != shape:
            raise ModelFileError(f"{where}: the metadata claim layer sizes {sizes} (tensor {name} of shape {shape}) "
                                 f"but the file holds {name} of shape {tuple(t.shape)}; the file is corrupt or "
                                 "was modified — re-save or re-train the model")
        if str(t.dtype) != str(arch.get("dtype")):
            raise ModelFileError(f"{where}: tensor {name} has dtype {t.dtype}, the architecture says "
                                 f"{arch.get('dtype')!r}")


def _estimator_state(est) -> dict:
    """The JSON-able part of a fitted estimator: its parameters and fitted scalars."""
    from mlplab.optim.schedules import Custom, Schedule

    params = {}
    for key, value in est.get_params(deep=False).items():
        if isinstance(value, Schedule) and not isinstance(value, Custom):  # a built-in schedule: its fields
            value = {"schedule": type(value).__name__, **{f: getattr(value, f) for f in value.__dataclass_fields__}}
        elif callable(value):
            raise ValueError(f"cannot save {type(est).__name__}: parameter {key}={value!r} is a callable, which "
                             "a model file cannot hold without pickle; use a schedule name or object instead")
        elif isinstance(value, np.random.RandomState):
            value = None
        params[key] = _param_to_json(value)
    classes = getattr(est, "classes_", None)
    state = {
        "params": params,
        "n_features_in": int(est.n_features_in_),
        "feature_names_in": None if not hasattr(est, "feature_names_in_") else [str(f) for f in est.feature_names_in_],
        "classes": None if classes is None else np.asarray(classes).tolist(),
        "target_type": getattr(getattr(est, "_binarizer", None), "y_type_", None),
        "y_1d": getattr(est, "_y_1d", None),
        "n_iter": int(est.n_iter_),
        "t": int(est.t_),
        "loss": float(est.loss_),
        "loss_curve": [float(v) for v in est.loss_curve_] if hasattr(est, "loss_curve_") else None,
        "best_loss": None if getattr(est, "best_loss_", None) is None else float(est.best_loss_),
        "validation_scores": (None if getattr(est, "validation_scores_", None) is None
                              else [float(v) for v in est.validation_scores_]),
    }
    return state


# Estimator parameters in JSON. JSON has only string object keys and no inf/NaN, so two values are
# tagged: a dict (class_weight) is {"__dict__": [[key, value], ...]}, keeping int, float, bool and
# str keys as they are, and a non-finite float (n_iter_no_change=np.inf) is {"__float__": "inf"}.
# Tuples and arrays become lists, NumPy scalars Python ones (_restore_estimator turns lists back).
_DICT_TAG, _FLOAT_TAG = "__dict__", "__float__"


def _param_to_json(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return {_FLOAT_TAG: repr(value)}  # 'inf', '-inf', 'nan'
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            k = k.item() if isinstance(k, np.generic) else k
            if not isinstance(k, (str, int, float)):
                raise ValueError(f"dictionary key {k!r} of type {type(k).__name__} cannot be stored in a model file")
            items.append([_param_to_json(k), _param_to_json(v)])
        return {_DICT_TAG: items}
    if isinstance(value, (tuple, list)):
        return [_param_to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_param_to_json(v) for v in value.tolist()]
    return value


def _param_from_json(value):
    if isinstance(value, dict) and set(value) == {_FLOAT_TAG}:
        return float(value[_FLOAT_TAG])
    if isinstance(value, dict) and set(value) == {_DICT_TAG}:
        return {_param_from_json(k): _param_from_json(v) for k, v in value[_DICT_TAG]}
    if isinstance(value, list):
        return [_param_from_json(v) for v in value]
    return value  # including a plain dict (a built-in schedule's fields; class_weight in older files)


# --- checkpoints ------------------------------------------------------------------------------



def save_checkpoint(path, checkpoint, *, net=None, extra: dict | None = None) -> Path:
    """Write a :class:`mlplab.train.Checkpoint` (atomically) so that training can resume bit-identically.

    Tensors: ``params`` (w^k), ``opt.<slot>`` (momentum / Adam buffers),
    ``sampler.order`` (the current epoch's permutation), ``history.<column>``;
    JSON metadata: counters, the sampling RNG's state, the architecture of
    ``net`` (when given) and ``extra``.
    """
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
    data = st_save(tensors, metadata={"mlplab": json.dumps(meta, allow_nan=False)})
    path = Path(path)
    atomic_write(path, data)
    return path


def load_checkpoint(path):
    """(Checkpoint, metadata dict) from a file written by :func:`save_checkpoint`, validated.

    Raises:
        ModelFileError: missing, unreadable, truncated or inconsistent file.
    """
    from mlplab.optim.optimizers import OptState
    from mlplab.train import Checkpoint, History

    path = Path(path)
    where = repr(str(path))
    raw_meta, tensors = _read_file(path, "checkpoint")
    try:
        meta = json.loads(raw_meta["mlplab"])
    except (KeyError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{where} is not an mlplab checkpoint: its metadata is missing or not JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("kind") != "checkpoint" or meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{where} is not an mlplab checkpoint of format version {FORMAT_VERSION}")
    _check_checksum(meta, tensors, where)
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
