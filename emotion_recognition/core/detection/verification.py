"""A second opinion on each face Haar proposes: BlazeFace on the box's surroundings.

Haar's cascades see "faces" in folds of cloth and textures (a 127-pixel one on the
astronaut's suit, a 76-pixel one on Grace Hopper's uniform in a 12 MP enlargement). BlazeFace
(blazeface.py) is a neural detector trained on real faces. Its short-range model, run on the
square twice the proposal's size centred on it, scores the example photos' faces 0.85-0.94,
FER2013 Training faces pasted into 12 MP photos 0.75-0.95, and Haar's false faces there at
most 0.59 (the suit and uniform phantoms 0.0-0.38); but an enlarged microscope cell gets 0.76
and a cat 0.65, while hard PublicTest faces (eyes closed, a hand on the face) get 0.79-0.80.
So a proposal scoring ALONE or more is a face; one scoring MIN_SCORE to ALONE gets a third
opinion, the full-range model on wider surroundings, which gives real faces
0.79-0.96 and Training faces mostly over 0.5 (the cell 0.29, the cat nothing). One check costs
about 1.5 ms on one core (a 128x128 input), whatever the photo's size; a third opinion 4 ms.

The cell at its own size (550x660), at 0.5x, 2x and 3x scores 0.79-0.83 short-range, and the
full-range model disagrees with real faces there too (7 of 82 pasted faces scoring 0.78-0.85
get under 0.4). OpenCV's alt2 frontal cascade, a detector unlike both, tells them apart: it
sees a face in the surroundings of 214 of those 215 pasted faces scoring 0.78-0.9 and none in
the cell's, at any size. So a proposal scoring SURE to ALONE (a face on its own before) is a
face when alt2 sees one of about its size there, or else when the full-range model agrees
(on the proposal's surroundings or the wider ones): never more than before.

Faces seen only on turned copies of a photo (policy.find_faces: nothing was found
upright) need both models (``strict``): the copies give false faces more chances (the cell,
turned, scored 0.85 short-range but 0.18 full-range), and that path is slow anyway.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import cv2
import numpy as np

from emotion_recognition.core.detection.blazeface import BlazeFace, Detection, Region
from emotion_recognition.core.detection.haar import FALLBACK_CASCADES, load_cascade
from emotion_recognition.core.types import Box

SURROUNDINGS = 2.0  # the square the short-range model looks at, in proposal sides
ALONE = 0.85  # a short-range score that confirms a face on its own (the cell: up to 0.83)
SURE = 0.78  # from here to ALONE, the alt2 cascade's look may confirm it (else the third opinion)
MIN_SCORE = 0.65  # below it, not a face
LOOK_SIDE = 96  # pixels the proposal is shrunk to for the alt2 cascade's look
WIDER = 2.5  # the square the full-range model looks at, for a score between the two
FULL_MIN_SCORE = 0.4  # what it must give such a face
# BlazeFace's face may be this many times the proposal's width: a proposal much larger than
# the face (BlazeFace's face under 0.6 of it) is refused, so the well-sized one is kept
SIZE_RANGE = (0.6, 2.5)
# Turn each crop by the eye line BlazeFace found (free: its keypoints come with the check).
# benchmarks.rotation, 100 PublicTest faces per angle: 1.7 points more labelled right on
# average over -30..30 degrees, 2-5 points at 20-30, within a point at 0-10.
LEVEL_EYES = True


_cascades = threading.local()  # a cascade is not thread-safe: one per thread


def alt2_sees(image: np.ndarray, box: Box) -> bool:
    """Whether OpenCV's alt2 frontal cascade finds a face of about the box's size (0.6-1.6
    of it) in its surroundings (half a side around it), shrunk so the box is at most
    LOOK_SIDE pixels (so the cascade's buffers stay small whatever the photo)."""
    if getattr(_cascades, "alt2", None) is None:
        _cascades.alt2 = load_cascade(FALLBACK_CASCADES[0])
    margin = box.w // 2
    x0, y0 = max(box.x - margin, 0), max(box.y - margin, 0)
    roi = image[y0:box.y + box.h + margin, x0:box.x + box.w + margin]
    scale = min(1.0, LOOK_SIDE / max(box.w, 1))
    if scale < 1.0:
        roi = cv2.resize(roi, (max(1, round(roi.shape[1] * scale)),
                               max(1, round(roi.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    side = box.w * scale
    if roi.ndim != 2 or min(roi.shape) < max(24, int(side * 0.6)):
        return False
    found = _cascades.alt2.detectMultiScale(roi, scaleFactor=1.1, minNeighbors=3,
                                            minSize=(int(side * 0.6),) * 2,
                                            maxSize=(int(side * 1.6),) * 2)
    return len(found) > 0


class FaceVerifier:
    """Keeps a proposed face box when BlazeFace finds a face centred inside it, of about its
    size, sure enough (see above). Thread-safe."""

    def __init__(self, short: BlazeFace | None = None, full: BlazeFace | None = None,
                 strict: bool = False, level_eyes: bool = LEVEL_EYES):
        self.short = short or BlazeFace("short")
        self.full = full or BlazeFace("full")
        self.strict = strict  # the full-range model must always agree
        self.level_eyes = level_eyes

    def strictly(self) -> "FaceVerifier":
        """The same models, both always asked."""
        return FaceVerifier(self.short, self.full, strict=True, level_eyes=self.level_eyes)

    def match(self, image: np.ndarray, box: Box, model: BlazeFace | None = None,
              surroundings: float = SURROUNDINGS) -> Detection | None:
        """A model's best-scored face matching ``box`` (centred inside it, of about its
        size), or None; the short-range model's by default."""
        region = Region.around(box, surroundings)
        best = None
        for found in (model or self.short).detect(image, region, min_score=0.3):
            centre_x, centre_y = found.box.x + found.box.w / 2, found.box.y + found.box.h / 2
            inside = box.x <= centre_x <= box.x + box.w and box.y <= centre_y <= box.y + box.h
            ratio = found.box.w / max(box.w, 1)
            if inside and SIZE_RANGE[0] <= ratio <= SIZE_RANGE[1] and (
                    best is None or found.score > best.score):
                best = found
        return best

    def score(self, image: np.ndarray, box: Box, model: BlazeFace | None = None,
              surroundings: float = SURROUNDINGS) -> float:
        """A model's best score for a face matching ``box`` (0 when none)."""
        found = self.match(image, box, model, surroundings)
        return found.score if found is not None else 0.0

    def confirmed(self, image: np.ndarray, box: Box) -> Detection | None:
        """The short-range model's face for ``box`` when it is a face, else None."""
        found = self.match(image, box)
        short = found.score if found is not None else 0.0
        if short < MIN_SCORE:
            return None
        if not self.strict and (short >= ALONE or (short >= SURE and self._second_look(image, box))):
            return found
        return found if self.score(image, box, self.full, WIDER) >= FULL_MIN_SCORE else None

    def _second_look(self, image: np.ndarray, box: Box) -> bool:
        """For a short-range score from SURE to ALONE: the alt2 cascade sees a face there, or
        the full-range model does on the nearer surroundings (a pasted 240-pixel face
        scoring 0.79: 0.43 there, 0.0 on the wider ones; the cell 0.0 at every size)."""
        return (alt2_sees(image, box)
                or self.score(image, box, self.full, SURROUNDINGS) >= FULL_MIN_SCORE)

    def confirms(self, image: np.ndarray, box: Box) -> bool:
        return self.confirmed(image, box) is not None

    def __call__(self, image: np.ndarray, boxes: list[Box]) -> list[Box]:
        """The boxes BlazeFace confirms, in their order; with ``level_eyes``, an upright box
        takes the tilt of the eye line BlazeFace found (its crop is turned to level it)."""
        kept = []
        for box in boxes:
            found = self.confirmed(image, box)
            if found is not None:
                kept.append(replace(box, angle=found.eye_line_angle())
                            if self.level_eyes and not box.angle else box)
        return kept
