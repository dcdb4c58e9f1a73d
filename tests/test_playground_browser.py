"""The playground in Debian's chromium (Playwright, every non-local request blocked), and 20 concurrent
sessions on a real server on 127.0.0.1.

The page is driven through its testing contract: data-testid = dataset, optimizer (selects), step, run,
pause, reset (buttons), iteration and loss (text). ``window.playground.frame`` is the last frame the
page drew (what the server sent), read here to check the panels against the numbers.
"""

from __future__ import annotations

import json
import math
import threading
import time

import numpy as np
import pytest

from browser_helpers import browser, watch  # noqa: F401 - browser: the module-scoped fixture
from playground_helpers import Server, server  # noqa: F401 - server: the module-scoped fixture, shared

pytestmark = pytest.mark.slow  # Chromium: left out of the quick subset (pytest -m "not slow")

T = 60_000  # ms: generous, the machine may be busy




class Tab:
    """A page on the playground that records errors and refuses every request not to the server."""

    def __init__(self, context, server):
        self.page = context.new_page()
        self.errors, self.external = [], []
        watch(self.page, server.url.rstrip("/") + "/", self.errors, self.external)
        self.page.goto(server.url, wait_until="load")
        self.wait("() => window.playground.frame && window.playground.frame.k === 0 "
                  "&& document.querySelector('#p-convergence .main-svg')")

    def wait(self, js, arg=None):
        self.page.wait_for_function(js, arg=arg, timeout=T)

    def k(self) -> int:
        return int(self.page.text_content("[data-testid=iteration]"))

    def loss(self) -> float:
        return float(self.page.text_content("[data-testid=loss]"))

    def frame(self):
        return self.page.evaluate("() => window.playground.frame")

    def click_and_wait_k(self, testid, k):
        self.page.click(f"[data-testid={testid}]")
        self.wait("k => document.querySelector('[data-testid=iteration]').textContent === String(k)", k)

    def configure(self, **selects):
        """Choose options (dataset first), then wait until the server's frame carries them."""
        for name, value in selects.items():
            self.page.select_option(f"[data-testid={name}]", value)
        self.wait("sel => Object.entries(sel).every(([k, v]) => window.playground.frame.config[k] === v "
                  "&& window.playground.frame.k === 0)", selects)

    def clean(self):
        assert self.errors == [], self.errors
        assert self.external == [], self.external


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield ctx
    ctx.close()


def test_page_loads_offline_without_errors_and_has_the_testing_contract(server, context):
    tab = Tab(context, server)
    page = tab.page
    values = page.eval_on_selector("[data-testid=dataset]", "s => [...s.options].map(o => o.value)")
    assert {"lecture", "lecture-network", "xor", "moons", "circles", "spirals", "blobs", "linear-regression",
            "upload"} <= set(values)
    opts = page.eval_on_selector("[data-testid=optimizer]", "s => [...s.options].map(o => o.value)")
    assert {"gd-exact", "gd-armijo", "gd-constant", "sgd", "minibatch", "momentum", "adam"} <= set(opts)
    for testid in ("step", "run", "pause", "reset"):
        assert page.eval_on_selector(f"[data-testid={testid}]", "b => b.tagName") == "BUTTON"
    assert tab.k() == 0 and math.isfinite(tab.loss())
    drawn = page.evaluate("() => [...document.querySelectorAll('.panel .main-svg')].length")
    assert drawn >= 6
    # the convergence panel on the cost axis, linear scale
    page.select_option("#xaxis", "cost")
    page.uncheck("#logscale")
    tab.wait("() => { const g = document.getElementById('p-convergence');"
             " return g.layout.xaxis.title.text.startsWith('cost') && g.layout.yaxis.type === 'linear'; }")
    tab.clean()


def test_every_data_set_and_method_draws_without_errors(server, context):
    tab = Tab(context, server)
    for dataset, method in [("lecture-network", "gd-armijo"), ("xor", "momentum"), ("circles", "minibatch"),
                            ("spirals", "adam"), ("blobs", "gd-constant"), ("linear-regression", "gd-exact"),
                            ("moons", "sgd")]:
        tab.configure(dataset=dataset, optimizer=method)
        tab.click_and_wait_k("step", 1)
        tab.click_and_wait_k("step", 2)
        assert math.isfinite(tab.loss())
        shown = tab.page.evaluate("() => ['boundary', 'convergence', 'surface', 'gradients', 'activations']"
                                  ".map(n => document.getElementById('p-' + n).data.length)")
        assert all(n > 0 for n in shown[:4]), (dataset, shown)
    tab.clean()


def test_gd_exact_five_steps_on_the_toy_set_with_the_line_search_picture(server, context):
    tab = Tab(context, server)
    assert tab.frame()["config"]["dataset"] == "lecture" and tab.frame()["config"]["optimizer"] == "gd-exact"
    losses = [tab.loss()]
    for k in range(1, 6):
        tab.click_and_wait_k("step", k)
        losses.append(tab.loss())
    assert tab.k() == 5
    assert all(b < a for a, b in zip(losses, losses[1:])), losses  # E falls
    # the φ(α) panel draws φ of the step 4 → 5 with α^4 marked at its minimum
    drawn = tab.page.evaluate("() => { const g = document.getElementById('p-line_search');"
                              " return {x: g.data[0].x, y: g.data[0].y, mx: g.data[1].x[0], my: g.data[1].y[0],"
                              " title: g.layout.title.text, ak: Number(g.dataset.alphaK)}; }")
    phi = tab.frame()["phi"]
    assert drawn["mx"] == phi["alpha_k"] == drawn["ak"] and drawn["my"] == phi["phi_k"]
    assert "α<sup>4</sup>" in drawn["title"]  # the notation as HTML (figures.html_math)
    assert drawn["my"] <= min(drawn["y"]) * (1 + 1e-12)  # nothing on the curve lies below the marked step
    assert 0 < drawn["mx"] < max(drawn["x"])  # an interior minimum, not the end of the plotted range
    assert drawn["my"] == pytest.approx(losses[5], rel=1e-6)  # φ(α^4) = E(w^5)
    i = int(np.argmin(drawn["y"]))  # the curve turns up on both sides of its lowest point
    assert 0 < i < len(drawn["y"]) - 1
    tab.clean()


def test_run_pause_sgd_on_moons_then_scrub_back_and_reset(server, context):
    tab = Tab(context, server)
    tab.configure(dataset="moons", optimizer="sgd", schedule="inverse")  # the lecture's γ_k = c/(k+1)
    E0 = tab.loss()
    tab.page.select_option("[data-testid=speed]", "100")
    tab.page.click("[data-testid=run]")
    tab.wait("() => Number(document.querySelector('[data-testid=iteration]').textContent) >= 30")
    tab.page.click("[data-testid=pause]")
    tab.wait("() => window.playground.frame.running === false")
    k1 = tab.k()
    time.sleep(1.5)
    assert tab.k() == k1 and not tab.frame()["running"]  # paused: nothing moves
    assert k1 >= 30 and math.isfinite(tab.loss())
    assert "Robbins–Monro holds" in tab.page.text_content("[data-testid=robbins-monro]")
    # scrub back to w^0: the panels show iteration 0 and E(w^0)
    tab.page.focus("[data-testid=scrubber]")
    tab.page.keyboard.press("Home")
    tab.wait("() => document.querySelector('[data-testid=iteration]').textContent === '0'")
    assert tab.loss() == E0 and not tab.frame()["live"] and tab.frame()["live_k"] == k1
    mid = tab.page.evaluate("() => { const s = window.playground.snapshots; return s[Math.floor(s.length / 2)]; }")
    tab.page.eval_on_selector("[data-testid=scrubber]", "(el, k) => { el.value = window.playground.snapshots"
                              ".indexOf(k); el.dispatchEvent(new Event('input')); }", mid)
    tab.wait("k => document.querySelector('[data-testid=iteration]').textContent === String(k)", mid)
    assert 0 < mid < k1
    # a step goes on from the latest iterate, not the scrubbed one
    tab.click_and_wait_k("step", k1 + 1)
    tab.click_and_wait_k("reset", 0)
    assert tab.loss() == E0  # the same w^0
    tab.clean()


def test_two_tabs_are_independent_sessions(server, context):
    a, b = Tab(context, server), Tab(context, server)
    for k in (1, 2, 3):
        a.click_and_wait_k("step", k)
    b.configure(dataset="moons", optimizer="adam")
    b.click_and_wait_k("step", 1)
    time.sleep(0.5)
    assert a.k() == 3 and a.frame()["config"]["dataset"] == "lecture" and a.frame()["config"]["optimizer"] == "gd-exact"
    assert b.k() == 1 and b.frame()["config"]["dataset"] == "moons"
    a.page.close()  # closing one tab leaves the other working
    b.click_and_wait_k("step", 2)
    b.clean()


def test_methods_side_by_side(server, context):
    tab = Tab(context, server)
    tab.page.click("#compare-box summary")
    tab.page.check("[data-compare=sgd]")
    tab.wait("() => (window.playground.frame.config.compare || []).includes('sgd')")
    for k in (1, 2):
        tab.click_and_wait_k("step", k)
    names = tab.page.evaluate("() => document.getElementById('p-convergence').data.map(t => t.name)")
    assert names[0].startswith("E — GD") and any(n.startswith("E — SGD") for n in names)
    readout = tab.page.text_content("#compare-readout")
    assert "SGD (one sample per step), γ_k = " in readout and ": E =" in readout  # with its step sizes
    assert tab.frame()["compare"][0]["k"] == 2
    tab.clean()


def test_bad_form_values_get_a_message_and_change_nothing(server, context):
    tab = Tab(context, server)
    tab.configure(dataset="moons", optimizer="sgd")
    before = tab.frame()["config"]
    for field, value, words in [("hidden", "0", "1..64"), ("c", "-1", "> 0"), ("seed", "abc", "not a whole number")]:
        tab.click_and_wait_k("step", 1)
        tab.page.fill(f"[data-testid={field}]", value)
        tab.page.dispatch_event(f"[data-testid={field}]", "change")
        msg = tab.page.locator(f"[data-err={field}]")
        msg.wait_for(state="visible", timeout=T)
        assert words in msg.text_content()
        # the message sits next to its field
        box_f, box_m = tab.page.locator(f"[data-testid={field}]").bounding_box(), msg.bounding_box()
        assert 0 <= box_m["y"] - box_f["y"] < 80
        assert tab.k() == 1 and tab.frame()["config"] == before
        tab.page.fill(f"[data-testid={field}]", str(before[field]) if field != "hidden" else "8,8")
        tab.page.dispatch_event(f"[data-testid={field}]", "change")
        msg.wait_for(state="hidden", timeout=T)
        tab.wait("() => window.playground.frame.k === 0")  # a good value applies (and restarts from w^0)
    tab.click_and_wait_k("step", 1)
    # an upload that is not a 2-D numeric CSV: a message next to the upload field, nothing changes
    bad = tab.page.locator("[data-err=upload]")
    tab.page.set_input_files("[data-testid=upload]", files=[
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": b"x1,x2,label\n1,2,0\n3,oops,1\n"}])
    bad.wait_for(state="visible", timeout=T)
    assert "line 3 is not numeric" in bad.text_content()
    assert tab.k() == 1 and tab.frame()["config"]["dataset"] == "moons"
    rows = "x1,x2,label\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 2}\n" for i in range(30))
    tab.page.set_input_files("[data-testid=upload]", files=[
        {"name": "good.csv", "mimeType": "text/csv", "buffer": rows.encode()}])
    tab.wait("() => window.playground.frame.config.dataset === 'upload' && window.playground.frame.S === 30")
    bad.wait_for(state="hidden", timeout=T)
    assert tab.page.eval_on_selector("[data-testid=dataset]", "s => s.value") == "upload"
    tab.click_and_wait_k("step", 1)
    tab.clean()


def test_download_is_a_loadable_model_of_the_current_network(server, context, tmp_path):
    import mlplab

    tab = Tab(context, server)
    for k in (1, 2, 3):
        tab.click_and_wait_k("step", k)
    with tab.page.expect_download(timeout=T) as info:
        tab.page.click("[data-testid=download-model]")
    path = tmp_path / "model.safetensors"
    info.value.save_as(path)
    net = mlplab.load(path)
    X, y = mlplab.datasets.lecture()
    assert net.layer_sizes == (2, 1) and not net.bias
    E = float(np.sum((net.forward(X)[:, 0] - y) ** 2))
    assert E == pytest.approx(tab.loss(), rel=1e-6)  # the network of iteration 3
    with tab.page.expect_download(timeout=T) as info:
        tab.page.click("[data-testid=download-history]")
    info.value.save_as(tmp_path / "h.csv")
    rows = (tmp_path / "h.csv").read_text().splitlines()
    assert rows[0].startswith("k,cost,loss,grad_norm,step_size") and len(rows) == 5
    tab.clean()


# --- guards --------------------------------------------------------------------------------------------


def test_a_page_of_another_origin_gets_no_socket_and_the_users_tab_still_works(server, context):
    """A page served from another port of this machine tries to open sessions: every socket is refused."""
    evil = context.new_page()
    evil.route("http://127.0.0.1:1/**", lambda route: route.fulfill(
        body="<!doctype html><title>elsewhere</title>", content_type="text/html"))
    evil.goto("http://127.0.0.1:1/page.html")
    outcomes = evil.evaluate("""url => Promise.all([...Array(5)].map(() => new Promise(done => {
        const ws = new WebSocket(url);
        ws.onopen = () => done("open");
        ws.onclose = () => done("closed");
    })))""", server.ws_url)
    assert outcomes == ["closed"] * 5
    evil.close()
    tab = Tab(context, server)
    tab.click_and_wait_k("step", 1)
    tab.clean()


def test_the_page_passes_its_token_to_its_script_socket_and_downloads(browser, tmp_path):
    """A playground that requires a token (as beyond loopback) works from its printed URL, and only from it."""
    import sys

    import mlplab

    code = ("import sys; from mlplab.playground import server; s = server.bind('127.0.0.1', 0); "
            "p = s.getsockname()[1]; server.serve(s, token='T0k-en_x', "
            "ready=lambda: print(f'http://127.0.0.1:{p}/?token=T0k-en_x', flush=True))")
    srv = Server(entry=[sys.executable, "-c", code])
    ctx = browser.new_context(accept_downloads=True)
    try:
        refused = ctx.new_page()
        assert refused.goto(srv.url).status == 403  # without the token: refused
        refused.close()
        page = ctx.new_page()
        errors, external = [], []
        watch(page, srv.url, errors, external)
        page.goto(srv.url + "?token=T0k-en_x", wait_until="load")
        page.wait_for_function("() => window.playground.frame && window.playground.frame.k === 0", timeout=T)
        page.click("[data-testid=step]")
        page.wait_for_function("() => document.querySelector('[data-testid=iteration]').textContent === '1'",
                               timeout=T)
        with page.expect_download(timeout=T) as info:
            page.click("[data-testid=download-model]")
        info.value.save_as(tmp_path / "m.safetensors")
        assert mlplab.load(tmp_path / "m.safetensors").layer_sizes == (2, 1)
        assert errors == [] and external == []
    finally:
        ctx.close()
        srv.stop()
    assert "Traceback" not in "".join(srv.stderr), "".join(srv.stderr)


# --- load ----------------------------------------------------------------------------------------------


def test_twenty_concurrent_sessions_stepping_for_ten_seconds():
    from websockets.sync.client import connect

    srv = Server()
    try:
        n_clients, seconds = 20, 10.0
        results = [None] * n_clients
        start = threading.Barrier(n_clients)

        def client(i):
            ks, errors = [], []
            try:
                with connect(srv.ws_url, max_size=None, open_timeout=120) as ws:
                    def until_frame():
                        while True:
                            msg = json.loads(ws.recv(timeout=120))
                            if msg["type"] in ("errors", "notice") and (msg.get("errors") or msg["type"] == "notice"):
                                errors.append(msg)
                            if msg["type"] == "frame":
                                return msg

                    until_frame()
                    if i % 2:  # half on moons with SGD, half on the toy set with GD (exact line search)
                        ws.send(json.dumps({"type": "config", "seq": 1, "form": {
                            "dataset": "moons", "model": "mlp", "hidden": "8,8", "loss": "binary_cross_entropy",
                            "optimizer": "sgd", "seed": i}}))
                        until_frame()
                    start.wait(timeout=300)
                    t_end, k = time.monotonic() + seconds, 0
                    while time.monotonic() < t_end:
                        n = 1 + i % 3
                        ws.send(json.dumps({"type": "step", "n": n}))
                        seen = until_frame()["k"]
                        while seen == k:  # a redraw of the state before the step (the surface refreshed)
                            seen = until_frame()["k"]
                        ks.append((n, seen))
                        k = seen
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))
            results[i] = (ks, errors)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        print("iterations per session:", [r[0][-1][1] if r and r[0] else 0 for r in results])
        for i, (ks, errors) in enumerate(results):
            assert errors == [], (i, errors)
            assert len(ks) > 0, i  # every session advanced
            total = 0
            for n, k in ks:  # each step moved this session by exactly its own n: no cross-talk
                total += n
                assert k == total, (i, ks)
        assert srv.alive()
        import urllib.request

        assert urllib.request.urlopen(srv.url, timeout=60).status == 200
    finally:
        srv.stop()
    assert "Traceback" not in "".join(srv.stderr), "".join(srv.stderr)
