"""Detectors shared by many users (the live sessions): at most a few, made when needed."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

from emotion_recognition.core.types import Box


class DetectorPool:
    """However many users share it, at most ``size`` detectors (and their cascades'
    buffers) exist. Each call borrows one (waiting when all are busy), so the pool stands
    in for a detector. ``make`` makes one (any of detectors.py's)."""

    def __init__(self, size: int, make):
        self._make = make
        self._slots = threading.BoundedSemaphore(size)
        self._free: list = []  # made when first needed
        self._lock = threading.Lock()

    def detect(self, grey: np.ndarray) -> list[Box]:
        with self._borrowed() as detector:
            return detector.detect(grey)

    def smallest_face(self, grey: np.ndarray) -> int:
        with self._borrowed() as detector:
            return detector.smallest_face(grey)

    @contextmanager
    def _borrowed(self):
        with self._slots:
            with self._lock:
                detector = self._free.pop() if self._free else None
            detector = detector or self._make()
            try:
                yield detector
            finally:
                with self._lock:
                    self._free.append(detector)
