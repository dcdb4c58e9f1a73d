"""One browser tab: its session, the engine work it runs in slices, and the frames it is sent.

Engine work runs in worker threads (``asyncio.to_thread``), a session at a time under its lock,
so the event loop keeps serving every tab while one trains. A step request or a run is a task
beside the tab's message loop that calls the engine in slices of bounded time; between slices
the tab's cancel flag is checked, so pause, reset, a new configuration, a closed tab and Ctrl-C
take effect after the current slice, and slicing changes no result (iterations and history are
those of one ``Session.step(n)``). Running sends at most :data:`FRAME_RATE` frames a second,
and none while the page is still drawing the last one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from mlplab.playground.protocol import encode
from mlplab.playground.session import Session

log = logging.getLogger("mlplab.playground")

FRAME_RATE = 8.0  # frames per second while running, at most
SURFACE_EVERY = 1.0  # seconds between loss-surface recomputations while running
ACK_WAIT = 1.0  # seconds a run waits for the page to draw a frame before sending the next anyway


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


def gone(ws: WebSocket, exc: BaseException) -> bool:
    """Whether exc means the tab's socket is closed (not an engine error): one of CLOSED, or
    Starlette's RuntimeError for a send after the close."""
    if isinstance(exc, CLOSED):
        return True
    return WebSocketState.DISCONNECTED in (ws.client_state, ws.application_state) or (
        isinstance(exc, RuntimeError) and "close message" in str(exc))


class Client:
    """One tab: its session, its running task and what it is looking at. Engine work runs in slices
    of at most ``slice_seconds`` (a step request) or ``batch_seconds`` (running, one per frame)."""

    def __init__(self, ws: WebSocket, sid: str, *, slice_seconds: float, batch_seconds: float):
        self.ws, self.sid = ws, sid
        self.slice_seconds, self.batch_seconds = slice_seconds, batch_seconds
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
        await self.send_text(encode(obj))

    async def send_text(self, text: str) -> None:
        async with self.send_lock:
            await self.ws.send_text(text)

    async def notify_error(self, text: str) -> None:
        """Tell the tab that something failed (if it can still be told)."""
        try:
            await self.send({"type": "notice", "level": "error", "text": text})
        except Exception:
            pass

    # --- engine work ------------------------------------------------------------------------

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
                taken = await self.engine(cancel, left, self.slice_seconds)
                if not taken:  # training stopped (divergence), or cancelled
                    break
                left -= taken
            self.request_frame()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the engine failed: tell the tab, keep the session
            if gone(self.ws, exc):
                return
            log.exception("step failed")
            await self.notify_error(f"{type(exc).__name__}: {exc}")

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
                    taken = await self.engine(cancel, n, self.batch_seconds)
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
            if gone(self.ws, exc):  # the tab went away mid-run
                return
            log.exception("run loop failed")
            self.running = None
            await self.notify_error(f"training stopped: {exc}")

    def stop(self) -> None:
        """Stop the run or step request: its task now, its worker thread after the current slice."""
        self.cancel.set()
        for task in (self.running, self.work):
            if task is not None and not task.done():
                task.cancel()
        self.running = self.work = None

    def close(self) -> None:
        self.closed = True
        self.stop()
        if self.frame_task is not None and not self.frame_task.done():
            self.frame_task.cancel()

    # --- frames -----------------------------------------------------------------------------

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
        text = await asyncio.to_thread(encode, fr)  # ~100 kB: off the event loop too
        self.acked.clear()
        self.last_sent = time.monotonic()
        await self.send_text(text)

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
            if gone(self.ws, exc):
                return
            log.exception("frame failed")
            await self.notify_error(f"drawing failed: {exc}")

    def _refresh_surface(self) -> None:
        if self.surface_stale and not self.busy() and not self.closed:
            self.request_frame(surface=True)

    def page_ready(self) -> bool:
        """Whether the page has drawn the last frame (or never answers: then one frame a second at most)."""
        return self.acked.is_set() or time.monotonic() - self.last_sent > ACK_WAIT


def _slice(session: Session, cancel: threading.Event, n: int, budget_s: float) -> int:
    return 0 if cancel.is_set() else session.step(n, budget_s)
