"""Follow faces from frame to frame and smooth their probabilities so labels do not flicker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion_recognition.detection import overlap
from emotion_recognition.pipeline import Face
from emotion_recognition.preprocessing import Box


@dataclass(frozen=True)
class TrackedFace:
    """A face with a stable id across frames; scores are smoothed over recent frames."""

    face_id: int
    box: Box
    label: str
    confidence: float
    scores: dict[str, float]


@dataclass
class _Track:
    face_id: int
    box: Box
    smoothed: np.ndarray
    missed: int = 0


def similarity(a: Box, b: Box) -> float:
    """How likely two boxes in consecutive frames are the same face: their overlap (IoU),
    or for fast movers, 1 - centre distance / mean width (whichever is larger)."""
    distance = np.hypot((a.x + a.w / 2) - (b.x + b.w / 2), (a.y + a.h / 2) - (b.y + b.h / 2))
    mean_width = (a.w + b.w) / 2
    proximity = 1 - distance / mean_width if mean_width else 0.0
    return max(overlap(a, b), proximity)


class FaceTracker:
    """Greedy box matching plus an exponential moving average of the probabilities.

    ``smoothing`` is the weight of the past (0: no smoothing; 0.6: a new frame moves the
    scores 40 % of the way); a track unseen for ``max_missed`` frames is dropped.
    """

    def __init__(self, smoothing: float = 0.6, min_similarity: float = 0.3, max_missed: int = 5):
        if not 0 <= smoothing < 1:
            raise ValueError("smoothing must be in [0, 1)")
        self.smoothing, self.min_similarity, self.max_missed = smoothing, min_similarity, max_missed
        self._tracks: list[_Track] = []
        self._next_id = 1

    def update(self, faces: list[Face]) -> list[TrackedFace]:
        """Match this frame's faces to the tracks; return them with ids and smoothed scores."""
        pairs = sorted(((similarity(t.box, f.box), ti, fi) for ti, t in enumerate(self._tracks)
                        for fi, f in enumerate(faces)), reverse=True)
        track_of: dict[int, _Track] = {}
        used_tracks: set[int] = set()
        for score, ti, fi in pairs:
            if score < self.min_similarity or ti in used_tracks or fi in track_of:
                continue
            used_tracks.add(ti)
            track_of[fi] = self._tracks[ti]
        for ti, track in enumerate(self._tracks):
            if ti not in used_tracks:
                track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_missed]
        return [self._advance(face, track_of.get(fi)) for fi, face in enumerate(faces)]

    def _advance(self, face: Face, track: _Track | None) -> TrackedFace:
        labels = list(face.scores)
        current = np.array([face.scores[name] for name in labels])
        if track is not None and track.smoothed.shape != current.shape:  # emotion set changed
            track.smoothed = current
        if track is None:
            track = _Track(self._next_id, face.box, current)
            self._next_id += 1
            self._tracks.append(track)
        else:
            track.smoothed = self.smoothing * track.smoothed + (1 - self.smoothing) * current
            track.box, track.missed = face.box, 0
        best = int(np.argmax(track.smoothed))
        scores = {name: float(p) for name, p in zip(labels, track.smoothed)}
        return TrackedFace(track.face_id, face.box, labels[best], float(track.smoothed[best]), scores)
