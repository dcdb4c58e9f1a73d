"""``mlplab playground``: serve the live training page and open it in the browser."""

from __future__ import annotations

import sys


def cmd_playground(args) -> int:
    from mlplab.cli import UserError
    from mlplab.playground import missing

    absent = missing()
    if absent:
        raise UserError(f"the playground needs {', '.join(absent)}, which is not installed: "
                        "pip install \"mlplab[playground]\"")
    from mlplab.playground import server
    from mlplab.playground.guard import is_loopback

    try:
        sock = server.bind(args.host, args.port)
    except OSError as exc:
        if getattr(exc, "errno", None) in (98, 48, 10048):  # EADDRINUSE (Linux, macOS, Windows)
            raise UserError(f"port {args.port} on {args.host} is in use; pick another with --port "
                            "(e.g. --port 0 for any free port)") from None
        raise UserError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
                        "check --host (e.g. 127.0.0.1) and --port") from None
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    hosts = [args.host]
    token = None
    if not is_loopback(host):  # reachable from elsewhere: only with the URL's token (as Jupyter does)
        import secrets
        import socket

        token = secrets.token_urlsafe(24)
        if host in ("0.0.0.0", "::"):  # every interface: its addresses are allowed per connection, its name here
            hosts.append(socket.gethostname())
        print(f"mlplab: warning: listening on {args.host}: anyone who can reach this address and has the "
              "URL's token can use the playground; share the URL only with whom you trust", file=sys.stderr)
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")

    def ready():
        print(f"mlplab playground: {url}  (Ctrl-C stops it)", flush=True)
        if not args.no_browser:
            import webbrowser

            try:
                webbrowser.open(url)
            except Exception:  # no browser: the URL is printed
                pass

    server.serve(sock, ready=ready, hosts=hosts, token=token)
    return 0
