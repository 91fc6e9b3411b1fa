"""Haar detection on real public-domain photos, and the box helpers."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EXAMPLES
from emotion_recognition.detection import FaceDetector, overlap, suppress_overlaps
from emotion_recognition.preprocessing import Box, decode_image, to_grey


@pytest.fixture(scope="module")
def detector():
    return FaceDetector()


def _faces(detector, name):
    return detector.detect(to_grey(decode_image(EXAMPLES / name)))


def _contains(box: Box, x: int, y: int) -> bool:
    return box.x <= x <= box.x + box.w and box.y <= y <= box.y + box.h


def test_astronaut_has_one_face_on_her_face(detector):
    (box,) = _faces(detector, "astronaut.jpg")
    assert _contains(box, 220, 110)  # between the eyes of the 512x512 NASA portrait
    assert 70 <= box.w <= 130


def test_grace_hopper_has_one_face_on_her_face(detector):
    (box,) = _faces(detector, "grace_hopper.jpg")
    assert _contains(box, 256, 210)  # her glasses in the 512x600 photo
    assert 150 <= box.w <= 280


def test_group_photo_has_three_faces_left_to_right(detector):
    boxes = _faces(detector, "three_faces.jpg")
    assert len(boxes) == 3
    assert [b.x for b in boxes] == sorted(b.x for b in boxes)


def test_no_face_in_a_coffee_cup_or_tiny_images(detector):
    assert _faces(detector, "coffee_no_face.jpg") == []
    assert detector.detect(np.zeros((1, 1), np.uint8)) == []
    assert detector.detect(np.full((300, 300), 128, np.uint8)) == []


def test_large_photo_is_detected_at_full_resolution_coordinates(detector):
    import cv2

    rgb = decode_image(EXAMPLES / "astronaut.jpg")
    big = cv2.resize(rgb, (2048, 2048))
    (box,) = detector.detect(to_grey(big))
    assert _contains(box, 220 * 4, 110 * 4)


def test_overlap_and_suppression():
    a, b = Box(0, 0, 10, 10), Box(5, 0, 10, 10)
    assert overlap(a, b) == pytest.approx(50 / 150)
    assert overlap(a, Box(20, 20, 5, 5)) == 0.0
    assert suppress_overlaps([a, Box(1, 1, 9, 9), Box(40, 40, 5, 5)]) == [a, Box(40, 40, 5, 5)]
