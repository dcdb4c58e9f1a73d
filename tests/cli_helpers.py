"""Running ``mlplab`` for the CLI tests: in-process (exit code, stdout, stderr; the one-line user error)
and as a user runs it, in a separate process (``run``, ``ok``)."""

import os
import subprocess
import sys
from pathlib import Path

import mlplab
from mlplab.cli import main

SRC = str(Path(mlplab.__file__).resolve().parents[1])
# the installed console script when there is one (pip install puts it beside the interpreter)
SCRIPT = Path(sys.executable).parent / "mlplab"
COMMAND = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "mlplab.cli"]


def run(*args, cwd=None, timeout=120):
    """The command line as a user runs it: a separate process, stdout not a terminal."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("MLPLAB_DEBUG", None)
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def ok(*args, **kw):
    r = run(*args, **kw)
    assert r.returncode == 0, r.stderr
    return r


def cli(capsys, *argv):
    """In-process run: (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def user_error(capsys, *argv, match):
    """Exit 2, exactly one line on stderr, no traceback, naming ``match``."""
    code, out, err = cli(capsys, *argv)
    assert code == 2, (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert match in err, err
    return err
