"""The subcommands evaluate, predict, inspect, gradcheck, datasets, and what all subcommands share.

``train`` is in :mod:`mlplab.cli.train`; ``compare`` and ``report`` in :mod:`mlplab.cli.reports`.

Each ``cmd_*`` takes the parsed arguments and returns an exit code; user
errors are raised as :class:`~mlplab.cli.UserError` /
:class:`~mlplab.data.DataError` and printed by :func:`mlplab.cli.main`.
Everything a user can get wrong is checked before training starts, so a user
error never creates or overwrites a model file.

Model files are ``mlplab.save(net, path, extra={"cli": {...}})``; the ``cli``
entry holds what prediction needs (task, loss, class labels, feature names,
target name, scaler) plus the training configuration and final metrics.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np

import mlplab
from mlplab import data as D
from mlplab.cli import UserError


def run(args) -> int:
    from mlplab.cli.reports import cmd_compare, cmd_report
    from mlplab.cli.train import cmd_train

    command = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "inspect": cmd_inspect,
               "gradcheck": cmd_gradcheck, "datasets": cmd_datasets, "compare": cmd_compare,
               "report": cmd_report}[args.command]
    with np.errstate(all="ignore"):  # overflow on the way to a divergence is reported once, as a user error
        return command(args)


# --- helpers ----------------------------------------------------------------------------------


def _emit_json(obj) -> None:
    print(json.dumps(obj, indent=2, allow_nan=False, default=_json_default))


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _finite(x):
    return None if x is None or not math.isfinite(x) else float(x)


def _is_builtin(spec: str) -> bool:
    return spec in mlplab.datasets.DATASETS


def load_data(args, *, require_target=True, n_features=None, target_hint=None) -> D.Table:
    """The data argument: a built-in name, a file, or (None) the lecture's toy set."""
    spec = getattr(args, "data", None) or "lecture"
    # the synthetic sets are always drawn with their own fixed seed: --seed is the run's (w^0, sampling, splits)
    synth = {k: v for k, v in (("n_samples", args.n_samples), ("noise", args.noise)) if v is not None}
    if _is_builtin(spec):
        if args.target is not None:
            raise UserError(f"--target applies to files; the built-in set {spec!r} has its target already")
        try:
            X, y = mlplab.datasets.load(spec, **synth)
        except ValueError as exc:
            raise UserError(f"{exc}; --n-samples/--noise apply to moons, circles, spirals, blobs, "
                            "linear-regression only") from None
        features, classes = mlplab.datasets.column_names(spec)
        if classes is not None:  # class names instead of codes, as the bundled set documents them
            y = np.array(classes, dtype=object)[y.astype(int)]
        return D.Table(X=X, y=y, feature_names=features or [f"x{j + 1}" for j in range(X.shape[1])], source=spec)
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


def _check_out_path(path: str, suffix: str, what: str) -> Path:
    p = Path(path)
    if p.suffix.lower() != suffix:
        raise UserError(f"{what} {path!r} must end in {suffix}; e.g. {what} "
                        f"{'run' if suffix == '.html' else 'model'}{suffix}")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"cannot write {path!r}: folder {str(folder)!r} does not exist; create it first")
    if p.is_dir():
        raise UserError(f"cannot write {path!r}: it is a folder; give a file name")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write {path!r}: folder {str(folder)!r} is not writable")
    return p


# --- shared by the subcommands ---------------------------------------------------------------


def _arch_str(net) -> str:
    acts = ",".join(a.name for a in net.activations)
    return f"{'-'.join(map(str, net.layer_sizes))} ({acts}{'' if net.bias else ', no bias'})"


def _metrics(net, X, y, cfg) -> dict:
    """E (as trained: sum or mean), mean e, and accuracy + confusion matrix, or MSE and R²."""
    E = mlplab.Problem(net, X, y, cfg["loss"]).value(net.params)  # Σ_s e^s (forward pass only)
    m = {"n": int(len(X)), "loss": _finite(E), "mean_loss": _finite(E / len(X))}
    out = net.forward(X)
    if cfg["task"] == "classification":
        pred = _predict_codes(out, cfg["loss"], net, 0.5)
        C = len(cfg["classes"])
        conf = np.zeros((C, C), dtype=int)
        np.add.at(conf, (y.astype(int), pred), 1)
        m.update(accuracy=float(np.mean(pred == y)), confusion=conf.tolist())
    else:
        yhat = out[:, 0].astype(np.float64)
        mse = float(np.mean((y - yhat) ** 2))
        var = float(np.var(y))
        m.update(mse=mse, r2=_finite(1 - mse / var) if var > 0 else None)
    return m


def _predict_codes(out, loss, net, threshold) -> np.ndarray:
    if out.shape[1] > 1:
        return np.argmax(out, axis=1)
    cut = 0.0 if loss == "perceptron" else threshold  # perceptron: sign of the identity output
    return (out[:, 0] >= cut).astype(int)


def _fmt(v):
    return "n/a" if v is None else f"{v:.4g}"


def _table(rows, title, rich: bool) -> None:
    if rich:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for k, v in rows:
            table.add_row(k, str(v))
        Console().print(table)
        return
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


# --- evaluate / predict / inspect -------------------------------------------------------------


def _info_from_python_model(path: str, net, meta) -> dict:
    """Command-line metadata for a model saved from Python (an MLP or an estimator)."""
    out_act = net.activations[-1].name
    est = meta.get("estimator") or {}
    target_type = est.get("target_type")
    if meta.get("kind") == "MLPRegressor" or (meta.get("kind") == "MLP" and out_act not in ("softmax", "sigmoid")):
        if net.n_outputs != 1:
            raise UserError(f"{path!r} predicts {net.n_outputs} outputs; the command line handles one target "
                            "column — use the model from Python (mlplab.load)")
        return {"task": "regression", "loss": "squared", "classes": None, "n_features": net.n_inputs,
                "target": None, "scaler": None}
    if target_type == "multilabel-indicator" or (out_act == "sigmoid" and net.n_outputs > 1):
        raise UserError(f"{path!r} is a multilabel model ({net.n_outputs} sigmoid outputs); the command line "
                        "handles one label per sample — use the model from Python (mlplab.load)")
    classes = est.get("classes")
    if classes is None:  # a bare MLP: classes are the output indices (0/1 for one sigmoid unit)
        classes = [0, 1] if net.n_outputs == 1 else list(range(net.n_outputs))
    loss = "cross_entropy" if out_act == "softmax" else "binary_cross_entropy"
    return {"task": "classification", "loss": loss, "classes": classes, "n_features": net.n_inputs,
            "target": None, "scaler": None}


def _load_model(path: str):
    if Path(path).is_dir():
        raise UserError(f"model file {path!r} is a directory; give a .safetensors model file "
                        "(a checkpoint folder is resumed with `mlplab train --resume DIR`)")
    if not Path(path).is_file():
        raise UserError(f"model file {path!r} does not exist; train one with `mlplab train ... --out {path}`")
    net, meta = mlplab.io.load_network(path)
    info = (meta.get("extra") or {}).get("cli")
    if info is None:  # a model saved from Python: what its architecture and estimator metadata say
        info = _info_from_python_model(path, net, meta)
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


def _model_inputs(args, net, info, scaler, require_target):
    if args.data is None and info.get("data"):  # default: the data the model was trained on
        args.data = info["data"]
        config = info.get("config") or {}
        if _is_builtin(args.data):
            args.n_samples = args.n_samples if args.n_samples is not None else config.get("n_samples")
            args.noise = args.noise if args.noise is not None else config.get("noise")
    table = load_data(args, require_target=require_target, n_features=net.n_inputs, target_hint=info.get("target"))
    if table.X.shape[1] != net.n_inputs:
        if _is_builtin(table.source):
            raise D.DataError(f"{table.source!r} has {table.X.shape[1]} features but the model expects "
                              f"{net.n_inputs}; use the data set (or columns) the model was trained on")
        cols = table.X.shape[1] + (table.y is not None)
        raise D.DataError(f"{table.source!r} has {cols} columns but the model expects {net.n_inputs} features "
                          f"(or {net.n_inputs + 1} columns with the target last, or --target); give the columns "
                          "the model was trained on")
    X = scaler.transform(table.X) if scaler else table.X
    return table, X


def model_targets(args, net, info, scaler, needed_by: str):
    """(table, X, y) for a saved model: inputs scaled as in training, targets coded as its classes."""
    table, X = _model_inputs(args, net, info, scaler, require_target=True)
    if table.y is None:
        raise D.DataError(f"{table.source!r} has no target column; {needed_by} needs targets (--target NAME|INDEX)")
    if info["task"] == "classification":
        return table, X, D.codes_for(table.y, info["classes"], table.source)
    if table.y.dtype == object:
        raise D.DataError(f"{table.source!r}: the target holds text but the model is a regressor")
    return table, X, table.y.astype(np.float64)


def cmd_evaluate(args) -> int:
    net, meta, info, scaler = _load_model(args.model)
    table, X, y = model_targets(args, net, info, scaler, "evaluate")
    cfg = {"task": info["task"], "loss": info["loss"], "classes": info["classes"]}
    try:
        m = _metrics(net, X, y, cfg)
    except ValueError as exc:
        raise D.DataError(f"{table.source!r}: {exc}") from None
    result = {"model": args.model, "data": table.source, "task": info["task"], "loss_name": info["loss"], **m,
              "classes": info["classes"]}
    if args.json:
        _emit_json(result)
        return 0
    rows = [("model", args.model), ("data", f"{table.source} ({m['n']} samples)"),
            ("loss", f"{info['loss']}: E = {_fmt(m['loss'])}, mean {_fmt(m['mean_loss'])}")]
    if "accuracy" in m:
        rows.append(("accuracy", f"{m['accuracy']:.4f}"))
    else:
        rows += [("R^2", _fmt(m["r2"])), ("MSE", _fmt(m["mse"]))]
    _table(rows, "evaluation", rich=sys.stdout.isatty())
    if "confusion" in m:
        labels = [str(c) for c in info["classes"]]
        w = max(6, *(len(s) for s in labels)) + 1
        print("confusion matrix (rows: true, columns: predicted)")
        print(" " * w + "".join(f"{s:>{w}}" for s in labels))
        for s, row in zip(labels, m["confusion"]):
            print(f"{s:>{w}}" + "".join(f"{v:>{w}}" for v in row))
    return 0


def cmd_predict(args) -> int:
    import csv

    net, meta, info, scaler = _load_model(args.model)
    out_path = _check_out_path(args.out, ".csv", "--out") if args.out else None
    clf = info["task"] == "classification"
    if (args.proba or args.threshold is not None) and not clf:
        raise UserError("--proba/--threshold apply to classifiers; this model is a regressor")
    act = net.activations[-1].name
    if args.proba and act not in ("sigmoid", "softmax"):
        raise UserError(f"--proba needs a sigmoid or softmax output; this model's output is {act}")
    if args.threshold is not None and net.n_outputs != 1:
        raise UserError("--threshold applies to binary classifiers with one output; this model has "
                        f"{net.n_outputs} outputs (predictions are the most probable class)")
    table, X = _model_inputs(args, net, info, scaler, require_target=False)
    out = net.forward(X).astype(np.float64)
    header, rows = ["prediction"], []
    if clf:
        codes = _predict_codes(out, info["loss"], net, 0.5 if args.threshold is None else args.threshold)
        labels = [info["classes"][c] for c in codes]
        if args.proba:
            P = np.column_stack([1 - out[:, 0], out[:, 0]]) if out.shape[1] == 1 else out
            header += [f"p({c})" for c in info["classes"]]
            rows = [[lab, *(f"{p:.6g}" for p in prow)] for lab, prow in zip(labels, P)]
        else:
            rows = [[lab] for lab in labels]
    else:
        rows = [[f"{v:.10g}"] for v in out[:, 0]]
    if args.json:
        _emit_json({"model": args.model, "data": table.source, "columns": header, "rows": rows})
        return 0
    if out_path is not None:
        import io as _io

        buf = _io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        from mlplab.io import atomic_write

        atomic_write(out_path, buf.getvalue().encode())
        if not args.quiet:
            print(f"wrote {len(rows)} predictions to {out_path}", file=sys.stderr)
        return 0
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return 0


def cmd_inspect(args) -> int:
    net, meta, info, scaler = _load_model(args.model)
    cli = (meta.get("extra") or {}).get("cli") or {}
    result = {"model": args.model, "kind": meta["kind"], "mlplab_version": meta.get("mlplab_version"),
              "format_version": meta["format_version"], "architecture": meta["architecture"],
              "n_params": net.n_params, "task": info["task"], "loss": info["loss"], "classes": info["classes"],
              "feature_names": cli.get("feature_names"), "target": info.get("target"),
              "standardized": scaler is not None, "config": cli.get("config"), "training": cli.get("training"),
              "metrics": cli.get("metrics")}
    if args.json:
        _emit_json(result)
        return 0
    arch = meta["architecture"]
    rows = [("model", args.model), ("kind", f"{meta['kind']} (format {meta['format_version']}, "
                                            f"mlplab {meta.get('mlplab_version')})"),
            ("architecture", _arch_str(net)), ("parameters", f"{net.n_params} ({arch['dtype']})"),
            ("task", info["task"]), ("loss", info["loss"])]
    if info["classes"] is not None:
        rows.append(("classes", ", ".join(map(str, info["classes"]))))
    if cli:
        feats = cli.get("feature_names") or []
        rows.append(("features", f"{len(feats)}: " + ", ".join(feats[:8]) + (", ..." if len(feats) > 8 else "")))
        rows.append(("standardized", "yes (training-split mean/std stored)" if scaler else "no"))
        rows.append(("data", str(cli.get("data"))))
        from mlplab.cli.train import describe_optimizer

        c = cli.get("config") or {}
        try:
            rows.append(("optimizer", f"{describe_optimizer(c)}; seed {c.get('seed')}"))
        except (KeyError, TypeError, ValueError):
            rows.append(("optimizer", str(c.get("optimizer"))))
        t = cli.get("training") or {}
        if t.get("interrupted"):
            rows.append(("training", f"interrupted; best iteration {t.get('best_k')}, E = {t.get('best_loss')}"))
        elif t:
            rows.append(("training", f"{t['stop_reason']} after {t['n_iter']} steps, E = {_fmt(t['loss'])}, "
                                     f"||grad E|| = {_fmt(t['grad_norm'])}"))
        for split, m in (cli.get("metrics") or {}).items():
            score = f"accuracy {m['accuracy']:.4f}" if "accuracy" in m else f"R^2 {_fmt(m.get('r2'))}"
            rows.append((split, f"{score}, mean loss {_fmt(m['mean_loss'])} (n = {m['n']})"))
    else:
        rows.append(("metadata", "no command-line metadata (saved from Python)"))
    _table(rows, "model", rich=sys.stdout.isatty())
    return 0


# --- gradcheck / datasets ---------------------------------------------------------------------


def cmd_gradcheck(args) -> int:
    from mlplab.cli.train import _resolve, _targets, build_net

    from mlplab.cli.reports import _TRAIN_ONLY

    table = load_data(args)
    tol = args.tol if args.tol is not None else 1e-6  # here: the gradient check's tolerance
    for flag in _TRAIN_ONLY:  # the check needs the architecture and loss only
        setattr(args, flag, None)
    cfg = _resolve(args, table)
    n = min(len(table.X), args.samples or 20)
    X, y = table.X[:n], _targets(table, cfg)[:n]
    try:
        net = build_net(cfg)
        check = mlplab.gradcheck(net, X, y, cfg["loss"])
    except ValueError as exc:
        raise UserError(str(exc)) from None
    ok = check.ok(tol)
    if args.json:
        _emit_json({"architecture": _arch_str(net), "loss": cfg["loss"], "samples": n, "per_layer": check.per_layer,
                    "max_error": check.max_error, "tol": tol, "ok": ok})
    else:
        print(f"{_arch_str(net)}, loss {cfg['loss']}, {n} samples of {table.source}")
        print(check)
        print(f"{'PASS' if ok else 'FAIL'}: max relative error {check.max_error:.3e} (tol {tol:g})")
    if not ok:
        print("mlplab: gradient check failed: backpropagation disagrees with finite differences — this is a "
              "bug in mlplab, please report it", file=sys.stderr)
        return 1
    return 0


def cmd_datasets(args) -> int:
    rows = []
    for name in mlplab.datasets.names():
        X, y = mlplab.datasets.load(name)
        task, desc = mlplab.datasets.INFO[name]
        n_classes = len(np.unique(y)) if task == "classification" else None
        rows.append({"name": name, "samples": int(X.shape[0]), "features": int(X.shape[1]), "task": task,
                     "classes": n_classes, "description": desc})
    if args.json:
        _emit_json(rows)
        return 0
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        t = Table(title="built-in data sets")
        for col in ("name", "samples", "features", "task", "description"):
            t.add_column(col)
        for r in rows:
            task = r["task"] + (f" ({r['classes']} classes)" if r["classes"] else "")
            t.add_row(r["name"], str(r["samples"]), str(r["features"]), task, r["description"])
        Console().print(t)
        return 0
    print(f"{'name':<18} {'samples':>7} {'features':>8}  {'task':<28} description")
    for r in rows:
        task = r["task"] + (f" ({r['classes']} classes)" if r["classes"] else "")
        print(f"{r['name']:<18} {r['samples']:>7} {r['features']:>8}  {task:<28} {r['description']}")
    return 0
