"""Follow faces from frame to frame and smooth their probabilities so labels do not flicker.

A face is matched to where its track is predicted to be now (its last position moved on at
its recent speed), within a distance measured in face widths that grows with the time
since it was last seen: so a person walking across the picture keeps one id at any
analysed frame rate, and two people side by side keep theirs. A face out of view is
remembered for ``forget_s`` seconds (10): one that comes back near where it was, at about
its size, keeps its number, however many frames it was away for. Faces new in the same
frame are numbered in reading order (row by row, left to right).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from emotion_recognition.core.types import Box, Face, reading_order

ASSUMED_FPS = 10.0  # frames per second when update() is not told the time
COAST_S = 0.5  # a lost face is predicted to move on at its speed for this long, no longer


@dataclass
class _Track:
    face_id: int
    box: Box
    smoothed: np.ndarray
    seen_at: float
    velocity: np.ndarray  # of the box centre, pixels per second
    frames: int = 0  # frames it was seen in

    def predicted_centre(self, now: float) -> np.ndarray:
        return centre(self.box) + self.velocity * min(max(now - self.seen_at, 0.0), COAST_S)


def centre(box: Box) -> np.ndarray:
    return np.array([box.x + box.w / 2, box.y + box.h / 2])


def reading_order_indices(boxes: list[Box]) -> list[int]:
    """The indices of ``boxes`` in reading order (core.types.reading_order: the photo's)."""
    index = {id(box): i for i, box in enumerate(boxes)}
    return [index[id(box)] for box in reading_order(boxes)]


def distance_in_widths(track_box: Box, predicted: np.ndarray, box: Box) -> float:
    """How far a box lies from a track's predicted centre, in their mean face width."""
    return float(np.hypot(*(centre(box) - predicted)) / ((track_box.w + box.w) / 2))


class FaceTracker:
    """Greedy nearest-first matching to predicted positions, plus an exponential moving
    average of the probabilities.

    ``smoothing`` is the weight of the past (0: none; 0.6: a new frame moves the
    probabilities 40 % of the way). A face may lie ``max_step`` widths from its predicted
    centre, plus ``max_speed`` widths per second since the track was last seen (unexpected
    turns and starts) for at most ``max_gap_s`` of it (a face that was away longer comes
    back near where it was, or is another face), and differ in width by at most
    ``max_resize``; a track unseen for ``forget_s`` seconds is dropped.
    """

    def __init__(self, smoothing: float = 0.6, max_step: float = 1.0, max_speed: float = 3.0,
                 max_resize: float = 1.6, forget_s: float = 10.0, max_gap_s: float = 1.0):
        if not 0 <= smoothing < 1:
            raise ValueError("smoothing must be in [0, 1)")
        self.smoothing, self.max_step, self.max_speed = smoothing, max_step, max_speed
        self.max_resize, self.forget_s, self.max_gap_s = max_resize, forget_s, max_gap_s
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._frames = 0

    def update(self, faces: list[Face], time: float | None = None) -> list[Face]:
        """Match this frame's faces (taken at ``time`` seconds) to the tracks; return them
        with ids and smoothed probabilities."""
        now = self._frames / ASSUMED_FPS if time is None else time
        self._frames += 1
        self._tracks = [t for t in self._tracks if now - t.seen_at <= self.forget_s]
        track_of = self._match(faces, now)
        new = [fi for fi in reading_order_indices([face.box for face in faces]) if fi not in track_of]
        for fi in new:  # new faces numbered in reading order
            track_of[fi] = self._new_track(faces[fi], now)
        return [self._advance(face, track_of[fi], now) for fi, face in enumerate(faces)]

    def _new_track(self, face: Face, now: float) -> _Track:
        current = np.array(list(face.probabilities.values()))
        track = _Track(self._next_id, face.box, current, now, np.zeros(2))
        self._next_id += 1
        self._tracks.append(track)
        return track

    def _match(self, faces: list[Face], now: float) -> dict[int, _Track]:
        pairs = []
        for ti, track in enumerate(self._tracks):
            predicted = track.predicted_centre(now)
            gap = min(max(now - track.seen_at, 0.0), self.max_gap_s)
            reach = self.max_step + self.max_speed * gap
            for fi, face in enumerate(faces):
                ratio = face.box.w / max(track.box.w, 1)
                distance = distance_in_widths(track.box, predicted, face.box)
                if 1 / self.max_resize <= ratio <= self.max_resize and distance <= reach:
                    pairs.append((distance, ti, fi))
        track_of: dict[int, _Track] = {}
        used: set[int] = set()
        for _, ti, fi in sorted(pairs):
            if ti not in used and fi not in track_of:
                used.add(ti)
                track_of[fi] = self._tracks[ti]
        return track_of

    def _bounded(self, speed: np.ndarray, width: float) -> np.ndarray:
        """A measured speed of at most ``max_speed`` face widths a second: frames that
        arrive a few milliseconds apart (a live page sends three at once) turn a few pixels
        of jitter, or a jump, into thousands of pixels a second, which would carry the
        prediction far past the face and give it a new number on the next frame."""
        fastest = self.max_speed * width
        magnitude = float(np.hypot(*speed))
        return speed if magnitude <= fastest else speed * (fastest / magnitude)

    def _advance(self, face: Face, track: _Track, now: float) -> Face:
        labels = list(face.probabilities)
        current = np.array([face.probabilities[name] for name in labels])
        if track.frames:
            if track.smoothed.shape != current.shape:  # the emotion set changed
                track.smoothed = current
            track.smoothed = self.smoothing * track.smoothed + (1 - self.smoothing) * current
            elapsed = now - track.seen_at
            if elapsed > 0:
                speed = self._bounded((centre(face.box) - centre(track.box)) / elapsed,
                                      (face.box.w + track.box.w) / 2)
                track.velocity = (speed if not track.velocity.any()
                                  else 0.5 * (track.velocity + speed))
            track.box, track.seen_at = face.box, now
        track.frames += 1
        best = int(np.argmax(track.smoothed))
        smoothed = {name: float(p) for name, p in zip(labels, track.smoothed)}
        return replace(face, label=labels[best], confidence=float(track.smoothed[best]),
                       probabilities=smoothed, face_id=track.face_id)
