"""Pytest plugin for the page tests: Debian's Chromium driven by Playwright, and a server.

Chromium is the one from Debian's packages (``apt-get install chromium``), launched by
path: nothing is downloaded. ``CHROMIUM`` names another binary. The flags keep it from
reaching out to the network, which this machine's closed network would refuse.

Every HTML answer the browser receives is kept (``Browsed.pages``), so that a test can
scan what a user was shown, for example for a plain NIK.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine

from tests.test_server import running_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Response

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Debian's Chromium, or ``CHROMIUM``; a missing browser fails the test, never skips it."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            "Chromium is not installed: `apt-get install chromium` (Debian's package); "
            ".ci/run installs it. Do not download a browser."
        )
    return path


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the whole run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Browsed:
    """A browser tab on the served app, and every HTML page it was sent."""

    page: Page
    base: str
    pages: list[tuple[str, str]] = field(default_factory=list)  # (url, html)

    def url(self, path: str) -> str:
        """The address of ``path`` on the server."""
        return self.base + path

    def shot(self, name: str) -> None:
        """Save a screenshot of the tab as ``$SCREENSHOTS_DIR/<name>.png`` when that is set.

        ``SCREENSHOTS_DIR=docs/screenshots pytest tests/test_web_*browser*.py`` makes the
        README's screenshots from the very flows the tests drive.
        """
        folder = os.environ.get("SCREENSHOTS_DIR")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

    def keep(self, response: Response) -> None:
        """Keep the body of an HTML answer (``page.on("response")``)."""
        if response.headers.get("content-type", "").startswith("text/html"):
            try:
                self.pages.append((response.url, response.text()))
            except Exception:  # A redirect or an aborted answer has no body to keep.
                return


@pytest.fixture
def web_server(env: dict[str, str], engine: Engine, tmp_path: Path) -> Iterator[str]:
    """``jamkesda serve`` on the test database, on a free loopback port; its base URL."""
    with running_server(env, tmp_path / "server.log") as base:
        yield base


@contextmanager
def fresh_tab(
    chromium: Browser, base: str, width: int = 1366, height: int = 768
) -> Iterator[Browsed]:
    """A fresh browser context (no cookies) with one tab of this size, on the app at ``base``."""
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="id-ID")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    browsed = Browsed(tab, base)
    tab.on("response", browsed.keep)
    try:
        yield browsed
    finally:
        context.close()


@pytest.fixture
def browsed(chromium: Browser, web_server: str) -> Iterator[Browsed]:
    """A fresh browser on a laptop's screen (1366 × 768), on the served app."""
    with fresh_tab(chromium, web_server) as tab:
        yield tab
