"""The documentation: the site builds with ``mkdocs build --strict``, the README stays a front page,
its links lead somewhere, and the console and python examples of the docs pages behave as written.

The site build needs the ``docs`` extra (``pip install -e ".[docs]"``) and skips with a reason
without it; the notebooks it renders are executed by ``tests/test_notebooks.py`` either way.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds the site: left out of the quick subset (pytest -m "not slow")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
_spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "tools" / "readme_examples.py")
readme_examples = sys.modules.get("readme_examples") or importlib.util.module_from_spec(_spec)
if "readme_examples" not in sys.modules:
    sys.modules["readme_examples"] = readme_examples  # dataclasses look their module up
    _spec.loader.exec_module(readme_examples)

README_MAX_LINES = 250

# the pages whose ```console / ```python blocks are run like the README's (see tools/readme_examples.py)
PAGES = sorted(p for p in DOCS.rglob("*.md") if "```console" in p.read_text(encoding="utf-8")
               or "```python" in p.read_text(encoding="utf-8"))
BLOCKS = [(page, block) for page in PAGES
          for block in readme_examples.parse(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))]


def _missing(*modules):
    return [m for m in modules if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(bool(_missing("mkdocs", "material", "mkdocstrings", "mkdocs_jupyter")),
                    reason="the docs extra is not installed (pip install -e \".[docs]\"): "
                           f"missing {', '.join(_missing('mkdocs', 'material', 'mkdocstrings', 'mkdocs_jupyter'))}")
def test_site_builds_strict(tmp_path):
    """``mkdocs build --strict``: no warning (broken links, docstrings griffe cannot read, a notebook
    that fails to execute); every page and notebook of the navigation is written."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", MPLBACKEND="Agg")
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(site)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    for page in ("index.html", "getting-started/index.html", "guide/python-api/index.html",
                 "performance/index.html", "api/train/index.html", "lecture/index.html"):
        assert (site / page).is_file(), page
    for nb in sorted((DOCS / "lecture").glob("*.ipynb")):
        html = (site / "lecture" / nb.stem / "index.html").read_text(encoding="utf-8")
        assert "<img" in html or "image/png" in html, f"{nb.name}: no picture in the rendered page"
    api = (site / "api" / "train" / "index.html").read_text(encoding="utf-8")
    assert "to_pandas" in api and "progress" in api


def test_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").split("\n")
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; the front page keeps to " \
                                           f"{README_MAX_LINES} (move detail into docs/)"


def test_readme_quick_start_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_cmd = 'python3 -m venv .venv && .venv/bin/pip install -q -e ".[test]" && .venv/bin/python -m pytest -q'
    assert test_cmd in readme and test_cmd in ci
    assert "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/python -m mlplab" in readme


@pytest.mark.parametrize("md", [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))], ids=lambda p: p.name)
def test_relative_links_resolve(md):
    """Every relative link of the README and the docs pages names a file that exists (GitHub renders them too)."""
    text = re.sub(r"```.*?```", "", md.read_text(encoding="utf-8"), flags=re.S)
    bad = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (md.parent / target.split("#")[0]).resolve()
        if not path.exists():
            bad.append(target)
    assert not bad, f"{md.relative_to(ROOT)}: links to missing files: {bad}"


def test_every_notebook_and_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for f in sorted(DOCS.rglob("*")):
        if f.suffix in (".md", ".ipynb") and ".ipynb_checkpoints" not in f.parts:
            assert str(f.relative_to(DOCS)) in nav, f"{f.relative_to(ROOT)} is not in mkdocs.yml's nav"


def test_docs_have_examples():
    kinds = {(b.kind, page.name) for page, b in BLOCKS}
    assert ("console", "cli.md") in kinds and ("console", "reports.md") in kinds
    assert ("python", "python-api.md") in kinds


@pytest.mark.parametrize("page,block", BLOCKS, ids=[f"{p.stem}-{b.id}" for p, b in BLOCKS])
def test_docs_example(page, block):
    """The docs pages' examples run as the README's do: console output compared line by line
    (times and temporary paths masked), python blocks must exit 0. Regenerate a page's console
    output with ``.venv/bin/python tools/readme_examples.py --update --readme docs/...md``."""
    message = readme_examples.check_block(block, str(page.relative_to(ROOT)))
    if message is not None:
        where = str(page.relative_to(ROOT))
        pytest.fail(message.replace("README.md's console blocks", f"{where}'s console blocks")
                    .replace(readme_examples.UPDATE_COMMAND, f"{readme_examples.UPDATE_COMMAND} --readme {where}"),
                    pytrace=False)
