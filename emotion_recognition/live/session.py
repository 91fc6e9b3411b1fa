"""One live webcam session: a frame in, the annotated frame out, a record per face kept.

Held in the server's memory only (live/sessions.py), forgotten soon after its page stops
using it. Its detector looks for faces near where they were, and over the whole frame
every FULL_SEARCH_EVERY frames (new faces appear within half a second at 15 fps); with no
face in view, it searches the whole frame every EMPTY_SEARCH_EVERY frames only (in a
real, textured room a whole search costs several times a followed face's frame: an empty
room ran at 3-4 frames a second). Frames are taken in the order the page captured them
(``in_order``), each at its capture time; one older than the last analysed is dropped.
Its records are read (``snapshot``) while frames add to them.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from contextlib import contextmanager
from dataclasses import replace

import numpy as np

from emotion_recognition.core.annotate import draw
from emotion_recognition.core.crops import to_grey
from emotion_recognition.core.detection.detectors import (DEFAULT_DETECTOR, PROPOSAL_SETTINGS,
                                                          VerifiedHaarDetector, check_detector,
                                                          create_detector)
from emotion_recognition.core.labels import DEFAULT_EMOTION_SET, emotion_set_of_labels
from emotion_recognition.core.limits import LIMITS
from emotion_recognition.core.pipeline import EmotionRecognizer, classify_faces
from emotion_recognition.core.rows import input_row, record_rows
from emotion_recognition.core.types import Box, Face, FaceRecord
from emotion_recognition.video.guided import TrackingDetector
from emotion_recognition.video.timeline import Timeline, labels_of
from emotion_recognition.video.tracking import FaceTracker

FULL_SEARCH_EVERY = 8  # webcam frames between searches of the whole frame
EMPTY_SEARCH_EVERY = 4  # with no face in view: frames between searches of the whole frame


def stream_detector(name: str | None = DEFAULT_DETECTOR):
    """A detector for webcam frames: the default without Haar's alt2 and profile fallbacks
    (three more cascades over the whole frame whenever no face is in view: 0.45 s of a
    0.55 s search of a 640x480 room, and a webcam looks at faces that face it)."""
    name = check_detector(name)
    if name == "haar":
        return VerifiedHaarDetector(replace(PROPOSAL_SETTINGS, use_fallbacks=False))
    return create_detector(name)


def unmirrored(box: Box, width: int) -> Box:
    """A box of a mirrored frame (a selfie view) in the camera's own frame."""
    return Box(width - box.x - box.w, box.y, box.w, box.h, -box.angle)


class InOrder:
    """One frame of a session at a time, the earliest (lowest key) of those waiting first:
    a plain lock lets any waiting thread in, so a page's three frames in flight were taken
    in any order."""

    def __init__(self):
        self._changed = threading.Condition()
        self._waiting: list[tuple[float, int]] = []
        self._busy = False
        self._tickets = itertools.count()

    @contextmanager
    def turn(self, key: float):
        ticket = (key, next(self._tickets))
        with self._changed:
            heapq.heappush(self._waiting, ticket)
            self._changed.wait_for(lambda: not self._busy and self._waiting[0] == ticket)
            heapq.heappop(self._waiting)
            self._busy = True
        try:
            yield
        finally:
            with self._changed:
                self._busy = False
                self._changed.notify_all()


class LiveSession:
    """A webcam session: frames in, annotated frames out, records kept for the timeline,
    the CSV and the journal. ``emotion_set`` and ``detector_name`` are what the person
    chose; the next frame uses them."""

    def __init__(self, smoothing: float = 0.6, max_records: int = LIMITS.live_records,
                 emotion_set: str = DEFAULT_EMOTION_SET, client: str = "",
                 detectors=None, detector_name: str = DEFAULT_DETECTOR):
        self.emotion_set = emotion_set
        self.detector_name = detector_name  # (detectors.DETECTORS)
        self.client = client  # the address that started it (LiveSessions caps them per client)
        # name -> a detector shared with other sessions (LiveSessions.pool); else its own
        self.detectors = detectors
        self.in_order = InOrder()  # one frame at a time, earliest first: tracking needs order
        self._records_lock = threading.Lock()  # records, labels and revision change together
        self.tracker = FaceTracker(smoothing=smoothing)
        self.detector: TrackingDetector | None = None
        self._detector_made_for = ""
        self._records: list[FaceRecord] = []
        self._frame_faces: list[tuple[int, float, int]] = []  # (frame, time, faces) of each
        self._labels: tuple[str, ...] = ()
        self._revision = ""
        self.started = time.monotonic()
        self.frames = 0
        self.seconds = 0.0  # from the first frame to the last, for "ran for N s"
        self.max_records = max_records
        self._first_capture: float | None = None  # the page's clock at the first frame
        self._last: tuple[float, int] = (-1.0, -1)  # (time, sequence number) of the last frame
        self._idle = 0  # frames since the last whole search, while no face is in view

    def process(self, rgb: np.ndarray, recognizer: EmotionRecognizer,
                emotion_set: str | None = None, captured_s: float | None = None,
                sequence: int | None = None,
                mirrored: bool = False) -> tuple[np.ndarray, list[Face]] | None:
        """One webcam frame (RGB) -> the annotated frame and its faces (``emotion_set``:
        the session's own by default); None for a frame captured before the last one
        analysed (never tracked backwards). ``captured_s``: when the page captured it, on
        its own clock (else: now); ``sequence``: its number; ``mirrored``: a selfie view,
        analysed and drawn as it is, its records' boxes in the camera's own frame."""
        moment = self._moment(captured_s, sequence)
        if moment is None:
            return None
        classifier = recognizer.classifier(emotion_set or self.emotion_set)
        grey = to_grey(rgb)
        faces = self.tracker.update(classify_faces(grey, self._boxes(grey, recognizer),
                                                   classifier), moment)
        width = rgb.shape[1]
        kept = [replace(f, box=unmirrored(f.box, width)) for f in faces] if mirrored else faces
        with self._records_lock:
            self._labels, self._revision = classifier.labels, classifier.revision
            self._records.extend(FaceRecord(moment, self.frames, face) for face in kept)
            del self._records[:-self.max_records]
            self._frame_faces.append((self.frames, moment, len(faces)))
            del self._frame_faces[:-self.max_records]
        self.frames += 1
        self.seconds = moment
        return draw(rgb, faces), faces

    def _moment(self, captured_s: float | None, sequence: int | None) -> float | None:
        """The frame's time in the session (its first frame at 0), or None when it was
        captured before the last frame analysed."""
        if captured_s is None:
            captured_s = time.monotonic() - self.started
        if self._first_capture is None:
            self._first_capture = captured_s
        moment = captured_s - self._first_capture
        order = (moment, -1 if sequence is None else sequence)
        if moment < self._last[0] or (sequence is not None and sequence <= self._last[1]):
            return None
        self._last = order
        return moment

    def _boxes(self, grey: np.ndarray, recognizer: EmotionRecognizer) -> list[Box]:
        """The faces' boxes: followed, or searched for (with none in view, every
        EMPTY_SEARCH_EVERY frames only)."""
        if self._idle and self._idle < EMPTY_SEARCH_EVERY:
            self._idle += 1
            return []
        boxes = self._detector(recognizer).detect(grey)
        self._idle = 0 if boxes else 1
        return boxes

    def _detector(self, recognizer: EmotionRecognizer) -> TrackingDetector:
        """The tracking detector for the chosen detector (made again when it changes)."""
        if self.detector is None or self._detector_made_for != self.detector_name:
            name = check_detector(self.detector_name)
            searcher = (self.detectors(name) if self.detectors is not None
                        else stream_detector(name))
            self.detector = TrackingDetector(searcher, full_every=FULL_SEARCH_EVERY)
            self._detector_made_for = name
        return self.detector

    def snapshot(self) -> tuple[list[FaceRecord], tuple[str, ...]]:
        """The records so far (a copy) and the labels of every emotion they hold, in the
        usual order (the emotion set may have changed during the session)."""
        with self._records_lock:
            records, latest = list(self._records), self._labels
        return records, labels_of(records, latest)

    @property
    def records(self) -> list[FaceRecord]:
        return self.snapshot()[0]

    def rows(self, source: str = "webcam") -> list[dict]:
        """The rows (core/rows.py) of the session so far: a row per face per analysed
        frame, and a no_face row for each frame without one (boxes in the camera's own
        frame when the page sent a mirrored view)."""
        with self._records_lock:
            records, latest, revision = list(self._records), self._labels, self._revision
            frames = list(self._frame_faces)
        emotion_set = emotion_set_of_labels(latest).name if latest else self.emotion_set
        face_rows = record_rows(records, source, "live", emotion_set, revision) if records else []
        rows, by_frame = [], {}
        for row in face_rows:
            by_frame.setdefault(row["frame"], []).append(row)
        first = records[0].frame if records else 0
        for frame, moment, count in frames:
            if count:
                rows += by_frame.get(frame, [])
            elif frame >= first or not records:
                rows.append({**input_row(source, "live", "no_face", emotion_set, revision),
                             "frame": frame, "time_s": round(moment, 3)})
        return rows

    def timeline(self, window_s: float | None = None, per_second: float | None = None) -> Timeline:
        """The whole session, or its last ``window_s`` seconds; with ``per_second``, at most
        that many records per face per second (a plot that a browser redraws cheaply)."""
        whole = Timeline(*self.snapshot())
        part = whole if window_s is None else whole.last(window_s)
        return part if per_second is None else part.thinned(per_second)
