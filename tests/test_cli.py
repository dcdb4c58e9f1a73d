"""The ``mlplab`` command line: end to end through subprocesses, bad inputs, model files, config files."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mlplab

from cli_helpers import SCRIPT, SRC, cli, ok, run


def write_csv(path, n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    with open(path, "w") as f:
        f.write("a,b,c,answer\n")
        for row, lab in zip(X, labels):
            f.write(",".join(f"{v:.6f}" for v in row) + f",{lab}\n")
    return X, labels


# --- end to end -------------------------------------------------------------------------------


@pytest.mark.parametrize("data, flags, score, via", [
    (None, [], "accuracy", "process"),
    ("iris", ["--optimizer", "adam", "--lr", "0.05", "--epochs", "20", "--standardize"], "accuracy", "inline"),
    ("breast-cancer", ["--optimizer", "minibatch", "--batch-size", "64", "--lr", "0.01", "--schedule", "constant",
                       "--average", "--epochs", "3", "--standardize", "--test-split", "0.2"], "accuracy", "inline"),
    ("linear-regression", ["--hidden", "", "--max-iter", "20", "--val-split", "0.25"], "r2", "inline"),
])
def test_train_inspect_evaluate_predict_builtin(tmp_path, capsys, data, flags, score, via):
    """train -> model file -> inspect -> evaluate -> predict; a real process for some sets, main() for others."""
    def go(*args):
        if via == "process":
            return ok(*args).stdout
        code, out, err = cli(capsys, *args)
        assert code == 0, err
        return out

    model = tmp_path / "m.safetensors"
    args = ["train"] + ([data] if data else []) + flags + ["--out", model, "--json"]
    summary = json.loads(go(*args))
    assert model.is_file() and summary["model"] == str(model)
    info = json.loads(go("inspect", model, "--json"))
    assert info["n_params"] == summary["n_params"] and info["metrics"] == summary["metrics"]
    assert info["config"]["seed"] == 0
    ev = json.loads(go("evaluate", model, data or "lecture", "--json"))
    assert score in ev
    pred = go("predict", model, data or "lecture").splitlines()
    n = len(mlplab.datasets.load(data or "lecture")[0])
    assert pred[0] == "prediction" and len(pred) == n + 1
    text = go("inspect", model)
    assert "architecture" in text and "parameters" in text


def test_csv_end_to_end_with_string_labels(tmp_path):
    X, labels = write_csv(tmp_path / "train.csv")
    model = tmp_path / "yes.safetensors"
    out = ok("train", tmp_path / "train.csv", "--target", "answer", "--hidden", "4", "--standardize",
             "--max-iter", "30", "--out", model).stdout
    assert "accuracy" in out and "yes.safetensors" in out
    info = json.loads(ok("inspect", model, "--json").stdout)
    assert info["classes"] == ["no", "yes"] and info["feature_names"] == ["a", "b", "c"] and info["standardized"]
    ev = ok("evaluate", model, tmp_path / "train.csv").stdout
    assert "confusion matrix" in ev and "accuracy" in ev
    assert ok("evaluate", model).stdout == ev  # default: the data the model was trained on
    # predict on features only (no target column), with probabilities, to a file
    with open(tmp_path / "new.csv", "w") as f:
        f.write("a,b,c\n1,1,0\n-1,-1,0\n")
    ok("predict", model, tmp_path / "new.csv", "--proba", "--out", tmp_path / "pred.csv")
    r = run("evaluate", model, tmp_path / "new.csv")  # evaluation needs the targets
    assert r.returncode == 2 and "no target column" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    lines = (tmp_path / "pred.csv").read_text().splitlines()
    assert lines[0] == "prediction,p(no),p(yes)" and lines[1].startswith("yes,") and lines[2].startswith("no,")
    # the file with its target column works too; labels are printed as they were in the data
    pred = ok("predict", model, tmp_path / "train.csv").stdout.splitlines()[1:]
    acc = np.mean(np.array(pred) == labels)
    assert acc > 0.8 and set(pred) <= {"yes", "no"}


def test_plain_progress_lines_when_not_a_terminal(tmp_path):
    r = ok("train", "xor", "--hidden", "3", "--max-iter", "20")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("training 2-3-1")
    assert any(line.startswith("k=0 ") and "||grad E||=" in line and "step=" in line for line in lines)
    assert "\x1b[" not in r.stdout  # no terminal escapes in a pipe
    assert "not saved" in r.stdout
    quiet = ok("train", "xor", "--max-iter", "5", "--quiet").stdout.splitlines()
    assert not any(line.startswith(("k=", "training ")) for line in quiet)


def test_datasets_and_gradcheck_commands(capsys):
    code, out, _ = cli(capsys, "datasets", "--json")
    rows = json.loads(out)
    by = {r["name"]: r for r in rows}
    assert by["digits"]["samples"] == 1797 and by["digits"]["features"] == 64 and by["digits"]["classes"] == 10
    assert by["diabetes"]["task"] == "regression"
    assert set(mlplab.datasets.names()) == set(by)
    assert "lecture-network" in cli(capsys, "datasets")[1]
    g = json.loads(cli(capsys, "gradcheck", "iris", "--hidden", "3,2", "--activation", "tanh", "--json")[1])
    assert g["ok"] and len(g["per_layer"]) == 3
    assert "PASS" in ok("gradcheck").stdout


@pytest.mark.skipif(not SCRIPT.is_file(), reason="no `mlplab` console script installed beside this Python")
def test_console_script_is_installed():
    r = ok("--version")
    assert r.stdout.startswith("mlplab ")
    r = run()
    assert r.returncode == 2 and "no command given" in r.stderr


def test_python_m_mlplab_still_runs_the_lecture_demo():
    env = dict(os.environ, PYTHONPATH=SRC)
    r = subprocess.run([sys.executable, "-m", "mlplab", "--budget", "40"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "GD, exact line search" in r.stdout


# --- config files -----------------------------------------------------------------------------


def test_config_file_and_flags_override(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text('data = "xor"\nhidden = [3]\nmax_iter = 7\nthreshold = 0.3\n\n[train]\nbias = false\nseed = 2\n')
    code, out, err = cli(capsys, "train", "--config", cfg, "--json")
    s = json.loads(out)
    assert code == 0 and s["architecture"].startswith("2-3-1") and "no bias" in s["architecture"]
    assert s["training"]["n_iter"] <= 7
    code, out, _ = cli(capsys, "train", "--config", cfg, "--max-iter", "2", "--bias", "--json")
    s = json.loads(out)
    assert code == 0 and s["training"]["n_iter"] <= 2 and "no bias" not in s["architecture"]
    code, out, _ = cli(capsys, "train", "lecture", "--config", cfg, "--hidden", "", "--json")
    assert json.loads(out)["data"] == "lecture"


@pytest.mark.parametrize("text, match", [
    ("max_iter = \n", "not valid TOML"),
    ("learning_rate = 0.1\n", "unknown option 'learning_rate' for `mlplab train`"),
    ("[train]\nproba = true\n", "unknown option 'proba'"),
    ("[fit]\nx = 1\n", "unknown table [fit]"),
    ("batch_size = 0\n", "--batch-size: expected an integer >= 1, got '0'"),
    ("standardize = 3\n", "standardize must be true or false"),
])
def test_bad_config_files(tmp_path, capsys, text, match):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    code, out, err = cli(capsys, "train", "xor", "--config", cfg, "--out", tmp_path / "m.safetensors")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert match in err
    assert not (tmp_path / "m.safetensors").exists()


# --- bad input: exit 2, one line, no traceback, no model file touched ------------------------


def _bad_files(tmp):
    files = {
        "nan.csv": "a,b,c,y\n" + "1,2,3,0\n" * 16 + "1,2,nan,1\n",
        "inf.csv": "a,b,c,y\n1,2,3,0\n1,inf,3,1\n",
        "text.csv": "a,b,y\n1,2,0\n1,two,1\n",
        "empty.csv": "",
        "one_row.csv": "a,b,y\n1,2,0\n",
        "ragged.csv": "a,b,y\n1,2,0\n1,2\n3,4,1\n",
        "single_class.csv": "a,b,y\n1,2,cat\n3,4,cat\n",
        "data.xlsx": "not really",
        "three.csv": "a,b,c,y\n1,2,3,0\n3,4,5,1\n",
    }
    for name, text in files.items():
        (tmp / name).write_text(text)
    (tmp / "run.toml").write_text("hidden = [2]\n")


BAD = [
    (["train", "{t}/nan.csv"], "column 3 ('c'), row 17 contains nan"),
    (["train", "{t}/inf.csv"], "column 2 ('b'), row 2 contains inf"),
    (["train", "{t}/text.csv"], "holds 'two', which is not a number"),
    (["train", "{t}/empty.csv"], "is empty"),
    (["train", "{t}/one_row.csv"], "only 1 sample"),
    (["train", "{t}/ragged.csv"], "row 2 has 2 columns but the header has 3"),
    (["train", "{t}/single_class.csv"], "single class ('cat')"),
    (["train", "{t}/data.xlsx"], "unknown file extension '.xlsx'"),
    (["train", "{t}/missing.csv"], "does not exist"),
    (["train", "no-such-set"], "unknown data set 'no-such-set'"),
    (["train", "xor", "--optimizer", "minibatch", "--batch-size", "0"], "--batch-size: expected an integer >= 1, got '0'"),
    (["train", "xor", "--optimizer", "sgd", "--lr", "-1"], "--lr: expected a finite number in (0, inf), got '-1'"),
    (["train", "xor", "--lr", "nan", "--line-search", "none"], "--lr: expected a finite number"),
    (["train", "xor", "--activation", "swish"], "--activation: invalid choice: 'swish'"),
    (["train", "xor", "--loss", "hinge"], "--loss: invalid choice: 'hinge'"),
    (["train", "xor", "--init", "magic"], "--init"),
    (["train", "xor", "--hidden", "4,0"], "--hidden: expected positive integers"),
    (["train", "xor", "--layers", "3,4,1"], "--layers 3,4,1 does not fit the data: it has 2 features"),
    (["train", "xor", "--val-split", "1.5"], "--val-split: expected a finite number in [0, 1)"),
    (["train", "xor", "--val-split", "0.5", "--test-split", "0.5"], "leave no training data"),
    (["train", "xor", "--line-search", "exact", "--lr", "0.1"], "--lr is the constant step of gd with --line-search none"),
    (["train", "xor", "--optimizer", "gd", "--batch-size", "2"], "--batch-size does not apply to --optimizer gd"),
    (["train", "xor", "--optimizer", "sgd", "--line-search", "exact"], "--line-search applies to --optimizer gd only"),
    (["train", "xor", "--optimizer", "rmsprop"], "--optimizer: invalid choice: 'rmsprop'"),
    (["train", "xor", "--output-activation", "softmax", "--loss", "binary_cross_entropy"], "binary_cross_entropy"),
    (["train", "linear-regression", "--loss", "cross_entropy"], "needs class labels"),
    (["train", "iris", "--target", "0"], "--target applies to files"),
    (["train", "{t}/three.csv", "--target", "z"], "--target 'z' is not a column"),
    (["train", "linear-regression", "--optimizer", "sgd", "--lr", "100", "--schedule", "constant"],
     "training diverged at iteration"),
    (["train", "xor", "--optimizer", "adam", "--beta", "0.5"], "--beta applies to --optimizer momentum only"),
    (["train", "xor", "--max-iter", "-3"], "--max-iter: expected an integer >= 0, got '-3'"),
    (["train", "xor", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "xor", "--config", "{t}/nope.toml"], "config file"),
    (["train", "xor", "--out", "{t}/model.pt"], "must end in .safetensors"),
    (["train", "xor", "--out", "{t}/nodir/m.safetensors"], "does not exist; create it first"),
    ([], "no command given"),
    (["fit"], "invalid choice: 'fit'"),
    (["predict", "{t}/model.safetensors", "{t}/three.csv"], "has 4 columns but the model expects 2 features"),
    (["predict", "{t}/model.safetensors", "iris"], "'iris' has 4 features but the model expects 2"),
    (["predict", "{t}/model.safetensors", "xor", "--proba", "--threshold", "2"], "--threshold: expected"),
    (["evaluate", "{t}/model.safetensors", "{t}/text.csv"], "not a number"),
    (["evaluate", "{t}/missing.safetensors", "xor"], "model file '{t}/missing.safetensors' does not exist"),
    (["evaluate", "{t}/nan.csv", "xor"], "not a readable .safetensors model file"),
    (["inspect", "{t}/run.toml"], "not a readable .safetensors model file"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a) or "(none)" for a, _ in BAD])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    _bad_files(tmp_path)
    model = tmp_path / "model.safetensors"
    net = mlplab.MLP([2, 3, 1], seed=0)
    mlplab.save(net, model)
    before = model.read_bytes()
    argv = [a.format(t=tmp_path) for a in argv]
    out_flags = [] if ("--out" in argv or not argv or argv[0] != "train") else ["--out", str(model)]
    code, out, err = cli(capsys, *argv, *out_flags)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith("mlplab: error: ")
    assert message.format(t=tmp_path) in err
    assert "Traceback" not in err
    assert model.read_bytes() == before  # not overwritten
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".safetensors") == ["model.safetensors"]


def test_internal_errors_exit_1_with_one_line(capsys, monkeypatch):
    from mlplab.cli import commands

    def boom(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(commands, "cmd_datasets", boom)
    monkeypatch.delenv("MLPLAB_DEBUG", raising=False)
    code, out, err = cli(capsys, "datasets")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "internal error: ZeroDivisionError" in err and "bug" in err and "Traceback" not in err


def test_bad_input_through_a_real_process(tmp_path):
    _bad_files(tmp_path)
    for argv in (["train", tmp_path / "nan.csv", "--out", tmp_path / "m.safetensors"],
                 ["train", "xor", "--batch-size", "0", "--optimizer", "adam"],
                 ["train", "--activation", "nope"]):
        r = run(*argv)
        assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.safetensors").exists()


# --- model files ------------------------------------------------------------------------------


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_renamed_to_safetensors_is_rejected_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "model.safetensors"
    evil.write_bytes(pickle.dumps(_Evil(marker)))
    for argv in (["inspect", evil], ["predict", evil, "xor"], ["evaluate", evil, "xor"]):
        r = run(*argv)
        assert r.returncode == 2 and "not a readable .safetensors model file" in r.stderr
        assert "Traceback" not in r.stderr
    assert not marker.exists()


def test_corrupt_and_tampered_model_files(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    assert cli(capsys, "train", "xor", "--hidden", "2", "--max-iter", "3", "--out", model)[0] == 0
    blob = model.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(blob[: len(blob) - 9])
    flipped = bytearray(blob)
    flipped[10] ^= 0xFF
    (tmp_path / "flip.safetensors").write_bytes(bytes(flipped))
    for name in ("trunc", "flip"):
        code, out, err = cli(capsys, "predict", tmp_path / f"{name}.safetensors", "xor")
        assert code == 2 and len(err.strip().splitlines()) == 1 and out == ""
    # NaN weights saved by hand (as an older mlplab, without a checksum, could) are refused at load
    net, meta = mlplab.io.load_network(model)
    meta.pop("tensors_sha256")
    meta["mlplab_version"] = "0.2.0"
    net.params[0] = np.nan
    from mlplab.io import atomic_write
    from safetensors.numpy import save as st_save

    tensors = {f"layers.{i + 1}.weight": np.ascontiguousarray(W) for i, W in enumerate(net.weights)}
    tensors.update({f"layers.{i + 1}.bias": np.ascontiguousarray(b) for i, b in enumerate(net.biases)})
    atomic_write(tmp_path / "nan.safetensors", st_save(tensors, metadata={"mlplab": json.dumps(meta)}))
    code, out, err = cli(capsys, "inspect", tmp_path / "nan.safetensors")
    assert code == 2 and "NaN or inf" in err


def test_model_saved_from_python_can_be_used(tmp_path, capsys):
    net = mlplab.MLP([2, 3, 1], activation="tanh", output_activation="sigmoid", seed=0)
    mlplab.save(net, tmp_path / "py.safetensors")
    code, out, _ = cli(capsys, "predict", tmp_path / "py.safetensors", "xor", "--proba")
    assert code == 0 and out.splitlines()[0] == "prediction,p(0),p(1)" and len(out.splitlines()) == 5
    code, out, _ = cli(capsys, "inspect", tmp_path / "py.safetensors")
    assert code == 0 and "saved from Python" in out


def test_predictions_are_bit_identical_to_the_network(tmp_path, capsys):
    model = tmp_path / "r.safetensors"
    assert cli(capsys, "train", "diabetes", "--standardize", "--max-iter", "5", "--out", model)[0] == 0
    code, out, _ = cli(capsys, "predict", model, "diabetes", "--json")
    got = np.array([float(r[0]) for r in json.loads(out)["rows"]])
    net, meta = mlplab.io.load_network(model)
    s = meta["extra"]["cli"]["scaler"]
    X, _ = mlplab.datasets.load("diabetes")
    want = net.forward((X - np.array(s["mean"])) / np.array(s["scale"]))[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-9)  # printed with 10 significant digits


def test_same_seed_same_model(tmp_path, capsys):
    for name in ("a", "b"):
        assert cli(capsys, "train", "moons", "--optimizer", "sgd", "--epochs", "2", "--lr", "0.1",
                   "--out", tmp_path / f"{name}.safetensors")[0] == 0
    a, _ = mlplab.io.load_network(tmp_path / "a.safetensors")
    b, _ = mlplab.io.load_network(tmp_path / "b.safetensors")
    np.testing.assert_array_equal(a.params, b.params)


def test_ctrl_c_saves_the_best_model_so_far(tmp_path, capsys):
    # the compiled one-sample kernel holds a Ctrl-C until Numba has compiled or loaded it (interrupted
    # half-way Numba can hang): compile it here first, so that the child loads it from the cache, and
    # give the child a budget that a compile under any load meets (it failed at 60 s in a full suite
    # run with another process keeping a core busy)
    cli(capsys, "train", "digits", "--optimizer", "sgd", "--lr", "0.01", "--max-iter", "20", "--quiet",
        "--out", tmp_path / "warm.safetensors")
    model = tmp_path / "best.safetensors"
    env = dict(os.environ, PYTHONPATH=SRC)
    proc = subprocess.Popen([sys.executable, "-m", "mlplab.cli", "train", "digits", "--optimizer", "sgd",
                             "--lr", "0.01", "--schedule", "constant", "--eval-every", "50", "--epochs", "5000",  # (9 M steps: a progress line at each 10 %)
                             "--out", str(model)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 60
        line = ""
        while time.time() < deadline and not (line.startswith("k=") and not line.startswith("k=0 ")):
            line = proc.stdout.readline()  # a progress line after k = 0: steps have been taken
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "best model so far" in err and str(model) in err and "Traceback" not in err
    info = json.loads(ok("inspect", model, "--json").stdout)
    assert info["training"]["interrupted"] is True
    ok("predict", model, "digits")


# --- checkpoints and resume -------------------------------------------------------------------

RUN = ["train", "moons", "--optimizer", "momentum", "--batch-size", "1", "--lr", "0.02", "--hidden", "8",
       "--max-iter", "20000", "--eval-every", "2500", "--val-split", "0.2", "--standardize"]


def test_sigkill_then_resume_is_bit_identical(tmp_path, capsys):
    full = tmp_path / "full.safetensors"
    assert cli(capsys, *RUN, "--out", full, "--quiet")[0] == 0
    model, ckdir = tmp_path / "killed.safetensors", tmp_path / "killed.checkpoints"
    env = dict(os.environ, PYTHONPATH=SRC)
    proc = subprocess.Popen([sys.executable, "-m", "mlplab.cli", *RUN, "--checkpoint-every", "1000",
                             "--out", str(model), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not list(ckdir.glob("ckpt-*.safetensors")) and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert not model.exists()
    # the newest checkpoint is unreadable: resume falls back to the previous one and says so
    newest = sorted(ckdir.glob("ckpt-*.safetensors"))[-1]
    (ckdir / "ckpt-9999999999.safetensors").write_bytes(newest.read_bytes()[:100])
    code, out, err = cli(capsys, "train", "--resume", ckdir, "--json")
    assert code == 0, err
    assert "unreadable" in err and "falling back" in err and str(newest) in err
    summary = json.loads(out)
    assert summary["training"]["resumed_from"] == str(newest) and summary["model"] == str(model)
    a, meta_a = mlplab.io.load_network(full)
    b, meta_b = mlplab.io.load_network(model)
    np.testing.assert_array_equal(a.params, b.params)  # bit for bit
    assert meta_a["extra"]["cli"]["metrics"] == meta_b["extra"]["cli"]["metrics"]


def test_resume_rejects_changed_runs_and_bad_checkpoints(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    assert cli(capsys, "train", "xor", "--hidden", "3", "--max-iter", "10", "--checkpoint-every", "4",
               "--out", model, "--quiet")[0] == 0
    ckdir = tmp_path / "m.checkpoints"
    assert [p.name for p in sorted(ckdir.iterdir())] == ["ckpt-0000000004.safetensors", "ckpt-0000000008.safetensors"]
    before = model.read_bytes()
    for argv, message in [
        (["--hidden", "4"], "--hidden cannot change when resuming"),
        (["--lr", "0.1", "--line-search", "none"], "cannot change when resuming"),
        (["iris"], "the data argument cannot change when resuming"),
        (["--no-bias"], "--bias cannot change when resuming"),
        (["--seed", "3"], "was made with 0, got 3"),  # the run used the default seed, 0
    ]:
        code, out, err = cli(capsys, "train", *argv, "--resume", ckdir)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(capsys, "train", "--resume", tmp_path / "nothing")
    assert code == 2 and "no such checkpoint" in err
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "ckpt-1.safetensors").write_bytes(b"junk")
    code, _, err = cli(capsys, "train", "--resume", tmp_path / "junk")
    assert code == 2 and "no readable checkpoint" in err
    assert model.read_bytes() == before
    code, _, err = cli(capsys, "train", "xor", "--checkpoint-every", "5")
    assert code == 2 and "--checkpoint-every needs a place" in err
    code, _, err = cli(capsys, "train", "xor", "--checkpoint-every", "0")
    assert code == 2 and "--checkpoint-every: expected a positive number" in err
    code, _, err = cli(capsys, "train", "--seed", "0", "--resume", ckdir, "--quiet")  # the seed it was made with
    assert code == 0, err
    code, _, err = cli(capsys, "train", "--optimizer", "gd", "--bias", "--resume", ckdir, "--quiet")  # its defaults
    assert code == 0, err
    # budgets may change: a longer run continues from the checkpoint
    code, out, err = cli(capsys, "train", "--resume", ckdir, "--max-iter", "12", "--json")
    assert code == 0 and json.loads(out)["training"]["n_iter"] == 12


# --- models saved from Python, and tampered command-line metadata ---------------------------


def test_models_saved_from_python_keep_their_labels_or_fail_cleanly(tmp_path, capsys):
    import warnings

    from sklearn.datasets import load_iris

    from mlplab.sklearn import MLPClassifier

    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=50, random_state=0).fit(X, names)
    mlplab.save(clf, tmp_path / "clf.safetensors")
    np.save(tmp_path / "X.npy", X[:5])
    code, out, err = cli(capsys, "predict", tmp_path / "clf.safetensors", tmp_path / "X.npy")
    assert code == 0, err
    assert out.split() == ["prediction", *clf.predict(X[:5])]
    # a bare MLP with three sigmoid outputs is multilabel: the command line says so instead of crashing
    mlplab.save(mlplab.MLP([4, 3], activation="tanh", output_activation="sigmoid", seed=0), tmp_path / "sig.safetensors")
    code, out, err = cli(capsys, "predict", tmp_path / "sig.safetensors", tmp_path / "X.npy")
    assert code == 2 and "multilabel" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("edit,match", [
    (lambda cli_meta: cli_meta.update(classes=cli_meta["classes"][:2]), "2 classes for a network with 3 outputs"),
    (lambda cli_meta: cli_meta["scaler"].update(mean=[0.0], scale=[1.0]), "scaler has 1 entries"),
    (lambda cli_meta: cli_meta.update(classes=["a", "a", "b"]), "duplicate class labels"),
    (lambda cli_meta: cli_meta.update(task="foo"), "unknown task"),
])
def test_tampered_cli_metadata_is_rejected(tmp_path, capsys, edit, match):
    import json
    import struct

    model = tmp_path / "iris.safetensors"
    code, _, err = cli(capsys, "train", "iris", "--hidden", "4", "--epochs", "2", "--optimizer", "adam",
                       "--standardize", "--out", model, "--quiet")
    assert code == 0, err
    raw = model.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = json.loads(header["__metadata__"]["mlplab"])
    edit(meta["extra"]["cli"])
    header["__metadata__"]["mlplab"] = json.dumps(meta)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    model.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + n:])
    code, out, err = cli(capsys, "predict", model)
    assert code == 2 and match in err and "Traceback" not in err


def test_only_runs_with_checkpoints_hash_the_training_data(tmp_path, capsys, monkeypatch):
    """The fingerprint (a hash of every byte of the training split) is what checkpoints store and
    --resume compares; a run without them does not spend a pass over the data on it."""
    from mlplab.cli import checkpoints as C

    real, calls = C.data_hash, []
    monkeypatch.setattr(C, "data_hash", lambda X, y: calls.append(X.shape) or real(X, y))
    assert cli(capsys, "train", "xor", "--hidden", "3", "--max-iter", "10", "--quiet")[0] == 0
    assert calls == []
    assert cli(capsys, "train", "xor", "--hidden", "3", "--max-iter", "10", "--checkpoint-every", "4",
               "--out", tmp_path / "m.safetensors", "--quiet")[0] == 0
    assert len(calls) == 1
    assert cli(capsys, "train", "--resume", tmp_path / "m.checkpoints", "--quiet")[0] == 0
    assert len(calls) == 2


def test_importing_the_command_line_leaves_scipy_optimize_for_later():
    """scipy.optimize takes about a second to import; only the exact line search's Brent refinement
    (and the estimators' lbfgs) use it, so `mlplab train` does not pay for it at start-up."""
    code = "import sys, mlplab, mlplab.cli; print('scipy.optimize' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", "")))
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
