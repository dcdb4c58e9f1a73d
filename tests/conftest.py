"""Fixtures shared by the figure tests (tests/test_plots.py, tests/test_report.py).

The suite runs on pytest-xdist workers (``-n auto`` in pyproject.toml): each worker's BLAS is
kept to one thread, so the workers share the cores instead of oversubscribing them.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS (inherited by subprocesses)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mlplab  # noqa: E402
from mlplab import compare  # noqa: E402
from mlplab.optim import GD, SGD, inverse  # noqa: E402


@pytest.fixture(scope="module")
def toy():
    """The lecture's toy comparison: GD, SGD and mini-batch SGD from w^0 = (0.5, 0.5), 300 sample gradients."""
    return compare.run_comparison(budget=300)


@pytest.fixture(scope="module")
def deep():
    """GD and SGD on a 2-5-5-1 tanh network (XOR-like quadrants, 30 samples): d > 2, N_0 = 2."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    net = mlplab.MLP([2, 5, 5, 1], activation="tanh", output_activation="sigmoid", seed=1)
    return compare.run_comparison(net, X, y, "binary_cross_entropy",
                                  specs=[("GD", GD("exact")), ("SGD", SGD(schedule=inverse(0.5)))], budget=150)
