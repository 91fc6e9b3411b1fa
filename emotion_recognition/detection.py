"""Face detection with the Haar cascades that ship inside OpenCV (cv2.data)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_recognition.preprocessing import Box, downscale_for_detection

PRIMARY_CASCADE = "haarcascade_frontalface_default.xml"
FALLBACK_CASCADES = ("haarcascade_frontalface_alt2.xml", "haarcascade_profileface.xml")


@dataclass(frozen=True)
class DetectorSettings:
    """Haar settings; detection runs on a copy of at most max_pixels pixels."""

    scale_factor: float = 1.1
    min_neighbors: int = 6
    min_face_fraction: float = 0.04  # smallest face side, as a share of the image's shorter side
    min_face_pixels: int = 24
    max_pixels: int = 120_000  # 400x300: a 640x480 frame is shrunk by 0.625
    use_fallbacks: bool = True


def _load_cascade(name: str) -> cv2.CascadeClassifier:
    path = Path(cv2.data.haarcascades) / name
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"OpenCV's Haar cascade {path} could not be loaded; "
                           "install opencv-python-headless<5")
    return cascade


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when apart, 1 when equal)."""
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union else 0.0


def suppress_overlaps(boxes: list[Box], threshold: float = 0.3) -> list[Box]:
    """Keep the larger of any two boxes overlapping more than ``threshold`` (IoU)."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: b.w * b.h, reverse=True):
        if all(overlap(box, other) <= threshold for other in kept):
            kept.append(box)
    return sorted(kept, key=lambda b: (b.x, b.y))


class FaceDetector:
    """Finds faces in a grey image: the frontal cascade first, then the fallbacks
    (alt2 frontal, then profile faces facing either way) only when it finds none."""

    def __init__(self, settings: DetectorSettings | None = None):
        self.settings = settings or DetectorSettings()
        self._primary = _load_cascade(PRIMARY_CASCADE)
        self._fallbacks = ([_load_cascade(name) for name in FALLBACK_CASCADES]
                           if self.settings.use_fallbacks else [])
        self._lock = threading.Lock()  # one cascade object is shared by the app's request threads

    def detect(self, grey: np.ndarray) -> list[Box]:
        """Boxes of the faces in a grey uint8 image, in its own pixel coordinates."""
        if grey.ndim != 2 or min(grey.shape) < self.settings.min_face_pixels:
            return []
        small, factor = downscale_for_detection(grey, self.settings.max_pixels)
        with self._lock:
            boxes = self._run(self._primary, small)
            for index, cascade in enumerate(self._fallbacks):
                if boxes:
                    break
                boxes = self._run(cascade, small)
                if index == len(self._fallbacks) - 1 and not boxes:  # profile: try the mirror
                    boxes = self._mirrored(cascade, small)
        return [box.scaled(factor) for box in suppress_overlaps(boxes)]

    def _run(self, cascade: cv2.CascadeClassifier, image: np.ndarray) -> list[Box]:
        side = max(self.settings.min_face_pixels,
                   int(min(image.shape) * self.settings.min_face_fraction))
        found = cascade.detectMultiScale(image, scaleFactor=self.settings.scale_factor,
                                         minNeighbors=self.settings.min_neighbors,
                                         minSize=(side, side))
        return [Box(int(x), int(y), int(w), int(h)) for x, y, w, h in found]

    def _mirrored(self, cascade: cv2.CascadeClassifier, image: np.ndarray) -> list[Box]:
        width = image.shape[1]
        return [Box(width - b.x - b.w, b.y, b.w, b.h) for b in self._run(cascade, image[:, ::-1])]
