"""The data options (``data``, ``--target``, ``--n-samples``, ``--noise``) → a :class:`mlplab.data.Table`.

``data`` is a built-in set's name (drawn with its own fixed seed: ``--seed`` is the run's), a file
(.csv/.tsv/.parquet/.npz/.npy, or ``X.npy,y.npy``), or nothing: the lecture's toy set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import mlplab
from mlplab import data as D
from mlplab._memory import check_memory, gib
from mlplab.config.types import UserError

DATA_COPIES = 8  # a drawn set is held about this many times at once: drawing, shuffling, splits, casts, targets


def is_builtin(spec: str) -> bool:
    return spec in mlplab.datasets.DATASETS


def _check_data_memory(spec: str, synth: dict) -> None:
    """--n-samples S of a synthetic set: its S × (N_0 + 1) numbers, DATA_COPIES times, must fit in memory."""
    n = int(synth["n_samples"])
    width = mlplab.datasets.load(spec, **{**synth, "n_samples": 8})[0].shape[1] + 1
    need = float(n) * width * 8 * DATA_COPIES
    try:
        check_memory(need, f"{n:,} samples of {spec!r} ({gib(float(n) * width * 8)} as float64, held about "
                     f"{DATA_COPIES} times while drawing, splitting and training)", "use a smaller --n-samples")
    except MemoryError as exc:
        raise UserError(str(exc)) from None


def _builtin(spec: str, args, synth: dict) -> D.Table:
    """A built-in set, class names instead of codes where the bundled set documents them."""
    if Path(spec).exists():
        print(f"mlplab: note: {spec!r} is the built-in data set; the file {spec!r} in the current folder is not "
              f"read — give ./{spec} to use it", file=sys.stderr)
    if args.target is not None:
        raise UserError(f"--target applies to files; the built-in set {spec!r} has its target already")
    try:
        if "n_samples" in synth:
            _check_data_memory(spec, synth)
        X, y = mlplab.datasets.load(spec, **synth)
    except ValueError as exc:
        raise UserError(f"{exc}; --n-samples/--noise apply to moons, circles, spirals, blobs, "
                        "linear-regression only") from None
    features, classes = mlplab.datasets.column_names(spec)
    if classes is not None:
        y = np.array(classes, dtype=object)[y.astype(int)]
    return D.Table(X=X, y=y, feature_names=features or [f"x{j + 1}" for j in range(X.shape[1])], source=spec,
                   named=bool(features))


def load_data(args, *, require_target=True, n_features=None, target_hint=None) -> D.Table:
    """The data argument: a built-in name, a file, or (None) the lecture's toy set."""
    spec = getattr(args, "data", None) or "lecture"
    # the synthetic sets are always drawn with their own fixed seed: --seed is the run's (w^0, sampling, splits)
    synth = {k: v for k, v in (("n_samples", args.n_samples), ("noise", args.noise)) if v is not None}
    if is_builtin(spec):
        return _builtin(spec, args, synth)
    if synth:
        raise UserError("--n-samples/--noise apply to the synthetic built-in sets only, not to files")
    if Path(spec).is_dir():
        raise UserError(f"data path {spec!r} is a directory; give a data file (.csv, .tsv, .parquet, .npz, .npy) "
                        "or a built-in data set name (see `mlplab datasets`)")
    if "." not in Path(spec).name and not Path(spec).exists():
        raise UserError(f"unknown data set {spec!r}; built-in sets are {', '.join(mlplab.datasets.names())} "
                        "(or give a .csv/.tsv/.npz/.npy file)")
    target = args.target
    if target is not None and not spec.lower().endswith((".csv", ".tsv", ".parquet")):
        raise UserError(f"--target applies to CSV/TSV/Parquet files; {spec!r} keeps its targets separately "
                        "(the npz key y, or the y.npy of a pair)")
    if target is None and target_hint is not None and spec.lower().endswith((".csv", ".tsv")):
        target = target_hint if target_hint in (D.csv_header(spec) or []) else None
    return D.load_file(spec, target, require_target=require_target, n_features=n_features)
