"""The subcommands: train, evaluate, predict, inspect, gradcheck, datasets.

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

CLI_FORMAT = 1
LECTURE_SETS = {"lecture": [], "lecture-network": [2, 2]}  # the slides' architectures (hidden sizes)


def run(args) -> int:
    command = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "inspect": cmd_inspect,
               "gradcheck": cmd_gradcheck, "datasets": cmd_datasets}[args.command]
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
    if "." not in Path(spec).name and not Path(spec).exists():
        raise UserError(f"unknown data set {spec!r}; built-in sets are {', '.join(mlplab.datasets.names())} "
                        "(or give a .csv/.tsv/.npz/.npy file)")
    target = args.target
    if target is None and target_hint is not None and spec.lower().endswith((".csv", ".tsv")):
        target = target_hint if target_hint in (D.csv_header(spec) or []) else None
    return D.load_file(spec, target, require_target=require_target, n_features=n_features)


def _check_out_path(path: str, suffix: str, what: str) -> Path:
    p = Path(path)
    if p.suffix.lower() != suffix:
        raise UserError(f"{what} {path!r} must end in {suffix}; e.g. --out model{suffix}")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"cannot write {path!r}: folder {str(folder)!r} does not exist; create it first")
    if p.is_dir():
        raise UserError(f"cannot write {path!r}: it is a folder; give a file name")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write {path!r}: folder {str(folder)!r} is not writable")
    return p


# --- train ------------------------------------------------------------------------------------


def _resolve(args, table: D.Table):
    """Every training choice, defaults filled in from the data. Returns a config dict."""
    name = args.data or "lecture"
    lecture = name in LECTURE_SETS and args.layers is None and args.hidden is None
    task = args.task or D.infer_task(table.y)
    D.check_training_table(table, task)
    classes = None
    if task == "classification":
        classes, _ = D.encode_labels(table.y)
    C = None if classes is None else len(classes)
    loss = args.loss or ("squared" if lecture else
                         "squared" if task == "regression" else
                         "binary_cross_entropy" if C == 2 else "cross_entropy")
    if task == "regression" and loss in ("binary_cross_entropy", "cross_entropy", "perceptron"):
        raise UserError(f"--loss {loss} needs class labels, but the target is numeric with many values "
                        "(regression); use --loss squared/absolute, or --task classification")
    if task == "classification" and loss == "perceptron" and C != 2:
        raise UserError(f"--loss perceptron needs 2 classes, the data have {C}; use --loss cross_entropy")
    out_act = args.output_activation or {"binary_cross_entropy": "sigmoid", "cross_entropy": "softmax",
                                         "perceptron": "identity"}.get(loss)
    if out_act is None:
        out_act = "sigmoid" if task == "classification" and C == 2 else (
            "softmax" if task == "classification" else "identity")
    n_in = table.X.shape[1]
    if task == "regression":
        n_out = 1
    else:
        n_out = 1 if C == 2 and out_act != "softmax" and loss != "cross_entropy" else C
    if args.layers is not None:
        sizes = list(args.layers)
        if len(sizes) < 2:
            raise UserError(f"--layers needs at least input and output sizes, got {args.layers}")
        if sizes[0] != n_in or sizes[-1] != n_out:
            raise UserError(f"--layers {','.join(map(str, sizes))} does not fit the data: it has {n_in} features "
                            f"and needs {n_out} output(s); use --layers {n_in},...,{n_out} or --hidden")
    else:
        hidden = args.hidden if args.hidden is not None else (LECTURE_SETS[name] if lecture else [16])
        sizes = [n_in, *hidden, n_out]
    cfg = dict(
        data=name, task=task, classes=classes, layer_sizes=sizes,
        activation=args.activation or ("sigmoid" if lecture else "tanh"),
        output_activation=out_act, loss=loss, bias=args.bias if args.bias is not None else not lecture,
        init=args.init or "glorot",
        dtype=args.dtype or "float64", seed=0 if args.seed is None else args.seed,
        l2=args.l2 or 0.0, reduction=args.reduction or "sum",
        optimizer=args.optimizer or "gd", max_iter=args.max_iter, epochs=args.epochs,
        time_limit=args.time_limit, tol=1e-6 if args.tol is None else args.tol, eval_every=args.eval_every,
        val_split=args.val_split or 0.0, test_split=args.test_split or 0.0,
        standardize=bool(args.standardize), target=table.target_name,
        n_samples=args.n_samples, noise=args.noise,
    )
    cfg.update(_optimizer_config(args, cfg["optimizer"]))
    return cfg


def _optimizer_config(args, opt: str) -> dict:
    """Optimizer flags, checked against the optimizer they apply to."""
    def reject(flag, value, why):
        if value is not None:
            raise UserError(f"{flag} {why}")

    out = {}
    if opt == "gd":
        ls = args.line_search or ("none" if args.lr is not None else "exact")
        if ls != "none" and args.lr is not None:
            raise UserError(f"--lr is the constant step of gd with --line-search none; with --line-search {ls} "
                            "the line search chooses the step — drop --lr or add --line-search none")
        for flag, v in (("--schedule", args.schedule), ("--batch-size", args.batch_size),
                        ("--sampling", args.sampling), ("--beta", args.beta), ("--nesterov", args.nesterov),
                        ("--average", args.average)):
            reject(flag, v, "does not apply to --optimizer gd (full-batch gradient descent); drop it or pick "
                            "sgd, minibatch, momentum or adam")
        out.update(line_search=ls, lr=args.lr if ls == "none" else None)
        if ls == "none" and args.lr is None:
            raise UserError("--line-search none needs a constant step size: add --lr (e.g. --lr 0.1)")
        return out
    reject("--line-search", args.line_search, f"applies to --optimizer gd only, not {opt}; the step size of "
                                              f"{opt} is --lr with --schedule")
    if opt == "sgd":
        reject("--batch-size", args.batch_size, "does not apply to sgd (one sample per step); use --optimizer minibatch")
    if opt not in ("momentum",):
        reject("--beta", args.beta, "applies to --optimizer momentum only")
        reject("--nesterov", args.nesterov, "applies to --optimizer momentum only")
    default_schedule = {"sgd": "inverse", "minibatch": "inverse"}.get(opt, "constant")
    default_lr = {"sgd": 1.0, "minibatch": 1.0, "momentum": 0.01, "adam": 1e-3}[opt]
    out.update(schedule=args.schedule or default_schedule, lr=args.lr if args.lr is not None else default_lr,
               power=args.power, decay_factor=args.decay_factor, decay_every=args.decay_every,
               decay_rate=args.decay_rate, sampling=args.sampling, beta=args.beta, nesterov=args.nesterov,
               batch_size=None if opt == "sgd" else (args.batch_size or 32),
               average=args.average if args.average is not None else opt in ("momentum", "adam"))
    for flag, v, sch in (("--power", args.power, "power"), ("--decay-factor", args.decay_factor, "step"),
                         ("--decay-every", args.decay_every, "step"), ("--decay-rate", args.decay_rate, "exp")):
        if v is not None and out["schedule"] != sch:
            raise UserError(f"{flag} applies to --schedule {sch}, not {out['schedule']}")
    return out


def describe_optimizer(cfg) -> str:
    """One short line: 'gd, exact line search', 'adam, batches of 32 (block mean), gamma_k = 0.001', ..."""
    opt = cfg["optimizer"]
    if opt == "gd":
        ls = cfg["line_search"]
        return f"gd, constant step {cfg['lr']:g}" if ls == "none" else f"gd, {ls} line search"
    c, name = cfg["lr"], cfg["schedule"]
    gamma = {"constant": f"{c:g}", "inverse": f"{c:g}/(k+1)", "power": f"{c:g}/(k+1)^p",
             "step": f"{c:g}*f^floor(k/n)", "exp": f"{c:g}*exp(-r k)"}[name]
    what = "one sample per step" if opt == "sgd" else (
        f"batches of {cfg['batch_size']} ({'block mean' if cfg['average'] else 'block sum'})")
    return f"{opt}, {what}, gamma_k = {gamma}"


def build_optimizer(cfg):
    from mlplab import optim

    opt = cfg["optimizer"]
    if opt == "gd":
        return optim.GD({"exact": "exact", "armijo": "armijo"}.get(cfg["line_search"], cfg["lr"]))
    c, name = cfg["lr"], cfg["schedule"]
    if name == "constant":
        schedule = optim.constant(c)
    elif name == "inverse":
        schedule = optim.inverse(c)
    elif name == "power":
        schedule = optim.power(c, 0.75 if cfg["power"] is None else cfg["power"])
    elif name == "step":
        schedule = optim.step(c, cfg["decay_factor"] or 0.5, cfg["decay_every"] or 1000)
    else:
        schedule = optim.exponential(c, 1e-3 if cfg["decay_rate"] is None else cfg["decay_rate"])
    sampling = {} if cfg["sampling"] is None else {"sampling": cfg["sampling"]}
    if opt == "sgd":
        return optim.SGD(schedule, **sampling)
    base = optim.MiniBatchSGD(cfg["batch_size"], schedule, average=cfg["average"], **sampling)
    if opt == "minibatch":
        return base
    if opt == "momentum":
        return optim.Momentum(base, beta=0.9 if cfg["beta"] is None else cfg["beta"], nesterov=bool(cfg["nesterov"]))
    return optim.Adam(base)


def _targets(table: D.Table, cfg) -> np.ndarray:
    """What the engine trains on: codes 0..C−1 for classes, floats for regression."""
    if cfg["task"] == "classification":
        return D.codes_for(table.y, cfg["classes"], table.source)
    return table.y.astype(np.float64)


def _steps_total(cfg, optimizer, S: int) -> int | None:
    """Number of steps the budgets allow (for the progress bar), mirroring mlplab.train's rule."""
    epochs = cfg["epochs"]
    if cfg["max_iter"] is None and epochs is None and cfg["time_limit"] is None:
        epochs = 200
    b = optimizer.batch_size
    full = b is None or (b >= S and optimizer.sampling != "uniform")
    per_epoch = None
    if epochs is not None:
        if full:
            per_epoch = epochs
        elif optimizer.sampling == "uniform":
            per_epoch = math.ceil(epochs * S / min(b, S))
        else:
            per_epoch = epochs * math.ceil(S / b)
    totals = [t for t in (cfg["max_iter"], per_epoch) if t is not None]
    return min(totals) if totals else None


def _interrupt_path(out: str | None) -> Path:
    if out:
        return Path(out)
    p, i = Path("mlplab-interrupted.safetensors"), 1
    while p.exists():
        p, i = Path(f"mlplab-interrupted-{i}.safetensors"), i + 1
    return p


def cmd_train(args) -> int:
    from mlplab.cli import checkpoints as C

    resume = None
    if args.resume:
        resume, ck_meta, ck_path = C.find_resume(args.resume)
        args = C.merge_args(args, ck_meta["extra"]["cli"]["args"], ck_path)
    run_args = C.stored_args(args)
    table = load_data(args)
    cfg = _resolve(args, table)
    out = _check_out_path(args.out, ".safetensors", "--out") if args.out else None
    ck_dir = None
    if args.checkpoint_every is not None:
        ck_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else C.default_dir(args.out)
        if ck_dir is None:
            raise UserError("--checkpoint-every needs a place for the checkpoints: add --out MODEL.safetensors "
                            "or --checkpoint-dir DIR")
        if ck_dir.exists() and not ck_dir.is_dir():
            raise UserError(f"--checkpoint-dir {str(ck_dir)!r} is a file; give a folder")
        if not ck_dir.parent.is_dir():
            raise UserError(f"cannot create checkpoint folder {str(ck_dir)!r}: {str(ck_dir.parent)!r} does not exist")
    elif args.checkpoint_dir is not None or args.keep_checkpoints is not None:
        raise UserError("--checkpoint-dir/--keep-checkpoints need --checkpoint-every N")
    y_all = _targets(table, cfg)
    tr, va, te = D.split_indices(len(table.X), cfg["val_split"], cfg["test_split"], cfg["seed"])
    if cfg["task"] == "classification" and len(np.unique(y_all[tr])) < 2:
        raise UserError("the training split holds a single class; use a smaller --val-split/--test-split or "
                        "another --seed")
    scaler = D.StandardScaler.fit(table.X[tr]) if cfg["standardize"] else None
    X = scaler.transform(table.X) if scaler else table.X
    Xtr, ytr = X[tr], y_all[tr]
    try:
        net = mlplab.MLP(cfg["layer_sizes"], activation=cfg["activation"], output_activation=cfg["output_activation"],
                         bias=cfg["bias"], init=cfg["init"], seed=cfg["seed"], dtype=cfg["dtype"])
        optimizer = build_optimizer(cfg)
        mlplab.Problem(net, Xtr[:1], ytr[:1], cfg["loss"], l2=cfg["l2"], reduction=cfg["reduction"])
    except ValueError as exc:  # activation/loss/init combinations the engine rejects
        raise UserError(str(exc)) from None
    fingerprint = C.data_hash(Xtr, ytr)
    if resume is not None:
        stored = ck_meta["extra"]["cli"]
        if stored.get("data_hash") != fingerprint:
            raise UserError(f"the training data differ from those of checkpoint {str(ck_path)!r} (was the data file "
                            "changed?); resuming needs exactly the same data")
        if resume.params.shape != net.params.shape or resume.params.dtype != net.params.dtype:
            raise UserError(f"checkpoint {str(ck_path)!r} does not fit the network {_arch_str(net)}")
    train_kw = {}
    if ck_dir is not None:
        ck_dir.mkdir(exist_ok=True)
        writer = C.Writer(ck_dir, args.keep_checkpoints or 2, net,
                          extra={"cli": {"args": run_args, "data_hash": fingerprint}})
        train_kw.update(checkpoint_every=C.steps(args.checkpoint_every, optimizer, len(Xtr)), on_checkpoint=writer)
    if resume is not None:
        train_kw["resume"] = resume

    interactive = sys.stdout.isatty() and not args.json and not args.quiet
    mode = "off" if args.quiet or args.json else ("rich" if interactive else "plain")
    from mlplab.cli.progress import Progress, StepSize

    total = _steps_total(cfg, optimizer, len(Xtr))
    progress = Progress(total, mode)
    step_of = StepSize(optimizer)
    best = {"loss": math.inf, "params": net.params.copy(), "k": 0}

    def callback(rec):
        w = net.params
        if math.isfinite(rec["loss"]) and rec["loss"] < best["loss"]:
            best.update(loss=rec["loss"], params=w.copy(), k=rec["k"])
        progress.update(rec, step_of(rec, w))
        return False

    if resume is not None and not args.json and not args.quiet:
        print(f"resuming from {ck_path} at iteration {resume.k}", flush=True)
    if mode == "plain":
        print(f"training {_arch_str(net)} on {table.source} ({len(Xtr)} samples), loss {cfg['loss']}, "
              f"{describe_optimizer(cfg)}", flush=True)
    try:
        result = mlplab.train(net, Xtr, ytr, loss=cfg["loss"], optimizer=optimizer, max_iter=cfg["max_iter"],
                              epochs=cfg["epochs"], tol=cfg["tol"], time_limit=cfg["time_limit"],
                              eval_every=cfg["eval_every"], callback=callback, seed=cfg["seed"], l2=cfg["l2"],
                              reduction=cfg["reduction"], **train_kw)
    except KeyboardInterrupt:
        progress.close()
        net.params[...] = best["params"]
        path = _interrupt_path(out and str(out))
        extra = _extra(cfg, table, scaler, metrics={}, training={"interrupted": True, "best_k": best["k"],
                                                                    "best_loss": _finite(best["loss"])})
        mlplab.save(net, path, extra=extra)
        again = ""
        if ck_dir is not None and any(ck_dir.glob(C.PATTERN)):
            again = f"; continue the run with `mlplab train --resume {ck_dir}`"
        print(f"mlplab: interrupted; the best model so far (iteration {best['k']}, E = {best['loss']:.6g}) was "
              f"saved to {path}{again}", file=sys.stderr)
        return 130
    except mlplab.DivergenceError as exc:
        progress.close()
        hint = ("a smaller --lr or a decaying --schedule (inverse, power)" if cfg["optimizer"] != "gd"
                else "--line-search exact or armijo, or a smaller --lr")
        raise UserError(f"training diverged at iteration {exc.k} (E or the step became inf/NaN); try {hint}, "
                        "or --standardize; no model was saved") from None
    progress.close(result.n_iter)

    metrics = {"train": _metrics(net, Xtr, ytr, cfg)}
    if len(va):
        metrics["validation"] = _metrics(net, X[va], y_all[va], cfg)
    if len(te):
        metrics["test"] = _metrics(net, X[te], y_all[te], cfg)
    training = {"stop_reason": result.stop_reason, "n_iter": result.n_iter, "epochs": result.epochs,
                "loss": _finite(result.loss), "grad_norm": _finite(result.grad_norm), "cost": result.cost,
                "elapsed_s": result.elapsed, "interrupted": False}
    if out:
        mlplab.save(net, out, extra=_extra(cfg, table, scaler, metrics, training))
    if ck_dir is not None:
        training["checkpoints"] = str(ck_dir)
    if resume is not None:
        training["resumed_from"] = str(ck_path)
    summary = {"model": None if out is None else str(out), "architecture": _arch_str(net),
               "n_params": net.n_params, "data": table.source, "loss": cfg["loss"], "optimizer": describe_optimizer(cfg),
               "training": training, "metrics": metrics}
    if args.json:
        _emit_json(summary)
    else:
        _print_summary(summary, rich=interactive)
    return 0


def _arch_str(net) -> str:
    acts = ",".join(a.name for a in net.activations)
    return f"{'-'.join(map(str, net.layer_sizes))} ({acts}{'' if net.bias else ', no bias'})"


def _extra(cfg, table, scaler, metrics, training) -> dict:
    return {"cli": {
        "format": CLI_FORMAT, "task": cfg["task"], "loss": cfg["loss"], "l2": cfg["l2"],
        "reduction": cfg["reduction"], "classes": cfg["classes"], "feature_names": table.feature_names,
        "target": table.target_name, "n_features": int(table.X.shape[1]),
        "scaler": None if scaler is None else scaler.to_dict(), "data": table.source,
        "config": {k: v for k, v in cfg.items() if k not in ("classes",)},
        "training": training, "metrics": metrics}}


def _metrics(net, X, y, cfg) -> dict:
    """E (as trained: sum or mean), mean e, and accuracy + confusion matrix, or MSE and R²."""
    E, _ = net.loss_and_grad(X, y, cfg["loss"], l2=0.0, reduction="sum")
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


def _print_summary(s, rich: bool) -> None:
    t = s["training"]
    rows = [("model", s["model"] or "(not saved: add --out MODEL.safetensors)"),
            ("architecture", f"{s['architecture']}, {s['n_params']} parameters"),
            ("data", s["data"]), ("loss", s["loss"]), ("optimizer", s["optimizer"]),
            ("stopped", f"{t['stop_reason']} after {t['n_iter']} steps ({t['epochs']:.4g} epochs, "
                        f"cost {t['cost']}, {t['elapsed_s']:.2f} s)"),
            ("E(w)", f"{t['loss']:.6g}"), ("||grad E(w)||", f"{t['grad_norm']:.3e}")]
    if t.get("resumed_from"):
        rows.insert(5, ("resumed from", t["resumed_from"]))
    if t.get("checkpoints"):
        rows.append(("checkpoints", t["checkpoints"]))
    for split, m in s["metrics"].items():
        score = f"accuracy {m['accuracy']:.4f}" if "accuracy" in m else f"R^2 {_fmt(m['r2'])}, MSE {m['mse']:.4g}"
        rows.append((split, f"{score}, mean loss {_fmt(m['mean_loss'])} (n = {m['n']})"))
    _table(rows, "training summary", rich)


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


def _load_model(path: str):
    if not Path(path).is_file():
        raise UserError(f"model file {path!r} does not exist; train one with `mlplab train ... --out {path}`")
    net, meta = mlplab.io.load_network(path)
    info = (meta.get("extra") or {}).get("cli")
    if info is None:  # a model saved from Python: predict with what the architecture says
        out_act = net.activations[-1].name
        loss = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}.get(out_act, "squared")
        classes = list(range(net.n_outputs)) if out_act == "softmax" else ([0, 1] if out_act == "sigmoid" else None)
        info = {"task": "regression" if classes is None else "classification", "loss": loss, "classes": classes,
                "n_features": net.n_inputs, "target": None, "scaler": None}
    try:
        scaler = None if info.get("scaler") is None else D.StandardScaler.from_dict(info["scaler"])
        if int(info["n_features"]) != net.n_inputs:
            raise ValueError("n_features does not match the architecture")
        if info["task"] == "classification" and not info.get("classes"):
            raise ValueError("a classifier without class labels")
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


def cmd_evaluate(args) -> int:
    net, meta, info, scaler = _load_model(args.model)
    table, X = _model_inputs(args, net, info, scaler, require_target=True)
    if table.y is None:
        raise D.DataError(f"{table.source!r} has no target column; evaluate needs targets (--target NAME|INDEX)")
    if info["task"] == "classification":
        y = D.codes_for(table.y, info["classes"], table.source)
    else:
        if table.y.dtype == object:
            raise D.DataError(f"{table.source!r}: the target holds text but the model is a regressor")
        y = table.y.astype(np.float64)
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
        from mlplab.io import _atomic_write

        _atomic_write(out_path, buf.getvalue().encode())
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
    table = load_data(args)
    for flag in ("l2", "reduction", "optimizer"):
        setattr(args, flag, None)
    for flag in ("line_search", "lr", "schedule", "power", "decay_factor", "decay_every", "decay_rate",
                 "batch_size", "average", "sampling", "beta", "nesterov", "max_iter", "epochs", "time_limit",
                 "eval_every", "val_split", "test_split", "standardize"):
        setattr(args, flag, None)
    tol = args.tol if args.tol is not None else 1e-6
    args.tol = None
    cfg = _resolve(args, table)
    n = min(len(table.X), args.samples or 20)
    X, y = table.X[:n], _targets(table, cfg)[:n]
    try:
        net = mlplab.MLP(cfg["layer_sizes"], activation=cfg["activation"], output_activation=cfg["output_activation"],
                         bias=cfg["bias"], init=cfg["init"],
                         seed=cfg["seed"], dtype=cfg["dtype"])
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
