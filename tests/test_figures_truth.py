"""Figures that tell the truth: E* never makes E − E* plunge, rates are fitted only where they can be,
a saved model's weights are not called w^0, and identical step-size lines stay told apart."""

import json

import numpy as np
import pytest

import mlplab
from mlplab import analysis, compare, figures
from mlplab.optim import GD, SGD, MiniBatchSGD, inverse

from cli_helpers import cli

pytest.importorskip("matplotlib")
pytest.importorskip("plotly")

from mlplab import plots, report  # noqa: E402


@pytest.fixture(scope="module")
def xor_comp():
    """A problem whose infimum is unknown: E* comes from the runs."""
    X, y = mlplab.datasets.xor()
    net = mlplab.MLP([2, 4, 1], activation="tanh", output_activation="sigmoid", seed=3)
    return compare.run_comparison(net, X, y, "binary_cross_entropy",
                                  specs=[GD("exact"), SGD(schedule=inverse(2.0)), MiniBatchSGD(2, schedule=inverse(2.0))],
                                  budget=60, seed=1)


# --- E* -----------------------------------------------------------------------------------------


def test_E_ref_is_below_every_record_and_says_how(xor_comp):
    comp = xor_comp
    best = min(min(r.history.loss) for r in comp.runs)
    assert comp.E_ref < best
    assert "E_best" in comp.E_ref_note and "margin" in comp.E_ref_note and f"{comp.E_ref:.6g}" in comp.E_ref_note
    fig = plots.convergence(comp, "k")
    assert plots.pretty(comp.E_ref_note) in fig._suptitle.get_text()


@pytest.mark.parametrize("x", ["cost", "k"])
def test_no_plotted_curve_reaches_zero_or_plunges_at_the_end(xor_comp, x):
    comp = xor_comp
    fig = plots.convergence(comp, x)
    best = min(min(r.history.loss) for r in comp.runs)
    delta = best - comp.E_ref
    for ax in fig.axes:
        lines = [ln for ln in ax.get_lines() if ln.get_gid() == "data"]
        assert len(lines) == len(comp.runs)
        for run, ln in zip(comp.runs, lines):
            y = np.asarray(ln.get_ydata(), dtype=float)
            y = y[np.isfinite(y)]
            assert y.size and np.all(y > 0)
            assert np.all(y >= delta * (1 - 1e-9))  # E − E* ≥ Δ everywhere
            E = np.asarray(run.history.loss, dtype=float)
            if len(y) >= 2 and y[-2] / y[-1] > 10:  # a tenfold last drop must be E's own, not E*'s
                assert (E[-2] - E[-1]) / (E[-1] - best + 1e-300) > 10
    # the run holding E_best: at that record E − E* falls at most 2× because of E*
    run = min(comp.runs, key=lambda r: min(r.history.loss))
    err = np.asarray(run.history.loss, dtype=float) - comp.E_ref
    i = int(np.argmin(err))
    assert err[i] == pytest.approx(delta)
    if i > 0:
        assert err[i - 1] / err[i] <= 2 + 1e-9


def test_reference_below_best_removes_the_old_plunge():
    a = np.array([1.0, 0.5, 0.3, 0.2, 0.15, 0.1])  # the best run ends at its best record
    b = np.array([1.0, 0.6, 0.5, 0.45, 0.4, 0.38])
    E_ref, note = compare.reference_below_best([a, b])
    assert E_ref < 0.1 and "E_best" in note
    for h in (a, b):
        err = h - E_ref
        assert np.all(err > 0) and err[-2] / err[-1] <= 10
    assert (a - a.min())[-1] == 0  # the old rule, E* = E_best, ended this curve at 0
    one, _ = compare.reference_below_best([[2.0]])  # one record: still a margin
    assert one < 2.0


def test_known_infimum_is_kept_on_the_toy():
    comp = compare.run_comparison(budget=20)
    assert comp.E_ref == 0.0 and "infimum" in comp.E_ref_note


# --- the budget -----------------------------------------------------------------------------------


def test_every_method_is_held_to_the_budget():
    """GD's exact line search costs ~24 gradient-equivalents a step on 4 samples: budget 50 would be overspent."""
    X, y = mlplab.datasets.moons(n_samples=40)
    net = mlplab.MLP([2, 4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    budget = 500
    comp = compare.run_comparison(net, X, y, "binary_cross_entropy", budget=budget)
    gd = comp.runs[0]
    free = mlplab.train(net.copy(), X, y, loss="binary_cross_entropy", optimizer=GD("exact"), max_cost=budget,
                        eval_every=1)
    assert free.grad_equivalents > budget  # unheld, the last line search overspends
    for run in comp.runs:
        assert run.result.grad_equivalents <= budget and run.history.grad_equivalents[-1] <= budget
        assert run.trajectory.shape[0] == len(run.history)
    assert gd.budget_note and "cut off at the budget" in gd.budget_note
    assert len(gd.history) == np.searchsorted(free.history.grad_equivalents, budget, side="right")
    np.testing.assert_array_equal(gd.result.params, gd.trajectory[-1])  # the run ends at its last record
    np.testing.assert_array_equal(gd.net.params, gd.trajectory[-1])
    E = comp.problem.value_and_grad(gd.result.params)[0]
    assert gd.result.loss == pytest.approx(E, rel=1e-12) and gd.result.loss == gd.history.loss[-1]
    assert np.isnan(gd.history.step_size[-1])  # the cut step was not taken
    assert "cut off at the budget" in compare.format_table(comp)
    fig = plots.convergence(comp, "cost")
    assert [ln.get_xdata()[0] for ln in fig.axes[1].get_lines() if ln.get_gid() == "budget"] == [budget]


# --- history export ---------------------------------------------------------------------------------


def test_write_history_csv_and_json_round_trip(xor_comp, tmp_path):
    import csv

    path = compare.write_history(tmp_path / "h.csv", xor_comp)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == sum(len(r.history) for r in xor_comp.runs)
    sgd = [row for row in rows if row["run"] == xor_comp.runs[1].name]
    h = xor_comp.runs[1].history
    assert [int(row["k"]) for row in sgd] == list(h.k)
    np.testing.assert_allclose([float(row["loss"]) for row in sgd], h.loss, rtol=1e-15)  # repr: exact floats
    np.testing.assert_allclose([float(row["grad_equivalents"]) for row in sgd], h.grad_equivalents)
    np.testing.assert_allclose([float(row["layer_2_grad_norm"]) for row in sgd], np.asarray(h.layer_grad_norms)[:, 1])
    path = compare.write_history(tmp_path / "h.json", xor_comp)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert [r["name"] for r in doc["runs"]] == [r.name for r in xor_comp.runs]
    back = mlplab.History.from_dict(doc["runs"][0]["history"])
    np.testing.assert_allclose(back.loss, xor_comp.runs[0].history.loss)
    with pytest.raises(ValueError, match=".csv"):
        compare.write_history(tmp_path / "h.txt", xor_comp)


def test_cli_history_flag(tmp_path, capsys):
    code, out, err = cli(capsys, "compare", "--budget", "30", "--history", tmp_path / "h.csv", "--quiet")
    assert code == 0, err
    text = (tmp_path / "h.csv").read_text(encoding="utf-8")
    assert text.startswith("run,k,epoch,cost") and text.count("\n") > 30
    code, out, err = cli(capsys, "train", "--epochs", "3", "--history", tmp_path / "t.json", "--quiet")
    assert code == 0, err
    doc = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert len(doc["runs"]) == 1 and doc["runs"][0]["history"]["k"] == [0, 1, 2, 3]
    code, out, err = cli(capsys, "compare", "--budget", "30", "--history", tmp_path / "h.txt")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--history" in err and ".csv" in err
    code, out, err = cli(capsys, "train", "--epochs", "3", "--history", tmp_path / "nope" / "t.json")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "does not exist" in err


# --- rate fits ----------------------------------------------------------------------------------


def test_compare_fits_no_rate_on_fewer_than_5_points():
    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP(mlplab.datasets.LECTURE_SIZES, activation="sigmoid", bias=False, init=np.array([0.5, 0.5]))
    result = mlplab.train(net, X, y, max_iter=3)  # 4 records, k = 0..3
    comp = compare.from_result(net, X, y, result)
    assert comp.runs[0].rate is None
    assert comp.table()[0]["fitted rate"] == "n/a (fewer than 5 points)"
    assert "n/a (fewer than 5 points)" in compare.format_table(comp)


def test_a_ratio_of_1_is_no_measurable_linear_rate():
    k = np.arange(0, 50, dtype=float)
    fit = analysis.fit_rate(k, 1.6 * 0.99995 ** k)
    text = fit.describe()
    assert "no measurable linear rate" in text and "1^k" not in text and "·1^" not in text


# --- mlplab report MODEL -------------------------------------------------------------------------


def test_report_of_a_model_without_history_shows_the_saved_weights(tmp_path, capsys):
    py = tmp_path / "py.safetensors"
    mlplab.save(mlplab.MLP([2, 3, 1], output_activation="sigmoid", seed=1), py)
    html, figs = tmp_path / "py.html", tmp_path / "pf"
    code, out, err = cli(capsys, "report", py, "moons", "--n-samples", "30", "--out", html, "--plots", figs)
    assert code == 0, err
    page = html.read_text(encoding="utf-8")
    assert "holds no training history" in page
    assert '"k=0"' not in page and '"name":"w^0"' not in page  # no hover says k = 0, no point is called w^0
    assert '"name":"w\\u2070"' not in page and 'id="snap"' not in page  # nothing to step through
    assert '"name":"w (saved)"' in page
    assert (figs / "contour.png").is_file()


def test_contour_draws_no_path_for_one_point(tmp_path):
    X, y = mlplab.datasets.xor()
    net = mlplab.MLP([2, 3, 1], output_activation="sigmoid", seed=1)
    result = mlplab.train(net, X, y, max_iter=4, loss="binary_cross_entropy")
    comp = compare.from_result(net, X, y, result, loss="binary_cross_entropy")  # no trajectory: one point
    comp.start_label = "w (saved)"
    ax = plots.contour(comp).axes[0]
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels.count("w (saved)") == 1 and "w^0" not in labels and comp.runs[0].name not in labels
    fig = report.contour(comp)
    names = [t.name for t in fig.data if t.type == "scatter"]
    assert names == ["w (saved)"] and all("k=" not in str(t.text) for t in fig.data if t.type == "scatter")


def test_report_of_a_trained_model_keeps_its_history(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    code, _, err = cli(capsys, "train", "moons", "--n-samples", "40", "--hidden", "3", "--epochs", "6", "--out", model,
                       "-q")
    assert code == 0, err
    code, out, err = cli(capsys, "report", model, "--out", tmp_path / "m.html", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["config"]["history"] == "from the model file"
    assert "holds no training history" not in (tmp_path / "m.html").read_text(encoding="utf-8")


# --- step sizes ---------------------------------------------------------------------------------


def test_step_size_lines_differ_in_dash_and_marker():
    comp = compare.run_comparison(budget=30)  # SGD and mini-batch SGD share γ_k = 1/(k+1)
    ax = plots.step_sizes(comp).axes[0]
    lines = ax.get_lines()
    assert len(lines) == 3
    styles = {(ln.get_linestyle(), ln.get_marker()) for ln in lines}
    assert len(styles) == 3 and all(ln.get_marker() not in (None, "None", "") for ln in lines)
    fig = report.step_sizes(comp)
    curves = [t for t in fig.data if not t.meta]  # (the others are the slider's cursors)
    assert len(curves) == 3 and len({(t.line.dash, t.marker.symbol) for t in curves}) == 3
    assert len({t.line.dash for t in curves}) == 3  # distinct dash styles, not only colours
    assert all("markers" in t.mode for t in curves)


def test_convergence_marks_short_runs():
    comp = compare.run_comparison(budget=20)
    for ax in plots.convergence(comp, "cost").axes:
        for run, ln in zip(comp.runs, [ln for ln in ax.get_lines() if ln.get_gid() == "data"]):
            assert (ln.get_marker() not in (None, "None", "")) == (len(run.history) <= figures.FEW_POINTS)
    fig = report.convergence(comp, "cost")
    for t in fig.data:
        assert "markers" in t.mode or t.name == "budget"


def test_reference_below_best_never_goes_below_a_known_lower_bound():
    # SGD's noisy last drop is large: E_best − Δ would be −4.1 though E ≥ 0 for these losses
    noisy = np.array([120.0, 60.0, 30.0, 12.0, 9.0, 4.9, 0.8])
    free, _ = compare.reference_below_best([noisy])
    assert free == pytest.approx(0.8 - 4.1)
    E_ref, note = compare.reference_below_best([noisy], lower=0.0)
    assert E_ref == 0.0 and "lower bound" in note
    assert np.all(noisy - E_ref > 0)
    # a margin that stays above the bound is kept
    kept, _ = compare.reference_below_best([np.array([10.0, 5.0, 4.0, 3.9])], lower=0.0)
    assert kept == pytest.approx(3.9 - 0.1)
    assert "squared" in compare.NONNEGATIVE_LOSSES and "poisson" not in compare.NONNEGATIVE_LOSSES
