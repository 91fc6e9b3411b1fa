"""A browser session's last photo, kept in memory (never on disk), bounded.

Uploads are read once and then deleted (serving/store.py). Pressing Analyse
again, switching the emotion set or asking for heat maps must still answer: so the session
keeps the bytes of its last photo as uploaded, and its last analysis (faces, heat maps).
The decoded pixels belong to the request that decodes them and go with it (a 34 KB PNG
can decode to 72 MB). Kept photos live in KeptPhotos, which bounds them: one per session's
tab, LIMITS.kept_photo_bytes for every session together (the least recently used go
first) and Retention.kept_photo_s after their last use; the session holds only a key (a
random one: never the upload's path, which Gradio names by a hash of the bytes, so two
people with the same photo share it). A new upload is read anew (analyze_new); a re-run
never reads the path again (analyze_kept: the file may be another person's upload of the
same bytes, waiting for its own request). A re-run with the same detector keeps the boxes
(no detection: 1.5 s on 12 MP). A KeptPhoto never changes: each analysis makes a new one,
so a click and a re-run at once each see a whole one.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable

import numpy as np

from emotion_recognition.core.annotate import Tag, face_tags
from emotion_recognition.core.crops import to_grey
from emotion_recognition.core.decode import decode_photo, read_image_bytes
from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR, check_detector
from emotion_recognition.core.explain import explain_faces, overlay
from emotion_recognition.core.labels import DEFAULT_EMOTION_SET
from emotion_recognition.core.pipeline import EmotionRecognizer, classify_faces
from emotion_recognition.core.types import Analysis

Reader = Callable[[str], AbstractContextManager]  # e.g. FileStore.claim: path -> readable path


@dataclass(frozen=True)
class KeptPhoto:
    """The session's photo: where the browser says it is, its bytes, the size it decodes
    to, its last analysis (without pixels), the detector that found its faces and that
    analysis's heat maps."""

    source: str
    data: bytes = field(repr=False)
    shape: tuple[int, int] = (0, 0)  # (height, width) analysed (large photos: reduced)
    analysis: Analysis | None = field(default=None, repr=False)
    heat_maps: tuple[np.ndarray, ...] = field(default=(), repr=False)  # one per face, if asked
    detector: str = DEFAULT_DETECTOR

    @property
    def nbytes(self) -> int:
        return len(self.data) + sum(heat.nbytes for heat in self.heat_maps)

    @cached_property
    def tags(self) -> list[Tag]:
        """Where draw() put each face's label, worked out once per analysis (every click on
        the picture asks which label it hit; 260 faces take 0.6 s to lay out)."""
        if self.analysis is None:
            return []
        return face_tags((*self.shape, 3), self.analysis.faces)


NO_PIXELS = np.zeros((0, 0, 3), np.uint8)


def analyze_new(recognizer: EmotionRecognizer, source: str, read: Reader,
                emotion_set: str = DEFAULT_EMOTION_SET, explain: bool = False,
                detector: str = DEFAULT_DETECTOR) -> tuple[KeptPhoto, Analysis]:
    """Analyze a new upload at ``source`` (read through ``read``, which may delete it);
    return what the session keeps and the analysis, pixels included (this request's only)."""
    with read(source) as path:
        data = read_image_bytes(path)
    return _analyzed(recognizer, KeptPhoto(source, data), emotion_set, explain, detector)


def analyze_kept(recognizer: EmotionRecognizer, kept: KeptPhoto,
                 emotion_set: str = DEFAULT_EMOTION_SET, explain: bool = False,
                 detector: str = DEFAULT_DETECTOR) -> tuple[KeptPhoto, Analysis]:
    """Analyze the kept photo again with other settings: its faces are found again only
    when the detector changed (an emotion set or the heat maps keep its boxes)."""
    same = kept.analysis is not None and kept.detector == check_detector(detector)
    return _analyzed(recognizer, kept, emotion_set, explain, detector, same)


def _analyzed(recognizer: EmotionRecognizer, kept: KeptPhoto, emotion_set: str, explain: bool,
              detector: str, keep_boxes: bool = False) -> tuple[KeptPhoto, Analysis]:
    rgb, scale = decode_photo(kept.data)
    if keep_boxes:
        classifier, grey = recognizer.classifier(emotion_set), to_grey(rgb)
        faces = classify_faces(grey, [face.box for face in kept.analysis.faces], classifier)
        analysis = Analysis(rgb, faces, kept.analysis.message, scale,
                            explain_faces(grey, faces, classifier) if explain else [])
    else:
        analysis = recognizer.analyze_decoded(rgb, emotion_set, explain, scale, detector)
    heat_maps = tuple(overlay(rgb, explanation) for explanation in analysis.explanations)
    kept = KeptPhoto(kept.source, kept.data, rgb.shape[:2], replace(analysis, image=NO_PIXELS),
                     heat_maps, check_detector(detector))
    return kept, analysis


class KeptPhotos:
    """The sessions' kept photos, by key: at most ``max_bytes`` in all (the least recently
    used dropped first) and each dropped ``ttl_s`` after its last use."""

    def __init__(self, max_bytes: int, ttl_s: float,
                 clock: Callable[[], float] = time.monotonic):
        self.max_bytes, self.ttl_s, self._clock = max_bytes, ttl_s, clock
        self._kept: OrderedDict[str, tuple[KeptPhoto, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str | None) -> KeptPhoto | None:
        """The photo kept under ``key`` (now used), or None (never kept, or dropped)."""
        with self._lock:
            self._expire()
            if not isinstance(key, str) or key not in self._kept:
                return None
            self._kept[key] = (self._kept[key][0], self._clock())
            self._kept.move_to_end(key)
            return self._kept[key][0]

    def put(self, key: str | None, kept: KeptPhoto) -> str:
        """Keep ``kept`` under ``key`` (replacing what was there; a new key if None) and
        return the key."""
        key = key if isinstance(key, str) and key else secrets.token_urlsafe(16)
        with self._lock:
            self._kept.pop(key, None)
            self._kept[key] = (kept, self._clock())
            self._expire()
            while self.bytes() > self.max_bytes and len(self._kept) > 1:
                self._kept.popitem(last=False)
        return key

    def drop(self, key: str | None) -> None:
        with self._lock:
            self._kept.pop(key, None)

    def bytes(self) -> int:
        return sum(kept.nbytes for kept, _ in self._kept.values())

    def __len__(self) -> int:
        return len(self._kept)

    def _expire(self) -> None:
        now = self._clock()
        while self._kept and now - next(iter(self._kept.values()))[1] > self.ttl_s:
            self._kept.popitem(last=False)


def face_at(kept: KeptPhoto | None, x: float, y: float, shown_width: int) -> int | None:
    """The index of the face under a click at (x, y) in an image shown ``shown_width``
    pixels wide (the smallest such face), or None."""
    if kept is None or kept.analysis is None or shown_width <= 0:
        return None
    factor = kept.shape[1] / shown_width
    x, y = x * factor, y * factor
    hits = [(f.box.w * f.box.h, i) for i, f in enumerate(kept.analysis.faces)
            if f.box.x <= x <= f.box.x + f.box.w and f.box.y <= y <= f.box.y + f.box.h]
    return min(hits)[1] if hits else None
