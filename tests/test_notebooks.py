"""The lecture's notebooks execute in a fresh kernel, and mlplab is at home in Jupyter.

Every ``docs/**/*.ipynb`` is stored without outputs and executed here by nbclient (the ``test``
extra installs nbclient, nbformat and ipykernel), so a change that breaks one fails CI. The
``_repr_html_`` displays, ``.plot()``, ``History.to_pandas()`` and ``train(progress=True)`` are
tested below.
"""

import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import pytest

import mlplab
from mlplab.optim import GD, SGD, MiniBatchSGD, constant

pytestmark = pytest.mark.slow  # executes the notebooks: left out of the quick subset (pytest -m "not slow")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs").rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]
NOTEBOOK_TIMEOUT_S = 300  # per cell; each notebook takes seconds
_NB_MISSING = [m for m in ("nbclient", "nbformat", "ipykernel") if importlib.util.find_spec(m) is None]


def test_there_are_lecture_notebooks():
    assert len(NOTEBOOKS) >= 6, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    import json

    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.relative_to(ROOT)}: cells {dirty} have stored outputs; strip them "
                       "(jupyter nbconvert --clear-output --inplace FILE)")


@pytest.mark.skipif(bool(_NB_MISSING), reason=f"notebook execution needs {', '.join(_NB_MISSING)} "
                                               "(pip install -e \".[test]\")")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    """A fresh kernel runs every cell without an error (matplotlib on Agg, one BLAS thread)."""
    import nbclient
    import nbformat

    for var, value in {"MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "PYDEVD_DISABLE_FILE_VALIDATION": "1"}.items():
        monkeypatch.setenv(var, value)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=NOTEBOOK_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.relative_to(ROOT)}: {str(exc)[-3000:]}", pytrace=False)
    seconds = time.perf_counter() - t0
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert seconds < 120, f"{path.name} took {seconds:.0f} s; keep each notebook to seconds"


# --- mlplab in Jupyter ------------------------------------------------------------------------


def _toy_result(**kw):
    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=np.array([0.5, 0.5]))
    return mlplab.train(net, X, y, loss="squared", optimizer=GD("armijo"), max_iter=20, **kw)


def test_train_result_and_history_render_as_html():
    r = _toy_result()
    html = r._repr_html_()
    assert "<table" in html and "<svg" in html
    assert r.stop_reason in html and f"{r.n_iter:,}" in html
    h = r.history._repr_html_()
    assert "<table" in h and f"{len(r.history)} records" in h
    assert "no records" in mlplab.History()._repr_html_()


def test_history_to_pandas_one_row_per_record():
    X, y = mlplab.datasets.moons(n_samples=60)
    net = mlplab.MLP([2, 5, 3, 1], activation="tanh", output_activation="sigmoid", seed=0)
    r = mlplab.train(net, X, y, loss="binary_cross_entropy", optimizer=MiniBatchSGD(8, schedule=constant(0.1)),
                     epochs=5, seed=0)
    df = r.history.to_pandas()
    assert len(df) == len(r.history)
    assert list(df["k"]) == r.history.k
    np.testing.assert_array_equal(df["loss"], r.history.loss)
    np.testing.assert_array_equal(df["grad_equivalents"], r.history.grad_equivalents)
    for ell in range(3):
        np.testing.assert_array_equal(df[f"grad_norm_W{ell + 1}"], np.asarray(r.history.layer_grad_norms)[:, ell])
    assert "grad_norm_W4" not in df and "layer_grad_norms" not in df
    assert len(mlplab.History().to_pandas()) == 0


@pytest.mark.parametrize("backend", ["plotly", "matplotlib"])
def test_plot_returns_a_figure(backend):
    pytest.importorskip(backend)
    r = _toy_result()
    for fig in (r.plot(backend=backend), r.history.plot(x="cost", backend=backend),
                r.history.plot(x="epoch", backend=backend)):
        if backend == "plotly":
            import plotly.graph_objects as go

            assert isinstance(fig, go.Figure) and len(fig.data) == 3
        else:
            from matplotlib.figure import Figure

            assert isinstance(fig, Figure) and len(fig.axes) == 3
            import matplotlib.pyplot as plt

            plt.close(fig)
    with pytest.raises(ValueError, match="x must be"):
        r.plot(x="seconds")
    with pytest.raises(ValueError, match="backend"):
        r.plot(backend="bokeh")


def test_comparison_trace_and_verdicts_render_as_html():
    pytest.importorskip("matplotlib")
    from mlplab import analysis, compare

    comp = compare.run_comparison(budget=200)
    html = comp._repr_html_()
    assert "<table" in html and all(r.name in html for r in comp.runs) and "<svg" in html
    assert comp.runs[0].stop is not None and comp.runs[0].stop.verdict in comp.runs[0].stop._repr_html_()
    flow = comp.gradient_flow
    assert flow.diagnosis.kind in flow._repr_html_() and flow.diagnosis.kind in flow.diagnosis._repr_html_()
    fig = comp.plot(backend="matplotlib")
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    if importlib.util.find_spec("plotly") is not None:
        import plotly.graph_objects as go

        assert isinstance(comp.plot(), go.Figure)

    X, y = mlplab.datasets.lecture_network()
    net = mlplab.MLP([2, 2, 2, 1], activation="sigmoid", bias=True, seed=0)
    trace = net.trace(X[0], y[0])
    html = trace._repr_html_()
    assert html.count("<tr>") >= 4 + 1 + 3  # x, y, ŷ, e; the header; one row per layer
    assert "V^ℓ" in html and "<table" in trace.layers[0]._repr_html_()
    deep = mlplab.MLP([2, 6, 6, 6, 1], activation="sigmoid", seed=0)
    assert "GradientFlow" in analysis.gradient_flow(deep, X, y)._repr_html_()


def test_html_escapes_text():
    from mlplab import _html

    assert "&lt;script&gt;" in _html.table([["<script>"]])
    assert _html.sparkline([("E", [0, 1], [0.0, -1.0])]) == ""  # nothing positive to draw on a log axis


class _Recorder:
    def __init__(self):
        self.records = []

    def __call__(self, rec):
        self.records.append(rec["k"])


def test_progress_bar_tqdm(capsys):
    pytest.importorskip("tqdm")
    user = _Recorder()
    r = _toy_result(progress=True, callback=user)
    err = capsys.readouterr().err
    assert "training" in err and f"{r.n_iter}/20" in err
    assert user.records and user.records[-1] == r.n_iter  # the user's callback still gets every record


def test_progress_bar_rich_without_tqdm(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError("no tqdm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    r = _toy_result(progress=True)
    assert r.n_iter > 0


def test_progress_off_adds_nothing_to_the_loop(monkeypatch):
    """progress=False (the default) hands the loop the user's callback unchanged: no per-step work."""
    import sys

    train_module = sys.modules["mlplab.training.run"]  # (where start() builds the loop's Run)
    seen = []
    real_run = train_module.Run

    def spy(*args, **kwargs):
        seen.append(kwargs["callback"])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(train_module, "Run", spy)
    _toy_result()
    user = _Recorder()
    _toy_result(callback=user)
    _toy_result(progress=True)
    assert seen[0] is None and seen[1] is user and seen[2] is not None
    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=np.array([0.5, 0.5]))
    mlplab.train(net, X, y, optimizer=SGD(schedule=constant(0.1)), max_iter=50, progress=False)
    assert seen[-1] is None


def test_notebooks_are_in_env_independent_order():
    """The notebook names carry their lecture order (01-…, 02-…)."""
    names = [p.stem for p in NOTEBOOKS if p.parent.name == "lecture"]
    assert names == sorted(names) and all(n[:2].isdigit() for n in names)
    assert os.path.commonpath(NOTEBOOKS).endswith("lecture")
