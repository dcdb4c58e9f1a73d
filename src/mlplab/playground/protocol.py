"""The messages between the page and its tab, and what each one does.

The page sends JSON objects with a ``type``: ``config`` and ``upload`` (a new form, or a CSV
with it: rebuild the session), ``step`` (n iterations), ``run`` and ``speed`` (iterate at a
rate), ``pause``, ``reset``, ``scrub`` (show w^k of an earlier k), ``view`` (the convergence
axes) and ``ack`` (a frame was drawn). The server answers with ``frame`` (everything drawn),
``errors`` (field → message; nothing changed) and ``notice``. Every message is read by
:func:`~mlplab.playground.guard.load_message` first (size and depth bounded).
"""

from __future__ import annotations

import asyncio
import json
import math

import numpy as np

from mlplab.playground.config import Config, FormError, parse, parse_csv
from mlplab.playground.guard import load_message

SPEEDS = (1, 2, 5, 10, 30, 100, 300, 1000, 3000, 10000)  # iterations per second the page offers
MAX_MESSAGE = 3_000_000  # characters of one message; larger ones get a one-line answer


def encode(obj) -> str:
    """A message as compact JSON; non-finite floats (JSON has no NaN) become null."""
    return json.dumps(_finite(obj), allow_nan=False, default=_default, separators=(",", ":"))


def _default(o):
    if isinstance(o, np.generic):
        v = o.item()
        return v if not (isinstance(v, float) and not math.isfinite(v)) else None
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _finite(obj):
    """Replace non-finite floats anywhere in obj by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


async def handle(client, text: str) -> None:
    """Act on one message of the page to ``client`` (a :class:`~mlplab.playground.tab.Client`).
    Engine work (step, run) runs as a task beside the message loop, so the next message
    (pause, reset, …) is read while it runs."""
    msg = load_message(text, MAX_MESSAGE)
    if not isinstance(msg, dict):
        raise FormError({"form": "expected a JSON object"})
    kind = msg.get("type")
    s = client.session
    if kind in ("config", "upload"):
        await _configure(client, msg, kind)
    elif kind == "step":
        n = msg.get("n", 1)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10000:
            raise FormError({"step": "step takes 1..10000 iterations"})
        client.view_k = None
        client.work = client.start(lambda cancel: client.step_work(n, cancel))
    elif kind == "run":
        client.speed = _speed(msg.get("speed", client.speed))
        client.view_k = None
        if client.running is None or client.running.done():
            if s.stopped:
                await client.send({"type": "notice", "level": "warn", "text": s.stopped + " — reset to go on"})
                return
            client.running = client.start(client.run_loop)
    elif kind == "speed":
        client.speed = _speed(msg.get("speed"))
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


async def _configure(client, msg: dict, kind: str) -> None:
    """``config``: the form; ``upload``: a CSV and the form adapted to it. The session is rebuilt
    (work in progress stops first) and the page told which form (``seq``) it now shows."""
    s = client.session
    data = None
    if kind == "upload":
        try:
            data = await asyncio.to_thread(parse_csv, msg.get("csv"))
        except ValueError as exc:
            raise FormError({"upload": str(exc)}) from None
        cfg = _fit_upload(parse({**msg.get("form", {}), "dataset": "upload"}, s.cfg), data)
    else:
        cfg = parse(msg.get("form", {}), s.cfg)
    client.stop()
    if data is None:
        await asyncio.to_thread(s.configure, cfg)
    else:
        await asyncio.to_thread(s.configure, cfg, data)
    client.view_k = None
    client.seq = _seq(msg)
    await client.send({"type": "errors", "errors": {}, "seq": client.seq})
    client.request_frame(surface=True)


def _speed(speed) -> float:
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0 < speed <= max(SPEEDS):
        raise FormError({"speed": f"speed must be 1..{max(SPEEDS)} iterations per second"})
    return float(speed)


def _seq(msg) -> int:
    seq = msg.get("seq", 0)
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


def _fit_upload(cfg: Config, data) -> Config:
    """The model and loss adapted to an uploaded file: what its task and classes allow."""
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
