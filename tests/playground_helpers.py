"""What the playground tests share: the server in a subprocess (``Server`` and the module-scoped
``server`` fixture, import it into the module) and a tab's WebSocket (``ws_connect``, ``recv_until``).

Importing this module skips the importing test module when the playground extra is missing."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the playground extra is not installed: pip install \"mlplab[playground]\"")
pytest.importorskip("uvicorn", reason="the playground extra is not installed: pip install \"mlplab[playground]\"")
pytest.importorskip("websockets", reason="the playground extra is not installed: pip install \"mlplab[playground]\"")

ROOT = Path(__file__).resolve().parents[1]


class Server:
    """``mlplab playground --no-browser --port 0`` in a subprocess (``entry``: the command before
    ``playground``, ``python -m mlplab.cli`` by default); ``url`` once it listens."""

    def __init__(self, *extra: str, timeout: float = 120.0, entry: list[str] | None = None):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
        entry = entry or [sys.executable, "-m", "mlplab.cli"]
        self.proc = subprocess.Popen([*entry, "playground", "--no-browser", "--port", "0", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        line, deadline = "", time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line or self.proc.poll() is not None:
                break
        m = re.search(r"(http://\S+/)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"the playground did not start: {line!r} {''.join(self.stderr)}")
        self.url = m.group(1)
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"

    def _drain(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def server():
    """One playground server per test module (import this fixture into the module)."""
    srv = Server()
    yield srv
    srv.stop()
    assert "Traceback" not in "".join(srv.stderr), "".join(srv.stderr)


@contextlib.contextmanager
def ws_connect(server):
    """A tab's WebSocket: (ws, session id) after the hello and the first frame."""
    from websockets.sync.client import connect

    with connect(server.ws_url, max_size=None, open_timeout=60) as ws:
        hello = json.loads(ws.recv(timeout=60))
        assert hello["type"] == "hello"
        first = json.loads(ws.recv(timeout=60))
        assert first["type"] == "frame" and first["k"] == 0
        yield ws, hello["sid"]


def recv_until(ws, kind, timeout=60):
    """The next message of type ``kind`` (those of other types are read and dropped)."""
    deadline = time.monotonic() + timeout
    while True:
        msg = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if msg["type"] == kind:
            return msg
