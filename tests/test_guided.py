"""Tracking-guided detection (video/guided.py): between full searches a face is found again
near where it was, and keeps everything a full search gives its box (the eye-line angle)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import face_patch
from emotion_recognition.core.crops import to_grey
from emotion_recognition.core.detection.detectors import create_detector
from emotion_recognition.core.pipeline import classify_faces
from emotion_recognition.core.types import Box
from emotion_recognition.video.guided import TrackingDetector

pytestmark = pytest.mark.unit

TILT = 12.0  # degrees: upright enough for Haar, levelled by BlazeFace's eye line


def tilted_clip(frames: int = 10) -> list[np.ndarray]:
    """640x480 grey frames of the astronaut's face turned by TILT, sliding right."""
    patch = to_grey(face_patch(200))
    turned = cv2.warpAffine(patch, cv2.getRotationMatrix2D((100, 100), TILT, 1.0), (200, 200),
                            borderMode=cv2.BORDER_REPLICATE)
    clip = []
    for i in range(frames):
        frame = np.full((480, 640), 100, np.uint8)
        frame[140:340, 150 + 3 * i:350 + 3 * i] = turned
        clip.append(frame)
    return clip


def test_a_tilted_face_keeps_its_angle_and_label_between_full_searches(recognizer):
    classifier = recognizer.classifier("emotion7")
    full = create_detector("haar")
    guided = TrackingDetector(create_detector("haar"), full_every=5)
    searched = 0
    for frame in tilted_clip():
        before = guided.full_searches
        (box,) = guided.detect(frame)
        (reference,) = full.detect(frame)  # a full search of the same frame
        assert reference.angle < -TILT / 2  # levelled: the face is turned clockwise back
        assert box.angle == pytest.approx(reference.angle, abs=3.0)
        (face,) = classify_faces(frame, [box], classifier)
        (expected,) = classify_faces(frame, [reference], classifier)
        assert face.label == expected.label
        for name, p in expected.probabilities.items():
            assert face.probabilities[name] == pytest.approx(p, abs=0.05)
        searched += guided.full_searches == before
    assert searched == 8  # frames 2-5 and 7-10 were found again near the last box


def test_a_box_found_again_is_mapped_back_with_all_it_carries():
    class Shrunk:
        """Finds one tilted face: in a whole frame at (100, 100), in a window at (14, 20)
        of it (the face moved down and left), turned a little further."""

        def detect(self, grey):
            if grey.shape == (480, 640):
                return [Box(100, 100, 20, 20, angle=-9.5)]
            return [Box(14, 20, 20, 20, angle=-7.0)]

    guided = TrackingDetector(Shrunk(), full_every=5)
    first = guided.detect(np.zeros((480, 640), np.uint8))
    assert first == [Box(100, 100, 20, 20, -9.5)]  # a full search: as the detector gave it
    (again,) = guided.detect(np.zeros((480, 640), np.uint8))
    # window: the box widened by 0.6 of its side (12 px) each way, from (88, 88); not shrunk
    assert again == Box(88 + 14, 88 + 20, 20, 20, -7.0)


def test_a_still_face_keeps_its_box_and_a_moving_one_gets_its_new_box():
    """Found again in a shrunken window, a still face's box wandered by up to 10 % of its
    width (its crop and label with it); now it keeps the full search's box until it moves."""
    patch = to_grey(face_patch(200))
    frames = []
    for left in (150, 150, 150, 150, 210):
        frame = np.full((480, 640), 100, np.uint8)
        frame[140:340, left:left + 200] = patch
        frames.append(frame)
    guided = TrackingDetector(create_detector("haar"), full_every=10)
    boxes = [guided.detect(frame)[0] for frame in frames]
    assert boxes[1] == boxes[2] == boxes[3] == boxes[0]
    assert boxes[4].x - boxes[0].x == pytest.approx(60, abs=10)
    assert guided.full_searches == 1
