"""``mlplab train``: resolve the choices from flags and data, train through :func:`mlplab.train`, save.

Defaults come from the data: sigmoid output + binary cross-entropy for 2
classes, softmax + cross-entropy for more, identity + squared error for
regression; the lecture's sets (``lecture``, ``lecture-network``, and no data
at all) get the slides' networks — sigmoid, no biases, squared error. Every
choice (resolved in :func:`mlplab.config.resolve`) is checked before training starts, so a user error never creates or
overwrites a model file; Ctrl-C saves the best model seen so far.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

import mlplab
from mlplab.cli import Terminated
from mlplab.cli import checkpoints as C
from mlplab.cli.common import arch_str, check_out_path, emit_json, fmt, print_table, probe_folder
from mlplab.cli.progress import Progress
from mlplab.cli.reports import check_history, check_outputs
from mlplab.config import (HISTORY_ROWS, UserError, describe_optimizer, finite, load_data,  # noqa: F401
                           model_extra, prepare_run, resolve, split_metrics, training_summary)
from mlplab.config.run import CLI_FORMAT  # noqa: F401


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


def _checkpoint_folder(args) -> Path | None:
    """--checkpoint-every's folder, checked writable before training (None without checkpoints)."""
    if args.checkpoint_every is None:
        if args.checkpoint_dir is not None or args.keep_checkpoints is not None:
            raise UserError("--checkpoint-dir/--keep-checkpoints need --checkpoint-every N")
        return None
    ck_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else C.default_dir(args.out)
    if ck_dir is None:
        raise UserError("--checkpoint-every needs a place for the checkpoints: add --out MODEL.safetensors "
                        "or --checkpoint-dir DIR")
    if ck_dir.exists() and not ck_dir.is_dir():
        raise UserError(f"--checkpoint-dir {str(ck_dir)!r} is a file; give a folder")
    if not ck_dir.parent.is_dir():
        raise UserError(f"cannot create checkpoint folder {str(ck_dir)!r}: {str(ck_dir.parent)!r} does not exist")
    probe_folder(ck_dir if ck_dir.is_dir() else ck_dir.parent, f"cannot write checkpoints into {str(ck_dir)!r}")
    return ck_dir


def _check_resume(run: dict, ck_meta: dict, ck_path, fingerprint) -> None:
    """A checkpoint resumes only the same training data and the same network."""
    net = run["net"]
    if ck_meta["extra"]["cli"].get("data_hash") != fingerprint:
        raise UserError(f"the training data differ from those of checkpoint {str(ck_path)!r} (was the data file "
                        "changed?); resuming needs exactly the same data")
    if run["resume"].params.shape != net.params.shape or run["resume"].params.dtype != net.params.dtype:
        raise UserError(f"checkpoint {str(ck_path)!r} does not fit the network {arch_str(net)}")


def _open_checkpoints(args, run: dict, run_args: dict, fingerprint):
    """Create --checkpoint-every's folder, lock it and add the writer to the training keywords.
    Returns (lock, created): ``created`` when this run made the folder."""
    ck_dir = run["ck_dir"]
    created = not ck_dir.exists()
    try:
        ck_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create checkpoint folder {str(ck_dir)!r} ({exc.strerror or exc}); choose "
                        "another --checkpoint-dir") from None
    try:
        lock = C.FolderLock(ck_dir)  # one run per folder: two would prune each other's checkpoints
    except UserError:
        if created:
            _remove_if_empty(ck_dir)
        raise
    writer = C.Writer(ck_dir, args.keep_checkpoints or 2, run["net"],
                      extra={"cli": {"args": run_args, "data_hash": fingerprint}})
    run["train_kw"].update(checkpoint_every=C.steps(args.checkpoint_every, run["optimizer"], len(run["Xtr"])),
                           on_checkpoint=writer)
    return lock, created


def cmd_train(args) -> int:
    resume = ck_meta = ck_path = None
    if args.resume:
        resume, ck_meta, ck_path = C.find_resume(args.resume)
        args, given = C.merge_args(args, ck_meta["extra"]["cli"]["args"], ck_path)
    run_args = C.stored_args(args)
    table = load_data(args)
    cfg = resolve(args, table)
    if resume is not None:
        C.check_unchanged(args, given, lambda a: resolve(a, table), cfg, ck_path)
    out = check_out_path(args.out, ".safetensors", "--out") if args.out else None
    report_path, plots_dir = check_outputs(args.report, args.plots)  # before training, not after it
    check_history(getattr(args, "history", None))  # before training, not after it
    ck_dir = _checkpoint_folder(args)
    run = prepare_run(cfg, table)  # splits, targets, scaler, network, optimizer (shared with sweeps)
    run.update(out=out, report_path=report_path, plots_dir=plots_dir, ck_dir=ck_dir, resume=resume,
               ck_path=ck_path, train_kw={})
    Xtr, ytr = run["X"][run["tr"]], run["y_all"][run["tr"]]
    # the training data's fingerprint (a hash of every byte): only checkpoints store it and --resume compares it
    fingerprint = C.data_hash(Xtr, ytr) if resume is not None or ck_dir is not None else None
    run.update(Xtr=Xtr.astype(run["net"].dtype, copy=False), ytr=ytr)  # cast once, not in each pass (same values)
    if resume is not None:
        _check_resume(run, ck_meta, ck_path, fingerprint)
        run["train_kw"]["resume"] = resume
    lock = created = None
    if ck_dir is not None:
        lock, created = _open_checkpoints(args, run, run_args, fingerprint)
    code = None
    try:
        code = _run(args, cfg, table, run)
        return code
    finally:
        if lock is not None:
            lock.release()
            if created and code != 0:  # a failed run leaves no empty folder behind
                _remove_if_empty(ck_dir)


def _save_interrupted(net, start, best, cfg, Xtr, ytr, out, ck_dir, how_code, extra_for) -> int:
    """After Ctrl-C/SIGTERM: save the better of the best exact record after w^0 and the weights at the
    interrupt, each with E(w) evaluated on all training samples, and say which with its true E.

    Nothing is saved (an existing ``--out`` stays as it is) while the weights are still this run's w^0:
    the interrupt came before any step. Returns the exit code (130 or 143)."""
    how, code = how_code
    again = ""
    if ck_dir is not None and any(ck_dir.glob(C.PATTERN)):
        again = f"; continue the run with `mlplab train --resume {ck_dir}`"
    current = net.params.copy()
    if np.array_equal(current, start):  # (NaN never equals: a blown-up w is not "untouched")
        kept = f" ({out} is unchanged)" if out is not None and Path(out).exists() else ""
        print(f"mlplab: {how} before the first training step; nothing was saved{kept}{again}", file=sys.stderr)
        return code
    try:  # the weights at the interrupt, measured as the records are (E on all training samples)
        E_now = mlplab.Problem(net, Xtr, ytr, loss=cfg["loss"], l2=cfg["l2"], reduction=cfg["reduction"]).value(current)
    except (KeyboardInterrupt, ValueError, FloatingPointError):  # a second Ctrl-C, or weights that overflow
        E_now = math.nan
    if best["params"] is not None and not E_now < best["loss"]:
        net.params[...] = best["params"]
        which, E, k = f"iteration {best['k']}", best["loss"], best["k"]
    elif math.isfinite(E_now):
        which, E, k = "the weights at the interrupt", E_now, None
    else:
        print(f"mlplab: {how}; the weights had no finite E(w) and no exact record after w^0 was finite; "
              f"nothing was saved{again}", file=sys.stderr)
        return code
    path = _interrupt_path(out and str(out))
    extra = extra_for({"interrupted": True, "best_k": k, "best_loss": finite(E)})
    try:
        saved, note = save_with_fallback(net, path, extra)
    except UserError as err:
        print(f"mlplab: {how}; {err}{again}", file=sys.stderr)
        return code
    print(f"mlplab: {how}; the best model so far ({which}, E = {E:.6g} on all {len(Xtr)} training samples) "
          f"was saved to {saved}{note}{again}", file=sys.stderr)
    return code


class _WeightBound(Exception):
    """Raised from the training callback when some |w_i| exceeds --max-weight."""

    def __init__(self, k, value, bound):
        super().__init__(f"max |w_i| = {value:.3g} > {bound:g} at iteration {k}")
        self.k, self.value, self.bound = k, value, bound


def save_with_fallback(net, path: Path, extra: dict) -> tuple[Path, str]:
    """Save the model to ``path``; if that fails (a full disk, a folder gone), to a fallback file.

    Returns (where it was saved, "" or "; cannot write PATH (why)"). The fallback is
    ``<stem>.rescued.safetensors`` in the current folder, else in the temporary folder.

    Raises:
        UserError: nothing could be saved anywhere.
    """
    import tempfile

    path = Path(path)
    try:
        return mlplab.save(net, path, extra=extra), ""
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValueError) and "does not exist" not in str(exc):
            raise
        why = f"; cannot write {str(path)!r} ({getattr(exc, 'strerror', None) or exc})"
    name = f"{path.stem}.rescued.safetensors"
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        target = folder / name
        if target.resolve() == path.resolve():
            continue
        i = 1
        while target.exists():
            target, i = folder / f"{path.stem}.rescued-{i}.safetensors", i + 1
        try:
            return mlplab.save(net, target, extra=extra), why
        except (OSError, ValueError):
            continue
    raise UserError(f"{why.lstrip('; ')}, nor a fallback copy in the current or the temporary folder; "
                    "the trained model is lost — free some space and run again")


def _chance_warning(m: dict, y, cfg) -> str | None:
    """A warning when a classifier ends no better than always answering the most frequent class."""
    if "accuracy" not in m or len(y) == 0:
        return None
    majority = float(np.max(np.bincount(np.asarray(y, dtype=int)))) / len(y)
    if m["accuracy"] > majority + 1e-12:
        return None
    fix = ("a smaller --lr (e.g. 0.01) or --standardize, or --optimizer gd (exact line search)"
           if cfg["optimizer"] != "gd" else "--standardize, more --epochs/--max-iter, or another --seed")
    return (f"training ended at chance level: accuracy {m['accuracy']:.4f} on the training data, no better than "
            f"always answering the most frequent class ({majority:.4f}); the model has learned nothing — try {fix}")


def _remove_if_empty(folder: Path) -> None:
    """A folder this run created and left empty (it failed before writing anything) is removed."""
    try:
        folder.rmdir()  # only succeeds when empty
    except OSError:
        pass


def _watch(run: dict, cfg: dict, best: dict, trajectory, progress):
    """train's callback: record w^k for the report's paths, stop at |w_i| > --max-weight, keep the lowest
    exact E after w^0 (what an interrupt saves), move the progress display."""
    net, bound = run["net"], cfg["max_weight"]
    k_start = 0 if run["resume"] is None else run["resume"].k

    def callback(rec):
        w = net.params
        if trajectory is not None:
            trajectory(rec)
        big = float(np.max(np.abs(w))) if w.size else 0.0
        if not big <= bound:  # also NaN
            raise _WeightBound(rec["k"], big, bound)
        if rec["exact"] and math.isfinite(rec["loss"]) and rec["loss"] < best["loss"] and rec["k"] > k_start:
            best.update(loss=rec["loss"], params=w.copy(), k=rec["k"])
        progress.update(rec, rec["last_step_size"])
        return False

    return callback


def _diverged(exc, cfg) -> UserError:
    """The one line for a run that diverged: where, why, and the fix that applies to its optimizer."""
    hint = ("a smaller --lr or a decaying --schedule (inverse, power)" if cfg["optimizer"] != "gd"
            else "--line-search exact or armijo, or a smaller --lr")
    if isinstance(exc, _WeightBound):
        what = f"max |w_i| = {exc.value:.3g} is above --max-weight {exc.bound:g}"
    else:
        what = str(exc).split(": ", 1)[-1].split(". The last good weights", 1)[0]
        if "diverge_factor" in what:
            what += "; --diverge-factor sets the factor"
    return UserError(f"training diverged at iteration {exc.k} ({what}); try {hint}, "
                     "or --standardize; no model was saved")


def _run(args, cfg, table, run) -> int:
    """Train (the settings are checked and the outputs writable), save, write the report, print.
    Returns the exit code: 0, or 130/143 after an interrupt (the best model so far saved)."""
    net, Xtr, ytr, resume = run["net"], run["Xtr"], run["ytr"], run["resume"]
    interactive = sys.stdout.isatty() and not args.json and not args.quiet
    mode = "off" if args.quiet or args.json else ("rich" if interactive else "plain")
    progress = Progress(_steps_total(cfg, run["optimizer"], len(Xtr)), mode)
    start = net.params.copy()  # w^0 of this run: an interrupt before any step never saves (nor overwrites) it
    best = {"loss": math.inf, "params": None, "k": None}  # the lowest exact E at a record after w^0
    trajectory = None
    if run["report_path"] is not None or run["plots_dir"] is not None:
        from mlplab.analysis import TrajectoryRecorder

        trajectory = TrajectoryRecorder(net)  # every recorded w^k, for the paths on the loss surface
    if resume is not None and not args.json and not args.quiet:
        print(f"resuming from {run['ck_path']} at iteration {resume.k}", flush=True)
    if mode == "plain":
        print(f"training {arch_str(net)} on {table.source} ({len(Xtr)} samples), loss {cfg['loss']}, "
              f"{describe_optimizer(cfg)}", flush=True)
    try:
        result = mlplab.train(net, Xtr, ytr, loss=cfg["loss"], optimizer=run["optimizer"], max_iter=cfg["max_iter"],
                              epochs=cfg["epochs"], tol=cfg["tol"], rtol=cfg["rtol"], time_limit=cfg["time_limit"],
                              eval_every=cfg["eval_every"], callback=_watch(run, cfg, best, trajectory, progress),
                              seed=cfg["seed"], l2=cfg["l2"], reduction=cfg["reduction"],
                              diverge_factor=cfg["diverge_factor"], **run["train_kw"])
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (mlplab.cli.Terminated)
        progress.close()
        how = ("terminated (SIGTERM)", 143) if isinstance(exc, Terminated) else ("interrupted", 130)
        return _save_interrupted(net, start, best, cfg, Xtr, ytr, run["out"], run["ck_dir"], how,
                                 lambda training: model_extra(cfg, table, run["scaler"], metrics={}, training=training))
    except (mlplab.DivergenceError, _WeightBound) as exc:
        progress.close()
        raise _diverged(exc, cfg) from None
    progress.close(result.n_iter)
    return _finish(args, cfg, table, run, result, trajectory, interactive)


def _finish(args, cfg, table, run, result, trajectory, interactive: bool) -> int:
    """After training: metrics per split, the model file, the report/figures/history, the summary."""
    net, out, ytr = run["net"], run["out"], run["ytr"]
    metrics = split_metrics(net, run["X"], run["y_all"], run["tr"], run["va"], run["te"], cfg,
                            train=(run["Xtr"], ytr))
    training = training_summary(result, cfg)
    warning = _chance_warning(metrics["train"], ytr, cfg)
    if warning:
        print(f"mlplab: warning: {warning}", file=sys.stderr, flush=True)
    if out:
        saved, note = save_with_fallback(net, out, model_extra(cfg, table, run["scaler"], metrics, training,
                                                               result.history))
        if note:  # the model is safe elsewhere; the run still failed to do what was asked
            raise UserError(f"{note.lstrip('; ')}; the model was saved to {saved} instead")
    written = None
    if trajectory is not None:
        from mlplab.cli.reports import train_outputs

        path = trajectory.finish(result)
        # after --resume the history also holds the records before the checkpoint; draw the path only when aligned
        path = path if len(path) == len(result.history) else None
        written = train_outputs(net, run["Xtr"], ytr, result, cfg, path, run["report_path"], run["plots_dir"],
                                describe_optimizer(cfg))
    if getattr(args, "history", None):  # (checked before training by cmd_train)
        from mlplab.cli.reports import write_history_file

        training["history_file"] = write_history_file(check_history(args.history),
                                                      [(describe_optimizer(cfg), result.history)])
    if run["ck_dir"] is not None:
        training["checkpoints"] = str(run["ck_dir"])
    if run["resume"] is not None:
        training["resumed_from"] = str(run["ck_path"])
    summary = {"model": None if out is None else str(out), "architecture": arch_str(net),
               "n_params": net.n_params, "data": table.source, "loss": cfg["loss"], "optimizer": describe_optimizer(cfg),
               "training": training, "metrics": metrics}
    if written is not None:
        summary.update(report=written["report"], plots=written["plots"])
    if warning:
        summary["warnings"] = [warning]
    if args.json:
        emit_json(summary)
    else:
        _print_summary(summary, rich=interactive)
    return 0


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
    if t.get("history_file"):
        rows.append(("history", t["history_file"]))
    for split, m in s["metrics"].items():
        score = f"accuracy {m['accuracy']:.4f}" if "accuracy" in m else f"R^2 {fmt(m['r2'])}, MSE {m['mse']:.4g}"
        rows.append((split, f"{score}, mean loss {fmt(m['mean_loss'])} (n = {m['n']})"))
    print_table(rows, "training summary", rich)
