"""mlplab playground: train an MLP live in the browser on mlplab's own engine.

``mlplab playground`` serves one page (Starlette + uvicorn, a WebSocket per tab);
the engine runs in the server, the page only draws (Plotly.js from the installed
plotly package, nothing from a CDN). Needs the ``playground`` extra::

    pip install "mlplab[playground]"

Modules: :mod:`~mlplab.playground.config` (the form, validated field by field),
:mod:`~mlplab.playground.session` (one tab's run, stepped one iteration at a time),
:mod:`~mlplab.playground.figures` (Plotly figure dicts from arrays, shareable with
the static report) and :mod:`~mlplab.playground.server` (the web app).
"""

REQUIRED = ("starlette", "uvicorn", "websockets")


def missing() -> list[str]:
    """The playground's dependencies that are not installed."""
    import importlib.util

    return [name for name in REQUIRED + ("plotly",) if importlib.util.find_spec(name) is None]
