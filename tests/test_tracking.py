"""Face ids across frames and the smoothing that stops labels flickering."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_recognition.core.types import Box, Face
from emotion_recognition.video.tracking import FaceTracker, centre, distance_in_widths

pytestmark = pytest.mark.unit


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


def test_smoothed_probabilities_are_the_moving_average():
    tracker = FaceTracker(smoothing=0.5)
    tracker.update([_face(10, 1.0)])
    face = tracker.update([_face(12, 0.0)])[0]
    assert face.probabilities["happy"] == pytest.approx(0.5)
    assert sum(face.probabilities.values()) == pytest.approx(1.0)


def test_distance_in_face_widths_exact_values():
    a = Box(0, 0, 10, 10)
    assert distance_in_widths(a, centre(a), a) == 0.0
    assert distance_in_widths(a, centre(a), Box(5, 0, 10, 10)) == pytest.approx(0.5)
    assert distance_in_widths(a, centre(a), Box(30, 40, 10, 10)) == pytest.approx(5.0)  # 3-4-5
    with pytest.raises(ValueError):
        FaceTracker(smoothing=1.0)


@pytest.mark.parametrize("fps", [2, 5, 15])
def test_a_walker_keeps_one_id_at_any_analysed_rate(fps):
    """Two people walking across a 640-pixel frame in opposite directions in 3 s (faces
    60 pixels wide, bobbing as they step): one id each, at every frame rate offered."""
    tracker = FaceTracker()
    ids = []
    for step in range(3 * fps):
        t = step / fps
        bob = int(8 * np.sin(2 * np.pi * 2 * t))
        faces = [_face(int(20 + 190 * t), 0.9, y=100 + bob), _face(int(560 - 190 * t), 0.9, y=300 - bob)]
        ids.append([f.face_id for f in tracker.update(faces, t)])
    assert ids == [[1, 2]] * (3 * fps)


def test_a_face_missed_for_a_frame_keeps_its_id_and_faces_do_not_swap():
    tracker = FaceTracker()
    tracker.update([_face(100, 0.9), _face(400, 0.9)], 0.0)
    tracker.update([_face(140, 0.9)], 0.2)  # the second face is missed in this frame
    again = tracker.update([_face(180, 0.9), _face(400, 0.9)], 0.4)
    assert [f.face_id for f in again] == [1, 2]


def test_a_face_far_from_any_track_is_new():
    tracker = FaceTracker()
    tracker.update([_face(10, 0.9)], 0.0)
    assert tracker.update([_face(500, 0.9)], 0.2)[0].face_id == 2  # 8 widths in 0.2 s


def test_frames_arriving_in_a_burst_keep_the_id():
    """A live page sends frames three at a time: 13 ms apart, a face that moved 37 pixels
    (a jump, or jitter) must not be predicted thousands of pixels away for the next frame
    (the live browser test once saw 'face 2' on a single face after such a jump)."""
    tracker = FaceTracker()
    tracker.update([_face(313, 0.9, w=90)], 0.949)
    tracker.update([_face(350, 0.9, w=88)], 0.962)  # 13 ms later, 37 pixels on
    later = tracker.update([_face(346, 0.9, w=92)], 1.063)
    assert [f.face_id for f in later] == [1]
    assert tracker.update([_face(342, 0.9, w=90)], 1.075)[0].face_id == 1
