"""The HTML report: Plotly figures with the expected traces, one self-contained file, and a real browser.

The browser test drives Debian's chromium with Playwright (CI installs both:
``apt-get install -y chromium`` and ``pip install playwright``; never
``playwright install``). It skips, saying why, when either is missing. Its
screenshots go to ``$MLPLAB_ARTIFACTS`` when set (else pytest's tmp_path) for
a person to look at.
"""

import re

import numpy as np
import pytest

pytest.importorskip("plotly", reason="plotly is not installed (pip install 'mlplab[viz]')")

import mlplab  # noqa: E402
from mlplab import compare, figures, report  # noqa: E402

from browser_helpers import CHROMIUM_ARGS, artifacts_dir, playwright_and_chromium, watch  # noqa: E402

pytestmark = pytest.mark.slow  # reports: left out of the quick subset (pytest -m "not slow")

TOY_FIGURES = ["surface_3d", "contour", "convergence_cost", "convergence_k", "grad_norm", "step_sizes",
               "gradient_flow", "layer_bars", "layer_grad_norms", "layer_heatmap", "infimum", "decision_boundary"]
DEEP_FIGURES = ["surface_3d", "contour", "slice_1d", "convergence_cost", "convergence_k", "grad_norm", "step_sizes",
                "gradient_flow", "layer_bars", "layer_grad_norms", "layer_heatmap", "decision_boundary",
                "hidden_units"]


def names_of(fig, trace_type=None):
    return [t.name for t in fig.data if trace_type is None or t.type == trace_type]


def linked(fig):
    return [(t.meta["link"], t.meta["run"]) for t in fig.data if t.meta and "link" in t.meta]


def test_plotly_figures_have_the_expected_traces(toy):
    figs = report.figures(toy)
    assert set(figs) == set(TOY_FIGURES)
    runs = [figures.pretty(r.name) for r in toy.runs]
    s3 = figs["surface_3d"]
    assert [t.type for t in s3.data] == ["surface"] + ["scatter3d"] * 7  # 3 paths, 3 slider points, w⁰
    assert [t.name for t in s3.data[1:4]] == runs and s3.data[-1].name == "w⁰"
    assert s3.layout.scene.xaxis.title.text == "w11" and s3.layout.scene.zaxis.title.text == "E"
    np.testing.assert_allclose(s3.data[1].x, toy.runs[0].trajectory[:, 0], rtol=1e-6)
    assert linked(s3) == [("plane3d", 0), ("plane3d", 1), ("plane3d", 2)]
    c = figs["contour"]
    assert c.data[0].type == "contour" and c.data[1].type == "contour" and c.data[1].visible is False  # the full view
    assert [b.label for b in c.layout.updatemenus[0].buttons] == ["Zoom to the paths", "Full view"]
    assert c.layout.yaxis.scaleanchor == "x" and c.layout.yaxis.scaleratio == 1  # equal axes for weights
    paths = [t for t in c.data if t.type == "scatter" and t.name in runs]
    assert len(paths) == 3 and all("E = %{customdata[1]" in t.hovertemplate for t in paths)
    cd = np.asarray(paths[0].customdata)
    np.testing.assert_allclose(cd[:, 1], toy.runs[0].history.loss, rtol=1e-6)  # hover: k, E, ‖∇E‖, α
    np.testing.assert_allclose(cd[:, 0], toy.runs[0].history.k)
    assert "α<sup>k</sup>" in paths[0].hovertemplate and "γ<sub>k</sub>" in paths[1].hovertemplate
    assert len(c.layout.annotations) >= 3  # arrowheads along the paths
    assert all(a.showarrow for a in c.layout.annotations)
    conv = figs["convergence_cost"]
    assert conv.layout.xaxis.type == "log" and conv.layout.yaxis.type == "log" and conv.layout.xaxis2.type == "linear"
    assert conv.layout.xaxis.title.text == "1 + " + compare.COST_LABEL
    assert "forward passes / 3" in compare.COST_LABEL  # the rule is stated on the axis
    assert names_of(conv).count("budget") == 2  # the budget line on both panels
    assert sorted(linked(conv)) == sorted([("conv", i) for i in range(3)] * 2)
    ck = figs["convergence_k"]
    fits = [t.name for t in ck.data if t.name.startswith("fit: ")]
    assert len(fits) == 2 * sum(r.rate is not None for r in toy.runs)
    assert figs["grad_norm"].layout.yaxis.type == "log"
    assert figs["infimum"].layout.xaxis.title.text == "r = ‖w‖"
    gf = figs["gradient_flow"]
    assert all(t.type == "scatter" for t in gf.data) and gf.layout.yaxis.type == "log"  # lines, not bars
    bars = figs["layer_bars"]
    assert linked(bars) == [("bars", toy.flow_run)]
    db = figs["decision_boundary"]
    assert [t.type for t in db.data] == ["heatmap", "contour", "scatter", "scatter"]
    assert db.data[1].contours.start == db.data[1].contours.end == 0.5  # the ŷ = 0.5 line
    best = int(np.argmin([r.result.loss for r in toy.runs]))
    assert linked(db) == [("decision", best), ("decision", best)]  # background and line move with the slider
    assert sum(len(t.x) for t in db.data[2:]) == 4 and db.data[2].marker.color != db.data[3].marker.color
    assert "training accuracy" in db.layout.title.text and db.layout.yaxis.scaleanchor == "x"


def test_plotly_figures_for_a_bigger_net(deep):
    figs = report.figures(deep)
    assert set(figs) == set(DEEP_FIGURES)
    assert figs["surface_3d"].layout.scene.xaxis.title.text == "PC1"
    assert names_of(figs["layer_grad_norms"]) == ["layer 1", "layer 2", "layer 3"]
    run = deep.runs[deep.flow_run]
    assert np.asarray(figs["layer_heatmap"].data[0].z).shape == (3, len(run.history))  # the flow's run
    assert list(figs["gradient_flow"].data[0].x) == [1, 2, 3]
    assert "projection" in figs["contour"].layout.title.text  # the plane's E is not the run's
    hu = figs["hidden_units"]
    assert len(hu.data) == 10 and all(t.type == "heatmap" for t in hu.data)  # 5 + 5 hidden units


def test_write_report_is_one_self_contained_file(toy, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):  # like mlplab.save: no folders are made
        report.write_report(tmp_path / "sub" / "run.html", toy)
    (tmp_path / "sub").mkdir()
    path = report.write_report(tmp_path / "sub" / "run.html", toy)
    assert path == tmp_path / "sub" / "run.html" and list(path.parent.iterdir()) == [path]
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"<script[^>]*\bsrc=", page), "the report must not load scripts from elsewhere"
    assert page.count("Plotly.newPlot") == len(TOY_FIGURES) and len(page) > 3_000_000  # plotly.js inlined once
    assert len(page) < 6_500_000  # the data is a small part of the page
    assert re.findall(r'data-name="([a-z_0-9]+)"', page) == TOY_FIGURES
    assert page.count('<p class="caption"') == len(TOY_FIGURES)
    for text in ("Configuration", "budget (sample-gradient equivalents", "Comparison", "fitted rate",
                 "O(1/√k)", "Where did each run stop?", "Gradient flow", "History", "GD, exact line search",
                 'id="snap"'):
        assert text in page
    assert page.count("<details>") == 3 + 1  # the histories and the bound's table


def test_history_table_is_thinned_evenly(toy, tmp_path):
    page = report.write_report(tmp_path / "r.html", toy, max_history_rows=10).read_text(encoding="utf-8")
    sgd = page.split("<h2>History</h2>")[1].split("<summary>")[2]
    assert "301 records (evenly spaced rows shown)" in sgd and sgd.split("</details>")[0].count("<tr>") == 11


# --- in a real browser --------------------------------------------------------------------

@pytest.mark.parametrize("which,expected", [("toy", TOY_FIGURES), ("deep", DEEP_FIGURES)])
def test_report_in_a_headless_browser(which, expected, request, tmp_path):
    sync_api, chromium = playwright_and_chromium()
    comp = request.getfixturevalue(which)
    path = report.write_report(tmp_path / f"{which}.html", comp)
    out = artifacts_dir(tmp_path)
    errors, external = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            watch(page, "file:", errors, external)  # the report must open offline
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.wait_for_function(
                "() => { const d = [...document.querySelectorAll('div.plot')];"
                " return d.length > 0 && d.every(p => { const g = p.querySelector('.js-plotly-plot');"
                " return g && g._fullLayout && g.querySelector('.main-svg'); }); }", timeout=60_000)
            shown = page.evaluate(
                "() => [...document.querySelectorAll('div.plot')].map(p => { const g = p.querySelector('.js-plotly-plot');"
                " const r = g.getBoundingClientRect(); return {name: p.dataset.name, traces: g.data.length,"
                " width: r.width, height: r.height, text: p.innerText}; })")
            gl = page.evaluate("() => { const g = document.querySelector('div.plot[data-name=surface_3d] .js-plotly-plot');"
                               " return g.querySelectorAll('canvas').length; }")
            page.screenshot(path=str(out / f"report-{which}.png"), full_page=True)
            page.locator("div.plot[data-name=surface_3d]").screenshot(path=str(out / f"report-{which}-surface.png"))
            page.locator("div.plot[data-name=convergence_cost]").screenshot(
                path=str(out / f"report-{which}-convergence.png"))
        finally:
            browser.close()
    assert errors == [], errors
    assert external == [], f"the report fetched {external}"
    assert [s["name"] for s in shown] == expected
    for s in shown:
        assert s["width"] > 300 and s["height"] > 250, s
        assert s["traces"] >= 1 and "WebGL is not supported" not in s["text"], s
    assert gl >= 1  # the 3-D surface is drawn by WebGL
    paths = sum(len(r.history) >= 2 for r in comp.runs)
    assert {s["name"]: s["traces"] for s in shown}["surface_3d"] == 1 + 2 * paths + 1  # paths, slider points, w⁰
    for name in ("", "-surface", "-convergence"):
        shot = out / f"report-{which}{name}.png"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"screenshots: {out}/report-{which}*.png")


def test_a_single_recorded_point_draws_no_history_curves(tmp_path):
    from mlplab import plots

    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP([2, 1], bias=False, init=np.array([0.5, 0.5]))
    result = mlplab.train(net, X, y, max_iter=0)  # one record: w^0
    comp = mlplab.compare.from_result(net, X, y, result, loss="squared", name="saved model")
    for figs in (report.figures(comp), plots.figures(comp)):
        assert "surface_3d" in figs and "convergence_cost" not in figs and "layer_heatmap" not in figs
    page = report.write_report(tmp_path / "r.html", comp).read_text(encoding="utf-8")
    assert 'data-name="surface_3d"' in page and 'data-name="convergence_cost"' not in page
    assert 'id="snap"' not in page  # nothing to step through
