"""A real browser: Playwright drives Debian's Chromium against python app.py."""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import EXAMPLES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def page(app_url):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(app_url)
        yield page
        browser.close()


def test_upload_a_photo_and_see_the_annotated_image_and_table(page, tmp_path):
    page.locator("input[type=file]").first.set_input_files(str(EXAMPLES / "three_faces.jpg"))
    page.get_by_role("button", name="Analyse").first.click()
    page.get_by_text("3 face(s) found").wait_for()
    annotated = page.locator(".annotated-image img").first
    annotated.wait_for()
    assert annotated.evaluate("img => img.naturalWidth") > 1000  # the full-size annotated photo
    table = page.locator(".faces-table").first
    assert table.is_visible()
    for text in ("emotion", "confidence %", "neutral", "[135, 50,"):
        assert table.get_by_text(text).first.is_visible(), text
    page.screenshot(path=str(tmp_path / "photo_tab.png"), full_page=True)
