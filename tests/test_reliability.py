"""Nothing silently wrong: each failure that once passed silently (or crashed) is replayed here.

Every command-line case checks the contract of :func:`mlplab.cli.main`: exit code 2, one line on
stderr, no traceback, and no model file written where there should be none.
"""

import json
import struct

import numpy as np
import pytest

import mlplab
from mlplab import data as D
from mlplab.optim import GD

from cli_helpers import cli, user_error




# --- 1. divergence by the lecture's quantities -------------------------------------------------


def iris():
    X, y = mlplab.datasets.load("iris")
    return X, y.astype(int)


def test_finite_blow_up_raises_divergence_error_with_the_last_good_weights():
    X, y = iris()
    net = mlplab.MLP([4, 16, 3], activation=["tanh", "softmax"], seed=0)
    with pytest.raises(mlplab.DivergenceError, match=r"diverge_factor.*smaller step") as info:
        mlplab.train(net, X, y, loss="cross_entropy", optimizer=GD(1e300), max_iter=20)
    exc = info.value
    assert np.all(np.isfinite(exc.params)) and np.array_equal(net.params, exc.params)
    E_good = net.loss_and_grad(X, y, "cross_entropy", l2=0.0, reduction="sum")[0]
    assert E_good <= 1e6 * exc.history.loss[0]  # the weights handed back are below the bound
    # None disables the test (the run then ends with an absurd but finite E, as before)
    net2 = mlplab.MLP([4, 16, 3], activation=["tanh", "softmax"], seed=0)
    r = mlplab.train(net2, X, y, loss="cross_entropy", optimizer=GD(1e300), max_iter=20, diverge_factor=None)
    assert r.loss > 1e100


def test_diverge_factor_does_not_disturb_a_good_run_and_is_validated():
    X, y = iris()
    a = mlplab.MLP([4, 8, 3], activation=["tanh", "softmax"], seed=1)
    b = mlplab.MLP([4, 8, 3], activation=["tanh", "softmax"], seed=1)
    ra = mlplab.train(a, X, y, loss="cross_entropy", max_iter=10)
    rb = mlplab.train(b, X, y, loss="cross_entropy", max_iter=10, diverge_factor=None)
    assert np.array_equal(ra.params, rb.params)
    for bad in (0.5, 1.0, float("nan"), "big"):
        with pytest.raises(ValueError, match="diverge_factor"):
            mlplab.train(a, X, y, loss="cross_entropy", max_iter=1, diverge_factor=bad)


def test_cli_blow_up_exits_2_and_saves_nothing(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    err = user_error(capsys, "train", "iris", "--lr", "1e300", "--line-search", "none", "--out", out,
                     match="diverged")
    assert "no model was saved" in err and not out.exists()
    assert not list(tmp_path.iterdir())


def test_report_on_a_model_with_absurd_weights_says_so(tmp_path, capsys):
    good = tmp_path / "m.safetensors"
    assert cli(capsys, "train", "iris", "--max-iter", "2", "--out", good, "-q")[0] == 0
    net, meta = mlplab.io.load_network(good)
    net.params[...] = 1.7e302  # what a diverged run saved before mlplab checked for blow-ups
    mlplab.save(net, tmp_path / "absurd.safetensors", extra=meta["extra"])
    report = tmp_path / "r.html"
    user_error(capsys, "report", tmp_path / "absurd.safetensors", "--out", report, match="absurd values")
    assert not report.exists()


# --- 2. integrity of model files ---------------------------------------------------------------


def _data_offset(blob: bytes) -> int:
    (n,) = struct.unpack("<Q", blob[:8])
    return 8 + n


def test_a_flipped_byte_in_the_tensor_data_fails_the_checksum(tmp_path, capsys):
    net = mlplab.MLP([3, 4, 2], activation="tanh", seed=0)
    path = mlplab.save(net, tmp_path / "m.safetensors")
    blob = bytearray(path.read_bytes())
    blob[_data_offset(blob)] ^= 0x01  # the lowest mantissa byte of the first weight: still finite
    bad = tmp_path / "flip.safetensors"
    bad.write_bytes(bytes(blob))
    with pytest.raises(mlplab.ModelFileError, match=r"flip\.safetensors.*checksum"):
        mlplab.load(bad)
    user_error(capsys, "inspect", bad, match="checksum")


def _without_checksum(tmp_path, version):
    """A model file whose metadata lack tensors_sha256 and say ``mlplab_version = version``."""
    from safetensors.numpy import save as st_save

    net = mlplab.MLP([3, 4, 2], activation="tanh", seed=0)
    path = mlplab.save(net, tmp_path / "m.safetensors")
    _, meta = mlplab.io.load_network(path)
    assert len(meta.pop("tensors_sha256")) == 64
    meta["mlplab_version"] = version
    tensors = {f"layers.{i + 1}.weight": np.ascontiguousarray(W) for i, W in enumerate(net.weights)}
    tensors.update({f"layers.{i + 1}.bias": np.ascontiguousarray(b) for i, b in enumerate(net.biases)})
    old = tmp_path / f"v{version}.safetensors"
    old.write_bytes(st_save(tensors, metadata={"mlplab": json.dumps(meta)}))
    return old, net


@pytest.mark.parametrize("version", ["0.1.0", "0.2.0", "0.2.7.dev1"])
def test_files_of_versions_before_checksums_still_load(tmp_path, version):
    old, net = _without_checksum(tmp_path, version)
    assert np.array_equal(mlplab.load(old).params, net.params)


@pytest.mark.parametrize("version", ["0.3.0", "0.4.1", "1.0", "", "unknown"])
def test_a_missing_checksum_is_tampering_in_files_that_always_have_one(tmp_path, capsys, version):
    """mlplab >= 0.3 always writes tensors_sha256: deleting it (to load modified weights) is refused."""
    bad, _ = _without_checksum(tmp_path, version)
    with pytest.raises(mlplab.ModelFileError, match=r"no SHA-256 checksum.*was modified"):
        mlplab.load(bad)
    user_error(capsys, "inspect", bad, match="no SHA-256 checksum")


def test_save_refuses_non_finite_weights_naming_the_layer(tmp_path):
    net = mlplab.MLP([3, 4, 2], activation="tanh", seed=0)
    net.weights[1][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"layer 2's weight"):
        mlplab.save(net, tmp_path / "m.safetensors")
    net.weights[1][0, 0] = 0.0
    net.biases[0][1] = np.inf
    with pytest.raises(ValueError, match=r"layer 1's bias"):
        mlplab.save(net, tmp_path / "m.safetensors")
    assert not list(tmp_path.iterdir())


def test_checkpoints_are_checksummed_and_finite(tmp_path):
    from mlplab.io import load_checkpoint, save_checkpoint

    X, y = iris()
    net = mlplab.MLP([4, 5, 3], activation=["tanh", "softmax"], seed=0)
    cks = []
    mlplab.train(net, X, y, loss="cross_entropy", max_iter=3, checkpoint_every=2, on_checkpoint=cks.append)
    path = save_checkpoint(tmp_path / "ck.safetensors", cks[0], net=net)
    ck, _ = load_checkpoint(path)
    assert np.array_equal(ck.params, cks[0].params)
    blob = bytearray(path.read_bytes())
    blob[_data_offset(blob) + 3] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(mlplab.ModelFileError, match="checksum"):
        load_checkpoint(path)
    cks[0].params[0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        save_checkpoint(tmp_path / "nan.safetensors", cks[0], net=net)
    assert not (tmp_path / "nan.safetensors").exists()


# --- 3. CSV/TSV through pandas; Parquet --------------------------------------------------------


def test_csv_matches_pandas_and_irregular_files_keep_their_messages(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    path = tmp_path / "d.csv"
    pd.DataFrame(np.c_[X, X[:, 0] > 0], columns=["a", "b", "c", "d", "e", "y"]).to_csv(path, index=False)
    t = D.load_file(str(path))
    ref = pd.read_csv(path)
    np.testing.assert_array_equal(t.X, ref.iloc[:, :5].to_numpy())
    np.testing.assert_array_equal(t.y, ref["y"].to_numpy(dtype=float))
    assert t.feature_names == list("abcde") and t.target_name == "y"
    # a row longer than the header, beyond the rows read for the header
    lines = path.read_text().splitlines()
    lines[250] += ",7"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(D.DataError, match="row 250 has 7 columns but the header has 6"):
        D.load_file(str(path))


def test_csv_reading_has_no_hand_written_parser():
    import inspect

    from mlplab.data import csv_files, files, labels, table

    source = "".join(inspect.getsource(m) for m in (D, csv_files, files, labels, table))
    assert "pd.read_csv(" in source and "csv.reader" not in source and ".split(delimiter" not in source


def test_parquet(tmp_path):
    pytest.importorskip("pyarrow", reason="reading .parquet needs pyarrow, which is not installed")
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.5, 0.1, 0.2, 0.3], "label": ["x", "y", "x", "y"]})
    path = tmp_path / "d.parquet"
    df.to_parquet(path)
    t = D.load_file(str(path))
    assert t.X.shape == (4, 2) and list(t.y) == ["x", "y", "x", "y"] and t.feature_names == ["a", "b"]
    assert D.load_file(str(path), target="label").y.tolist() == ["x", "y", "x", "y"]
    numeric = tmp_path / "n.parquet"
    df[["a", "b"]].to_parquet(numeric)
    t = D.load_file(str(numeric), target="a")
    assert t.y.tolist() == [1, 2, 3, 4] and t.X[:, 0].tolist() == [0.5, 0.1, 0.2, 0.3]
    df.loc[2, "b"] = np.nan
    df.to_parquet(path)
    with pytest.raises(D.DataError, match=r"column 2 \('b'\), row 3 contains nan"):
        D.load_file(str(path))


# --- 4. smaller ------------------------------------------------------------------------------------


def test_abbreviated_flags_are_errors(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    user_error(capsys, "train", "xor", "--epoch", "3", "--out", out, match="--epoch")
    assert not out.exists()


def test_a_directory_as_data_or_model_says_so(tmp_path, capsys):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    out = tmp_path / "m.safetensors"
    user_error(capsys, "train", folder, "--out", out, match="is a directory")
    user_error(capsys, "train", tmp_path, "--out", out, match="is a directory")
    assert not out.exists()
    user_error(capsys, "evaluate", tmp_path, "xor", match="is a directory")
    with pytest.raises(mlplab.ModelFileError, match="is a directory"):
        mlplab.load(tmp_path)


def test_evaluate_and_predict_on_a_checkpoint_point_to_resume(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert cli(capsys, "train", "xor", "--hidden", "2", "--max-iter", "4", "--checkpoint-every", "2",
               "--out", out, "-q")[0] == 0
    ck = sorted((tmp_path / "m.checkpoints").glob("*.safetensors"))[0]
    for command in ("evaluate", "predict"):
        err = user_error(capsys, command, ck, "xor", match="checkpoint")
        assert "mlplab train --resume" in err


def test_a_start_that_already_fits_is_not_a_divergence():
    # E(w^0) ≈ 0 (a least-squares solution), then SGD with a constant step adds noise of
    # ordinary size: far more than 1e6 × E(w^0), but no blow-up (the scale has a floor per sample)
    import mlplab
    from mlplab.optim import SGD

    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    net = mlplab.MLP([3, 1], activation="identity", bias=False, init=np.array([1.0, -2.0, 0.5]))
    net.params[0] += 1e-9  # E(w^0) ≈ 1e-16
    r = mlplab.train(net, X, y, optimizer=SGD(schedule=0.01), epochs=3, tol=None, seed=0)
    assert r.history.loss[0] < 1e-14 and max(r.history.loss) < 1.0
