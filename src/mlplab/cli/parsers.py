"""The command line's parsers: one small function per subcommand, each adding its options from
:mod:`mlplab.config.options` (flags, types, defaults, help) and its own description and examples.

:func:`build_parser` puts them together under ``mlplab``; the order of the functions is the order
of ``mlplab --help``.
"""

from __future__ import annotations

import argparse

from mlplab import __version__
from mlplab.config import Parser, add_options

PROG = "mlplab"


def add_train(sub) -> None:
    p = sub.add_parser("train", help="train an MLP and save it",
                       description="Train an MLP (with no data: the lecture's toy problem).")
    add_options(p, "train")


def add_evaluate(sub) -> None:
    add_options(sub.add_parser("evaluate", help="loss, accuracy / R^2 of a model on data"), "evaluate")


def add_predict(sub) -> None:
    add_options(sub.add_parser("predict", help="predictions of a model, as CSV"), "predict")


def add_inspect(sub) -> None:
    add_options(sub.add_parser("inspect", help="architecture, training config and metrics of a model"), "inspect")


def add_gradcheck(sub) -> None:
    add_options(sub.add_parser("gradcheck", help="backprop vs finite differences on an architecture"), "gradcheck")


def add_datasets(sub) -> None:
    add_options(sub.add_parser("datasets", help="list the built-in data sets with their shapes"), "datasets")


COMPARE_EPILOG = (
    "optimizer specs for --method (repeat it, or separate specs by commas):\n"
    "  gd[:exact|armijo|STEP]          gd:exact (default), gd:armijo, gd:0.1 (constant step)\n"
    "  sgd[:SCHEDULE[:C]]              sgd:inverse:1.0  (one sample per step; default inverse:1)\n"
    "  minibatch[:B[:SCHEDULE[:C]]]    minibatch:2:inverse:1.0  (block sum; default 32:inverse:1)\n"
    "  momentum[:B[:C[:BETA]]]         momentum:32:0.01:0.9  (block mean)\n"
    "  adam[:B[:C]]                    adam:32:0.01  (block mean; default 32:0.001)\n"
    "SCHEDULE: inverse C/(k+1), constant C, power C/(k+1)^0.75, step C*0.5^floor(k/1000), "
    "exp C*exp(-0.001k)\n\n"
    "example:  mlplab compare --budget 200 --report run.html --plots figures/\n"
    "          mlplab compare moons --hidden 8 --method gd:armijo --method adam:32:0.01 --budget 5000")


def add_compare(sub) -> None:
    p = sub.add_parser(
        "compare", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="run several optimizers from the same w^0 with the same budget; table, report, figures",
        description="Run optimizers from the same w^0 on the same problem, each until it has spent the same\n"
                    "budget of sample-gradient evaluations, and compare them (table; --report HTML; --plots PNGs).\n"
                    "With no data and no architecture flags: the lecture's toy problem (2-1 sigmoid network\n"
                    "without bias, squared error, w^0 = (0.5, 0.5)) with GD (exact line search),\n"
                    "SGD (gamma_k = 1/(k+1)) and mini-batch SGD (|B| = 2, gamma_k = 1/(k+1)).",
        epilog=COMPARE_EPILOG)
    add_options(p, "compare")


def add_report(sub) -> None:
    p = sub.add_parser("report",
                       help="HTML report / PNG figures of a saved model (gradient flow, where it stopped, ...)",
                       description="Write the report of a model file: its configuration, where it stopped "
                                   "(gradient norm, Hessian eigenvalues), gradient flow and the decision boundary at "
                                   "its weights on its data, the loss surface around them, and the training history "
                                   "when the file holds one.")
    add_options(p, "report")


SWEEP_EPILOG = """spec: a `mlplab train --config` file plus a [grid] table, e.g.
  data = "moons"
  hidden = [8]
  epochs = 30
  [grid]
  optimizer = ["sgd", "minibatch", "adam"]
  lr = [0.1, 0.01]
  seed = [0, 1]
optional [random]: n = 8, sampler_seed = 0, key = { loguniform = [lo, hi] } (also uniform, randint, choice)
optional [search]: metric = "validation_loss", sampler = "tpe" (Optuna's TPE draws [random]'s n points),
  early_stop = { budget = "epochs", min = 1, eta = 3 } (successive halving: a whole rung is promoted at once)
relative data paths are read from the spec's folder; on Ray the data travel with the tasks

examples:
  mlplab sweep examples/sweep.toml --out sweep-out --workers 2
  mlplab sweep sweep-out --show --report sweep.html
  mlplab sweep sweep-out --best best.toml && mlplab train --config best.toml --out best.safetensors
  mlplab sweep examples/sweep.toml --out sweep-out --backend ray --address auto"""


def add_sweep(sub) -> None:
    p = sub.add_parser(
        "sweep", help="run many trainings from one spec (grid/random), resumable, results in SQLite",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=SWEEP_EPILOG,
        description="Run every combination of a spec's [grid] (and [random]) values through `mlplab train`,\n"
                    "on a local process pool or a Ray cluster; results in DIR/results.sqlite, models in\n"
                    "DIR/models/. Running the same command again skips the runs already done.")
    add_options(p, "sweep")


def add_playground(sub) -> None:
    p = sub.add_parser(
        "playground",
        help="train live in the browser: pick data, network and the lecture's optimizers, watch every panel move",
        description="Start the local playground web app (the engine runs here, the page draws) and open it in "
                    "the default browser. Needs: pip install \"mlplab[playground]\".")
    add_options(p, "playground")


SUBCOMMANDS = (add_train, add_evaluate, add_predict, add_inspect, add_gradcheck, add_datasets, add_compare,
               add_report, add_sweep, add_playground)


def build_parser() -> Parser:
    """``mlplab`` with every subcommand's parser (each a :class:`mlplab.config.Parser`: errors are UserErrors)."""
    parser = Parser(prog=PROG, description="Train, evaluate and use multi-layer perceptrons the lecture's way.")
    parser.add_argument("--version", action="version", version=f"mlplab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def subparsers(parser) -> dict:
    """The subcommands' parsers of :func:`build_parser`'s parser, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}
