"""What the subcommands share: output checks and printing; and the run's settings, re-exported.

Every command module (:mod:`~mlplab.cli.commands`, :mod:`~mlplab.cli.train`,
:mod:`~mlplab.cli.reports`) imports from here, from :mod:`~mlplab.cli.models` and from
:mod:`mlplab.config`, so the command modules depend only downward::

    cli/__init__ (front door), parsers  ->  commands, train -> reports  ->  common, models  ->  config  ->  engine

* outputs: :func:`check_out_path` (the folder must really accept a new file: a temporary
  file is created and removed), :func:`probe_folder`;
* printing: :func:`emit_json`, :func:`print_table`, :func:`fmt`, :func:`arch_str`;
* the settings and the run (:func:`resolve`, :func:`build_net`, :func:`build_optimizer`, :func:`load_data`,
  :func:`prepare_run`, ...) live in :mod:`mlplab.config`, below the command line and the sweeps alike;
  they are imported here under their old names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from mlplab.config import (MAX_WEIGHT, TRAIN_ONLY, UserError, build_net, build_optimizer,  # noqa: F401
                           describe_optimizer, evaluate_metrics, finite, is_builtin, load_data, optimizer_config,
                           predict_codes, prepare_run, resolve, split_metrics, targets, training_summary)
from mlplab.cli.models import (check_weights_sane, info_from_python_model, load_model,  # noqa: F401
                               model_inputs, model_targets, names_given)


def emit_json(obj) -> None:
    print(json.dumps(obj, indent=2, allow_nan=False, default=_json_default))


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


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
