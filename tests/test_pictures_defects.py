"""Issue #24, "Pictures that mislead": each numbered defect, checked on the numbers a picture is drawn from.

The browser half (what the pages show in Chromium) is tests/test_pictures_browser.py.
"""

import math
import re

import numpy as np
import pytest

import mlplab
from mlplab import analysis, compare
from mlplab.optim import GD
from mlplab.optim.linesearch import ExactLineSearch
from mlplab.playground.config import Config
from mlplab.playground.session import Session


def lecture_network_session(optimizer="gd-exact"):
    return Session(Config(dataset="lecture-network", model="mlp", hidden=[2, 2], activations=["sigmoid", "sigmoid"],
                          bias=False, loss="squared", optimizer=optimizer))


def verdict_agrees_with_bars(flow):
    """The rule a reader applies to the chart: a layer called exploding is drawn above the output layer's bar,
    one called vanishing below it (or every bar is at rounding level)."""
    bars = flow["sample_grad"]
    out = bars[-1]
    for ell in flow["layers"]:
        if flow["verdict"] == "exploding":
            assert bars[ell - 1] > out, (flow["message"], bars)
        elif flow["verdict"] == "vanishing" and ell < len(bars):
            assert bars[ell - 1] < out or max(bars) < 1e-8, (flow["message"], bars)


# --- 3: the gradient-flow verdict agrees with its own bars ------------------------------------------


def test_3_lecture_network_at_grad_2e_16_is_not_called_exploding():
    s = lecture_network_session()
    s.step(5)
    fr = s.frame(surface=False)
    flow = fr["flow"]
    assert fr["grad_norm"] < 1e-12  # the flat, saturated point of the issue (‖∇E‖ = 2e-16)
    assert flow["verdict"] != "exploding", flow["message"]
    assert flow["verdict"] == "vanishing" and "rounding level" in flow["message"]
    verdict_agrees_with_bars(flow)
    # the bars drawn are the numbers the verdict was decided from
    bars = fr["figures"]["gradients"]["data"][0]
    assert "verdict" in bars["name"] and bars["y"] == pytest.approx(flow["sample_grad"])


def test_3_confident_correct_outputs_are_not_called_vanishing():
    # Adam on moons: E ≈ 0.03, the output sigmoid saturated *because it is right*; layer 1's per-sample
    # gradient is larger than the output layer's — "vanishing" would contradict the bars beside it
    s = Session(Config(dataset="moons", model="mlp", hidden=[8, 8], activations=["tanh", "tanh"],
                       loss="binary_cross_entropy", optimizer="adam", schedule="constant", c=0.01,
                       reduction="mean", batch=16, noise=0.05))
    s.step(3000)
    fr = s.frame(surface=False)
    flow = fr["flow"]
    assert fr["loss"] < 1.0
    assert flow["sample_grad"][0] > flow["sample_grad"][-1]
    assert flow["verdict"] != "vanishing", flow["message"]
    verdict_agrees_with_bars(flow)


# --- 4: output saturation is harmless only for the canonical pairs -----------------------------------


def lecture_toy_comparison():
    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, seed=0)
    net.params[:] = [0.5, 0.5]
    rec = analysis.TrajectoryRecorder(net)
    result = mlplab.train(net, X, y, loss="squared", optimizer=GD("exact"), max_iter=40, callback=rec)
    return compare.from_result(net, X, y, result, loss="squared", trajectory=rec.finish(result))


def test_4_squared_error_with_sigmoid_output_saturation_is_not_called_harmless():
    from mlplab.figures import flow_lines, output_saturation_harmless

    comp = lecture_toy_comparison()
    fl = flow_lines(comp)
    assert fl.saturation[-1] > 0  # the toy run drives w to infinity: the output saturates
    text = fl.saturation_text()
    assert "(harmless" not in text and "not harmless" in text
    assert not output_saturation_harmless("squared", "sigmoid")
    assert output_saturation_harmless("binary_cross_entropy", "sigmoid")
    assert output_saturation_harmless("cross_entropy", "softmax")


def test_4_the_report_page_says_it(tmp_path):
    pytest.importorskip("plotly")
    from mlplab import report

    page = report.write_report(tmp_path / "toy.html", lecture_toy_comparison()).read_text(encoding="utf-8")
    note = re.search(r'<p class="note" id="saturation">(.*?)</p>', page, re.S).group(1)
    assert "not harmless" in note and "(harmless" not in note


# --- 7: a flat φ stops the run, with its reason ----------------------------------------------------------


class FlatPhi:
    """φ(α) = E(w − α g) at ‖g‖ = 2e-16: every value rounds to φ(0), the slope is −‖g‖² = −4e-32."""

    def __call__(self, alpha):
        return 0.7500000000000002

    def value_and_slope(self, alpha):
        return 0.7500000000000002, -4.46e-32


def test_7_exact_line_search_on_a_flat_phi_fails_instead_of_capping():
    alpha, info = ExactLineSearch()(FlatPhi(), 0.7500000000000002, -4.46e-32)
    assert info.failed and alpha == 0.0 and not info.capped


def test_7_playground_stops_on_the_lecture_network_and_says_why():
    s = lecture_network_session()
    taken = s.step(50)
    assert taken <= 2 and s.stopped  # not 845 iterations on a flat φ
    assert "no decrease" in s.stopped and "flat" in s.stopped
    fr = s.frame(surface=False)
    assert fr["stopped"] == s.stopped


def test_7_a_bracketed_minimum_below_the_rounding_of_E_is_still_refined():
    # the fix only touches "still falling at α_max" on a flat φ: a quadratic with its minimiser inside
    # the interval keeps going past the rounding of E (the slope decides), as before
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 3, (200, 5))
    y = X @ rng.standard_normal(5) + 0.1 * rng.standard_normal(200) + 1.0
    net = mlplab.MLP([5, 1], activation="identity", seed=1)
    r = mlplab.train(net, X, y, optimizer=GD("exact"), max_iter=3000, tol=0, rtol=1e-13)
    assert r.stop_reason == "converged"


# --- 8: the projected surface draws the path at its true E ------------------------------------------------


def test_8_projected_surface_draws_the_path_at_its_true_E():
    s = Session(Config(dataset="moons", model="mlp", hidden=[8, 8], activations=["tanh", "tanh"],
                       loss="binary_cross_entropy", optimizer="gd-armijo"))
    E0 = s.E0
    s.step(30)
    fig = s.frame()["figures"]["surface"]
    assert "projection" in fig["layout"]["title"]["text"]
    path = fig["data"][1]
    assert path["customdata"][0] == pytest.approx(E0)  # w^0's true E, not the plane's value under it
    assert path["marker"]["color"][0] == pytest.approx(math.log10(E0), abs=1e-3)
    contour = fig["data"][0]
    assert contour["zmin"] <= path["marker"]["cmin"] and contour["zmax"] == path["marker"]["cmax"]


# --- 6: no plunge where E* is the run's own best E --------------------------------------------------------


@pytest.fixture(scope="module")
def moons_comparison():
    X, y = mlplab.datasets.moons()
    net = mlplab.MLP([2, 8, 1], activation="tanh", output_activation="sigmoid", seed=0)
    return compare.run_comparison(net, X, y, "binary_cross_entropy", budget=4000)


def test_6_convergence_curves_stop_before_the_plunge(moons_comparison):
    pytest.importorskip("plotly")
    from mlplab import figures, report

    comp = moons_comparison
    delta = figures.reference_margin(comp)
    assert delta is not None and delta > 0  # E* = E_best − Δ, from the runs themselves
    for x in ("k", "cost"):
        fig = report.convergence(comp, x)
        runs = [t for t in fig.data if t.name in {figures.pretty(r.name) for r in comp.runs} and t.mode != "markers"]
        assert runs
        for t in runs:  # the solid curves: never within 10 Δ of E* (where the gap is set by E*)
            y = np.asarray(t.y, dtype=float)
            assert np.nanmin(y) >= figures.SET_BY_REFERENCE * delta * (1 - 1e-6), t.name
        faint = [t for t in fig.data if t.name and "set by E*" in t.name]
        assert faint  # the rest is drawn faint and named for what it is


# --- 9: no fit is shown that does not fit -------------------------------------------------------------------


def test_9_a_rate_with_a_positive_exponent_or_a_poor_fit_is_not_a_rate():
    rng = np.random.default_rng(0)
    k = np.arange(2000, 4001, 50, dtype=float)
    noisy = 5.0 * np.exp(0.5 * rng.standard_normal(k.size)) * (k / 2000) ** 0.3  # grows, R² ≈ 0.1
    fit = analysis.fit_rate(k, noisy, window=(2000, 4000))
    assert not fit.fits and "k^(" not in fit.describe() and "^k" not in fit.describe()
    assert "no rate" in fit.describe() or "no measurable" in fit.describe()
    good = analysis.fit_rate(k, 3.0 * k ** -1.0, window=(2000, 4000))
    assert good.fits and "k^(−1.00)" in good.describe()


def test_9_the_convergence_figure_draws_only_fits_that_fit(moons_comparison):
    pytest.importorskip("plotly")
    from mlplab import report

    fig = report.convergence(moons_comparison, "k")
    drawn = [t.name for t in fig.data if t.name and t.name.startswith("fit: ")]
    fitting = [r for r in moons_comparison.runs if r.rate is not None and r.rate.fits]
    assert len(drawn) == 2 * len(fitting)
    for name in drawn:
        assert "no rate" not in name and "no measurable" not in name
