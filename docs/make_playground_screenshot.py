"""Regenerate docs/playground.png: the playground training moons (Adam, 8-8 tanh), in Debian's Chromium.

    PYTHONPATH=src .venv/bin/python docs/make_playground_screenshot.py

Starts ``mlplab playground --no-browser --port 0``, picks moons and Adam through the page's own
controls, runs a few seconds, pauses and takes a full-page screenshot.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent


def main(seconds: float = 6.0) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "mlplab.cli", "playground", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = re.search(r"(http://\S+/)", proc.stdout.readline()).group(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, wait_until="load")
            page.wait_for_function("() => window.playground.frame && window.playground.frame.k === 0")
            for name, value in (("dataset", "moons"), ("optimizer", "adam")):
                page.select_option(f"[data-testid={name}]", value)
            page.wait_for_function("() => window.playground.frame.config.optimizer === 'adam'"
                                   " && window.playground.frame.config.dataset === 'moons'")
            page.click("[data-testid=run]")
            time.sleep(seconds)
            page.click("[data-testid=pause]")
            time.sleep(1.0)  # the last frame drawn
            page.screenshot(path=str(HERE / "playground.png"), full_page=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
