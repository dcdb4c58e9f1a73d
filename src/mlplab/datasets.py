"""Built-in data sets: the lecture's own, plus small classics.

``load(name)`` returns ``(X, y)`` with X of shape (S, N_0) (float64) and y of
shape (S,). Names: see :data:`DATASETS` / :func:`names`.

* ``lecture`` — the 4-point toy set of the slides,
  D = {(−3,−3)→1, (−2,−2)→1, (4,4)→0, (2,−5)→0}, for ŷ = σ(w11 x1 + w12 x2)
  (``MLP([2, 1], bias=False)``) with squared error.
* ``lecture-network`` — inputs for the backpropagation slides' network: x1, x2
  feeding layers of 2, 2 and 1 sigmoid neurons without biases
  (``MLP(LECTURE_NETWORK_SIZES, bias=False)``). The slides give no numbers, so
  the toy set's four points are used.
* ``xor`` — the four XOR points, targets 0/1 (not linearly separable).
"""

from __future__ import annotations

import numpy as np

LECTURE_SIZES = [2, 1]
LECTURE_NETWORK_SIZES = [2, 2, 2, 1]


def lecture() -> tuple[np.ndarray, np.ndarray]:
    """The slides' toy data: X (4, 2), y (4,) in {0, 1}."""
    X = np.array([[-3.0, -3.0], [-2.0, -2.0], [4.0, 4.0], [2.0, -5.0]])
    y = np.array([1.0, 1.0, 0.0, 0.0])
    return X, y


def lecture_network() -> tuple[np.ndarray, np.ndarray]:
    """Inputs (and targets) for the backprop slides' 2 → 2 → 2 → 1 network."""
    return lecture()


def xor() -> tuple[np.ndarray, np.ndarray]:
    """XOR: X (4, 2) in {0, 1}², y = x1 XOR x2."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    return X, y


DATASETS = {"lecture": lecture, "lecture-network": lecture_network, "xor": xor}


def names() -> list[str]:
    """Names accepted by :func:`load`."""
    return list(DATASETS)


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of a built-in data set; unknown names raise ValueError listing the valid ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; built-in data sets are: {', '.join(DATASETS)}")
    X, y = DATASETS[name]()
    return X.copy(), y.copy()
