"""A real browser: Playwright drives Debian's Chromium against python app.py."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from conftest import EXAMPLES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def playwright():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def page(playwright, app_url):
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
    for text in ("emotion", "confidence %", "neutral"):
        assert table.get_by_text(text).first.is_visible(), text
    boxes = re.findall(r"\[\d+, \d+, \d+, \d+\]", table.inner_text())
    assert len(boxes) == 3  # one row per face
    page.screenshot(path=str(tmp_path / "photo_tab.png"), full_page=True)


def test_upload_a_video_and_see_the_timeline(page, tmp_path):
    from conftest import write_video

    clip = write_video(tmp_path / "walk.mp4", frames=30, fps=10)
    page.get_by_role("tab", name="Video").click()
    page.locator("input[type=file][accept*='video']").first.set_input_files(str(clip))
    page.get_by_role("button", name="Analyse video").click()
    page.get_by_text("frames analysed over").wait_for()
    timeline = page.locator(".timeline").last
    timeline.locator("canvas, svg").first.wait_for()
    assert timeline.is_visible()
    page.screenshot(path=str(tmp_path / "video_tab.png"), full_page=True)


def test_live_tab_offers_the_webcam_stream_and_download(page):
    page.get_by_role("tab", name="Live webcam").click()
    assert page.get_by_role("button", name="Export this session as CSV").is_visible()
    assert page.get_by_text("Emotions over the last minute").first.is_visible()


def test_an_example_photo_can_be_analysed_twice(page):
    page.get_by_role("tab", name="Photo").click()
    # The second answer may read exactly like the first (same label, same percentage), so
    # the table's columns tell the two apart: only the 7-emotion table has a disgust column.
    for emotions, columns in (("4 emotions (angry, happy, sad, neutral)", 4 + 4), ("7 emotions", 4 + 7)):
        page.get_by_role("button", name="Analyse").first.wait_for()
        page.locator(".gallery-item, button.gallery-item, [data-testid='examples'] button").first.click()
        page.get_by_label(emotions).first.check()
        page.get_by_role("button", name="Analyse").first.click()
        page.get_by_text("1 face(s) found").first.wait_for()
        headers = page.locator("table").first.locator("thead th")
        page.wait_for_function(
            "n => { const t = document.querySelector('table'); "
            "return t && t.querySelectorAll('thead th').length === n; }", arg=columns)
        assert ("disgust" in " ".join(headers.all_inner_texts())) == (columns == 11)


def test_live_webcam_stream_tracks_a_face_and_downloads_the_session(playwright, app_url, tmp_path):
    """Chromium's fake camera plays a clip of a real face into the Live webcam tab."""
    import csv

    from conftest import write_y4m

    camera = write_y4m(tmp_path / "face.y4m")
    args = CHROMIUM_ARGS + ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                            f"--use-file-for-fake-video-capture={camera}"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    context.grant_permissions(["camera"], origin=app_url.rstrip("/"))
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.get_by_role("tab", name="Live webcam").click()
    page.get_by_role("button", name="Click to Access Webcam").click()
    page.locator("button:visible", has_text="Record").first.click()
    page.wait_for_timeout(6000)
    page.locator("button:visible", has_text="Stop").first.click()
    page.get_by_role("button", name="Export this session as CSV").click()
    link = page.locator(".session-csv a").first
    link.wait_for()
    with page.expect_download() as download_info:
        link.click()
    saved = tmp_path / "session.csv"
    download_info.value.save_as(saved)
    page.screenshot(path=str(tmp_path / "live_tab.png"), full_page=True)
    browser.close()
    rows = list(csv.DictReader(saved.open()))
    assert len(rows) >= 5, "the stream should have analysed several frames with the face"
    assert {r["face_id"] for r in rows} == {"1"}  # one face, one id throughout
    assert {"time_s", "x", "y", "w", "h", "label", "happy", "neutral"} <= set(rows[0])
    times = [float(r["time_s"]) for r in rows]
    assert times == sorted(times) and times[-1] > times[0]
