"""CSV / TSV files (``.csv``, ``.tsv``), read with ``pandas.read_csv``.

The first rows are read as text (python engine) for the header and the checks, then the
whole file with the C parser, numbers parsed natively; when anything is irregular (a ragged
row, a missing or non-numeric cell, …) every cell is read as text and checked, so the
message names the row and column. The delimiter is sniffed (``csv.Sniffer``); the header is
auto-detected (a first row with a non-number in a column whose other cells are numbers);
the target is chosen by ``target`` = column name or 0-based index (negative counts from the
end; default: the last column). Feature cells must be finite numbers; target cells may be
strings (class labels). The data row number in messages does not count the header line.
"""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import numpy as np

from mlplab.data.table import DataError, Table, _finite_target, _is_number, _one_line, _table, _target_column


_SAMPLE_CHARS = 65536  # characters read for the delimiter sniffer
_HEAD_ROWS = 201  # rows read for header detection (the header and 200 data rows)
MAX_COLUMNS = 100_000  # columns of a CSV/TSV row; more is refused before the file is parsed
_LONG_ROW = "\x00mlplab: longer row\x00"  # marks a row with more fields than the first (see _raw_rows)


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


def _read_sample(path: Path) -> str:
    """The first 64 KiB characters of the file (for the delimiter sniffer and the empty-file test)."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read(_SAMPLE_CHARS)
    except UnicodeDecodeError:
        raise DataError(f"{str(path)!r} is not a UTF-8 text file; save it as CSV (UTF-8)") from None
    except OSError as exc:
        raise DataError(f"cannot read {str(path)!r} ({exc.strerror}); check the path and permissions") from None


def _delimiter(path: Path, sample: str) -> str:
    """Tab for .tsv; otherwise sniffed from the sample (``csv.Sniffer``), ',' when it cannot tell."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t| ").delimiter
    except csv.Error:
        return ","


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


class _Irregular(Exception):
    """The fast pandas read met something the exact reader must judge (and word the message for)."""


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
