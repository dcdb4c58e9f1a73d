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

The parsers are built in :mod:`mlplab.cli.parsers` (one function per subcommand) from the options
declared in :mod:`mlplab.config`, which also reads the ``--config`` files. ``train`` lives in
:mod:`mlplab.cli.train` (checkpoints and resume in :mod:`mlplab.cli.checkpoints`, progress display in
:mod:`mlplab.cli.progress`), ``compare``, ``report`` and the ``--report``/``--plots`` outputs in
:mod:`mlplab.cli.reports`, ``sweep`` in :mod:`mlplab.cli.sweep`, ``playground`` in
:mod:`mlplab.cli.playground`, the other subcommands in :mod:`mlplab.cli.commands`; what they share in
:mod:`mlplab.cli.common` (output checks, printing) and :mod:`mlplab.cli.models` (model files), which
import none of them. :data:`COMMANDS` maps each subcommand to its handler.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from mlplab.config import (FRACTION, NONNEG, NONNEG_INT, POSITIVE, POSITIVE_INT, UserError,  # noqa: F401
                           config_tokens, read_config_text)
from mlplab.cli.parsers import PROG, build_parser, subparsers


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


def parse_args(argv: list[str]):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        raise UserError("no command given; use one of train, evaluate, predict, inspect, gradcheck, datasets, "
                        "compare, report, sweep (see `mlplab --help`)")
    if getattr(args, "config", None):
        tokens, positional = config_tokens(args.config, args.command)
        i = argv.index(args.command)
        subparsers(parser)[args.command].set_defaults(**positional)
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
