"""Loading user data for the command line: files, validation, splits, scaling, labels.

Everything here raises :class:`DataError` (a ``ValueError``) with a one-line
message in scikit-learn's style — what is wrong, where, and how to fix it —
so a front end can print it and exit without a traceback.

* CSV / TSV (``.csv``, ``.tsv``): delimiter sniffed (``csv.Sniffer``), header
  auto-detected (a first row with a non-number in a column whose other cells
  are numbers), target chosen by ``target`` = column name or 0-based index
  (negative counts from the end; default: the last column). Feature cells must
  be finite numbers; target cells may be strings (class labels).
* ``.npz``: arrays ``X`` (S, N_0) and ``y`` (S,) (``y`` optional for
  prediction), read with ``allow_pickle=False``.
* ``.npy`` pairs: ``X.npy,y.npy``, or ``X.npy`` alone when a sibling
  ``y.npy`` exists (the name with its last ``X`` replaced by ``y``).

Rows and columns in messages are 1-based, as a spreadsheet shows them; the data
row number does not count the header line.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

EXTENSIONS = (".csv", ".tsv", ".npz", ".npy")


class DataError(ValueError):
    """The user's data cannot be used as given; the message says why and what to do."""


@dataclass
class Table:
    """Data read from a file or a built-in set.

    Attributes:
        X: (S, N_0) float64 features.
        y: (S,) targets as read — float64 for numbers, str objects for labels — or None.
        feature_names: N_0 names (from the header, else ``x1..xN``).
        target_name: the target column's name (or None).
        source: where it came from, for messages.
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str] = field(default_factory=list)
    target_name: str | None = None
    source: str = ""


# --- files ------------------------------------------------------------------------------------


def load_file(spec: str, target=None, *, require_target: bool = True, n_features: int | None = None) -> Table:
    """Read a data file (see the module docstring).

    Args:
        spec: a path, or ``X.npy,y.npy``.
        target: CSV target column: name, or index (int or digit string); default the last column.
        require_target: False for prediction: a file may then hold features only.
        n_features: for prediction, the number of features the model expects;
            a CSV with exactly that many columns is read as all features.
    """
    if "," in spec and spec.lower().endswith(".npy"):
        x_path, y_path = (Path(p.strip()) for p in spec.split(",", 1))
        return _load_npy_pair(x_path, y_path, require_target)
    path = Path(spec)
    ext = path.suffix.lower()
    if ext not in EXTENSIONS:
        raise DataError(f"unknown file extension {ext or '(none)'!r} of {spec!r}; give a .csv, .tsv, .npz or "
                        f".npy file, or a built-in data set name (see `mlplab datasets`)")
    if not path.is_file():
        raise DataError(f"data file {spec!r} does not exist; check the path "
                        "(or give a built-in data set name, see `mlplab datasets`)")
    if ext == ".npz":
        return _load_npz(path, require_target)
    if ext == ".npy":
        return _load_npy_pair(path, None, require_target)
    return _load_csv(path, target, require_target, n_features)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{str(path)!r} is not a UTF-8 text file; save it as CSV (UTF-8)") from None
    except OSError as exc:
        raise DataError(f"cannot read {str(path)!r} ({exc.strerror}); check the path and permissions") from None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _csv_rows(path: Path) -> tuple[list[list[str]], str]:
    """Non-blank rows of stripped cells, and the delimiter (sniffed; tab for .tsv)."""
    where = repr(str(path))
    text = _read_text(path)
    if not text.strip():
        raise DataError(f"{where} is empty; give a CSV file with one sample per row")
    if path.suffix.lower() == ".tsv":
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t| ").delimiter
        except csv.Error:
            delimiter = ","
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
    return [r for r in rows if any(r)], delimiter


def csv_header(spec: str) -> list[str] | None:
    """The column names of a CSV/TSV file, or None when it has no header row (or cannot be read)."""
    try:
        rows, _ = _csv_rows(Path(spec))
    except DataError:
        return None
    return rows[0] if rows and _has_header(rows) else None


def _load_csv(path: Path, target, require_target: bool, n_features: int | None) -> Table:
    where = repr(str(path))
    rows, delimiter = _csv_rows(path)
    if not rows:
        raise DataError(f"{where} is empty; give a CSV file with one sample per row")
    header = _has_header(rows)
    names = rows[0] if header else None
    body = rows[1:] if header else rows
    width = len(rows[0])
    for i, r in enumerate(body):
        if len(r) != width:
            raise DataError(f"{where}: row {i + 1} has {len(r)} columns but the "
                            f"{'header' if header else 'first row'} has {width}; every row needs the same "
                            f"number of values separated by {delimiter!r}")
    if not body:
        raise DataError(f"{where} has a header but no data rows; add samples below the header")
    if names is None:
        names = [f"x{j + 1}" for j in range(width)]
    # which column is the target?
    if n_features is not None and width == n_features and target is None:
        if require_target:
            raise DataError(f"{where} has {width} columns, the model's {n_features} features, but no target "
                            f"column; add the targets as the last column (or name one with --target)")
        t = None  # prediction on features only
    elif n_features is not None and width == n_features + 1 and target is None:
        t = width - 1  # prediction on a file that still has its target, last
    elif n_features is not None and n_features >= 0 and target is None:
        raise DataError(f"{where} has {width} columns but the model expects {n_features} features (or "
                        f"{n_features + 1} columns with the target last, or --target); give the columns the "
                        "model was trained on")
    elif width == 1 and require_target:
        raise DataError(f"{where} has a single column; it needs feature columns and a target column")
    else:
        t = _target_index(target, names if header else None, width, where)
    if t is None and require_target:
        t = width - 1
    feat_cols = [j for j in range(width) if j != t]
    X = np.empty((len(body), len(feat_cols)))
    for i, r in enumerate(body):
        for jj, j in enumerate(feat_cols):
            cell = r[j]
            try:
                v = float(cell)
            except ValueError:
                what = "is empty (a missing value)" if cell == "" else f"holds {cell!r}, which is not a number"
                raise DataError(f"{where}: column {j + 1} ({names[j]!r}), row {i + 1} {what}; features must be "
                                "numbers — fix or remove that row, or encode the column as numbers") from None
            if not math.isfinite(v):
                raise DataError(f"{where}: column {j + 1} ({names[j]!r}), row {i + 1} contains {cell}; remove or "
                                "impute that value (features must be finite numbers)")
            X[i, jj] = v
    y = None
    if t is not None:
        cells = [r[t] for r in body]
        for i, c in enumerate(cells):
            if c == "":
                raise DataError(f"{where}: target column {t + 1} ({names[t]!r}), row {i + 1} is empty; every "
                                "sample needs a target")
        if all(_is_number(c) for c in cells):
            y = np.array([float(c) for c in cells])
            bad = ~np.isfinite(y)
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError(f"{where}: target column {t + 1} ({names[t]!r}), row {i + 1} contains {cells[i]}; "
                                "remove that row (targets must be finite)")
        else:
            y = np.array(cells, dtype=object)
    return Table(X=X, y=y, feature_names=[names[j] for j in feat_cols],
                 target_name=None if t is None else names[t], source=str(path))


def _has_header(rows) -> bool:
    """A header: the first row has a non-number in a column whose other cells are (mostly) numbers;
    or its cell in a column of repeated text labels is a value found nowhere below it (a header like
    ``1990,2000,label`` over ``0.1,-1.2,up``); or every first-row cell is a non-number while some
    later row has a number. A header of numbers over numeric columns cannot be told from data."""
    first, rest = rows[0], rows[1:]
    if not rest:
        return not any(_is_number(c) for c in first)  # one row: a header only if it has no numbers
    width = len(first)
    for j in range(width):
        if _is_number(first[j]):
            continue
        col = [r[j] for r in rest[:200] if j < len(r) and r[j] != ""]
        if col and all(_is_number(c) for c in col):
            return True
        labels = set(col)
        if len(col) >= 4 and not any(_is_number(c) for c in col) and len(labels) <= len(col) // 2 \
                and first[j] not in labels:
            return True
    if not any(_is_number(c) for c in first):
        return any(_is_number(c) for r in rest[:200] for c in r)
    return False


def _target_index(target, names, width: int, where: str) -> int | None:
    if target is None:
        return None
    if isinstance(target, str) and target.lstrip("-").isdigit():
        target = int(target)
    if isinstance(target, int):
        if not -width <= target < width:
            raise DataError(f"--target {target} is out of range: {where} has {width} columns "
                            f"(indices 0..{width - 1}, or -1 for the last)")
        return target % width
    if names is None:
        raise DataError(f"--target {target!r} names a column, but {where} has no header row; "
                        f"give a 0-based column index instead (0..{width - 1})")
    if target not in names:
        raise DataError(f"--target {target!r} is not a column of {where}; columns are: {', '.join(names)}")
    return names.index(target)


def _npz_array(f, key, where):
    try:
        return np.asarray(f[key])
    except ValueError as exc:  # object arrays need pickle, which is refused
        raise DataError(f"{where}: array {key!r} cannot be read without pickle ({exc}); save plain numeric "
                        "arrays with np.savez") from None


def _load_npz(path: Path, require_target: bool) -> Table:
    where = repr(str(path))
    try:
        f = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DataError(f"{where} is not a readable .npz file ({exc}); write it with np.savez(path, X=X, y=y)") from None
    with f:
        if not hasattr(f, "files"):
            raise DataError(f"{where} is not an .npz archive; write it with np.savez(path, X=X, y=y)")
        if "X" not in f.files:
            raise DataError(f"{where} has arrays {f.files} but no 'X'; write it with np.savez(path, X=X, y=y)")
        X = _npz_array(f, "X", where)
        y = _npz_array(f, "y", where) if "y" in f.files else None
    if y is None and require_target:
        raise DataError(f"{where} has no array 'y' (the targets); write it with np.savez(path, X=X, y=y)")
    return _from_arrays(X, y, str(path))


def _load_npy(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{what} file {str(path)!r} does not exist; give X.npy,y.npy")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DataError(f"{str(path)!r} is not a readable .npy array without pickle ({exc}); "
                        "save numeric arrays with np.save") from None


def _load_npy_pair(x_path: Path, y_path: Path | None, require_target: bool) -> Table:
    if y_path is None:
        name = x_path.name
        i = name.rfind("X")
        candidate = x_path.with_name(name[:i] + "y" + name[i + 1:]) if i >= 0 else None
        if candidate is not None and candidate.is_file():
            y_path = candidate
        elif require_target:
            raise DataError(f"no targets for {str(x_path)!r}: give the pair as X.npy,y.npy "
                            "(or put y.npy beside X.npy)")
    X = _load_npy(x_path, "features")
    y = None if y_path is None else _load_npy(y_path, "targets")
    return _from_arrays(X, y, str(x_path))


def _from_arrays(X, y, source: str) -> Table:
    where = repr(source)
    if X.dtype.kind not in "biuf":
        raise DataError(f"{where}: X has dtype {X.dtype}; features must be numbers")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise DataError(f"{where}: X must be 2-D (samples, features), got shape {X.shape}")
    X = X.astype(np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"{where}: column {j + 1}, row {i + 1} contains {X[i, j]}; remove or impute that value")
    if y is not None:
        if y.ndim != 1:
            raise DataError(f"{where}: y must be 1-D (one target per sample), got shape {y.shape}")
        if len(y) != len(X):
            raise DataError(f"{where}: X has {len(X)} rows but y has {len(y)}; give one target per sample")
        if y.dtype.kind in "biuf":
            y = y.astype(np.float64)
            if not np.all(np.isfinite(y)):
                i = int(np.argmax(~np.isfinite(y)))
                raise DataError(f"{where}: target row {i + 1} contains {y[i]}; remove that sample")
        elif y.dtype.kind in "US":
            y = y.astype(str).astype(object)
        else:
            raise DataError(f"{where}: y has dtype {y.dtype}; targets must be numbers or strings")
    return Table(X=X, y=y, feature_names=[f"x{j + 1}" for j in range(X.shape[1])], source=source)


# --- checks, labels, splits, scaling ----------------------------------------------------------


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
