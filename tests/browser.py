"""Debian's Chromium driven by Playwright: the one launch every browser test (and benchmarks/map.py) uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"


@contextmanager
def chromium() -> Iterator:
    """A running headless Chromium (playwright.sync_api.Browser), closed with its Playwright on exit."""
    assert Path(CHROMIUM).exists(), "install Debian's chromium: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def page_errors(page) -> list[str]:
    """The list that collects the page's uncaught script errors and console errors (CSP refusals among them)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors
