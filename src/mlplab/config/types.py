"""The value types of a run's options: each parses one text and rejects a bad value naming the rule.

A type is a function ``text -> value`` raising :class:`argparse.ArgumentTypeError`; its ``__name__``
is what argparse calls it in a message. The same functions check a flag, a ``--config`` TOML value
(turned into the flag's text) and a sweep spec's value, so all three say the same thing.

:class:`UserError` is the one error a user can cause (exit code 2 on the command line), and
:class:`Parser` the argparse parser that raises it instead of printing usage and exiting.
"""

from __future__ import annotations

import argparse

from mlplab.initializers import parse_init


class UserError(Exception):
    """A problem with what the user asked for; exit code 2, one line on stderr."""


class Parser(argparse.ArgumentParser):
    """argparse whose errors become :class:`UserError` (one line, exit 2) instead of usage + exit.

    Abbreviated long options are refused (``allow_abbrev=False``): ``--epoch 3`` is an error, not
    ``--epochs 3``, so a typo never silently picks some other flag.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UserError(f"{message} (see `{self.prog} --help`)")


def integer(low: int):
    """An integer n >= ``low``."""
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


def number(low: float | None = None, high: float | None = None, low_open=False, high_open=False):
    """A finite float in the interval [low, high] (``low_open``/``high_open``: that end excluded)."""
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


def int_list(allow_empty: bool):
    """Comma-separated positive integers (layer sizes), brackets allowed: '2,2,1', '[64, 32]'."""
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


def init_spec(text):
    """An initializer spec that :func:`mlplab.initializers.parse_init` accepts; kept as text."""
    try:
        parse_init(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


init_spec.__name__ = "init"


def steps_or_epochs(text: str):
    """``N`` steps, or ``Ne`` / ``N epochs`` → ("steps"|"epochs", N)."""
    t = text.strip().lower().replace(" ", "")
    unit = "steps"
    for suffix in ("epochs", "epoch", "e"):
        if t.endswith(suffix):
            t, unit = t[: -len(suffix)], "epochs"
            break
    try:
        n = int(t)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of steps (500) or epochs (2e), got {text!r}")
    return unit, n


steps_or_epochs.__name__ = "steps-or-epochs"


def port(text: str) -> int:
    """A TCP port 0..65535 (0: any free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a whole number 0..65535, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {value}")
    return value


POSITIVE_INT = integer(1)
NONNEG_INT = integer(0)
POSITIVE = number(0.0, low_open=True)
NONNEG = number(0.0)
FRACTION = number(0.0, 1.0, high_open=True)
