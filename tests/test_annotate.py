"""Labels that people can read: placed clear of the picture's top band, sized to the
picture's longer side, and images a browser can be sent."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from emotion_recognition.core.annotate import (TOP_BAND, colour_hex, draw, face_tags, for_display,
                                               label_box, label_text)
from emotion_recognition.core.types import Box, Face

pytestmark = pytest.mark.unit


def _face(box: Box, label: str = "happy") -> Face:
    return Face(box, label, 0.93, {label: 0.93})


@pytest.mark.parametrize("shape", [(480, 640, 3), (400, 1141, 3), (3000, 4000, 3)])
def test_labels_are_about_three_percent_of_the_longer_side(shape):
    tag, _, _ = label_box(shape, Box(shape[1] // 3, shape[0] // 2, shape[0] // 5, shape[0] // 5),
                          label_text("neutral", 0.93))
    assert 0.025 <= (tag.h - 2 * 3) / max(shape[:2]) <= 0.06
    # on a 360-pixel-wide phone screen the text stays at least ~10 CSS pixels tall
    assert tag.h * 360 / shape[1] >= 10


def test_a_face_at_the_top_edge_gets_its_label_below_not_in_the_top_band():
    shape = (480, 640, 3)
    box = Box(200, 5, 120, 120)
    tag, _, _ = label_box(shape, box, "happy 93%")
    assert tag.y >= box.y + box.h and tag.y >= TOP_BAND * shape[0]
    drawn = draw(np.zeros(shape, np.uint8), [_face(box)])
    assert drawn[tag.y + 2:tag.y + tag.h - 2, tag.x + 2:tag.x + 20].any()


def test_a_face_lower_down_keeps_its_label_above():
    tag, _, _ = label_box((480, 640, 3), Box(200, 200, 120, 120), "sad 60%")
    assert tag.y + tag.h == 200


def test_a_face_filling_the_picture_gets_its_label_inside():
    tag, _, _ = label_box((100, 100, 3), Box(0, 0, 100, 100), "sad 60%")
    assert 0 <= tag.y and tag.y + tag.h <= 100 and tag.x + tag.w <= 100


def test_tracked_faces_show_their_id():
    face = Face(Box(10, 200, 50, 50), "sad", 0.6, {"sad": 0.6}, face_id=3)
    assert label_text(face.label, face.confidence, face.face_id) == "#3 sad 60%"
    assert draw(np.zeros((480, 640, 3), np.uint8), [face]).any()


def test_images_for_display_fit_a_jpeg_and_a_screen():
    strip = np.zeros((1, 100_000, 3), np.uint8)
    assert for_display(strip).shape == (1, 8192, 3)
    photo = np.zeros((3000, 4000, 3), np.uint8)
    assert for_display(photo) is photo
    assert colour_hex("happy") == "#ffb703"


def _overlaps(a: Box, b: Box) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def _crowd(rng, count: int, shape=(933, 1400)) -> list[Face]:
    """``count`` small faces (40 to 120 pixels) that do not overlap, scattered at random."""
    boxes: list[Box] = []
    while len(boxes) < count:
        side = int(rng.integers(40, 120))
        box = Box(int(rng.integers(0, shape[1] - side)), int(rng.integers(0, shape[0] - side)),
                  side, side)
        if not any(_overlaps(box, other) for other in boxes):
            boxes.append(box)
    return [_face(box, "neutral") for box in boxes]


def test_labels_never_overlap_on_crowded_photos():
    rng = np.random.default_rng(0)
    for _ in range(150):
        faces = _crowd(rng, int(rng.integers(2, 10)))
        tags = face_tags((933, 1400, 3), faces)
        for a, b in itertools.combinations(tags, 2):
            assert not _overlaps(a.box, b.box), (a, b)
        assert all(0 <= t.box.x and t.box.x + t.box.w <= 1400 and 0 <= t.box.y
                   and t.box.y + t.box.h <= 933 for t in tags)


def test_four_small_faces_in_a_row_are_numbered_like_the_picker_and_a_click_finds_each():
    """The issue's case: four faces side by side on a 1400-pixel photo, each narrower than its
    label: no label covers another, each carries its face's number (#1 is the picker's Face 1)."""
    faces = [_face(Box(300 + 110 * i, 400, 90, 90), label)
             for i, label in enumerate(["neutral", "happy", "happy", "surprise"])]
    tags = face_tags((933, 1400, 3), faces)
    assert [t.text.split()[0] for t in tags] == ["#1", "#2", "#3", "#4"]
    for a, b in itertools.combinations(tags, 2):
        assert not _overlaps(a.box, b.box)
    for tag in tags:  # legible: at least 0.6 of the usual size
        assert tag.box.h >= 0.6 * label_box((933, 1400, 3), Box(0, 500, 90, 90), "x")[0].h
    drawn = draw(np.zeros((933, 1400, 3), np.uint8), faces)
    assert drawn[tags[1].box.y + 2, tags[1].box.x + 2].tolist() == list((255, 183, 3))


def test_tracked_faces_keep_their_id_as_number():
    faces = [Face(Box(100, 200, 120, 120), "sad", 0.6, {"sad": 0.6}, face_id=7)]
    assert face_tags((480, 640, 3), faces)[0].text == "#7 sad 60%"
    small = [Face(Box(100, 200, 60, 60), "sad", 0.6, {"sad": 0.6}, face_id=7)]
    assert face_tags((480, 640, 3), small)[0].text == "#7"  # its number: no wider than it


def _gap(a: Box, b: Box) -> float:
    """The distance between two boxes (0 when they touch or overlap)."""
    dx = max(b.x - (a.x + a.w), a.x - (b.x + b.w), 0)
    dy = max(b.y - (a.y + a.h), a.y - (b.y + b.h), 0)
    return float(np.hypot(dx, dy))


def _group_of_eight(width: int = 4000, height: int = 3000) -> list[Face]:
    """Two rows of four people (the second row half a face lower than a chin, shifted half
    a step), each face about 8 % of the picture's width, as in a team photo."""
    side = width // 12
    faces = []
    for row, top in enumerate((height // 4, height // 4 + int(side * 1.6))):
        for i in range(4):
            x = width // 8 + i * int(side * 2.1) + row * int(side * 1.05)
            faces.append(_face(Box(x, top, side, side), "neutral"))
    return faces


LAYOUTS = {
    "4000x3000, two faces": ((3000, 4000, 3), [_face(Box(1300, 520, 700, 700), "happy"),
                                               _face(Box(2150, 1400, 650, 650), "neutral")]),
    "4000x3000, a face under another": ((3000, 4000, 3), [
        _face(Box(1500, 400, 600, 600), "happy"), _face(Box(1450, 1150, 620, 620), "neutral")]),
    "group of 8 at 4000x3000": ((3000, 4000, 3), _group_of_eight()),
    "group of 8 at 1200x900": ((900, 1200, 3), _group_of_eight(1200, 900)),
    "four small faces": ((933, 1400, 3), [_face(Box(300 + 110 * i, 400, 90, 90))
                                          for i in range(4)]),
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_no_label_covers_a_face_and_each_stays_next_to_its_own(name):
    """Issue 25 (4): a label is never over any face (its own included), lies within one
    label height of its own box (a leader line joins it when it does not touch), is at most
    1.5 times as wide as its face unless it is the face's number alone, and covers no other
    label."""
    shape, faces = LAYOUTS[name]
    tags = face_tags(shape, faces)
    for face, tag in zip(faces, tags):
        covered = [other.box for other in faces if _overlaps(tag.box, other.box)]
        assert covered == [], (tag, covered)
        assert _gap(tag.box, face.box) <= tag.box.h, (tag, face.box)
        assert tag.box.w <= 1.5 * face.box.w or re.fullmatch(r"#\d+", tag.text), (tag, face.box)
    for a, b in itertools.combinations(tags, 2):
        assert not _overlaps(a.box, b.box), (a, b)


def test_a_label_scales_to_its_face_on_a_large_photo():
    """A 4000x3000 photo: a face a fifth of the picture's width carries its whole label at
    the usual size; faces of a group of eight carry labels about their own width."""
    shape = (3000, 4000, 3)
    big = face_tags(shape, [_face(Box(1500, 1200, 900, 900), "neutral")])[0]
    assert big.text.startswith("#1 neutral") and big.box.w <= 1.5 * 900
    group = face_tags(shape, _group_of_eight())
    widths = [tag.box.w / face.box.w for tag, face in zip(group, _group_of_eight())]
    assert max(widths) <= 1.5, widths
    assert min(tag.box.h for tag in group) * 360 / shape[1] >= 10  # legible on a phone
