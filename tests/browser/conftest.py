"""Browser tests: Debian's Chromium, headless, driven by Playwright (from PyPI) against a real bot
and emulator over HTTP.

Playwright's own browser download does not work here; it is pointed at the system's Chromium
(``/usr/bin/chromium``, or ``ROOMBOT_TEST_CHROMIUM``). ``.ci/run`` installs Debian's ``chromium``
when it is missing. Without Playwright or a browser, every test here is skipped with the reason,
which pytest's summary (``-ra``) prints.

``ROOMBOT_SCREENSHOTS=<folder>`` keeps the screenshots the tests take there (the README's come
from ``ROOMBOT_SCREENSHOTS=docs/screenshots``); by default they go to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser, ViewportSize

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Laptop-sized, the size the README's screenshots show.
VIEWPORT: ViewportSize = {"width": 1440, "height": 1000}


def chromium_path() -> str | None:
    configured = os.environ.get("ROOMBOT_TEST_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async_api = pytest.importorskip(
        "playwright.async_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "no Chromium found (apt-get install chromium, as .ci/run does, or set ROOMBOT_TEST_CHROMIUM)"
        )
    async with async_api.async_playwright() as playwright:
        # Playwright adds --headless itself and a fresh profile folder (--user-data-dir) per launch.
        launched = await playwright.chromium.launch(
            executable_path=executable, args=[flag for flag in CHROMIUM_FLAGS if flag != "--headless"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: ``ROOMBOT_SCREENSHOTS`` when set, else the test's temporary folder."""
    folder = Path(os.environ.get("ROOMBOT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
