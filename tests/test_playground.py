"""mlplab playground without a browser: the form's validation, a session driven one iteration at a time
(against independent NumPy oracles), bounded memory, downloads, the figures, the CLI and the server's
WebSocket protocol on a real socket.

Browser checks (Playwright + Debian's chromium) and the 20-session load test are in
test_playground_browser.py, the guards (Host, Origin, token, stopping work, message bounds) in
test_playground_security.py; all start the server with :class:`Server` from playground_helpers.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground extra is not installed: pip install \"mlplab[playground]\"")
pytest.importorskip("uvicorn", reason="the playground extra is not installed: pip install \"mlplab[playground]\"")
pytest.importorskip("websockets", reason="the playground extra is not installed: pip install \"mlplab[playground]\"")

import mlplab  # noqa: E402
from mlplab.playground import figures  # noqa: E402
from mlplab.playground.config import FormError, parse, parse_csv  # noqa: E402
from mlplab.playground.landscape import principal_plane  # noqa: E402
from mlplab.playground.session import Session, Thinned  # noqa: E402
from playground_helpers import ROOT, recv_until, server, ws_connect  # noqa: E402,F401 - server: a fixture

pytestmark = pytest.mark.slow  # a server: left out of the quick subset (pytest -m "not slow")

# --- oracles ----------------------------------------------------------------------------------------


def toy_E(w, X, y):
    """The slides' E(w) = Σ_s (σ(w11 x1 + w12 x2) − y_s)², written out."""
    with np.errstate(over="ignore"):  # far out along d: σ saturates, exp overflows to inf harmlessly
        return float(np.sum((1 / (1 + np.exp(-(X @ w))) - y) ** 2))


def toy_grad(w, X, y):
    s = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (2 * (s - y) * s * (1 - s))


def exact_alpha(phi, hi=1e4):
    """argmin_{0<α≤hi} φ by a dense log scan and golden-section refinement (independent of the engine)."""
    from scipy.optimize import minimize_scalar

    grid = np.concatenate([[0.0], np.geomspace(1e-8, hi, 4000)])
    vals = np.array([phi(a) for a in grid])
    i = int(np.argmin(vals))
    lo, up = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = minimize_scalar(phi, bounds=(lo, up), method="bounded", options={"xatol": 1e-12 * max(up, 1.0)})
    return res.x if res.fun <= vals[i] else grid[i]


# --- the form ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form,field,words", [
    ({"hidden": "0"}, "hidden", "1..64"),
    ({"hidden": "8,x"}, "hidden", "not a whole number"),
    ({"hidden": ",".join(["4"] * 7)}, "hidden", "at most 6"),
    ({"c": "-1"}, "c", "> 0"),
    ({"alpha": "0"}, "alpha", "> 0"),
    ({"batch": "abc"}, "batch", "not a whole number"),
    ({"batch": "2.5"}, "batch", "not a whole number"),
    ({"noise": "nan"}, "noise", "finite"),
    ({"n_samples": "3"}, "n_samples", "≥ 4"),
    ({"beta": "1.5"}, "beta", "≤ 1"),
    ({"dataset": "mnist"}, "dataset", "choose one of"),
    ({"optimizer": "lbfgs"}, "optimizer", "gd-exact"),
    ({"init": "gauss"}, "init", "valid inits"),
    ({"activations": ["softmax"]}, "activations", "tanh"),
    ({"bias": "maybe"}, "bias", "on or off"),
    ({"bogus": 1}, "bogus", "unknown field"),
])
def test_bad_form_fields_are_named_with_a_message(form, field, words):
    with pytest.raises(FormError) as info:
        parse(form)
    assert set(info.value.errors) == {field}
    assert words in info.value.errors[field]


def test_good_form_is_parsed_and_one_activation_fills_every_layer():
    cfg = parse({"dataset": "moons", "model": "mlp", "hidden": " 8, 4 ", "activations": ["relu"], "c": "0.5",
                 "batch": 4, "bias": "off", "nesterov": True})
    assert (cfg.hidden, cfg.activations, cfg.c, cfg.batch, cfg.bias, cfg.nesterov) == (
        [8, 4], ["relu", "relu"], 0.5, 4, False, True)
    with pytest.raises(FormError) as info:
        parse({"model": "mlp", "hidden": "8,4,2", "activations": ["relu", "tanh"]})
    assert "one activation per hidden layer" in info.value.errors["activations"]


def test_incompatible_network_choices_leave_the_session_unchanged():
    s = Session()
    s.step(2)
    before = (s.k, s.w.copy(), s.cfg)
    for form, field in [({"dataset": "blobs", "model": "mlp", "loss": "binary_cross_entropy"}, "loss"),
                        ({"dataset": "moons", "model": "toy", "loss": "cross_entropy"}, "loss"),
                        ({"dataset": "blobs", "model": "toy", "loss": "cross_entropy"}, "model"),
                        ({"dataset": "linear-regression", "model": "mlp", "loss": "cross_entropy"}, "loss"),
                        ({"dataset": "moons", "model": "mlp", "optimizer": "minibatch", "batch": 500}, "batch"),
                        ({"dataset": "upload"}, "dataset")]:
        with pytest.raises(FormError) as info:
            s.configure(parse(form, s.cfg))
        assert field in info.value.errors, (form, info.value.errors)
    assert s.k == before[0] and np.array_equal(s.w, before[1]) and s.cfg is before[2]


def test_csv_upload_parsing():
    X, y, task = parse_csv("x1,x2,label\n0,0,3\n1,1,5\n2,0,3\n")
    assert task == "classification" and X.shape == (3, 2) and y.tolist() == [0.0, 1.0, 0.0]
    X, y, task = parse_csv("1,2\n2,4.5\n3,6\n")
    assert task == "regression" and X[:, 0].tolist() == [1, 2, 3] and y.tolist() == [2, 4.5, 6]
    for text, words in [("", "empty"), ("a,b\n", "at least 2"), ("1,2,0\n1,x,1\n", "line 2 is not numeric"),
                        ("1,2,3,4\n5,6,7,8\n", "3 columns"), ("1,2,0\n3,4\n", "3 columns"),
                        ("1,2,0.5\n3,4,1\n", "whole numbers"), ("1,2,1\n3,4,1\n", "one class"),
                        ("1,inf,0\n3,4,1\n", "finite")]:
        with pytest.raises(ValueError, match=words):
            parse_csv(text)


# --- the session against oracles -------------------------------------------------------------------------


def test_gd_exact_on_the_toy_set_matches_an_independent_exact_line_search():
    s = Session()  # the lecture's toy set, ŷ = σ(w11 x1 + w12 x2), squared error, glorot seed 0, GD exact
    X, y = mlplab.datasets.lecture()
    assert s.step(5) == 5 and s.k == 5
    losses = [r["loss"] for _, r in s.records.rows]
    for k in range(5):  # from each iterate w^k, the step reaches the minimum of E along −∇E(w^k)
        w, w_next = s.snapshots.get(k), s.snapshots.get(k + 1)
        assert losses[k] == pytest.approx(toy_E(w, X, y), rel=1e-12)
        d = -toy_grad(w, X, y)
        alpha = exact_alpha(lambda a: toy_E(w + a * d, X, y))
        assert losses[k + 1] == pytest.approx(toy_E(w + alpha * d, X, y), rel=1e-8)
        assert np.allclose(w_next, w + s.records.get(k)["step_size"] * d, rtol=1e-12)
        assert s.records.get(k)["step_size"] == pytest.approx(alpha, rel=1e-4)
    assert all(b < a for a, b in zip(losses, losses[1:]))  # E falls at every step
    # the φ panel: φ(α) of the step 4 → 5 with α^4 at its minimum, φ(α^4) = E(w^5)
    phi = s.frame()["phi"]
    assert phi["k"] == 4 and phi["rule"] == "exact"
    assert phi["phi_k"] == pytest.approx(losses[5], rel=1e-12)
    assert phi["phi_k"] <= min(phi["value"]) * (1 + 1e-12)
    assert phi["alpha_k"] == pytest.approx(s.records.get(4)["step_size"], rel=0)
    assert 0 < phi["alpha_k"] < phi["alpha"][-1]


def test_an_unbounded_exact_line_search_is_drawn_up_to_its_cap_and_said_so():
    s = Session(parse({"init": "zeros", "alpha_max": "100"}))  # from w^0 = 0, E falls along −∇E to any α
    s.step(1)
    phi = s.frame()["phi"]
    assert phi["capped"] and phi["unbounded"] and phi["alpha_k"] == 100.0 == phi["alpha"][-1]
    assert "no minimiser on the ray" in phi["note"]
    assert phi["phi_k"] == min(phi["value"])  # the cap is the lowest point drawn
    assert all(b <= a for a, b in zip(phi["value"], phi["value"][1:]))  # φ falls all the way


def test_sgd_steps_are_the_lecture_update_with_the_sessions_rng():
    s = Session(parse({"optimizer": "sgd", "schedule": "inverse", "c": "0.5"}))
    X, y = mlplab.datasets.lecture()
    rng = np.random.default_rng([0, 1])  # the session's sampling RNG: (seed, 1)
    w = s.w0.copy()
    s.step(20)
    for k in range(20):
        j = int(rng.integers(4))
        w = w - 0.5 / (k + 1) * toy_grad(w, X[j:j + 1], y[j:j + 1])  # w^{k+1} = w^k − γ_k ∇e^{j_k}(w^k)
    assert np.allclose(s.w, w, rtol=1e-12, atol=1e-15)
    steps = [r["step_size"] for _, r in s.records.rows][:20]
    assert steps == pytest.approx([0.5 / (k + 1) for k in range(20)], rel=1e-15)
    assert "Robbins–Monro holds" in s.status()["robbins_monro"]
    s.configure(parse({"schedule": "constant"}, s.cfg))
    assert "Σγ_k² = ∞" in s.status()["robbins_monro"]
    s.configure(parse({"schedule": "power", "p": "0.4"}, s.cfg))
    assert "not Robbins–Monro" in s.status()["robbins_monro"]


def test_minibatch_mean_and_sum_blocks_of_a_shuffled_epoch():
    X, y = mlplab.datasets.load("moons", n_samples=40, noise=0.1, seed=0)
    for reduction, scale in (("sum", 1.0), ("mean", 1 / 8)):
        s = Session(parse({"dataset": "moons", "n_samples": 40, "model": "mlp", "hidden": "", "loss": "squared",
                           "optimizer": "minibatch", "batch": 8, "reduction": reduction, "schedule": "constant",
                           "c": "0.01"}))
        rng = np.random.default_rng([0, 1])
        w = s.w0.copy()
        net = s.net.copy()
        s.step(7)  # one epoch of 5 blocks and two of the next
        order, pos = rng.permutation(40), 0
        for k in range(7):
            if pos >= 40:
                order, pos = rng.permutation(40), 0
            B = np.sort(order[pos:pos + 8])
            pos += 8
            net.params[:] = w
            yhat = 1 / (1 + np.exp(-(X[B] @ w[:2] + w[2])))  # one sigmoid unit with a bias
            r = 2 * (yhat - y[B]) * yhat * (1 - yhat)
            g = np.concatenate([X[B].T @ r, [r.sum()]])
            w = w - 0.01 * scale * g
        assert np.allclose(s.w, w, rtol=1e-12, atol=1e-14), reduction


def test_reset_gives_the_same_w0_and_the_same_run():
    s = Session(parse({"dataset": "moons", "model": "mlp", "hidden": "4", "loss": "binary_cross_entropy",
                       "optimizer": "sgd"}))
    s.step(30)
    first = [r["loss"] for _, r in s.records.rows]
    s.reset()
    assert s.k == 0 and np.array_equal(s.w, s.w0)
    s.step(30)
    assert [r["loss"] for _, r in s.records.rows] == first


def test_divergence_stops_stepping_with_a_message():
    s = Session(parse({"dataset": "linear-regression", "model": "mlp", "hidden": "", "loss": "squared",
                       "optimizer": "gd-constant", "alpha": "0.02"}))
    taken = s.step(200)
    assert 0 < taken < 200 and "diverged" in s.stopped and "lower the step size" in s.stopped
    assert np.all(np.isfinite(s.w)) and s.step(5) == 0  # stays stopped, w untouched
    s.reset()
    assert s.stopped == "" and s.k == 0


def test_side_by_side_methods_start_from_the_same_w0_and_run_as_they_would_alone():
    cfg = parse({"dataset": "moons", "n_samples": 50, "model": "mlp", "hidden": "4", "loss": "binary_cross_entropy",
                 "optimizer": "gd-exact", "compare": ["sgd", "adam"], "schedule": "constant", "c": "0.05",
                 "batch": 8})
    s = Session(cfg)
    assert [o.cfg.optimizer for o in s.others] == ["sgd", "adam"]
    assert all(np.array_equal(o.w0, s.w0) for o in s.others)
    s.step(12)
    for o in s.others:
        alone = Session(parse({"optimizer": o.cfg.optimizer, "compare": []}, cfg))
        alone.step(12)
        assert o.k == 12 and np.array_equal(o.w, alone.w)  # side by side changes nothing about a run
    fr = s.frame()
    assert [c["method"] for c in fr["compare"]] == ["sgd", "adam"]
    names = [d["name"] for d in fr["figures"]["convergence"]["data"]]
    assert names[0] == "E — GD, exact line search" and "E — Adam (mini-batch)" in names
    assert [d["name"] for d in fr["figures"]["surface"]["data"]][-2:] == ["SGD (one sample), step γₖ",
                                                                          "Adam (mini-batch)"]
    s.reset()
    assert [o.k for o in s.others] == [0, 0]
    with pytest.raises(FormError) as info:
        parse({"compare": ["sgd", "adam", "momentum"]})
    assert "at most 2" in info.value.errors["compare"]
    with pytest.raises(FormError) as info:  # a compared method that does not fit names itself
        s.configure(parse({"compare": ["minibatch"], "batch": 80}, cfg))
    assert "mini-batch" in info.value.errors["compare"] and "|B| = 80" in info.value.errors["compare"]


def test_history_and_snapshots_stay_bounded():
    t = Thinned(cap=100, recent=30)
    for k in range(5000):
        t.add(k, k)
    ks = t.ks()
    assert len(ks) <= 100 and ks[0] == 0 and ks[-30:] == list(range(4970, 5000))
    assert ks == sorted(set(ks))
    older = np.array(ks[:-30], dtype=float)
    assert np.sum(older < 50) >= 5 and np.sum(older > 500) >= 5  # log-spaced: early and late iterations both kept
    s = Session(parse({"dataset": "moons", "n_samples": 20, "model": "mlp", "hidden": "64,64",
                       "loss": "binary_cross_entropy", "optimizer": "sgd", "schedule": "constant", "c": "0.01"}))
    s.step(2000)  # d = 4417: at most 226 snapshots of w fit in the 1e6-float budget
    assert len(s.records) <= 1200
    assert sum(w.size for _, w in s.snapshots.rows) <= 1_000_000 + s.problem.d
    assert s.snapshots.rows[0][0] == 0 and s.snapshots.rows[-1][0] == s.k


def test_scrubbing_shows_a_past_iterate_and_stepping_goes_on_from_the_latest():
    s = Session()
    s.step(6)
    past = s.frame(view_k=2)
    assert past["k"] == 2 and not past["live"] and past["live_k"] == 6
    assert past["loss"] == s.records.get(2)["loss"]
    assert past["phi"]["k"] == 1 and past["phi"]["phi_k"] == pytest.approx(past["loss"], rel=1e-12)
    s.step(1)
    assert s.k == 7 and s.frame()["live"]


def test_downloads_model_and_history(tmp_path):
    s = Session(parse({"dataset": "moons", "model": "mlp", "hidden": "5", "loss": "binary_cross_entropy",
                       "optimizer": "adam", "schedule": "constant", "c": "0.01", "batch": 16}))
    s.step(25)
    path = tmp_path / "m.safetensors"
    path.write_bytes(s.model_bytes())
    net = mlplab.load(path)
    assert net.layer_sizes == (2, 5, 1) and np.array_equal(net.params, s.w)
    X = s.X
    assert np.allclose(net.forward(X), s.net.forward(X, params=s.w))
    rows = list(__import__("csv").reader(io.StringIO(s.history_csv())))
    assert rows[0] == ["k", "cost", "loss", "grad_norm", "step_size", "grad_norm_W1", "grad_norm_W2"]
    assert len(rows) == 27 and [int(r[0]) for r in rows[1:]] == list(range(26))
    assert float(rows[-1][2]) == pytest.approx(s.E, rel=1e-15) and rows[-1][4] == ""
    assert float(rows[1][1]) == 0 and float(rows[2][1]) == 16  # cost: |B| = 16 sample gradients per step


def test_every_data_set_and_optimizer_gives_a_json_frame():
    combos = [({"dataset": d, "model": "mlp", "hidden": "3", "loss": loss}, opt)
              for d, loss in [("lecture-network", "squared"), ("xor", "binary_cross_entropy"),
                              ("circles", "squared"), ("spirals", "binary_cross_entropy"),
                              ("blobs", "cross_entropy"), ("linear-regression", "absolute")]
              for opt in ("gd-armijo", "momentum")]
    for form, opt in combos:
        s = Session(parse({**form, "optimizer": opt, "n_samples": 60, "batch": 2}))
        s.step(4)
        fr = s.frame()
        text = json.dumps(fr, allow_nan=False, default=float)
        assert set(fr["figures"]) >= {"convergence", "step_size", "boundary", "activations", "gradients", "surface"}
        assert len(text) < 400_000, (form, opt, len(text))
        assert (fr["phi"] is not None) == (opt == "gd-armijo")
    fr = Session(parse({"dataset": "lecture-network", "model": "mlp", "hidden": "2,2", "activations": "sigmoid",
                        "bias": False})).frame()
    assert fr["network"] == "2-2-2-1" and len(fr["flow"]["chain"]) == 3
    assert fr["optimizer"] == "GD, exact line search (α_max = 10000)"  # words and numbers, not a Python repr


def test_layer_gradient_panel_matches_the_gradient_and_the_lecture_bound():
    s = Session(parse({"dataset": "moons", "model": "mlp", "hidden": "6,6", "loss": "squared",
                       "activations": ["sigmoid", "sigmoid"], "optimizer": "gd-exact"}))
    s.step(3)
    flow = s.frame()["flow"]
    _, g = s.problem.value_and_grad(s.w)
    for ell, sl in enumerate(s.net.slices):
        assert flow["grad_norm"][ell] == pytest.approx(np.linalg.norm(g[sl.W]), rel=1e-12)
    # sigmoid: ‖Diag φ′‖ ≤ 1/4 per sample, so the medians are too
    assert all(0 < v <= 0.25 for v in flow["dphi"][:2])


def test_principal_plane_is_orthonormal_and_spans_a_planar_path():
    rng = np.random.default_rng(3)
    u0, v0 = rng.standard_normal(50), rng.standard_normal(50)
    t = np.linspace(0, 1, 300)[:, None]
    traj = 1.0 + 3 * t * u0 + np.sin(4 * t) * v0  # a curve inside a plane through 1
    u, v, shares = principal_plane(traj, traj[-1])
    assert abs(u @ u - 1) < 1e-12 and abs(v @ v - 1) < 1e-12 and abs(u @ v) < 1e-10
    B = np.stack([u, v], axis=1)
    resid = (traj - traj[-1]) - (traj - traj[-1]) @ B @ B.T
    assert np.abs(resid).max() < 1e-9 and sum(shares) == pytest.approx(1.0, abs=1e-9)
    straight = np.outer(np.linspace(0, 1, 10), u0)  # a straight path: the second direction completes the plane
    u, v, shares = principal_plane(straight, straight[-1])
    assert abs(u @ v) < 1e-12 and shares[1] == 0.0


def test_figures_are_plain_json_and_mark_what_they_say():
    fig = figures.line_search([0, 1, 2], [3.0, 1.0, float("nan")], 1.0, 1.0, k=3)
    json.dumps(fig, allow_nan=False)
    assert fig["data"][0]["y"] == [3.0, 1.0, None] and fig["data"][1]["x"] == [1.0]
    assert "α^3" in fig["layout"]["title"]["text"]
    surf = figures.loss_surface([0, 1], [0, 1], [[1, 2], [3, 0]], [0.5], [0.5], exact=False)
    assert "plane through w^k" in surf["layout"]["title"]["text"] and "projection" in surf["layout"]["title"]["text"]
    conv = figures.convergence([0, 1], [0, 4], [2, 1], [1, 0.5], x="cost", log=False)
    assert conv["data"][0]["x"] == [0, 4] and conv["layout"]["yaxis"]["type"] == "linear"
    json.dumps(surf, allow_nan=False)


# --- the CLI ----------------------------------------------------------------------------------------------


def run_cli(*args, timeout=120):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "mlplab.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_cli_port_in_use_and_bad_values_exit_2_with_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = run_cli("playground", "--no-browser", "--port", str(port))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and f"port {port}" in r.stderr and "--port" in r.stderr
    for args, words in [(["--port", "70000"], "0..65535"), (["--port", "x"], "whole number"),
                        (["--host", "no-such-host.invalid"], "--host")]:
        r = run_cli("playground", "--no-browser", *args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and words in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


def test_cli_without_the_extra_names_the_install_command(monkeypatch, capsys):
    import mlplab.playground
    from mlplab.cli import main

    monkeypatch.setattr(mlplab.playground, "missing", lambda: ["starlette", "uvicorn"])
    assert main(["playground", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "mlplab[playground]"' in err


def test_cli_opens_the_browser_unless_told_not_to(monkeypatch, capsys):
    import webbrowser

    from mlplab.cli import main
    from mlplab.playground import server as pgserver

    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url))

    def fake_serve(sock, ready=None, **kw):
        sock.close()
        ready()

    monkeypatch.setattr(pgserver, "serve", fake_serve)
    assert main(["playground", "--port", "0"]) == 0
    assert len(opened) == 1 and opened[0].startswith("http://127.0.0.1:")
    assert opened[0] in capsys.readouterr().out
    assert main(["playground", "--port", "0", "--no-browser"]) == 0
    assert len(opened) == 1
    out = capsys.readouterr()
    assert "http://127.0.0.1:" in out.out and out.err == ""
    assert main(["playground", "--port", "0", "--no-browser", "--host", "0.0.0.0"]) == 0
    err = capsys.readouterr()
    assert "token" in err.err and "?token=" in err.out  # beyond loopback: the URL carries the token


# --- the server on a real socket --------------------------------------------------------------------------


def test_server_serves_the_page_offline_and_plotly_from_the_package(server):
    import urllib.request

    page = urllib.request.urlopen(server.url, timeout=30).read().decode()
    for testid in ("dataset", "optimizer", "step", "run", "pause", "reset", "iteration", "loss"):
        assert f'data-testid="{testid}"' in page
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert all(s.startswith(("/", "data:")) for s in srcs), srcs  # nothing from elsewhere
    import plotly

    shipped = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    assert urllib.request.urlopen(server.url + "static/plotly.min.js", timeout=30).read() == shipped
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(server.url + "static/..%2Fserver.py", timeout=30)


def test_websocket_protocol_errors_steps_and_downloads(server, tmp_path):
    import urllib.request

    with ws_connect(server) as (ws, sid):
        ws.send(json.dumps({"type": "config", "form": {"hidden": "0", "model": "mlp"}, "seq": 1}))
        assert recv_until(ws, "errors")["errors"] == {"hidden": "each width must be 1..64, got 0"}
        ws.send(json.dumps({"type": "step", "n": 3}))
        fr = recv_until(ws, "frame")
        assert fr["k"] == 3 and fr["config"]["model"] == "toy"  # the bad form changed nothing
        for junk in ("not json", json.dumps([1, 2]), json.dumps({"type": "warp"}), json.dumps({"type": "step", "n": -1}),
                     json.dumps({"type": "scrub", "k": "x"}), json.dumps({"type": "run", "speed": 1e9}),
                     json.dumps({"type": "upload", "csv": "1,2,3,4\n"})):
            ws.send(junk)
            assert recv_until(ws, "errors")["errors"]
        ws.send(json.dumps({"type": "upload", "csv": "a,b,c\n0,0,0\n1,1,1\n0,1,1\n1,0,0\n", "form": {}, "seq": 2}))
        ok = recv_until(ws, "errors")
        assert ok["errors"] == {} and ok["seq"] == 2
        fr = recv_until(ws, "frame")
        assert fr["config"]["dataset"] == "upload" and fr["S"] == 4 and fr["k"] == 0
        ws.send(json.dumps({"type": "step", "n": 2}))
        fr = recv_until(ws, "frame")
        # separable, no bias: the first exact step goes to α_max and saturates the outputs; from there φ is
        # flat to rounding and the run stops saying so (issue #24, defect 7) instead of stepping on
        assert fr["k"] == 2 or (fr["k"] == 1 and "no decrease" in fr["stopped"]), fr["stopped"]
        data = urllib.request.urlopen(f"{server.url}download/model/{sid}", timeout=60).read()
        (tmp_path / "m.safetensors").write_bytes(data)
        assert mlplab.load(tmp_path / "m.safetensors").layer_sizes == (2, 1)
        csv_text = urllib.request.urlopen(f"{server.url}download/history/{sid}", timeout=60).read().decode()
        assert csv_text.splitlines()[0].startswith("k,cost,loss") and len(csv_text.splitlines()) == 2 + fr["k"]
    time.sleep(0.5)
    with pytest.raises(urllib.error.HTTPError) as info:  # a closed tab's session is gone
        urllib.request.urlopen(f"{server.url}download/model/{sid}", timeout=30)
    assert info.value.code == 404
    assert server.alive()


def test_run_streams_frames_and_a_dropped_connection_stops_the_training(server):
    with ws_connect(server) as (ws, sid):
        _run_pause_and_drop(ws)
    from websockets.sync.client import connect

    time.sleep(1.0)
    with connect(server.ws_url, max_size=None, open_timeout=60) as ws2:  # the server still serves
        assert json.loads(ws2.recv(timeout=60))["type"] == "hello"
    assert server.alive()


def _run_pause_and_drop(ws):
    ws.send(json.dumps({"type": "config", "form": {"dataset": "moons", "model": "mlp", "hidden": "4",
                                                   "loss": "binary_cross_entropy", "optimizer": "sgd"}, "seq": 1}))
    recv_until(ws, "frame")
    ws.send(json.dumps({"type": "run", "speed": 100}))
    ks = [recv_until(ws, "frame")["k"] for _ in range(3)]
    assert ks == sorted(ks) and ks[-1] > 0
    ws.send(json.dumps({"type": "pause"}))
    paused = recv_until(ws, "frame")
    while paused.get("running"):
        paused = recv_until(ws, "frame")
    time.sleep(1.0)
    ws.send(json.dumps({"type": "step", "n": 1}))
    after = recv_until(ws, "frame")
    while after["k"] == paused["k"]:  # a redraw of the paused state (the loss surface refreshed)
        after = recv_until(ws, "frame")
    assert after["k"] == paused["k"] + 1  # paused: nothing moved in between
    ws.send(json.dumps({"type": "run", "speed": 1000}))
    recv_until(ws, "frame")  # leaving the with-block closes the tab while it trains


def test_a_closed_tab_ends_its_session_and_its_training():
    """In process (Starlette's TestClient): after the socket closes, the session is gone and its run task ended."""
    import importlib.util

    if not (importlib.util.find_spec("httpx2") or importlib.util.find_spec("httpx")):
        pytest.skip("starlette's TestClient needs httpx2 (or httpx for starlette < 1): pip install httpx2")
    from starlette.testclient import TestClient

    from mlplab.playground.server import create_app

    app = create_app()
    with TestClient(app, base_url="http://127.0.0.1") as http:
        with http.websocket_connect("ws://127.0.0.1/ws") as ws:
            assert ws.receive_json()["type"] == "hello"
            assert ws.receive_json()["type"] == "frame"
            ws.send_json({"type": "config", "seq": 1, "form": {"optimizer": "sgd"}})
            while ws.receive_json()["type"] != "frame":
                pass
            ws.send_json({"type": "run", "speed": 1000})
            k = [ws.receive_json() for _ in range(2)][-1]
            (client,) = app.state.clients.values()
            task = client.running
            assert task is not None and not task.done()
            ws.send_json({"type": "ack"})
            while True:
                msg = ws.receive_json()
                if msg["type"] == "frame" and msg["k"] > 0:
                    break
            k_running = client.session.k
        deadline = time.monotonic() + 30
        while app.state.clients and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.state.clients == {}
        assert task.done()
        with client.session.lock:  # a batch already in a worker thread (≤ 0.1 s) finishes first
            k_closed = client.session.k
        time.sleep(1.0)
        assert client.session.k == k_closed >= k_running  # nothing trains any more
        assert http.get("/").status_code == 200


def test_an_engine_error_is_reported_to_its_tab_and_the_session_goes_on(monkeypatch):
    import importlib.util

    if not (importlib.util.find_spec("httpx2") or importlib.util.find_spec("httpx")):
        pytest.skip("starlette's TestClient needs httpx2 (or httpx for starlette < 1): pip install httpx2")
    from starlette.testclient import TestClient

    from mlplab.playground import session as pgsession
    from mlplab.playground.server import create_app

    original, calls = pgsession.Session.step, []

    def flaky(self, n=1, budget_s=None):
        calls.append(n)
        if len(calls) == 1:
            raise RuntimeError("boom in the engine")
        return original(self, n, budget_s)

    monkeypatch.setattr(pgsession.Session, "step", flaky)
    app = create_app()
    with TestClient(app, base_url="http://127.0.0.1") as http, \
            http.websocket_connect("ws://127.0.0.1/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        assert ws.receive_json()["type"] == "frame"
        ws.send_json({"type": "step", "n": 1})
        notice = ws.receive_json()
        assert notice["type"] == "notice" and "boom in the engine" in notice["text"]
        ws.send_json({"type": "step", "n": 2})
        msg = ws.receive_json()
        while msg["type"] != "frame":
            msg = ws.receive_json()
        assert msg["k"] == 2


def test_labels_use_html_sub_and_superscripts_not_tex():
    assert figures.html_math("‖∇_{W^ℓ}E‖") == "‖∇<sub>W<sup>ℓ</sup></sub>E‖"
    assert figures.html_math("a^1_3") == "a<sup>1</sup><sub>3</sub>"
    assert figures.html_math("a^ℓ_i(x)") == "a<sup>ℓ</sup><sub>i</sub>(x)"
    assert figures.html_math("step size γ_k, α^k, α_max") == "step size γ<sub>k</sub>, α<sup>k</sup>, α<sub>max</sub>"
    assert figures.html_math("‖V^{ℓ+1}⋯V^L δ^L‖") == "‖V<sup>ℓ+1</sup>⋯V<sup>L</sup> δ<sup>L</sup>‖"
    assert figures.html_math("loss binary_cross_entropy") == "loss binary_cross_entropy"
    fig = figures.htmlize(figures.line_search([0, 1, 2], [3.0, 1.0, 2.0], 1.0, 1.0, k=3))
    assert "α<sup>3</sup>" in fig["layout"]["title"]["text"] and fig["data"][0]["x"] == [0, 1, 2]
    s = Session(parse({}))
    text = json.dumps(s.frame()["figures"], ensure_ascii=False)
    assert "^{" not in text and "_{" not in text
