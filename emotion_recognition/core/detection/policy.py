"""The one detection policy for photos, ``find_faces``: what every front end runs.

Haar's frontal cascade finds near-upright faces, and the emotion model was trained on
FER2013's roughly upright crops. So faces are looked for upright first; when nothing is
found, on copies of the image turned by a few angles, the boxes mapped back with the angle
the face is tilted by (its crop is then turned upright: core/crops.py). Each face's crop is
also levelled by the eye line BlazeFace finds when it confirms the face
(verification.LEVEL_EYES). Both were measured by ``benchmarks.rotation``. Videos and live
sessions search whole frames only now and then (video/guided.py), upright.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from emotion_recognition.core.types import Box, reading_order

RETRY_ANGLES = (-25.0, 25.0)  # degrees; measured in benchmarks.rotation
RETRY_MAX_PIXELS = 480_000  # 800x600: rotated copies of larger photos are searched shrunk


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
        size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
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
            return reading_order(found)
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
    """Every face of a photo, as every front end finds them (API, app, command line,
    batch): upright first; when nothing is found there, on copies turned by RETRY_ANGLES
    (benchmarks.rotation: at 20-30 degrees of tilt it finds 70-77 % of faces instead of
    12-48 %; a photo with an upright face costs nothing more). A detector may have a
    stricter self for the turned copies (``on_turned_copies``, detectors.py). The faces
    come in reading order (types.reading_order)."""
    return detector.detect(grey) or detect_on_rotated_copies(
        getattr(detector, "on_turned_copies", detector), grey)
