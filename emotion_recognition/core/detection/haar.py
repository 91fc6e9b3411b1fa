"""Face detection with the Haar cascades that ship inside OpenCV (cv2.data): FaceDetector.

A cascade keeps buffers sized by the widest and the tallest image it has seen: one
request's 60000-pixel strip would leave a shared cascade that crashes or fails on the
next one. So no image larger than LIMITS.detection_pixels / detection_side reaches a
cascade (finer passes stop there), and a detector that ran on an image over
LIMITS.detector_keep_side reloads its cascade at once, freeing what it grew (so what a
detector keeps is bounded, and a DetectorPool, pool.py, bounds how many detectors many
users keep).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from emotion_recognition.core.errors import DetectionError
from emotion_recognition.core.limits import LIMITS
from emotion_recognition.core.types import Box, reading_order

PRIMARY_CASCADE = "haarcascade_frontalface_default.xml"
FALLBACK_CASCADES = ("haarcascade_frontalface_alt2.xml", "haarcascade_profileface.xml")


@dataclass(frozen=True)
class DetectorSettings:
    """Haar settings. A coarse pass runs on a copy of at most ``max_pixels`` pixels (fast, and
    enough for a webcam frame); large photos get finer passes for the smaller faces, each
    twice as fine, down to faces ``min_face_pixels`` wide in the original."""

    scale_factor: float = 1.1
    min_neighbors: int = 6
    window: int = 24  # the frontal cascade's own window: the smallest face it can see
    min_face_pixels: int = 32  # a face frame (1.2 face widths) of 40 pixels
    max_pixels: int = 120_000  # 400x300: a 640x480 frame is shrunk by 0.625
    band: float = 4.0  # a finer pass looks for faces of 1 to 4 windows (the bands overlap)
    use_fallbacks: bool = True
    confirm_fine: bool = True  # a finer pass's face must also be seen by the alt2 cascade


@dataclass(frozen=True)
class Pass:
    """One detection pass: the image shrunk by ``scale``, faces between ``min_side`` and
    ``max_side`` (None: no limit) pixels wide in that shrunk image."""

    scale: float
    min_side: int
    max_side: int | None = None


def detection_passes(height: int, width: int, settings: DetectorSettings) -> list[Pass]:
    """The coarse pass, then finer passes, each for the faces too small for the one before;
    none larger than LIMITS.detection_pixels, nor LIMITS.detection_side on a side."""
    largest = min((LIMITS.detection_pixels / max(height * width, 1)) ** 0.5,
                  LIMITS.detection_side / max(height, width, 1))
    scale = min(1.0, (settings.max_pixels / max(height * width, 1)) ** 0.5, largest)
    passes = [Pass(scale, settings.window)]
    finest = min(1.0, settings.window / settings.min_face_pixels, largest)
    while settings.window / scale > 1.25 * settings.min_face_pixels and scale < finest:
        finer = min(finest, 2 * scale)
        # the bands overlap: each face is seen well inside one band, with its neighbours
        passes.append(Pass(finer, settings.window, int(settings.window * settings.band)))
        scale = finer
    return passes


def smallest_face(height: int, width: int, settings: DetectorSettings | None = None) -> int:
    """The width in pixels of the smallest face the detector looks for in such an image."""
    settings = settings or DetectorSettings()
    return int(np.ceil(settings.window / detection_passes(height, width, settings)[-1].scale))


def load_cascade(name: str) -> cv2.CascadeClassifier:
    path = Path(cv2.data.haarcascades) / name
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"OpenCV's Haar cascade {path} could not be loaded; "
                           "install opencv-python-headless<5")
    return cascade


def suppress_overlaps(boxes: list[Box], threshold: float = 0.3, inside: float = 0.6,
                      check: Callable[[Box], Box | None] | None = None) -> list[Box]:
    """Keep the larger of any two boxes overlapping more than ``threshold`` (IoU), and drop a
    box lying mostly (``inside``) within a larger one (a finer pass's eye or mouth). With
    ``check`` (a box -> the box kept, or None), a box is kept only when it passes; it is asked
    only of boxes no kept box suppresses, so a costly second opinion runs once per face
    rather than once per overlapping proposal, with the same result as checking them all."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: b.w * b.h, reverse=True):
        if all(box.overlap(other) <= threshold and box.share_inside(other) <= inside
               for other in kept):
            checked = box if check is None else check(box)
            if checked is not None:
                kept.append(checked)
    return reading_order(kept)


class FaceDetector:
    """Finds faces in a grey image: the frontal cascade first, then the fallbacks
    (alt2 frontal, then profile faces facing either way) only when it finds none."""

    def __init__(self, settings: DetectorSettings | None = None, verifier=None):
        self.settings = settings or DetectorSettings()
        # a second opinion, (grey, boxes) -> the boxes that are faces (verification.py):
        # the fallbacks run when it leaves none
        self.verifier = verifier
        self._load(fallbacks=True)
        self._confirm = (load_cascade(FALLBACK_CASCADES[0]) if self.settings.confirm_fine
                         else None)  # (it only sees small windows around a face)
        self._lock = threading.Lock()  # one cascade object is shared by the app's request threads

    def _load(self, fallbacks: bool) -> None:
        """(Re)load the cascades that see whole images: a new one holds no buffers yet."""
        self._primary = load_cascade(PRIMARY_CASCADE)
        if fallbacks:
            self._fallbacks = ([load_cascade(name) for name in FALLBACK_CASCADES]
                               if self.settings.use_fallbacks else [])

    def detect(self, grey: np.ndarray) -> list[Box]:
        """Boxes of the faces in a grey uint8 image, in its own pixel coordinates.
        Raises DetectionError (a plain message) if OpenCV fails on it."""
        if grey.ndim != 2 or min(grey.shape) < self.settings.window:
            return []
        passes = detection_passes(*grey.shape, self.settings)
        images = [_shrunk(grey, p.scale) for p in passes]
        check = self._check(grey)
        boxes = suppress_overlaps(self._guarded(self._passes, passes, images), check=check)
        if not boxes and self._fallbacks:  # fallbacks on the coarse pass only
            boxes = suppress_overlaps(self._guarded(self._fallbacks_found, passes, images[:1]),
                                      check=check)
        return boxes

    def _guarded(self, search, passes: list[Pass], images: list[np.ndarray]) -> list[Box]:
        """``search(passes, images)`` under the lock; an OpenCV failure becomes a plain
        DetectionError, and cascades that saw a large image are reloaded."""
        with self._lock:
            try:
                boxes = search(passes, images)
            except cv2.error as error:
                self._load(fallbacks=True)  # nothing of them is reused
                reason = (getattr(error, "err", None) or str(error)).strip().splitlines() or ["?"]
                raise DetectionError(f"Face detection failed on this image ({reason[-1][:200]}). "
                                     "Please try a smaller or more ordinary photo.") from None
            if max(max(image.shape) for image in images) > LIMITS.detector_keep_side:
                # frees what they grew (the fallbacks see only the coarse image)
                self._load(fallbacks=search == self._fallbacks_found)
        return boxes

    def _check(self, grey: np.ndarray) -> Callable[[Box], Box | None] | None:
        """The verifier's opinion on one box of ``grey`` (the box as kept, or None)."""
        if self.verifier is None:
            return None
        return lambda box: next(iter(self.verifier(grey, [box])), None)

    def _passes(self, passes: list[Pass], images: list[np.ndarray]) -> list[Box]:
        boxes = [box.scaled(1 / passes[0].scale)
                 for box in self._run(self._primary, images[0], passes[0])]
        for scan, image in zip(passes[1:], images[1:]):
            found = self._run(self._primary, image, scan)
            boxes += [box.scaled(1 / scan.scale) for box in found if self._confirmed(image, box)]
        return boxes

    def _fallbacks_found(self, passes: list[Pass], images: list[np.ndarray]) -> list[Box]:
        return [box.scaled(1 / passes[0].scale) for box in self._fallback(images[0], passes[0])]

    def smallest_face(self, grey: np.ndarray) -> int:
        """The smallest face width (pixels) this detector looks for in ``grey``."""
        return smallest_face(*grey.shape[:2], self.settings)

    def _confirmed(self, image: np.ndarray, box: Box) -> bool:
        """A second opinion on a finer pass's face (they scan many more windows, so see more
        false faces): the alt2 frontal cascade must find a face of about its size there."""
        if self._confirm is None:
            return True
        margin = box.w // 2
        x0, y0 = max(box.x - margin, 0), max(box.y - margin, 0)
        roi = image[y0:box.y + box.h + margin, x0:box.x + box.w + margin]
        found = self._confirm.detectMultiScale(roi, scaleFactor=1.1, minNeighbors=3,
                                               minSize=(int(box.w * 0.6),) * 2,
                                               maxSize=(int(box.w * 1.6),) * 2)
        return len(found) > 0

    def _fallback(self, image: np.ndarray, coarse: Pass) -> list[Box]:
        """alt2 frontal, then profile faces facing either way."""
        for index, cascade in enumerate(self._fallbacks):
            boxes = self._run(cascade, image, coarse)
            if not boxes and index == len(self._fallbacks) - 1:  # profile: try the mirror
                width = image.shape[1]
                boxes = [Box(width - b.x - b.w, b.y, b.w, b.h)
                         for b in self._run(cascade, image[:, ::-1], coarse)]
            if boxes:
                return boxes
        return []

    def _run(self, cascade: cv2.CascadeClassifier, image: np.ndarray, scan: Pass) -> list[Box]:
        if min(image.shape[:2]) < self.settings.window:
            return []
        limit = (scan.max_side, scan.max_side) if scan.max_side else None
        found = cascade.detectMultiScale(image, scaleFactor=self.settings.scale_factor,
                                         minNeighbors=self.settings.min_neighbors,
                                         minSize=(scan.min_side, scan.min_side),
                                         **({"maxSize": limit} if limit else {}))
        return [Box(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


def _shrunk(grey: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return grey
    height, width = grey.shape
    return cv2.resize(grey, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_AREA)
