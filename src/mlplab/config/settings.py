"""A run's settings: the parsed options and the data → every training choice, defaults filled in.

:func:`resolve` is the one place the defaults that depend on the data are chosen (sigmoid output +
binary cross-entropy for 2 classes, softmax + cross-entropy for more, identity + squared error for
regression; the slides' networks for the lecture's sets) and the options are checked against each
other, before anything is built: a user error never costs a training run.
"""

from __future__ import annotations

from mlplab import data as D
from mlplab.config.options import BUDGETS, OBJECTIVE, OPTIMIZER
from mlplab.config.types import UserError

# options that only training uses: cleared where a command needs the architecture and loss only
TRAIN_ONLY = tuple(o.dest for o in (*OBJECTIVE, *OPTIMIZER, *BUDGETS) if o.name != "out")

MAX_WEIGHT = 1e100  # default --max-weight: beyond it ‖w‖² and the analyses' differences of w overflow float64
LECTURE_SETS = {"lecture": [], "lecture-network": [2, 2]}  # the slides' architectures (hidden sizes)


def _loss_and_output(args, task: str, C: int | None, lecture: bool) -> tuple[str, str]:
    """(loss, output activation): given, else the pair that fits the task and the number of classes C."""
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
    return loss, out_act


def _layer_sizes(args, name: str, lecture: bool, n_in: int, n_out: int) -> list[int]:
    """N_0, ..., N_L: --layers (checked against the data), else N_0, --hidden (or the default), N_L."""
    if args.layers is not None:
        sizes = list(args.layers)
        if len(sizes) < 2:
            raise UserError(f"--layers needs at least input and output sizes, got {args.layers}")
        if sizes[0] != n_in or sizes[-1] != n_out:
            raise UserError(f"--layers {','.join(map(str, sizes))} does not fit the data: it has {n_in} features "
                            f"and needs {n_out} output(s); use --layers {n_in},...,{n_out} or --hidden")
        return sizes
    hidden = args.hidden if args.hidden is not None else (LECTURE_SETS[name] if lecture else [16])
    return [n_in, *hidden, n_out]


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
    loss, out_act = _loss_and_output(args, task, C, lecture)
    n_in = table.X.shape[1]
    if task == "regression":
        n_out = 1
    else:
        n_out = 1 if C == 2 and out_act != "softmax" and loss != "cross_entropy" else C
    sizes = _layer_sizes(args, name, lecture, n_in, n_out)
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
