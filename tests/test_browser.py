"""A real browser: Playwright drives Debian's Chromium against python app.py, at a desktop
size (1280x900) and a phone size (390x844), and asserts on what a person sees.

Every test saves screenshots into the folder the run prints at its end (the CI artifacts):
$SCREENSHOT_DIR, or artifacts/screenshots/ in the repository.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.browser import DESKTOP, PHONE, chromium, open_page
from conftest import EXAMPLES, ROOT, face_patch, write_walk_video, write_y4m

pytestmark = pytest.mark.browser
SIZES = {"desktop": DESKTOP, "phone": PHONE}
TABS = ("Photo", "Snapshot", "Live", "Video")
FOUR = "4 emotions (angry, happy, sad, neutral)"
ERROR_TOAST = "[data-testid=toast-body]"
HOTTEST_POINT = """img => {  // the reddest pixel of a shown heat map, in page pixels
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data; let best = -1e9, at = 0;
  for (let i = 0; i < d.length; i += 4) { const v = d[i] - d[i + 2] - Math.abs(d[i + 1] - 40);
    if (v > best) { best = v; at = i / 4; } }
  const r = img.getBoundingClientRect(), s = Math.min(r.width / c.width, r.height / c.height);
  const x0 = r.left + (r.width - c.width * s) / 2, y0 = r.top + (r.height - c.height * s) / 2;
  return {x: x0 + (at % c.width) * s, y: y0 + Math.floor(at / c.width) * s};
}"""
# Words of the elements a selector finds that a line break cuts in two, or that stick out of
# their element (cut off).
BROKEN_WORDS = """sel => [...document.querySelectorAll(sel)].filter(e => e.offsetParent)
.flatMap(e => {
  const out = [], walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
  const box = e.getBoundingClientRect();
  for (let n = walk.nextNode(); n; n = walk.nextNode())
    for (const m of n.textContent.matchAll(/\\S+/g)) {
      const r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
      const parts = [...r.getClientRects()].filter(b => b.width > 0);
      const lines = new Set(parts.map(b => Math.round(b.top)));
      if (lines.size > 1 || parts.some(b => b.right > box.right + 1 || b.left < box.left - 1))
        out.push(m[0]);
    }
  return out; })"""


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One Chromium for the module, with a fake camera playing a clip of a real face."""
    camera = write_y4m(tmp_path_factory.mktemp("camera") / "face.y4m")
    with chromium(camera) as launched:
        yield launched


@pytest.fixture(params=list(SIZES))
def page(request, browser, app_url):
    """A fresh page at each size; ``page.size`` names it, ``page.shot(name)`` saves a
    screenshot of the whole page."""
    tab = open_page(browser, app_url, SIZES[request.param], camera=True)
    tab.get_by_role("tab", name="Photo", exact=True).wait_for()  # the app has loaded
    tab.size = request.param
    tab.shot = lambda name: tab.screenshot(path=str(screenshot_dir() / f"{name}_{request.param}.png"),
                                           full_page=True)
    yield tab
    if getattr(request.node, "failed_call", False):
        tab.shot(f"FAILED_{request.node.name.split('[')[0]}")
    tab.context.close()


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def assert_no_error_toast(page) -> None:
    toasts = page.locator(ERROR_TOAST)
    assert toasts.count() == 0 or not toasts.first.is_visible(), toasts.first.inner_text()


def upload_photo(page, path: Path) -> None:
    """Upload into the Photo tab's input and wait until it shows the photo (an Analyse pressed
    before the upload is in would analyse nothing)."""
    page.locator(".image-container input[type=file], input[type=file]").first.set_input_files(str(path))
    page.locator(".image-container").first.locator("img").first.wait_for(state="attached")


def table_headers(page) -> list[str]:
    return [h.strip() for h in page.locator(".faces-table [role=columnheader]").all_inner_texts()
            if h.strip()]


# --- Photo -------------------------------------------------------------------------------

def test_an_example_analyses_on_click_with_bars_a_clean_table_and_boxes_in_details(page):
    page.locator(".gallery-item").nth(3).click()  # three_faces.jpg (examples are sorted)
    page.get_by_text("3 faces found").wait_for()
    assert_no_error_toast(page)
    assert _picked_and_shown(page) == (None, None)  # none picked yet: no face's bars
    assert _fits_the_width(page.locator(".faces-table").first)  # no sideways scrolling
    assert table_headers(page)[:2] == ["face", "emotion"]
    assert page.evaluate(BROKEN_WORDS, ".faces-table [role=columnheader]") == []
    assert not any("confidence" in h or "box" in h for h in table_headers(page))
    cells = page.locator(".faces-table [role=gridcell]").all_inner_texts()
    numbers = [c.strip() for c in cells if re.fullmatch(r"\s*\d+(\.\d+)?\s*", c)]
    assert len(numbers) == 3 * 8  # face number + 7 probabilities per face
    assert all(re.fullmatch(r"\d+\.\d", n) for n in numbers if "." in n)
    assert sum("." in n for n in numbers) == 3 * 7  # every probability with one decimal
    highlighted = page.locator(".faces-table [role=gridcell]").evaluate_all(
        "cells => cells.filter(c => getComputedStyle(c).fontWeight >= 700).length")
    assert highlighted == 3  # each face's winner
    page.get_by_text("Face 3:").first.click()  # the selector moves the bars to face 3
    page.locator(".face-bars").get_by_text("Face 3").wait_for()
    page.get_by_text("Details: where each face is").click()
    page.locator(".boxes-table [role=gridcell]").first.wait_for()
    assert page.locator(".boxes-table [role=gridcell][data-col='0']").count() == 3
    page.shot("photo")


def test_an_upload_analyses_by_itself_with_its_result_on_screen(page):
    """Analyse is on the first screen; an upload needs no press: its result comes into view
    (on a phone, below the inputs), with the journal box, which a new photo's result empties."""
    height = page.viewport_size["height"]
    analyse = page.get_by_role("button", name="Analyse", exact=True).first.bounding_box()
    assert analyse["y"] + analyse["height"] <= height, analyse  # above the fold
    assert not page.locator(".journal-adder").first.is_visible()  # nothing before a result
    assert not page.get_by_text("Details: where each face is").first.is_visible()
    upload_photo(page, EXAMPLES / "astronaut.jpg")
    page.get_by_text("1 face found").wait_for()
    page.wait_for_timeout(1200)  # the smooth scroll
    shown = page.locator(".annotated-image img").first.bounding_box()
    assert -1 <= shown["y"] < height / 2 and shown["y"] + min(shown["height"], 100) <= height
    page.shot("photo_after_upload")
    page.get_by_role("button", name="Add to my journal").first.click()
    added = page.get_by_text("Added to your journal").first
    added.wait_for()
    assert page.get_by_text("Details: where each face is").first.is_visible()
    upload_photo(page, EXAMPLES / "three_faces.jpg")
    page.get_by_text("3 faces found").wait_for()
    assert not added.is_visible()  # about the photo before


def _many_faces_photo(tmp_path: Path) -> Path:
    """Four small faces side by side on a 1400-pixel photo: each narrower than its label."""
    canvas = np.full((933, 1400, 3), 110, np.uint8)
    patch = face_patch(96)
    for i in range(4):
        canvas[420:516, 420 + 130 * i:516 + 130 * i] = patch if i % 2 == 0 else patch[:, ::-1]
    path = tmp_path / "four_faces.png"
    Image.fromarray(canvas).save(path)
    return path


def _image_geometry(page) -> dict:
    """Where the annotated picture's pixels are on the page: x, y (its corner), s (scale)."""
    return page.locator(".annotated-image img").first.evaluate("""img => {
      const r = img.getBoundingClientRect();
      const s = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
      return {x: r.left + (r.width - img.naturalWidth * s) / 2,
              y: r.top + (r.height - img.naturalHeight * s) / 2, s}; }""")


def test_labels_of_small_faces_are_numbered_apart_and_a_click_on_one_picks_its_face(
        page, tmp_path, app_url):
    from gradio_client import Client, handle_file

    from emotion_recognition.core.annotate import face_tags
    from emotion_recognition.core.types import Box, Face

    photo = _many_faces_photo(tmp_path)
    _, faces, _ = Client(app_url, verbose=False).predict(handle_file(str(photo)), "emotion7",
                                                      api_name="/analyze")
    assert len(faces) == 4
    tags = face_tags((933, 1400, 3), [Face(Box(*f["box"]), f["label"], f["confidence"],
                                           f["probabilities"]) for f in faces])
    assert [t.text.split()[0] for t in tags] == ["#1", "#2", "#3", "#4"]
    for i, a in enumerate(tags):
        for b in tags[i + 1:]:
            assert (a.box.x + a.box.w <= b.box.x or b.box.x + b.box.w <= a.box.x
                    or a.box.y + a.box.h <= b.box.y or b.box.y + b.box.h <= a.box.y), (a, b)
    upload_photo(page, photo)
    page.get_by_text("4 faces found").wait_for()
    picker = page.locator(".face-selector").first.inner_text()
    assert all(f"Face {n}:" in picker for n in range(1, 5))
    page.wait_for_timeout(1200)  # the smooth scroll
    where = _image_geometry(page)
    tag = tags[2]  # a click on face 3's label picks face 3
    page.mouse.click(where["x"] + (tag.box.x + tag.box.w / 2) * where["s"],
                     where["y"] + (tag.box.y + tag.box.h / 2) * where["s"])
    page.locator(".face-bars").get_by_text("Face 3:").wait_for()
    page.shot("photo_many_faces")


def test_a_new_photo_clears_the_old_result(page, tmp_path):
    page.locator(".gallery-item").nth(1).click()  # the coffee cup: no face
    page.get_by_text("No face found").wait_for()
    upload_photo(page, EXAMPLES / "three_faces.jpg")  # analysed by itself
    page.get_by_text("3 faces found").wait_for()
    assert not page.get_by_text("No face found").is_visible()


def _picked_and_shown(page) -> tuple[str | None, str | None]:
    """(the face selected in the picker, the face the bars show), e.g. ("Face 3", "Face 3")."""
    return tuple(page.evaluate("""() => {
      const shown = e => e && e.offsetParent !== null;
      const label = [...document.querySelectorAll('.face-selector label')]
        .find(l => l.querySelector('input:checked'));
      const bars = [...document.querySelectorAll('.face-bars')].find(shown);
      const face = t => (t.match(/Face \\d+/) || [null])[0];
      return [shown(label) ? face(label.innerText) : null,
              bars ? face(bars.innerText) : null]; }"""))


def _rerun(page, action) -> None:
    """Do ``action`` (a setting, Analyse) and wait for its new result to be shown whole."""
    before = page.locator(".annotated-image img").first.get_attribute("src")
    action()
    page.wait_for_function("src => { const i = document.querySelector('.annotated-image img');"
                           " return i && i.getAttribute('src') !== src; }", arg=before)
    page.wait_for_timeout(800)  # the results panel (show_photo) follows the picture
    assert_no_error_toast(page)


def _own_photo(tmp_path: Path) -> Path:
    """A photo of one's own: three_faces.jpg saved again (bytes no example has)."""
    path = tmp_path / "my_friends.jpg"
    Image.open(EXAMPLES / "three_faces.jpg").save(path, quality=88)
    return path


def test_an_own_upload_reruns_with_every_setting_and_keeps_the_face_picked(page, tmp_path):
    """Issue 25 (1, 6): the upload is deleted once analysed, yet each setting and Analyse
    answer from the kept photo; the picker and the bars show the same face throughout."""
    upload_photo(page, _own_photo(tmp_path))
    page.get_by_text("3 faces found").wait_for()
    assert _picked_and_shown(page) == (None, None)
    page.locator(".face-selector").get_by_text("Face 3:").click()
    page.locator(".face-bars").get_by_text("Face 3:").wait_for()
    assert _picked_and_shown(page) == ("Face 3", "Face 3")
    _rerun(page, lambda: page.get_by_label(FOUR).first.check())
    assert table_headers(page) == ["face", "emotion", "angry", "happy", "sad", "neutral"]
    assert _picked_and_shown(page) == ("Face 3", "Face 3")
    _rerun(page, lambda: page.get_by_label("Why this emotion?").first.check())
    page.locator(".heat-maps img").nth(2).wait_for()  # one per face
    assert _picked_and_shown(page) == ("Face 3", "Face 3")
    page.get_by_text("Advanced: face detector").first.click()
    _rerun(page, lambda: page.get_by_label("blazeface: BlazeFace").first.check())
    page.get_by_text("3 faces found").wait_for()
    assert _picked_and_shown(page) == ("Face 3", "Face 3")
    _rerun(page, lambda: page.get_by_role("button", name="Analyse", exact=True).click())
    assert table_headers(page) == ["face", "emotion", "angry", "happy", "sad", "neutral"]
    assert _picked_and_shown(page) == ("Face 3", "Face 3")
    page.shot("photo_own_upload_rerun")


def test_heat_maps_behind_the_toggle(page):
    page.locator(".gallery-item").nth(3).click()  # three_faces.jpg: three tiles
    page.get_by_text("3 faces found").wait_for()
    assert not page.locator(".heat-maps").is_visible()
    page.get_by_label("Why this emotion?").first.check()
    heat = page.locator(".heat-maps img").first
    heat.wait_for()
    assert heat.evaluate("img => img.naturalWidth") >= 96
    heat.evaluate("img => img.decode()")
    page.wait_for_timeout(300)
    # The reddest pixel of the heat map, in page pixels, lies inside the gallery's box (no
    # scrolling inside it), and the whole tile fits the box.
    hot = heat.evaluate(HOTTEST_POINT)
    box = page.locator(".heat-maps").first.bounding_box()
    tile = heat.bounding_box()
    assert tile["y"] >= box["y"] and tile["y"] + tile["height"] <= box["y"] + box["height"]
    assert box["x"] <= hot["x"] <= box["x"] + box["width"], (hot, box)
    assert box["y"] <= hot["y"] <= box["y"] + box["height"], (hot, box)
    # Issue 25 (11): no empty rows under the tiles, and each caption whole
    assert box["y"] + box["height"] - (tile["y"] + tile["height"]) <= 60, (box, tile)
    assert page.evaluate(BROKEN_WORDS, ".heat-maps .caption-label") == []
    page.shot("photo_heat_maps")


def test_the_face_detector_is_an_advanced_setting_that_analyses_again(page):
    page.locator(".gallery-item").nth(3).click()  # three_faces.jpg
    page.get_by_text("3 faces found").wait_for()
    page.get_by_text("Details: where each face is").click()
    boxes = page.locator(".boxes-table [role=gridcell]")
    boxes.first.wait_for()
    served = boxes.all_inner_texts()
    page.get_by_text("Advanced: face detector").first.click()
    choice = page.get_by_label("blazeface: BlazeFace").first
    choice.wait_for()
    page.shot("photo_detector_setting")
    choice.check()  # re-runs by itself, from the kept photo
    page.wait_for_function("before => JSON.stringify([...document.querySelectorAll("
                           "'.boxes-table [role=gridcell]')].map(c => c.innerText)) !== before",
                           arg=json.dumps(served))
    page.get_by_text("3 faces found").wait_for()
    assert_no_error_toast(page)


def _edge_photo(tmp_path: Path) -> Path:
    """Faces at the very top edge, left and right, where viewers put their buttons."""
    canvas = np.full((420, 1000, 3), 90, np.uint8)
    patch = face_patch(300)[45:, :]  # the face near the patch's top
    canvas[:255, :300] = patch
    canvas[:255, 700:] = patch[:, ::-1]
    path = tmp_path / "faces_at_the_top.png"
    Image.fromarray(canvas).save(path)
    return path


def test_labels_lie_inside_the_visible_picture_and_are_legible(page, tmp_path, app_url):
    from gradio_client import Client, handle_file

    from emotion_recognition.core.annotate import face_tags
    from emotion_recognition.core.types import Box, Face

    photo = _edge_photo(tmp_path)
    _, faces, _ = Client(app_url, verbose=False).predict(handle_file(str(photo)), "emotion7",
                                                      api_name="/analyze")
    assert len(faces) == 2
    tags = [tag.box for tag in face_tags((420, 1000, 3), [
        Face(Box(*f["box"]), f["label"], f["confidence"], f["probabilities"]) for f in faces])]
    upload_photo(page, photo)  # analysed by itself
    page.get_by_text("2 faces found").wait_for()
    shown = page.locator(".annotated-image img").first
    shown.wait_for()
    geometry = shown.evaluate("""img => {
      const r = img.getBoundingClientRect();
      const s = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
      const x = r.left + (r.width - img.naturalWidth * s) / 2, y = r.top + (r.height - img.naturalHeight * s) / 2;
      const block = img.closest('.annotated-image');
      const overlays = [...block.querySelectorAll('button, [data-testid=block-label]')]
        .filter(e => !e.contains(img)).map(e => e.getBoundingClientRect()).filter(b => b.width > 0 && b.height > 0)
        .map(b => [b.left, b.top, b.right, b.bottom]);
      return {x, y, s, w: img.naturalWidth * s, h: img.naturalHeight * s, overlays};
    }""")
    for tag in tags:
        left, top = geometry["x"] + tag.x * geometry["s"], geometry["y"] + tag.y * geometry["s"]
        right, bottom = left + tag.w * geometry["s"], top + tag.h * geometry["s"]
        assert geometry["x"] - 1 <= left and right <= geometry["x"] + geometry["w"] + 1
        assert geometry["y"] - 1 <= top and bottom <= geometry["y"] + geometry["h"] + 1
        assert bottom - top >= 12, f"a label {bottom - top:.1f} CSS pixels tall"  # legible
        for x0, y0, x1, y1 in geometry["overlays"]:
            assert right <= x0 or x1 <= left or bottom <= y0 or y1 <= top, "label under a button"
    page.shot("photo_labels_at_the_top")


GROUP_FACES = [("three_faces.jpg", (137, 51, 80, 80)), ("three_faces.jpg", (497, 66, 158, 158)),
               ("three_faces.jpg", (925, 49, 81, 81)), ("astronaut.jpg", (174, 65, 99, 99)),
               ("grace_hopper.jpg", (152, 104, 226, 226))]  # the examples' faces


def _head(name: str, box: tuple, side: int) -> np.ndarray:
    """An example's face with its hair and collar, side x side pixels."""
    import cv2

    x, y, w, h = box
    margin = int(w * 0.45)
    rgb = cv2.copyMakeBorder(np.asarray(Image.open(EXAMPLES / name).convert("RGB")),
                             margin, margin, margin, margin, cv2.BORDER_REPLICATE)
    return cv2.resize(rgb[y:y + h + 2 * margin, x:x + w + 2 * margin], (side, side),
                      interpolation=cv2.INTER_AREA)


def _group_of_eight(tmp_path: Path) -> Path:
    """Eight people in two rows (the second shifted half a place), 1600x1000."""
    canvas = np.full((1000, 1600, 3), 70, np.uint8)
    for k, i in enumerate([0, 1, 2, 3, 4, 1, 3, 0]):
        row, col = divmod(k, 4)
        tile = _head(*GROUP_FACES[i], 260)
        x, y = 90 + col * 360 + row * 170, 120 + row * 370
        canvas[y:y + 260, x:x + 260] = tile if k < 5 else tile[:, ::-1]
    path = tmp_path / "group_of_eight.jpg"
    Image.fromarray(canvas).save(path, quality=92)
    return path


def _large_photo(tmp_path: Path) -> Path:
    """A 4000x3000 photo: the three faces example enlarged to the full width."""
    import cv2

    big = cv2.resize(np.asarray(Image.open(EXAMPLES / "three_faces.jpg").convert("RGB")),
                     (4000, 1402), interpolation=cv2.INTER_CUBIC)
    canvas = np.full((3000, 4000, 3), 60, np.uint8)
    canvas[900:2302] = big
    path = tmp_path / "large.jpg"
    Image.fromarray(canvas).save(path, quality=90)
    return path


def _shown_faces(page) -> list:
    """The faces of the result shown, as core Faces (number order), from the picker's names
    ("Face 2: neutral 69%") and the Details table's boxes."""
    from emotion_recognition.core.types import Box, Face

    names = [t.strip() for t in page.locator(".face-selector label").all_inner_texts()]
    page.get_by_text("Details: where each face is").first.click()
    cells = page.locator(".boxes-table [role=gridcell]")
    cells.first.wait_for()
    values = [int(c) for c in cells.all_inner_texts()]
    rows = [values[i:i + 5] for i in range(0, len(values), 5)]
    faces = []
    for name, (number, *box) in zip(names, rows):
        label, percent = re.fullmatch(r"Face (\d+): (\w+) (\d+)%", name).groups()[1:]
        faces.append(Face(Box(*box), label, int(percent) / 100, {label: int(percent) / 100}))
    assert len(faces) == len(rows) == len(names)
    return faces


def _in_reading_order(boxes: list) -> bool:
    """Whether the boxes go row by row (a face whose middle lies above the bottom of its
    row's first face is in that row), each row left to right."""
    rows: list[list] = []
    for box in sorted(boxes, key=lambda b: b.y):
        if rows and box.y + box.h / 2 < rows[-1][0].y + rows[-1][0].h:
            rows[-1].append(box)
        else:
            rows.append([box])
    return [b for row in rows for b in sorted(row, key=lambda b: b.x)] == list(boxes)


@pytest.mark.parametrize("make, count, shape", [(_large_photo, 3, (3000, 4000, 3)),
                                                (_group_of_eight, 8, (1000, 1600, 3))])
def test_no_label_covers_a_face_on_a_large_photo_and_a_group(page, tmp_path, make, count,
                                                            shape):
    """Issue 25 (4): on a 4000x3000 photo and a group of eight, no label lies over any face,
    each is next to its own box (within one label height) and at most 1.5 faces wide
    unless it is the face's number alone."""
    from emotion_recognition.core.annotate import face_tags

    upload_photo(page, make(tmp_path))
    page.get_by_text(f"{count} faces found").wait_for()
    faces = _shown_faces(page)
    tags = face_tags(shape, faces)
    for face, tag in zip(faces, tags):
        b, t = face.box, tag.box
        assert not any(t.x < o.box.x + o.box.w and o.box.x < t.x + t.w and t.y < o.box.y + o.box.h
                       and o.box.y < t.y + t.h for o in faces), (tag, face)
        gap = np.hypot(max(b.x - t.x - t.w, t.x - b.x - b.w, 0),
                       max(b.y - t.y - t.h, t.y - b.y - b.h, 0))
        assert gap <= t.h and (t.w <= 1.5 * b.w or re.fullmatch(r"#\d+", tag.text)), (tag, face)
    page.shot(f"photo_labels_{make.__name__.strip('_')}")


def test_a_group_of_eight_is_numbered_in_reading_order(page, tmp_path):
    upload_photo(page, _group_of_eight(tmp_path))
    page.get_by_text("8 faces found").wait_for()
    assert _in_reading_order([face.box for face in _shown_faces(page)])


def test_a_one_by_100000_image_gets_a_clear_refusal(page, tmp_path):
    """Too long a strip to be a photo (issue 15: such strips crashed the detector): the
    person reads why, from its header, and the next photo is analysed."""
    strip = tmp_path / "strip.png"
    Image.new("RGB", (100_000, 1), (120, 120, 120)).save(strip)
    upload_photo(page, strip)  # analysed by itself: told at once, where the result goes
    page.locator(".photo-message").get_by_text(
        "100000x1 pixels; the limit is 16,384 pixels a side").wait_for()


def test_a_file_that_is_no_image_is_told_at_once_and_leaves_no_broken_preview(page, tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("This is a letter, not a photo.\n")
    page.locator("input[type=file]").first.set_input_files(str(fake))
    message = page.locator(".photo-message").get_by_text("This file is not an image we can read")
    message.wait_for(timeout=10_000)  # without pressing Analyse
    assert message.is_visible()
    page.wait_for_function("() => !document.querySelector('.image-container img')")
    assert_no_error_toast(page)
    page.shot("photo_not_an_image")


# --- Video -------------------------------------------------------------------------------

def _fits_the_width(block) -> bool:
    """Nothing in the block reaches past its right edge or the screen's (no sideways scroll)."""
    return block.evaluate("""block => {
      const right = Math.min(block.getBoundingClientRect().right, window.innerWidth) + 1;
      const grid = block.querySelector('[role=grid]') || block;
      return grid.scrollWidth <= grid.clientWidth + 1 &&
        [...block.querySelectorAll('[role=columnheader], [role=gridcell]')]
          .every(c => c.getBoundingClientRect().right <= right);
    }""")


def _visible_legend(page) -> list[str]:
    """The emotions of the colour legend shown, each drawn wholly on the screen."""
    return page.locator(".emotion-legend:visible").first.evaluate("""block =>
      [...block.querySelectorAll('span')].filter(s => s.querySelector('i')).filter(s => {
        const r = s.getBoundingClientRect();
        return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; })
      .map(s => s.textContent.trim())""")


TICKS_OVERLAP = """block => {
  const ticks = [...block.querySelectorAll('.role-axis-label text')]
    .filter(t => getComputedStyle(t).opacity !== '0')  // Vega hides labels that would collide
    .map(t => t.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0);
  return ticks.some((a, i) => ticks.some((b, j) => i < j && Math.abs(a.top - b.top) < 2
    && a.left < b.right - 1 && b.left < a.right - 1));
}"""


def _x_ticks_overlap(plot) -> bool:
    """Whether the x-axis labels overlap, once a redraw (the live plot's, every second) is
    over: overlapping for 3 seconds in a row."""
    for _ in range(6):
        if not plot.evaluate(TICKS_OVERLAP):
            return False
        plot.page.wait_for_timeout(500)
    return True


def test_a_video_previews_without_error_tracks_walkers_and_has_readable_timelines(page, tmp_path):
    clip = write_walk_video(tmp_path / "walk.mp4")  # mp4v: browsers cannot play it
    open_tab(page, "Video")
    page.locator(".video-input input[type=file]").set_input_files(str(clip))
    page.locator(".video-poster img").wait_for()
    assert_no_error_toast(page)
    page.get_by_text("2 face(s) followed").wait_for()  # analysed by itself: two people, two ids
    winners = page.locator(".timeline:visible").first
    winners.locator("svg").first.wait_for()
    assert not _x_ticks_overlap(winners)
    legend = _visible_legend(page)  # wraps on a phone: no emotion cut off
    assert legend == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"], legend
    page.get_by_text("Face 1: every emotion").click()
    page.wait_for_function("() => [...document.querySelectorAll('.timeline')]"
                           ".some(t => t.offsetParent && t.innerText.includes('probability'))")
    one_face = page.locator(".timeline:visible").first
    assert not _x_ticks_overlap(one_face)
    assert _fits_the_width(page.locator(".video-shares").first)
    page.shot("video")
    other = write_walk_video(tmp_path / "again.mp4", seconds=2)  # the box takes another
    page.locator(".video-input input[type=file]").set_input_files(str(other))
    page.locator(".video-facts").get_by_text("again.mp4").wait_for()
    page.locator(".video-facts").get_by_text("analysed").wait_for()
    assert "walk.mp4" not in page.locator(".video-facts").first.inner_text()


# --- Live --------------------------------------------------------------------------------

def test_the_live_tab_streams_a_face_with_a_timeline_and_csv(page, tmp_path):
    import csv

    open_tab(page, "Live")
    page.get_by_role("button", name="Start the camera").click()
    page.locator(".live-view img").first.wait_for()
    page.wait_for_timeout(4000)
    assert "frames a second" in page.locator(".live-status").inner_text()
    winners = page.locator(".timeline:visible").first
    winners.locator("svg").first.wait_for()
    assert "face 1" in winners.inner_text() and not _x_ticks_overlap(winners)
    page.shot("live")
    page.get_by_role("button", name="Stop", exact=True).click()
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Export this session as CSV").click()
    link = page.locator(".session-csv a").first
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "session.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(saved.open()))
    assert len(rows) >= 5 and {r["face"] for r in rows} == {"1"}
    assert {r["kind"] for r in rows} == {"live"} and {r["status"] for r in rows} == {"face"}
    times = [float(r["time_s"]) for r in rows]
    assert times == sorted(times) and times[-1] > times[0]


# --- The first screen --------------------------------------------------------------------

LINES = """e => { const r = document.createRange(); r.selectNodeContents(e);
  return new Set([...r.getClientRects()].filter(b => b.width > 0)
    .map(b => Math.round(b.top))).size; }"""


def test_the_first_screen_says_what_the_app_does_and_invites_a_photo(page):
    """Issue 25 (9): one line says what the app does (at most 2 at 1280x900), privacy and
    limits are one click away, and the empty result invites a photo."""
    from emotion_recognition.core.limits import LIMITS

    intro = page.locator(".intro p").first
    assert intro.evaluate(LINES) <= (2 if page.size == "desktop" else 3), intro.inner_text()
    assert "emotion" in intro.inner_text()
    limits = page.get_by_text(LIMITS.photo_text()[:40])
    assert not limits.is_visible()  # behind one click
    invitation = page.locator(".empty-result").first
    assert "Drop a photo, take one, or click an example" in invitation.inner_text()
    if page.size == "desktop":  # beside the photo, on the first screen
        box = invitation.bounding_box()
        assert box["y"] + box["height"] <= page.viewport_size["height"]
    page.shot("first_screen")
    page.get_by_text("Privacy, limits and how it works").click()
    limits.wait_for()
    assert page.get_by_text("deleted when the request that analyses it ends").first.is_visible()
    page.locator(".gallery-item").nth(0).click()  # the astronaut: the result replaces it
    page.get_by_text("1 face found").wait_for()
    page.locator(".annotated-image img").first.wait_for()
    assert not invitation.is_visible()


# --- Snapshot, and the page as a whole ---------------------------------------------------

def test_every_tab_fits(page):
    for name in TABS:
        assert page.get_by_role("tab", name=name, exact=True).is_visible(), name  # no "..." menu
    open_tab(page, "Snapshot")
    page.get_by_role("button", name="Click to Access Webcam").first.click()
    page.shot("snapshot")
    open_tab(page, "Journal")
    assert _visible_legend(page) == ["angry", "disgust", "fear", "happy", "sad", "surprise",
                                     "neutral"]  # the charts' colours, none cut off
    page.shot("journal")
