"""Labels that people can read: placed clear of the picture's top band, sized to the
picture's longer side, and images a browser can be sent."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_recognition.core.annotate import (TOP_BAND, colour_hex, draw, for_display, label_box,
                                               label_text)
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
    assert tag.y == 0 and tag.h <= 100


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
