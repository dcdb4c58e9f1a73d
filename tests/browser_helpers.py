"""What the browser tests share: Debian's Chromium driven by Playwright (never ``playwright install``),
and pages that record their errors and refuse every request that is not local."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path():
    path = os.environ.get("MLPLAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return path if path and Path(path).exists() else None


def playwright_and_chromium():
    """(playwright.sync_api, the Chromium executable), or skip the test saying what is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("chromium is not installed: apt-get install -y chromium (or set MLPLAB_CHROMIUM)")
    return sync_api, chromium


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (import this fixture into the module)."""
    sync_api, chromium = playwright_and_chromium()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


def artifacts_dir(tmp_path) -> Path:
    out = Path(os.environ.get("MLPLAB_ARTIFACTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def watch(page, allowed: str, errors: list, external: list) -> None:
    """Note the page's script errors and console errors in ``errors``; let through the requests whose
    URL starts with ``allowed`` and refuse (noting them in ``external``) all others."""
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)

    def only_local(route):
        if route.request.url.startswith(allowed):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
