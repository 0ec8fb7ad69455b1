"""Debian's Chromium, driven by Playwright, for the dashboard's tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.app.botprocess import BotProcess

CHROMIUM = "/usr/bin/chromium"
TOKEN = "dashboard-test-token-0123456789"
# Chromium in a sandbox-less container, with nothing reaching for the network
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ensure_chromium() -> str:
    """Debian's Chromium, installed from Debian's packages if missing (never downloaded by a
    test tool)."""
    if not Path(CHROMIUM).exists():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.fail(f"the browser test needs {CHROMIUM}: apt-get install chromium (as root)")
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            subprocess.run(command, check=True, capture_output=True, timeout=600)
    return CHROMIUM


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = ensure_chromium()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield chromium
        await chromium.close()


async def dashboard_address(bot: BotProcess) -> str:
    """The dashboard's address, as the bot prints it at start."""
    line = await bot.wait_for("Dashboard on ")
    match = re.search(r"Dashboard on (http://\S+/)", line)
    assert match is not None, line
    return match.group(1)
