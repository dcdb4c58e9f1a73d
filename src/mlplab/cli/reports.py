"""``mlplab compare``, ``mlplab report`` and the ``--report``/``--plots`` outputs shared with ``train``.

The numbers come from :mod:`mlplab.compare` and :mod:`mlplab.analysis`; the
pictures from :mod:`mlplab.report` (Plotly, one self-contained HTML file) and
:mod:`mlplab.plots` (matplotlib PNGs). Both libraries are imported here only,
inside the handlers, after :func:`require_viz` has checked they are installed.

Writes never leave half a result behind: the report is written into a
temporary folder beside the target and moved over it with ``os.replace``; each
PNG likewise, one file at a time.

Optimizer specs for ``compare --method`` (``minibatch:2:inverse:1.0``) are read by
:mod:`mlplab.config.methods`; :func:`method_name` labels them in the lecture's notation.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

import mlplab
from mlplab import data as D
from mlplab.cli.common import check_out_path, emit_json, probe_folder
from mlplab.cli.models import load_model, model_targets
from mlplab.config import (TRAIN_ONLY, UserError, build_net, build_optimizer, describe_optimizer, finite, load_data,
                           resolve, targets)
from mlplab.config.methods import EXAMPLES, OPTIMIZERS, SCHEDULES, method_list, parse_method  # noqa: F401

INSTALL = 'pip install "mlplab[viz]"'


# --- optimizer specs ---------------------------------------------------------------------------


def method_name(cfg: dict) -> str:
    """A short label in the lecture's notation: 'GD, exact line search', 'mini-batch SGD, |B|=2, γ_k = 1/(k+1)'."""
    opt = cfg["optimizer"]
    if opt == "gd":
        return f"GD, constant step {cfg['lr']:g}" if cfg["line_search"] == "none" else f"GD, {cfg['line_search']} line search"
    c = cfg["lr"]
    times = "" if c == 1 else f"{c:g}·"
    gamma = {"constant": f"{c:g}", "inverse": f"{c:g}/(k+1)", "power": f"{c:g}/(k+1)^0.75",
             "step": f"{times}0.5^⌊k/1000⌋", "exp": f"{times}exp(−0.001k)"}[cfg["schedule"]]
    label = {"sgd": "SGD", "minibatch": "mini-batch SGD", "momentum": "momentum", "adam": "Adam"}[opt]
    batch = "" if opt == "sgd" else f", |B|={cfg['batch_size']}"
    beta = f", β = {cfg['beta']:g}" if cfg.get("beta") is not None else ""
    return f"{label}{batch}, γ_k = {gamma}{beta}"


# --- outputs -----------------------------------------------------------------------------------


def require_viz(report, plots) -> None:
    """Fail early, with the install command, when plotly (--report) or matplotlib (--plots) is missing."""
    for wanted, module, what in ((report, "plotly", "an HTML report"), (plots, "matplotlib", "PNG figures")):
        if not wanted:
            continue
        try:
            __import__(module)
        except ImportError:
            raise UserError(f"{what} needs {module}, which is not installed; install it with: {INSTALL}") from None


def check_outputs(report, plots, report_flag="--report"):
    """Validate --report FILE.html and --plots DIR before any work is done; returns (Path|None, Path|None)."""
    rpath = check_out_path(report, ".html", report_flag) if report else None
    pdir = None
    if plots:
        pdir = Path(plots)
        if pdir.exists() and not pdir.is_dir():
            raise UserError(f"--plots {plots!r} is a file; give a folder for the PNG files")
        parent = pdir if pdir.is_dir() else (pdir.parent if str(pdir.parent) else Path("."))
        if not parent.is_dir():
            raise UserError(f"cannot create --plots folder {plots!r}: {str(parent)!r} does not exist; create it first")
        probe_folder(parent, f"cannot write PNG files into {plots!r}")
    require_viz(rpath, pdir)
    return rpath, pdir


def write_outputs(comp, rpath: Path | None, pdir: Path | None) -> dict:
    """Write the report and/or the PNGs without ever leaving a half-written file; returns the paths written."""
    out = {"report": None, "plots": []}
    try:
        if rpath is not None:
            from mlplab.report import write_report

            write_report(rpath, comp)  # atomic (mlplab.io.atomic_write): a whole file or none
            out["report"] = str(rpath)
        if pdir is not None:
            from mlplab.plots import save_pngs

            created = not pdir.exists()
            pdir.mkdir(exist_ok=True)
            tmp = None
            try:
                tmp = Path(tempfile.mkdtemp(prefix=".mlplab-plots.", dir=pdir))
                for p in save_pngs(tmp, comp):
                    os.replace(p, pdir / p.name)
                    out["plots"].append(str(pdir / p.name))
            except BaseException:
                if tmp is not None:
                    shutil.rmtree(tmp, ignore_errors=True)
                for p in out["plots"]:
                    Path(p).unlink(missing_ok=True)
                out["plots"] = []
                if created:  # no empty folder left behind
                    shutil.rmtree(pdir, ignore_errors=True)
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        where = exc.filename or (rpath if out["report"] is None and rpath is not None else pdir)
        raise UserError(f"cannot write {str(where)!r}: {exc.strerror or exc}") from None
    return out


def check_history(path):
    """Validate ``--history FILE.csv|.json`` before any work is done; returns a Path or None."""
    if not path:
        return None
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".tsv", ".json"):
        raise UserError(f"--history {path!r}: use a .csv or .json file name (e.g. --history history.csv)")
    if p.is_dir():
        raise UserError(f"--history {path!r} is a folder; give a file name like {str(p / 'history.csv')!r}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"cannot write --history {path!r}: folder {str(parent)!r} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise UserError(f"cannot write --history {path!r}: folder {str(parent)!r} is not writable")
    return p


def write_history_file(path: Path, runs) -> str:
    """Write every run's recorded history (:func:`mlplab.compare.write_history`); returns the path written."""
    from mlplab.compare import write_history

    try:
        return str(write_history(path, runs))
    except OSError as exc:
        raise UserError(f"cannot write --history {str(path)!r}: {exc.strerror or exc}") from None


def _say_written(written: dict, quiet: bool) -> None:
    if quiet:
        return
    if written["report"]:
        print(f"report: {written['report']}", file=sys.stderr)
    if written["plots"]:
        print(f"figures: {len(written['plots'])} PNG files in {Path(written['plots'][0]).parent}", file=sys.stderr)
    if written.get("history"):
        print(f"history: {written['history']}", file=sys.stderr)


def _diagnosis_json(d) -> dict:
    """The gradient-flow verdict and the per-sample medians it was decided from."""
    return {"kind": d.kind, "layers": list(d.layers), "point": d.point, "basis": d.basis,
            "median_grad_norm": [finite(float(v)) for v in d.grad_median],
            "median_chain_ratio": [finite(float(v)) for v in d.chain]}


def _comparison_json(comp, written: dict) -> dict:
    rows = [{k: (finite(v) if isinstance(v, float) else v) for k, v in row.items()} for row in comp.table()]
    for row, run in zip(rows, comp.runs):
        row["where it stopped (message)"] = run.stop.message if run.stop is not None else None
    return {"title": comp.title, "E_ref": finite(comp.E_ref), "E_ref_note": comp.E_ref_note,
            "budget": comp.budget, "config": {k: v for k, v in comp.config.items()}, "runs": rows,
            "gradient_flow": None if comp.gradient_flow is None else comp.gradient_flow.diagnosis.message,
            "gradient_flow_diagnosis": None if comp.gradient_flow is None else _diagnosis_json(comp.gradient_flow.diagnosis),
            **written}


# --- compare -----------------------------------------------------------------------------------

_ARCH_FLAGS = ("layers", "hidden", "activation", "output_activation", "loss", "bias", "init", "dtype", "task",
               "n_samples", "noise", "target")


def _problem(args):
    """(net, X, y, cfg) for a data set / architecture given by the flags; (None, None, None, None) for the toy default."""
    if (args.data in (None, "lecture")) and all(getattr(args, f) is None for f in _ARCH_FLAGS):
        return None, None, None, None  # the lecture's toy problem with the slides' w^0 = (0.5, 0.5)
    table = load_data(args)
    ns = argparse.Namespace(**vars(args))
    for flag in TRAIN_ONLY:
        setattr(ns, flag, None)
    cfg = resolve(ns, table)
    try:
        net = build_net(cfg)
        y = targets(table, cfg)
        mlplab.Problem(net, table.X[:1], y[:1], cfg["loss"])
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return net, table.X, y, cfg


def _w0(text: str | None, d: int):
    if text is None:
        return None
    if text.lower().endswith(".npy"):
        try:
            w = np.load(text, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UserError(f"--w0 {text!r}: cannot read the .npy file ({exc})") from None
    else:
        try:
            w = np.array([float(v) for v in text.replace(" ", "").strip("[]").split(",")])
        except ValueError:
            raise UserError(f"--w0 expects comma-separated numbers like 0.5,0.5 or a .npy file, got {text!r}") from None
    w = np.asarray(w, dtype=np.float64).ravel()
    if w.shape != (d,):
        raise UserError(f"--w0 has {w.size} values but the network has d = {d} parameters; give {d} values")
    if not np.all(np.isfinite(w)):
        raise UserError(f"--w0 must be finite, got {text!r}")
    return w


def cmd_compare(args) -> int:
    from mlplab import compare

    if args.budget < 1:
        raise UserError(f"--budget must be a positive integer (sample-gradient evaluations), got {args.budget}")
    rpath, pdir = check_outputs(args.report, args.plots)
    hpath = check_history(getattr(args, "history", None))
    net, X, y, cfg = _problem(args)
    sizes = mlplab.datasets.LECTURE_SIZES
    d = sum(a * b for a, b in zip(sizes, sizes[1:])) if net is None else net.n_params  # the toy net has no biases
    w0 = _w0(args.w0, d)
    specs = None
    if args.method:
        specs, seen = [], {}
        for mcfg in (m for group in args.method for m in group):
            name = method_name(mcfg)
            seen[name] = seen.get(name, 0) + 1
            specs.append((name if seen[name] == 1 else f"{name} #{seen[name]}", build_optimizer(mcfg)))
    seed = 0 if args.seed is None else args.seed
    tol = 1e-6 if args.tol is None else (args.tol or None)
    extra = {} if cfg is None else {"data": cfg["data"]}
    try:
        comp = compare.run_comparison(net, X, y, "squared" if cfg is None else cfg["loss"], specs,
                                      budget=args.budget, w0=w0, seed=seed, tol=tol, rtol=args.rtol or None,
                                      config=extra,
                                      title="The lecture's toy problem: optimizer comparison"
                                      if net is None and specs is not None else None)
    except ValueError as exc:  # a diverging method, or a combination the engine rejects
        raise UserError(str(exc)) from None
    written = write_outputs(comp, rpath, pdir)
    if hpath is not None:
        written["history"] = write_history_file(hpath, comp)
    if args.json:
        emit_json(_comparison_json(comp, written))
        return 0
    print(compare.format_table(comp))  # the result, not progress: printed with --quiet too, as train's summary
    _say_written(written, args.quiet)
    return 0


# --- train --report / --plots -------------------------------------------------------------------


def train_outputs(net, X, y, result, cfg, trajectory, rpath, pdir, name) -> dict:
    """The report/PNGs of one finished ``train`` run."""
    from mlplab import compare

    config = {k: cfg[k] for k in ("data", "task", "loss", "l2", "reduction", "seed", "init") if k in cfg}
    if cfg.get("l2") or cfg.get("reduction") == "mean":
        config["note"] = "E in the figures is the sum of e^s without the regulariser"
    comp = compare.from_result(net, X, y, result, loss=cfg["loss"], trajectory=trajectory, name=name, config=config)
    return write_outputs(comp, rpath, pdir)


# --- report MODEL ----------------------------------------------------------------------------------


def _history_from(stored, net, E, g):
    """The stored history of a CLI model file, or one record at its weights (E, ∇E = g) when it holds none."""
    from mlplab.train import History

    h = History()
    if isinstance(stored, dict) and stored.get("k"):
        try:
            h = History.from_dict(stored)
            if "capped" not in stored:  # files before 0.3 kept only 'unbounded'
                h.capped = list(h.unbounded)
            return h, True
        except ValueError:
            h = History()  # unreadable: fall back to the final point only
    h.k, h.epoch, h.loss = [0], [0.0], [float(E)]
    h.grad_norm = [float(np.linalg.norm(g))]
    h.layer_grad_norms = [[float(np.linalg.norm(g[s.W])) for s in net.slices]]
    h.step_size, h.ls_evals, h.capped, h.cost, h.time = [float("nan")], [0], [False], [0], [0.0]
    h.forward_evals, h.unbounded = [0], [False]
    return h, False


_ABSURD = 1e100  # |w_i| beyond this: ‖w‖², differences of w and surfaces around w overflow float64


def _check_sane(path: str, net, E, g) -> None:
    """A model whose E(w), ∇E(w) or weights are non-finite or absurdly large cannot be analysed: say so."""
    w = net.params
    big = float(np.max(np.abs(w))) if w.size else 0.0
    problems = []
    if not np.isfinite(E):
        problems.append(f"E(w) = {E}")
    if not np.all(np.isfinite(g)):
        problems.append("∇E(w) is not finite")
    if not np.isfinite(big) or big > _ABSURD:
        problems.append(f"max |w_i| = {big:.3g}")
    elif np.isfinite(E) and abs(E) > 1e300:
        problems.append(f"E(w) = {E:.6g}")
    if problems:
        raise UserError(f"model {path!r} has absurd values ({'; '.join(problems)}); it looks like the result of a "
                        "diverged run, which cannot be analysed — re-train it with a smaller step or a line search")


def _stored_grad_scale(history, has_history: bool, config: dict, S: int) -> float | None:
    """‖∇E(w^0)‖ of the sum of e^s without regulariser, from the model's stored first record (exact at k = 0),
    so that `report MODEL` judges the saved w on the scale the training's own report used; None if unknown."""
    if not has_history or not len(history) or history.k[0] != 0 or config.get("l2"):
        return None
    g0 = float(history.grad_norm[0])
    g0 *= S if config.get("reduction") == "mean" else 1.0
    return g0 if np.isfinite(g0) and g0 > 0 else None


def cmd_report(args) -> int:
    from mlplab import compare
    from mlplab.train import TrainResult

    if not args.out and not args.plots:
        raise UserError("nothing to write: add --out REPORT.html and/or --plots DIR")
    rpath, pdir = check_outputs(args.out, args.plots, "--out")
    net, meta, info, scaler = load_model(args.model)
    table, X, y = model_targets(args, net, info, scaler, "a report")
    cli = (meta.get("extra") or {}).get("cli") or {}
    config, training = cli.get("config") or {}, cli.get("training") or {}
    try:
        optimizer, name = build_optimizer(config), describe_optimizer(config)
    except (KeyError, TypeError, ValueError):
        optimizer, name = None, f"model {Path(args.model).name}"
    try:
        E, g = net.loss_and_grad(X, y, info["loss"], l2=0.0, reduction="sum")  # E(w), ∇E(w) at the saved w
    except ValueError as exc:
        raise D.DataError(f"{table.source!r}: {exc}") from None
    _check_sane(args.model, net, E, g)
    history, has_history = _history_from(cli.get("history"), net, E, g)
    result = TrainResult(params=net.params.copy(), stop_reason=str(training.get("stop_reason", "saved model")),
                         n_iter=int(training.get("n_iter") or 0), epochs=float(training.get("epochs") or 0.0),
                         loss=float(E), grad_norm=float(np.linalg.norm(g)), cost=int(training.get("cost") or 0),
                         history=history, elapsed=float(training.get("elapsed_s") or 0.0), optimizer=optimizer,
                         opt_state=None)
    shown = {"model file": args.model, "data": table.source, "task": info["task"],
             "history": "from the model file" if has_history else "not stored in the model file (final point only)"}
    shown.update({k: config[k] for k in ("seed", "init", "l2", "reduction") if k in config})
    try:
        comp = compare.from_result(net, X, y, result, loss=info["loss"], name=name, config=shown,
                                   grad_scale=_stored_grad_scale(history, has_history, config, len(X)))
    except (np.linalg.LinAlgError, FloatingPointError, OverflowError) as exc:
        raise UserError(f"cannot analyse model {args.model!r}: its weights make the analysis fail ({exc}); "
                        "they look like the result of a diverged run — re-train it with a smaller step") from None
    if optimizer is None:
        comp.runs[0].theory = "unknown (the model file does not say how it was trained)"
        comp.config["optimizer"] = "unknown (no mlplab command-line metadata)"
    comp.title = f"mlplab model report: {Path(args.model).name}"
    if not has_history:  # the one point is the saved final weights, not w^0 and not a path
        comp.start_label = "w (saved)"
        comp.notes.append(f"The model file {Path(args.model).name} holds no training history: the figures show "
                          "only the saved weights w (saved) — no path, no convergence over k, no fitted rate.")
    written = write_outputs(comp, rpath, pdir)
    if args.json:
        emit_json(_comparison_json(comp, written))
        return 0
    # the result is printed with --quiet too (as train's summary); only the "report: ..." lines are progress
    run = comp.runs[0]
    print(f"{Path(args.model).name} on {table.source}: E(w) = {result.loss:.6g}, ||grad E(w)|| = {result.grad_norm:.3e}")
    if run.stop is not None:
        print(f"where it stopped: {run.stop.message}")
    if comp.gradient_flow is not None:
        print(f"gradient flow: {comp.gradient_flow.diagnosis.message}")
    _say_written(written, args.quiet)
    return 0
