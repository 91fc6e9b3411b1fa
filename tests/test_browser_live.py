"""The Live tab in a real browser (issue 17), with fake cameras: a face that turns from
neutral to smiling and back, and an empty room. At a desktop size (1280x900) and a phone
size (390x844); screenshots go where tests/test_browser.py puts its own."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.browser import CHROMIUM, DESKTOP, PHONE, chromium_args, open_page
from conftest import EXAMPLES, ROOT
from emotion_recognition.core.annotate import colour_hex
from emotion_recognition.core.decode import decode_image

pytestmark = pytest.mark.browser
SIZES = {"desktop": DESKTOP, "phone": PHONE}
# (example photo, its face's box): the bundled model calls them neutral and happy
FACES = {"neutral": ("grace_hopper.jpg", (152, 104, 226, 226)),
         "happy": ("astronaut.jpg", (174, 65, 99, 99))}
X_LABEL_GAP = """plot => {
  const boxes = [...plot.querySelectorAll('[aria-label^="X-axis"] .role-axis-label text')]
    .filter(t => getComputedStyle(t).opacity !== '0').map(t => t.getBoundingClientRect())
    .filter(r => r.width > 0).sort((a, b) => a.left - b.left);
  return Math.min(...boxes.slice(1).map((r, i) => r.left - boxes[i].right));
}"""


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def face(emotion: str, side: int) -> np.ndarray:
    """The example photo's face with a margin, side x side (RGB)."""
    name, (x, y, w, h) = FACES[emotion]
    rgb = decode_image(EXAMPLES / name)
    margin = w // 4
    crop = rgb[max(0, y - margin):y + h + margin, max(0, x - margin):x + w + margin]
    return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)


def write_camera(path: Path, emotions: tuple[str, ...], seconds_each: float = 2.0,
                 fps: int = 10, size: tuple[int, int] = (320, 240)) -> Path:
    """A Y4M clip for Chromium's fake camera (it loops): each emotion's face in turn for
    ``seconds_each``, or an empty grey room for emotions=()."""
    width, height = size
    side = 160
    frames = int(seconds_each * fps)
    with open(path, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420\n".encode())
        for emotion in emotions or ("",):
            patch = face(emotion, side) if emotion else None
            for i in range(frames):
                frame = np.full((height, width, 3), 100, np.uint8)
                if patch is not None:
                    x, y = (width - side) // 2 + (i % 4) * 2, (height - side) // 2
                    frame[y:y + side, x:x + side] = patch
                handle.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="module")
def cameras(tmp_path_factory):
    """Two Chromiums (one Playwright): "changing face", whose camera shows a neutral face
    for 2 s, then a smiling one for 2 s; "empty room", whose camera sees no one."""
    from playwright.sync_api import sync_playwright

    folder = tmp_path_factory.mktemp("camera")
    clips = {"changing face": write_camera(folder / "faces.y4m", ("neutral", "happy")),
             "empty room": write_camera(folder / "room.y4m", ())}
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (scripts/test.sh installs it)")
    with sync_playwright() as playwright:
        browsers = {name: playwright.chromium.launch(executable_path=CHROMIUM,
                                                     args=chromium_args(clip))
                    for name, clip in clips.items()}
        yield browsers
        for browser in browsers.values():
            browser.close()


def live_page(browser, url: str, size: str, theme: str = "light"):
    page = open_page(browser, url + ("?__theme=dark" if theme == "dark" else ""), SIZES[size],
                     camera=True)
    page.get_by_role("tab", name="Live", exact=True).click()
    page.get_by_role("button", name="Start the camera").wait_for()
    return page


def shot(page, name: str) -> None:
    page.screenshot(path=str(screenshot_dir() / f"{name}.png"), full_page=True)


def dot_colours(page) -> set[str]:
    """The colours of the dots the visible timeline draws."""
    return set(page.locator(".timeline:visible").first.evaluate(
        "t => [...t.querySelectorAll('.mark-symbol path')].map(p => p.getAttribute('stroke'))"))


@pytest.mark.parametrize("size", list(SIZES))
def test_the_live_timeline_draws_every_emotion_of_a_face_that_changes(cameras, app_url, size):
    """The camera starts neutral, so the plot's first value has only neutral dots; the
    smiling face's happy dots must appear too (they never did: issue 17)."""
    page = live_page(cameras["changing face"], app_url, size)
    page.get_by_role("button", name="Start the camera").click()
    page.locator(".live-view img").first.wait_for()
    wanted = {colour_hex("neutral"), colour_hex("happy")}
    for _ in range(24):  # the timeline is redrawn every second
        page.wait_for_timeout(500)
        if wanted <= dot_colours(page):
            break
    assert wanted <= dot_colours(page), dot_colours(page)
    assert None not in dot_colours(page)  # no dot without its emotion's colour
    assert not page.locator(".live-hint").is_visible()  # a face is in view
    assert page.locator(".timeline:visible").first.evaluate(X_LABEL_GAP) >= 8
    shot(page, f"live_changing_face_{size}")
    page.get_by_role("button", name="Stop", exact=True).click()
    page.context.close()


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two CSS colours 'rgb(r, g, b)'."""
    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("size, theme", [("desktop", "light"), ("phone", "dark")])
def test_live_with_no_face_in_view_says_so_and_so_does_its_export(cameras, app_url, size,
                                                                  theme):
    page = live_page(cameras["empty room"], app_url, size, theme)
    hint = page.locator(".live-status b")
    background = page.locator(".live-view").evaluate("e => getComputedStyle(e).backgroundColor")
    assert contrast(hint.evaluate("e => getComputedStyle(e).color"), background) >= 4.5
    shot(page, f"live_start_hint_{size}_{theme}")
    page.get_by_role("button", name="Start the camera").click()
    page.locator(".live-hint").wait_for(timeout=15_000)
    assert "No face in view" in page.locator(".live-hint").inner_text()
    page.wait_for_timeout(1500)  # a second run of the camera, at least
    shot(page, f"live_no_face_{size}_{theme}")
    page.get_by_role("button", name="Stop", exact=True).click()
    assert not page.locator(".live-hint").is_visible()
    page.get_by_role("button", name="Export this session as CSV").click()
    toast = page.locator("[data-testid=toast-body]").first
    toast.wait_for()
    assert re.search(r"The camera ran for \d+ s but saw no face", toast.inner_text())
    assert "start the camera" not in toast.inner_text().lower()
    page.wait_for_timeout(500)
    assert "Error" not in page.locator(".session-csv").first.inner_text()
    shot(page, f"live_no_face_export_{size}_{theme}")
    page.context.close()
