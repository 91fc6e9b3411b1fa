"""Faces are numbered as people read: row by row from the top, left to right in a row, on
every detection path (types.reading_order)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import face_patch
from emotion_recognition.core.detection.policy import detect_on_rotated_copies
from emotion_recognition.core.types import Box, reading_order

pytestmark = pytest.mark.unit

# two rows of four 160-pixel patches (the face in each about 72 pixels as Haar boxes it),
# each face a little higher or lower than its neighbours (x, y): in the top row the third
# sits 10 px above the first, the fourth 25 px below it (sorted by x, the old order, the
# top row was numbered 1, 3, 5, 7)
GROUP = [(1240, 505), (60, 80), (940, 105), (650, 70), (360, 485), (350, 100), (660, 525),
         (60, 515)]
READING = [(60, 80), (350, 100), (650, 70), (940, 105), (60, 515), (360, 485), (660, 525),
           (1240, 505)]


def test_rows_top_to_bottom_and_left_to_right_in_a_row():
    boxes = [Box(x, y, 160, 160) for x, y in GROUP]
    assert [(b.x, b.y) for b in reading_order(boxes)] == READING
    # a face more than half a face height below the row's centre starts the next row
    assert reading_order([Box(300, 0, 100, 100), Box(0, 51, 100, 100)]) == [
        Box(300, 0, 100, 100), Box(0, 51, 100, 100)]
    assert reading_order([Box(300, 0, 100, 100), Box(0, 49, 100, 100)]) == [
        Box(0, 49, 100, 100), Box(300, 0, 100, 100)]
    assert reading_order([]) == []


def test_faces_found_on_turned_copies_come_in_reading_order():
    class Columns:
        """Finds the given boxes (in the turned copy) column by column."""

        def detect(self, grey):
            return [Box(400, 300, 60, 60), Box(400, 50, 60, 60), Box(100, 300, 60, 60),
                    Box(100, 50, 60, 60)]

    found = detect_on_rotated_copies(Columns(), np.zeros((400, 600), np.uint8), angles=(0.0,))
    assert [(b.x, b.y) for b in found] == [(100, 50), (400, 50), (100, 300), (400, 300)]


def group_photo() -> np.ndarray:
    """A 1440x760 RGB photo of eight faces in two uneven rows (GROUP)."""
    canvas = np.full((760, 1440, 3), 110, np.uint8)
    face = face_patch(160)
    for x, y in GROUP:
        canvas[y:y + 160, x:x + 160] = face
    return canvas


@pytest.mark.parametrize("detector", ["haar", "blazeface", "combined"])
def test_a_group_photo_is_numbered_in_reading_order(recognizer, detector):
    faces = recognizer.analyze(group_photo(), detector=detector).face_dicts()
    centres = [(f["box"][0] + f["box"][2] / 2, f["box"][1] + f["box"][3] / 2) for f in faces]
    expected = [(x + 80, y + 80) for x, y in READING]
    assert [f["face"] for f in faces] == list(range(1, 9))
    assert np.abs(np.subtract(centres, expected)).max() < 30  # each number on its face

