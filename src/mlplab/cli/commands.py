"""The subcommands evaluate, predict, inspect, gradcheck and datasets.

``train`` is in :mod:`mlplab.cli.train`; ``compare`` and ``report`` in :mod:`mlplab.cli.reports`;
what they share: output checks and printing in :mod:`mlplab.cli.common`, model loading in
:mod:`mlplab.cli.models`, the settings, the data and the run in :mod:`mlplab.config`.

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

import sys

import numpy as np

import mlplab
from mlplab import data as D
from mlplab.cli.common import arch_str, check_out_path, emit_json, fmt, print_table
from mlplab.cli.models import check_weights_sane, load_model, model_inputs, model_targets
from mlplab.config import (TRAIN_ONLY, UserError, build_net, describe_optimizer, evaluate_metrics, load_data,
                           predict_codes, resolve, targets)


def run(args) -> int:
    """Run the subcommand ``args.command`` (see :func:`mlplab.cli.dispatch`)."""
    from mlplab.cli import dispatch

    return dispatch(args)


def cmd_evaluate(args) -> int:
    net, meta, info, scaler = load_model(args.model)
    check_weights_sane(args.model, net)
    table, X, y = model_targets(args, net, info, scaler, "evaluate")
    cfg = {"task": info["task"], "loss": info["loss"], "classes": info["classes"]}
    try:
        m = evaluate_metrics(net, X, y, cfg)
    except ValueError as exc:
        raise D.DataError(f"{table.source!r}: {exc}") from None
    result = {"model": args.model, "data": table.source, "task": info["task"], "loss_name": info["loss"], **m,
              "classes": info["classes"]}
    if args.json:
        emit_json(result)
        return 0
    rows = [("model", args.model), ("data", f"{table.source} ({m['n']} samples)"),
            ("loss", f"{info['loss']}: E = {fmt(m['loss'])}, mean {fmt(m['mean_loss'])}")]
    if "accuracy" in m:
        rows.append(("accuracy", f"{m['accuracy']:.4f}"))
    else:
        rows += [("R^2", fmt(m["r2"])), ("MSE", fmt(m["mse"]))]
    print_table(rows, "evaluation", rich=sys.stdout.isatty())
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

    net, meta, info, scaler = load_model(args.model)
    out_path = check_out_path(args.out, ".csv", "--out") if args.out else None
    clf = info["task"] == "classification"
    if (args.proba or args.threshold is not None) and not clf:
        raise UserError("--proba/--threshold apply to classifiers; this model is a regressor")
    act = net.activations[-1].name
    if args.proba and act not in ("sigmoid", "softmax"):
        raise UserError(f"--proba needs a sigmoid or softmax output; this model's output is {act}")
    if args.threshold is not None and net.n_outputs != 1:
        raise UserError("--threshold applies to binary classifiers with one output; this model has "
                        f"{net.n_outputs} outputs (predictions are the most probable class)")
    table, X = model_inputs(args, net, info, scaler, require_target=False)
    out = net.forward(X).astype(np.float64)
    header, rows = ["prediction"], []
    if clf:
        codes = predict_codes(out, info["loss"], net, 0.5 if args.threshold is None else args.threshold)
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
        emit_json({"model": args.model, "data": table.source, "columns": header, "rows": rows})
        return 0
    if out_path is not None:
        import io as _io

        buf = _io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        from mlplab.io import atomic_write

        try:
            atomic_write(out_path, buf.getvalue().encode())
        except OSError as exc:  # e.g. the disk filled up: the old file, if any, is untouched
            raise UserError(f"cannot write {str(out_path)!r} ({exc.strerror or exc}); nothing was written — free "
                            "some space or choose another --out") from None
        if not args.quiet:
            print(f"wrote {len(rows)} predictions to {out_path}", file=sys.stderr)
        return 0
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return 0


def cmd_inspect(args) -> int:
    net, meta, info, scaler = load_model(args.model)
    check_weights_sane(args.model, net)
    cli = (meta.get("extra") or {}).get("cli") or {}
    result = {"model": args.model, "kind": meta["kind"], "mlplab_version": meta.get("mlplab_version"),
              "format_version": meta["format_version"], "architecture": meta["architecture"],
              "n_params": net.n_params, "task": info["task"], "loss": info["loss"], "classes": info["classes"],
              "feature_names": cli.get("feature_names"), "target": info.get("target"),
              "standardized": scaler is not None, "config": cli.get("config"), "training": cli.get("training"),
              "metrics": cli.get("metrics")}
    if args.json:
        emit_json(result)
        return 0
    arch = meta["architecture"]
    rows = [("model", args.model), ("kind", f"{meta['kind']} (format {meta['format_version']}, "
                                            f"mlplab {meta.get('mlplab_version')})"),
            ("architecture", arch_str(net)), ("parameters", f"{net.n_params} ({arch['dtype']})"),
            ("task", info["task"]), ("loss", info["loss"])]
    if info["classes"] is not None:
        rows.append(("classes", ", ".join(map(str, info["classes"]))))
    if cli:
        feats = cli.get("feature_names") or []
        rows.append(("features", f"{len(feats)}: " + ", ".join(feats[:8]) + (", ..." if len(feats) > 8 else "")))
        rows.append(("standardized", "yes (training-split mean/std stored)" if scaler else "no"))
        rows.append(("data", str(cli.get("data"))))
        c = cli.get("config") or {}
        try:
            rows.append(("optimizer", f"{describe_optimizer(c)}; seed {c.get('seed')}"))
        except (KeyError, TypeError, ValueError):
            rows.append(("optimizer", str(c.get("optimizer"))))
        t = cli.get("training") or {}
        if t.get("interrupted"):
            at = "the weights at the interrupt" if t.get("best_k") is None else f"iteration {t.get('best_k')}"
            rows.append(("training", f"interrupted; saved {at}, E = {t.get('best_loss')}"))
        elif t:
            rows.append(("training", f"{t['stop_reason']} after {t['n_iter']} steps, E = {fmt(t['loss'])}, "
                                     f"||grad E|| = {fmt(t['grad_norm'])}"))
        for split, m in (cli.get("metrics") or {}).items():
            score = f"accuracy {m['accuracy']:.4f}" if "accuracy" in m else f"R^2 {fmt(m.get('r2'))}"
            rows.append((split, f"{score}, mean loss {fmt(m['mean_loss'])} (n = {m['n']})"))
    else:
        rows.append(("metadata", "no command-line metadata (saved from Python)"))
    print_table(rows, "model", rich=sys.stdout.isatty())
    return 0


# --- gradcheck / datasets ---------------------------------------------------------------------


def cmd_gradcheck(args) -> int:
    table = load_data(args)
    tol = args.tol if args.tol is not None else 1e-6  # here: the gradient check's tolerance
    for flag in TRAIN_ONLY:  # the check needs the architecture and loss only
        setattr(args, flag, None)
    cfg = resolve(args, table)
    n = min(len(table.X), args.samples or 20)
    X, y = table.X[:n], targets(table, cfg)[:n]
    try:
        net = build_net(cfg)
        check = mlplab.gradcheck(net, X, y, cfg["loss"])
    except ValueError as exc:
        raise UserError(str(exc)) from None
    ok = check.ok(tol)
    if args.json:
        emit_json({"architecture": arch_str(net), "loss": cfg["loss"], "samples": n, "per_layer": check.per_layer,
                    "max_error": check.max_error, "tol": tol, "ok": ok})
    else:
        print(f"{arch_str(net)}, loss {cfg['loss']}, {n} samples of {table.source}")
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
        emit_json(rows)
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
