"""Faces that are not upright: detection on rotated copies (the one photo policy), and the
eye-cascade levelling that benchmarks.rotation measured (and that is not served)."""

from __future__ import annotations

import pytest

import cv2
import numpy as np

from benchmarks import rotation
from conftest import EXAMPLES
from emotion_recognition.core.crops import to_grey
from emotion_recognition.core.decode import decode_image
from emotion_recognition.core.detection import policy
from emotion_recognition.core.detection.haar import FaceDetector

pytestmark = pytest.mark.unit


def turned(grey: np.ndarray, angle: float) -> np.ndarray:
    height, width = grey.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    return cv2.warpAffine(grey, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def astronaut() -> np.ndarray:
    return to_grey(decode_image(EXAMPLES / "astronaut.jpg"))


def test_the_eye_line_follows_the_tilt_of_the_face():
    detector, grey = FaceDetector(), astronaut()
    (box,) = detector.detect(grey)
    level = rotation.eye_angle(grey, box)
    assert level is not None and abs(level) < 8
    angles = {}
    for tilt in (-12, 12):
        image = turned(grey, tilt)
        (box,) = detector.detect(image)
        angles[tilt] = rotation.eye_angle(image, box)
    assert angles[-12] is not None and angles[12] is not None
    assert angles[-12] > 4 and angles[12] < -4  # opposite tilts, opposite eye lines
    (boxed,) = rotation.with_eye_angles(image, [box])
    assert boxed.angle == angles[12] and (boxed.x, boxed.w) == (box.x, box.w)


def test_no_eye_line_on_a_face_free_patch():
    grey = np.full((200, 200), 128, np.uint8)
    from emotion_recognition.core.types import Box

    assert rotation.eye_angle(grey, Box(20, 20, 150, 150)) is None


def test_a_face_turned_too_far_for_haar_is_found_on_a_rotated_copy():
    detector, grey = FaceDetector(), astronaut()
    (upright,) = detector.detect(grey)
    image = turned(grey, 30)
    assert not detector.detect(image)  # the frontal cascade alone misses it
    found = policy.detect_on_rotated_copies(detector, image)
    assert len(found) == 1 and found[0].angle != 0
    height, width = grey.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 30, 1.0)
    expected = matrix @ np.array([upright.x + upright.w / 2, upright.y + upright.h / 2, 1.0])
    centre = np.array([found[0].x + found[0].w / 2, found[0].y + found[0].h / 2])
    assert np.linalg.norm(centre - expected) < upright.w / 4  # where the turned face is


def test_a_large_photo_is_retried_shrunk_with_boxes_in_its_own_pixels():
    detector = FaceDetector()
    image = turned(astronaut(), 30)
    small = policy.detect_on_rotated_copies(detector, image)
    large = cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)  # 1.5 Mpx
    (box,) = policy.detect_on_rotated_copies(detector, large, max_pixels=200_000)
    assert abs(box.w - 3 * small[0].w) < 0.3 * box.w
    assert abs((box.x + box.w / 2) - 3 * (small[0].x + small[0].w / 2)) < 0.25 * box.w


def test_the_photo_pipeline_finds_a_turned_face_and_labels_its_upright_crop(recognizer):
    rgb = cv2.cvtColor(turned(astronaut(), 30), cv2.COLOR_GRAY2RGB)
    analysis = recognizer.analyze(rgb)
    assert len(analysis.faces) == 1 and analysis.faces[0].box.angle != 0
    assert not analysis.message


def test_a_long_strip_is_retried_in_bounded_memory():
    strip = np.full((1, 100_000), 120, np.uint8)
    assert policy.find_faces(FaceDetector(), strip) == []
    assert policy._turned_area(strip.shape, policy.RETRY_ANGLES) > 3e9  # unbounded
