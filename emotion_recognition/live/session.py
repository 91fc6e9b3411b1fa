"""One live webcam session: a frame in, the annotated frame out, a record per face kept.

Held in the server's memory only (live/sessions.py), forgotten soon after its page stops
using it. Its detector looks for faces near where they were, and over the whole frame
every FULL_SEARCH_EVERY frames (new faces appear within half a second at 15 fps). Its
records are read (``snapshot``) while frames add to them.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from emotion_recognition.core.annotate import draw
from emotion_recognition.core.crops import to_grey
from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR, check_detector
from emotion_recognition.core.labels import DEFAULT_EMOTION_SET, emotion_set_of_labels
from emotion_recognition.core.limits import LIMITS
from emotion_recognition.core.pipeline import EmotionRecognizer, classify_faces
from emotion_recognition.core.rows import record_rows
from emotion_recognition.core.types import Face, FaceRecord
from emotion_recognition.video.guided import TrackingDetector
from emotion_recognition.video.timeline import Timeline, labels_of
from emotion_recognition.video.tracking import FaceTracker

FULL_SEARCH_EVERY = 8  # webcam frames between searches of the whole frame


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
        self.lock = threading.Lock()  # one frame at a time: tracking needs them in order
        self._records_lock = threading.Lock()  # records, labels and revision change together
        self.tracker = FaceTracker(smoothing=smoothing)
        self.detector: TrackingDetector | None = None
        self._detector_made_for = ""
        self._records: list[FaceRecord] = []
        self._labels: tuple[str, ...] = ()
        self._revision = ""
        self.started = time.monotonic()
        self.frames = 0
        self.seconds = 0.0  # from the first frame to the last, for "ran for N s"
        self.max_records = max_records

    def process(self, rgb: np.ndarray, recognizer: EmotionRecognizer,
                emotion_set: str | None = None) -> tuple[np.ndarray, list[Face]]:
        """One webcam frame (RGB) -> the annotated frame and its faces (``emotion_set``:
        the session's own by default)."""
        classifier = recognizer.classifier(emotion_set or self.emotion_set)
        moment = time.monotonic() - self.started
        grey = to_grey(rgb)
        faces = self.tracker.update(
            classify_faces(grey, self._detector(recognizer).detect(grey), classifier), moment)
        with self._records_lock:
            self._labels, self._revision = classifier.labels, classifier.revision
            self._records.extend(FaceRecord(moment, self.frames, face) for face in faces)
            del self._records[:-self.max_records]
        self.frames += 1
        self.seconds = moment
        return draw(rgb, faces), faces

    def _detector(self, recognizer: EmotionRecognizer) -> TrackingDetector:
        """The tracking detector for the chosen detector (made again when it changes)."""
        if self.detector is None or self._detector_made_for != self.detector_name:
            name = check_detector(self.detector_name)
            searcher = (self.detectors(name) if self.detectors is not None
                        else recognizer.new_detector(name))
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
        """The face rows (core/rows.py) of the session so far."""
        with self._records_lock:
            records, latest, revision = list(self._records), self._labels, self._revision
        emotion_set = emotion_set_of_labels(latest).name if latest else self.emotion_set
        return record_rows(records, source, "live", emotion_set, revision)

    def timeline(self, window_s: float | None = None, per_second: float | None = None) -> Timeline:
        """The whole session, or its last ``window_s`` seconds; with ``per_second``, at most
        that many records per face per second (a plot that a browser redraws cheaply)."""
        whole = Timeline(*self.snapshot())
        part = whole if window_s is None else whole.last(window_s)
        return part if per_second is None else part.thinned(per_second)
