"""A second opinion on each face Haar proposes: BlazeFace on the box's surroundings.

Haar's cascades see "faces" in folds of cloth and textures (a 127-pixel one on the
astronaut's suit, a 76-pixel one on Grace Hopper's uniform in a 12 MP enlargement). BlazeFace
(blazeface.py) is a neural detector trained on real faces. Its short-range model, run on the
square twice the proposal's size centred on it, scores the example photos' faces 0.85-0.94,
FER2013 Training faces pasted into 12 MP photos 0.75-0.95, and Haar's false faces there at
most 0.59 (the suit and uniform phantoms 0.0-0.38); but an enlarged microscope cell gets 0.76
and a cat 0.65, while hard PublicTest faces (eyes closed, a hand on the face) get 0.79-0.80.
So a proposal scoring SURE or more is a face; one scoring MIN_SCORE to SURE gets a third
opinion, the full-range model on wider surroundings, which gives real faces
0.79-0.96 and Training faces mostly over 0.5 (the cell 0.29, the cat nothing). One check costs
about 1.5 ms on one core (a 128x128 input), whatever the photo's size; a third opinion 4 ms.

Faces seen only on turned copies of a photo (policy.find_faces: nothing was found
upright) need both models (``strict``): the copies give false faces more chances (the cell,
turned, scored 0.85 short-range but 0.18 full-range), and that path is slow anyway.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from emotion_recognition.core.detection.blazeface import BlazeFace, Detection, Region
from emotion_recognition.core.types import Box

SURROUNDINGS = 2.0  # the square the short-range model looks at, in proposal sides
SURE = 0.78  # a short-range score that confirms a face on its own (above the cell's 0.76)
MIN_SCORE = 0.65  # below it, not a face
WIDER = 2.5  # the square the full-range model looks at, for a score between the two
FULL_MIN_SCORE = 0.4  # what it must give such a face
# BlazeFace's face may be this many times the proposal's width: a proposal much larger than
# the face (BlazeFace's face under 0.6 of it) is refused, so the well-sized one is kept
SIZE_RANGE = (0.6, 2.5)
# Turn each crop by the eye line BlazeFace found (free: its keypoints come with the check).
# benchmarks.rotation, 100 PublicTest faces per angle: 1.7 points more labelled right on
# average over -30..30 degrees, 2-5 points at 20-30, within a point at 0-10.
LEVEL_EYES = True


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
        if short < MIN_SCORE or (short >= SURE and not self.strict):
            return found if short >= MIN_SCORE else None
        return found if self.score(image, box, self.full, WIDER) >= FULL_MIN_SCORE else None

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
