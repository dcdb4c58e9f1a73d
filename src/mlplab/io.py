"""Model files and training checkpoints on disk: save, load, and the atomic writes under both.

The formats — tensors plus JSON metadata in one ``.safetensors`` file, no pickle,
checksummed — are :mod:`mlplab.model_format` and :mod:`mlplab.checkpoint_format`; this
module reads and writes the files. Writes are atomic: the file is written to a temporary
file in the same folder, flushed and fsynced, then moved over the target with
``os.replace``, so an interruption never leaves a half-written or destroyed model. Loading
validates everything before use and raises :class:`ModelFileError` (a ``ValueError``)
naming the problem.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from mlplab.checkpoint_format import checkpoint_bytes, checkpoint_from_file
from mlplab.estimator_state import param_from_json
from mlplab.model_format import (CHECKSUM_SINCE, FORMAT_VERSION, ModelFileError, architecture, model_bytes,
                                 network_from_file, read_file, tensors_sha256)

__all__ = ["save", "load", "load_network", "save_checkpoint", "load_checkpoint", "atomic_write",
           "remove_stale_temporaries", "ModelFileError", "FORMAT_VERSION", "CHECKSUM_SINCE", "architecture",
           "tensors_sha256"]


# --- model files -------------------------------------------------------------------------------


def save(model, path, *, extra: dict | None = None) -> Path:
    """Write an :class:`mlplab.MLP` or a fitted mlplab estimator to ``path`` (.safetensors).

    Args:
        model: the network, or a fitted ``mlplab.sklearn`` estimator.
        path: destination file; its folder must exist. An existing file is
            replaced atomically.
        extra: optional JSON-able dictionary stored with the model.

    Returns:
        the path written.
    """
    path = Path(path)
    atomic_write(path, model_bytes(model, path, extra))
    return path


def load(path):
    """Read a model file written by :func:`save`; returns an MLP or a fitted estimator.

    Raises:
        ModelFileError: the file is missing, not a safetensors file, truncated,
            tampered with, or inconsistent with its own architecture.
    """
    net, meta = load_network(path)
    if meta["kind"] == "MLP":
        return net
    from mlplab.sklearn import restore_estimator  # scikit-learn only when an estimator is loaded

    try:
        state = dict(meta["estimator"])
        state["params"] = {key: param_from_json(value) for key, value in state["params"].items()}
        return restore_estimator(meta["kind"], state, net)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{str(path)!r}: estimator metadata is invalid ({exc})") from None


def load_network(path):
    """(MLP, metadata dict) from a model file, fully validated."""
    path = Path(path)
    raw_meta, tensors = read_file(path, "model file")
    return network_from_file(path, raw_meta, tensors)


# --- checkpoints -------------------------------------------------------------------------------


def save_checkpoint(path, checkpoint, *, net=None, extra: dict | None = None) -> Path:
    """Write a :class:`mlplab.train.Checkpoint` (atomically) so that training can resume bit-identically.

    The file's tensors and metadata: :mod:`mlplab.checkpoint_format`; ``net`` (optional)
    adds its architecture, ``extra`` any JSON-able dictionary.
    """
    data = checkpoint_bytes(checkpoint, path, net, extra)
    path = Path(path)
    atomic_write(path, data)
    return path


def load_checkpoint(path):
    """(Checkpoint, metadata dict) from a file written by :func:`save_checkpoint`, validated.

    Raises:
        ModelFileError: missing, unreadable, truncated or inconsistent file.
    """
    path = Path(path)
    raw_meta, tensors = read_file(path, "checkpoint")
    return checkpoint_from_file(path, raw_meta, tensors)


# --- atomic writes -----------------------------------------------------------------------------


# the temporary files atomic_write makes, ".<name>.<pid>.<8 characters of tempfile>.tmp" (the pid optional),
# for the files mlplab writes, and the probes of the command line's output checks
_TEMP_NAME = re.compile(r"^\.(.+\.(safetensors|csv|html|png|json|npz|npy)|mlplab-probe)\.(?:(?P<pid>\d+)\.)?"
                        r"[A-Za-z0-9_]{8}\.tmp$")


def _process_start() -> float:
    """When this process started (wall clock), from /proc/self/stat; else when mlplab.io was imported."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime, after the ")"
        clock = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)
        return time.time() - (time.clock_gettime(clock) - since_boot)
    except (OSError, ValueError, IndexError, AttributeError):
        return _IMPORTED


_IMPORTED = time.time()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists
        return True
    return True


def remove_stale_temporaries(folder) -> list[Path]:
    """Remove the temporary files that killed writes of mlplab left in ``folder``; returns them.

    Only names of :func:`atomic_write`'s pattern count (``.model.safetensors.4711.k3j_x9a2.tmp``):
    one whose writer (the pid in its name) is no longer running, or, for names without a pid, one
    last modified before this process started. A write in progress elsewhere is never touched.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    start = None
    for e in entries:
        m = _TEMP_NAME.match(e.name)
        if m is None:
            continue
        try:
            if not e.is_file(follow_symlinks=False):
                continue
            if m.group("pid") is not None:
                pid = int(m.group("pid"))
                if pid == os.getpid() or _alive(pid):
                    continue
            else:
                start = _process_start() if start is None else start
                if e.stat(follow_symlinks=False).st_mtime >= start:
                    continue
            os.unlink(e.path)
            removed.append(Path(e.path))
        except OSError:
            continue
    return removed


def atomic_write(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temporary file in the same folder, fsync, ``os.replace``.

    The new file gets the usual permissions (0o666 minus the umask); an
    interruption at any point leaves the previous file, if any, untouched. A symbolic link is
    written through (its target is replaced, the link stays); a path that exists but is not a
    regular file (a FIFO, a device) is refused.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():
        raise ValueError(f"cannot save to {str(path)!r}: it exists and is not a regular file (a FIFO, a device "
                         "or a socket); give the path of a file")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"cannot save to {str(path)!r}: folder {str(folder)!r} does not exist")
    remove_stale_temporaries(folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a saved model is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)

