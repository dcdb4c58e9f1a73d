"""The playground's web app: Starlette routes, one WebSocket per browser tab, uvicorn to serve it.

Routes:

* ``GET /`` — the page; ``GET /static/...`` — its script and style, and the
  Plotly.js that the installed plotly package ships (nothing from a CDN);
* ``WS /ws`` — the tab's session. The page sends JSON messages
  (``config``, ``upload``, ``step``, ``run``, ``pause``, ``reset``, ``scrub``,
  ``view``); the server answers with ``frame`` messages (everything drawn,
  figures included), ``errors`` (field → message; nothing changed) and ``notice``;
* ``GET /download/model/{sid}`` and ``GET /download/history/{sid}`` — the
  session's network as an ``mlplab.save`` file and its history as CSV.

Every request passes :mod:`mlplab.playground.guard` first (Host and Origin
allow-lists, the URL token when listening beyond loopback, bounded messages).

The engine runs in worker threads (``asyncio.to_thread``), a session at a time
under its lock, so the event loop keeps serving every tab while one trains.
Work runs in slices of at most :data:`SLICE_SECONDS` (a step request) or
:data:`BATCH_SECONDS` (running) of engine time, as a task beside the tab's
message loop: between slices the tab's cancel flag is checked, so pause, reset,
a new configuration, a closed tab and Ctrl-C take effect after the current
slice, and slicing changes no result (iterations and history are those of one
``step(n)``). Running sends at most :data:`FRAME_RATE` frames a second.
A closed tab ends its session and its training; any error from a message is
reported to that tab and never stops the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import secrets
import threading
import time
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from mlplab.playground.config import Config, FormError, parse, parse_csv
from mlplab.playground.guard import Guard, GuardMiddleware, MessageError, load_message
from mlplab.playground.session import Session

log = logging.getLogger("mlplab.playground")

FRAME_RATE = 8.0  # frames per second while running, at most
BATCH_SECONDS = 0.1  # engine time between two frames, at most
SLICE_SECONDS = 0.05  # engine time of one slice of a step request, at most (plus one iteration)
SHUTDOWN_SECONDS = 1  # how long Ctrl-C waits for open sockets to close before cancelling them
SURFACE_EVERY = 1.0  # seconds between loss-surface recomputations while running
ACK_WAIT = 1.0  # seconds a run waits for the page to draw a frame before sending the next anyway
SPEEDS = (1, 2, 5, 10, 30, 100, 300, 1000, 3000, 10000)  # iterations per second the page offers
MAX_SESSIONS = 64  # tabs served at once; each holds at most ~10 MB (thinned history, w snapshots, data)
MAX_MESSAGE = 3_000_000  # characters of one message; larger ones get a one-line answer
MAX_FRAME = 2 * MAX_MESSAGE  # bytes of one WebSocket message; larger ones close the socket (1009)

def _closed_errors() -> tuple:
    """What sending to or reading from a socket the tab has closed may raise (all ASGI servers' forms)."""
    errors = [WebSocketDisconnect, OSError]
    try:
        from websockets.exceptions import ConnectionClosed

        errors.append(ConnectionClosed)
    except ImportError:  # pragma: no cover - websockets is a dependency of the extra
        pass
    return tuple(errors)


CLOSED = _closed_errors()


def _gone(ws: WebSocket, exc: BaseException) -> bool:
    """Whether exc means the tab's socket is closed (not an engine error): one of CLOSED, or
    Starlette's RuntimeError for a send after the close."""
    from starlette.websockets import WebSocketState

    if isinstance(exc, CLOSED):
        return True
    return WebSocketState.DISCONNECTED in (ws.client_state, ws.application_state) or (
        isinstance(exc, RuntimeError) and "close message" in str(exc))

STATIC = Path(str(resources.files("mlplab.playground") / "static"))


def plotly_js() -> Path:
    """plotly.min.js of the installed plotly package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():  # pragma: no cover - a broken plotly install
        raise FileNotFoundError(f"{path} is missing; reinstall plotly: pip install --force-reinstall plotly")
    return path


def _json(obj) -> str:
    return json.dumps(obj, allow_nan=False, default=_default, separators=(",", ":"))


def _default(o):
    import numpy as np

    if isinstance(o, np.generic):
        v = o.item()
        return v if not (isinstance(v, float) and not math.isfinite(v)) else None
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _finite(obj):
    """Replace non-finite floats anywhere in obj by None (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


class Client:
    """One tab: its session, its running task and what it is looking at."""

    def __init__(self, ws: WebSocket, sid: str):
        self.ws, self.sid = ws, sid
        self.session = Session()
        self.running: asyncio.Task | None = None  # the run loop
        self.work: asyncio.Task | None = None  # a step request in progress
        self.cancel = threading.Event()  # set: the engine work of this tab stops after its current slice
        self.speed = 30.0
        self.view_k: int | None = None
        self.send_lock = asyncio.Lock()
        self.last_surface = 0.0
        self.surface_fig = None
        self.seq = 0  # the page's number of its latest accepted configuration
        self.acked = asyncio.Event()  # the page drew the last frame sent (it answers each with "ack")
        self.acked.set()
        self.last_sent = 0.0
        self.frame_task: asyncio.Task | None = None
        self.closed = False
        self.want_frame = self.want_surface = self.want_quick = self.surface_stale = False

    async def send(self, obj) -> None:
        await self.send_text(_json(_finite(obj)))

    async def send_text(self, text: str) -> None:
        async with self.send_lock:
            await self.ws.send_text(text)

    async def frame(self, *, surface: bool = True) -> None:
        fr = await asyncio.to_thread(self.session.frame, self.view_k, surface=surface)
        if surface:
            self.surface_fig, self.last_surface = fr["figures"].get("surface"), time.monotonic()
            self.surface_stale = False
        elif self.surface_fig is not None:
            fr["figures"]["surface"] = self.surface_fig
            self.surface_stale = True
        fr["running"] = self.running is not None and not self.running.done()
        fr["speed"] = self.speed
        fr["seq"] = self.seq
        text = await asyncio.to_thread(lambda: _json(_finite(fr)))  # ~100 kB: off the event loop too
        self.acked.clear()
        self.last_sent = time.monotonic()
        await self.send_text(text)

    def busy(self) -> bool:
        """Whether engine work (a run or a step request) is in progress."""
        return any(t is not None and not t.done() for t in (self.running, self.work))

    async def engine(self, cancel: threading.Event, n: int, budget_s: float) -> int:
        """One slice: up to n iterations within budget_s seconds in a worker thread; 0 once cancelled."""
        return await asyncio.to_thread(_slice, self.session, cancel, n, budget_s)

    def start(self, work) -> asyncio.Task:
        """Stop what runs, then run ``work(cancel)`` as a task with a fresh cancel flag."""
        self.stop()
        self.cancel = threading.Event()
        return asyncio.create_task(work(self.cancel))

    async def step_work(self, n: int, cancel: threading.Event) -> None:
        """n iterations in slices (the same iterations and history as one ``step(n)``), then a frame."""
        try:
            left = n
            while left > 0 and not cancel.is_set():
                taken = await self.engine(cancel, left, SLICE_SECONDS)
                if not taken:  # training stopped (divergence), or cancelled
                    break
                left -= taken
            self.request_frame()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the engine failed: tell the tab, keep the session
            if _gone(self.ws, exc):
                return
            log.exception("step failed")
            try:
                await self.send({"type": "notice", "level": "error", "text": f"{type(exc).__name__}: {exc}"})
            except Exception:
                pass

    def request_frame(self, surface: bool = False, quick: bool = False) -> None:
        """Send a frame soon; requests made while one is being built are merged (the latest state wins).
        The loss surface (the costly panel) is recomputed when asked, or at most every SURFACE_EVERY
        seconds, and once more SURFACE_EVERY seconds after a frame that reused an old one; ``quick``
        frames (the answer to a pause) reuse it unless asked."""
        self.want_frame = True
        self.want_surface = self.want_surface or surface
        self.want_quick = self.want_quick or quick
        if self.frame_task is None or self.frame_task.done():
            self.frame_task = asyncio.create_task(self._frames())

    async def _frames(self) -> None:
        try:
            while self.want_frame:
                work = self.work
                if work is not None and not work.done():  # a step request draws once it is done (or stopped)
                    await asyncio.wait([work])
                    continue
                self.want_frame = False
                surface = self.want_surface or (
                    not self.want_quick and time.monotonic() - self.last_surface >= SURFACE_EVERY)
                self.want_surface = self.want_quick = False
                await self.frame(surface=surface)
                if not surface:
                    asyncio.get_running_loop().call_later(SURFACE_EVERY, self._refresh_surface)
        except Exception as exc:  # an engine error while drawing: tell the tab, keep serving
            if _gone(self.ws, exc):
                return
            log.exception("frame failed")
            try:
                await self.send({"type": "notice", "level": "error", "text": f"drawing failed: {exc}"})
            except Exception:
                pass

    def _refresh_surface(self) -> None:
        if self.surface_stale and not self.busy() and not self.closed:
            self.request_frame(surface=True)

    def page_ready(self) -> bool:
        """Whether the page has drawn the last frame (or never answers: then one frame a second at most)."""
        return self.acked.is_set() or time.monotonic() - self.last_sent > ACK_WAIT

    def close(self) -> None:
        self.closed = True
        self.stop()
        if self.frame_task is not None and not self.frame_task.done():
            self.frame_task.cancel()

    def stop(self) -> None:
        """Stop the run or step request: its task now, its worker thread after the current slice."""
        self.cancel.set()
        for task in (self.running, self.work):
            if task is not None and not task.done():
                task.cancel()
        self.running = self.work = None

    async def run_loop(self, cancel: threading.Event) -> None:
        """Iterate at ``speed`` iterations a second, a frame every 1/FRAME_RATE s at most, until paused."""
        period = 1.0 / FRAME_RATE
        owed = 0.0
        last = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                owed = min(owed + (now - last) * self.speed, self.speed * 0.5 + 1)
                last = now
                n = int(owed)
                if n:
                    taken = await self.engine(cancel, n, BATCH_SECONDS)
                    owed -= n if taken == n else owed  # behind: drop the debt instead of catching up
                stopped = self.session.stopped
                surface = stopped or time.monotonic() - self.last_surface >= SURFACE_EVERY
                if stopped:
                    self.running = None
                if stopped or self.page_ready():  # a page still drawing skips frames, training goes on
                    await self.frame(surface=bool(surface))
                if stopped:
                    return
                await asyncio.sleep(max(0.0, period - (time.monotonic() - now)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the engine failed: tell the tab, stop this run, keep serving
            if _gone(self.ws, exc):  # the tab went away mid-run
                return
            log.exception("run loop failed")
            self.running = None
            try:
                await self.send({"type": "notice", "level": "error", "text": f"training stopped: {exc}"})
            except Exception:
                pass


def _slice(session: Session, cancel: threading.Event, n: int, budget_s: float) -> int:
    return 0 if cancel.is_set() else session.step(n, budget_s)


async def index(request):
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    token = request.app.state.guard.token
    if token is not None:  # the page's script and style are fetched with the token of its URL
        html = re.sub(r'((?:src|href)="/static/[^"?]+)"', lambda m: f'{m.group(1)}?token={token}"', html)
    return HTMLResponse(html, headers={"Referrer-Policy": "no-referrer"})


async def static(request):
    name = request.path_params["name"]
    if name == "plotly.min.js":
        return FileResponse(plotly_js(), media_type="text/javascript")
    allowed = {"app.js": "text/javascript", "style.css": "text/css"}
    if name not in allowed:
        return PlainTextResponse("not found", status_code=404)
    return FileResponse(STATIC / name, media_type=allowed[name])


async def download(request):
    sid, what = request.path_params["sid"], request.path_params["what"]
    client = request.app.state.clients.get(sid)
    if client is None:
        return PlainTextResponse("no such session (the tab was closed or the server restarted); reload the page",
                                 status_code=404)
    if what == "model":
        data = await asyncio.to_thread(client.session.model_bytes)
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="playground-k{client.session.k}.safetensors"'})
    if what == "history":
        text = await asyncio.to_thread(client.session.history_csv)
        return Response(text, media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="playground-history.csv"'})
    return PlainTextResponse("not found", status_code=404)


async def websocket(ws: WebSocket):
    clients = ws.app.state.clients
    await ws.accept()
    if len(clients) >= MAX_SESSIONS:
        await ws.send_text(_json({"type": "notice", "level": "error",
                                  "text": f"the server holds {MAX_SESSIONS} sessions already; close a tab"}))
        await ws.close()
        return
    sid = secrets.token_urlsafe(12)
    client = Client(ws, sid)
    clients[sid] = client
    try:
        await client.send({"type": "hello", "sid": sid, "speeds": list(SPEEDS)})
        await client.frame()
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect" or client.closed:  # closed: the server stops
                break
            text = message.get("text")
            if text is None:  # a binary message: JSON in UTF-8 is taken too
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            try:
                await handle(client, text)
            except MessageError as exc:
                log.warning("refused a message of session %s: %s", sid, exc)
                await client.send({"type": "errors", "errors": {exc.field: str(exc)}})
            except FormError as exc:
                await client.send({"type": "errors", "errors": exc.errors})
            except Exception as exc:  # a bug or an engine error: report to this tab, keep the session
                if _gone(ws, exc):
                    raise WebSocketDisconnect() from None
                log.exception("message failed")
                await client.send({"type": "notice", "level": "error", "text": f"{type(exc).__name__}: {exc}"})
    except Exception as exc:  # noqa: BLE001 - the tab closed (or its socket broke): its session ends below
        if not _gone(ws, exc):
            log.exception("session ended by an error")
    finally:
        client.close()
        clients.pop(sid, None)


async def handle(client: Client, text: str) -> None:
    """Act on one message of the page. Engine work (step, run) runs as a task beside the message
    loop, so the next message (pause, reset, …) is read while it runs."""
    msg = load_message(text, MAX_MESSAGE)
    if not isinstance(msg, dict):
        raise FormError({"form": "expected a JSON object"})
    kind = msg.get("type")
    s = client.session
    if kind == "config":
        cfg = parse(msg.get("form", {}), s.cfg)
        client.stop()
        await asyncio.to_thread(s.configure, cfg)
        client.view_k = None
        client.seq = _seq(msg)
        await client.send({"type": "errors", "errors": {}, "seq": client.seq})
        client.request_frame(surface=True)
    elif kind == "upload":
        try:
            data = await asyncio.to_thread(parse_csv, msg.get("csv"))
        except ValueError as exc:
            raise FormError({"upload": str(exc)}) from None
        form = msg.get("form", {})
        cfg = _fit_upload(parse({**form, "dataset": "upload"}, s.cfg), data)
        client.stop()
        await asyncio.to_thread(s.configure, cfg, data)
        client.view_k = None
        client.seq = _seq(msg)
        await client.send({"type": "errors", "errors": {}, "seq": client.seq})
        client.request_frame(surface=True)
    elif kind == "step":
        n = msg.get("n", 1)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10000:
            raise FormError({"step": "step takes 1..10000 iterations"})
        client.view_k = None
        client.work = client.start(lambda cancel: client.step_work(n, cancel))
    elif kind == "run":
        speed = msg.get("speed", client.speed)
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0 < speed <= max(SPEEDS):
            raise FormError({"speed": f"speed must be 1..{max(SPEEDS)} iterations per second"})
        client.speed = float(speed)
        client.view_k = None
        if client.running is None or client.running.done():
            if s.stopped:
                await client.send({"type": "notice", "level": "warn", "text": s.stopped + " — reset to go on"})
                return
            client.running = client.start(client.run_loop)
    elif kind == "speed":
        speed = msg.get("speed")
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0 < speed <= max(SPEEDS):
            raise FormError({"speed": f"speed must be 1..{max(SPEEDS)} iterations per second"})
        client.speed = float(speed)
    elif kind == "ack":
        client.acked.set()
    elif kind == "pause":
        client.stop()
        client.request_frame(quick=True)  # answered at once; the loss surface follows SURFACE_EVERY later
    elif kind == "reset":
        client.stop()
        client.view_k = None
        await asyncio.to_thread(s.reset)
        client.request_frame(surface=True)
    elif kind == "scrub":
        k = msg.get("k")
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise FormError({"scrub": "scrub to a whole iteration k ≥ 0"})
        client.stop()
        client.view_k = None if k >= s.k else k
        client.request_frame()
    elif kind == "view":
        x, logy = msg.get("x", s.view["x"]), msg.get("log", s.view["log"])
        if x not in ("iteration", "cost") or not isinstance(logy, bool):
            raise FormError({"view": "x must be 'iteration' or 'cost', log true or false"})
        s.view = {"x": x, "log": logy}
        if not client.busy():
            client.request_frame()
    else:
        raise FormError({"form": f"unknown message type {kind!r}"})


def _seq(msg) -> int:
    seq = msg.get("seq", 0)
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


def _fit_upload(cfg: Config, data) -> Config:
    """The model and loss adapted to an uploaded file: what its task and classes allow."""
    import numpy as np

    X, y, task = data
    K = int(np.max(y)) + 1 if task == "classification" else 0
    if cfg.model == "toy" and not (task == "classification" and X.shape[1] == 2 and K == 2):
        cfg.model = "mlp"
    if task == "regression" and cfg.loss not in ("squared", "absolute"):
        cfg.loss = "squared"
    elif K == 2 and cfg.loss not in ("squared", "binary_cross_entropy", "absolute"):
        cfg.loss = "binary_cross_entropy"
    elif K > 2:
        cfg.loss = "cross_entropy"
    if cfg.model == "mlp" and len(cfg.activations) != len(cfg.hidden):
        cfg.activations = [cfg.activations[0] if cfg.activations else "tanh"] * len(cfg.hidden)
    return cfg


def create_app(*, port: int | None = None, hosts=(), token: str | None = None) -> Starlette:
    """The playground's ASGI app, served on ``port`` (None: any port, for in-process tests) under
    the loopback names and ``hosts``; with a ``token``, every request must carry ``?token=``."""
    from starlette.middleware import Middleware

    guard = Guard(port, hosts, token)
    app = Starlette(routes=[
        Route("/", index),
        Route("/static/{name}", static),
        Route("/download/{what}/{sid}", download),
        WebSocketRoute("/ws", websocket),
    ], middleware=[Middleware(GuardMiddleware, guard=guard)])
    app.state.clients = {}
    app.state.guard = guard
    return app


def bind(host: str, port: int):
    """A listening TCP socket on (host, port); OSError when the address is taken or unknown."""
    import socket

    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT socket may be reused, a listener not
        sock.bind(addr)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve(sock, *, ready=None, log_level: str = "warning", hosts=(), token: str | None = None) -> None:
    """Serve the app with uvicorn on the bound socket until interrupted; ``ready()`` once it serves.
    ``hosts`` and ``token``: see :func:`create_app`. Ctrl-C stops every session's work, closes the
    sockets and ends within about :data:`SHUTDOWN_SECONDS` plus one slice."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    # many sessions train in parallel worker threads: BLAS threads on top of them only fight for the cores
    threadpool_limits(1)
    app = create_app(port=sock.getsockname()[1], hosts=hosts, token=token)
    config = uvicorn.Config(app, log_level=log_level, ws_max_size=MAX_FRAME, lifespan="off",
                            timeout_graceful_shutdown=SHUTDOWN_SECONDS)

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None):
            for client in list(app.state.clients.values()):  # their worker threads end after this slice
                client.close()
            await super().shutdown(sockets=sockets)

    server = Server(config)
    if ready is not None:
        original = server.startup

        async def startup(sockets=None):
            await original(sockets=sockets)
            if server.started:
                ready()

        server.startup = startup
    server.run(sockets=[sock])
