"""The benchmark (``python -m bench``) in its smoke mode: tiny sizes, no timing assertions.

It keeps bench/ from rotting: every case runs end to end for mlplab and the
installed peers, and the report renders. PyTorch parts are skipped without torch.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # the benches: left out of the quick subset (pytest -m "not slow")

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("sklearn")
sys.path.insert(0, str(ROOT))  # bench/ lives at the repository root, beside src/

from bench import cases, report  # noqa: E402
from bench.core import evaluate, glorot_weights, make_data  # noqa: E402

HAVE_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """``python -m bench --smoke`` once, in a fresh process; its rows and stdout."""
    path = tmp_path_factory.mktemp("bench") / "rows.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    out = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--json", str(path)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(path.read_text())["rows"], out.stdout


def _rows(rows, prefix, library):
    return [r for r in rows if r["case"].startswith(prefix) and r["library"] == library]


def test_every_case_runs_for_mlplab_and_sklearn(smoke):
    rows, stdout = smoke
    for prefix in ("B1", "B2", "B3", "B4", "B5", "B6"):
        assert _rows(rows, prefix, "mlplab") and all("skipped" not in r for r in _rows(rows, prefix, "mlplab"))
    for prefix in ("B1", "B2"):
        assert _rows(rows, prefix, "sklearn") and all("skipped" not in r for r in _rows(rows, prefix, "sklearn"))
    for r in _rows(rows, "B1", "mlplab"):
        assert r["time"]["median"] > 0 and 0 <= r["accuracy"] <= 1 and np.isfinite(r["loss"])
    assert all(r["steps_per_s"] > 0 for r in _rows(rows, "B2", "mlplab"))
    assert _rows(rows, "B3", "mlplab")[0]["ls_evals"] >= 1
    assert all(r["peak_rss_mib"] > 0 for r in _rows(rows, "B6", "mlplab"))
    assert "| B2 SGD 2-2-1 net | mlplab |" in stdout and "mlplab time =" in stdout
    # the paths users call: train() (default and monitor="batch"), the estimators, loss_and_grad, the CLI
    for prefix, library in (("B1", "mlplab train()"), ("B1", "mlplab train(monitor='batch')"),
                            ("B7", "mlplab train()"), ("B8", "mlplab"), ("B9", "mlplab"), ("B10", "mlplab CLI")):
        found = _rows(rows, prefix, library)
        assert found and all(r["time"]["median"] > 0 for r in found), (prefix, library)
    assert {r["case"].split("solver=")[1][:6] for r in _rows(rows, "B8", "mlplab")} == {"'sgd',", "'adam'", "'lbfgs"}
    assert all(r["slowdown"] > 0 and r["quiet_s"] > 0 for r in _rows(rows, "B7", "mlplab train()"))
    assert all(0 <= r["train_accuracy"] <= 1 for r in _rows(rows, "B8", "sklearn"))
    assert "the fused step's (mlplab)" in stdout and "slows" in stdout


def test_torch_rows_agree_with_mlplab_or_are_skipped(smoke):
    rows, _ = smoke
    torch_rows = [r for r in rows if r["library"] == "torch"]
    if not HAVE_TORCH:
        assert torch_rows and all(r.get("skipped") == "not installed" for r in torch_rows)
        return
    mine = {r["case"]: r for r in _rows(rows, "B1", "mlplab")}
    for r in _rows(rows, "B1", "torch"):  # same w^0, block order and γ: the same final loss
        assert r["loss"] == pytest.approx(mine[r["case"]]["loss"], rel=1e-3)
    assert _rows(rows, "B4", "torch")[0]["max_abs_diff_vs_mlplab"] < 1e-4  # same per-sample gradients
    # same w^0, same blocks: the same block losses
    assert _rows(rows, "B9", "torch")[0]["mean_block_loss"] == pytest.approx(
        _rows(rows, "B9", "mlplab")[0]["mean_block_loss"], rel=1e-5)


def test_shared_initial_weights_are_mlplabs_glorot():
    import mlplab

    net = mlplab.MLP([7, 5, 3], seed=0, dtype="float32")
    for (W, b), W_net in zip(glorot_weights((7, 5, 3), "float32"), net.weights):
        np.testing.assert_array_equal(W, W_net)
        assert not b.any()


def test_b1_flop_count_by_hand():
    # 784-300-10, S = 1: forward 2(784·300 + 300·10), ∇W the same again, δ^1 = 2·300·10
    assert cases.b1_flops(1, (784, 300, 10)) == 2 * (2 * (784 * 300 + 300 * 10)) + 2 * 300 * 10


def test_evaluate_matches_mlplab():
    import mlplab

    data = make_data(64, 20)
    net = mlplab.MLP([20, 16, 10], output_activation="softmax", seed=0)
    out = evaluate(list(zip(net.weights, net.biases)), "sigmoid", data.X, data.y)
    E = mlplab.Problem(net, data.X, data.y, "cross_entropy", reduction="mean").value(net.params)
    assert out["loss"] == pytest.approx(E, rel=1e-9)


def test_report_renders_skips_and_missing_libraries():
    rows = [{"case": "B4 x", "library": "sklearn", "skipped": "no per-sample gradients"},
            {"case": "B4 x", "library": "mlplab", "time": {"median": 1.0, "min": 1.0, "max": 1.0, "repeats": 1}}]
    text = report.markdown(rows, {"platform": "p", "cpu": "c", "cores": 2, "env": {}, "blas": "n/a"},
                           {"mlplab": "x", "torch": None}, "cmd")
    assert "| B4 x | sklearn | skipped | no per-sample gradients |" in text and "not installed: torch" in text
