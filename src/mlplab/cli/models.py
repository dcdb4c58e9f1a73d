"""A saved model on the command line: its file read and checked, and data matched to its inputs.

:func:`load_model` reads a model file (the command line's metadata, or what a model saved from Python
says about itself); :func:`model_inputs` gives the rows it is evaluated on, the columns of a file
with a header matched to the model's features by name, scaled as in training; :func:`model_targets`
adds the targets, coded as its classes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import mlplab
from mlplab import data as D
from mlplab.config import MAX_WEIGHT, UserError, is_builtin, load_data


def info_from_python_model(path: str, net, meta) -> dict:
    """Command-line metadata for a model saved from Python (an MLP or an estimator)."""
    out_act = net.activations[-1].name
    est = meta.get("estimator") or {}
    target_type = est.get("target_type")
    if meta.get("kind") == "MLPRegressor" or (meta.get("kind") == "MLP" and out_act not in ("softmax", "sigmoid")):
        if net.n_outputs != 1:
            raise UserError(f"{path!r} predicts {net.n_outputs} outputs; the command line handles one target "
                            "column — use the model from Python (mlplab.load)")
        return {"task": "regression", "loss": "squared", "classes": None, "n_features": net.n_inputs,
                "target": None, "scaler": None, "feature_names": est.get("feature_names_in"),
            "feature_names_given": est.get("feature_names_in") is not None}
    if target_type == "multilabel-indicator" or (out_act == "sigmoid" and net.n_outputs > 1):
        raise UserError(f"{path!r} is a multilabel model ({net.n_outputs} sigmoid outputs); the command line "
                        "handles one label per sample — use the model from Python (mlplab.load)")
    classes = est.get("classes")
    if classes is None:  # a bare MLP: classes are the output indices (0/1 for one sigmoid unit)
        classes = [0, 1] if net.n_outputs == 1 else list(range(net.n_outputs))
    loss = "cross_entropy" if out_act == "softmax" else "binary_cross_entropy"
    return {"task": "classification", "loss": loss, "classes": classes, "n_features": net.n_inputs,
            "target": None, "scaler": None, "feature_names": est.get("feature_names_in"),
            "feature_names_given": est.get("feature_names_in") is not None}


def load_model(path: str):
    if Path(path).is_dir():
        raise UserError(f"model file {path!r} is a directory; give a .safetensors model file "
                        "(a checkpoint folder is resumed with `mlplab train --resume DIR`)")
    if not Path(path).is_file():
        raise UserError(f"model file {path!r} does not exist; train one with `mlplab train ... --out {path}`")
    net, meta = mlplab.io.load_network(path)
    info = (meta.get("extra") or {}).get("cli")
    if info is None:  # a model saved from Python: what its architecture and estimator metadata say
        info = info_from_python_model(path, net, meta)
    try:
        scaler = None if info.get("scaler") is None else D.StandardScaler.from_dict(info["scaler"])
        if int(info["n_features"]) != net.n_inputs:
            raise ValueError("n_features does not match the architecture")
        if scaler is not None and not (len(scaler.mean) == len(scaler.scale) == net.n_inputs):
            raise ValueError(f"the scaler has {len(scaler.mean)} entries for {net.n_inputs} features")
        if info["task"] not in ("classification", "regression"):
            raise ValueError(f"unknown task {info['task']!r}")
        if info["task"] == "classification":
            classes = info.get("classes")
            if not classes:
                raise ValueError("a classifier without class labels")
            if len(set(map(str, classes))) != len(classes):
                raise ValueError(f"duplicate class labels {classes!r}")
            expected = 1 if len(classes) == 2 and net.n_outputs == 1 else len(classes)
            if expected != net.n_outputs:
                raise ValueError(f"{len(classes)} classes for a network with {net.n_outputs} outputs")
    except (KeyError, TypeError, ValueError) as exc:
        raise mlplab.ModelFileError(f"{path!r}: mlplab command-line metadata is invalid ({exc}); "
                                    "re-train the model") from None
    return net, meta, info, scaler


def names_given(info: dict, feats: list[str]) -> bool:
    """Whether the model's feature names were given (a header, a DataFrame's columns) and so are matched
    by name, ``x1, x2`` included. Models of mlplab < 0.4 do not say: there ``x1..xN`` meant a file
    without a header."""
    given = info.get("feature_names_given")
    if given is not None:
        return bool(given)
    return list(feats) != [f"x{j + 1}" for j in range(len(feats))]


def _match_columns(args, spec: str, feats: list[str], info, require_target: bool):
    """(matched by name?, target column for the loader) for a data file and a model with feature names.

    The columns of a file with a header are matched to the model's features by name (any order);
    a feature missing from the file, or a column that is neither a feature nor the target, is an
    error listing them. A file without a header is taken by position, with a note on stderr.
    """
    header = D.file_header(spec)
    if header is None:
        shown = ", ".join(feats[:6]) + (", ..." if len(feats) > 6 else "")
        fix = ("add a header row with these names to match them by name" if spec.lower().endswith((".csv", ".tsv"))
               else "a .npz/.npy file has no column names")
        print(f"mlplab: note: {spec!r} has no header row; its columns are taken by position as the model's "
              f"features ({shown}) — {fix}", file=sys.stderr)
        return False, None
    D.check_unique_names(header, repr(spec))
    target = args.target
    if isinstance(target, str) and target.lstrip("-").isdigit():
        try:
            target = header[int(target)]
        except IndexError:
            target = args.target  # out of range: the loader words the error
    if target is None and info.get("target") in header and info.get("target") not in feats:
        target = info["target"]
    extra = [h for h in header if h not in feats and h != target]
    if target is None and require_target and not info.get("target") and len(extra) == 1:
        target = extra.pop()  # a model saved from Python records no target name: the one other column
    missing = [f for f in feats if f not in header]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing the model's feature(s) {', '.join(map(repr, missing))}")
        if extra:
            parts.append(f"unknown column(s) {', '.join(map(repr, extra))}")
        hint = "" if target is not None or not require_target else " (or name the target column with --target)"
        raise D.DataError(f"{spec!r} has a header but its columns do not match the model's features: "
                          f"{'; '.join(parts)}; rename the columns to the model's feature names "
                          f"({', '.join(map(repr, feats))}){hint} — `mlplab inspect MODEL` lists them")
    return True, target


def check_weights_sane(path: str, net) -> None:
    """A model whose weights are absurdly large (a diverged run saved before mlplab checked) cannot be
    analysed: one line saying so instead of overflowing sums and LAPACK errors."""
    w = net.params
    big = float(np.max(np.abs(w))) if w.size else 0.0
    if not big <= MAX_WEIGHT:
        raise UserError(f"model {path!r} has absurd values (max |w_i| = {big:.3g}, above {MAX_WEIGHT:g}); it looks "
                        "like the result of a diverged run, which cannot be analysed — re-train it with a smaller "
                        "step or a line search")


def model_inputs(args, net, info, scaler, require_target):
    """(table, X) for a saved model: the file's columns matched to its features, scaled as in training."""
    if args.data is None and info.get("data"):  # default: the data the model was trained on
        args.data = info["data"]
        config = info.get("config") or {}
        if is_builtin(args.data):
            args.n_samples = args.n_samples if args.n_samples is not None else config.get("n_samples")
            args.noise = args.noise if args.noise is not None else config.get("noise")
    feats = [str(f) for f in (info.get("feature_names") or [])]
    spec = getattr(args, "data", None) or "lecture"
    by_name = False
    if (len(feats) == net.n_inputs and names_given(info, feats) and not is_builtin(spec)
            and Path(spec).is_file()):
        by_name, target = _match_columns(args, spec, feats, info, require_target)
    positional_header = (not by_name and not is_builtin(spec) and Path(spec).is_file()
                         and D.file_header(spec) is not None)
    if by_name:
        table = D.load_file(spec, target, require_target=target is not None)
        order = [table.feature_names.index(f) for f in feats]
        if order != list(range(len(order))):
            table.X = np.ascontiguousarray(table.X[:, order])
            table.feature_names = list(feats)
    else:
        table = load_data(args, require_target=require_target, n_features=net.n_inputs,
                          target_hint=info.get("target"))
    if table.X.shape[1] != net.n_inputs:
        if is_builtin(table.source):
            raise D.DataError(f"{table.source!r} has {table.X.shape[1]} features but the model expects "
                              f"{net.n_inputs}; use the data set (or columns) the model was trained on")
        n_x = table.X.shape[1]
        cols = n_x + (table.y is not None)
        target = repr(table.target_name) if table.target_name else "column"
        split = f" ({n_x} feature{'s' * (n_x != 1)} and the target {target})" if table.y is not None else ""
        raise D.DataError(f"{table.source!r} has {cols} columns{split} but the model expects {net.n_inputs} features "
                          f"(or {net.n_inputs + 1} columns with the target last, or --target); give the columns "
                          "the model was trained on")
    if positional_header:  # (after the checks: an error comes alone)
        print(f"mlplab: note: the model was trained on columns without names; the columns of {spec!r} are "
              "taken by position, not by their header", file=sys.stderr)
    X = scaler.transform(table.X) if scaler else table.X
    return table, X


def model_targets(args, net, info, scaler, needed_by: str):
    """(table, X, y) for a saved model: inputs scaled as in training, targets coded as its classes."""
    table, X = model_inputs(args, net, info, scaler, require_target=True)
    if table.y is None:
        raise D.DataError(f"{table.source!r} has no target column; {needed_by} needs targets (--target NAME|INDEX)")
    if info["task"] == "classification":
        return table, X, D.codes_for(table.y, info["classes"], table.source)
    if table.y.dtype == object:
        raise D.DataError(f"{table.source!r}: the target holds text but the model is a regressor")
    return table, X, table.y.astype(np.float64)
