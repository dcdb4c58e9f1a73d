"""The table every data format gives, its error type, and what the formats share.

A file becomes a :class:`Table` — X (S, N_0) float64 features, y (S,) targets as read — or
raises :class:`DataError` (a ``ValueError``) with a one-line message in scikit-learn's style:
what is wrong, where, and how to fix it, so that a front end can print it and exit without
a traceback. Rows and columns in messages are 1-based, as a spreadsheet shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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


def _one_line(exc) -> str:
    return " ".join(str(exc).split())


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


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
