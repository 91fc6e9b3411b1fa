"""Face ids across frames and the smoothing that stops labels flickering."""

from __future__ import annotations

import pytest

from emotion_recognition.pipeline import Face
from emotion_recognition.preprocessing import Box
from emotion_recognition.tracking import FaceTracker, similarity


def _face(x, happy, y=50, w=60):
    return Face(Box(x, y, w, w), "happy" if happy > 0.5 else "sad", max(happy, 1 - happy),
                {"happy": happy, "sad": 1 - happy})


def test_ids_follow_moving_faces_and_new_faces_get_new_ids():
    tracker = FaceTracker(smoothing=0.0)
    first = tracker.update([_face(10, 0.9), _face(300, 0.9)])
    assert [f.face_id for f in first] == [1, 2]
    moved = tracker.update([_face(330, 0.9), _face(40, 0.9)])  # listed in the other order
    assert [f.face_id for f in moved] == [2, 1]
    third = tracker.update([_face(40, 0.9), _face(600, 0.9)])
    assert [f.face_id for f in third] == [1, 3]


def test_lost_tracks_are_dropped_after_max_missed():
    tracker = FaceTracker(smoothing=0.0, max_missed=2)
    tracker.update([_face(10, 0.9)])
    for _ in range(3):
        tracker.update([])
    assert tracker.update([_face(10, 0.9)])[0].face_id == 2


def test_smoothing_stops_a_flickering_label():
    raw = [0.8, 0.4, 0.8, 0.4, 0.8, 0.4]  # mostly happy, but sad every other frame
    smooth = FaceTracker(smoothing=0.6)
    labels = [smooth.update([_face(10, p)])[0].label for p in raw]
    assert labels == ["happy"] * 6
    plain = FaceTracker(smoothing=0.0)
    assert [plain.update([_face(10, p)])[0].label for p in raw] == ["happy", "sad"] * 3


def test_smoothed_scores_are_the_moving_average():
    tracker = FaceTracker(smoothing=0.5)
    tracker.update([_face(10, 1.0)])
    face = tracker.update([_face(12, 0.0)])[0]
    assert face.scores["happy"] == pytest.approx(0.5)
    assert sum(face.scores.values()) == pytest.approx(1.0)


def test_similarity_exact_values():
    a = Box(0, 0, 10, 10)
    assert similarity(a, a) == 1.0
    assert similarity(a, Box(5, 0, 10, 10)) == pytest.approx(0.5)  # distance 5, width 10
    assert similarity(a, Box(100, 100, 10, 10)) == 0.0  # apart: the IoU of 0 wins
    with pytest.raises(ValueError):
        FaceTracker(smoothing=1.0)
