"""``mlplab train``: resolve the choices from flags and data, train through :func:`mlplab.train`, save.

Defaults come from the data: sigmoid output + binary cross-entropy for 2
classes, softmax + cross-entropy for more, identity + squared error for
regression; the lecture's sets (``lecture``, ``lecture-network``, and no data
at all) get the slides' networks — sigmoid, no biases, squared error. Every
choice is checked before training starts, so a user error never creates or
overwrites a model file; Ctrl-C saves the best model seen so far.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

import mlplab
from mlplab import data as D
from mlplab.cli import UserError
from mlplab.cli.commands import (_arch_str, _check_out_path, _emit_json, _finite, _fmt, _metrics, _table,
                                 load_data)

CLI_FORMAT = 1
LECTURE_SETS = {"lecture": [], "lecture-network": [2, 2]}  # the slides' architectures (hidden sizes)


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
        time_limit=args.time_limit, tol=1e-6 if args.tol is None else args.tol, rtol=getattr(args, "rtol", None) or None,
        eval_every=args.eval_every,
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


def build_net(cfg: dict):
    """The network the resolved settings describe (architecture, activations, bias, w^0, dtype)."""
    return mlplab.MLP(cfg["layer_sizes"], activation=cfg["activation"], output_activation=cfg["output_activation"],
                      bias=cfg["bias"], init=cfg["init"], seed=cfg["seed"], dtype=cfg["dtype"])


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
        args, given = C.merge_args(args, ck_meta["extra"]["cli"]["args"], ck_path)
    run_args = C.stored_args(args)
    table = load_data(args)
    cfg = _resolve(args, table)
    if resume is not None:
        C.check_unchanged(args, given, lambda a: _resolve(a, table), cfg, ck_path)
    out = _check_out_path(args.out, ".safetensors", "--out") if args.out else None
    from mlplab.cli.reports import check_outputs

    report_path, plots_dir = check_outputs(args.report, args.plots)  # before training, not after it
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
        net = build_net(cfg)
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
    from mlplab.cli.progress import Progress

    total = _steps_total(cfg, optimizer, len(Xtr))
    progress = Progress(total, mode)
    best = {"loss": math.inf, "params": net.params.copy(), "k": 0}
    trajectory = None
    if report_path is not None or plots_dir is not None:
        from mlplab.analysis import TrajectoryRecorder

        trajectory = TrajectoryRecorder(net)  # every recorded w^k, for the paths on the loss surface

    def callback(rec):
        w = net.params
        if trajectory is not None:
            trajectory(rec)
        if math.isfinite(rec["loss"]) and rec["loss"] < best["loss"]:
            best.update(loss=rec["loss"], params=w.copy(), k=rec["k"])
        progress.update(rec, rec["last_step_size"])
        return False

    if resume is not None and not args.json and not args.quiet:
        print(f"resuming from {ck_path} at iteration {resume.k}", flush=True)
    if mode == "plain":
        print(f"training {_arch_str(net)} on {table.source} ({len(Xtr)} samples), loss {cfg['loss']}, "
              f"{describe_optimizer(cfg)}", flush=True)
    try:
        result = mlplab.train(net, Xtr, ytr, loss=cfg["loss"], optimizer=optimizer, max_iter=cfg["max_iter"],
                              epochs=cfg["epochs"], tol=cfg["tol"], rtol=cfg["rtol"], time_limit=cfg["time_limit"],
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
        what = str(exc).split(": ", 1)[-1].split(". The last good weights", 1)[0]
        raise UserError(f"training diverged at iteration {exc.k} ({what}); try {hint}, "
                        "or --standardize; no model was saved") from None
    progress.close(result.n_iter)

    metrics = {"train": _metrics(net, Xtr, ytr, cfg)}
    if len(va):
        metrics["validation"] = _metrics(net, X[va], y_all[va], cfg)
    if len(te):
        metrics["test"] = _metrics(net, X[te], y_all[te], cfg)
    training = {"stop_reason": result.stop_reason, "n_iter": result.n_iter, "epochs": result.epochs,
                "loss": _finite(result.loss), "grad_norm": _finite(result.grad_norm), "cost": result.cost,
                "forward_evals": result.forward_evals, "grad_norm0": _finite(result.grad_norm0),
                "tol": cfg["tol"] or None, "rtol": cfg["rtol"],
                "unbounded_steps": int(sum(result.history.unbounded)),
                "elapsed_s": result.elapsed, "interrupted": False}
    if out:
        mlplab.save(net, out, extra=_extra(cfg, table, scaler, metrics, training, result.history))
    written = None
    if trajectory is not None:
        from mlplab.cli.reports import train_outputs

        path = trajectory.finish(result)
        # after --resume the history also holds the records before the checkpoint; draw the path only when aligned
        path = path if len(path) == len(result.history) else None
        written = train_outputs(net, Xtr, ytr, result, cfg, path, report_path, plots_dir,
                                describe_optimizer(cfg))
    if ck_dir is not None:
        training["checkpoints"] = str(ck_dir)
    if resume is not None:
        training["resumed_from"] = str(ck_path)
    summary = {"model": None if out is None else str(out), "architecture": _arch_str(net),
               "n_params": net.n_params, "data": table.source, "loss": cfg["loss"], "optimizer": describe_optimizer(cfg),
               "training": training, "metrics": metrics}
    if written is not None:
        summary.update(report=written["report"], plots=written["plots"])
    if args.json:
        _emit_json(summary)
    else:
        _print_summary(summary, rich=interactive)
    return 0


HISTORY_ROWS = 1000  # at most this many history records are stored in a model file (evenly spaced)


def _history_dict(history) -> dict | None:
    """The training history as JSON-able columns (inf/NaN as null), thinned to HISTORY_ROWS records."""
    n = len(history)
    if n == 0:
        return None
    idx = np.unique(np.linspace(0, n - 1, min(n, HISTORY_ROWS)).round().astype(int))
    cols = {}
    ints = ("k", "ls_evals", "cost", "forward_evals")
    for col in ("k", "epoch", "loss", "grad_norm", "step_size", *ints[1:]):
        values = getattr(history, col)
        cols[col] = [int(values[i]) if col in ints else _finite(float(values[i])) for i in idx]
    cols["unbounded"] = [bool(history.unbounded[i]) for i in idx]
    cols["layer_grad_norms"] = [[_finite(float(v)) for v in history.layer_grad_norms[i]] for i in idx]
    return cols


def _extra(cfg, table, scaler, metrics, training, history=None) -> dict:
    return {"cli": {
        "format": CLI_FORMAT, "task": cfg["task"], "loss": cfg["loss"], "l2": cfg["l2"],
        "reduction": cfg["reduction"], "classes": cfg["classes"], "feature_names": table.feature_names,
        "target": table.target_name, "n_features": int(table.X.shape[1]),
        "scaler": None if scaler is None else scaler.to_dict(), "data": table.source,
        "config": {k: v for k, v in cfg.items() if k not in ("classes",)},
        "training": training, "metrics": metrics,
        "history": None if history is None else _history_dict(history)}}


def _forward_note(t) -> str:
    """ + the line search's forward passes, which the cost (sample gradients) leaves out."""
    fwd = t.get("forward_evals") or 0
    return f" + {fwd} line-search forward passes" if fwd else ""


def _stop_rule(t) -> str:
    """The gradient stop rule(s) in force: ||grad E|| <= tol, <= rtol ||grad E(w^0)||."""
    parts = []
    if t.get("tol"):
        parts.append(f"||grad E|| <= {t['tol']:g}")
    if t.get("rtol"):
        g0 = t.get("grad_norm0")
        parts.append(f"||grad E|| <= {t['rtol']:g} * ||grad E(w^0)||"
                     + (f" = {t['rtol'] * g0:.3e}" if g0 is not None else ""))
    return " or ".join(parts)


def _print_summary(s, rich: bool) -> None:
    t = s["training"]
    rows = [("model", s["model"] or "(not saved: add --out MODEL.safetensors)"),
            ("architecture", f"{s['architecture']}, {s['n_params']} parameters"),
            ("data", s["data"]), ("loss", s["loss"]), ("optimizer", s["optimizer"]),
            ("stopped", f"{t['stop_reason']} after {t['n_iter']} steps ({t['epochs']:.4g} epochs, "
                        f"cost {t['cost']}{_forward_note(t)}, {t['elapsed_s']:.2f} s)"),
            ("E(w)", f"{t['loss']:.6g}"), ("||grad E(w)||", f"{t['grad_norm']:.3e}")]
    rule = _stop_rule(t)
    if rule:
        rows.insert(6, ("stop rule", rule))
    if t.get("unbounded_steps"):
        rows.insert(7, ("line search", f"{t['unbounded_steps']} steps found E still decreasing at alpha_max: "
                                       "no minimiser along them (the infimum lies as ||w|| -> inf)"
                        + ("; ||grad E|| fell below the stop rule there, not at a minimum"
                           if t["stop_reason"] == "unbounded" else "")))
    if t.get("resumed_from"):
        rows.insert(5, ("resumed from", t["resumed_from"]))
    if t.get("checkpoints"):
        rows.append(("checkpoints", t["checkpoints"]))
    if s.get("report"):
        rows.append(("report", s["report"]))
    if s.get("plots"):
        rows.append(("figures", f"{len(s['plots'])} PNG files in {Path(s['plots'][0]).parent}"))
    for split, m in s["metrics"].items():
        score = f"accuracy {m['accuracy']:.4f}" if "accuracy" in m else f"R^2 {_fmt(m['r2'])}, MSE {m['mse']:.4g}"
        rows.append((split, f"{score}, mean loss {_fmt(m['mean_loss'])} (n = {m['n']})"))
    _table(rows, "training summary", rich)
