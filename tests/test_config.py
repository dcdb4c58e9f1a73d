"""mlplab.config: a run's options declared once, and the parsers, config files and sweeps built from it."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from mlplab.cli.parsers import build_parser, subparsers
from mlplab.config import COMMANDS, UserError, command_parser, config_tokens, options_of

SRC = Path(__file__).resolve().parents[1] / "src" / "mlplab"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_subcommand_parser_has_exactly_the_declared_options(command):
    sp = subparsers(build_parser())[command]
    flags = {s[2:] for a in sp._actions for s in a.option_strings if s.startswith("--")}
    flags |= {a.dest for a in sp._actions if not a.option_strings}
    assert flags == set(options_of(command))
    for action in sp._actions:
        if action.option_strings and action.dest != "help":
            option = options_of(command)[next(s for s in action.option_strings if s.startswith("--"))[2:]]
            assert option.help == action.help and option.dest == action.dest


def test_the_parsers_are_listed_in_the_declarations_order():
    assert list(subparsers(build_parser())) == list(COMMANDS)


def test_config_tokens_are_the_flags_of_the_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('data = "moons"\nhidden = [8, 4]\nbias = false\njson = true\nport = 1\n'
                    '[train]\nbatch_size = 16\n[evaluate]\ntarget = "y"\n')
    tokens, positional = config_tokens(str(path), "train")
    assert positional == {"data": "moons"}
    assert tokens == ["--hidden", "8,4", "--no-bias", "--json", "--batch-size", "16"]  # port: playground's, skipped
    with pytest.raises(UserError, match=r"unknown option 'nope' for `mlplab train`"):
        config_tokens(str(path), "train", cfg={"nope": 1})
    with pytest.raises(UserError, match=r"bias must be true or false"):
        config_tokens(str(path), "train", cfg={"bias": 3})


def test_a_command_parser_words_its_errors_as_the_command_line_does(capsys):
    from mlplab.cli import main

    with pytest.raises(UserError) as info:
        command_parser("train").parse_args(["--lr", "-1"])
    assert main(["train", "--lr", "-1"]) == 2
    assert capsys.readouterr().err.strip() == f"mlplab: error: {info.value}"


def test_config_imports_neither_edge():
    code = ("import sys, mlplab.config; "
            "print(sorted({m for m in sys.modules if m.startswith(('mlplab.cli', 'mlplab.sweeps'))}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "[]", r.stderr


@pytest.mark.parametrize("name", ["spec.py", "runner.py", "grid.py", "resolver.py"])
def test_the_sweeps_reach_the_run_through_config_not_the_cli(name):
    tree = ast.parse((SRC / "sweeps" / name).read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m == "mlplab.cli" or m.startswith("mlplab.cli.") for m in modules)
