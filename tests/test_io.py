"""Model files: safetensors + JSON metadata, atomic writes, validated loads, bit-identical round trips."""

import json
import struct
import warnings

import numpy as np
import pytest

import mlplab
from mlplab.io import ModelFileError


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [True, False])
def test_network_round_trip_is_bit_identical(tmp_path, dtype, bias):
    net = mlplab.MLP([3, 5, 4, 2], activation=["tanh", "relu", "softmax"], bias=bias, seed=1, dtype=dtype)
    path = mlplab.save(net, tmp_path / "net.safetensors")
    back = mlplab.load(path)
    assert isinstance(back, mlplab.MLP) and back.dtype == net.dtype
    assert [a.name for a in back.activations] == ["tanh", "relu", "softmax"] and back.bias == bias
    np.testing.assert_array_equal(back.params, net.params)
    X = np.random.default_rng(0).normal(size=(7, 3))
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    assert all(np.shares_memory(W, back.params) for W in back.weights)


def test_file_holds_named_tensors_and_json_metadata(tmp_path):
    from safetensors import safe_open

    net = mlplab.MLP([2, 3, 1], seed=0)
    mlplab.save(net, tmp_path / "m.safetensors", extra={"note": "lecture"})
    with safe_open(str(tmp_path / "m.safetensors"), framework="numpy") as f:
        assert set(f.keys()) == {"layers.1.weight", "layers.1.bias", "layers.2.weight", "layers.2.bias"}
        np.testing.assert_array_equal(f.get_tensor("layers.1.weight"), net.weights[0])  # W^1, (N_1, N_0)
        meta = json.loads(f.metadata()["mlplab"])
    assert meta["format_version"] == 1 and meta["kind"] == "MLP" and meta["extra"] == {"note": "lecture"}
    assert meta["architecture"] == {"layer_sizes": [2, 3, 1], "activations": ["sigmoid", "sigmoid"],
                                    "bias": True, "dtype": "float64"}


def _fitted(cls, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(hidden_layer_sizes=(4,), max_iter=15, random_state=0, **kw).fit(X, y)


def test_estimator_round_trips(tmp_path):
    from mlplab.optim import Power
    from mlplab.sklearn import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    cases = [
        (MLPClassifier, np.where(X[:, 0] > 0, "yes", "no"), dict(schedule=Power(0.01, 0.6), solver="sgd")),
        (MLPClassifier, np.digitize(X[:, 1], [-0.5, 0.5]), dict(solver="gd")),
        (MLPClassifier, (X[:, :2] > 0).astype(int), dict(solver="adam")),
        (MLPRegressor, X[:, 0] - X[:, 2], dict(solver="momentum", dtype="float32")),
        (MLPRegressor, X[:, :2] * 2, dict(solver="gd", line_search="armijo")),
    ]
    for i, (cls, y, kw) in enumerate(cases):
        est = _fitted(cls, X, y, **kw)
        back = mlplab.load(mlplab.save(est, tmp_path / f"e{i}.safetensors"))
        assert type(back) is cls and back.get_params() == est.get_params()
        np.testing.assert_array_equal(back.predict(X), est.predict(X))
        if cls is MLPClassifier:
            np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
            np.testing.assert_array_equal(back.classes_, est.classes_)
        assert back.loss_curve_ == est.loss_curve_ and back.n_iter_ == est.n_iter_


def test_callable_schedule_cannot_be_saved_without_pickle(tmp_path):
    from mlplab.sklearn import MLPRegressor

    est = _fitted(MLPRegressor, np.ones((5, 2)), np.arange(5.0), solver="sgd", schedule=lambda k: 0.01)
    with pytest.raises(ValueError, match="callable"):
        mlplab.save(est, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_unfitted_and_wrong_objects_are_refused(tmp_path):
    from mlplab.sklearn import MLPClassifier

    with pytest.raises(ValueError, match="not fitted"):
        mlplab.save(MLPClassifier(), tmp_path / "a.safetensors")
    with pytest.raises(ValueError, match="dict"):
        mlplab.save({"w": 1}, tmp_path / "a.safetensors")
    with pytest.raises(ValueError, match="does not exist"):
        mlplab.save(mlplab.MLP([2, 1]), tmp_path / "no" / "a.safetensors")


# --- corrupt, truncated, tampered files ---------------------------------------------------


def _rewrite_header(path, edit):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    edit(header)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + n:])


def _meta_edit(fn):
    def edit(header):
        meta = json.loads(header["__metadata__"]["mlplab"])
        fn(meta)
        header["__metadata__"]["mlplab"] = json.dumps(meta)
    return edit


@pytest.mark.parametrize("damage,match", [
    (lambda p: p.write_bytes(p.read_bytes()[:40]), "not a readable"),
    (lambda p: p.write_bytes(p.read_bytes()[:-8]), "not a readable"),
    (lambda p: p.write_bytes(b"hello world, not a model"), "not a readable"),
    (lambda p: _rewrite_header(p, lambda h: h.pop("__metadata__")), "no mlplab metadata"),
    (lambda p: _rewrite_header(p, lambda h: h["__metadata__"].update(mlplab="{not json")), "not valid JSON"),
    (lambda p: _rewrite_header(p, _meta_edit(lambda m: m.update(format_version=99))), "version 99"),
    (lambda p: _rewrite_header(p, _meta_edit(lambda m: m["architecture"].update(layer_sizes=[2, 4, 1]))),
     "shape"),
    (lambda p: _rewrite_header(p, _meta_edit(lambda m: m["architecture"].update(dtype="float32"))), "dtype"),
    (lambda p: _rewrite_header(p, _meta_edit(lambda m: m["architecture"].update(activations=["gelu", "sigmoid"]))),
     "gelu"),
    (lambda p: _rewrite_header(p, _meta_edit(lambda m: m.update(kind="Pickle"))), "kind"),
])
def test_damaged_files_are_rejected_with_a_clear_error(tmp_path, damage, match):
    path = mlplab.save(mlplab.MLP([2, 3, 1], seed=0), tmp_path / "m.safetensors")
    damage(path)
    with pytest.raises(ModelFileError, match=match):
        mlplab.load(path)


def test_nan_weights_and_missing_files_are_rejected(tmp_path):
    net = mlplab.MLP([2, 3, 1], seed=0)
    net.params[0] = np.nan
    with pytest.raises(ModelFileError, match="does not exist"):
        mlplab.load(tmp_path / "nothing.safetensors")
    from safetensors.numpy import save_file

    save_file({"layers.1.weight": np.full((3, 2), np.nan), "layers.1.bias": np.zeros(3),
               "layers.2.weight": np.zeros((1, 3)), "layers.2.bias": np.zeros(1)},
              str(tmp_path / "nan.safetensors"),
              metadata={"mlplab": json.dumps({"format_version": 1, "mlplab_version": "0.2.0", "kind": "MLP", "architecture": {
                  "layer_sizes": [2, 3, 1], "activations": ["sigmoid", "sigmoid"], "bias": True,
                  "dtype": "float64"}})})
    with pytest.raises(ModelFileError, match="NaN"):
        mlplab.load(tmp_path / "nan.safetensors")


def test_interrupted_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    old = mlplab.MLP([2, 3, 1], seed=0)
    mlplab.save(old, path)
    before = path.read_bytes()

    def crash(*args):
        raise KeyboardInterrupt  # e.g. Ctrl-C between writing and renaming

    monkeypatch.setattr("mlplab.io.os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        mlplab.save(mlplab.MLP([2, 3, 1], seed=1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary file left behind


def test_saved_files_get_ordinary_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = mlplab.save(mlplab.MLP([2, 1]), tmp_path / "m.safetensors")
    finally:
        os.umask(umask)
    assert (path.stat().st_mode & 0o777) == 0o644
