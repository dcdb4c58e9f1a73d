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

Synthetic sets (``n_samples``, ``noise`` and ``seed`` are keyword arguments of
:func:`load`; defaults give the same data every time):

* ``moons``, ``circles``, ``blobs`` — scikit-learn's ``make_moons``,
  ``make_circles``, ``make_blobs`` (2 features; 2, 2 and 3 classes);
* ``spirals`` — two interleaved Archimedean spirals (2 classes), hand-written;
* ``linear-regression`` — y = x·β + 0.5 + noise, 5 features (regression).

Real data that ships inside scikit-learn (no download): ``digits`` (1797×64,
10 classes), ``iris`` (150×4, 3 classes), ``wine`` (178×13, 3 classes),
``breast-cancer`` (569×30, 2 classes), ``diabetes`` (442×10, regression).

scikit-learn is imported only when one of its sets is loaded, so
``import mlplab`` stays NumPy/SciPy only.
"""

from __future__ import annotations

import functools

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


def moons(n_samples: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles (scikit-learn's make_moons): X (S, 2), y in {0, 1}."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return X.astype(np.float64), y.astype(np.float64)


def circles(n_samples: int = 200, noise: float = 0.05, seed: int = 0):
    """A circle inside a circle (make_circles, factor 0.5): X (S, 2), y in {0, 1}."""
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=n_samples, noise=noise, factor=0.5, random_state=seed)
    return X.astype(np.float64), y.astype(np.float64)


def blobs(n_samples: int = 300, noise: float = 1.0, seed: int = 0):
    """Three Gaussian clusters (make_blobs, cluster std = noise): X (S, 2), y in {0, 1, 2}."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=n_samples, centers=3, n_features=2, cluster_std=noise, random_state=seed)
    return X.astype(np.float64), y.astype(np.float64)


def spirals(n_samples: int = 200, noise: float = 0.05, seed: int = 0):
    """Two interleaved spirals r = θ/(4π), θ ∈ [0.25π, 4π], the second rotated by π: X (S, 2), y in {0, 1}."""
    rng = np.random.default_rng(seed)
    n0 = n_samples // 2
    cls = np.repeat([0.0, 1.0], [n0, n_samples - n0])
    theta = np.concatenate([np.linspace(0.25 * np.pi, 4 * np.pi, n0),
                            np.linspace(0.25 * np.pi, 4 * np.pi, n_samples - n0)])
    r = theta / (4 * np.pi)
    angle = theta + np.pi * cls
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)]) + noise * rng.normal(size=(n_samples, 2))
    return X, cls


def linear_regression(n_samples: int = 200, noise: float = 0.1, seed: int = 0):
    """y = X β + 0.5 + noise·ε with X ~ N(0, I), 5 features, β = (1, −2, 0.5, 0, 3): X (S, 5), y (S,)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 5))
    beta = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    return X, X @ beta + 0.5 + noise * rng.normal(size=n_samples)


@functools.lru_cache(maxsize=None)
def _bunch(loader_name: str):
    import sklearn.datasets

    return getattr(sklearn.datasets, loader_name)()


def _bundled(loader_name: str):
    def load_bundled():
        bunch = _bunch(loader_name)
        return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.float64)

    load_bundled.__name__ = loader_name
    load_bundled.__doc__ = f"scikit-learn's bundled ``{loader_name}()`` (no download)."
    return load_bundled


DATASETS = {
    "lecture": lecture, "lecture-network": lecture_network, "xor": xor,
    "moons": moons, "circles": circles, "spirals": spirals, "blobs": blobs,
    "linear-regression": linear_regression,
    "digits": _bundled("load_digits"), "iris": _bundled("load_iris"), "wine": _bundled("load_wine"),
    "breast-cancer": _bundled("load_breast_cancer"), "diabetes": _bundled("load_diabetes"),
}

#: what each set is: task ("classification"/"regression") and a one-line description
INFO = {
    "lecture": ("classification", "the slides' 4-point toy set for y = sigmoid(w11 x1 + w12 x2)"),
    "lecture-network": ("classification", "the toy set's inputs for the slides' 2-2-2-1 network"),
    "xor": ("classification", "the four XOR points (not linearly separable)"),
    "moons": ("classification", "two interleaving half circles (make_moons)"),
    "circles": ("classification", "a circle inside a circle (make_circles)"),
    "spirals": ("classification", "two interleaved spirals"),
    "blobs": ("classification", "three Gaussian clusters (make_blobs)"),
    "linear-regression": ("regression", "y = x.beta + 0.5 + noise, 5 features"),
    "digits": ("classification", "8x8 images of handwritten digits (scikit-learn, bundled)"),
    "iris": ("classification", "Fisher's iris flowers (scikit-learn, bundled)"),
    "wine": ("classification", "wine cultivars from chemical analysis (scikit-learn, bundled)"),
    "breast-cancer": ("classification", "Wisconsin breast cancer diagnosis (scikit-learn, bundled)"),
    "diabetes": ("regression", "diabetes progression after one year (scikit-learn, bundled)"),
}

_SYNTHETIC = ("moons", "circles", "spirals", "blobs", "linear-regression")


def column_names(name: str) -> tuple[list[str] | None, list[str] | None]:
    """(feature names, class names indexed by y) of a bundled scikit-learn set; (None, None) for the others."""
    loader = DATASETS.get(name)
    if loader is None or not loader.__name__.startswith("load_"):
        return None, None
    bunch = _bunch(loader.__name__)
    features = [str(f) for f in bunch.feature_names]
    classes = getattr(bunch, "target_names", None)
    if classes is None or INFO[name][0] != "classification" or name == "digits":
        return features, None
    return features, [str(c) for c in classes]


def names() -> list[str]:
    """Names accepted by :func:`load`."""
    return list(DATASETS)


def load(name: str, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of a built-in data set; unknown names raise ValueError listing the valid ones.

    Keyword arguments (``n_samples``, ``noise``, ``seed``) are accepted by the
    synthetic sets only.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; built-in data sets are: {', '.join(DATASETS)}")
    if kwargs and name not in _SYNTHETIC:
        raise ValueError(f"data set {name!r} is fixed and takes no options; got {sorted(kwargs)}")
    X, y = DATASETS[name](**kwargs)
    return X.copy(), y.copy()
