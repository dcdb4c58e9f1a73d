"""Nothing silently wrong, the command line's part: each failure of issue 14 replayed.

The contract of :func:`mlplab.cli.main` for anything a user can cause or meet: exit code 2 and ONE
line on stderr naming the file or value (no traceback), and no model written where there should be
none. Signals: SIGTERM saves like Ctrl-C and exits 143; Ctrl-C at any moment gives one line.
"""

import ast
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mlplab
from mlplab.cli import main  # noqa: F401  (some tests call it directly)

from cli_helpers import cli, user_error

SRC = str(Path(__file__).resolve().parents[1] / "src")
CLI_DIR = Path(SRC) / "mlplab" / "cli"




def ok(capsys, *argv):
    code, out, err = cli(capsys, *argv)
    assert code == 0, err
    return out, err


# --- 1. divergence ------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [["--lr", "1e300", "--line-search", "none"],
                                   ["--optimizer", "sgd", "--schedule", "constant", "--lr", "1e300"],
                                   ["--optimizer", "adam", "--lr", "1e300"]])
def test_blow_ups_exit_2_with_a_hint_and_save_nothing(tmp_path, capsys, flags):
    out = tmp_path / "m.safetensors"
    err = user_error(capsys, "train", "iris", *flags, "--out", out, match="training diverged")
    assert "try " in err and "--diverge-factor" in err and "no model was saved" in err
    assert not list(tmp_path.iterdir())


def test_diverge_factor_and_max_weight_are_settable(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    # a step of 1e3 multiplies E by ~2e5 at once: under the default factor 1e6 ...
    code, _, err = cli(capsys, "train", "iris", "--lr", "1e3", "--line-search", "none", "--max-iter", "1",
                       "--out", out, "-q")
    assert code == 0 and out.exists(), err
    out.unlink()
    # ... above a factor of 2
    err = user_error(capsys, "train", "iris", "--lr", "1e3", "--line-search", "none", "--max-iter", "1",
                     "--diverge-factor", "2", "--out", out, match="diverge_factor = 2 times E(w^0)")
    assert not out.exists()
    err = user_error(capsys, "train", "iris", "--optimizer", "adam", "--lr", "1", "--max-weight", "3",
                     "--out", out, match="is above --max-weight 3")
    assert "max |w_i| = " in err and not out.exists()
    user_error(capsys, "train", "iris", "--diverge-factor", "1", match="--diverge-factor")
    user_error(capsys, "train", "iris", "--max-weight", "-1", match="--max-weight")


def test_inspect_and_evaluate_of_absurd_weights_say_so(tmp_path, capsys):
    good = tmp_path / "m.safetensors"
    ok(capsys, "train", "iris", "--max-iter", "2", "--out", good, "-q")
    net, meta = mlplab.io.load_network(good)
    net.params[...] = 1.7e302
    bad = mlplab.save(net, tmp_path / "absurd.safetensors", extra=meta["extra"])
    for command in (["inspect", bad], ["evaluate", bad, "iris"]):
        err = user_error(capsys, *command, match="absurd values")
        assert "1.7e+302" in err and "LinAlgError" not in err


# --- 2. columns by name --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iris_files(tmp_path_factory):
    pd = pytest.importorskip("pandas")
    d = tmp_path_factory.mktemp("iris")
    X, y = mlplab.datasets.load("iris")
    feats, classes = mlplab.datasets.column_names("iris")
    df = pd.DataFrame(X, columns=feats)
    df["species"] = np.array(classes)[y.astype(int)]
    df.to_csv(d / "iris.csv", index=False)
    swapped = [feats[1], feats[0], feats[3], feats[2], "species"]
    df[swapped].to_csv(d / "swapped.csv", index=False)
    df[swapped[:4]].to_csv(d / "swapped_features.csv", index=False)
    df.set_axis(["a", "b", "c", "d", "species"], axis=1).to_csv(d / "renamed.csv", index=False)
    df[[feats[0], feats[1], feats[2], "species"]].assign(extra=1.0).to_csv(d / "missing.csv", index=False)
    df.to_csv(d / "noheader.csv", index=False, header=False)
    df[feats[::-1] + ["species"]].to_csv(d / "reversed.tsv", index=False, sep="\t")
    model = d / "m.safetensors"
    assert main(["train", str(d / "iris.csv"), "--hidden", "8", "--max-iter", "60", "--out", str(model), "-q"]) == 0
    return d, model, feats


def test_columns_are_matched_by_name(iris_files, capsys):
    d, model, _ = iris_files
    capsys.readouterr()
    ref = json.loads(ok(capsys, "evaluate", model, d / "iris.csv", "--json")[0])
    assert ref["accuracy"] > 0.9
    for name in ("swapped.csv", "reversed.tsv"):
        out, err = ok(capsys, "evaluate", model, d / name, "--json")
        got = json.loads(out)
        assert got["accuracy"] == ref["accuracy"] and got["loss"] == pytest.approx(ref["loss"], rel=1e-12), name
        assert err == ""
    a = ok(capsys, "predict", model, d / "iris.csv", "--proba")[0]
    b = ok(capsys, "predict", model, d / "swapped_features.csv", "--proba")[0]
    assert a == b


def test_wrong_or_missing_names_are_errors_listing_them(iris_files, capsys):
    d, model, feats = iris_files
    for command in ("evaluate", "predict"):
        err = user_error(capsys, command, model, d / "renamed.csv", match="do not match the model's features")
        assert "unknown column(s) 'a', 'b', 'c', 'd'" in err and repr(feats[0]) in err
    err = user_error(capsys, "evaluate", model, d / "missing.csv", match="missing the model's feature(s)")
    assert repr(feats[3]) in err and "unknown column(s) 'extra'" in err


def test_a_file_without_header_is_taken_by_position_with_a_note(iris_files, capsys):
    d, model, feats = iris_files
    out, err = ok(capsys, "evaluate", model, d / "noheader.csv", "--json")
    assert json.loads(out)["accuracy"] == json.loads(ok(capsys, "evaluate", model, d / "iris.csv", "--json")[0])[
        "accuracy"]
    assert err.count("\n") == 1 and "note: " in err and "no header row" in err and feats[0] in err


def test_parquet_columns_by_name(iris_files, tmp_path, capsys):
    pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    d, model, feats = iris_files
    df = pd.read_csv(d / "swapped.csv")
    df.to_parquet(tmp_path / "swapped.parquet")
    got = json.loads(ok(capsys, "evaluate", model, tmp_path / "swapped.parquet", "--json")[0])
    ref = json.loads(ok(capsys, "evaluate", model, d / "iris.csv", "--json")[0])
    assert got["accuracy"] == ref["accuracy"]


@pytest.fixture(scope="module")
def x_named(tmp_path_factory):
    """A model trained on a file whose header names its features x1, x2 (the label depends on x1 only)."""
    d = tmp_path_factory.mktemp("xnamed")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] > 0).astype(int)
    rows = "\n".join(f"{float(a)!r},{float(b)!r},{c}" for (a, b), c in zip(X, y))
    (d / "train.csv").write_text("x1,x2,label\n" + rows + "\n")
    (d / "swapped.csv").write_text("x2,x1,label\n" + "\n".join(f"{float(b)!r},{float(a)!r},{c}" for (a, b), c in zip(X, y)) + "\n")
    (d / "other.csv").write_text("height,weight,label\n" + rows + "\n")
    (d / "noheader.csv").write_text(rows + "\n")
    model = d / "m.safetensors"
    assert main(["train", str(d / "train.csv"), "--target", "label", "--hidden", "6", "--optimizer", "gd",
                 "--max-iter", "80", "--out", str(model), "-q"]) == 0
    return d, model


def test_features_named_x1_x2_are_names(x_named, capsys):
    """A header x1,x2 is a header like any other: columns in another order are matched by name."""
    d, model = x_named
    ref = json.loads(ok(capsys, "evaluate", model, d / "train.csv", "--json")[0])
    assert ref["accuracy"] > 0.95
    out, err = ok(capsys, "evaluate", model, d / "swapped.csv", "--json")
    got = json.loads(out)
    assert got["accuracy"] == ref["accuracy"] and got["loss"] == pytest.approx(ref["loss"], rel=1e-12) and err == ""
    assert ok(capsys, "predict", model, d / "swapped.csv")[0] == ok(capsys, "predict", model, d / "train.csv")[0]
    for command in (["evaluate"], ["predict"], ["report", "--out", d / "r.html"]):
        err = user_error(capsys, command[0], model, d / "other.csv", *command[1:],
                         match="do not match the model's features")
        assert "unknown column(s) 'height', 'weight'" in err and "'x1', 'x2'" in err
    _, meta = mlplab.io.load_network(model)
    assert meta["extra"]["cli"]["feature_names_given"] is True


def test_a_model_trained_without_a_header_takes_columns_by_position_and_says_so(x_named, tmp_path, capsys):
    d, _ = x_named
    model = tmp_path / "pos.safetensors"
    assert main(["train", str(d / "noheader.csv"), "--hidden", "6", "--optimizer", "gd", "--max-iter", "80",
                 "--out", str(model), "-q"]) == 0
    capsys.readouterr()
    _, meta = mlplab.io.load_network(model)
    assert meta["extra"]["cli"]["feature_names_given"] is False
    ref = json.loads(ok(capsys, "evaluate", model, d / "noheader.csv", "--json")[0])
    out, err = ok(capsys, "evaluate", model, d / "other.csv", "--json")
    assert json.loads(out)["accuracy"] == ref["accuracy"]
    assert "note: " in err and "taken by position" in err and err.count("\n") == 1


def test_a_model_file_without_the_names_flag_keeps_the_old_reading(x_named, tmp_path, capsys):
    """Models written before the flag: x1..xN there meant "no header", so such a file is read by position."""
    d, model = x_named
    net, meta = mlplab.io.load_network(model)
    cli_meta = dict(meta["extra"]["cli"])
    del cli_meta["feature_names_given"]
    old = tmp_path / "old.safetensors"
    mlplab.save(net, old, extra={"cli": cli_meta})
    out, _ = ok(capsys, "evaluate", old, d / "other.csv", "--json")
    assert json.loads(out)["accuracy"] > 0.95


@pytest.mark.parametrize("header", ["x1,label,label", "label,x1,label", "a,a,label"])
def test_duplicate_column_names_are_refused_when_training(tmp_path, capsys, header):
    path = tmp_path / "dup.csv"
    path.write_text(header + "\n" + "".join(f"{i % 3},{i % 2},{(i // 2) % 2}\n" for i in range(12)))
    dup = "'label'" if header.count("label") == 2 else "'a'"
    for extra in (["--target", "label"], []):
        err = user_error(capsys, "train", path, *extra, "--max-iter", "5", "--out", tmp_path / "m.safetensors",
                         match="appear more than once in the header")
        assert dup in err and "give each column its own name" in err
    assert not (tmp_path / "m.safetensors").exists()


# --- 3. outputs, memory, crafted files, configs ------------------------------------------------------


def test_unwritable_outputs_are_refused_before_training(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    ok(capsys, "train", "xor", "--max-iter", "2", "--out", model, "-q")
    cases = [["train", "xor", "--out", "/proc/x.safetensors"],
             ["train", "xor", "--report", "/proc/r.html"],
             ["train", "xor", "--plots", "/proc/figures"],
             ["train", "xor", "--checkpoint-every", "1", "--checkpoint-dir", "/proc/ck"],
             ["predict", model, "xor", "--out", "/proc/p.csv"]]
    for argv in cases:
        code, out, err = cli(capsys, *argv)
        assert code == 2 and out == "", (argv, err)  # nothing trained, nothing printed
        assert len(err.strip().splitlines()) == 1 and "/proc" in err and "does not accept new files" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_folder_is_refused_before_training(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        user_error(capsys, "train", "xor", "--out", ro / "m.safetensors", match="does not accept new files")
    finally:
        ro.chmod(0o755)


def _refuse_writes_to(monkeypatch, predicate):
    """atomic_write raises 'No space left on device' for the paths ``predicate`` picks."""
    real = mlplab.io.atomic_write

    def full(path, data):
        if predicate(Path(path)):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(mlplab.io, "atomic_write", full)


def test_a_failed_save_after_training_goes_to_a_fallback_file(tmp_path, capsys, monkeypatch):
    target = tmp_path / "disk" / "m.safetensors"
    target.parent.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    _refuse_writes_to(monkeypatch, lambda p: p.parent == target.parent)
    err = user_error(capsys, "train", "xor", "--hidden", "3", "--max-iter", "5", "--out", target, "-q",
                     match="No space left on device")
    rescued = cwd / "m.rescued.safetensors"
    assert str(target) in err and str(rescued) in err and not target.exists()
    net, meta = mlplab.io.load_network(rescued)
    assert meta["extra"]["cli"]["training"]["n_iter"] == 5


def test_a_full_disk_while_checkpointing_warns_once_and_training_goes_on(tmp_path, capsys, monkeypatch):
    ck = tmp_path / "ck"
    _refuse_writes_to(monkeypatch, lambda p: p.parent == ck)
    model = tmp_path / "m.safetensors"
    code, out, err = cli(capsys, "train", "xor", "--hidden", "3", "--max-iter", "20", "--checkpoint-every", "2",
                         "--checkpoint-dir", ck, "--out", model, "-q", "--json")
    assert code == 0, err
    assert err.count("warning: cannot write checkpoint") == 1 and "No space left on device" in err
    assert json.loads(out)["training"]["n_iter"] == 20 and model.exists()
    assert not (ck / ".lock").exists()


def test_memory_is_checked_before_allocating(tmp_path, capsys):
    with pytest.raises(MemoryError, match=r"7450\.6 GiB.*available"):
        mlplab.MLP([10 ** 6, 10 ** 6])
    err = user_error(capsys, "train", "iris", "--hidden", "1000000000", "--out", tmp_path / "m.safetensors",
                     match="59.6 GiB")
    assert "available" in err and "--hidden" in err
    assert not list(tmp_path.iterdir())


def _crafted_model(tmp_path) -> Path:
    """A 4-16-3 model file (a few KB) whose metadata claim a 4-50000-50000-3 network, checksum intact."""
    from safetensors import safe_open
    from safetensors.numpy import save as st_save

    net = mlplab.MLP([4, 16, 3], activation=["tanh", "softmax"], seed=0)
    path = mlplab.save(net, tmp_path / "real.safetensors")
    with safe_open(str(path), framework="numpy") as f:
        meta = json.loads(f.metadata()["mlplab"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta["architecture"]["layer_sizes"] = [4, 50000, 50000, 3]
    meta["architecture"]["activations"] = ["tanh", "tanh", "softmax"]
    crafted = tmp_path / "crafted.safetensors"
    crafted.write_bytes(st_save(tensors, metadata={"mlplab": json.dumps(meta)}))
    assert crafted.stat().st_size < 10_000
    return crafted


def test_crafted_metadata_is_rejected_before_allocating(tmp_path, capsys):
    crafted = _crafted_model(tmp_path)
    with pytest.raises(mlplab.ModelFileError, match=r"claim layer sizes \[4, 50000, 50000, 3\]"):
        mlplab.load(crafted)
    user_error(capsys, "evaluate", crafted, "iris", match="claim layer sizes")
    # in a fresh process: the peak resident memory barely moves (19 GB before the check existed)
    code = ("import mlplab, sys\n"
            "def hwm():\n"
            "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
            "before = hwm()\n"
            "try:\n"
            f"    mlplab.load({str(crafted)!r})\n"
            "except mlplab.ModelFileError:\n"
            "    pass\n"
            "print(hwm() - before)\n")
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=SRC))
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) < 50_000, f"peak RSS grew by {r.stdout.strip()} kB"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-32"])
def test_config_files_in_detectable_encodings(tmp_path, capsys, encoding):
    cfg = tmp_path / "run.toml"
    cfg.write_bytes('# réglages\nhidden = [3]\nmax_iter = 4\n[train]\nseed = 1\n'.encode(encoding))
    out = json.loads(ok(capsys, "train", "xor", "--config", cfg, "--json")[0])
    assert out["architecture"].startswith("2-3-1") and out["training"]["n_iter"] == 4


def test_config_in_an_undetectable_encoding_is_a_clean_error(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_bytes("# r\xe9glages\nhidden = [3]\n".encode("latin-1"))
    user_error(capsys, "train", "xor", "--config", cfg, match="save it as UTF-8")


# --- 4. signals, stale temporary files, locked checkpoint folders --------------------------------------


LONG_RUN = ["train", "digits", "--optimizer", "sgd", "--lr", "0.01", "--schedule", "constant", "--eval-every",
            "50", "--epochs", "5000"]  # 9 M steps: the first progress line (10 %) within seconds


def _signalled(argv, sig, ready, cwd=None, after=0.0):
    """Run ``argv`` (a list after ``python``), send ``sig`` once ``ready(proc)`` (then ``after`` s); (code, stderr)."""
    proc = subprocess.Popen([sys.executable, *argv], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=SRC))
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and not ready(proc):
            time.sleep(0.001)
        time.sleep(after)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


def _training(proc) -> bool:
    """A progress line after k = 0 has been printed: steps have been taken (an interrupt at k = 0, before any
    step, saves nothing by design)."""
    line = proc.stdout.readline()
    return line.startswith("k=") and not line.startswith("k=0 ")


def _numpy_loaded(proc) -> bool:
    """The first NumPy extension is mapped: the import of mlplab is under way."""
    try:
        return "numpy" in Path(f"/proc/{proc.pid}/maps").read_text()
    except OSError:
        return False


LAUNCHER = ["-c", "import sys, _mlplab_main; sys.exit(_mlplab_main.main())"]


def test_sigterm_saves_the_best_model_and_exits_143(tmp_path):
    model = tmp_path / "best.safetensors"
    code, err = _signalled(["-m", "mlplab.cli", *LONG_RUN, "--out", str(model)], signal.SIGTERM, _training,
                           after=0.3)
    assert code == 143, err
    assert "terminated (SIGTERM)" in err and "best model so far" in err and str(model) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    _, meta = mlplab.io.load_network(model)
    assert meta["extra"]["cli"]["training"]["interrupted"] is True


def test_the_entry_point_is_the_launcher():
    import tomllib

    project = tomllib.loads((Path(SRC).parent / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["mlplab"] == "_mlplab_main:main"


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the child's imports")
@pytest.mark.parametrize("after", [0.0, 0.1, 1.5], ids=["importing-numpy", "importing-mlplab", "later"])
def test_ctrl_c_at_any_moment_gives_one_line(tmp_path, after):
    """SIGINT while the launcher imports mlplab (NumPy, SciPy, ...) or later: one line, exit 130."""
    code, err = _signalled([*LAUNCHER, *LONG_RUN], signal.SIGINT, _numpy_loaded, cwd=tmp_path, after=after)
    assert code == 130, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "interrupted" in err, err


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the child's imports")
def test_sigterm_during_start_up_gives_one_line(tmp_path):
    code, err = _signalled([*LAUNCHER, *LONG_RUN], signal.SIGTERM, _numpy_loaded, cwd=tmp_path)
    assert code == 143, err
    assert len(err.strip().splitlines()) == 1 and "terminated (SIGTERM)" in err and "Traceback" not in err, err
    assert not list(tmp_path.iterdir())


def test_stale_temporary_files_are_removed_on_the_next_write(tmp_path):
    old = time.time() - 3600
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(done.stdout)  # a process that has ended
    stale = [tmp_path / f".m.safetensors.{dead}.k3j_x9a2.tmp",  # its writer is gone
             tmp_path / f".mlplab-probe.{dead}.zz99yy88.tmp",
             tmp_path / ".m.safetensors.k3j_x9a2.tmp",  # mlplab 0.2's names (no pid): older than this process
             tmp_path / ".ckpt-0000000004.safetensors.ab12cd34.tmp"]
    kept = [tmp_path / ".notes.txt.k3j_x9a2.tmp", tmp_path / "m.safetensors.k3j_x9a2.tmp",  # not ours
            tmp_path / ".m.safetensors.1.k3j_x9a2.tmp",  # pid 1 is alive: a write in progress
            tmp_path / ".new.safetensors.k3j_x9a3.tmp"]  # newer than this process
    for p in stale + kept:
        p.write_bytes(b"half a file")
    for p in stale + kept[:3]:
        os.utime(p, (old, old))
    mlplab.save(mlplab.MLP([2, 1]), tmp_path / "other.safetensors")
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)


def test_a_killed_write_leaves_a_temporary_file_that_the_next_run_removes(tmp_path):
    # a write killed between creating its temporary file and renaming it (as by SIGKILL)
    code = ("import os, mlplab.io, sys\n"
            "os.replace = lambda *a: os.kill(os.getpid(), 9)\n"
            f"mlplab.io.atomic_write({str(tmp_path / 'm.safetensors')!r}, b'x' * 1000)\n")
    r = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=SRC), timeout=120)
    assert r.returncode == -signal.SIGKILL
    left = list(tmp_path.glob(".m.safetensors.*.tmp"))
    assert len(left) == 1
    r = subprocess.run([sys.executable, "-m", "mlplab.cli", "train", "xor", "--max-iter", "2", "--out",
                        str(tmp_path / "m.safetensors"), "-q"], env=dict(os.environ, PYTHONPATH=SRC),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert not left[0].exists() and (tmp_path / "m.safetensors").exists()


def test_checkpoint_folders_are_locked_per_run(tmp_path, capsys):
    ck = tmp_path / "ck"
    ck.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (ck / ".lock").write_text(f"{other.pid}\n")
        err = user_error(capsys, "train", "xor", "--max-iter", "4", "--checkpoint-every", "2",
                         "--checkpoint-dir", ck, match="is in use by another run")
        assert f"pid {other.pid}" in err and "--checkpoint-dir" in err
        assert not list(ck.glob("ckpt-*"))
    finally:
        other.kill()
        other.wait()
    # the owner is gone (killed): its stale lock is taken over, and released at the end
    code, _, err = cli(capsys, "train", "xor", "--max-iter", "4", "--checkpoint-every", "2",
                       "--checkpoint-dir", ck, "-q")
    assert code == 0, err
    assert list(ck.glob("ckpt-*")) and not (ck / ".lock").exists()


# --- 6. smaller ------------------------------------------------------------------------------------


def test_training_that_ends_at_chance_says_so(capsys):
    code, out, err = cli(capsys, "train", "iris", "--optimizer", "minibatch", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["metrics"]["train"]["accuracy"] == pytest.approx(1 / 3)
    assert err.count("\n") == 1 and "warning: training ended at chance level" in err and "try " in err
    assert summary["warnings"] == [err.strip().split("warning: ", 1)[1]]
    _, err = ok(capsys, "train", "iris", "--max-iter", "20", "-q")
    assert "chance" not in err


def test_failed_plots_leave_no_empty_folder(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    import mlplab.plots

    def full(folder, comp):
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(folder) / "convergence.png"))

    monkeypatch.setattr(mlplab.plots, "save_pngs", full)
    figures = tmp_path / "figures"
    user_error(capsys, "train", "xor", "--max-iter", "3", "--plots", figures, match="No space left on device")
    assert not figures.exists()
    user_error(capsys, "train", "xor", "--lr", "1e300", "--line-search", "none", "--plots", figures,
               "--checkpoint-every", "100", "--checkpoint-dir", tmp_path / "ck", match="diverged")
    assert not figures.exists() and not (tmp_path / "ck").exists()


# --- 7. layout ---------------------------------------------------------------------------------------


def _cli_imports(name: str) -> set[str]:
    tree = ast.parse((CLI_DIR / f"{name}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mlplab.cli."):
            found.add(node.module.split(".")[2])
    return found


def test_command_modules_depend_only_downward():
    assert _cli_imports("models") == set()
    assert _cli_imports("common") <= {"models"}
    assert _cli_imports("parsers") == set()
    assert _cli_imports("reports") <= {"common", "models"}
    assert _cli_imports("commands") <= {"common", "models"}
    assert "commands" not in _cli_imports("train") and _cli_imports("train") <= {"common", "reports", "checkpoints",
                                                                                  "progress"}


def test_history_columns_are_listed_once():
    for path in (Path(SRC) / "mlplab" / "io.py", CLI_DIR / "train.py", CLI_DIR / "reports.py"):
        text = path.read_text()
        assert '"ls_evals"' not in text and "'ls_evals'" not in text, path
    X, y = mlplab.datasets.load("iris")
    net = mlplab.MLP([4, 5, 3], activation=["tanh", "softmax"], seed=0)
    h = mlplab.train(net, X, y.astype(int), loss="cross_entropy", max_iter=7).history
    d = h.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["step_size"][-1] is None and set(d) == set(h.__dataclass_fields__)
    back = mlplab.History.from_dict(d)
    for name in h.__dataclass_fields__:
        np.testing.assert_array_equal(np.asarray(getattr(back, name), dtype=float),
                                      np.asarray(getattr(h, name), dtype=float))
    thin = h.to_dict(max_rows=3)
    assert thin["k"] == [0, 4, 7] or thin["k"][0] == 0 and thin["k"][-1] == 7 and len(thin["k"]) == 3
    with pytest.raises(ValueError, match="'loss'"):
        mlplab.History.from_dict({k: v for k, v in d.items() if k != "loss"})
    old = {k: v for k, v in d.items() if k not in ("forward_evals", "unbounded", "capped", "time")}
    assert mlplab.History.from_dict(old).unbounded == [False] * len(h)


# --- 5. loading a large CSV: against pandas.read_csv, in fresh processes -------------------------------


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc for the peak memory")
def test_csv_loading_costs_about_what_pandas_costs(tmp_path):
    """Time and peak-memory growth of D.load_file over a bare pd.read_csv of the same CSV, as ratios.

    Both run alternately in fresh processes (min of 3 for time), so outside load hits them alike;
    the full-size measurement (200,000 × 50) is `python -m bench.csv_load`.
    """
    sys.path.insert(0, str(Path(SRC).parent))
    try:
        from bench.csv_load import measure, write_csv
    finally:
        sys.path.remove(str(Path(SRC).parent))
    path = tmp_path / "big.csv"
    write_csv(path, 60_000, 30)
    runs = {"pandas": [], "mlplab": []}
    for _ in range(3):
        for which in runs:
            runs[which].append(measure(path, which))
    assert runs["mlplab"][0]["shape"] == runs["pandas"][0]["shape"] == [60_000, 30]
    time_ratio = min(r["time"] for r in runs["mlplab"]) / min(r["time"] for r in runs["pandas"])
    mem_ratio = min(r["growth"] for r in runs["mlplab"]) / min(r["growth"] for r in runs["pandas"])
    assert time_ratio <= 2.5, time_ratio
    assert mem_ratio <= 2.0, mem_ratio


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")
def test_estimator_models_match_columns_by_name_too(iris_files, tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    from mlplab.sklearn import MLPClassifier

    d, _, feats = iris_files
    df = pd.read_csv(d / "iris.csv")
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0).fit(df[feats], df["species"])
    path = tmp_path / "est.safetensors"
    mlplab.save(est, path)
    got = json.loads(ok(capsys, "evaluate", path, d / "swapped.csv", "--json")[0])
    assert got["accuracy"] == pytest.approx(est.score(df[feats], df["species"]))
    user_error(capsys, "evaluate", path, d / "renamed.csv", match="unknown column(s) 'a', 'b', 'c', 'd'")


def test_a_symlink_given_as_out_is_written_through(tmp_path, capsys):
    real = tmp_path / "models" / "real.safetensors"
    real.parent.mkdir()
    link = tmp_path / "link.safetensors"
    link.symlink_to(real)
    assert cli(capsys, "train", "xor", "--hidden", "2", "--max-iter", "3", "--out", link)[0] == 0
    assert link.is_symlink() and real.is_file() and not real.is_symlink()
    assert mlplab.io.load_network(link)[0].n_params == mlplab.io.load_network(real)[0].n_params
    before = real.read_bytes()
    assert cli(capsys, "train", "xor", "--hidden", "2", "--max-iter", "5", "--out", link)[0] == 0
    assert link.is_symlink() and real.read_bytes() != before  # the target replaced, the link kept


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_given_as_out_is_refused_and_kept(tmp_path, capsys):
    import stat

    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    user_error(capsys, "train", "xor", "--max-iter", "3", "--out", fifo, match="not a regular file")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    net = mlplab.MLP([2, 2, 1], seed=0)
    with pytest.raises(ValueError, match="not a regular file"):
        mlplab.save(net, fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_file_named_like_a_built_in_set_gets_a_note(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "iris").write_text("a,b,label\n1,2,0\n3,4,1\n")
    code, out, err = cli(capsys, "train", "iris", "--max-iter", "2", "--quiet")
    assert code == 0 and "note: 'iris' is the built-in data set" in err and "./iris" in err
    err = user_error(capsys, "train", "./iris", "--max-iter", "2", "--quiet", match="unknown file extension")
    assert "note:" not in err  # the file itself was read (and has no data extension)


# --- limits: data sizes, sweep sizes, memory --------------------------------------------------------


@pytest.mark.parametrize("n", ["10000000000000", "1000000000"])
def test_too_many_synthetic_samples_is_one_line_before_drawing(capsys, monkeypatch, n):
    import mlplab._memory as M

    monkeypatch.setattr(M, "available_bytes", lambda: 8 * 1024 ** 3)  # the same answer on any machine
    err = user_error(capsys, "train", "moons", "--n-samples", n, match="samples of 'moons'")
    assert "of memory but only 8.0 GiB is available" in err and "smaller --n-samples" in err


def test_an_address_space_limit_counts_as_memory(monkeypatch):
    import resource

    import mlplab._memory as M

    monkeypatch.setattr(resource, "getrlimit", lambda what: (2 * 1024 ** 3, resource.RLIM_INFINITY))
    free = M.available_bytes()
    assert free is not None and free <= 2 * 1024 ** 3


def test_a_memory_error_past_the_checks_is_one_line_exit_2(capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise MemoryError("Unable to allocate 36.4 TiB for an array")

    monkeypatch.setattr(mlplab.datasets, "load", boom)
    err = user_error(capsys, "train", "iris", match="out of memory (Unable to allocate 36.4 TiB")
    assert "internal error" not in err


@pytest.mark.parametrize("table", ["[random]\nn = 100000000\nlr = { loguniform = [0.001, 1] }\n",
                                   "[grid]\nlr = [%s]\nseed = [%s]\n" % (
                                       ",".join(str(1 + i) for i in range(1000)),
                                       ",".join(str(i) for i in range(1000)))])
def test_a_sweep_of_more_runs_than_the_limit_is_refused_at_once(tmp_path, capsys, table):
    import time

    spec = tmp_path / "s.toml"
    spec.write_text('data = "moons"\n' + table)
    t0 = time.process_time()
    err = user_error(capsys, "sweep", spec, "--out", tmp_path / "out", match="runs; a sweep holds at most 100,000")
    assert ("100,000,000 runs" in err or "1,000,000 runs" in err) and time.process_time() - t0 < 30
    assert not (tmp_path / "out").exists()


def test_a_column_count_mismatch_says_which_columns_are_features(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    assert cli(capsys, "train", "moons", "--max-iter", "2", "--out", model, "-q")[0] == 0
    two = tmp_path / "two.csv"
    two.write_text("a,label\n1,0\n2,1\n")
    user_error(capsys, "evaluate", model, two, "--target", "label",
               match="has 2 columns (1 feature and the target 'label') but the model expects 2 features")
