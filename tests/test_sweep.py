"""`mlplab sweep` / `mlplab.sweep`: specs, the local pool and Ray, SQLite storage, resume, faults, tables, report."""

import inspect
import json
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlplab
from mlplab.cli import main
from mlplab.io import load_network
from sweep_helpers import db_rows

pytestmark = pytest.mark.slow  # process pools and Ray: left out of the quick subset (pytest -m "not slow")

SRC = str(Path(mlplab.__file__).resolve().parents[1])
SCRIPT = Path(sys.executable).parent / "mlplab"
COMMAND = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "mlplab.cli"]

# the 12-run spec, made small (60 samples, 3 epochs) so the suite stays fast
SPEC = """data = "moons"
n_samples = 60
hidden = [8]
epochs = 3
[grid]
optimizer = ["sgd", "minibatch", "adam"]
lr = [0.1, 0.01]
seed = [0, 1]
"""
MONITOR = inspect.signature(mlplab.train).parameters["monitor"].default  # what a history record holds
REQUIRED = {"id", "params", "status", "final_loss", "grad_norm", "stop_reason", "n_iter", "cost", "seconds", "error",
            "history"}


def env(**extra):
    e = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra)
    e.pop("MLPLAB_DEBUG", None)
    return e


def cli(*args, timeout=300, **extra):
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True, env=env(**extra),
                          timeout=timeout)


def n_done(out):
    path = Path(out) / "results.sqlite"
    if not path.exists():
        return 0
    try:
        con = sqlite3.connect(path, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


@pytest.fixture(scope="module")
def grid12(tmp_path_factory):
    """The 12-run grid, run once through the command line on a local pool of 2 workers."""
    d = tmp_path_factory.mktemp("sweep")
    spec = d / "sweep.toml"
    spec.write_text(SPEC)
    r = cli("sweep", spec, "--out", d / "out", "--workers", 2, "--json")
    assert r.returncode == 0, r.stderr
    return d, spec, d / "out", json.loads(r.stdout)


# --- the local pool, the runs table, resume ------------------------------------------------------


def test_12_run_grid_on_the_local_pool(grid12):
    d, spec, out, summary = grid12
    assert summary["runs"] == {"total": 12, "done": 12} and summary["skipped"] == 0
    assert summary["swept"] == ["optimizer", "lr", "seed"] and len(summary["configurations"]) == 6
    con = sqlite3.connect(out / "results.sqlite")
    cols = {r[1] for r in con.execute("PRAGMA table_info(runs)")}
    assert REQUIRED <= cols
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    rows = db_rows(out)
    assert [r["status"] for r in rows] == ["done"] * 12 and len({r["params"] for r in rows}) == 12
    combos = {(c["optimizer"], c["lr"], c["seed"]) for c in (json.loads(r["combo"]) for r in rows)}
    assert combos == {(o, lr, s) for o in ("sgd", "minibatch", "adam") for lr in (0.1, 0.01) for s in (0, 1)}
    for r in rows:
        params = json.loads(r["params"])
        assert r["params"] == json.dumps(params, sort_keys=True, separators=(",", ":"))  # canonical
        assert params["epochs"] == 3 and params["layer_sizes"] == [2, 8, 1] and params["data"] == "moons"
        assert r["history"] is None  # a finished run's history is in its model file, not stored twice
        assert r["stop_reason"] == "epochs" and r["attempts"] == 1 and r["error"] is None
        net, meta = load_network(out / r["model"])  # the model saved is the one the row describes
        h = meta["extra"]["cli"]["history"]
        assert h["k"][0] == 0 and h["k"][-1] == r["n_iter"] and math.isclose(h["loss"][-1], r["final_loss"])
        assert meta["extra"]["cli"]["training"]["elapsed_s"] is None  # no timing: byte-equal on every backend
        assert meta["extra"]["cli"]["training"]["loss"] == r["final_loss"] and list(net.layer_sizes) == [2, 8, 1]
        assert meta["extra"]["cli"]["config"]["seed"] == params["seed"]
        assert r["accuracy"] == meta["extra"]["cli"]["metrics"]["train"]["accuracy"] and r["accuracy_split"] == "train"
    assert sorted(p.name for p in (out / "models").iterdir()) == [f"run-{i:04d}.safetensors" for i in range(1, 13)]


def test_a_sweep_run_is_mlplab_train_bit_for_bit(grid12, tmp_path, capsys):
    d, spec, out, _ = grid12
    row = next(r for r in db_rows(out) if json.loads(r["combo"]) == {"optimizer": "adam", "lr": 0.1, "seed": 1})
    model = tmp_path / "m.safetensors"
    assert main(["train", "moons", "--n-samples", "60", "--hidden", "8", "--epochs", "3", "--optimizer", "adam",
                 "--lr", "0.1", "--seed", "1", "--out", str(model), "--json"]) == 0
    t = json.loads(capsys.readouterr().out)["training"]
    assert (t["loss"], t["grad_norm"], t["cost"], t["n_iter"]) == (row["final_loss"], row["grad_norm"], row["cost"],
                                                                   row["n_iter"])
    assert np.array_equal(mlplab.load(model).params, mlplab.load(out / row["model"]).params)


def test_rerun_skips_the_done_runs(grid12):
    d, spec, out, _ = grid12
    before = db_rows(out)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "models").iterdir()}
    r = cli("sweep", spec, "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["skipped"] == 12 and s["runs"] == {"total": 12, "done": 12}
    after = db_rows(out)
    assert [(a["started_at"], a["attempts"], a["final_loss"]) for a in after] == \
           [(b["started_at"], b["attempts"], b["final_loss"]) for b in before]
    assert {p.name: p.stat().st_mtime_ns for p in (out / "models").iterdir()} == mtimes


def test_show_groups_by_everything_but_the_seed(grid12):
    d, spec, out, _ = grid12
    r = cli("sweep", out, "--show", "--json")
    assert r.returncode == 0, r.stderr
    configs = json.loads(r.stdout)["configurations"]
    rows = db_rows(out)
    for c in configs:
        mine = [x for x in rows if {k: v for k, v in json.loads(x["combo"]).items() if k != "seed"}
                == {"optimizer": c["optimizer"], "lr": c["lr"]}]
        E = np.array([x["final_loss"] for x in mine])
        t = np.array([x["seconds"] for x in mine])
        assert c["runs"] == c["done"] == 2
        assert c["E_mean"] == pytest.approx(E.mean(), rel=1e-12) and c["E_std"] == pytest.approx(E.std(ddof=1))
        assert c["seconds_mean"] == pytest.approx(t.mean())
        assert c["cost_mean"] == mine[0]["cost"]  # no line search: cost = sample gradients
    best = min(configs, key=lambda c: c["E_mean"])
    assert [c["best"] for c in configs] == [c is best for c in configs]
    text = cli("sweep", out, "--show")
    assert text.returncode == 0 and text.stderr == ""
    lines = text.stdout.splitlines()
    assert lines[0].split()[:3] == ["optimizer", "lr", "runs"] and len(lines) == 8
    star = [ln for ln in lines[1:7] if ln.startswith("*")]
    assert len(star) == 1 and star[0].split()[1:3] == [best["optimizer"], f"{best['lr']:g}"]
    assert "±" in lines[1]


def test_report_is_one_offline_file_with_bands_and_verdicts(grid12, tmp_path):
    d, spec, out, _ = grid12
    page = tmp_path / "sweep.html"
    r = cli("sweep", out, "--show", "--report", page, "--quiet")
    assert r.returncode == 0, r.stderr
    html = page.read_text()
    assert not re.search(r"<script[^>]*\bsrc=", html), "the report must not load scripts from elsewhere"
    assert len(html) > 1_000_000  # plotly.js embedded
    for name in ("convergence-k", "convergence-cost", "final-optimizer", "final-lr"):
        assert f'data-name="{name}"' in html
    assert 'data-name="final-seed"' not in html
    rm = html.split('class="t rm"')[1].split("</table>")[0]
    cells = [row.split("<td>")[1:] for row in rm.split("<tr>")[2:]]
    verdict = {c[0].split("<")[0]: c[4].split("<")[0] for c in cells}
    # one row per method and schedule form (the constants aside): sgd/minibatch default to gamma_k = c/(k+1)
    # (Robbins–Monro); adam's constant schedule is not, and fails by a noise floor (Σγ_k² = ∞), not by stalling
    assert sorted(verdict.values()) == ["no", "yes", "yes"] and all("first of 2" in k for k in verdict)
    assert all(v == "no" for k, v in verdict.items() if k.startswith("adam"))
    adam = next(c for c in cells if c[0].startswith("adam"))
    assert "noise floor" in adam[5] and "stalls" not in adam[5]
    assert 'data-name="parallel"' in html and "sortable" in html


def test_band_median_and_range_over_seeds():
    from mlplab.sweeps.figures import band

    # the second run records at k = 0, 2 only: its E at k = 1 is interpolated (3 + 1)/2 = 2
    x, med, lo, hi, n = band([(np.array([0.0, 1, 2]), np.array([1.0, 2, 3])), (np.array([0.0, 2]), np.array([3.0, 1])),
                              (np.array([0.0, 1]), np.array([5.0, 4]))])
    assert x.tolist() == [0, 1, 2] and n.tolist() == [3, 3, 2]
    assert med.tolist() == [3, 2, 2] and lo.tolist() == [1, 2, 1] and hi.tolist() == [5, 4, 3]


# --- faults: kill -9 of the driver, Ctrl-C, dying workers, divergence ----------------------------


def _wait_for(pred, proc, timeout=240):
    end = time.monotonic() + timeout
    while not pred():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the sweep made no progress"
        time.sleep(0.05)


def test_ctrl_c_then_kill_9_of_the_driver_then_resume(tmp_path):
    spec = tmp_path / "sweep.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    args = [*COMMAND, "sweep", str(spec), "--out", str(out), "--workers", "2", "--quiet"]
    slow = env(MLPLAB_SWEEP_TEST_DELAY="0.4")  # each run waits 0.4 s: the signals land mid-sweep
    proc = subprocess.Popen(args, env=slow, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: n_done(out) >= 2, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "rerun the same command" in err, err
    rows = db_rows(out)
    first = sum(r["status"] == "done" for r in rows)
    assert 2 <= first < 12 and {r["status"] for r in rows} <= {"done", "pending"}, (rows, err)  # none left running

    proc = subprocess.Popen(args, env=slow, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: n_done(out) >= first + 2, proc)
    proc.kill()  # SIGKILL: no cleanup at all
    proc.communicate(timeout=60)
    rows = db_rows(out)
    second = sum(r["status"] == "done" for r in rows)
    assert first + 2 <= second < 12, "the sweep finished before the kill; the test proves nothing"

    r = subprocess.run(args[:-1] + ["--json"], env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["skipped"] == second  # the runs done before the kill were not run again
    rows = db_rows(out)
    assert len(rows) == 12 and [r["status"] for r in rows] == ["done"] * 12
    assert len({r["params"] for r in rows}) == 12
    assert len(list((out / "models").glob("run-*.safetensors"))) == 12


def test_dying_workers_are_retried_then_failed_and_divergence_is_a_result(tmp_path, monkeypatch):
    from mlplab.sweeps import MAX_ATTEMPTS

    spec = {"data": "linear-regression", "hidden": [4], "optimizer": "gd", "line_search": "none", "epochs": 5,
            "grid": {"lr": [1.0, 1e-4], "seed": [0, 1, 2]}}
    # ids follow the grid: 1-3 lr = 1 (diverge), 4-6 lr = 1e-4; run 4's worker dies once, run 6's every time
    monkeypatch.setenv("MLPLAB_SWEEP_TEST_CRASH", "4")
    runs = mlplab.sweep(spec, out=tmp_path / "out", workers=2)
    assert runs["status"].tolist() == ["diverged"] * 3 + ["done"] * 3
    assert runs["attempts"].tolist() == [1, 1, 1, 2, 1, 1]
    assert all("diverge" in e for e in runs["error"][:3]) and runs["final_loss"][:3].isna().all()
    assert not any((tmp_path / "out" / "models" / f"run-{i:04d}.safetensors").exists() for i in (1, 2, 3))

    monkeypatch.setenv("MLPLAB_SWEEP_TEST_CRASH", "5:9")  # in a new folder, run 5 (lr = 1e-4, seed 0) always dies
    spec["grid"]["seed"] = [0, 1, 2, 3]
    out2 = tmp_path / "out2"
    runs = mlplab.sweep(spec, out=out2, workers=2)
    failed = runs[runs["status"] == "failed"]
    assert failed["id"].tolist() == [5] and failed["attempts"].tolist() == [MAX_ATTEMPTS]
    assert "worker process died" in failed["error"].iloc[0] and f"after {MAX_ATTEMPTS} attempts" in failed["error"].iloc[0]
    assert (runs["status"] != "failed").sum() == 7

    monkeypatch.delenv("MLPLAB_SWEEP_TEST_CRASH")
    runs = mlplab.sweep(spec, out=out2, workers=2)  # a rerun tries the failed run again
    row = runs[runs["id"] == 5].iloc[0]
    assert row["status"] == "done" and row["attempts"] == 1 and pd.isna(row["error"])


# --- specs: validation before any run --------------------------------------------------------------


def test_invalid_combinations_are_rejected_before_any_run(tmp_path, capsys):
    assert main(["train", "moons", "--optimizer", "gd", "--line-search", "exact", "--lr", "0.1"]) == 2
    lr_msg = capsys.readouterr().err.strip().removeprefix("mlplab: error: ")
    assert main(["train", "moons", "--optimizer", "sgd", "--line-search", "exact"]) == 2
    ls_msg = capsys.readouterr().err.strip().removeprefix("mlplab: error: ")
    spec = tmp_path / "bad.toml"
    spec.write_text('data = "moons"\nepochs = 2\n[grid]\noptimizer = ["gd", "sgd"]\nline_search = ["exact", "none"]\n'
                    "lr = [0.1]\n")
    out = tmp_path / "out"
    r = cli("sweep", spec, "--out", out)
    assert r.returncode == 2 and r.stdout == ""
    err = r.stderr.strip()
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("mlplab: error: 3 of 4 combinations")
    assert f"{lr_msg} [optimizer=gd line_search=exact lr=0.1]" in err
    assert f"{ls_msg} [optimizer=sgd line_search=exact lr=0.1; optimizer=sgd line_search=none lr=0.1]" in err
    assert not out.exists()  # nothing was created: no database, no models


@pytest.mark.parametrize("spec, extra, words", [
    ('data = "moons"\n[grid]\nlrr = [0.1]\n', [], ["unknown option 'lrr'", "mlplab train --help"]),
    ('data = "moons"\nout = "m.safetensors"\n[grid]\nlr = [0.1]\n', [], ["'out' cannot be set in a sweep spec"]),
    ('data = "moons"\n[grid]\nlr = 0.1\n', [], ["[grid] lr must be a non-empty list"]),
    ('data = "moons"\nepochs = 3\n', [], ["no [grid] table"]),
    ('data = "moons"\nlr = 0.1\n[grid]\nlr = [0.1]\n', [], ["both a shared option and a swept key"]),
    ('data = "nosuchset"\n[grid]\nseed = [0, 1]\n', [], ["unknown data set 'nosuchset'"]),
    ('data = "moons"\n[grid]\nseed = [0, 1]\n[random]\nlr = { loguniform = [0, 1] }\n', [], ["needs n ="]),
    ('data = "moons"\n[grid]\nseed = [0]\n', ["--address", "auto"], ["--address applies to --backend ray only"]),
    ('data = "moons"\n[grid\n', [], ["is not valid TOML"]),
])
def test_spec_errors_are_one_line_exit_2(tmp_path, capsys, spec, extra, words):
    path = tmp_path / "s.toml"
    path.write_text(spec)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), *extra]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mlplab: error: ") and captured.out == ""
    for w in words:
        assert w in err
    assert not (tmp_path / "out").exists()


def test_command_line_misuse(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    for argv, words in ([["sweep", str(spec)], "needs --out DIR"],
                        [["sweep", str(tmp_path / "missing.toml"), "--out", "o"], "does not exist"],
                        [["sweep", str(spec), "--show"], "--show needs the results folder"],
                        [["sweep", str(tmp_path), "--show"], "holds no sweep results"],
                        [["sweep", str(tmp_path), "--show", "--workers", "2"], "--workers does not apply to --show"],
                        [["sweep", str(spec), "--out", str(spec)], "is a file"],
                        [["sweep", str(spec), "--out", str(tmp_path / "a" / "b")], "does not exist; create it first"],
                        [["sweep", str(spec), "--out", "o", "--report", "r.txt"], "must end in .html"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, (argv, err)


def test_random_draws_are_reproducible_and_crossed_with_the_grid():
    from mlplab.sweeps.spec import combinations

    spec = {"data": "moons", "grid": {"seed": [0, 1]},
            "random": {"n": 5, "sampler_seed": 3, "lr": {"loguniform": [1e-3, 1.0]}, "batch_size": {"randint": [4, 6]},
                       "optimizer": ["minibatch", "adam"]}}
    shared, combos, swept = combinations(spec)
    assert shared == {"data": "moons"} and swept == ["seed", "lr", "batch_size", "optimizer"]
    assert len(combos) == 10 and combinations(spec)[1] == combos
    rng = np.random.default_rng(3)  # the documented order of the draws: lr, batch_size, optimizer
    lr = np.exp(rng.uniform(np.log(1e-3), np.log(1.0), 5))
    bs = rng.integers(4, 7, 5)
    opt = rng.integers(0, 2, 5)
    for i in range(5):
        for s in (0, 1):
            c = combos[2 * i + s]
            assert c == {"lr": float(lr[i]), "batch_size": int(bs[i]), "optimizer": ["minibatch", "adam"][opt[i]],
                         "seed": s}
    long = dict(spec, random={"n": 5, "sampler_seed": 3, "lr": {"dist": "loguniform", "low": 1e-3, "high": 1.0},
                              "batch_size": {"dist": "randint", "low": 4, "high": 6},
                              "optimizer": {"dist": "choice", "values": ["minibatch", "adam"]}})
    assert combinations(long)[1] == combos  # the long form draws the same


def test_the_engine_does_not_import_sweeps():
    code = "import sys, mlplab; print(any(m.startswith(('mlplab.sweeps', 'mlplab.cli')) for m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env())
    assert r.stdout.strip() == "False", r.stderr
    import mlplab.sweeps

    assert mlplab.sweep is mlplab.sweeps.sweep and callable(mlplab.sweep)


# --- Ray ---------------------------------------------------------------------------------------------


def test_ray_local_gives_the_local_pools_results_bit_for_bit(grid12, tmp_path):
    ray = pytest.importorskip("ray")
    import tomllib

    d, spec_path, out, _ = grid12
    spec = tomllib.loads(SPEC)
    spec["grid"] = {"optimizer": ["sgd", "adam"], "lr": [0.1], "seed": [0, 1]}  # 4 of the 12 runs
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        runs = mlplab.sweep(spec, out=tmp_path / "ray", backend="ray")
    finally:
        ray.shutdown()
    local = {r["params"]: r for r in db_rows(out)}
    assert runs["status"].tolist() == ["done"] * 4
    for _, r in runs.iterrows():
        ref = local[r["params"]]
        assert (r["final_loss"], r["grad_norm"], r["cost"], r["n_iter"]) == (ref["final_loss"], ref["grad_norm"],
                                                                              ref["cost"], ref["n_iter"])
        h, h_ref = dict(r["history"]), load_network(out / ref["model"])[1]["extra"]["cli"]["history"]
        assert "time" not in h and h == h_ref  # the whole history, exact records included (counted, not timed)
        # the model files are byte for byte the same: no timings in them, the data sent with the task
        assert (tmp_path / "ray" / r["model"]).read_bytes() == (out / ref["model"]).read_bytes()


def test_one_driver_per_results_folder(tmp_path, capsys):
    from mlplab.sweeps import store

    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    out.mkdir()
    held = store.lock(out)  # as a running driver holds it
    try:
        assert main(["sweep", str(spec), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"(pid {os.getpid()}) is running on" in err
        assert not (out / "results.sqlite").exists()
    finally:
        held.close()


def test_progress_lines_and_table_off_a_terminal(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('data = "linear-regression"\nhidden = [4]\noptimizer = "gd"\nline_search = "none"\nepochs = 5\n'
                    '[grid]\nlr = [1e-4, 1.0]\n')
    r = cli("sweep", spec, "--out", tmp_path / "out", "--workers", 1)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"sweep: 2 runs (2 to run) on a local pool of 1 worker; results in {tmp_path / 'out' / 'results.sqlite'}"
    assert lines[1].startswith("[1/2] done     lr=0.0001  E=") and lines[2].startswith("[2/2] diverged lr=1  ")
    assert "grew above diverge_factor" in lines[2]
    head, good, bad = lines[3].split(), lines[4].split(), lines[5].split()
    assert head == ["lr", "runs", "E", "||grad", "E||", "cost", "time", "(s)"]  # regression: no accuracy column
    assert good[:3] == ["*", "0.0001", "1/1"] and bad == ["1", "0/1", "1", "diverged", "-", "-", "-", "-"]


def test_a_spec_is_read_in_the_encodings_a_train_config_is(tmp_path):
    from mlplab.sweeps import spec as S

    text = 'data = "moons"\nhidden = [8]\n\n[grid]\nlr = [0.1, 0.01]\n'
    for i, encoding in enumerate(("utf-8-sig", "utf-16", "utf-32")):
        path = tmp_path / f"s{i}.toml"
        path.write_bytes(text.encode(encoding))
        loaded, where = S.load(str(path))
        assert loaded == {"data": "moons", "hidden": [8], "grid": {"lr": [0.1, 0.01]}} and str(path) in where
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"data = \xff\xfe\xfa\n")
    with pytest.raises(S.SpecError, match="sweep spec"):
        S.load(str(bad))


# --- damaged or unexpected results folders: one line, exit 2, nothing created ---------------------

TINY = 'data = "moons"\nn_samples = 30\nepochs = 1\nhidden = [2]\n[grid]\nseed = [0, 1]\n'


def _damage(out: Path, how: str, good: Path) -> None:
    out.mkdir()
    db = out / "results.sqlite"
    if how == "corrupt":
        blob = bytearray(good.read_bytes())
        blob[100:4096] = os.urandom(3996)  # the header's end and the schema page
        db.write_bytes(bytes(blob))
    elif how == "truncated":
        db.write_bytes(good.read_bytes()[:1000])
    elif how == "foreign":
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE users (name TEXT)")
        con.commit()
        con.close()
    elif how == "text":
        db.write_text("not a database\n" * 50)
    elif how == "db-folder":
        db.mkdir()
    elif how == "models-file":
        (out / "models").write_text("x")
    elif how == "lock-folder":
        (out / ".lock").mkdir()


@pytest.fixture(scope="module")
def good_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    (d / "s.toml").write_text(TINY)
    assert main(["sweep", str(d / "s.toml"), "--out", str(d / "out"), "--quiet"]) == 0
    return d / "out" / "results.sqlite"


@pytest.mark.parametrize("how, words", [
    ("corrupt", "results.sqlite"), ("truncated", "results.sqlite"), ("foreign", "not an mlplab sweep's results"),
    ("text", "not a readable SQLite database"), ("db-folder", "'results.sqlite' is a folder"),
    ("models-file", "'models' is not a folder"), ("lock-folder", "'.lock' is a folder"),
])
def test_a_damaged_results_folder_is_one_line_and_left_as_it_was(tmp_path, capsys, good_store, how, words):
    spec = tmp_path / "s.toml"
    spec.write_text(TINY)
    out = tmp_path / "out"
    _damage(out, how, good_store)
    before = sorted(p.name for p in out.iterdir())
    for argv in (["sweep", str(spec), "--out", str(out)], ["sweep", str(out), "--show"]):
        if argv[-1] == "--show" and how in ("models-file", "lock-folder"):
            continue  # --show reads results.sqlite only
        assert main(argv) == 2, (argv, how)
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("mlplab: error: ") and "Traceback" not in err, err
        assert words in err, err
    assert sorted(p.name for p in out.iterdir()) == before  # no .lock, no models/ created


def test_a_read_only_results_folder_is_refused_before_anything_is_written(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    spec = tmp_path / "s.toml"
    spec.write_text(TINY)
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    try:
        assert main(["sweep", str(spec), "--out", str(out)]) == 2
        assert "cannot write the sweep's results" in capsys.readouterr().err
    finally:
        out.chmod(0o700)


def test_a_folder_of_another_sweep_is_not_mixed_into(tmp_path, capsys, good_store):
    import shutil

    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(good_store, out / "results.sqlite")
    other = tmp_path / "other.toml"
    other.write_text(TINY.replace("seed = [0, 1]", "lr = [0.5, 0.25]"))
    assert main(["sweep", str(other), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds the results of another sweep (2 runs" in err and "give another --out" in err
    assert len(db_rows(out)) == 2
    same = tmp_path / "same.toml"  # the same sweep, extended: resumes into the folder
    same.write_text(TINY.replace("seed = [0, 1]", "seed = [0, 1, 2]"))
    assert main(["sweep", str(same), "--out", str(out), "--quiet"]) == 0
    assert len(db_rows(out)) == 3


@pytest.mark.parametrize("line, words", [
    ("lr = [0.1, nan]", "[grid] lr = [0.1, nan] holds a non-finite number"),
    ("lr = [inf]", "[grid] lr = [inf] holds a non-finite number"),
])
def test_non_finite_grid_values_are_one_line(tmp_path, capsys, line, words):
    spec = tmp_path / "s.toml"
    spec.write_text(TINY.replace("seed = [0, 1]", line))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "out").exists()


def test_a_shared_non_finite_value_and_a_dash_underscore_twin_are_one_line(tmp_path, capsys):
    for text, words in (('data = "moons"\nl2 = nan\n[grid]\nseed = [0]\n', "l2 = nan holds a non-finite number"),
                        ('data = "moons"\n[grid]\nmax_iter = [1]\nmax-iter = [2]\n', "name the same option")):
        spec = tmp_path / "s.toml"
        spec.write_text(text)
        assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err
