"""The verdicts mlplab shows sit beside charts of the numbers they were decided from."""

import json

import re

import numpy as np
import pytest

import mlplab
from mlplab import analysis, compare

pytest.importorskip("matplotlib")
pytest.importorskip("plotly")

from mlplab import plots, report  # noqa: E402


@pytest.fixture(scope="module")
def deep_run():
    """An 8-hidden-layer sigmoid net on moons after a few GD steps, wrapped as ``train --report`` does."""
    X, y = mlplab.datasets.moons()
    net = mlplab.MLP([2] + [16] * 8 + [1], activation="sigmoid", output_activation="sigmoid", seed=0)
    rec = analysis.TrajectoryRecorder(net)
    result = mlplab.train(net, X, y, loss="binary_cross_entropy", optimizer=mlplab.optim.GD("armijo"), max_iter=5,
                          eval_every=1, callback=rec)
    return compare.from_result(net, X, y, result, loss="binary_cross_entropy", trajectory=rec.finish(result))


def test_the_comparison_judges_the_run_per_sample_at_w0_and_the_final_w(deep_run):
    flow = deep_run.gradient_flow
    d = flow.diagnosis
    assert d.kind == "vanishing" and d.basis == "per-sample" and d.point == "the final w"
    assert [p.label for p in flow.points] == ["w^0", "the final w"]
    stop = deep_run.runs[0].stop
    assert stop is not None and stop.grad_scale_note == "‖∇E(w^0)‖"
    g0 = np.linalg.norm(deep_run.problem.value_and_grad(deep_run.runs[0].trajectory[0])[1])
    assert stop.grad_scale == pytest.approx(g0)


def test_matplotlib_chart_draws_the_medians_the_verdict_names(deep_run):
    flow = deep_run.gradient_flow
    d = flow.diagnosis
    fig = plots.bound_factors(deep_run)
    ax = fig.axes[0]
    assert "vanishing gradients" in ax.get_title() and d.point in ax.get_title()  # the verdict, in the title
    assert ax.get_ylabel().startswith("median over the") and ax.get_yscale() == "log"
    grad = next(ln for ln in ax.get_lines() if "nabla_{W^" in ln.get_label())
    heights = np.asarray(grad.get_ydata())
    np.testing.assert_allclose(heights, d.grad_median)
    for ell in d.layers:  # the named layers' points are visibly (three orders of magnitude) below the output's
        assert heights[ell - 1] < heights[-1] / 1e3 or d.chain[ell - 1] < 1e-3
    assert heights[0] < 1e-3 * heights[-1]
    assert len(ax.patches) == len(d.layers)  # the named layers shaded


def test_plotly_chart_draws_the_medians_the_verdict_names(deep_run):
    d = deep_run.gradient_flow.diagnosis
    fig = report.bound_factors(deep_run)
    grad = next(t for t in fig.data if t.name.startswith("‖∇<sub>W<sup>ℓ</sup></sub>e‖"))
    np.testing.assert_allclose(grad.y, d.grad_median)
    assert len(fig.layout.shapes) == len(d.layers)
    assert "vanishing" in fig.layout.title.text and d.point in fig.layout.title.text
    assert fig.layout.yaxis.type == "log" and all(t.type == "scatter" for t in fig.data)  # lines against depth


def test_the_report_page_shows_the_verdict_and_its_table(deep_run, tmp_path):
    page = report.write_report(tmp_path / "r.html", deep_run).read_text(encoding="utf-8")
    assert re.search(r'<p id="diagnosis"><b>[^<]*</b>: Vanishing gradients at the final w', page)
    assert "<th>median ‖∇<sub>Wˡ</sub> e‖</th>" in page and "<th>median chain ‖δˡ‖/‖δᴸ‖</th>" in page
    assert "No vanishing" not in page


def test_cli_train_report_on_a_deep_sigmoid_net_says_vanishing(tmp_path):
    from cli_helpers import ok

    ok("train", "moons", "--hidden", "16,16,16,16,16,16,16,16", "--activation", "sigmoid", "--optimizer", "sgd",
       "--epochs", 2, "--report", "deep.html", cwd=tmp_path, timeout=300)
    page = (tmp_path / "deep.html").read_text(encoding="utf-8")
    assert re.search(r'<p id="diagnosis"><b>[^<]*</b>: Vanishing gradients at the final w, from layer', page)
    assert "Where did it stop?" in page and "<h2>The run</h2>" in page


def test_report_json_stores_the_verdicts(tmp_path):
    from cli_helpers import ok

    model = tmp_path / "m.safetensors"
    ok("train", "moons", "--n-samples", "60", "--hidden", "4,4,4,4,4,4", "--activation", "sigmoid", "--epochs", 3,
       "--out", model, "-q", cwd=tmp_path)
    out = ok("report", model, "--out", tmp_path / "m.html", "--json", cwd=tmp_path).stdout
    d = json.loads(out)
    diag = d["gradient_flow_diagnosis"]
    assert diag["kind"] in ("vanishing", "exploding", "healthy") and diag["basis"] == "per-sample"
    assert len(diag["median_grad_norm"]) == 7 and len(diag["median_chain_ratio"]) == 7
    assert d["gradient_flow"].lower().startswith(diag["kind"][:5]) or diag["kind"] == "healthy"
    assert d["runs"][0]["where it stopped"] in ("not stationary", "local minimum", "saddle point",
                                                "flat valley / degenerate", "undetermined") \
        or d["runs"][0]["where it stopped"].startswith("no minimum here")
