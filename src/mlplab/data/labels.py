"""After reading: checks before training, the task, class labels ↔ codes, splits and scaling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlplab.data.table import DataError, Table, _is_number


def check_training_table(t: Table, task: str) -> None:
    """Enough rows, and for classification at least two classes."""
    where = repr(t.source)
    if len(t.X) < 2:
        raise DataError(f"{where} has only {len(t.X)} sample; training needs at least 2 rows")
    if t.X.shape[1] == 0:
        raise DataError(f"{where} has no feature columns; add at least one column besides the target")
    if task == "classification":
        classes = np.unique(t.y.astype(str) if t.y.dtype == object else t.y)
        if len(classes) < 2:
            raise DataError(f"{where}: the target has a single class ({_plain(classes[0])!r}); "
                            "classification needs at least 2 classes")
    elif t.y.dtype == object:
        raise DataError(f"{where}: the target holds text labels, which cannot be regressed; "
                        "use --task classification or pick a numeric --target")


def infer_task(y: np.ndarray) -> str:
    """'classification' for text labels or at most 20 distinct integer values, else 'regression'."""
    if y.dtype == object:
        return "classification"
    values = np.unique(y)
    if np.all(values == np.round(values)) and len(values) <= 20:
        return "classification"
    return "regression"


def _plain(v):
    """A JSON-able Python value for a label: int for integral numbers, float, or str."""
    if isinstance(v, str):
        return str(v)
    v = float(v)
    return int(v) if v == int(v) else v


def encode_labels(y: np.ndarray) -> tuple[list, np.ndarray]:
    """(classes, codes): sorted distinct labels as plain Python values and y's codes 0..C−1."""
    if y.dtype == object:
        y = y.astype(str)
    classes, codes = np.unique(y, return_inverse=True)
    return [_plain(c) for c in classes], codes.astype(np.float64)


def codes_for(y: np.ndarray, classes: list, source: str) -> np.ndarray:
    """Codes of labels y under the training classes; unseen labels raise DataError."""
    lookup = {str(c): i for i, c in enumerate(classes)}
    lookup_num = {float(c): i for i, c in enumerate(classes) if not isinstance(c, str)}
    out = np.empty(len(y))
    for i, v in enumerate(y):
        if isinstance(v, str):
            code = lookup.get(v)
            if code is None and _is_number(v):
                code = lookup_num.get(float(v))
        else:
            code = lookup_num.get(float(v), lookup.get(str(v)))
        if code is None:
            raise DataError(f"{source!r}: row {i + 1} has label {_plain(v)!r}, which the model never saw; "
                            f"its classes are {classes}")
        out[i] = code
    return out


def split_indices(S: int, val: float, test: float, seed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle 0..S−1 with ``seed`` and cut off ⌊test·S⌋ test and ⌊val·S⌋ validation rows."""
    if val + test >= 1:
        raise DataError(f"--val-split {val} plus --test-split {test} leave no training data; keep their sum below 1")
    perm = np.random.default_rng(seed).permutation(S)
    n_test, n_val = int(test * S), int(val * S)
    if (val > 0 and n_val == 0) or (test > 0 and n_test == 0):
        raise DataError(f"{S} samples are too few for --val-split {val} / --test-split {test}; "
                        "each split needs at least one sample")
    if S - n_test - n_val < 1:
        raise DataError(f"{S} samples leave no training data after the splits; use smaller splits")
    return perm[n_test + n_val:], perm[n_test:n_test + n_val], perm[:n_test]


@dataclass
class StandardScaler:
    """x ↦ (x − mean) / scale, fitted on the training split only (scale 1 for constant columns)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> "StandardScaler":
        std = X.std(axis=0)
        return cls(mean=X.mean(axis=0), scale=np.where(std > 0, std, 1.0))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "StandardScaler":
        mean, scale = np.asarray(d["mean"], dtype=np.float64), np.asarray(d["scale"], dtype=np.float64)
        if mean.shape != scale.shape or mean.ndim != 1 or not (np.all(np.isfinite(mean)) and np.all(scale > 0)):
            raise ValueError("scaler metadata is invalid")
        return cls(mean=mean, scale=scale)
