"""Faces that are not upright: level the eyes of a crop, or look for faces on rotated copies.

Haar's frontal cascade finds near-upright faces, and the emotion model was trained on
FER2013's roughly upright crops. Two remedies, measured by ``benchmarks.rotation``:

* ``eye_angle``: OpenCV's eye cascade on a face's upper half; the crop is then rotated so the
  eyes are level (``preprocessing.face_crops`` with ``Box.angle``).
* ``detect_on_rotated_copies``: when nothing is found upright, detect on copies of the image
  rotated by a few angles and map the boxes back, with the angle the face is tilted by.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import cv2
import numpy as np

from emotion_recognition.preprocessing import Box

EYE_CASCADE = "haarcascade_eye.xml"
RETRY_ANGLES = (-25.0, 25.0)  # degrees; measured in benchmarks.rotation
RETRY_MAX_PIXELS = 480_000  # 800x600: rotated copies of larger photos are searched shrunk
MAX_EYE_ANGLE = 35.0  # a steeper "eye line" is a false eye, not a tilt

_eyes: cv2.CascadeClassifier | None = None
_load_lock = threading.Lock()  # loading the cascade, once
_eyes_lock = threading.Lock()  # one cascade object is shared by the app's request threads


def _eye_cascade() -> cv2.CascadeClassifier:
    """The eye cascade, loaded once on first use."""
    global _eyes
    with _load_lock:
        if _eyes is None:
            _eyes = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / EYE_CASCADE))
            if _eyes.empty():
                raise RuntimeError(f"OpenCV's {EYE_CASCADE} could not be loaded")
        return _eyes


def eye_angle(grey: np.ndarray, box: Box) -> float | None:
    """The tilt of the line through the eyes in degrees (positive: the eye on the image's
    right sits lower), i.e. the Box.angle that levels them; None when two eyes are not
    found."""
    x0, y0 = max(box.x, 0), max(box.y, 0)
    upper = grey[y0:y0 + box.h * 6 // 10, x0:x0 + box.w]
    if upper.size == 0 or min(upper.shape) < 12:
        return None
    scale = 120.0 / max(upper.shape[1], 1)  # eyes ~25 px wide: the cascade's sweet spot
    region = cv2.resize(upper, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    cascade = _eye_cascade()
    with _eyes_lock:
        found = cascade.detectMultiScale(region, scaleFactor=1.1, minNeighbors=4,
                                                minSize=(12, 12), maxSize=(60, 60))
    if len(found) < 2:
        return None
    middle = region.shape[1] / 2
    centres = [(x + w / 2, y + h / 2, w * h) for x, y, w, h in found]
    left = [c for c in centres if c[0] < middle]
    right = [c for c in centres if c[0] >= middle]
    if not left or not right:
        return None
    (lx, ly, _), (rx, ry, _) = max(left, key=lambda c: c[2]), max(right, key=lambda c: c[2])
    angle = math.degrees(math.atan2(ry - ly, rx - lx))
    return angle if abs(angle) <= MAX_EYE_ANGLE else None


def with_eye_angles(grey: np.ndarray, boxes: list[Box]) -> list[Box]:
    """The boxes, each carrying the tilt of its eyes (0 where they are not found)."""
    return [Box(b.x, b.y, b.w, b.h, b.angle + (eye_angle(grey, b) or 0.0)) for b in boxes]


def rotate_about_centre(grey: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """The image rotated by ``angle`` degrees (counter-clockwise) on a canvas big enough to
    keep every pixel, and the 2x3 matrix that maps original points into it."""
    height, width = grey.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    rotated = cv2.warpAffine(grey, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
    return rotated, matrix


def detect_on_rotated_copies(detector, grey: np.ndarray,
                             angles: tuple[float, ...] = RETRY_ANGLES,
                             max_pixels: int = RETRY_MAX_PIXELS) -> list[Box]:
    """Faces found on rotated copies of the image, as boxes in the original image that
    carry the angle the face is tilted by (so its crop can be turned upright). Large photos
    are searched shrunk so each turned copy has at most ``max_pixels`` (a retry must not
    triple a 12 MP photo's time, nor turn a long strip into gigapixels)."""
    scale = min(1.0, (max_pixels / max(_turned_area(grey.shape, angles), 1)) ** 0.5)
    if scale < 1.0:
        grey = cv2.resize(grey, (max(1, round(grey.shape[1] * scale)),
                                 max(1, round(grey.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    for angle in angles:
        rotated, matrix = rotate_about_centre(grey, angle)
        boxes = detector.detect(rotated)
        if boxes:
            back = cv2.invertAffineTransform(matrix)
            found = []
            for box in boxes:
                cx, cy = back @ np.array([box.x + box.w / 2, box.y + box.h / 2, 1.0])
                w, h = box.w / scale, box.h / scale
                found.append(Box(int(round(cx / scale - w / 2)), int(round(cy / scale - h / 2)),
                                 int(round(w)), int(round(h)), angle))
            return found
    return []


def _turned_area(shape: tuple[int, int], angles: tuple[float, ...]) -> float:
    """Pixels of the largest turned copy (a 1x100000 strip turned by 25 degrees would be
    3.8 gigapixels: the copy is bounded, not the original)."""
    height, width = shape[:2]
    areas = [(width * abs(math.cos(a)) + height * abs(math.sin(a)))
             * (width * abs(math.sin(a)) + height * abs(math.cos(a)))
             for a in (math.radians(angle) for angle in angles)]
    return max(areas, default=float(width * height))


def find_faces(detector, grey: np.ndarray) -> list[Box]:
    """The photo pipeline's detection: upright first; when nothing is found there, on
    copies turned by RETRY_ANGLES (benchmarks.rotation: at 20-30 degrees of tilt it finds
    70-77 % of faces instead of 12-48 %; a photo with an upright face costs nothing more).
    Eye levelling (``with_eye_angles``) measured no gain, so it is not used. A detector may
    have a stricter self for the turned copies (``on_turned_copies``, detectors.py)."""
    return detector.detect(grey) or detect_on_rotated_copies(
        getattr(detector, "on_turned_copies", detector), grey)
