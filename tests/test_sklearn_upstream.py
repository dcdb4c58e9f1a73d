"""scikit-learn's own MLP test module, run on mlplab's estimators.

The installed scikit-learn's ``sklearn/neural_network/tests/test_mlp.py`` is copied with one line
changed — ``MLPClassifier, MLPRegressor`` imported from :mod:`mlplab.sklearn` — and run by pytest in a
subprocess (with scikit-learn's conftest for its ``global_random_seed`` fixture). Every test passes but
those that read scikit-learn's internals (``_loss_grad_lbfgs``, assigning ``coefs_`` before any fit,
``_optimizer``'s objects), listed in ALLOWED with the reason.
"""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sklearn = pytest.importorskip("sklearn")

pytestmark = pytest.mark.slow  # scikit-learn's test module: left out of the quick subset (pytest -m "not slow")

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
SWAPPED = "from mlplab.sklearn import MLPClassifier, MLPRegressor"

ALLOWED = {
    # builds the weights by assigning coefs_ = [0, 0] to an unfitted estimator and calls its private _backprop
    "test_fit": "scikit-learn's private _backprop and an unfitted estimator's coefs_",
    # calls the private _loss_grad_lbfgs and packs scikit-learn's private buffers
    "test_gradient": "scikit-learn's private _loss_grad_lbfgs",
    # read _optimizer.learning_rate: mlplab mirrors that one attribute (see MLPClassifier's docstring),
    # so these two pass today; they stay allowed because they read a private object
    "test_learning_rate_warmstart": "scikit-learn's private _optimizer",
    "test_adaptive_learning_rate": "scikit-learn's private _optimizer",
}


def _outcomes(report):
    """{test id: "passed" | "failed" | "skipped"} from pytest's JUnit XML."""
    out = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        out[case.get("name")] = ("failed" if kinds & {"failure", "error"} else
                                 "skipped" if "skipped" in kinds else "passed")
    return out


def test_sklearns_test_mlp_passes_with_only_the_import_changed(tmp_path):
    source = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    text = source.read_text(encoding="utf-8")
    assert text.count(IMPORT) == 1, "scikit-learn's test module no longer imports its MLP in one line"
    (tmp_path / "test_mlp.py").write_text(text.replace(IMPORT, SWAPPED), encoding="utf-8")
    report = tmp_path / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "sklearn.conftest", "-p", "no:cacheprovider",
         "-o", "addopts=", "--rootdir", str(tmp_path), f"--junitxml={report}",
         str(tmp_path / "test_mlp.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert report.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    outcomes = _outcomes(report)
    assert len(outcomes) >= 59, sorted(outcomes)
    failed = {name for name, kind in outcomes.items() if kind == "failed"}
    passed = [name for name, kind in outcomes.items() if kind == "passed"]
    assert {name.split("[")[0] for name in failed} <= set(ALLOWED), proc.stdout[-6000:]
    assert len(passed) >= 55, proc.stdout[-6000:]
