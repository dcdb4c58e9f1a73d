"""The options of every run, declared once: flag, value type (its check), default, help, and which
subcommands take them.

An :class:`Option` is data; :data:`COMMANDS` lists each subcommand's options in sections (a section
is ``(title, options)``; title None: the parser itself, else an argparse group), in the order
``--help`` shows them. :func:`add_options` puts a command's sections onto an argparse parser, so the
command line's parsers, the ``--config`` TOML reader (:mod:`mlplab.config.files`) and the sweep specs
are all built from this one table.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from mlplab.activations import ACTIVATIONS
from mlplab.config.methods import method_list
from mlplab.config.types import (FRACTION, NONNEG, NONNEG_INT, POSITIVE, POSITIVE_INT, init_spec, int_list, number,
                                 port, steps_or_epochs)
from mlplab.losses import LOSSES

@dataclass(frozen=True)
class Option:
    """One option: ``flags`` ("--out", "-o"; a positional: its name), how its text becomes a value.

    kind: "value" (``--lr 0.1``: ``type`` parses and checks the text, ``choices`` limits it),
    "flag" (``--json``: true when given), "switch" (``--bias``/``--no-bias``: None when not given),
    "append" (``--method`` repeated: a list of values), "positional" (``nargs`` "?" when optional),
    "help" (argparse's own ``-h/--help``, listed so that a config file's ``help`` key means what the flag does).
    """

    flags: tuple
    help: str | None = None
    kind: str = "value"
    type: object = None
    choices: tuple | None = None
    default: object = None
    metavar: str | None = None
    nargs: str | None = None

    @property
    def name(self) -> str:
        """The long flag without its dashes (``batch-size``), or the positional's name: a config file's key."""
        long = [f for f in self.flags if f.startswith("--")]
        return long[0][2:] if long else self.flags[0]

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def add_to(self, parser) -> None:
        """Add this option to an argparse parser or group."""
        kw = {"help": self.help}
        if self.kind == "flag":
            kw["action"] = "store_true"
        elif self.kind == "switch":
            kw.update(action=argparse.BooleanOptionalAction, default=None)
        else:
            if self.kind == "append":
                kw["action"] = "append"
            for key in ("type", "choices", "metavar", "nargs"):
                if getattr(self, key) is not None:
                    kw[key] = list(self.choices) if key == "choices" else getattr(self, key)
            if self.default is not None:
                kw["default"] = self.default
        parser.add_argument(*self.flags, **kw)


def opt(*flags, **kw) -> Option:
    """``opt("--out", "-o", metavar=...)``: an :class:`Option` written as argparse's add_argument is."""
    return Option(tuple(flags), **kw)


HELP = opt("-h", "--help", kind="help")
COMMON = (opt("--config", metavar="TOML", help="read options from a TOML file; flags override it"),
          opt("--json", kind="flag", help="print one machine-readable JSON object"),
          opt("--quiet", "-q", kind="flag", help="no progress output"))


def data_options(default="the lecture's toy set") -> tuple:
    """The data argument and the options that say how to read or draw it."""
    return (opt("data", kind="positional", nargs="?", help="built-in data set name (see `mlplab datasets`) or a "
                f".csv/.tsv/.npz/.npy file, or X.npy,y.npy (default: {default})"),
            opt("--target", metavar="NAME|INDEX", help="CSV target column (default: the last column)"),
            opt("--n-samples", type=POSITIVE_INT, metavar="S", help="synthetic sets: number of samples"),
            opt("--noise", type=NONNEG, metavar="SIGMA", help="synthetic sets: noise level"))


ARCHITECTURE = (
    opt("--layers", type=int_list(False), metavar="N0,...,NL", help="all layer sizes, inputs to outputs (e.g. 2,2,1)"),
    opt("--hidden", type=int_list(True), metavar="N1,...",
        help="hidden layer sizes (default 16; '' for none); inputs/outputs come from the data"),
    opt("--activation", choices=tuple(sorted(a for a in ACTIVATIONS if a != "softmax")),
        help="hidden activation (default tanh; sigmoid for the lecture sets)"),
    opt("--output-activation", choices=tuple(sorted(ACTIVATIONS)), help="output activation (default: from the loss)"),
    opt("--loss", choices=tuple(sorted(LOSSES)),
        help="default: binary_cross_entropy (2 classes), cross_entropy (more), squared (regression)"),
    opt("--bias", kind="switch", help="biases b^l (default on; off for the lecture sets)"),
    opt("--init", type=init_spec, help="initial weights: glorot (default), he, normal(0.1), zeros, ..."),
    opt("--dtype", choices=("float64", "float32"), help="default float64"),
    opt("--seed", type=NONNEG_INT, help="seed of w^0, sampling and splits (default 0)"),
    opt("--task", choices=("classification", "regression"),
        help="default: classification for text labels or <= 20 integer values"))

OBJECTIVE = (opt("--l2", type=NONNEG, help="regulariser (lambda/2) sum ||W||^2 (default 0)"),
             opt("--reduction", choices=("sum", "mean"), help="E = sum of e^s (the lecture's, default) or mean"))

OPTIMIZER = (
    opt("--optimizer", choices=("gd", "sgd", "minibatch", "momentum", "adam"), help="default gd (with exact line search)"),
    opt("--line-search", choices=("exact", "armijo", "none"),
        help="gd only: step size by exact line search (default), Armijo backtracking, or none (--lr)"),
    opt("--lr", type=POSITIVE, help="gd: a constant step size (implies --line-search none); other optimizers: the "
                                    "schedule's constant c (defaults: sgd/minibatch 1, momentum 0.01, adam 0.001)"),
    opt("--schedule", choices=("inverse", "constant", "power", "step", "exp"),
        help="gamma_k: c/(k+1) (sgd/minibatch default), c, c/(k+1)^p, c*f^floor(k/n), c*exp(-r k)"),
    opt("--power", type=NONNEG, metavar="P", help="--schedule power: exponent p (default 0.75)"),
    opt("--decay-factor", type=number(0.0, 1.0, low_open=True), metavar="F", help="--schedule step: factor (0.5)"),
    opt("--decay-every", type=POSITIVE_INT, metavar="N", help="--schedule step: every n steps (1000)"),
    opt("--decay-rate", type=NONNEG, metavar="R", help="--schedule exp: rate r (1e-3)"),
    opt("--batch-size", type=POSITIVE_INT, metavar="B", help="minibatch/momentum/adam: |B_k| (default 32)"),
    opt("--average", kind="switch",
        help="use the block mean of the gradients (default: on for momentum/adam, off for minibatch)"),
    opt("--sampling", choices=("uniform", "shuffle", "cyclic"), help="how j_k / B_k are drawn"),
    opt("--beta", type=number(0.0, 1.0, high_open=True), help="momentum beta (0.9)"),
    opt("--nesterov", kind="switch", help="Nesterov momentum"))

BUDGETS = (
    opt("--max-iter", type=NONNEG_INT, help="maximum steps k"),
    opt("--epochs", type=NONNEG_INT, help="maximum passes over the data (default 200 with no budget)"),
    opt("--time-limit", type=POSITIVE, metavar="SECONDS", help="wall-clock budget"),
    opt("--tol", type=NONNEG, help="stop when ||grad E|| <= tol (default 1e-6; 0 disables)"),
    opt("--rtol", type=NONNEG, help="stop when ||grad E|| <= rtol * ||grad E(w^0)|| (default off; "
                                    "scale-free, unlike --tol, whose meaning grows with the number of samples)"),
    opt("--eval-every", type=POSITIVE_INT, help="record E every n steps (default: GD 1, else an epoch)"),
    opt("--val-split", type=FRACTION, help="fraction held out for validation (default 0)"),
    opt("--test-split", type=FRACTION, help="fraction held out for the test metrics (default 0)"),
    opt("--standardize", kind="switch",
        help="standardize features (fitted on the training split, stored in the model)"),
    opt("--diverge-factor", type=number(1.0, low_open=True), metavar="F",
        help="stop with an error (exit 2, nothing saved) when E(w^k) exceeds F * E(w^0) "
             "(default 1e6; E(w^0) floored at 1e-6 per sample)"),
    opt("--max-weight", type=POSITIVE, metavar="B",
        help="stop with an error (exit 2, nothing saved) when some |w_i| exceeds B (default 1e100)"),
    opt("--out", "-o", metavar="MODEL.safetensors", help="where to save the model"))

VIZ_TITLE = "report and figures (need matplotlib/plotly: pip install \"mlplab[viz]\")"
REPORT = (opt("--report", metavar="REPORT.html",
              help="write one self-contained interactive HTML report (Plotly) of the run"),
          opt("--history", metavar="FILE.csv|FILE.json",
              help="write the recorded history of every run (k, cost, E, ||grad E||, step size, "
                   "per-layer gradient norms) as CSV or JSON, for your own plots"))
PLOTS = (opt("--plots", metavar="DIR", help="write the same figures as PNG files into DIR (matplotlib)"),)

CHECKPOINTS = (
    opt("--checkpoint-every", type=steps_or_epochs, metavar="N|Ne",
        help="save a checkpoint every N steps, or every N epochs with 'Ne' (e.g. 500 or 2e)"),
    opt("--checkpoint-dir", metavar="DIR", help="folder for checkpoints (default: the --out name with .checkpoints)"),
    opt("--keep-checkpoints", type=POSITIVE_INT, help="keep the newest N checkpoints (default 2)"),
    opt("--resume", metavar="CHECKPOINT",
        help="continue the run saved in this checkpoint file or folder (bit-identical to an "
             "uninterrupted run); only budgets and outputs may be given again"))

MODEL = opt("model", kind="positional", help="model file (.safetensors) written by `mlplab train`")
SAVED = "the data the model was trained on"

SWEEP = (
    opt("spec", kind="positional", metavar="SPEC.toml|DIR", help="the sweep spec; with --show, the results folder"),
    opt("--out", "-o", metavar="DIR", help="results folder (created if missing; resumed if it exists)"),
    opt("--backend", choices=("local", "ray"), help="local process pool (default) or Ray"),
    opt("--workers", "-j", type=POSITIVE_INT, metavar="N",
        help="parallel runs (default: the number of cores, or the Ray cluster's CPUs)"),
    opt("--address", metavar="ADDR",
        help="--backend ray: the cluster (auto, or ray://HOST:10001); default: start a local Ray"),
    opt("--show", kind="flag", help="show the results stored in DIR (runs nothing)"),
    opt("--report", metavar="SWEEP.html",
        help="write one self-contained HTML report (Plotly): convergence bands, final E against each "
             "swept value, Robbins–Monro verdict of each schedule"),
    opt("--metric", metavar="NAME",
        help="rank the configurations by NAME: auto (default: validation mean loss, else test, else "
             "training E), E, grad_norm, train_loss, validation_loss, test_loss, train_accuracy, "
             "validation_accuracy, test_accuracy, accuracy, cost, seconds"),
    opt("--top", type=POSITIVE_INT, metavar="N",
        help="print the N best configurations (default: all up to 50, else the 20 best) and draw the "
             "N best in the report's convergence figures (default 10)"),
    opt("--best", metavar="BEST.toml",
        help="with DIR: write the best configuration's best run as a `mlplab train --config` file "
             "(rerunning it reproduces the run's row)"),
    *COMMON[1:])

PLAYGROUND = (
    opt("--port", type=port, default=8643, help="TCP port (default 8643; 0 picks a free one)"),
    opt("--host", default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only); beyond loopback the printed "
             "URL carries a token that every request must present"),
    opt("--no-browser", kind="flag", help="do not open a browser; only print the URL"))

# subcommand -> its sections (title or None, options), in the order of its --help
COMMANDS = {
    "train": ((None, (*COMMON, *data_options(), *ARCHITECTURE, *OBJECTIVE)), ("optimizer", OPTIMIZER),
              ("budgets and data handling", BUDGETS), (VIZ_TITLE, REPORT + PLOTS), ("checkpoints", CHECKPOINTS)),
    "evaluate": ((None, (*COMMON, MODEL, *data_options(SAVED))),),
    "predict": ((None, (*COMMON, MODEL, *data_options(SAVED),
                        opt("--out", "-o", metavar="FILE.csv", help="write the CSV here instead of stdout"),
                        opt("--proba", kind="flag", help="classifiers: add class probabilities"),
                        opt("--threshold", type=number(0.0, 1.0), help="binary classifiers: cut-off (default 0.5)"))),),
    "inspect": ((None, (*COMMON, opt("model", kind="positional", help="model file (.safetensors)"))),),
    "gradcheck": ((None, (*COMMON, *data_options(), *ARCHITECTURE,
                          opt("--samples", type=POSITIVE_INT, help="use at most this many samples (default 20)"),
                          opt("--tol", type=POSITIVE, help="pass when every layer's error <= tol (default 1e-6)"))),),
    "datasets": ((None, COMMON),),
    "compare": ((None, (*COMMON, *data_options(), *ARCHITECTURE,
                        opt("--method", "-m", kind="append", type=method_list, metavar="SPEC",
                            help="an optimizer to compare (repeatable; see below); default: the lecture's GD, SGD, "
                                 "mini-batch SGD"),
                        opt("--budget", type=POSITIVE_INT, default=1000,
                            help="cost per method in sample-gradient equivalents: gradients + line-search forward "
                                 "passes / 3 (default 1000)"),
                        opt("--w0", metavar="W1,...,Wd|FILE.npy", help="common starting point w^0 (default: the "
                            "slides' (0.5, 0.5) for the toy problem, else --init)"),
                        opt("--tol", type=NONNEG, help="stop a method when ||grad E|| <= tol (default 1e-6; 0 disables)"),
                        opt("--rtol", type=NONNEG,
                            help="stop a method when ||grad E|| <= rtol * ||grad E(w^0)|| (default off)"))),
                (VIZ_TITLE, REPORT + PLOTS)),
    "report": ((None, (*COMMON, MODEL, *data_options(SAVED),
                       opt("--out", "-o", metavar="REPORT.html", help="write the HTML report here"))),
               (VIZ_TITLE, PLOTS)),
    "sweep": ((None, SWEEP),),
    "playground": ((None, PLAYGROUND),),
}


def add_options(parser, command: str) -> None:
    """Put ``command``'s options onto an argparse parser (its groups included), in --help order."""
    for title, options in COMMANDS[command]:
        target = parser if title is None else parser.add_argument_group(title)
        for option in options:
            option.add_to(target)


def options_of(command: str) -> dict:
    """``command``'s options by config-file key: the long flag without dashes (a switch's ``no-`` form too,
    as argparse names it), or the positional's name."""
    out = {HELP.name: HELP}
    for _, options in COMMANDS[command]:
        for o in options:
            out[o.name] = o
            if o.kind == "switch":
                out[f"no-{o.name}"] = o
    return out
