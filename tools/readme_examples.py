#!/usr/bin/env python3
"""README.md's examples, run for real: check them, or regenerate its ```console blocks from real output.

From the repository root, with the project's virtual environment::

    .venv/bin/python tools/readme_examples.py            # check: run every example, print a diff per mismatch
    .venv/bin/python tools/readme_examples.py --update   # rewrite README.md's ```console blocks in place

The check exits 1 when an example differs; ``tests/test_readme.py`` runs the same check under
pytest (``.venv/bin/python -m pytest -q tests/test_readme.py``), one test per block.

What runs
---------
* Every ```console block. A line ``$ COMMAND`` is a command; the lines after it, up to the next
  ``$ `` line (trailing blank lines dropped), are what the terminal shows: stdout and stderr
  interleaved in the order they were written. ``mlplab`` is this interpreter's
  ``python -m mlplab.cli`` (the same ``main`` as the installed console script, program name
  ``mlplab``); ``python``/``python3`` is this interpreter. There is no shell: no pipes,
  redirections, globs or variables.
* The commands of one block run in order in ONE fresh temporary directory, so they share files
  (``mlplab train ... --out iris.safetensors`` then ``mlplab evaluate iris.safetensors``);
  :data:`FIXTURES` are copied into it first (``examples/flowers.csv`` as ``flowers.csv``).
* Exit status: 2 when the expected output has a line starting with ``mlplab: error:`` (a user
  error), 0 otherwise. After a successful command the files named by ``--out`` and ``--report``
  exist and ``--plots DIR`` holds PNG files.
* Every ```python block runs as a script in a fresh temporary directory (same environment and
  fixtures) and must exit 0; what it prints is not compared. Tracebacks give README.md's own
  line numbers.

Environment (:func:`environment`): a minimal copy of the caller's (PATH, HOME, temp and locale
variables) plus ``COLUMNS=100 LINES=40 TERM=dumb NO_COLOR=1``, unbuffered UTF-8 Python output,
``PYTHONHASHSEED=0``, ``MPLBACKEND=Agg`` and one BLAS/OpenMP thread (results then do not depend
on the number of cores); ``PYTHONPATH`` points at the ``mlplab`` this interpreter imports.
stdout is a pipe, not a terminal, so the CLI prints its plain output: what ``mlplab ... | less``
or ``> file`` shows. (On an interactive terminal ``train`` draws a Rich progress bar and
``train``/``evaluate``/``inspect`` print Rich tables instead.)

Comparison
----------
Exact, line by line (trailing spaces ignored), after :func:`mask` on both sides; the masks are
:data:`MASKS`, shared by the check and ``--update``:

* wall-clock durations printed as a number, one space and ``s`` or ``ms`` (``0.06 s``) -> ``<time>``;
* temporary paths: the block's working directory, and anything under ``/tmp/``, ``/var/folders/``
  (macOS ``/private/...`` too) -> ``<tmp>``.

Every other character is compared, numbers included, so cost, loss, accuracy or probabilities
that change show up as a diff.

``--update`` reruns each ```console block and writes the real output under each command. A
command's old README text is kept when it equals the new output after masking, so rerunning
does not churn timings. It refuses to write (and changes nothing) when a command fails
unexpectedly (exit status not matching its output, e.g. an internal error), when a named output
file is missing, or when the output would not parse back (a line starting with ``$ `` or a fence).
Only the bodies of ```console blocks change; commands and all other text stay as they are.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
UPDATE_COMMAND = ".venv/bin/python tools/readme_examples.py --update"

# copied into every example's working directory: name there -> file in this repository
FIXTURES = {"flowers.csv": ROOT / "examples" / "flowers.csv"}

TIMEOUT_S = 300  # per command or python block

# (pattern, replacement), applied in order to expected and actual output alike
MASKS = (
    # wall-clock durations: "0.06 s", "12 ms" (not "200 steps", "1e+04", "setosa")
    (re.compile(r"(?<![\w.+-])\d+(?:\.\d+)? m?s\b"), "<time>"),
    # temporary paths (the block's own working directory is replaced before this, see mask())
    (re.compile(r"(?:/private)?/(?:tmp|var/folders)/[^\s'\"()\[\],;]*"), "<tmp>"),
)

ERROR_PREFIX = "mlplab: error:"
FENCE = re.compile(r"^```(\S*)\s*$")

_PASS_THROUGH = ("PATH", "HOME", "USERPROFILE", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL",
                 "LC_CTYPE", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR", "OPENBLAS_CORETYPE",
                 "OPENBLAS_L2_SIZE")
_FIXED_ENV = {
    "COLUMNS": "100", "LINES": "40", "TERM": "dumb", "NO_COLOR": "1",
    "PYTHONUNBUFFERED": "1", "PYTHONUTF8": "1", "PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
}


# --- masking ----------------------------------------------------------------------------------


def mask(text: str, workdirs=()) -> str:
    """``text`` with what legitimately varies replaced: working directories, then :data:`MASKS`."""
    for d in sorted({str(d) for d in workdirs if d}, key=len, reverse=True):
        text = text.replace(d, "<tmp>")
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


def mask_lines(lines, workdirs=()) -> list[str]:
    return [mask(line, workdirs) for line in lines]


# --- parsing README.md ------------------------------------------------------------------------


@dataclass
class Command:
    line: int               # README.md line (1-based) of "$ ..."
    source: str             # that line, as written
    expected: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.source[2:].strip()


@dataclass
class Block:
    kind: str               # "console" or "python"
    line: int               # README.md line (1-based) of the opening fence
    start: int              # body = README lines [start, end), 0-based
    end: int
    heading: str            # the nearest "#" heading above it
    body: list[str]
    commands: list[Command] = field(default_factory=list)  # console blocks only

    @property
    def id(self) -> str:
        return f"{self.kind}-line{self.line}"

    @property
    def title(self) -> str:
        what = ", ".join(c.text.split(" ")[1] if " " in c.text else c.text for c in self.commands)
        return f"under '{self.heading}'" + (f": {what}" if what else "")


def parse(text: str, name: str = "README.md") -> list[Block]:
    """The ```console and ```python blocks of a Markdown text, in order."""
    lines = text.split("\n")
    blocks, heading, i = [], "", 0
    while i < len(lines):
        if lines[i].startswith("#"):
            heading = lines[i].lstrip("#").strip()
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            raise ValueError(f"{name}:{i + 1}: code block never closed")
        if m.group(1) in ("console", "python"):
            block = Block(m.group(1), i + 1, i + 1, j, heading, lines[i + 1:j])
            if block.kind == "console":
                block.commands = _commands(block, name)
            blocks.append(block)
        i = j + 1
    return blocks


def _commands(block: Block, name: str) -> list[Command]:
    commands = []
    for k, line in enumerate(block.body):
        if line.startswith("$ "):
            commands.append(Command(block.start + k + 1, line))
        elif commands:
            commands[-1].expected.append(line.rstrip())
        elif line.strip():
            raise ValueError(f"{name}:{block.start + k + 1}: console block text before its first `$ ` command")
    for c in commands:
        while c.expected and not c.expected[-1]:
            c.expected.pop()
    if not commands:
        raise ValueError(f"{name}:{block.line}: console block without a `$ ` command")
    return commands


# --- running ----------------------------------------------------------------------------------


def _src_dir() -> str:
    spec = importlib.util.find_spec("mlplab")
    if spec is None or spec.origin is None:
        return str(ROOT / "src")
    return str(Path(spec.origin).resolve().parents[1])


@functools.lru_cache(maxsize=None)
def _environment() -> tuple:
    env = {k: os.environ[k] for k in _PASS_THROUGH if k in os.environ}
    env.update(_FIXED_ENV)
    env["PYTHONPATH"] = _src_dir()
    # matplotlib says "building the font cache" on its first import with a fresh cache: do that here
    if importlib.util.find_spec("matplotlib") is not None:
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, cwd=tempfile.gettempdir(),
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=TIMEOUT_S, check=False)
    return tuple(env.items())


def environment() -> dict:
    """The fixed environment every example runs in (see the module docstring)."""
    return dict(_environment())


def argv_for(command: str, name: str = "README.md", line: int = 0) -> list[str]:
    """The process to run for a README command: ``mlplab`` -> ``python -m mlplab.cli``."""
    argv = shlex.split(command)
    if argv and argv[0] == "mlplab":
        return [sys.executable, "-m", "mlplab.cli", *argv[1:]]
    if argv and argv[0] in ("python", "python3"):
        return [sys.executable, *argv[1:]]
    raise ValueError(f"{name}:{line}: `{command}`: console examples run `mlplab ...` or `python ...` only")


def copy_fixtures(workdir: str) -> None:
    for target, source in FIXTURES.items():
        shutil.copyfile(source, Path(workdir) / target)


def _run(argv, cwd, timeout) -> tuple[int | None, list[str]]:
    """(exit status or None after a timeout, output lines: stdout and stderr as written, trailing blanks dropped)."""
    try:
        proc = subprocess.run(argv, cwd=cwd, env=environment(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        code, raw = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as exc:
        code, raw = None, (exc.stdout or b"") + f"\n<timed out after {timeout} s>".encode()
    lines = [line.rstrip() for line in raw.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return code, lines


def expected_returncode(output: list[str]) -> int:
    """2 for a user error (a line starting with ``mlplab: error:``), else 0."""
    return 2 if any(line.startswith(ERROR_PREFIX) for line in output) else 0


def _missing_outputs(argv: list[str], workdir: str) -> list[str]:
    """Outputs the command was asked to write (--out, --report, --plots) that are not there."""
    missing = []
    for k, arg in enumerate(argv):
        flag, eq, value = arg.partition("=")
        if flag not in ("--out", "--report", "--plots"):
            continue
        if not eq:
            if k + 1 >= len(argv):
                continue
            value = argv[k + 1]
        path = Path(workdir) / value
        ok = any(path.glob("*.png")) if flag == "--plots" else path.is_file()
        if not ok:
            missing.append(f"{flag} {value}: " + ("no PNG files there" if flag == "--plots" else "no such file"))
    return missing


@dataclass
class Outcome:
    command: Command
    returncode: int | None
    actual: list[str]
    workdirs: tuple
    problems: list[str]

    def matches(self) -> bool:
        return (self.returncode == expected_returncode(self.command.expected) and not self.problems
                and mask_lines(self.command.expected) == mask_lines(self.actual, self.workdirs))


def run_console_block(block: Block, name: str = "README.md", timeout: int = TIMEOUT_S) -> list[Outcome]:
    """Run a console block's commands in order in one fresh temporary directory."""
    argvs = [argv_for(c.text, name, c.line) for c in block.commands]
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="mlplab-readme-") as tmp:
        copy_fixtures(tmp)
        workdirs = (tmp, os.path.realpath(tmp))
        for command, argv in zip(block.commands, argvs):
            code, actual = _run(argv, tmp, timeout)
            problems = []
            if code == 0:
                problems += _missing_outputs(shlex.split(command.text)[1:], tmp)
            outcomes.append(Outcome(command, code, actual, workdirs, problems))
    return outcomes


def run_python_block(block: Block, timeout: int = TIMEOUT_S) -> tuple[int | None, list[str]]:
    """Run a python block as a script named README.md whose line numbers are README.md's."""
    with tempfile.TemporaryDirectory(prefix="mlplab-readme-") as tmp:
        copy_fixtures(tmp)
        Path(tmp, "README.md").write_text("\n" * block.line + "\n".join(block.body) + "\n", encoding="utf-8")
        return _run([sys.executable, "README.md"], tmp, timeout)


# --- checking ---------------------------------------------------------------------------------


def _transcript(outcomes: list[Outcome], actual: bool) -> list[str]:
    lines = []
    for o in outcomes:
        lines.append(o.command.source)
        lines += mask_lines(o.actual, o.workdirs) if actual else mask_lines(o.command.expected)
        lines.append("")
    return lines[:-1]


def check_block(block: Block, name: str = "README.md") -> str | None:
    """None when the block's example behaves as README.md says; else what differs and how to regenerate."""
    if block.kind == "python":
        code, output = run_python_block(block)
        if code == 0:
            return None
        return (f"{name}:{block.line}: the python block {block.title} failed (exit status {code}); "
                f"line numbers below are {name}'s:\n" + "\n".join(output[-40:]))
    outcomes = run_console_block(block, name)
    bad = [o for o in outcomes if not o.matches()]
    if not bad:
        return None
    notes = []
    for o in bad:
        want = expected_returncode(o.command.expected)
        if o.returncode != want:
            notes.append(f"{name}:{o.command.line}: `{o.command.text}` exited with {o.returncode}, expected {want}")
        notes += [f"{name}:{o.command.line}: `{o.command.text}`: {p}" for p in o.problems]
        if mask_lines(o.command.expected) != mask_lines(o.actual, o.workdirs):
            notes.append(f"{name}:{o.command.line}: `{o.command.text}` printed something else")
    diff = difflib.unified_diff(_transcript(outcomes, False), _transcript(outcomes, True),
                                fromfile=f"{name}:{block.line} (expected, masked)",
                                tofile="actual output (masked)", lineterm="")
    return ("\n".join(notes) + "\n" + "\n".join(diff) +
            f"\n(times and temporary paths are masked as <time>, <tmp>.) If the new output is right, "
            f"regenerate README.md's console blocks with:  {UPDATE_COMMAND}")


# --- updating ---------------------------------------------------------------------------------


class UpdateError(Exception):
    pass


def new_bodies(text: str, name: str = "README.md", log=print) -> list[tuple[list[str], list[str]]]:
    """For each ```console block of ``text``: (its command lines, its new body from real output)."""
    result = []
    for block in parse(text, name):
        if block.kind != "console":
            continue
        log(f"running {name}:{block.line} {block.title}")
        body = []
        for k, o in enumerate(run_console_block(block, name)):
            where = f"{name}:{o.command.line}: `{o.command.text}`"
            if o.returncode != expected_returncode(o.actual):
                raise UpdateError(f"{where} exited with {o.returncode}; its output:\n" + "\n".join(o.actual[-20:]))
            if o.problems:
                raise UpdateError(f"{where}: " + "; ".join(o.problems))
            for line in o.actual:
                if line.startswith("$ ") or line.startswith("```"):
                    raise UpdateError(f"{where} printed {line!r}, which would not parse back from a console block")
            keep = mask_lines(o.command.expected) == mask_lines(o.actual, o.workdirs)
            log(f"  {'unchanged' if keep else 'UPDATED  '} {o.command.text}")
            body += ([""] if k else []) + [o.command.source] + (o.command.expected if keep else o.actual)
        result.append(([c.source for c in block.commands], body))
    return result


def apply_bodies(text: str, bodies, name: str = "README.md") -> str:
    """``text`` with its ```console blocks' bodies replaced; the blocks must hold the same commands."""
    blocks = [b for b in parse(text, name) if b.kind == "console"]
    if [[c.source for c in b.commands] for b in blocks] != [commands for commands, _ in bodies]:
        raise UpdateError(f"the console blocks' commands in {name} changed while the examples ran; run it again")
    lines = text.split("\n")
    for block, (_, body) in reversed(list(zip(blocks, bodies))):
        lines[block.start:block.end] = body
    return "\n".join(lines)


def updated_text(text: str, name: str = "README.md", log=print) -> str:
    """``text`` with every ```console block's outputs replaced by real output (see the module docstring)."""
    return apply_bodies(text, new_bodies(text, name, log), name)


def update(path: Path = README) -> bool:
    """Rewrite the console blocks of ``path`` in place; True when it changed.

    The examples take a while; the file is read again just before writing, so edits made to other
    parts of it meanwhile are kept.
    """
    bodies = new_bodies(path.read_text(encoding="utf-8"), path.name)
    text = path.read_text(encoding="utf-8")
    new = apply_bodies(text, bodies, path.name)
    if new == text:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Check README.md's examples against real output, or (--update) "
                                                 "rewrite its ```console blocks from real output.")
    parser.add_argument("--update", action="store_true", help="rewrite the ```console blocks in place")
    parser.add_argument("--readme", type=Path, default=README, help="the Markdown file (default: README.md)")
    args = parser.parse_args(argv)
    if args.update:
        try:
            changed = update(args.readme)
        except UpdateError as exc:
            print(f"readme_examples: not updated: {exc}", file=sys.stderr)
            return 1
        print(f"{args.readme}: {'updated' if changed else 'already up to date'}")
        return 0
    failed = 0
    for block in parse(args.readme.read_text(encoding="utf-8"), args.readme.name):
        message = check_block(block, args.readme.name)
        print(f"{'ok  ' if message is None else 'FAIL'} {args.readme.name}:{block.line} {block.kind} {block.title}")
        if message is not None:
            failed += 1
            print(message)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
