"""Issue 24's additions to the playground: the network diagram (an edge per weight, sign as colour,
|w| as width), +/− buttons for layers and units, a held-out test set with its loss beside E, the
engine's L2 regulariser in the form, and the form's settings in the page's address (#…).

The engine-side parts are checked on :class:`Session` directly; what the page shows in Debian's
Chromium (Playwright, every non-local request refused)."""

from __future__ import annotations

import math
from urllib.parse import parse_qs

import numpy as np
import pytest

from browser_helpers import artifacts_dir, browser, watch  # noqa: F401 - browser: the module-scoped fixture
from mlplab.objective import Problem
from mlplab.playground.config import Config, FormError, parse
from mlplab.playground.session import MAX_EDGES, Session, network_diagram, split_data
from playground_helpers import server  # noqa: F401 - server: the module-scoped fixture

pytestmark = pytest.mark.slow  # servers and Chromium: left out of the quick subset (pytest -m "not slow")

T = 60_000  # ms

MOONS = {"dataset": "moons", "model": "mlp", "hidden": "3", "loss": "binary_cross_entropy", "n_samples": "60"}


# --- the engine side -----------------------------------------------------------------------------


def test_diagram_has_one_edge_per_weight_with_its_value():
    s = Session(parse(MOONS | {"hidden": "3,2"}))
    dg = s.frame()["diagram"]
    assert dg["sizes"] == [2, 3, 2, 1]
    assert dg["n_edges"] == len(dg["edges"]) == 2 * 3 + 3 * 2 + 2 * 1  # weights only, no biases
    weights, _ = s.net.unpack(s.w)
    for ell, i, j, w in dg["edges"]:
        assert w == pytest.approx(weights[ell - 1][i, j], abs=1e-6)
    assert {(ell, i, j) for ell, i, j, _ in dg["edges"]} == {
        (ell + 1, i, j) for ell, W in enumerate(weights) for i in range(W.shape[0]) for j in range(W.shape[1])}


def test_diagram_follows_the_iterate_and_the_scrubbed_snapshot():
    s = Session(parse(MOONS | {"optimizer": "gd-armijo"}))
    first = s.frame()["diagram"]["edges"]
    s.step(5)
    live = s.frame()["diagram"]["edges"]
    assert live != first
    assert s.frame(view_k=0)["diagram"]["edges"] == first


def test_diagram_of_a_wide_network_keeps_the_largest_weights():
    net = Session(parse(MOONS | {"hidden": "64,64"})).net
    w = np.random.default_rng(0).standard_normal(net.n_params)
    dg = network_diagram(net, w)
    assert dg["n_edges"] == 2 * 64 + 64 * 64 + 64 and len(dg["edges"]) == MAX_EDGES
    weights, _ = net.unpack(w)
    every = np.sort(np.abs(np.concatenate([W.ravel() for W in weights])))[::-1]
    kept = np.abs([e[3] for e in dg["edges"]])
    assert kept.min() >= every[MAX_EDGES - 1] - 1e-6  # the largest |w|, none smaller


def test_l2_is_the_engines_regulariser():
    assert parse({"l2": "0.5"}).l2 == 0.5 and Config().l2 == 0.0
    with pytest.raises(FormError) as err:
        parse({"l2": "-1"})
    assert "l2" in err.value.errors
    plain, reg = Session(parse(MOONS)), Session(parse(MOONS | {"l2": "0.5"}))
    assert reg.problem.l2 == 0.5 and plain.problem.l2 == 0.0
    weights, _ = reg.net.unpack(reg.w)
    sq = sum(float((W ** 2).sum()) for W in weights)
    assert reg.E == pytest.approx(plain.E + 0.5 * 0.5 * sq, rel=1e-10)


def test_test_split_holds_out_samples_and_draws_their_loss():
    cfg = parse(MOONS | {"test_fraction": "0.25", "optimizer": "gd-armijo"})
    s = Session(cfg)
    assert s.problem.S == 45 and s.test_problem.S == 15
    # the same split each time; train and test disjoint and together the data set
    X, y, Xt, yt = split_data(s.X, s.y, Config(test_fraction=0.0))
    assert Xt is None
    s.step(10)
    fr = s.frame()
    assert fr["S_test"] == 15
    expect = Problem(s.net, *_held_out(cfg), "binary_cross_entropy").value(s.w) * 45 / 15
    assert fr["test_loss"] == pytest.approx(expect, rel=1e-10)
    names = [t["name"] for t in fr["figures"]["convergence"]["data"]]
    assert any(n.startswith("test E") for n in names)
    trace = next(t for t in fr["figures"]["convergence"]["data"] if t["name"].startswith("test E"))
    assert len(trace["y"]) == 11 and trace["y"][-1] == pytest.approx(fr["test_loss"])
    assert "test_loss" not in Session(parse(MOONS)).frame()
    rows = s.history_csv().splitlines()
    assert rows[0].endswith(",test_loss_scaled") and len(rows) == 12
    assert float(rows[-1].split(",")[-1]) == pytest.approx(fr["test_loss"])
    with pytest.raises(FormError) as err:
        Session(parse({"dataset": "lecture", "test_fraction": "0.9"}))
    assert "test_fraction" in err.value.errors


def _held_out(cfg):
    from mlplab.playground.config import load_data
    X, y, _ = load_data(cfg)
    Xtr, ytr, Xt, yt = split_data(X, y, cfg)
    assert len(ytr) + len(yt) == len(y)
    rows = {tuple(r) for r in Xtr}
    assert not any(tuple(r) in rows for r in Xt)
    return Xt, yt


# --- the page ----------------------------------------------------------------------------------------


@pytest.fixture
def context(browser):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield ctx
    ctx.close()


def open_tab(context, server, url=None):  # noqa: F811
    page = context.new_page()
    errors, external = [], []
    watch(page, server.url.rstrip("/") + "/", errors, external)
    page.goto(url or server.url, wait_until="load")
    page.wait_for_function("() => window.playground.frame && document.querySelector('#p-convergence .main-svg')",
                           timeout=T)
    return page, errors, external


def set_fields(page, **values):
    for name, value in values.items():
        sel = f"[data-field={name}]"
        if page.eval_on_selector(sel, "e => e.tagName") == "SELECT":
            page.select_option(sel, value)
        else:
            page.fill(sel, value)
            page.dispatch_event(sel, "change")


def wait_network(page, network):
    page.wait_for_function("n => window.playground.frame.network === n", arg=network, timeout=T)


def test_the_diagram_draws_an_edge_per_weight_coloured_by_sign(server, context):  # noqa: F811
    page, errors, external = open_tab(context, server)
    set_fields(page, dataset="moons", hidden="3,2")
    wait_network(page, "2-3-2-1")
    page.click("[data-testid=step]")
    page.wait_for_function("() => window.playground.frame.k === 1", timeout=T)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=network-svg] line').length === 14",
                           timeout=T)
    edges = page.evaluate("() => [...document.querySelectorAll('[data-testid=network-svg] line')].map(l => ["
                          "+l.dataset.layer, +l.dataset.i, +l.dataset.j, +l.dataset.w, l.getAttribute('stroke'),"
                          " +l.getAttribute('stroke-width')])")
    frame = page.evaluate("() => window.playground.frame.diagram")
    assert len(edges) == frame["n_edges"] == 14
    assert [e[:4] for e in edges] == [[ell, i, j, pytest.approx(w)] for ell, i, j, w in frame["edges"]]
    assert {e[4] for e in edges if e[3] > 0} == {"#1f77b4"} and {e[4] for e in edges if e[3] < 0} == {"#e6550d"}
    big = max(edges, key=lambda e: abs(e[3]))
    small = min(edges, key=lambda e: abs(e[3]))
    assert big[5] > small[5]  # width grows with |w|
    assert page.evaluate("() => document.querySelectorAll('[data-testid=network-svg] circle').length") == 8
    assert errors == [] and external == []


def test_plus_and_minus_change_the_network(server, context):  # noqa: F811
    page, errors, external = open_tab(context, server)
    set_fields(page, dataset="moons", hidden="3")
    wait_network(page, "2-3-1")
    page.click("[data-testid=units-plus-1]")
    wait_network(page, "2-4-1")
    assert page.input_value("[data-testid=hidden]") == "4"
    page.wait_for_function("() => document.getElementById('netinfo').textContent.includes('network 2-4-1')",
                           timeout=T)
    page.click("[data-testid=add-layer]")
    wait_network(page, "2-4-4-1")
    page.click("[data-testid=units-minus-2]")
    wait_network(page, "2-4-3-1")
    assert page.input_value("[data-testid=hidden]") == "4,3"
    page.wait_for_function("() => document.querySelectorAll('[data-testid=network-svg] circle').length === 10",
                           timeout=T)
    page.click("[data-testid=remove-layer]")
    wait_network(page, "2-4-1")
    assert errors == [] and external == []


def test_the_address_keeps_the_form_and_a_reload_restores_it(server, context):  # noqa: F811
    page, errors, external = open_tab(context, server)
    set_fields(page, dataset="moons", hidden="5", optimizer="gd-constant", alpha="0.02", l2="0.01",
               test_fraction="0.2")
    page.wait_for_function("() => { const c = window.playground.frame.config; return c.l2 === 0.01 && "
                           "c.test_fraction === 0.2 && c.alpha === 0.02; }", timeout=T)
    url = page.url
    q = parse_qs(url.split("#", 1)[1])
    assert q["dataset"] == ["moons"] and q["hidden"] == ["5"] and q["l2"] == ["0.01"]
    page2, errors2, external2 = open_tab(context, server, url)
    page2.wait_for_function(
        "() => { const c = window.playground.frame.config; return c.dataset === 'moons' && c.hidden.join() === '5' "
        "&& c.optimizer === 'gd-constant' && c.alpha === 0.02 && c.l2 === 0.01 && c.test_fraction === 0.2; }",
        timeout=T)
    assert page2.input_value("[data-testid=hidden]") == "5"
    assert page2.input_value("[data-testid=l2]") == "0.01"
    # the held-out loss is drawn beside E and read out
    page2.wait_for_function("() => document.getElementById('p-convergence').data.some(t => t.name.startsWith('test E'))",
                            timeout=T)
    assert page2.is_visible("[data-testid=test-loss]")
    assert math.isfinite(float(page2.text_content("[data-testid=test-loss]")))
    assert errors == errors2 == [] and external == external2 == []


def test_screenshot_of_the_new_parts(server, context, tmp_path):  # noqa: F811
    page, errors, _ = open_tab(context, server)
    set_fields(page, dataset="moons", hidden="6,4", test_fraction="0.25", l2="0.001")
    wait_network(page, "2-6-4-1")
    for k in range(1, 4):
        page.click("[data-testid=step]")
        page.wait_for_function("k => window.playground.frame.k === k", arg=k, timeout=T)
    page.wait_for_function("() => document.getElementById('p-convergence').data.some(t => t.name.startsWith('test E'))",
                           timeout=T)
    page.screenshot(path=str(artifacts_dir(tmp_path) / "playground-features.png"), full_page=True)
    assert errors == []
