"""``mlplab compare``, ``mlplab report`` and ``train --report/--plots``: end to end, specs, bad inputs."""

import json
import os
import subprocess
import sys

import pytest

import mlplab
from mlplab.cli.reports import method_list, parse_method
from mlplab.figures import pretty

from cli_helpers import SRC, cli, ok, run

pytest.importorskip("matplotlib")
pytest.importorskip("plotly")

pytestmark = pytest.mark.slow  # reports and figures: left out of the quick subset (pytest -m "not slow")

LECTURE_METHODS = ("GD, exact line search", "SGD, γ_k = 1/(k+1)", "mini-batch SGD, |B|=2, γ_k = 1/(k+1)")


def leftovers(folder):
    """Temporary files or folders a write left behind (they all start with a dot)."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# --- end to end ----------------------------------------------------------------------------------


def test_compare_default_toy_problem_writes_report_and_pngs(tmp_path):
    """The issue's "done when": the toy problem, three methods, surface + paths, convergence on a cost axis."""
    r = ok("compare", "--budget", 40, "--report", "run.html", "--plots", "figs", cwd=tmp_path)
    assert r.stderr.splitlines() == ["report: run.html", "figures: 11 PNG files in figs"]
    lines = r.stdout.splitlines()
    assert lines[0] == "The lecture's toy problem: GD vs SGD vs mini-batch SGD"
    for name in LECTURE_METHODS:
        row = next(line for line in lines if line.startswith(name))
        assert "budget" in row or "converged" in row
    page = (tmp_path / "run.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("Plotly.newPlot(") == 12  # one per figure (11 + the slider's layer bars), plotly.js once
    assert "cdn.plot.ly" not in page.split("Plotly.newPlot(")[1]
    for name in ("surface_3d", "contour", "convergence_cost", "convergence_k", "infimum", "decision_boundary"):
        assert f'data-name="{name}"' in page
    assert '"type":"surface"' in page and '"type":"scatter3d"' in page
    for name in LECTURE_METHODS:  # the three trajectories on the surface (and their curves)
        # Plotly's JSON engines differ (json escapes non-ASCII and "/", orjson neither)
        name = pretty(name)  # γ_k is drawn as γₖ
        ascii_form = json.dumps(name)[1:-1]
        forms = {name, name.replace("/", "\\u002f"), ascii_form, ascii_form.replace("/", "\\u002f")}
        assert sum(page.count('"name":"%s"' % n) for n in forms) >= 3
    figs = tmp_path / "figs"
    pngs = sorted(p.name for p in figs.iterdir())
    assert {"surface_3d.png", "contour.png", "convergence_cost.png", "decision_boundary.png"} <= set(pngs)
    for p in figs.iterdir():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 1000
    assert not leftovers(tmp_path) and not leftovers(figs)


def test_compare_methods_json_and_budget(capsys):
    code, out, err = cli(capsys, "compare", "--method", "gd:armijo", "-m", "sgd:constant:0.5,adam:2:0.05",
                         "--budget", 30, "--w0", "1,-1", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert [row["method"] for row in d["runs"]] == ["GD, armijo line search", "SGD, γ_k = 0.5", "Adam, |B|=2, γ_k = 0.05"]
    assert d["budget"] == 30 and d["report"] is None and d["plots"] == []
    assert d["config"]["w⁰"] == "(1, -1)"
    for row in d["runs"]:
        assert row["cost"] <= 30  # held to the budget: a step that would overspend is cut off
        assert row["stopped"] in ("converged", "budget")


def test_compare_on_a_data_set_with_an_architecture(capsys):
    code, out, err = cli(capsys, "compare", "moons", "--hidden", "3", "--n-samples", "40", "--method", "gd",
                         "--method", "minibatch:8:constant:0.05", "--budget", 200, "--seed", "3")
    assert code == 0, err
    assert out.splitlines()[0] == "mlplab comparison"
    assert "mini-batch SGD, |B|=8, γ_k = 0.05" in out and "GD, exact line search" in out


def test_compare_reads_methods_from_a_config_file(tmp_path, capsys):
    cfg = tmp_path / "cmp.toml"
    cfg.write_text('[compare]\nmethod = ["gd:exact", "sgd:inverse:2"]\nbudget = 12\n')
    code, out, err = cli(capsys, "compare", "--config", cfg, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert [r["method"] for r in d["runs"]] == ["GD, exact line search", "SGD, γ_k = 2/(k+1)"] and d["budget"] == 12


def test_train_report_and_plots(tmp_path, capsys):
    html, figs = tmp_path / "train.html", tmp_path / "figs"
    code, out, err = cli(capsys, "train", "--epochs", 5, "--report", html, "--plots", figs, "--json")
    assert code == 0, err
    s = json.loads(out)
    assert s["report"] == str(html) and len(s["plots"]) == len(list(figs.iterdir())) > 5
    page = html.read_text(encoding="utf-8")
    assert "One run: gd, exact line search" in page and '"type":"scatter3d"' in page
    assert 'data-name="surface_3d"' in page  # the toy problem: the run's path on the (w11, w12) surface
    assert (figs / "contour.png").stat().st_size > 1000


def test_report_of_a_saved_model_with_and_without_history(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    code, _, err = cli(capsys, "train", "moons", "--n-samples", "60", "--hidden", "3", "--epochs", "8", "--out", model,
                       "-q")
    assert code == 0, err
    code, out, err = cli(capsys, "report", model, "--out", tmp_path / "m.html", "--plots", tmp_path / "mf", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["config"]["history"] == "from the model file" and d["runs"][0]["steps"] == 8
    assert d["runs"][0]["method"] == "gd, exact line search" and d["runs"][0]["where it stopped (message)"]
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    for name in ("decision_boundary", "gradient_flow", "contour", "convergence_k"):
        assert f'data-name="{name}"' in page
    assert (tmp_path / "mf" / "decision_boundary.png").is_file()

    py = tmp_path / "py.safetensors"  # saved from Python: no configuration, no history
    mlplab.save(mlplab.MLP([2, 3, 1], output_activation="sigmoid", seed=1), py)
    code, out, err = cli(capsys, "report", py, "moons", "--n-samples", "30", "--out", tmp_path / "py.html")
    assert code == 0, err
    assert out.startswith("py.safetensors on moons: E(w) = ") and "where it stopped:" in out
    assert err == f"report: {tmp_path / 'py.html'}\n"
    assert "not stored in the model file" in (tmp_path / "py.html").read_text(encoding="utf-8")


# --- optimizer specs ----------------------------------------------------------------------------


def test_parse_method_specs():
    assert parse_method("gd")["line_search"] == "exact"
    assert parse_method("gd:0.1")["line_search"] == "none" and parse_method("gd:0.1")["lr"] == 0.1
    m = parse_method("minibatch:2:inverse:1.0")
    assert (m["optimizer"], m["batch_size"], m["schedule"], m["lr"], m["average"]) == ("minibatch", 2, "inverse", 1.0,
                                                                                       False)
    a = parse_method("adam:32:0.01")
    assert (a["batch_size"], a["lr"], a["schedule"], a["average"]) == (32, 0.01, "constant", True)
    assert parse_method("momentum:4:0.1:0.5")["beta"] == 0.5
    assert [c["optimizer"] for c in method_list("gd:exact, sgd ,adam")] == ["gd", "sgd", "adam"]


@pytest.mark.parametrize("spec, why", [
    ("newton", "unknown optimizer 'newton'"), ("sgd:cosine", "unknown schedule 'cosine'"),
    ("minibatch:0", "the batch size B must be positive"), ("minibatch:2.5", "the batch size B must be an integer"),
    ("adam:32:-1", "must be positive"), ("gd:exact:1", "gd takes one field"), ("sgd:inverse:1:2", "at most 2 fields"),
    ("momentum:4:0.1:1.5", "beta must be in [0, 1)"), ("gd:nan", "must be positive"),
])
def test_bad_method_specs(spec, why):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match=None) as exc:
        parse_method(spec)
    assert why in str(exc.value) and repr(spec) in str(exc.value)


# --- bad inputs: exit 2, one line, nothing written -----------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["compare", "--method", "newton"], "bad optimizer spec 'newton': unknown optimizer"),
    (["compare", "--budget", "0"], "argument --budget: expected an integer >= 1, got '0'"),
    (["compare", "--report", "missing/run.html"], "folder 'missing' does not exist"),
    (["compare", "--report", "afile/run.html"], "folder 'afile' does not exist"),
    (["compare", "--report", "run.txt"], "must end in .html"),
    (["compare", "--plots", "afile"], "is a file; give a folder"),
    (["compare", "--plots", "missing/figs"], "'missing' does not exist"),
    (["compare", "--w0", "1,2,3"], "--w0 has 3 values but the network has d = 2 parameters"),
    (["compare", "linear-regression", "--hidden", "", "--method", "sgd:constant:1e3", "--budget", "50"],
     "SGD, γ_k = 1000 diverged"),
    (["train", "--epochs", "2", "--report", "missing/r.html", "--out", "m.safetensors"], "does not exist"),
    (["report", "m.safetensors"], "nothing to write"),
    (["report", "nope.safetensors", "--out", "r.html"], "does not exist"),
])
def test_bad_inputs_exit_2_with_one_line(tmp_path, args, message):
    (tmp_path / "afile").write_text("not a folder")
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("mlplab: error: "), r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing written, no model, no report


@pytest.mark.parametrize("flag, module", [("--report", "plotly"), ("--plots", "matplotlib")])
def test_missing_viz_libraries_are_a_user_error_before_training(tmp_path, capsys, monkeypatch, flag, module):
    target = tmp_path / ("r.html" if flag == "--report" else "figs")
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if it were not installed
    for args in (["compare", "--budget", "5"], ["train", "--epochs", "2", "--out", tmp_path / "m.safetensors"]):
        code, out, err = cli(capsys, *args, flag, target)
        assert code == 2 and out == ""
        assert err.strip().endswith('install it with: pip install "mlplab[viz]"') and module in err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_report_write_leaves_the_old_report_untouched(tmp_path, capsys, monkeypatch):
    import mlplab.io

    html = tmp_path / "run.html"
    html.write_text("old report")

    def full_disk(fd):  # the page is half written when the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mlplab.io.os, "fsync", full_disk)
    code, out, err = cli(capsys, "compare", "--budget", "5", "--report", html)
    assert code == 2 and "No space left on device" in err and len(err.splitlines()) == 1
    assert html.read_text() == "old report" and not leftovers(tmp_path)


def test_cli_without_report_flags_does_not_import_plotting():
    code = ("import sys; from mlplab.cli import main; "
            "rc = main(['compare', '--budget', '5', '--quiet']); "
            "rc |= main(['train', '--epochs', '2', '--quiet']); "
            "bad = [m for m in ('matplotlib', 'plotly') if m in sys.modules]; "
            "print(rc, bad); sys.exit(rc or bool(bad))")
    env = dict(os.environ, PYTHONPATH=SRC)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == "0 []", r.stdout + r.stderr


def test_report_model_and_the_train_report_give_the_same_verdict(tmp_path, capsys):
    """`report MODEL` judges ‖∇E‖ on the scale of the stored first record, as the train report does."""
    import html
    import re

    from mlplab.cli import main

    model, train_page, model_page = tmp_path / "m.safetensors", tmp_path / "t.html", tmp_path / "r.html"
    assert main(["train", "moons", "--optimizer", "sgd", "--lr", "0.05", "--epochs", "30", "--out", str(model),
                 "--report", str(train_page), "-q"]) == 0
    assert main(["report", str(model), "--out", str(model_page)]) == 0
    capsys.readouterr()

    def verdict(path):
        text = html.unescape(path.read_text())
        m = re.search(r"(Not stationary|Saddle point|Local minimum|No minimum here|Flat)[^.]*\.", text)
        assert m is not None
        return m.group(0)

    assert verdict(model_page) == verdict(train_page)
    assert verdict(model_page).startswith("Not stationary")
