"""Reading a data file of any supported format: :func:`load_file`, Parquet, ``.npz`` and ``.npy``.

* ``.parquet`` (needs pyarrow): ``pandas.read_parquet``; the columns' names are the header,
  and the same target choice and checks as for CSV apply.
* ``.npz``: arrays ``X`` (S, N_0) and ``y`` (S,) (``y`` optional for prediction), read with
  ``allow_pickle=False``.
* ``.npy`` pairs: ``X.npy,y.npy``, or ``X.npy`` alone when a sibling ``y.npy`` exists (the
  name with its last ``X`` replaced by ``y``).
* CSV / TSV: :mod:`mlplab.data.csv_files`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlplab.fast import blas
from mlplab.data.csv_files import _load_csv, csv_header
from mlplab.data.table import DataError, Table, _finite_target, _one_line, _table, _target_column


EXTENSIONS = (".csv", ".tsv", ".parquet", ".npz", ".npy")


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
    if path.is_dir():
        raise DataError(f"data path {spec!r} is a directory; give a data file (.csv, .tsv, .parquet, .npz, .npy) "
                        "or a built-in data set name")
    if ext not in EXTENSIONS:
        raise DataError(f"unknown file extension {ext or '(none)'!r} of {spec!r}; give a .csv, .tsv, .parquet, .npz or "
                        f".npy file, or a built-in data set name (see `mlplab datasets`)")
    if not path.is_file():
        raise DataError(f"data file {spec!r} does not exist; check the path "
                        "(or give a built-in data set name, see `mlplab datasets`)")
    if ext == ".npz":
        return _load_npz(path, require_target)
    if ext == ".npy":
        return _load_npy_pair(path, None, require_target)
    if ext == ".parquet":
        return _load_parquet(path, target, require_target, n_features)
    return _load_csv(path, target, require_target, n_features)


def file_header(spec: str) -> list[str] | None:
    """The column names of a CSV/TSV file's header row or of a Parquet file; None for files without names.

    Raises:
        DataError: a Parquet file whose schema cannot be read.
    """
    low = str(spec).lower()
    if low.endswith((".csv", ".tsv")):
        return csv_header(spec)
    if not low.endswith(".parquet"):
        return None
    def read_schema():
        import pyarrow.parquet as pq

        return pq.read_schema(spec)

    schema = _read_parquet(read_schema, repr(str(spec)))
    hidden = set()
    pandas_meta = (schema.metadata or {}).get(b"pandas")
    if pandas_meta:  # pandas' own index columns are not data columns (read_parquet restores them as the index)
        import json

        try:
            hidden = {c for c in json.loads(pandas_meta).get("index_columns", []) if isinstance(c, str)}
        except (ValueError, AttributeError):
            hidden = set()
    return [str(n) for n in schema.names if n not in hidden]


def _read_parquet(read, where: str):
    """``read()`` with its failures as DataError: pyarrow missing, or a corrupt file."""
    try:
        return read()
    except ImportError as exc:
        raise DataError(f"reading {where} needs pyarrow ({_one_line(exc)}); pip install pyarrow, or save the "
                        "data as CSV") from None
    except Exception as exc:  # pyarrow reports corrupt files with its own exception types
        raise DataError(f"{where} is not a readable Parquet file ({_one_line(exc)})") from None


def _load_parquet(path: Path, target, require_target: bool, n_features: int | None) -> Table:
    """A Parquet file (``pandas.read_parquet``, needs pyarrow): named columns, the same checks as CSV."""
    import pandas as pd

    where = repr(str(path))
    df = _read_parquet(lambda: pd.read_parquet(path), where)
    names = [str(c) for c in df.columns]
    width = len(names)
    if width == 0 or len(df) == 0:
        raise DataError(f"{where} is empty; give a table with one sample per row")
    t = _target_column(where, width, names, True, target, require_target, n_features)
    feat_cols = [j for j in range(width) if j != t]
    for j in feat_cols:
        col = df.iloc[:, j]
        if col.dtype.kind not in "biuf":
            bad = pd.to_numeric(col, errors="coerce").isna().to_numpy()
            i = int(np.argmax(bad))
            cell = col.iloc[i]
            what = "is empty (a missing value)" if cell is None or cell == "" or cell != cell \
                else f"holds {cell!r}, which is not a number"
            raise DataError(f"{where}: column {j + 1} ({names[j]!r}), row {i + 1} {what}; features must be "
                            "numbers — fix or remove that row, or encode the column as numbers")
    X = df.iloc[:, feat_cols].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        i, jj = np.argwhere(bad)[0]
        j = feat_cols[jj]
        raise DataError(f"{where}: column {j + 1} ({names[j]!r}), row {i + 1} contains {X[i, jj]}; remove or "
                        "impute that value (features must be finite numbers)")
    y = None
    if t is not None:
        col = df.iloc[:, t]
        missing = col.isna().to_numpy()
        if missing.any():
            i = int(np.argmax(missing))
            raise DataError(f"{where}: target column {t + 1} ({names[t]!r}), row {i + 1} is empty; every "
                            "sample needs a target")
        if col.dtype.kind in "biuf":
            y = col.to_numpy(dtype=np.float64)
            y = _finite_target(where, t, names, y, y)
        else:
            y = np.array([str(c) for c in col], dtype=object)
    return _table(X, y, names, feat_cols, t, path, named=True)


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
    if not blas.all_finite(X):  # one BLAS dot; the (S, N_0) mask only when it finds something
        i, j = np.argwhere(~np.isfinite(X))[0]
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
