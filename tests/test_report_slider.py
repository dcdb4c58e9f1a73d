"""The report you can step through: one iteration slider drives the linked panels, in a real browser.

Each kind of report — ``compare`` on the toy problem, ``compare`` on moons,
``train`` of a deep sigmoid net, ``report`` of a saved model — is written by
the CLI, opened offline in Debian's chromium (Playwright, every non-local
request refused), the slider is moved and the linked traces (the points on the
surface/contours, the cursors on the curves, the layer bars, the decision
boundary) must have changed; a path point is hovered and its E read; no page
errors. Skips, saying why, without playwright or chromium (as tests/test_report.py).

Also, without a browser: the slider data and the thinned curves of a long run
(the page stays small), and the deep sigmoid net's verdict agreeing with its chart.
"""

import json
import re

import numpy as np
import pytest

pytest.importorskip("plotly", reason="plotly is not installed (pip install 'mlplab[viz]')")

from mlplab import figures  # noqa: E402
from mlplab.cli import main  # noqa: E402

from browser_helpers import CHROMIUM_ARGS, artifacts_dir, playwright_and_chromium, watch  # noqa: E402

pytestmark = pytest.mark.slow  # Chromium: left out of the quick subset (pytest -m "not slow")

DEEP = ["train", "moons", "--hidden", "16,16,16,16,16,16,16,16", "--activation", "sigmoid", "--optimizer", "sgd",
        "--epochs", "20", "--quiet"]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The four kinds of report, written by the CLI: {kind: path}."""
    d = tmp_path_factory.mktemp("reports")
    runs = {"compare-toy": ["compare", "--budget", "300", "--quiet", "--report", str(d / "compare-toy.html")],
            "compare-moons": ["compare", "moons", "--hidden", "8", "--budget", "10000", "--quiet",
                              "--report", str(d / "compare-moons.html")],
            "train-deep": DEEP + ["--report", str(d / "train-deep.html"), "--out", str(d / "deep.safetensors")],
            "report-model": ["report", str(d / "deep.safetensors"), "--quiet", "--out", str(d / "report-model.html")]}
    for kind, argv in runs.items():
        assert main(argv) == 0, kind
    return {kind: d / f"{kind}.html" for kind in runs}


def snapshot_json(page_text: str) -> dict:
    m = re.search(r'<script type="application/json" id="mlplab-snapshots">(.*?)</script>', page_text, re.S)
    assert m, "the page has no slider data"
    return json.loads(m.group(1).replace("<\\/", "</"))


# --- without a browser ------------------------------------------------------------------------------


def test_each_page_has_one_slider_and_its_data(pages):
    for kind, path in pages.items():
        text = path.read_text(encoding="utf-8")
        assert text.count('<input type="range" id="snap"') == 1, kind
        snap = snapshot_json(text)
        m = len(snap["labels"])
        assert 10 <= m <= 30, (kind, m)
        for run in snap["runs"]:
            assert len(run["k"]) == len(run["err"]) == len(run["layers"]) == m
            assert run["k"] == sorted(run["k"])  # log-spaced on the cost axis, non-decreasing
        assert text.count("<p class=\"caption\"") == text.count('<div class="plot"'), kind  # a caption under each
        for raw in ("['", "α^k", "γ_k", "=True", "bias=True", ">True<", ">False<"):
            assert raw not in text.split("<script")[0], (kind, raw)  # no Python reprs, no raw notation


def test_single_run_reports_are_titled_as_such(pages):
    for kind in ("train-deep", "report-model"):
        text = pages[kind].read_text(encoding="utf-8")
        assert "<h2>The run</h2>" in text and "<h2>Comparison</h2>" not in text
    assert "<h2>Comparison</h2>" in pages["compare-toy"].read_text(encoding="utf-8")


def test_deep_sigmoid_verdict_agrees_with_its_chart(pages):
    """The verdict says vanishing and the chart's per-sample ‖∇_{W^ℓ} e‖ falls ≥ 1000× from the output to layer 1."""
    text = pages["train-deep"].read_text(encoding="utf-8")
    verdict = re.search(r'<p id="diagnosis">(.*?)</p>', text, re.S).group(1)
    assert "Vanishing gradients" in verdict and "No vanishing" not in text
    m = re.search(r'Gradient flow of .*? at .*?: vanishing gradients', text)
    assert m, "the gradient-flow figure's title says something else than the verdict"
    assert "\\u00bc per layer" in text  # the sigmoid reference line (JSON-escaped "σ′ ≤ ¼ per layer")
    assert re.search(r'output layer 9: \d+ %', text)  # saturation as numbers, the output layer named


def test_thinned_history_keeps_the_start_the_log_spaced_and_the_last_5_percent():
    idx = figures.thin_indices(100_001)
    assert idx[0] == 0 and idx[-1] == 100_000
    assert np.all(np.diff(idx) > 0)
    tail = idx[idx >= 95_000]
    np.testing.assert_array_equal(tail, np.arange(95_000, 100_001))  # every record of the last 5 %
    head = idx[idx < 95_000]
    assert 300 <= head.size <= 420 and head[:10].tolist() == list(range(10))  # log-spaced: dense at the start
    np.testing.assert_array_equal(figures.thin_indices(500), np.arange(500))  # short runs: everything


def test_snapshots_align_runs_on_the_cost_axis(toy):
    snaps, labels, on = figures.snapshot_indices(toy)
    assert on == "cost" and len(labels) == figures.N_SNAPSHOTS and labels[0].startswith("start")
    for run, ix in zip(toy.runs, snaps):
        ge = np.asarray(run.history.grad_equivalents)
        assert ix[0] == 0 and ix[-1] == len(run.history) - 1
        assert np.all(np.diff(ix) >= 0)
    # at each slider position no run has spent more than the position's cost
    targets = [float(t.split("≤")[1].replace(",", "")) for t in labels[1:]]
    for run, ix in zip(toy.runs, snaps):
        ge = np.asarray(run.history.grad_equivalents)
        assert np.all(ge[ix[1:]] <= np.array(targets) * (1 + 1e-3))


# --- in a real browser ----------------------------------------------------------------------------------

LINKED = """() => {
  const out = {};
  document.querySelectorAll('div.plot').forEach(p => {
    const gd = p.querySelector('.js-plotly-plot');
    (gd.data || []).forEach((t, i) => {
      if (t.meta && t.meta.link) out[p.dataset.name + '/' + i + '/' + t.meta.link] =
        JSON.stringify([t.x, t.y, t.z].map(a => a === undefined || a === null ? null : Array.from(a).flat()));
    });
    if (gd.layout.meta && gd.layout.meta.titles) out[p.dataset.name + '/title'] = JSON.stringify(gd.layout.title.text);
  });
  return out;
}"""

POINT_XY = """([name, which]) => {
  const gd = document.querySelector('div.plot[data-name=' + name + '] .js-plotly-plot');
  gd.scrollIntoView({block: 'center'});
  const i = gd._fullData.findIndex(t => t.visible === true && t.hovertemplate && t.hovertemplate.includes('E =')
                                        && t.x && t.x.length > (which === 'last' ? 0 : 2));
  const t = gd._fullData[i]; const j = which === 'last' ? t.x.length - 1 : Math.floor(t.x.length / 2);
  const fl = gd._fullLayout, bb = gd.getBoundingClientRect();
  return {x: bb.left + fl.xaxis._offset + fl.xaxis.l2p(t.x[j]), y: bb.top + fl.yaxis._offset + fl.yaxis.l2p(t.y[j])};
}"""

EXPECTED_LINKS = {"compare-toy": {"plane", "plane3d", "conv", "grad", "step", "bars", "decision"},
                  "compare-moons": {"plane", "plane3d", "conv", "grad", "step", "bars", "decision"},
                  "train-deep": {"plane", "plane3d", "conv", "grad", "step", "bars", "decision"},
                  "report-model": {"conv", "grad", "step", "bars"}}


@pytest.mark.parametrize("kind", list(EXPECTED_LINKS))
def test_slider_moves_the_linked_panels_in_a_headless_browser(kind, pages, tmp_path):
    sync_api, chromium = playwright_and_chromium()
    out = artifacts_dir(tmp_path)
    errors, external = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            watch(page, "file:", errors, external)
            page.goto(pages[kind].resolve().as_uri(), wait_until="load")
            page.wait_for_function(
                "() => [...document.querySelectorAll('div.plot')].every(p => { const g = p.querySelector"
                "('.js-plotly-plot'); return g && g._fullLayout && g.querySelector('.main-svg'); })", timeout=90_000)
            before = page.evaluate(LINKED)
            links = {key.split("/")[2] for key in before if key.count("/") == 2}
            assert links == EXPECTED_LINKS[kind], links
            page.screenshot(path=str(out / f"slider-{kind}-end.png"), full_page=False)
            page.locator("#snap").fill("3")  # the user drags the slider to an early iterate
            page.wait_for_function("() => document.getElementById('snap').dataset.j === '3'", timeout=10_000)
            after = page.evaluate(LINKED)
            label = page.locator("#snap-label").inner_text()
            moved = {key.split("/")[2] for key in before if key.count("/") == 2 and before[key] != after[key]}
            assert moved == links, f"these linked panels did not move: {links - moved}"
            titles = [key for key in before if key.endswith("/title")]
            assert all(before[key] != after[key] for key in titles)  # the decision boundary's accuracy
            assert "k = " in label
            # hover a path point (or, without a path, the saved weights' marker) and read its E
            xy = page.evaluate(POINT_XY, ["contour", "last" if kind == "report-model" else "middle"])
            page.mouse.move(xy["x"], xy["y"])
            page.wait_for_selector("div.plot[data-name=contour] .hoverlayer .hovertext", timeout=10_000)
            hover = page.locator("div.plot[data-name=contour] .hoverlayer .hovertext").first.text_content()
            page.screenshot(path=str(out / f"slider-{kind}-hover.png"), full_page=False)
            page.screenshot(path=str(out / f"slider-{kind}-full.png"), full_page=True)
        finally:
            browser.close()
    assert errors == [], errors
    assert external == [], f"the report fetched {external}"
    m = re.search(r"E = ([0-9.eE+−-]+)", hover)
    assert m, hover
    assert float(m.group(1).replace("−", "-")) > 0
