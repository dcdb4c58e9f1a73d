"""The package's front door: ``import mlplab`` pulls in nothing heavy, and ``python -m mlplab`` runs the demo.

The parts have their own test modules: test_network.py, test_initializers.py, test_losses.py,
test_objective.py, test_trace.py."""

import subprocess
import sys


def test_import_pulls_in_no_plotting_cli_or_sklearn():
    code = ("import sys, mlplab; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'plotly', 'sklearn', 'rich', 'safetensors', 'torch')]; "
            "assert not bad, bad; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_demo_runs():
    out = subprocess.run([sys.executable, "-m", "mlplab", "--budget", "80"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "GD, exact line search" in out.stdout and "mini-batch SGD" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "mlplab", "--w0", "x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--w0" in bad.stderr
