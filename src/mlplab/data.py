"""Loading user data for the command line: files, validation, splits, scaling, labels.

Everything here raises :class:`DataError` (a ``ValueError``) with a one-line
message in scikit-learn's style — what is wrong, where, and how to fix it —
so a front end can print it and exit without a traceback.

* CSV / TSV (``.csv``, ``.tsv``), read with ``pandas.read_csv``: the first
  rows as text (python engine) for the header and the checks below, then the
  whole file with the C parser, numbers parsed natively; when anything is
  irregular (a ragged row, a missing or non-numeric cell, …) every cell is read
  as text and checked, so the message names the row and column. Delimiter
  sniffed (``csv.Sniffer``), header
  auto-detected (a first row with a non-number in a column whose other cells
  are numbers), target chosen by ``target`` = column name or 0-based index
  (negative counts from the end; default: the last column). Feature cells must
  be finite numbers; target cells may be strings (class labels).
* ``.parquet`` (needs pyarrow): ``pandas.read_parquet``; the columns' names
  are the header, and the same target choice and checks apply.
* ``.npz``: arrays ``X`` (S, N_0) and ``y`` (S,) (``y`` optional for
  prediction), read with ``allow_pickle=False``.
* ``.npy`` pairs: ``X.npy,y.npy``, or ``X.npy`` alone when a sibling
  ``y.npy`` exists (the name with its last ``X`` replaced by ``y``).

Rows and columns in messages are 1-based, as a spreadsheet shows them; the data
row number does not count the header line.
"""

from __future__ import annotations

import csv
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlplab import _blas

EXTENSIONS = (".csv", ".tsv", ".parquet", ".npz", ".npy")
_SAMPLE_CHARS = 65536  # characters read for the delimiter sniffer
_HEAD_ROWS = 201  # rows read for header detection (the header and 200 data rows)


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
        named: the names were given (a header, a Parquet schema, a built-in set's documentation),
            not made up as ``x1..xN``: only given names are matched by name later.
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str] = field(default_factory=list)
    target_name: str | None = None
    source: str = ""
    named: bool = False


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


def _read_sample(path: Path) -> str:
    """The first 64 KiB characters of the file (for the delimiter sniffer and the empty-file test)."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read(_SAMPLE_CHARS)
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


def _delimiter(path: Path, sample: str) -> str:
    """Tab for .tsv; otherwise sniffed from the sample (``csv.Sniffer``), ',' when it cannot tell."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t| ").delimiter
    except csv.Error:
        return ","


_LONG_ROW = "\x00mlplab: longer row\x00"  # marks a row with more fields than the first (see _raw_rows)


def _raw_rows(path: Path, delimiter: str, nrows: int | None = None) -> list[list[str]]:
    """Non-blank rows of stripped cells as pandas reads them (python engine, every cell a string).

    A row keeps its own length: a short one is not padded, a long one not cut, so ragged rows
    can be reported. ``nrows``: read only the first rows (header detection).
    """
    import pandas as pd

    where = repr(str(path))
    long_rows = []

    def keep_long(fields):  # pandas drops what is beyond the first row's width; keep the row aside
        long_rows.append(list(fields))
        return [_LONG_ROW] + list(fields[1:])

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ParserWarning about the dropped fields of long rows
            df = pd.read_csv(path, sep=delimiter, header=None, dtype=object, na_filter=False, engine="python",
                             on_bad_lines=keep_long, skip_blank_lines=True, nrows=nrows, encoding="utf-8-sig",
                             index_col=False)
    except pd.errors.EmptyDataError:
        return []
    except UnicodeDecodeError:
        raise DataError(f"{str(path)!r} is not a UTF-8 text file; save it as CSV (UTF-8)") from None
    except OSError as exc:
        raise DataError(f"cannot read {str(path)!r} ({exc.strerror}); check the path and permissions") from None
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise DataError(f"{where} cannot be read as CSV ({_one_line(exc)}); check its quoting and delimiter") from None
    extra = iter(long_rows)
    rows = []
    for r in df.to_numpy(dtype=object).tolist():  # (itertuples builds a Series per column: slow on wide files)
        cells = next(extra) if r and r[0] == _LONG_ROW else [c for c in r if c is not None]
        cells = [str(c).strip() for c in cells]
        if any(cells):
            rows.append(cells)
    return rows


def _one_line(exc) -> str:
    return " ".join(str(exc).split())


def csv_header(spec: str) -> list[str] | None:
    """The column names of a CSV/TSV file, or None when it has no header row (or cannot be read)."""
    path = Path(spec)
    try:
        sample = _read_sample(path)
        if not sample.strip():
            return None
        delimiter = _delimiter(path, sample)
        _check_width(path, delimiter)
        rows = _raw_rows(path, delimiter, nrows=_HEAD_ROWS)
    except DataError:
        return None
    return rows[0] if rows and _has_header(rows) else None


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


class _Irregular(Exception):
    """The fast pandas read met something the exact reader must judge (and word the message for)."""


MAX_COLUMNS = 100_000  # columns of a CSV/TSV row; more is refused before the file is parsed


def _check_width(path: Path, delimiter: str) -> None:
    """The first row has at most MAX_COLUMNS columns: counted in 1 MiB pieces, stopping at its end or past
    the limit (parsing a row of millions of cells takes minutes and gigabytes before any other check)."""
    count = 0
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        while count <= MAX_COLUMNS:
            piece = f.read(1 << 20)
            if not piece:
                return
            end = piece.find("\n")
            count += piece.count(delimiter, 0, len(piece) if end < 0 else end)
            if end >= 0:
                break
    if count >= MAX_COLUMNS:
        raise DataError(f"{str(path)!r}: its first row has more than {MAX_COLUMNS:,} columns; mlplab reads at most "
                        f"{MAX_COLUMNS:,} — check the delimiter and the line endings, or reduce the features first")


def _load_csv(path: Path, target, require_target: bool, n_features: int | None) -> Table:
    where = repr(str(path))
    sample = _read_sample(path)
    if not sample.strip():
        raise DataError(f"{where} is empty; give a CSV file with one sample per row")
    delimiter = _delimiter(path, sample)
    _check_width(path, delimiter)
    head = _raw_rows(path, delimiter, nrows=_HEAD_ROWS)
    if not head:
        raise DataError(f"{where} is empty; give a CSV file with one sample per row")
    try:
        return _fast_csv(path, delimiter, sample, head, target, require_target, n_features)
    except _Irregular:
        pass
    # something is off (or unusual): read every cell as text and check it as the messages describe
    return _table_from_rows(path, _raw_rows(path, delimiter), delimiter, target, require_target, n_features)


def _fast_csv(path: Path, delimiter, sample, head, target, require_target, n_features) -> Table:
    """pandas' C parser, numbers parsed natively; raises _Irregular unless every check passes at once."""
    import pandas as pd

    where = repr(str(path))
    header = _has_header(head)
    width = len(head[0])
    if any(len(r) != width for r in head) or (header and len(head) < 2):
        raise _Irregular
    names = head[0] if header else [f"x{j + 1}" for j in range(width)]
    try:
        t = _target_column(where, width, names, header, target, require_target, n_features)
    except DataError:
        raise _Irregular from None  # worded by the exact reader, which checks the rows first
    # physical lines before the first data row: blank lines, and the header
    lines = sample.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip(delimiter + " \t\r\ufeff")), None)
    if first is None or first >= len(lines) - 1:
        raise _Irregular  # the first row is not within the sample (a huge header?)
    try:
        df = pd.read_csv(path, sep=delimiter, header=None, names=list(range(width)), index_col=False,
                         skiprows=first + (1 if header else 0), encoding="utf-8-sig", skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, UnicodeDecodeError, OSError):
        raise _Irregular from None
    if len(df) == 0:
        raise _Irregular
    feat_cols = [j for j in range(width) if j != t]
    if any(df[j].dtype.kind not in "biuf" for j in feat_cols):
        raise _Irregular  # text, empty cells or 'nan' in a feature column
    X = df[feat_cols].to_numpy(dtype=np.float64)
    if not np.isfinite(X).all():
        raise _Irregular
    y = None
    if t is not None:
        col = df[t]
        if col.dtype.kind in "biuf":
            y = col.to_numpy(dtype=np.float64)
            if not np.isfinite(y).all():
                raise _Irregular
        else:
            if col.isna().any():
                raise _Irregular
            cells = np.array([str(c).strip() for c in col.to_numpy(dtype=object)], dtype=object)
            if (cells == "").any():
                raise _Irregular
            try:
                y = cells.astype(np.float64)  # float() of each cell, as the exact reader
            except ValueError:
                y = cells
            else:
                if not np.isfinite(y).all():
                    raise _Irregular
    return _table(X, y, names, feat_cols, t, path, named=header)


def _target_column(where, width, names, header, target, require_target, n_features) -> int | None:
    """Index of the target column (None: a prediction file of features only)."""
    if header:
        check_unique_names(names, where)
    if n_features is not None and width == n_features and target is None:
        if require_target:
            raise DataError(f"{where} has {width} columns, the model's {n_features} features, but no target "
                            f"column; add the targets as the last column (or name one with --target)")
        return None  # prediction on features only
    if n_features is not None and width == n_features + 1 and target is None:
        return width - 1  # prediction on a file that still has its target, last
    if n_features is not None and n_features >= 0 and target is None:
        raise DataError(f"{where} has {width} columns but the model expects {n_features} features (or "
                        f"{n_features + 1} columns with the target last, or --target); give the columns the "
                        "model was trained on")
    if width == 1 and require_target:
        raise DataError(f"{where} has a single column; it needs feature columns and a target column")
    t = _target_index(target, names if header else None, width, where)
    if t is None and require_target:
        t = width - 1
    return t


def _table_from_rows(path: Path, rows, delimiter, target, require_target: bool, n_features: int | None) -> Table:
    """The exact reader: every check on the cells as text, each failure worded with its row and column."""
    where = repr(str(path))
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
    t = _target_column(where, width, names, header, target, require_target, n_features)
    feat_cols = [j for j in range(width) if j != t]
    cells = np.array(body, dtype=object)[:, feat_cols] if body else np.empty((0, len(feat_cols)), dtype=object)
    try:
        X = cells.astype(np.float64)  # float() of every cell
        ok = bool(np.isfinite(X).all())
    except ValueError:
        ok = False
    if not ok:  # find the first bad cell, row by row
        for i, r in enumerate(body):
            for j in feat_cols:
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
    y = None
    if t is not None:
        col = [r[t] for r in body]
        for i, c in enumerate(col):
            if c == "":
                raise DataError(f"{where}: target column {t + 1} ({names[t]!r}), row {i + 1} is empty; every "
                                "sample needs a target")
        if all(_is_number(c) for c in col):
            y = _finite_target(where, t, names, np.array([float(c) for c in col]), col)
        else:
            y = np.array(col, dtype=object)
    return _table(X, y, names, feat_cols, t, path, named=header)


def _finite_target(where, t, names, y, shown):
    """y itself, or DataError naming the first non-finite target (as ``shown[i]`` writes it)."""
    bad = ~np.isfinite(y)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{where}: target column {t + 1} ({names[t]!r}), row {i + 1} contains {shown[i]}; "
                        "remove that row (targets must be finite)")
    return y


def _table(X, y, names, feat_cols, t, path, named: bool) -> Table:
    return Table(X=X, y=y, feature_names=[names[j] for j in feat_cols],
                 target_name=None if t is None else names[t], source=str(path), named=named)


def check_unique_names(names, where: str) -> None:
    """A header names each column once: a repeated name would make --target and the match by name
    ambiguous (which 'label'?)."""
    seen, dup = set(), []
    for n in names:
        if n in seen and n not in dup:
            dup.append(n)
        seen.add(n)
    if dup:
        raise DataError(f"{where}: column name(s) {', '.join(map(repr, dup))} appear more than once in the "
                        "header; give each column its own name")


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
    if not _blas.all_finite(X):  # one BLAS dot; the (S, N_0) mask only when it finds something
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
