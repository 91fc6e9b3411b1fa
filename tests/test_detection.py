"""Haar detection on real public-domain photos, and the box helpers."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EXAMPLES
from emotion_recognition.core.crops import to_grey
from emotion_recognition.core.decode import decode_image
from emotion_recognition.core.detection.haar import FaceDetector, suppress_overlaps
from emotion_recognition.core.types import Box

pytestmark = pytest.mark.unit


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
    assert a.overlap(b) == pytest.approx(50 / 150)
    assert a.overlap(Box(20, 20, 5, 5)) == 0.0
    assert suppress_overlaps([a, Box(1, 1, 9, 9), Box(40, 40, 5, 5)]) == [a, Box(40, 40, 5, 5)]


def test_box_overlap_is_computed_in_one_place_for_boxes_and_arrays():
    from emotion_recognition.core.types import box_iou, overlap_areas

    boxes, others = [[0, 0, 10, 10], [5, 0, 10, 10]], [[5, 0, 10, 10], [20, 20, 5, 5], [0, 0, 0, 0]]
    assert overlap_areas(boxes, others).tolist() == [[50, 0, 0], [100, 0, 0]]
    assert box_iou(boxes, others).tolist() == [[50 / 150, 0, 0], [1, 0, 0]]
    assert Box(0, 0, 10, 10).shared_area(Box(5, 5, 10, 10)) == 25
    assert Box(3, 4, 5, 6, angle=12.5).scaled(2) == Box(6, 8, 10, 12, angle=12.5)
    assert Box(3, 4, 5, 6, angle=-3.0).moved(10, 20) == Box(13, 24, 5, 6, angle=-3.0)


def test_a_12_megapixel_photo_keeps_its_small_and_loosely_cropped_faces(detector):
    """A phone-sized photo: one loosely cropped 500-pixel face and group-photo faces of
    300 and 150 pixels (faces of about 210, 125 and 63 pixels), all found."""
    import cv2

    from conftest import face_patch

    photo = cv2.resize(decode_image(EXAMPLES / "coffee_no_face.jpg"), (4000, 3000))
    spots = {500: (300, 400), 300: (2000, 600), 150: (3000, 2200)}
    for side, (x, y) in spots.items():
        photo[y:y + side, x:x + side] = face_patch(side)
    boxes = detector.detect(to_grey(photo))
    for side, (x, y) in spots.items():
        assert any(_contains(Box(x, y, side, side), b.x + b.w // 2, b.y + b.h // 2) for b in boxes), side
    assert len(boxes) == 3


def test_detection_passes_and_the_smallest_face_looked_for():
    from emotion_recognition.core.detection.haar import (DetectorSettings, Pass, detection_passes,
                                                         smallest_face)

    settings = DetectorSettings()
    assert detection_passes(480, 640, settings) == [Pass(0.625, 24)]  # a webcam frame: one pass
    assert smallest_face(480, 640) == 39
    passes = detection_passes(3000, 4000, settings)
    assert [round(p.scale, 3) for p in passes] == [0.1, 0.2, 0.4, 0.75]
    assert [p.max_side for p in passes] == [None, 96, 96, 96]
    assert smallest_face(3000, 4000) == 32 and smallest_face(200, 200) == 24


def test_suppression_drops_a_box_inside_a_larger_face():
    eye = Box(30, 30, 20, 20)  # IoU with the face is small, but it lies inside it
    face = Box(0, 0, 100, 100)
    assert suppress_overlaps([eye, face]) == [face]


def test_long_strips_cannot_poison_a_shared_detector():
    """A tall then a wide strip used to leave the cascade's buffers 60000 pixels both ways
    (a segfault, or "Failed to allocate 39178152448 bytes" for every photo after)."""
    detector = FaceDetector()
    for height, width in [(60000, 400), (400, 60000), (65000, 64), (64, 65000), (64800, 32),
                          (32, 64800)]:
        assert detector.detect(np.full((height, width), 128, np.uint8)) == []
    assert len(_faces(detector, "three_faces.jpg")) == 3


def test_no_pass_is_larger_than_the_detection_limits_and_12_megapixels_are_searched_whole():
    from emotion_recognition.core.detection.haar import DetectorSettings, detection_passes
    from emotion_recognition.core.limits import LIMITS

    for height, width in [(4800, 5000), (60000, 400), (400, 60000), (16384, 820)]:
        for scan in detection_passes(height, width, DetectorSettings()):
            side = max(height, width) * scan.scale
            assert side <= LIMITS.detection_side + 1
            assert height * width * scan.scale**2 <= LIMITS.detection_pixels * 1.01
    assert detection_passes(3024, 4032, DetectorSettings())[-1].scale == 0.75


def test_a_detector_frees_what_a_large_image_grew_and_keeps_its_cascade_otherwise():
    detector = FaceDetector()
    cascade = detector._primary
    detector.detect(np.full((480, 640), 100, np.uint8))
    assert detector._primary is cascade
    detector.detect(np.full((3000, 3000), 100, np.uint8))
    assert detector._primary is not cascade


def test_an_opencv_failure_is_a_plain_message_and_the_detector_goes_on():
    import cv2

    from emotion_recognition.core.errors import DetectionError

    class FailingCascade:
        def detectMultiScale(self, *args, **kwargs):
            raise cv2.error("Failed to allocate 39178152448 bytes")

    detector = FaceDetector()
    detector._primary = FailingCascade()
    with pytest.raises(DetectionError, match=r"failed on this image \(Failed to allocate 39"):
        detector.detect(to_grey(decode_image(EXAMPLES / "astronaut.jpg")))
    assert len(_faces(detector, "astronaut.jpg")) == 1


def test_a_pool_lends_at_most_its_few_detectors_to_many_users():
    import threading

    from emotion_recognition.core.detection.pool import DetectorPool

    pool = DetectorPool(2, FaceDetector)
    grey = to_grey(decode_image(EXAMPLES / "astronaut.jpg"))
    found = []
    threads = [threading.Thread(target=lambda: found.append(len(pool.detect(grey))))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [1] * 8 and 1 <= len(pool._free) <= 2


def test_a_second_opinion_is_asked_once_per_face_with_the_same_result():
    """suppress_overlaps(check=...) keeps exactly what checking every proposal and then
    suppressing kept, but does not ask about proposals a kept face suppresses."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        boxes = [Box(*map(int, rng.integers(0, 60, 2)), side, side)
                 for side in map(int, rng.integers(8, 40, int(rng.integers(1, 8))))]
        refused = {box for box in boxes if rng.random() < 0.4}
        asked = []

        def check(box):
            asked.append(box)
            return None if box in refused else box

        expected = suppress_overlaps([b for b in boxes if b not in refused])
        assert suppress_overlaps(boxes, check=check) == expected
        assert len(asked) <= len(boxes)
    face, inner = Box(0, 0, 100, 100), Box(10, 10, 80, 80)
    asked.clear()
    assert suppress_overlaps([inner, face], check=check) == [face] and asked == [face]
