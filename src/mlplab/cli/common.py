"""What the subcommands share: settings resolution, data and model loading, output checks, printing.

Every command module (:mod:`~mlplab.cli.commands`, :mod:`~mlplab.cli.train`,
:mod:`~mlplab.cli.reports`) imports from here and from nothing above it, so the
command modules depend only downward::

    cli/__init__ (parser, front door)  ->  commands, train -> reports  ->  common  ->  engine

* settings: :func:`resolve` (every training choice, defaults from the data),
  :func:`build_net`, :func:`build_optimizer`, :func:`describe_optimizer`, :func:`targets`;
* data and models: :func:`load_data`, :func:`load_model`, :func:`model_inputs`
  (columns matched by name when the model and the file both have them), :func:`model_targets`;
* outputs: :func:`check_out_path` (the folder must really accept a new file: a temporary
  file is created and removed), :func:`check_memory`;
* printing: :func:`emit_json`, :func:`print_table`, :func:`fmt`, :func:`finite`, :func:`arch_str`.
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

# flags that only training uses: cleared where a command needs the architecture and loss only
TRAIN_ONLY = ("l2", "reduction", "optimizer", "line_search", "lr", "schedule", "power", "decay_factor",
              "decay_every", "decay_rate", "batch_size", "average", "sampling", "beta", "nesterov", "max_iter",
              "epochs", "time_limit", "eval_every", "val_split", "test_split", "standardize", "tol", "rtol",
              "diverge_factor", "max_weight")

# --- settings ---------------------------------------------------------------------------------

MAX_WEIGHT = 1e100  # default --max-weight: beyond it ‖w‖² and the analyses' differences of w overflow float64
LECTURE_SETS = {"lecture": [], "lecture-network": [2, 2]}  # the slides' architectures (hidden sizes)


def resolve(args, table: D.Table):
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
        diverge_factor=getattr(args, "diverge_factor", None) or 1e6,
        max_weight=getattr(args, "max_weight", None) or MAX_WEIGHT,
    )
    cfg.update(optimizer_config(args, cfg["optimizer"]))
    return cfg


def optimizer_config(args, opt: str) -> dict:
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


# copies of w a run holds at once: w, ∇E, the step (or optimizer buffers) and the best w so far
WEIGHT_COPIES = 4


def build_net(cfg: dict):
    """The network the resolved settings describe (architecture, activations, bias, w^0, dtype).

    Its memory is checked first: :data:`WEIGHT_COPIES` copies of w must fit into the memory
    available now, else a :class:`~mlplab.cli.UserError` names the sizes (nothing is allocated).
    """
    from mlplab._memory import check_memory, gib

    sizes = [int(n) for n in cfg["layer_sizes"]]
    d = sum((a + bool(cfg["bias"])) * b for a, b in zip(sizes, sizes[1:]))
    itemsize = np.dtype(cfg["dtype"]).itemsize
    fix = "use smaller --hidden/--layers" + (" or --dtype float32" if itemsize > 4 else "")
    try:
        check_memory(WEIGHT_COPIES * d * itemsize, f"the network {'-'.join(map(str, sizes))} ({d:,} parameters: "
                     f"{gib(d * itemsize)} in {cfg['dtype']}) and the {WEIGHT_COPIES} copies of its weights that training holds", fix)
        return mlplab.MLP(sizes, activation=cfg["activation"], output_activation=cfg["output_activation"],
                          bias=cfg["bias"], init=cfg["init"], seed=cfg["seed"], dtype=cfg["dtype"])
    except MemoryError as exc:
        raise UserError(str(exc) if str(exc) else f"out of memory building the network {sizes}; {fix}") from None


def targets(table: D.Table, cfg) -> np.ndarray:
    """What the engine trains on: codes 0..C−1 for classes, floats for regression."""
    if cfg["task"] == "classification":
        return D.codes_for(table.y, cfg["classes"], table.source)
    return table.y.astype(np.float64)




# --- data, models, outputs, printing ----------------------------------------------------------------------------------


def emit_json(obj) -> None:
    print(json.dumps(obj, indent=2, allow_nan=False, default=_json_default))


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def finite(x):
    return None if x is None or not math.isfinite(x) else float(x)


def is_builtin(spec: str) -> bool:
    return spec in mlplab.datasets.DATASETS


DATA_COPIES = 8  # a drawn set is held about this many times at once: drawing, shuffling, splits, casts, targets


def _check_data_memory(spec: str, synth: dict) -> None:
    """--n-samples S of a synthetic set: its S × (N_0 + 1) numbers, DATA_COPIES times, must fit in memory."""
    from mlplab._memory import check_memory, gib

    n = int(synth["n_samples"])
    width = mlplab.datasets.load(spec, **{**synth, "n_samples": 8})[0].shape[1] + 1
    need = float(n) * width * 8 * DATA_COPIES
    try:
        check_memory(need, f"{n:,} samples of {spec!r} ({gib(float(n) * width * 8)} as float64, held about "
                     f"{DATA_COPIES} times while drawing, splitting and training)", "use a smaller --n-samples")
    except MemoryError as exc:
        raise UserError(str(exc)) from None


def load_data(args, *, require_target=True, n_features=None, target_hint=None) -> D.Table:
    """The data argument: a built-in name, a file, or (None) the lecture's toy set."""
    spec = getattr(args, "data", None) or "lecture"
    # the synthetic sets are always drawn with their own fixed seed: --seed is the run's (w^0, sampling, splits)
    synth = {k: v for k, v in (("n_samples", args.n_samples), ("noise", args.noise)) if v is not None}
    if is_builtin(spec):
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
        if classes is not None:  # class names instead of codes, as the bundled set documents them
            y = np.array(classes, dtype=object)[y.astype(int)]
        return D.Table(X=X, y=y, feature_names=features or [f"x{j + 1}" for j in range(X.shape[1])], source=spec,
                       named=bool(features))
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


def check_out_path(path: str, suffix: str, what: str) -> Path:
    p = Path(path)
    if p.suffix.lower() != suffix:
        raise UserError(f"{what} {path!r} must end in {suffix}; e.g. {what} "
                        f"{'run' if suffix == '.html' else 'model'}{suffix}")
    target = Path(os.path.realpath(p)) if p.is_symlink() else p  # a link is written through to its target
    if target.exists() and not target.is_dir() and not target.is_file():
        raise UserError(f"cannot write {path!r}: it is not a regular file (a FIFO, a device or a socket); "
                        "give the path of a file")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"cannot write {path!r}: folder {str(folder)!r} does not exist; create it first")
    if p.is_dir():
        raise UserError(f"cannot write {path!r}: it is a folder; give a file name")
    probe_folder(folder, f"cannot write {path!r}")
    return p


def probe_folder(folder: Path, what: str) -> None:
    """Create and remove a temporary file in ``folder``: the one sure test that a file can be written there.

    ``os.access`` says yes to root in read-only or virtual folders (/proc, /sys) where every write
    fails; this is checked before any work is done. ``what`` starts the error message.
    """
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".mlplab-probe.{os.getpid()}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UserError(f"{what}: folder {str(folder)!r} does not accept new files ({exc.strerror or exc}); "
                        "choose another folder") from None
    os.close(fd)
    try:
        os.unlink(tmp)
    except OSError:
        pass


# --- shared by the subcommands ---------------------------------------------------------------


def arch_str(net) -> str:
    acts = ",".join(a.name for a in net.activations)
    return f"{'-'.join(map(str, net.layer_sizes))} ({acts}{'' if net.bias else ', no bias'})"


def evaluate_metrics(net, X, y, cfg) -> dict:
    """E (as trained: sum or mean), mean e, and accuracy + confusion matrix, or MSE and R²."""
    problem = mlplab.Problem(net, X, y, cfg["loss"])
    out = np.empty((problem.S, net.n_outputs), dtype=net.dtype)
    E = problem.value(net.params, outputs=out)  # Σ_s e^s and ŷ^s from one forward pass
    m = {"n": int(len(X)), "loss": finite(E), "mean_loss": finite(E / len(X))}
    if cfg["task"] == "classification":
        pred = predict_codes(out, cfg["loss"], net, 0.5)
        C = len(cfg["classes"])
        conf = np.zeros((C, C), dtype=int)
        np.add.at(conf, (y.astype(int), pred), 1)
        m.update(accuracy=float(np.mean(pred == y)), confusion=conf.tolist())
    else:
        yhat = out[:, 0].astype(np.float64)
        mse = float(np.mean((y - yhat) ** 2))
        var = float(np.var(y))
        m.update(mse=mse, r2=finite(1 - mse / var) if var > 0 else None)
    return m


def predict_codes(out, loss, net, threshold) -> np.ndarray:
    if out.shape[1] > 1:
        return np.argmax(out, axis=1)
    cut = 0.0 if loss == "perceptron" else threshold  # perceptron: sign of the identity output
    return (out[:, 0] >= cut).astype(int)


def fmt(v):
    return "n/a" if v is None else f"{v:.4g}"


def print_table(rows, title, rich: bool) -> None:
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


def prepare_run(cfg: dict, table) -> dict:
    """Splits, scaler, targets, network and optimizer of a ``train`` run (the CLI's and each sweep run's),
    with ``mlplab train``'s checks and messages.

    Returns a dict: X (all rows, standardized if asked), y_all, tr/va/te indices, scaler, net, optimizer.
    """
    y_all = targets(table, cfg)
    tr, va, te = D.split_indices(len(table.X), cfg["val_split"], cfg["test_split"], cfg["seed"])
    if cfg["task"] == "classification" and len(np.unique(y_all[tr])) < 2:
        raise UserError("the training split holds a single class; use a smaller --val-split/--test-split or "
                        "another --seed")
    scaler = D.StandardScaler.fit(table.X[tr]) if cfg["standardize"] else None
    X = scaler.transform(table.X) if scaler else table.X
    try:
        net = build_net(cfg)
        optimizer = build_optimizer(cfg)
        mlplab.Problem(net, X[tr[:1]], y_all[tr[:1]], cfg["loss"], l2=cfg["l2"], reduction=cfg["reduction"])
    except ValueError as exc:  # activation/loss/init combinations the engine rejects
        raise UserError(str(exc)) from None
    return dict(X=X, y_all=y_all, tr=tr, va=va, te=te, scaler=scaler, net=net, optimizer=optimizer)


def split_metrics(net, X, y_all, tr, va, te, cfg: dict, train=None) -> dict:
    """The trained net's metrics on the train split, and on validation/test when they hold samples
    (the splits of :func:`prepare_run`). ``train``: (X[tr], y_all[tr]) when the caller has them."""
    Xtr, ytr = (X[tr], y_all[tr]) if train is None else train
    metrics = {"train": evaluate_metrics(net, Xtr, ytr, cfg)}
    for name, idx in (("validation", va), ("test", te)):
        if len(idx):
            metrics[name] = evaluate_metrics(net, X[idx], y_all[idx], cfg)
    return metrics


def training_summary(result, cfg: dict) -> dict:
    """What a model file and ``--json`` record of a finished :func:`mlplab.train` run: the stop, E(w^k),
    ‖∇E(w^k)‖ (and at w^0), the cost and the stopping rules."""
    return {"stop_reason": result.stop_reason, "n_iter": result.n_iter, "epochs": result.epochs,
            "loss": finite(result.loss), "grad_norm": finite(result.grad_norm), "cost": result.cost,
            "forward_evals": result.forward_evals, "grad_norm0": finite(result.grad_norm0),
            "tol": cfg["tol"] or None, "rtol": cfg["rtol"],
            "unbounded_steps": int(sum(result.history.unbounded)),
            "elapsed_s": result.elapsed, "interrupted": False}
