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
        """Finds one tilted face at a fixed place of whatever window it is given."""

        def detect(self, grey):
            return [Box(10, 12, 20, 20, angle=-9.5)]

    guided = TrackingDetector(Shrunk(), full_every=5)
    first = guided.detect(np.zeros((480, 640), np.uint8))
    assert first == [Box(10, 12, 20, 20, -9.5)]  # a full search: as the detector gave it
    (again,) = guided.detect(np.zeros((480, 640), np.uint8))
    # window: the box widened by 0.6 of its side (12 px) each way, clipped at 0; not shrunk
    assert again == Box(0 + 10, 0 + 12, 20, 20, -9.5)
