"""Pins on the model file's tensor checksum (issue 28, item 10): name, dtype, shape and bytes all hashed, in name order.

Oracle: hashlib over the documented byte stream, written out here independently, and a
known answer for a fixed pair of tensors.
"""

import hashlib
import json

import numpy as np
import pytest

import mlplab
from mlplab import io
from mlplab.io import tensors_sha256
from mlplab.model_format import check_checksum

A = np.array([[1, 2], [3, 4]], dtype="<i4")
B = np.arange(3, dtype="<f8")


def by_hand(tensors):
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = np.ascontiguousarray(tensors[name])
        h.update(name.encode() + b"\0" + t.dtype.str.encode() + b"\0" + str(t.shape).encode() + b"\0")
        h.update(t.tobytes())
    return h.hexdigest()


def test_known_answer():
    assert tensors_sha256({"b": B, "a": A}) == "9622ffc992ecb12532fd37831b4504832be3e33e23062638856d3958de878371"
    assert tensors_sha256({}) == hashlib.sha256(b"").hexdigest()
    assert tensors_sha256({"b": B, "a": A}) == by_hand({"a": A, "b": B})


def test_the_documented_stream():
    h = hashlib.sha256()
    h.update(b"a\0<i4\0(2, 2)\0" + A.tobytes())
    h.update(b"b\0<f8\0(3,)\0" + B.tobytes())
    assert tensors_sha256({"a": A, "b": B}) == h.hexdigest()


def test_insertion_order_does_not_matter_name_order_does():
    assert tensors_sha256({"a": A, "b": B}) == tensors_sha256({"b": B, "a": A})
    # the same arrays under swapped names hash differently (names are hashed with their tensors)
    assert tensors_sha256({"a": A.ravel()[:3].astype("<f8"), "b": B}) != tensors_sha256({"b": A.ravel()[:3].astype("<f8"), "a": B})


@pytest.mark.parametrize("change", ["name", "dtype", "byte order", "shape", "last byte", "first byte", "drop"])
def test_every_part_is_hashed(change):
    base = {"w": np.arange(6, dtype="<f4"), "v": np.ones(2, dtype="<f8")}
    other = {k: v.copy() for k, v in base.items()}
    if change == "name":
        other["x"] = other.pop("w")
    elif change == "dtype":  # the same bytes read as int32
        other["w"] = other["w"].view("<i4")
    elif change == "byte order":  # the same values, big-endian: other bytes and dtype string
        other["w"] = other["w"].astype(">f4")
    elif change == "shape":  # the same bytes as (2, 3)
        other["w"] = other["w"].reshape(2, 3)
    elif change == "last byte":
        raw = bytearray(other["w"].tobytes())
        raw[-1] ^= 1
        other["w"] = np.frombuffer(bytes(raw), dtype="<f4").copy()
    elif change == "first byte":
        raw = bytearray(other["v"].tobytes())
        raw[0] ^= 1
        other["v"] = np.frombuffer(bytes(raw), dtype="<f8").copy()
    else:
        del other["v"]
    assert tensors_sha256(other) != tensors_sha256(base)
    assert tensors_sha256(other) == by_hand(other)


def test_layout_does_not_matter_only_the_values():
    F = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    assert tensors_sha256({"F": F}) == tensors_sha256({"F": np.ascontiguousarray(F)})
    assert tensors_sha256({"s": np.arange(10.0)[::2]}) == tensors_sha256({"s": np.arange(0.0, 10.0, 2.0)})


def test_a_saved_model_checksum_is_the_checksum_of_its_tensors(tmp_path):
    from safetensors.numpy import load_file
    from safetensors import safe_open

    net = mlplab.MLP([2, 3, 1], seed=0)
    path = io.save(net, tmp_path / "m.safetensors")
    tensors = load_file(str(path))
    with safe_open(str(path), "np") as f:
        meta = json.loads(f.metadata()["mlplab"])
    assert meta["tensors_sha256"] == tensors_sha256(tensors) == by_hand(tensors)
    # one flipped bit in one weight is refused
    name = sorted(tensors)[0]
    tensors[name] = tensors[name].copy()
    tensors[name].view(np.uint8)[0] ^= 1
    assert tensors_sha256(tensors) != meta["tensors_sha256"]
    with pytest.raises(io.ModelFileError, match="checksum"):
        check_checksum(meta, tensors, "m.safetensors")
    check_checksum(meta, load_file(str(path)), "m.safetensors")  # the file itself passes
