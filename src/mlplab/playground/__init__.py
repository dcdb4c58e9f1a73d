"""mlplab playground: train an MLP live in the browser on mlplab's own engine.

``mlplab playground`` serves one page (Starlette + uvicorn, a WebSocket per tab);
the engine runs in the server, the page only draws (Plotly.js from the installed
plotly package, nothing from a CDN). Needs the ``playground`` extra::

    pip install "mlplab[playground]"

Modules, in reading order: :mod:`~mlplab.playground.config` (the form, validated field
by field), :mod:`~mlplab.playground.build` (what a form builds: data split, network,
optimizer), :mod:`~mlplab.playground.session` (one tab's run: the training loop stepped an
iteration at a time), :mod:`~mlplab.playground.history` (its bounded rows and snapshots),
:mod:`~mlplab.playground.frames` and :mod:`~mlplab.playground.landscape` (what the page
draws; figures from :mod:`~mlplab.playground.figures`), :mod:`~mlplab.playground.downloads`,
then the web side: :mod:`~mlplab.playground.server` (routes, serving),
:mod:`~mlplab.playground.protocol` (the page's messages), :mod:`~mlplab.playground.tab`
(one tab's work in slices) and :mod:`~mlplab.playground.guard` (who may connect).
"""

REQUIRED = ("starlette", "uvicorn", "websockets")


def missing() -> list[str]:
    """The playground's dependencies that are not installed."""
    import importlib.util

    return [name for name in REQUIRED + ("plotly",) if importlib.util.find_spec(name) is None]
