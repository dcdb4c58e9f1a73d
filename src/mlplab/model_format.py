"""The model file format: one ``.safetensors`` file, the network's tensors plus JSON metadata, no pickle.

Layout (what :func:`mlplab.io.save` writes):

* tensors ``layers.<ℓ>.weight`` = W^ℓ, shape (N_ℓ, N_{ℓ−1}), and
  ``layers.<ℓ>.bias`` = b^ℓ, shape (N_ℓ,) (when the network has biases), in the network's dtype;
* metadata key ``mlplab``: a JSON object with ``format_version``,
  ``mlplab_version``, ``kind`` ("MLP", "MLPClassifier" or "MLPRegressor"),
  ``architecture`` (layer_sizes, activations, bias, dtype) and, for
  estimators, ``estimator`` (its parameters, classes, fitted scalars and
  loss curve); callers may add their own JSON-able ``extra`` (training
  configuration, metrics, scalers), and ``tensors_sha256``: the SHA-256 of
  the tensors (:func:`tensors_sha256`), checked on load; a file without it
  loads only when its ``mlplab_version`` is older than :data:`CHECKSUM_SINCE`.

Reading validates everything before use — header, metadata, format version, tensor
names, shapes against the architecture, dtypes, the checksum, finite values — and
raises :class:`ModelFileError` naming the problem; a diverged network (NaN or inf)
is refused when writing, so a model file never holds one.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from mlplab.estimator_state import estimator_state

FORMAT_VERSION = 1
KINDS = ("MLP", "MLPClassifier", "MLPRegressor")
CHECKSUM_SINCE = (0, 3)  # the first mlplab version whose files all have tensors_sha256


class ModelFileError(ValueError):
    """A model file is missing, unreadable, corrupt, tampered with or of an unsupported version."""


# --- the checksum ------------------------------------------------------------------------------


def tensors_sha256(tensors: dict) -> str:
    """Hex SHA-256 over the tensors in name order: each name, dtype, shape and raw (C-order) bytes."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = np.ascontiguousarray(tensors[name])
        h.update(f"{name}\0{t.dtype.str}\0{t.shape}\0".encode())
        h.update(t.tobytes())
    return h.hexdigest()


def _written_before_checksums(meta: dict) -> bool:
    """The file says it is from an mlplab older than :data:`CHECKSUM_SINCE`, which did not store checksums."""
    match = re.match(r"(\d+)\.(\d+)", str(meta.get("mlplab_version", "")))
    return match is not None and (int(match[1]), int(match[2])) < CHECKSUM_SINCE


def check_checksum(meta: dict, tensors: dict, where: str) -> None:
    """ModelFileError unless ``tensors_sha256`` matches the tensors (or is absent from a file that predates it)."""
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


# --- writing ---------------------------------------------------------------------------------


def model_bytes(model, path: Path, extra: dict | None) -> bytes:
    """The .safetensors bytes of an :class:`mlplab.MLP` or a fitted mlplab estimator (``path`` names it in errors).

    ValueError for anything else, an unfitted estimator, NaN or inf weights, or metadata that is not JSON.
    """
    from safetensors.numpy import save as st_save

    from mlplab import __version__
    from mlplab.network import MLP

    if isinstance(model, MLP):
        net, kind, estimator = model, "MLP", None
    elif type(model).__name__ in KINDS[1:] and type(model).__module__ == "mlplab.sklearn":
        if not hasattr(model, "net_"):
            raise ValueError(f"{type(model).__name__} is not fitted yet; call fit before saving it")
        net, kind, estimator = model.net_, type(model).__name__, estimator_state(model)
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
    return st_save(tensors, metadata={"mlplab": header})


def architecture(net) -> dict:
    """The JSON description from which :class:`mlplab.MLP` can be rebuilt."""
    return {
        "layer_sizes": list(net.layer_sizes),
        "activations": [a.name for a in net.activations],
        "bias": net.bias,
        "dtype": net.dtype.name,
    }


# --- reading ---------------------------------------------------------------------------------


def read_file(path: Path, what: str):
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


def network_from_file(path: Path, raw_meta: dict, tensors: dict):
    """(MLP, metadata dict) from a model file's metadata strings and tensors, fully validated."""
    from mlplab.network import MLP

    where = repr(str(path))
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
    if meta.get("kind") not in KINDS:
        raise ModelFileError(f"{where}: unknown model kind {meta.get('kind')!r}")
    check_checksum(meta, tensors, where)
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
