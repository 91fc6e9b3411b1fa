"""The face detectors a user can choose, by name, and what each one does.

* ``haar`` (the default): OpenCV's Haar cascades propose faces (haar.py, with a lenient
  minNeighbors of 1 and no alt2 confirmation, since a second opinion follows) and BlazeFace
  confirms each one (verification.py); when no face is left, the alt2 and profile
  cascades propose, and then BlazeFace looks at the whole photo on its own.
* ``blazeface``: BlazeFace's full-range model on the whole photo and on overlapping tiles of
  it, finer and finer down to the smallest face looked for; its short-range model confirms
  each face as it confirms Haar's.
* ``combined``: both, every face either finds (one box where both find the same face).

Every detector takes a grey uint8 image and returns ``Box`` es in its pixels, framed as Haar
frames a face (the classifier's crops are calibrated on Haar's boxes, core/crops.py).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from emotion_recognition.core.detection.blazeface import Detection, Region
from emotion_recognition.core.detection.haar import DetectorSettings, FaceDetector
from emotion_recognition.core.detection.verification import FaceVerifier
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.types import Box, reading_order

DETECTORS = {
    "haar": "Haar cascades, each face checked by BlazeFace (default)",
    "blazeface": "BlazeFace, Google's neural detector",
    "combined": "every face either of them finds",
}
DEFAULT_DETECTOR = "haar"
# minNeighbors 1: in 12 MP photos of pasted Training faces, 92 % of 40-pixel faces proposed
# and confirmed instead of 83 % with 3, no false box on them or on the face-free set
PROPOSAL_SETTINGS = DetectorSettings(min_neighbors=1, confirm_fine=False)

# BlazeFace's box (brows to chin) -> the box Haar draws on the same face: Haar's is
# HAAR_SIDE_PER_BLAZEFACE times as wide, its centre HAAR_SHIFT_Y BlazeFace widths higher.
# Measured by `python -m benchmarks.blazeface_framing` (benchmarks/figures/blazeface_framing.json).
HAAR_SIDE_PER_BLAZEFACE = 1.11
HAAR_SHIFT_Y = 0.052


def check_detector(name: str | None) -> str:
    """The detector's name (the default for None or ""); an unknown one is refused with a
    message for the user."""
    name = name or DEFAULT_DETECTOR
    if name not in DETECTORS:
        raise EmotionAppError(f"Unknown face detector {str(name)[:40]!r}: choose one of "
                              f"{', '.join(DETECTORS)}.")
    return name


def haar_framed(detection: Detection) -> Box:
    """A BlazeFace detection's box as Haar would frame that face, with the tilt of its eye
    line as the box's angle (so that its crop is turned upright: BlazeFace, unlike Haar,
    finds tilted faces)."""
    box = detection.box
    side = box.w * HAAR_SIDE_PER_BLAZEFACE
    centre_x = box.x + box.w / 2
    centre_y = box.y + box.h / 2 - HAAR_SHIFT_Y * box.w
    return Box(int(round(centre_x - side / 2)), int(round(centre_y - side / 2)),
               int(round(side)), int(round(side)), detection.eye_line_angle())


@dataclass(frozen=True)
class TileSettings:
    """BlazeFace sees faces of at least ``min_face_in_input`` of its 192 input pixels: the
    whole photo shows it the large faces, and tiles, each half the side of the one before
    (overlapping by ``overlap`` of a side), the smaller ones, down to faces
    ``min_face_pixels`` wide in the photo."""

    min_face_pixels: int = 40
    min_face_in_input: int = 16
    overlap: float = 0.25
    min_score: float = 0.5


def tile_regions(height: int, width: int, settings: TileSettings, input_size: int = 192
                 ) -> list[Region]:
    """The whole image, then every level of tiles (coarse to fine)."""
    regions = [Region.whole(height, width)]
    finest = settings.min_face_pixels * input_size / settings.min_face_in_input
    side = float(max(height, width))
    while side > finest * 1.25:  # (a level barely finer than the one before is no use)
        side = max(side / 2, finest)
        stride = side * (1 - settings.overlap)
        across = 1 + max(0, math.ceil((width - side) / stride))
        down = 1 + max(0, math.ceil((height - side) / stride))
        xs = np.linspace(0, max(width - side, 0), across)
        ys = np.linspace(0, max(height - side, 0), down)
        regions += [Region(float(x), float(y), side) for y in ys for x in xs]
    return regions


def merge_detections(detections: list[Detection], iou: float = 0.3,
                     inside: float = 0.6) -> list[Detection]:
    """One detection per face found on several tiles or levels: the best scored of any
    that overlap (IoU above ``iou``, or mostly inside the other)."""
    kept: list[Detection] = []
    for found in sorted(detections, key=lambda d: d.score, reverse=True):
        if all(found.box.apart_from(other.box, iou, inside) for other in kept):
            kept.append(found)
    return kept


class _Verified:
    """What the detectors share: a verifier, and a stricter self for turned copies."""

    verifier: FaceVerifier

    def __init__(self, verifier: FaceVerifier | None):
        self.verifier = verifier or FaceVerifier()
        self._strict = None
        self._strict_lock = threading.Lock()

    @property
    def on_turned_copies(self):
        """This detector for turned copies of a photo (policy.find_faces): both of
        BlazeFace's models asked about every face (verification.py); made once."""
        with self._strict_lock:
            if self._strict is None:
                strict = self.verifier.strict
                self._strict = self if strict else self._with(self.verifier.strictly())
            return self._strict

    def _with(self, verifier: FaceVerifier):
        return type(self)(verifier=verifier)


class BlazeFaceDetector(_Verified):
    """BlazeFace's full-range model on the whole image and on tiles (TileSettings), each
    face confirmed by the verifier (the short-range model on its surroundings)."""

    def __init__(self, tiles: TileSettings | None = None, verifier: FaceVerifier | None = None):
        super().__init__(verifier)
        self.model = self.verifier.full
        self.tiles = tiles or TileSettings()

    def _with(self, verifier: FaceVerifier) -> "BlazeFaceDetector":
        return BlazeFaceDetector(self.tiles, verifier)

    def detections(self, image: np.ndarray, whole_only: bool = False) -> list[Detection]:
        """Every face, with its keypoints and score, in BlazeFace's own framing."""
        if image.ndim not in (2, 3) or min(image.shape[:2]) < 8:
            return []
        regions = tile_regions(*image.shape[:2], self.tiles, self.model.input_size)
        found = []
        for region in regions[:1] if whole_only else regions:
            found += self.model.detect(image, region, self.tiles.min_score)
        return [d for d in merge_detections(found) if self.verifier.confirms(image, d.box)]

    def detect(self, grey: np.ndarray) -> list[Box]:
        boxes = [haar_framed(d) for d in self.detections(grey)]
        return reading_order(boxes)

    def smallest_face(self, grey: np.ndarray) -> int:
        """The smallest face width (pixels) looked for in ``grey``: the finest tiles'."""
        regions = tile_regions(*grey.shape[:2], self.tiles, self.model.input_size)
        finest = min(region.side for region in regions)
        return int(math.ceil(finest * self.tiles.min_face_in_input / self.model.input_size))


class VerifiedHaarDetector(_Verified):
    """The default: Haar proposes, BlazeFace confirms; BlazeFace on the whole image when
    Haar's cascades leave no face (a large face Haar misses, in one 192x192 look)."""

    def __init__(self, settings: DetectorSettings | None = None,
                 verifier: FaceVerifier | None = None):
        super().__init__(verifier)
        self.haar = FaceDetector(settings or PROPOSAL_SETTINGS, verifier=self.verifier)
        self.blazeface = BlazeFaceDetector(verifier=self.verifier)
        self.settings = self.haar.settings

    def _with(self, verifier: FaceVerifier) -> "VerifiedHaarDetector":
        return VerifiedHaarDetector(self.settings, verifier)

    def detect(self, grey: np.ndarray) -> list[Box]:
        boxes = self.haar.detect(grey)
        if boxes or grey.ndim != 2 or min(grey.shape) < self.settings.window:
            return boxes
        return reading_order([haar_framed(d)
                              for d in self.blazeface.detections(grey, whole_only=True)])

    def smallest_face(self, grey: np.ndarray) -> int:
        return self.haar.smallest_face(grey)


class CombinedDetector(_Verified):
    """Every face the verified Haar detector or BlazeFace finds; where both find a face,
    Haar's box."""

    def __init__(self, verifier: FaceVerifier | None = None):
        super().__init__(verifier)
        self.haar = VerifiedHaarDetector(verifier=self.verifier)
        self.blazeface = self.haar.blazeface

    def detect(self, grey: np.ndarray) -> list[Box]:
        boxes = self.haar.haar.detect(grey)
        for box in self.blazeface.detect(grey):
            if all(box.apart_from(other) for other in boxes):
                boxes.append(box)
        return reading_order(boxes)

    def smallest_face(self, grey: np.ndarray) -> int:
        return min(self.haar.smallest_face(grey), self.blazeface.smallest_face(grey))


def create_detector(name: str | None = DEFAULT_DETECTOR):
    """A new detector of that name, with its own models (nothing is loaded until used)."""
    name = check_detector(name)
    if name == "blazeface":
        return BlazeFaceDetector()
    if name == "combined":
        return CombinedDetector()
    return VerifiedHaarDetector()
