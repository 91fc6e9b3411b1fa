"""Emotions over time, for people: from the records of a video or a live session (one per
face per analysed frame) to timelines, shares of time and a summary.

The app plots these rows and the CLIs print the summary; nothing here re-reads a CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from emotion_recognition.core.labels import EMOTIONS7
from emotion_recognition.core.types import FaceRecord


def face_ids(records: Iterable) -> list[int]:
    """The face ids that appear, in order."""
    return sorted({r.face.face_id for r in records})


def probability_rows(records: Iterable, labels: tuple[str, ...], face_id: int) -> list[dict]:
    """One face's probabilities over time: rows (time_s, emotion, probability), none for an
    emotion the set in use at that moment did not have."""
    return [{"time_s": round(r.time, 3), "emotion": name,
             "probability": r.face.probabilities[name]}
            for r in records if r.face.face_id == face_id for name in labels
            if name in r.face.probabilities]


def winner_rows(records: Iterable) -> list[dict]:
    """Every face's winning emotion over time: rows (time_s, face, emotion, probability),
    the face as its id."""
    return [{"time_s": round(r.time, 3), "face": r.face.face_id, "emotion": r.face.label,
             "probability": r.face.confidence} for r in records]


def emotion_shares(records: list, labels: tuple[str, ...]) -> dict[int, dict[str, float]]:
    """For each face id, the share of its analysed frames spent in each emotion."""
    shares: dict[int, dict[str, float]] = {}
    for face_id in face_ids(records):
        mine = [r.face.label for r in records if r.face.face_id == face_id]
        shares[face_id] = {name: mine.count(name) / len(mine) for name in labels}
    return shares


def labels_of(records: list[FaceRecord], latest: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Every emotion the records have a probability for, in EMOTIONS7's order (``latest``,
    the current set's labels, when there is no record)."""
    seen = {name for record in records for name in record.face.probabilities} | set(latest)
    return tuple(name for name in EMOTIONS7 if name in seen) or latest


def recent(records: list, window_s: float) -> list:
    """The records of the last ``window_s`` seconds (records are in time order)."""
    if not records:
        return []
    start = records[-1].time - window_s
    return [r for r in records if r.time >= start]


@dataclass(frozen=True)
class Timeline:
    """The records of a video or a live session, with the labels of their emotion set."""

    records: list
    labels: tuple[str, ...]

    def face_ids(self) -> list[int]:
        return face_ids(self.records)

    def probabilities(self, face_id: int) -> list[dict]:
        return probability_rows(self.records, self.labels, face_id)

    def winners(self) -> list[dict]:
        return winner_rows(self.records)

    def shares(self) -> dict[int, dict[str, float]]:
        return emotion_shares(self.records, self.labels)

    def last(self, window_s: float) -> "Timeline":
        return Timeline(recent(self.records, window_s), self.labels)

    def thinned(self, per_second: float) -> "Timeline":
        """At most ``per_second`` records per face per second (a plot a browser redraws
        cheaply): the last of each."""
        slots = {(int(r.time * per_second), r.face.face_id): r for r in self.records}
        return Timeline(list(slots.values()), self.labels)
