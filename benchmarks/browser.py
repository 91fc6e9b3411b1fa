"""Debian's Chromium driven by Playwright, set up once for the browser tests, the live
benchmark and the README screenshot: where it is, the flags it runs headless with, and a
fake camera playing a clip when one is wanted."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_args(camera: str | Path | None = None) -> list[str]:
    """The flags, plus a fake camera that plays ``camera`` (a .y4m clip) when given."""
    if camera is None:
        return list(CHROMIUM_ARGS)
    return [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}"]


@contextmanager
def chromium(camera: str | Path | None = None) -> Iterator:
    """A running Chromium (a Playwright Browser), closed at the end of the with-block;
    RuntimeError when Debian's chromium is not installed (scripts/test.sh installs it)."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError("Debian's chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=chromium_args(camera))
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, url: str, viewport: dict = DESKTOP, camera: bool = False,
              timeout_ms: int = 90_000):
    """A fresh page (its own context) on ``url``, allowed the camera when asked."""
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    if camera:
        context.grant_permissions(["camera"], origin=url.rstrip("/"))
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.goto(url)
    return page
