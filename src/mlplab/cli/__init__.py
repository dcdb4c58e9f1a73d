"""``mlplab`` — the command line: train, evaluate, predict, inspect, gradcheck, datasets, compare, report.

Every subcommand goes through the same front door (:func:`main`):

* flags, optionally preceded by ``--config run.toml`` whose keys are the long
  flag names (``batch-size = 32`` or ``batch_size = 32``; lists for
  ``hidden = [64, 32]``; booleans for on/off flags; ``data = "file.csv"``);
  top-level keys apply to every subcommand that has the option, a ``[train]``
  (``[evaluate]``, …) table to that subcommand only; flags on the command line
  override the file;
* exit codes: 0 success; 2 user error (bad flag, bad file, bad data), reported
  as ONE line on stderr saying what is wrong and how to fix it; 1 internal
  error (a bug: the line says so; ``MLPLAB_DEBUG=1`` prints the traceback);
  130 after Ctrl-C, 143 after SIGTERM (training saves its best model first and says where).

The ``mlplab`` command enters through :mod:`_mlplab_main`, which takes Ctrl-C and SIGTERM over before
the engine is imported, so an interrupt at any moment ends in one line.

``train`` lives in :mod:`mlplab.cli.train` (checkpoints and resume in
:mod:`mlplab.cli.checkpoints`, progress display in :mod:`mlplab.cli.progress`),
``compare``, ``report`` and the ``--report``/``--plots`` outputs in :mod:`mlplab.cli.reports`,
the other subcommands in :mod:`mlplab.cli.commands`; what they share (settings resolution, data and
model loading, output checks, printing) in :mod:`mlplab.cli.common`, which imports none of them.
:data:`COMMANDS` maps each subcommand to its handler.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

PROG = "mlplab"


class UserError(Exception):
    """A problem with what the user asked for; exit code 2, one line on stderr."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, docker stop, a batch scheduler's time limit), raised where the program is.

    A ``KeyboardInterrupt``, so that everything that handles Ctrl-C (training saves the best model so
    far) handles it the same way; the exit code is 143 (128 + SIGTERM) instead of 130.
    """


def _on_sigterm(signum, frame):
    raise Terminated()


def _interrupted(exc) -> int:
    """One line for Ctrl-C (exit 130) or SIGTERM (exit 143) outside training (which says what it saved)."""
    if isinstance(exc, Terminated):
        print("mlplab: terminated (SIGTERM)", file=sys.stderr)
        return 143
    print("mlplab: interrupted", file=sys.stderr)
    return 130


def _interrupt_behind(exc):
    """The KeyboardInterrupt that ``exc`` was raised from (its __cause__/__context__ chain), or None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _install_sigterm() -> None:
    import signal

    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM on this platform
        pass


class _Parser(argparse.ArgumentParser):
    """argparse whose errors become :class:`UserError` (one line, exit 2) instead of usage + exit.

    Abbreviated long options are refused (``allow_abbrev=False``): ``--epoch 3`` is an error, not
    ``--epochs 3``, so a typo never silently picks some other flag.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UserError(f"{message} (see `{self.prog} --help`)")


# --- argument types: each rejects a bad value with a message naming the rule -----------------


def _int(low: int):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    parse.__name__ = f"integer>={low}"
    return parse


def _float(low: float | None = None, high: float | None = None, low_open=False, high_open=False):
    lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
    hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
    rule = f"a finite number in {lo or '(-inf'}, {hi or 'inf)'}"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {rule}, got {text!r}") from None
        ok = value == value and abs(value) != float("inf")
        if ok and low is not None:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value < high if high_open else value <= high
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {rule}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


def _int_list(allow_empty: bool):
    def parse(text):
        text = text.strip().strip("[]")
        if not text:
            if allow_empty:
                return []
            raise argparse.ArgumentTypeError("expected comma-separated positive integers like 2,2,1, got ''")
        try:
            values = [int(v) for v in text.replace(" ", "").split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated positive integers like 64,32, got {text!r}") from None
        if any(v < 1 for v in values):
            raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
        return values

    parse.__name__ = "list"
    return parse


def _init_spec(text):
    from mlplab.initializers import parse_init

    try:
        parse_init(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


_init_spec.__name__ = "init"

POSITIVE_INT = _int(1)
NONNEG_INT = _int(0)
POSITIVE = _float(0.0, low_open=True)
NONNEG = _float(0.0)
FRACTION = _float(0.0, 1.0, high_open=True)


# --- the parser ------------------------------------------------------------------------------


def build_parser() -> _Parser:
    from mlplab import __version__
    from mlplab.activations import ACTIVATIONS
    from mlplab.losses import LOSSES

    parser = _Parser(prog=PROG, description="Train, evaluate and use multi-layer perceptrons the lecture's way.")
    parser.add_argument("--version", action="version", version=f"mlplab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="TOML", help="read options from a TOML file; flags override it")
    common.add_argument("--json", action="store_true", help="print one machine-readable JSON object")
    common.add_argument("--quiet", "-q", action="store_true", help="no progress output")

    def data_opts(p, default="the lecture's toy set"):
        p.add_argument("data", nargs="?", help="built-in data set name (see `mlplab datasets`) or a "
                       f".csv/.tsv/.npz/.npy file, or X.npy,y.npy (default: {default})")
        p.add_argument("--target", metavar="NAME|INDEX", help="CSV target column (default: the last column)")
        p.add_argument("--n-samples", type=POSITIVE_INT, metavar="S", help="synthetic sets: number of samples")
        p.add_argument("--noise", type=NONNEG, metavar="SIGMA", help="synthetic sets: noise level")

    def arch_opts(p):
        p.add_argument("--layers", type=_int_list(False), metavar="N0,...,NL",
                       help="all layer sizes, inputs to outputs (e.g. 2,2,1)")
        p.add_argument("--hidden", type=_int_list(True), metavar="N1,...",
                       help="hidden layer sizes (default 16; '' for none); inputs/outputs come from the data")
        p.add_argument("--activation", choices=sorted(a for a in ACTIVATIONS if a != "softmax"),
                       help="hidden activation (default tanh; sigmoid for the lecture sets)")
        p.add_argument("--output-activation", choices=sorted(ACTIVATIONS),
                       help="output activation (default: from the loss)")
        p.add_argument("--loss", choices=sorted(LOSSES),
                       help="default: binary_cross_entropy (2 classes), cross_entropy (more), squared (regression)")
        p.add_argument("--bias", action=argparse.BooleanOptionalAction, default=None,
                       help="biases b^l (default on; off for the lecture sets)")
        p.add_argument("--init", type=_init_spec, help="initial weights: glorot (default), he, normal(0.1), zeros, ...")
        p.add_argument("--dtype", choices=["float64", "float32"], default=None, help="default float64")
        p.add_argument("--seed", type=NONNEG_INT, default=None, help="seed of w^0, sampling and splits (default 0)")
        p.add_argument("--task", choices=["classification", "regression"],
                       help="default: classification for text labels or <= 20 integer values")

    def viz_opts(p, report_flag="--report"):
        v = p.add_argument_group("report and figures (need matplotlib/plotly: pip install \"mlplab[viz]\")")
        if report_flag == "--report":
            v.add_argument("--report", metavar="REPORT.html",
                           help="write one self-contained interactive HTML report (Plotly) of the run")
            v.add_argument("--history", metavar="FILE.csv|FILE.json",
                           help="write the recorded history of every run (k, cost, E, ||grad E||, step size, "
                                "per-layer gradient norms) as CSV or JSON, for your own plots")
        v.add_argument("--plots", metavar="DIR", help="write the same figures as PNG files into DIR (matplotlib)")

    # train
    p = sub.add_parser("train", parents=[common], help="train an MLP and save it",
                       description="Train an MLP (with no data: the lecture's toy problem).")
    data_opts(p)
    arch_opts(p)
    p.add_argument("--l2", type=NONNEG, help="regulariser (lambda/2) sum ||W||^2 (default 0)")
    p.add_argument("--reduction", choices=["sum", "mean"], help="E = sum of e^s (the lecture's, default) or mean")
    g = p.add_argument_group("optimizer")
    g.add_argument("--optimizer", choices=["gd", "sgd", "minibatch", "momentum", "adam"],
                   help="default gd (with exact line search)")
    g.add_argument("--line-search", choices=["exact", "armijo", "none"],
                   help="gd only: step size by exact line search (default), Armijo backtracking, or none (--lr)")
    g.add_argument("--lr", type=POSITIVE,
                   help="gd: a constant step size (implies --line-search none); other optimizers: the "
                        "schedule's constant c (defaults: sgd/minibatch 1, momentum 0.01, adam 0.001)")
    g.add_argument("--schedule", choices=["inverse", "constant", "power", "step", "exp"],
                   help="gamma_k: c/(k+1) (sgd/minibatch default), c, c/(k+1)^p, c*f^floor(k/n), c*exp(-r k)")
    g.add_argument("--power", type=NONNEG, metavar="P", help="--schedule power: exponent p (default 0.75)")
    g.add_argument("--decay-factor", type=_float(0.0, 1.0, low_open=True), metavar="F", help="--schedule step: factor (0.5)")
    g.add_argument("--decay-every", type=POSITIVE_INT, metavar="N", help="--schedule step: every n steps (1000)")
    g.add_argument("--decay-rate", type=NONNEG, metavar="R", help="--schedule exp: rate r (1e-3)")
    g.add_argument("--batch-size", type=POSITIVE_INT, metavar="B", help="minibatch/momentum/adam: |B_k| (default 32)")
    g.add_argument("--average", action=argparse.BooleanOptionalAction, default=None,
                   help="use the block mean of the gradients (default: on for momentum/adam, off for minibatch)")
    g.add_argument("--sampling", choices=["uniform", "shuffle", "cyclic"], help="how j_k / B_k are drawn")
    g.add_argument("--beta", type=_float(0.0, 1.0, high_open=True), help="momentum beta (0.9)")
    g.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=None, help="Nesterov momentum")
    b = p.add_argument_group("budgets and data handling")
    b.add_argument("--max-iter", type=NONNEG_INT, help="maximum steps k")
    b.add_argument("--epochs", type=NONNEG_INT, help="maximum passes over the data (default 200 with no budget)")
    b.add_argument("--time-limit", type=POSITIVE, metavar="SECONDS", help="wall-clock budget")
    b.add_argument("--tol", type=NONNEG, help="stop when ||grad E|| <= tol (default 1e-6; 0 disables)")
    b.add_argument("--rtol", type=NONNEG, help="stop when ||grad E|| <= rtol * ||grad E(w^0)|| (default off; "
                   "scale-free, unlike --tol, whose meaning grows with the number of samples)")
    b.add_argument("--eval-every", type=POSITIVE_INT, help="record E every n steps (default: GD 1, else an epoch)")
    b.add_argument("--val-split", type=FRACTION, help="fraction held out for validation (default 0)")
    b.add_argument("--test-split", type=FRACTION, help="fraction held out for the test metrics (default 0)")
    b.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                   help="standardize features (fitted on the training split, stored in the model)")
    b.add_argument("--diverge-factor", type=_float(1.0, low_open=True), metavar="F",
                   help="stop with an error (exit 2, nothing saved) when E(w^k) exceeds F * E(w^0) "
                        "(default 1e6; E(w^0) floored at 1e-6 per sample)")
    b.add_argument("--max-weight", type=POSITIVE, metavar="B",
                   help="stop with an error (exit 2, nothing saved) when some |w_i| exceeds B (default 1e100)")
    b.add_argument("--out", "-o", metavar="MODEL.safetensors", help="where to save the model")
    viz_opts(p)
    from mlplab.cli.checkpoints import every_type

    c = p.add_argument_group("checkpoints")
    c.add_argument("--checkpoint-every", type=every_type, metavar="N|Ne",
                   help="save a checkpoint every N steps, or every N epochs with 'Ne' (e.g. 500 or 2e)")
    c.add_argument("--checkpoint-dir", metavar="DIR",
                   help="folder for checkpoints (default: the --out name with .checkpoints)")
    c.add_argument("--keep-checkpoints", type=POSITIVE_INT, help="keep the newest N checkpoints (default 2)")
    c.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue the run saved in this checkpoint file or folder (bit-identical to an "
                        "uninterrupted run); only budgets and outputs may be given again")

    # evaluate / predict / inspect
    p = sub.add_parser("evaluate", parents=[common], help="loss, accuracy / R^2 of a model on data")
    p.add_argument("model", help="model file (.safetensors) written by `mlplab train`")
    data_opts(p, default="the data the model was trained on")
    p = sub.add_parser("predict", parents=[common], help="predictions of a model, as CSV")
    p.add_argument("model", help="model file (.safetensors) written by `mlplab train`")
    data_opts(p, default="the data the model was trained on")
    p.add_argument("--out", "-o", metavar="FILE.csv", help="write the CSV here instead of stdout")
    p.add_argument("--proba", action="store_true", help="classifiers: add class probabilities")
    p.add_argument("--threshold", type=_float(0.0, 1.0), help="binary classifiers: cut-off (default 0.5)")
    p = sub.add_parser("inspect", parents=[common], help="architecture, training config and metrics of a model")
    p.add_argument("model", help="model file (.safetensors)")

    # gradcheck / datasets
    p = sub.add_parser("gradcheck", parents=[common], help="backprop vs finite differences on an architecture")
    data_opts(p)
    arch_opts(p)
    p.add_argument("--samples", type=POSITIVE_INT, help="use at most this many samples (default 20)")
    p.add_argument("--tol", type=POSITIVE, help="pass when every layer's error <= tol (default 1e-6)")
    sub.add_parser("datasets", parents=[common], help="list the built-in data sets with their shapes")

    # compare / report
    from mlplab.cli.reports import method_list

    p = sub.add_parser(
        "compare", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="run several optimizers from the same w^0 with the same budget; table, report, figures",
        description="Run optimizers from the same w^0 on the same problem, each until it has spent the same\n"
                    "budget of sample-gradient evaluations, and compare them (table; --report HTML; --plots PNGs).\n"
                    "With no data and no architecture flags: the lecture's toy problem (2-1 sigmoid network\n"
                    "without bias, squared error, w^0 = (0.5, 0.5)) with GD (exact line search),\n"
                    "SGD (gamma_k = 1/(k+1)) and mini-batch SGD (|B| = 2, gamma_k = 1/(k+1)).",
        epilog="optimizer specs for --method (repeat it, or separate specs by commas):\n"
               "  gd[:exact|armijo|STEP]          gd:exact (default), gd:armijo, gd:0.1 (constant step)\n"
               "  sgd[:SCHEDULE[:C]]              sgd:inverse:1.0  (one sample per step; default inverse:1)\n"
               "  minibatch[:B[:SCHEDULE[:C]]]    minibatch:2:inverse:1.0  (block sum; default 32:inverse:1)\n"
               "  momentum[:B[:C[:BETA]]]         momentum:32:0.01:0.9  (block mean)\n"
               "  adam[:B[:C]]                    adam:32:0.01  (block mean; default 32:0.001)\n"
               "SCHEDULE: inverse C/(k+1), constant C, power C/(k+1)^0.75, step C*0.5^floor(k/1000), "
               "exp C*exp(-0.001k)\n\n"
               "example:  mlplab compare --budget 200 --report run.html --plots figures/\n"
               "          mlplab compare moons --hidden 8 --method gd:armijo --method adam:32:0.01 --budget 5000")
    data_opts(p)
    arch_opts(p)
    p.add_argument("--method", "-m", type=method_list, action="append", metavar="SPEC",
                   help="an optimizer to compare (repeatable; see below); default: the lecture's GD, SGD, mini-batch SGD")
    p.add_argument("--budget", type=POSITIVE_INT, default=1000,
                   help="cost per method in sample-gradient equivalents: gradients + line-search forward "
                        "passes / 3 (default 1000)")
    p.add_argument("--w0", metavar="W1,...,Wd|FILE.npy",
                   help="common starting point w^0 (default: the slides' (0.5, 0.5) for the toy problem, else --init)")
    p.add_argument("--tol", type=NONNEG, help="stop a method when ||grad E|| <= tol (default 1e-6; 0 disables)")
    p.add_argument("--rtol", type=NONNEG, help="stop a method when ||grad E|| <= rtol * ||grad E(w^0)|| (default off)")
    viz_opts(p)

    p = sub.add_parser("report", parents=[common],
                       help="HTML report / PNG figures of a saved model (gradient flow, where it stopped, ...)",
                       description="Write the report of a model file: its configuration, where it stopped "
                                   "(gradient norm, Hessian eigenvalues), gradient flow and the decision boundary at "
                                   "its weights on its data, the loss surface around them, and the training history "
                                   "when the file holds one.")
    p.add_argument("model", help="model file (.safetensors) written by `mlplab train`")
    data_opts(p, default="the data the model was trained on")
    p.add_argument("--out", "-o", metavar="REPORT.html", help="write the HTML report here")
    viz_opts(p, report_flag=None)

    from mlplab.cli.sweep import add_parser as add_sweep_parser

    add_sweep_parser(sub)

    from mlplab.cli.playground import add_parser as add_playground_parser

    add_playground_parser(sub, [])
    return parser


# --- config files ----------------------------------------------------------------------------


def _subparsers(parser) -> dict:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def read_config_text(path: str) -> str:
    """The text of a config file in the encodings Python can tell from the bytes: UTF-8 (with or without a
    BOM), UTF-16 and UTF-32 (with a BOM, or UTF-16 without one recognised by its zero bytes).

    Raises:
        UserError: not readable, or in none of these encodings (the message says to save it as UTF-8).
        FileNotFoundError: no such file.
    """
    import codecs

    if Path(path).is_dir():
        raise UserError(f"config file {path!r} is a directory; give a .toml file")
    with open(path, "rb") as f:
        raw = f.read()
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            break
    else:
        encoding = "utf-8"
        if len(raw) >= 2 and b"\0" in raw[:200]:  # UTF-16 without a BOM: every other byte of ASCII text is 0
            head = raw[:200]
            if head[1::2].count(0) > len(head) // 4:
                encoding = "utf-16-le"
            elif head[0::2].count(0) > len(head) // 4:
                encoding = "utf-16-be"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UserError(f"config file {path!r} is not text in UTF-8 or UTF-16/32 (byte {exc.start + 1} cannot be "
                        f"decoded as {encoding}); save it as UTF-8") from None
    if "\0" in text:
        raise UserError(f"config file {path!r} holds NUL characters, not TOML text; save it as UTF-8")
    return text


def _config_tokens(path: str, command: str, subparsers: dict, cfg: dict | None = None) -> tuple[list[str], dict]:
    """(argv tokens, positional defaults) from a TOML file, for ``command`` (``cfg``: its already parsed content)."""
    import tomllib

    try:
        if cfg is None:
            cfg = tomllib.loads(read_config_text(path))
    except FileNotFoundError:
        raise UserError(f"config file {path!r} does not exist; check the --config path") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"config file {path!r} is not valid TOML ({exc}); fix its syntax") from None
    except OSError as exc:
        raise UserError(f"cannot read config file {path!r} ({exc.strerror})") from None
    items = [(k, v, False) for k, v in cfg.items() if not isinstance(v, dict)]
    for k, v in cfg.items():
        if isinstance(v, dict):
            if k not in subparsers:
                raise UserError(f"config file {path!r}: unknown table [{k}]; tables are named after "
                                f"subcommands ({', '.join(subparsers)})")
            if k == command:
                items += [(kk, vv, True) for kk, vv in v.items()]
    options = {}
    for name, sp in subparsers.items():
        for action in sp._actions:
            for s in action.option_strings:
                if s.startswith("--"):
                    options.setdefault(name, {})[s[2:]] = action
            if not action.option_strings and action.dest not in ("help",):
                options.setdefault(name, {})[action.dest] = action
    mine = options.get(command, {})
    tokens, positional = [], {}
    for key, value, specific in items:
        flag = key.replace("_", "-")
        if flag in ("config",):
            raise UserError(f"config file {path!r}: 'config' cannot be set inside a config file")
        action = mine.get(flag)
        if action is None:
            if not specific and any(flag in opts for opts in options.values()):
                continue  # an option of another subcommand
            raise UserError(f"config file {path!r}: unknown option {key!r} for `mlplab {command}`; "
                            f"see `mlplab {command} --help` for the option names")
        if not action.option_strings:  # positional (data, model)
            positional[action.dest] = str(value)
            continue
        if isinstance(value, bool):
            if isinstance(action, argparse.BooleanOptionalAction):
                tokens.append(f"--{flag}" if value else f"--no-{flag}")
            elif isinstance(action, argparse._StoreTrueAction):
                if value:
                    tokens.append(f"--{flag}")
            else:
                raise UserError(f"config file {path!r}: {key} = {str(value).lower()} is not a valid value; "
                                f"see `mlplab {command} --help`")
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(action, (argparse._StoreTrueAction, argparse.BooleanOptionalAction)):
            raise UserError(f"config file {path!r}: {key} must be true or false, got {value!r}")
        tokens += [f"--{flag}", str(value)]
    return tokens, positional


def parse_args(argv: list[str]):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        raise UserError("no command given; use one of train, evaluate, predict, inspect, gradcheck, datasets, "
                        "compare, report, sweep (see `mlplab --help`)")
    if getattr(args, "config", None):
        subparsers = _subparsers(parser)
        tokens, positional = _config_tokens(args.config, args.command, subparsers)
        i = argv.index(args.command)
        subparsers[args.command].set_defaults(**positional)
        args = parser.parse_args(argv[:i + 1] + tokens + argv[i + 1:])
    return args


# --- dispatch: each subcommand's module is imported only when it runs ------------------------

# subcommand -> (module, handler); the modules depend only downward, on mlplab.cli.common
COMMANDS = {
    "train": ("mlplab.cli.train", "cmd_train"),
    "evaluate": ("mlplab.cli.commands", "cmd_evaluate"),
    "predict": ("mlplab.cli.commands", "cmd_predict"),
    "inspect": ("mlplab.cli.commands", "cmd_inspect"),
    "gradcheck": ("mlplab.cli.commands", "cmd_gradcheck"),
    "datasets": ("mlplab.cli.commands", "cmd_datasets"),
    "compare": ("mlplab.cli.reports", "cmd_compare"),
    "report": ("mlplab.cli.reports", "cmd_report"),
}


def dispatch(args) -> int:
    """Run the handler of ``args.command`` (looked up at call time) and return its exit code."""
    import importlib

    import numpy as np

    module, name = COMMANDS[args.command]
    handler = getattr(importlib.import_module(module), name)
    plots = getattr(args, "plots", None)
    new_folder = Path(plots) if plots and not os.path.lexists(plots) else None
    code = None
    try:
        with np.errstate(all="ignore"):  # overflow on the way to a divergence is reported once, as a user error
            code = handler(args)
        return code
    finally:
        if code != 0 and new_folder is not None:  # a failed command leaves no empty --plots folder behind
            try:
                new_folder.rmdir()  # only when empty
            except OSError:
                pass


# --- the front door --------------------------------------------------------------------------


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0, 1, 2 or 130)."""
    if argv is None:  # the program itself (not a call from Python): SIGTERM is handled like Ctrl-C
        _install_sigterm()
    try:
        from mlplab.data import DataError
        from mlplab.io import ModelFileError
    except KeyboardInterrupt as exc:  # Ctrl-C while the engine is imported
        return _interrupted(exc)

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(argv)
        if args.command == "sweep":
            from mlplab.cli.sweep import cmd_sweep

            return cmd_sweep(args)
        if args.command == "playground":
            from mlplab.cli.playground import cmd_playground

            return cmd_playground(args)
        return dispatch(args)
    except (UserError, DataError, ModelFileError) as exc:
        print(f"mlplab: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except MemoryError as exc:  # past the checks made before the large allocations (a limit they cannot see)
        what = _one_line(exc) or "an allocation failed"
        print(f"mlplab: error: out of memory ({what}); use less data (--n-samples, a smaller file) or a smaller "
              "network (--hidden, --dtype float32), or raise the memory limit (ulimit -v, the container's)",
              file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `mlplab predict ... | head`
        try:
            sys.stdout = None
        finally:
            return 0
    except Exception as exc:  # a bug: say so, in one line
        interrupt = _interrupt_behind(exc)
        if interrupt is not None:  # Ctrl-C/SIGTERM inside an import turned into an ImportError
            return _interrupted(interrupt)
        if os.environ.get("MLPLAB_DEBUG"):
            traceback.print_exc()
        print(f"mlplab: internal error: {type(exc).__name__}: {_one_line(exc)} — this is a bug in mlplab, please "
              "report it (set MLPLAB_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1
