"""The playground's web app: Starlette routes, one WebSocket per browser tab, uvicorn to serve it.

Routes:

* ``GET /`` — the page; ``GET /static/...`` — its script and style, and the
  Plotly.js that the installed plotly package ships (nothing from a CDN);
* ``WS /ws`` — the tab's session (:class:`~mlplab.playground.tab.Client`), spoken to in the
  messages of :mod:`mlplab.playground.protocol`;
* ``GET /download/model/{sid}`` and ``GET /download/history/{sid}`` — the
  session's network as an ``mlplab.save`` file and its history as CSV.

Every request passes :mod:`mlplab.playground.guard` first (Host and Origin
allow-lists, the URL token when listening beyond loopback, bounded messages).

Engine work runs in slices of at most :data:`SLICE_SECONDS` (a step request) or
:data:`BATCH_SECONDS` (running) of engine time, with the tab's cancel flag checked between
them (see :mod:`mlplab.playground.tab`): pause, reset, a new configuration, a closed tab and
Ctrl-C take effect after the current slice. A closed tab ends its session and its training;
any error from a message is reported to that tab and never stops the server.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import socket
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from mlplab.playground.config import FormError
from mlplab.playground.guard import Guard, GuardMiddleware, MessageError
from mlplab.playground.protocol import MAX_MESSAGE, SPEEDS, encode, handle
from mlplab.playground.tab import Client, gone

# (still importable from here: the names this module held before tab and protocol took them)
from mlplab.playground.tab import ACK_WAIT, CLOSED, FRAME_RATE, SURFACE_EVERY  # noqa: E402,F401

log = logging.getLogger("mlplab.playground")

BATCH_SECONDS = 0.1  # engine time between two frames while running, at most
SLICE_SECONDS = 0.05  # engine time of one slice of a step request, at most (plus one iteration)
SHUTDOWN_SECONDS = 1  # how long Ctrl-C waits for open sockets to close before cancelling them
MAX_SESSIONS = 64  # tabs served at once; each holds at most ~10 MB (thinned history, w snapshots, data)
MAX_FRAME = 2 * MAX_MESSAGE  # bytes of one WebSocket message; larger ones close the socket (1009)

STATIC = Path(str(resources.files("mlplab.playground") / "static"))


def plotly_js() -> Path:
    """plotly.min.js of the installed plotly package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():  # pragma: no cover - a broken plotly install
        raise FileNotFoundError(f"{path} is missing; reinstall plotly: pip install --force-reinstall plotly")
    return path


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
    """A tab's socket: a session for it, then its messages one by one until it closes."""
    clients = ws.app.state.clients
    await ws.accept()
    if len(clients) >= MAX_SESSIONS:
        await ws.send_text(encode({"type": "notice", "level": "error",
                                   "text": f"the server holds {MAX_SESSIONS} sessions already; close a tab"}))
        await ws.close()
        return
    sid = secrets.token_urlsafe(12)
    client = Client(ws, sid, slice_seconds=SLICE_SECONDS, batch_seconds=BATCH_SECONDS)
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
            await _answer(client, text)
    except Exception as exc:  # noqa: BLE001 - the tab closed (or its socket broke): its session ends below
        if not gone(ws, exc):
            log.exception("session ended by an error")
    finally:
        client.close()
        clients.pop(sid, None)


async def _answer(client: Client, text: str) -> None:
    """Handle one message; a refused message or a bad form is answered with ``errors``, any other
    failure with a ``notice`` to this tab (the session goes on)."""
    try:
        await handle(client, text)
    except MessageError as exc:
        log.warning("refused a message of session %s: %s", client.sid, exc)
        await client.send({"type": "errors", "errors": {exc.field: str(exc)}})
    except FormError as exc:
        await client.send({"type": "errors", "errors": exc.errors})
    except Exception as exc:  # a bug or an engine error: report to this tab, keep the session
        if gone(client.ws, exc):
            raise WebSocketDisconnect() from None
        log.exception("message failed")
        await client.send({"type": "notice", "level": "error", "text": f"{type(exc).__name__}: {exc}"})


def create_app(*, port: int | None = None, hosts=(), token: str | None = None) -> Starlette:
    """The playground's ASGI app, served on ``port`` (None: any port, for in-process tests) under
    the loopback names and ``hosts``; with a ``token``, every request must carry ``?token=``."""
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

