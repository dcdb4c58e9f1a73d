"""``--config run.toml``: a TOML file of options → the flags they stand for.

The keys are the long flag names (``batch-size = 32`` or ``batch_size = 32``; lists for
``hidden = [64, 32]``; booleans for on/off flags; ``data = "file.csv"`` for the positional);
top-level keys apply to every subcommand that has the option, a ``[train]`` (``[evaluate]``, …)
table to that subcommand only. :func:`config_tokens` turns them into command-line tokens, so a value
in a file is checked by the very type that checks the flag (:mod:`mlplab.config.options`).
"""

from __future__ import annotations

import codecs
import tomllib
from pathlib import Path

from mlplab.config.options import COMMANDS, add_options, options_of
from mlplab.config.types import Parser, UserError

PROG = "mlplab"


def read_config_text(path: str) -> str:
    """The text of a config file in the encodings Python can tell from the bytes: UTF-8 (with or without a
    BOM), UTF-16 and UTF-32 (with a BOM, or UTF-16 without one recognised by its zero bytes).

    Raises:
        UserError: not readable, or in none of these encodings (the message says to save it as UTF-8).
        FileNotFoundError: no such file.
    """
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


def read_config(path: str) -> dict:
    """The parsed TOML of a ``--config`` file; every failure is a :class:`UserError` naming the file."""
    try:
        return tomllib.loads(read_config_text(path))
    except FileNotFoundError:
        raise UserError(f"config file {path!r} does not exist; check the --config path") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"config file {path!r} is not valid TOML ({exc}); fix its syntax") from None
    except OSError as exc:
        raise UserError(f"cannot read config file {path!r} ({exc.strerror})") from None


def _items(path: str, command: str, cfg: dict) -> list:
    """(key, value, from the command's own table?) of a config, top-level keys first; tables checked."""
    items = [(k, v, False) for k, v in cfg.items() if not isinstance(v, dict)]
    for k, v in cfg.items():
        if isinstance(v, dict):
            if k not in COMMANDS:
                raise UserError(f"config file {path!r}: unknown table [{k}]; tables are named after "
                                f"subcommands ({', '.join(COMMANDS)})")
            if k == command:
                items += [(kk, vv, True) for kk, vv in v.items()]
    return items


def config_tokens(path: str, command: str, cfg: dict | None = None) -> tuple[list[str], dict]:
    """(argv tokens, positional values) from a TOML file, for ``command`` (``cfg``: its already parsed content).

    A top-level key that only another subcommand has is skipped; an unknown key, ``config`` itself, or a
    value of the wrong shape (a number for an on/off flag) is a :class:`UserError`.
    """
    if cfg is None:
        cfg = read_config(path)
    every = [options_of(name) for name in COMMANDS]
    mine = options_of(command)
    tokens, positional = [], {}
    for key, value, specific in _items(path, command, cfg):
        flag = key.replace("_", "-")
        if flag in ("config",):
            raise UserError(f"config file {path!r}: 'config' cannot be set inside a config file")
        option = mine.get(flag)
        if option is None:
            if not specific and any(flag in opts for opts in every):
                continue  # an option of another subcommand
            raise UserError(f"config file {path!r}: unknown option {key!r} for `mlplab {command}`; "
                            f"see `mlplab {command} --help` for the option names")
        if option.kind == "positional":  # (data, model)
            positional[option.dest] = str(value)
            continue
        if isinstance(value, bool):
            if option.kind == "switch":
                tokens.append(f"--{flag}" if value else f"--no-{flag}")
            elif option.kind == "flag":
                if value:
                    tokens.append(f"--{flag}")
            else:
                raise UserError(f"config file {path!r}: {key} = {str(value).lower()} is not a valid value; "
                                f"see `mlplab {command} --help`")
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif option.kind in ("flag", "switch"):
            raise UserError(f"config file {path!r}: {key} must be true or false, got {value!r}")
        tokens += [f"--{flag}", str(value)]
    return tokens, positional


def command_parser(command: str) -> Parser:
    """A parser of ``command``'s options alone, named ``mlplab COMMAND`` as the command line's own subparser
    (the same errors, word for word); the sweeps parse each run's ``train`` options with it."""
    parser = Parser(prog=f"{PROG} {command}")
    add_options(parser, command)
    parser.set_defaults(command=command)
    return parser
