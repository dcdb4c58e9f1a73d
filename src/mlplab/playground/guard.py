"""Who may use the playground, and what a message may be.

* Host allow-list (every request): the Host header must name this server — ``localhost``,
  ``127.0.0.1``, ``[::1]``, what ``--host`` named, or the IP address the connection arrived at —
  with the port it serves. A DNS-rebinding page (evil.example resolving to 127.0.0.1) sends its
  own name and gets 403.
* Origin allow-list (every request that carries one, the WebSocket above all): a page served from
  anywhere else (another port of this machine included) gets no socket: it is closed before it is
  accepted, which the server answers with HTTP 403. Browsers always send Origin on a WebSocket, so
  a request without one is not a page's and is let through (Python clients, curl); the Host check
  (and the token, where required) still applies.
* Token (when listening beyond loopback): every request must carry ``?token=...`` as printed with
  the URL (Jupyter's scheme); the page passes it on to its script, its socket and its downloads.
* Messages: at most ``max_bytes``, nested at most :data:`MAX_DEPTH` deep, checked without
  recursion before they are parsed; the answer is one line.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("mlplab.playground")

LOOPBACK = ("localhost", "127.0.0.1", "::1")
MAX_DEPTH = 32  # the page's messages are 3 deep
MAX_CONTAINERS = 1000  # lists and objects in one message; the page's have a handful
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _ip(text: str):
    try:
        ip = ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return None
    return ip.ipv4_mapped or ip if ip.version == 6 else ip


def split_host(value: str, default_port: int | None) -> tuple[str, int | None] | None:
    """("name", port) from a Host header ("127.0.0.1:8643", "[::1]:8643", "localhost"); None if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port = rest[1:]
    elif value.count(":") == 1:
        name, port = value.split(":")
    elif ":" in value:
        return None
    else:
        name, port = value, ""
    if not name:
        return None
    if not port:
        return name, default_port
    return (name, int(port)) if port.isdigit() and len(port) <= 5 else None


class Guard:
    """The allow-lists of one server: its port (None: any, for in-process tests), the host names it
    answers to besides loopback, and the token every request must carry (None: no token)."""

    def __init__(self, port: int | None = None, hosts=(), token: str | None = None):
        self.port, self.token = port, token
        self.hosts = frozenset(h.lower().strip("[]") for h in (*LOOPBACK, *hosts) if h)

    def _ours(self, name: str, port: int | None, local: str | None) -> bool:
        if self.port is not None and port != self.port:
            return False
        if name.strip("[]") in self.hosts:
            return True
        ip = _ip(name)  # an address literal is no rebinding: fine if the connection arrived at it
        return ip is not None and local is not None and ip == _ip(local)

    def _url(self) -> str:
        return f"http://127.0.0.1:{self.port}/" if self.port else "the URL the playground printed"

    def refuse(self, scope) -> str | None:
        """Why the request in an ASGI scope is refused (one line), or None when it may go on."""
        headers = {}
        for key, value in scope.get("headers", ()):
            headers.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
        local = (scope.get("server") or (None,))[0]
        scheme = scope.get("scheme", "http")
        host = headers.get("host", "")
        parsed = split_host(host, DEFAULT_PORTS.get(scheme))
        if parsed is None or not self._ours(*parsed, local):
            return (f"Host {host[:100]!r} is not an address of this playground; open {self._url()} "
                    "(or start it with --host NAME to serve it under another name)")
        origin = headers.get("origin")
        if origin is not None and not self._origin_ok(origin, local):
            return (f"Origin {origin[:100]!r} is another site; only the playground's own page may use it "
                    f"— open {self._url()}")
        if self.token is not None:
            given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[-1]
            if not secrets.compare_digest(given.encode("utf-8", "replace"), self.token.encode()):
                return ("this playground needs the token of its URL; open the address it printed "
                        "(http://…/?token=…)")
        return None

    def _origin_ok(self, origin: str, local: str | None) -> bool:
        try:
            url = urlsplit(origin.strip())
            port = url.port or DEFAULT_PORTS.get(url.scheme)
        except ValueError:
            return False
        return url.scheme in ("http", "https") and bool(url.hostname) and self._ours(url.hostname, port, local)


class GuardMiddleware:
    """ASGI middleware: requests that :meth:`Guard.refuse` get 403 (HTTP) or a socket closed before
    it is accepted (WebSocket, policy violation 1008: the server answers the handshake with 403)."""

    def __init__(self, app, guard: Guard):
        self.app, self.guard = app, guard

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        problem = self.guard.refuse(scope)
        if problem is None:
            return await self.app(scope, receive, send)
        log.warning("refused %s %s: %s", "WebSocket" if scope["type"] == "websocket" else "request",
                    scope.get("path", "")[:100], problem)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        from starlette.responses import PlainTextResponse

        await PlainTextResponse(problem + "\n", status_code=403)(scope, receive, send)


class MessageError(ValueError):
    """A message that is refused before it is read: too large, too deep or not JSON (one line);
    ``field`` is where the page shows it."""

    def __init__(self, message: str, field: str = "form"):
        super().__init__(message)
        self.field = field


def load_message(text: str, max_bytes: int):
    """The page's JSON message; MessageError (one line) when it is too large, too deep or not JSON.
    The nesting is measured by scanning the brackets outside strings, never by recursion."""
    if len(text) > max_bytes:
        raise MessageError(f"the message is larger than {max_bytes // 1_000_000} MB; upload a smaller file", "upload")
    bare = _STRING.sub("", text)
    if bare.count("[") + bare.count("{") > MAX_CONTAINERS:
        raise MessageError(f"the message holds more than {MAX_CONTAINERS} lists and objects; the page sends "
                           "a handful — reload it")
    depth = 0
    for m in _BRACKET.finditer(bare):
        depth += 1 if m.group() in "[{" else -1
        if depth > MAX_DEPTH:
            raise MessageError(f"the message is nested more than {MAX_DEPTH} levels deep; the page never "
                               "sends that — reload it")
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - the scan above refuses such nesting first
        raise MessageError(f"the message is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError:
        raise MessageError("the page sent something that is not JSON; reload it") from None
