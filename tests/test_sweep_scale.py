"""Sweeps at scale and in search (#27): data paths, ranking, expansion cost, reports, --best, mixed folders,
successive halving and TPE. Value-asserting; work is counted, never timed (timings: bench/sweep_scale.py)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlplab
from mlplab.cli import main
from mlplab.sweeps import results
from mlplab.sweeps.spec import Resolver, expand, expand_spec
from sweep_helpers import db_rows

pytestmark = pytest.mark.slow  # large stores: left out of the quick subset (pytest -m "not slow")

TINY = """n_samples = 60
hidden = [4]
epochs = 2
optimizer = "minibatch"
batch_size = 16
"""


# --- defect 1: relative data paths --------------------------------------------------------------------


def test_a_relative_data_path_is_the_spec_folders_and_the_data_travel_with_a_task(tmp_path, monkeypatch, capsys):
    X, y = mlplab.datasets.load("moons", n_samples=40)
    sub = tmp_path / "project"
    sub.mkdir()
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": y.astype(int)}).to_csv(sub / "data.csv", index=False)
    (sub / "sweep.toml").write_text('data = "data.csv"\nhidden = [4]\nepochs = 2\n[grid]\nseed = [0, 1]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the driver runs from another folder: the spec's folder is what counts
    assert main(["sweep", str(sub / "sweep.toml"), "--out", "out", "--workers", "1", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["runs"] == {"total": 2, "done": 2}
    params = json.loads(db_rows("out")[0]["params"])
    assert params["data"] == str((sub / "data.csv").resolve())
    # a Ray worker gets the table with its task: no file is read (a node need not see the driver's disk)
    runs, *_ = expand(str(sub / "sweep.toml"))
    r = runs[0]
    resolver = Resolver()
    table = resolver.table(resolver.args(r.options, "spec"))
    from mlplab.sweeps.runner import run_task

    gone = dict(r.options, data=str(tmp_path / "not-here.csv"))
    out = run_task({"id": 1, "attempt": 1, "cfg": r.cfg, "options": gone, "where": "spec", "model": None,
                    "table": table, "return_model": True})
    assert out["status"] == "done" and out["final_loss"] == db_rows("out")[0]["final_loss"]
    assert out["model_bytes"] == (Path("out") / db_rows("out")[0]["model"]).read_bytes()  # no timing inside


# --- defect 4 and ranking -----------------------------------------------------------------------------


_BASE = {}


def _frame(rows, swept=("lr", "seed")):
    if not _BASE:  # real settings (a mini-batch SGD run), the swept values put in
        _BASE.update(Resolver().resolve({"data": "moons", "n_samples": 60, "optimizer": "minibatch"}, "x"))
    recs = []
    for i, (lr, seed, status, E, val) in enumerate(rows, 1):
        recs.append({"id": i, "combo": {"lr": lr, "seed": seed}, "status": status, "final_loss": E,
                     "grad_norm": 1.0 if E is not None else None, "accuracy": None, "cost": 10, "forward_evals": 0,
                     "n_iter": 5, "stop_reason": "epochs", "seconds": 0.1, "attempts": 1, "error": None,
                     "model": None, "params": {**_BASE, "lr": lr, "seed": seed}, "history": None,
                     "metrics": None if val is None else {"train": {"mean_loss": E / 10},
                                                          "validation": {"mean_loss": val}}})
    return results.runs_frame(recs, list(swept))


def test_the_best_counts_diverged_seeds_against_a_configuration_and_ranks_by_the_validation_split():
    # lr=1: one seed done with the lowest E, three diverged; lr=0.1: four done
    rows = [(1.0, 0, "done", 1.0, 0.9), *((1.0, s, "diverged", None, None) for s in (1, 2, 3)),
            *((0.1, s, "done", 5.0, 0.5) for s in range(4))]
    s = results.summarize(_frame(rows))
    best = s[s["best"]]
    assert best["lr"].tolist() == [0.1] and best["rank"].tolist() == [1]
    assert s.set_index("lr").loc[1.0, "rank"] == 2 and s.attrs["metric"] == "validation_loss"
    # by the validation split, not the training E: lr=0.01 has the lower E but the higher validation loss
    rows = [*((0.01, s, "done", 1.0, 0.8) for s in range(2)), *((0.1, s, "done", 2.0, 0.3) for s in range(2))]
    s = results.summarize(_frame(rows))
    assert s[s["best"]]["lr"].tolist() == [0.1]
    assert results.summarize(_frame(rows), "E")[lambda d: d["best"]]["lr"].tolist() == [0.01]
    assert results.summarize(_frame(rows), "grad_norm").attrs["metric"] == "grad_norm"
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        results.summarize(_frame(rows), "nope")


# --- defect 5: the work grows linearly ----------------------------------------------------------------


def test_expansion_parses_once_per_configuration_and_builds_a_network_once_per_architecture():
    spec = {"data": "moons", "n_samples": 60, "optimizer": "minibatch", "epochs": 1,
            "grid": {"lr": [0.01, 0.1, 0.3], "hidden": [[4], [8]], "seed": list(range(20))}}
    e = expand_spec(spec)
    assert len(e.runs) == 120
    # the shared options once, 6 configurations once each, each of the 19 other seeds once; 2 architectures
    assert e.resolver.calls == {"parse": 1 + 6 + 19, "prepare": 2}
    # the same settings as resolving each run on its own, the way `mlplab train` does
    from mlplab.cli.common import resolve
    from mlplab.sweeps.spec import canonical

    r = Resolver()
    for run in e.runs[::7]:
        args = r.args(run.options, "x")
        assert canonical(resolve(args, r.table(args))) == run.params


def test_a_bad_seed_or_value_is_refused_like_train_refuses_it():
    spec = {"data": "moons", "n_samples": 60, "epochs": 1, "grid": {"lr": [0.1, -1.0], "seed": [0, 1]},
            "optimizer": "sgd"}
    with pytest.raises(ValueError, match=r"2 of 4 combinations .*lr=-1"):
        expand(spec)


def test_the_summary_is_one_pass_over_the_runs(monkeypatch):
    calls = []
    orig = results._group_key
    monkeypatch.setattr(results, "_group_key", lambda p: calls.append(1) or orig(p))
    rows = [(lr, s, "done", 1.0 + lr, None) for lr in np.linspace(0.01, 1, 300) for s in (0, 1)]
    s = results.summarize(_frame(rows))
    assert len(s) == 300 and len(calls) == 600  # one key per run, however many configurations


def test_a_resume_reads_the_expansion_from_the_store(tmp_path, monkeypatch):
    spec = tmp_path / "s.toml"
    spec.write_text('data = "lecture"\noptimizer = "sgd"\nepochs = 1\n[grid]\nseed = [0, 1, 2]\n')
    mlplab.sweeps.run(str(spec), tmp_path / "out", workers=1)
    from mlplab.sweeps import spec as S

    monkeypatch.setattr(S.Resolver, "resolve", lambda *a: pytest.fail("resolved again"))
    o = mlplab.sweeps.run(str(spec), tmp_path / "out", workers=1)
    assert o.skipped == 3 and o.counts == {"done": 3}


# --- defects 6, 7: the report ---------------------------------------------------------------------------


def test_numbers_get_a_numeric_axis_and_a_failing_schedule_says_how_it_fails():
    pytest.importorskip("plotly")
    from mlplab.optim import schedules
    from mlplab.sweeps.figures import final_vs
    from mlplab.sweeps.findings import _failure

    rows = [(lr, s, "done", 1.0 + lr, None) for lr in (0.3, 0.001, 0.03) for s in (0, 1)]
    df = _frame(rows)
    fig = final_vs(df, "lr", "E")
    assert fig.layout.xaxis.type == "log"  # 0.001 .. 0.3 spans 300x
    assert list(fig.data[-1].x) == [0.001, 0.03, 0.3]  # the median line in numeric order
    df2 = _frame([(lr, 0, "done", 2.0, None) for lr in (16, 8, 32)])
    fig = final_vs(df2, "lr", "E")
    assert fig.layout.xaxis.type != "category" and list(fig.data[-1].x) == [8, 16, 32]
    for sched in (schedules.Power(0.1, 2.0), schedules.Exponential(0.1, 0.1), schedules.StepDecay(0.1, 0.5, 10)):
        assert sched.robbins_monro is False
        text = _failure(sched)
        assert "stalls" in text and "noise floor" not in text
    text = _failure(schedules.Constant(0.1))
    assert "noise floor" in text and "stalls" not in text


def test_report_of_many_configurations_draws_the_top_k_and_summarises_the_rest(tmp_path):
    pytest.importorskip("plotly")
    from mlplab.sweeps.report import write_report

    rows = [(float(lr), 0, "done", 1.0 + lr, None) for lr in np.linspace(0.01, 1, 150)]
    df = _frame(rows, swept=("lr",))
    for i in range(len(df)):
        df.at[i, "history"] = {"k": [0, 1, 2], "loss": [3.0, 2.0, 1.0 + i / 100], "cost": [0, 1, 2]}
    page = write_report(tmp_path / "r.html", df, top=5, table_rows_max=20, run_rows_max=30).read_text()
    assert "… and 130 more configurations" in page and "the 30 best of 150 runs" in page
    assert "draw the 5 best of 150 configurations" in page
    k = page.split('data-name="convergence-k"')[1].split('data-name="convergence-cost"')[0]
    assert k.count('"fill":"toself"') == 5  # 5 configurations drawn, a band each


# --- defect 8: a changed shared option into the same folder ---------------------------------------------


def test_a_changed_shared_option_into_the_same_folder_is_refused(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('data = "lecture"\noptimizer = "sgd"\nepochs = 1\n[grid]\nseed = [0, 1]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"]) == 0
    capsys.readouterr()
    spec.write_text('data = "lecture"\noptimizer = "sgd"\nepochs = 2\n[grid]\nseed = [0, 1, 2]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "epochs changed" in err and "another --out" in err
    assert len(db_rows(tmp_path / "out")) == 2  # nothing added


# --- defect 9: a diverged GD run's hint ---------------------------------------------------------------


def test_a_diverged_gd_run_is_told_to_lower_its_step_not_its_schedule(tmp_path):
    spec = {"data": "moons", "n_samples": 60, "hidden": [4], "optimizer": "gd", "line_search": "none",
            "max_iter": 50, "grid": {"lr": [1e6]}}
    runs = mlplab.sweep(spec, tmp_path / "out", workers=1)
    r = runs.iloc[0]
    assert r["status"] == "diverged" and "--lr" in r["error"] and "schedule" not in r["error"]
    assert r["history"] is not None  # a diverged run's history is in the database (it has no model file)


# --- ranking by a metric, --best ---------------------------------------------------------------------


def test_best_exports_a_train_config_whose_rerun_reproduces_the_row(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('data = "moons"\n' + TINY + 'val_split = 0.25\n[grid]\nlr = [0.01, 0.3]\nseed = [0, 1]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    capsys.readouterr()
    best = tmp_path / "best.toml"
    assert main(["sweep", str(out), "--best", str(best), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    row = next(r for r in db_rows(out) if r["id"] == info["run"])
    model = tmp_path / "m.safetensors"
    assert main(["train", "--config", str(best), "--out", str(model), "--json"]) == 0
    t = json.loads(capsys.readouterr().out)["training"]
    assert (t["loss"], t["grad_norm"], t["n_iter"]) == (row["final_loss"], row["grad_norm"], row["n_iter"])
    assert np.array_equal(mlplab.load(model).params, mlplab.load(out / row["model"]).params)
    # the best by validation loss, among the configuration ranked first
    runs = mlplab.sweeps.load_runs(out, history=False)
    s = mlplab.sweeps.summarize(runs)
    assert s.attrs["metric"] == "validation_loss"
    best_lr = s[s["best"]]["lr"].item()
    assert json.loads(row["combo"])["lr"] == best_lr
    assert main(["sweep", str(out), "--show", "--metric", "train_accuracy", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metric"] == "train_accuracy"


# --- early stopping (successive halving) and TPE -----------------------------------------------------


ASHA = 'data = "moons"\n' + TINY.replace("epochs = 2", "epochs = 9") + """val_split = 0.25
[grid]
lr = [0.001, 0.01, 0.1, 0.5, 1.0, 5.0]
[search]
early_stop = { budget = "epochs", min = 1, eta = 3 }
"""


def test_successive_halving_promotes_the_best_third_and_resumes_from_the_store(tmp_path):
    spec = tmp_path / "asha.toml"
    spec.write_text(ASHA)
    o = mlplab.sweeps.run(str(spec), tmp_path / "out", workers=1)
    rows = db_rows(tmp_path / "out")
    by_rung = {}
    for r in rows:
        c = json.loads(r["combo"])
        by_rung.setdefault(c["epochs"], []).append(r)
    assert sorted(by_rung) == [1, 3, 9] and len(by_rung[1]) == 6
    # rung 1 -> 3: the best 6 // 3 = 2 by validation loss (and the top budget is reached by the best of rung 3)
    val = {json.loads(r["combo"])["lr"]: json.loads(r["metrics"])["validation"]["mean_loss"]
           for r in by_rung[1] if r["status"] == "done"}
    promoted = {json.loads(r["combo"])["lr"] for r in by_rung[3]}
    assert promoted == set(sorted(val, key=val.get)[:2]) and len(by_rung[9]) == 1
    assert all(json.loads(r["params"])["epochs"] == e for e, rs in by_rung.items() for r in rs)
    assert o.counts.get("done", 0) + o.counts.get("diverged", 0) == len(rows) == 9
    # the budget spent against the grid's 6 runs x 9 epochs
    assert sum(json.loads(r["combo"])["epochs"] for r in rows) == 6 * 1 + 2 * 3 + 9 < 6 * 9
    again = mlplab.sweeps.run(str(spec), tmp_path / "out", workers=1)
    assert again.skipped == 9 and len(db_rows(tmp_path / "out")) == 9
    runs = mlplab.sweeps.load_runs(tmp_path / "out", history=False)
    s = mlplab.sweeps.summarize(runs)
    assert s[s["best"]]["epochs"].item() == 9  # the top budget ranks first


def test_tpe_proposes_n_trials_and_a_rerun_continues_the_study(tmp_path):
    pytest.importorskip("optuna")
    spec = tmp_path / "tpe.toml"
    text = 'data = "moons"\n' + TINY + """val_split = 0.25
[random]
n = 5
lr = { loguniform = [1e-3, 1.0] }
hidden = [[4], [8]]
[search]
sampler = "tpe"
"""
    spec.write_text(text.replace("hidden = [4]\n", "", 1))
    text = text.replace("hidden = [4]\n", "", 1)
    o = mlplab.sweeps.run(str(spec), tmp_path / "out", workers=1)
    assert o.counts == {"done": 5} and len(db_rows(tmp_path / "out")) == 5
    for r in db_rows(tmp_path / "out"):
        c = json.loads(r["combo"])
        assert 1e-3 <= c["lr"] <= 1.0 and c["hidden"] in ([4], [8])
    assert mlplab.sweeps.run(str(spec), tmp_path / "out", workers=1).skipped == 5  # nothing new
    spec.write_text(text.replace("n = 5", "n = 7"))
    o = mlplab.sweeps.run(str(spec), tmp_path / "out", workers=1)
    assert o.skipped == 5 and len(db_rows(tmp_path / "out")) == 7


def test_search_table_errors_are_one_line(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('data = "lecture"\n[grid]\nseed = [0]\n[search]\nsampler = "tpe"\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert "draws the [random] table" in capsys.readouterr().err
    spec.write_text('data = "lecture"\nepochs = 4\n[grid]\nseed = [0]\n[search]\nearly_stop = { eta = 1 }\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert "eta must be an integer >= 2" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# --- defect 2: a lost cluster -----------------------------------------------------------------------


class _LosingBackend:
    """Runs the first task, then loses its cluster with two runs in flight (as RayBackend does when the
    head's port refuses connections)."""

    name = "ray"
    capacity = 2

    def __init__(self):
        self.tasks, self.calls = [], 0

    def describe(self):
        return "a cluster about to be lost"

    def submit(self, task):
        self.tasks.append(task)

    def wait(self, timeout):
        from mlplab.sweeps.backends import HeadLost

        self.calls += 1
        if self.calls == 1:
            from mlplab.sweeps.runner import run_task

            task = self.tasks.pop(0)
            return [("ok", task, run_task(dict(task, table=None)))]
        raise HeadLost("lost the Ray cluster's head (test); rerun the same command")

    def close(self):
        pass


def test_a_lost_cluster_is_one_error_and_the_runs_in_flight_keep_their_attempts(tmp_path):
    spec = {"data": "lecture", "optimizer": "sgd", "epochs": 1, "grid": {"seed": [0, 1, 2, 3]}}
    out = tmp_path / "out"
    with pytest.raises(mlplab.sweeps.ClusterLost, match="lost the Ray cluster's head"):
        mlplab.sweeps.run(spec, out, backend=_LosingBackend())
    st = [(r["status"], r["attempts"]) for r in db_rows(out)]
    assert st[0] == ("done", 1) and st[1:3] == [("pending", 0), ("pending", 0)] and st[3] == ("pending", 0)
    o = mlplab.sweeps.run(spec, out, workers=1)  # the cluster is back: the rerun finishes, no retry spent
    assert o.counts == {"done": 4} and [r["attempts"] for r in db_rows(out)] == [1, 1, 1, 1]
