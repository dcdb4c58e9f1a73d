"""``mlplab train --checkpoint-every N`` and ``mlplab train --resume CHECKPOINT``.

Checkpoints are written by the engine's hook (``mlplab.train(...,
checkpoint_every=N, on_checkpoint=fn)``) with :func:`mlplab.io.save_checkpoint`
(atomic) into a folder, ``ckpt-<k>.safetensors``, newest ``--keep-checkpoints``
kept (default 2). Each holds, besides the engine's state (w^k, optimizer
buffers, RNG and sampler state, counters, history), the command line's
arguments and a hash of the training data, so that

    mlplab train --resume model.checkpoints/

rebuilds exactly the same run (data, split, scaler, architecture, optimizer,
seed) and finishes with weights bit-identical to an uninterrupted run. On
resume only budgets and outputs may change (--max-iter, --epochs,
--time-limit, --tol, --rtol, --out, checkpoint flags, --json/--quiet); any other flag
that differs from the checkpoint's is a user error. If the newest checkpoint is
unreadable (e.g. the disk filled up), resume falls back to the previous one
and says so on stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

from mlplab.cli import UserError

PATTERN = "ckpt-*.safetensors"
# flags a resumed run may change: budgets and outputs; everything else defines the run
MAY_CHANGE = {"max_iter", "epochs", "time_limit", "tol", "rtol", "out", "checkpoint_every", "checkpoint_dir",
              "keep_checkpoints", "report", "plots", "diverge_factor", "max_weight"}
_NOW_ONLY = {"json", "quiet", "config", "resume", "command"}  # never taken from the checkpoint


def steps(every, optimizer, S: int) -> int:
    """--checkpoint-every in steps: epochs times the steps of one pass (GD 1, SGD S, blocks ⌈S/b⌉)."""
    unit, n = every
    if unit == "steps":
        return n
    b = optimizer.batch_size
    per_epoch = 1 if b is None or (b >= S and optimizer.sampling != "uniform") else math.ceil(S / min(b, S))
    return n * per_epoch


def default_dir(out: str | None) -> Path | None:
    return None if out is None else Path(out).with_suffix(".checkpoints")


def data_hash(X: np.ndarray, y: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in (X, y):
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes() if a.dtype.hasobject else memoryview(a).cast("B"))  # (no copy of numbers)
    return h.hexdigest()


def stored_args(args) -> dict:
    """The JSON-able arguments of the run (stored in each checkpoint)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items() if k not in _NOW_ONLY}


def find_resume(spec: str):
    """(checkpoint, metadata, path) from a checkpoint file or folder, falling back past unreadable ones."""
    from mlplab.io import ModelFileError, load_checkpoint

    p = Path(spec)
    if p.is_dir():
        candidates = sorted(p.glob(PATTERN), reverse=True)
        if not candidates:
            raise UserError(f"--resume {spec!r}: the folder holds no checkpoints ({PATTERN}); give a checkpoint "
                            "file or the folder `--checkpoint-every` wrote to")
    elif p.is_file():
        older = sorted((q for q in p.parent.glob(PATTERN) if q.name < p.name), reverse=True)
        candidates = [p, *older]
    else:
        raise UserError(f"--resume {spec!r}: no such checkpoint file or folder; check the path")
    errors = []
    for i, path in enumerate(candidates):
        try:
            ck, meta = load_checkpoint(path)
            cli = (meta.get("extra") or {}).get("cli")
            if not isinstance(cli, dict) or not isinstance(cli.get("args"), dict):
                raise ModelFileError(f"{str(path)!r} was not written by `mlplab train --checkpoint-every`")
        except ModelFileError as exc:
            errors.append(str(exc))
            if i + 1 < len(candidates):
                print(f"mlplab: warning: checkpoint {str(path)!r} is unreadable ({exc}); falling back to the "
                      f"previous one, {str(candidates[i + 1])!r}", file=sys.stderr)
            continue
        return ck, meta, path
    raise UserError(f"--resume {spec!r}: no readable checkpoint ({errors[-1]})")


def merge_args(args, stored: dict, path: Path):
    """The checkpoint's run arguments, with the budgets/outputs given now.

    Returns (merged, given): ``given`` maps each other flag given now with a value that
    differs from the stored one to that value; :func:`check_unchanged` decides, once the
    settings are resolved, whether it changes the run (``--seed 0`` on a run made
    without ``--seed`` does not). A different data argument is an error at once.
    """
    merged = argparse.Namespace(**vars(args))
    given = {}
    for key, old in stored.items():
        new = getattr(args, key, None)
        if key == "checkpoint_every" and old is not None:
            old = tuple(old)
        if key in MAY_CHANGE:
            setattr(merged, key, old if new is None else new)
            continue
        if new is not None and new != old:  # given now (flags default to None) and different
            if key == "data":
                _changed("the data argument", path, old, new)
            given[key] = new
        setattr(merged, key, old)
    return merged, given


def check_unchanged(args, given: dict, resolve, cfg: dict, path: Path) -> None:
    """Each flag in ``given`` must leave the resolved settings ``cfg = resolve(args)`` as they are."""
    same = json.dumps(cfg, sort_keys=True, default=str)
    for key, new in given.items():
        trial = argparse.Namespace(**vars(args))
        setattr(trial, key, new)
        try:
            changed = json.dumps(resolve(trial), sort_keys=True, default=str) != same
        except UserError:
            changed = True
        if changed:
            _changed("--" + key.replace("_", "-"), path, cfg.get(key, getattr(args, key)), new)


def _changed(flag, path, old, new):
    raise UserError(f"{flag} cannot change when resuming: {str(path)!r} was made with {old!r}, got "
                    f"{new!r}; drop it, or start a new run without --resume")


LOCK_NAME = ".lock"


def _pid_alive(pid: int) -> bool:
    import os

    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except OSError:
        return False
    return True


class FolderLock:
    """One run per checkpoint folder: ``<folder>/.lock`` holds the owner's pid.

    A second run on the same folder is a :class:`~mlplab.cli.UserError`; a lock whose process is
    gone (killed with SIGKILL, a crashed machine) is taken over. :meth:`release` (also at exit)
    removes it.
    """

    def __init__(self, folder: Path):
        import atexit
        import os

        self.path = folder / LOCK_NAME
        self.pid = os.getpid()
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    owner = int(self.path.read_text().strip() or "0")
                except (OSError, ValueError):
                    owner = 0
                if owner != self.pid and _pid_alive(owner):
                    raise UserError(f"checkpoint folder {str(folder)!r} is in use by another run (pid {owner}); "
                                    "give this run its own --checkpoint-dir (or --out), or wait for that run to "
                                    "end") from None
                try:  # stale: its process is gone
                    self.path.unlink()
                except FileNotFoundError:
                    pass
                continue
            except OSError as exc:
                raise UserError(f"cannot lock checkpoint folder {str(folder)!r} ({exc.strerror or exc}); "
                                "choose another --checkpoint-dir") from None
            with os.fdopen(fd, "w") as f:
                f.write(f"{self.pid}\n")
            atexit.register(self.release)
            return
        raise UserError(f"cannot lock checkpoint folder {str(folder)!r}: another run keeps taking it; give this "
                        "run its own --checkpoint-dir")

    def release(self) -> None:
        try:
            if self.path.read_text().strip() == str(self.pid):
                self.path.unlink()
        except OSError:
            pass


class Writer:
    """``on_checkpoint`` for :func:`mlplab.train`: save atomically, keep the newest ``keep``.

    A checkpoint that cannot be written (a full disk, a folder gone) does not stop training:
    one warning on stderr, and the run goes on (the next checkpoints are tried as usual).
    """

    def __init__(self, folder: Path, keep: int, net, extra: dict):
        self.folder, self.keep, self.net, self.extra = folder, keep, net, extra
        self.last = None
        self.failed = 0

    def __call__(self, ck) -> None:
        from mlplab.io import save_checkpoint

        path = self.folder / f"ckpt-{ck.k:010d}.safetensors"
        try:
            save_checkpoint(path, ck, net=self.net, extra=self.extra)
        except OSError as exc:
            if not self.failed:
                kept = f"the newest one is {str(self.last)!r}" if self.last else "none was written yet"
                print(f"mlplab: warning: cannot write checkpoint {str(path)!r} ({exc.strerror or exc}); training "
                      f"goes on and later checkpoints are tried again ({kept})", file=sys.stderr, flush=True)
            self.failed += 1
            return
        self.last = path
        for old in sorted(self.folder.glob(PATTERN))[: -self.keep]:
            try:
                old.unlink()
            except OSError:
                pass
