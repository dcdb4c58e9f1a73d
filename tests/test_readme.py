"""README.md's examples, run for real: every ```console block's commands and every ```python block.

The machinery (parsing, the fixed environment, the masking rule, regeneration) is
``tools/readme_examples.py``; see its docstring. When the CLI's output changes on purpose,
regenerate the README's console blocks from real output with

    .venv/bin/python tools/readme_examples.py --update
"""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "tools" / "readme_examples.py")
readme_examples = importlib.util.module_from_spec(_spec)
sys.modules["readme_examples"] = readme_examples  # dataclasses look their module up
_spec.loader.exec_module(readme_examples)

BLOCKS = readme_examples.parse(readme_examples.README.read_text(encoding="utf-8"))


def test_readme_has_the_examples():
    """The blocks below really are the README's examples: a change of fence or heading must not drop them."""
    kinds = {(b.kind, b.heading) for b in BLOCKS}
    assert ("python", "The API in one example") in kinds
    assert any(k == "console" for k, _ in kinds)
    commands = [c.text for b in BLOCKS for c in b.commands]
    assert all(c.startswith("mlplab ") or c == "mlplab" for c in commands), commands
    for name in readme_examples.FIXTURES.values():
        assert name.is_file(), name


def test_masking_rule():
    """Only times and temporary paths are masked; every other number is compared."""
    mask = readme_examples.mask
    assert mask("converged after 31 steps (31 epochs, cost 976, 0.06 s)") == \
        "converged after 31 steps (31 epochs, cost 976, <time>)"
    assert mask("took 12 ms") == "took <time>"
    for kept in ("cost 976", "200 steps", "step=1e+04", "0.998533,0.00146679,1.16833e-07", "setosa 50 0",
                 "E − E* ≈ 0.55·0.298^k (R² 1.000)", "4-8-3 (tanh,softmax), 67 parameters"):
        assert mask(kept) == kept
    assert mask("saved to /tmp/mlplab-readme-x1/iris.safetensors (3 files)") == "saved to <tmp> (3 files)"
    assert mask("model /work/x/iris.safetensors", workdirs=["/work/x"]) == "model <tmp>/iris.safetensors"


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_example(block):
    message = readme_examples.check_block(block)
    if message is not None:
        pytest.fail(message, pytrace=False)
