"""The playground's guards: who may open its page and socket (Host and Origin allow-lists, the URL
token beyond loopback), work that stops when asked (pause, a closed tab, Ctrl-C) and messages that
are refused in one line (too deep, too large, not JSON).

A long step request is 10,000 iterations of GD with exact line search on 1000 moons through an
8-8 network: well over a minute of engine time, so "before the work would finish" is a condition
that no machine load can fake.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground extra is not installed: pip install \"mlplab[playground]\"")
pytest.importorskip("uvicorn", reason="the playground extra is not installed: pip install \"mlplab[playground]\"")
pytest.importorskip("websockets", reason="the playground extra is not installed: pip install \"mlplab[playground]\"")

from mlplab.playground.config import parse  # noqa: E402
from mlplab.playground.guard import MAX_DEPTH, Guard, load_message, split_host  # noqa: E402
from mlplab.playground.session import Session  # noqa: E402
from playground_helpers import Server, recv_until, server, ws_connect  # noqa: E402,F401 - server: shared fixture

pytestmark = pytest.mark.slow  # servers in subprocesses: left out of the quick subset (pytest -m "not slow")

SLOW = {"dataset": "moons", "n_samples": "1000", "model": "mlp", "hidden": "8,8", "loss": "binary_cross_entropy",
        "optimizer": "gd-exact"}


def _test_client(app):
    import importlib.util

    if not (importlib.util.find_spec("httpx2") or importlib.util.find_spec("httpx")):
        pytest.skip("starlette's TestClient needs httpx2 (or httpx for starlette < 1): pip install httpx2")
    from starlette.testclient import TestClient

    return TestClient(app, base_url="http://127.0.0.1:8643")


def raw_status(port: int, path: str, headers: dict) -> int:
    """The HTTP status of a GET sent byte for byte (any Host header, a WebSocket upgrade, ...)."""
    headers = {"Connection": "close", **headers}
    lines = [f"GET {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()] + ["", ""]
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall("\r\n".join(lines).encode())
        reply = sock.recv(4096).decode("latin-1")
    return int(reply.split()[1])


UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
           "Sec-WebSocket-Version": "13"}


# --- Host and Origin ------------------------------------------------------------------------------------


def test_a_foreign_host_gets_403_on_page_static_downloads_and_socket(server):
    port = server.port
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", f"localhost.:{port}",
                 f"127.0.0.1.nip.io:{port}", "", f"[::1]x:{port}"):
        for path in ("/", "/static/app.js", "/static/plotly.min.js", "/download/model/abc"):
            assert raw_status(port, path, {"Host": host}) == 403, (host, path)
        assert raw_status(port, "/ws", {"Host": host, **UPGRADE}) == 403, host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}", f"[::1]:{port}"):
        assert raw_status(port, "/", {"Host": host}) == 200, host
        assert raw_status(port, "/ws", {"Host": host, **UPGRADE}) == 101, host
    assert server.alive()


def test_a_foreign_origin_gets_no_socket(server):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    port = server.port
    for origin in (f"http://127.0.0.1:{port + 1}", f"http://localhost:{port + 1}", "http://evil.example",
                   f"http://evil.example:{port}", "null", f"ftp://127.0.0.1:{port}", "http://127.0.0.1"):
        with pytest.raises(InvalidStatus) as info:
            connect(server.ws_url, origin=origin, open_timeout=60).close()
        assert info.value.response.status_code == 403, origin
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}", None):
        with connect(server.ws_url, origin=origin, max_size=None, open_timeout=60) as ws:  # the page's own
            assert json.loads(ws.recv(timeout=60))["type"] == "hello"
    # a foreign page's plain requests (a download it triggers) are refused too
    assert raw_status(port, "/", {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example"}) == 403


def test_a_foreign_page_cannot_take_every_session(server):
    """64 refused sockets from another origin leave the user's own tab a session."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    for _ in range(70):
        with pytest.raises(InvalidStatus):
            connect(server.ws_url, origin="http://127.0.0.1:1", open_timeout=60).close()
    with ws_connect(server) as (ws, sid):
        assert sid


@pytest.mark.parametrize("header,default,expected", [
    ("127.0.0.1:8643", 80, ("127.0.0.1", 8643)), ("[::1]:8643", 80, ("::1", 8643)),
    ("LOCALHOST", 80, ("localhost", 80)),
    ("[::1]", 443, ("::1", 443)), ("a:b:c", 80, None), ("[::1", 80, None), ("host:99999999", 80, None),
    (":8643", 80, None), ("host:", 80, ("host", 80)),
])
def test_host_headers_are_split_strictly(header, default, expected):
    assert split_host(header, default) == expected


def test_guard_allows_the_served_names_and_the_address_a_connection_arrived_at():
    def scope(host, origin=None, local="127.0.0.1", query=b""):
        headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
        return {"type": "http", "scheme": "http", "headers": headers, "server": (local, 8643), "query_string": query}

    g = Guard(8643, hosts=["0.0.0.0", "box.lan"])
    assert g.refuse(scope("box.lan:8643", "http://box.lan:8643")) is None
    assert g.refuse(scope("192.168.1.5:8643", "http://192.168.1.5:8643", local="192.168.1.5")) is None
    assert g.refuse(scope("192.168.1.6:8643", local="192.168.1.5")) is not None  # not where it arrived
    assert g.refuse(scope("127.0.0.1:8643", "http://192.168.1.6:8643", local="127.0.0.1")) is not None
    assert "Host 'evil.example:8643'" in g.refuse(scope("evil.example:8643"))
    assert "Origin" in g.refuse(scope("127.0.0.1:8643", "http://127.0.0.1:9000"))
    assert g.refuse(scope("127.0.0.1:8643", "http://[::1]:8643")) is None
    assert Guard(None).refuse(scope("127.0.0.1:1234")) is None  # port None: any port (in-process tests)
    t = Guard(8643, token="s3cret")
    assert "token" in t.refuse(scope("127.0.0.1:8643"))
    assert "token" in t.refuse(scope("127.0.0.1:8643", query=b"token=s3cre"))
    assert "token" in t.refuse(scope("127.0.0.1:8643", query="token=é".encode()))
    assert t.refuse(scope("127.0.0.1:8643", query=b"token=s3cret")) is None


def test_beyond_loopback_every_request_needs_the_token_and_the_page_passes_it_on():
    from mlplab.playground.server import create_app

    token = "tok-EN_123"
    app = create_app(port=8643, hosts=["box.example"], token=token)
    with _test_client(app) as http:
        for path in ("/", "/static/app.js", "/static/plotly.min.js", "/download/model/x"):
            assert http.get(path).status_code == 403, path
            assert http.get(path + "?token=wrong").status_code == 403, path
        page = http.get(f"/?token={token}")
        assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
        for ref in ("/static/app.js", "/static/style.css", "/static/plotly.min.js"):
            assert f'"{ref}?token={token}"' in page.text
            assert http.get(f"{ref}?token={token}").status_code == 200
        assert http.get(f"http://box.example:8643/?token={token}").status_code == 200  # the --host name
        assert http.get(f"http://other.example:8643/?token={token}").status_code == 403
        from starlette.websockets import WebSocketDisconnect

        for url in ("ws://127.0.0.1:8643/ws", "ws://127.0.0.1:8643/ws?token=nope"):
            with pytest.raises(WebSocketDisconnect) as info:
                with http.websocket_connect(url):
                    pass
            assert info.value.code == 1008
        with http.websocket_connect(f"ws://127.0.0.1:8643/ws?token={token}",
                                    headers={"origin": "http://127.0.0.1:8643"}) as ws:
            sid = ws.receive_json()["sid"]
            assert http.get(f"/download/history/{sid}").status_code == 403
            assert http.get(f"/download/history/{sid}?token={token}").text.startswith("k,cost")
    js = (Path(__file__).resolve().parents[1] / "src/mlplab/playground/static/app.js").read_text()
    assert "/ws${AUTH}" in js and "${msg.sid}${AUTH}" in js  # the page passes its token on


# --- work that stops --------------------------------------------------------------------------------------


def _configure(ws, form=SLOW):
    ws.send(json.dumps({"type": "config", "form": form, "seq": 1}))
    assert recv_until(ws, "errors")["errors"] == {}
    recv_until(ws, "frame")


def test_pause_is_answered_during_a_long_step_request(server):
    with ws_connect(server) as (ws, _):
        _configure(ws)
        ws.send(json.dumps({"type": "step", "n": 10000}))
        time.sleep(0.5)  # the request is under way
        t0 = time.monotonic()
        ws.send(json.dumps({"type": "pause"}))
        fr = recv_until(ws, "frame", timeout=120)
        latency = time.monotonic() - t0
        print(f"pause answered after {latency:.3f} s at k = {fr['k']}")
        assert fr["k"] < 10000 and not fr["running"]  # answered long before the work would finish
        assert latency < 10  # ~0.4 s idle: a slice and a frame
        time.sleep(0.5)
        ws.send(json.dumps({"type": "step", "n": 1}))  # paused: nothing moved meanwhile
        after = recv_until(ws, "frame")
        while after["k"] == fr["k"]:
            after = recv_until(ws, "frame")
        assert after["k"] == fr["k"] + 1
        # a reset during a long request takes effect the same way
        ws.send(json.dumps({"type": "step", "n": 10000}))
        time.sleep(0.3)
        ws.send(json.dumps({"type": "reset"}))
        while recv_until(ws, "frame", timeout=120)["k"] != 0:  # a surface redraw of k + 1 may come first
            pass


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the server's CPU time from /proc")
def test_closing_the_tab_stops_its_work_and_the_cpu_falls_idle(server):
    from websockets.sync.client import connect

    with ws_connect(server) as (ws, _):
        _configure(ws)
        ws.send(json.dumps({"type": "step", "n": 10000}))
        time.sleep(1.0)
    time.sleep(1.0)  # one slice (≤ 0.05 s and an iteration) ends the work
    used = _cpu_seconds(server.proc.pid)
    time.sleep(2.0)
    idle = _cpu_seconds(server.proc.pid) - used
    print(f"CPU seconds of the server in the 2 s after the close: {idle:.2f}")
    assert idle < 0.5  # a running request would use ~2 s (one core) of them
    with connect(server.ws_url, max_size=None, open_timeout=60) as ws2:  # and the server serves on
        assert json.loads(ws2.recv(timeout=60))["type"] == "hello"


def test_a_closed_tab_stops_a_long_step_request_in_process():
    from mlplab.playground.server import create_app

    app = create_app()
    with _test_client(app) as http:
        with http.websocket_connect("ws://127.0.0.1:8643/ws") as ws:
            assert ws.receive_json()["type"] == "hello"
            ws.receive_json()
            ws.send_json({"type": "config", "seq": 1, "form": SLOW})
            while ws.receive_json()["type"] != "frame":
                pass
            (client,) = app.state.clients.values()
            ws.send_json({"type": "step", "n": 10000})
            deadline = time.monotonic() + 60
            while client.session.k < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert client.work is not None and not client.work.done()
            t0 = time.monotonic()
        while app.state.clients and time.monotonic() < deadline:
            time.sleep(0.01)
        with client.session.lock:  # the slice in the worker thread has ended
            k_closed = client.session.k
        stopped = time.monotonic() - t0
        print(f"close to stop: {stopped:.3f} s at k = {k_closed}")
        time.sleep(1.0)
        assert client.session.k == k_closed < 10000 and client.cancel.is_set()


def test_a_step_request_in_slices_is_the_same_run_as_one_step(monkeypatch):
    """One iteration per slice: the same iterates, history and RNG draws as Session.step(n)."""
    from mlplab.playground import server as pgserver

    monkeypatch.setattr(pgserver, "SLICE_SECONDS", 0.0)
    form = {"dataset": "moons", "model": "mlp", "hidden": "4", "loss": "binary_cross_entropy", "optimizer": "adam",
            "batch": "8", "compare": ["sgd"]}
    app = pgserver.create_app()
    with _test_client(app) as http, http.websocket_connect("ws://127.0.0.1:8643/ws") as ws:
        ws.receive_json()
        ws.receive_json()
        ws.send_json({"type": "config", "seq": 1, "form": form})
        while ws.receive_json()["type"] != "frame":
            pass
        ws.send_json({"type": "step", "n": 60})
        while (msg := ws.receive_json())["type"] != "frame" or msg["k"] != 60:
            pass
        (client,) = app.state.clients.values()
        sliced = client.session
        alone = Session(parse(form))
        assert alone.step(60) == 60
        assert np.array_equal(sliced.w, alone.w) and sliced.records.rows == alone.records.rows
        assert np.array_equal(sliced.others[0].w, alone.others[0].w)


ENTRIES = {"mlplab": [sys.executable, "-c", "import sys, _mlplab_main; sys.exit(_mlplab_main.main())"],
           "python -m mlplab.cli": [sys.executable, "-m", "mlplab.cli"]}


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_ctrl_c_ends_the_server_during_a_long_step_request(entry):
    from websockets.sync.client import connect

    srv = Server(entry=ENTRIES[entry])
    try:
        with connect(srv.ws_url, max_size=None, open_timeout=60) as ws:
            assert json.loads(ws.recv(timeout=60))["type"] == "hello"
            recv_until(ws, "frame")
            _configure(ws)
            ws.send(json.dumps({"type": "step", "n": 10000}))
            time.sleep(1.0)
            t0 = time.monotonic()
            srv.proc.send_signal(signal.SIGINT)
            rc = srv.proc.wait(timeout=60)
            took = time.monotonic() - t0
    finally:
        srv.stop()
    print(f"SIGINT to exit: {took:.3f} s")
    assert rc == 130 and took < 10  # ~0.3 s idle; the request alone would take minutes
    time.sleep(0.2)
    err = "".join(srv.stderr)
    assert "Traceback" not in err and "mlplab: interrupted" in err, err


# --- messages ---------------------------------------------------------------------------------------------


def test_deep_large_and_junk_messages_get_one_line_and_the_session_goes_on(server):
    with ws_connect(server) as (ws, _):
        for junk in ("[" * 100_000 + "]" * 100_000, '{"a":' * 50 + "1" + "}" * 50, "[" * 10_000,
                     "[" + "[]," * 5000 + "[]]", "x" * 3_500_000, "not json", b"\xff\xfe{"):
            ws.send(junk)
            (text,) = recv_until(ws, "errors")["errors"].values()
            assert "\n" not in text and "Recursion" not in text and len(text) < 200, text
        ws.send(json.dumps({"type": "config", "form": {"dataset": "[[[[" * 40}, "seq": 1}))  # brackets in strings
        assert "dataset" in recv_until(ws, "errors")["errors"]
        ws.send(json.dumps({"type": "step", "n": 2}).encode())  # UTF-8 JSON in a binary message is taken
        assert recv_until(ws, "frame")["k"] == 2
    assert server.alive()
    log = "".join(server.stderr)
    assert "Traceback" not in log and "nested more than" in log


def test_nesting_is_measured_without_recursion():
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_message(ok, 1000) is not None
    for text in (deep, "[" * 10**6, '["\\"' + "[" * 100 + '"' + "[" * 40):
        with pytest.raises(ValueError, match="nested|lists and objects"):
            load_message(text, 10**7)
    assert load_message('["' + "[" * 100 + '"]', 1000) == ["[" * 100]
    with pytest.raises(ValueError, match="larger than 3 MB"):
        load_message("1" * 3_000_001, 3_000_000)
    # a whole run of checks stays far below a second for the largest message the page sends
    big = json.dumps({"type": "upload", "csv": "1,2,0\n" * 500_000, "form": {"hidden": "8,8"}})
    t0 = time.perf_counter()
    assert load_message(big, 10**7)["type"] == "upload"
    assert time.perf_counter() - t0 < 2.0

