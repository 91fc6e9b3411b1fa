"""A second opinion on each face Haar proposes: BlazeFace on the box's surroundings.

Haar's cascades see "faces" in folds of cloth and textures (a 127-pixel one on the
astronaut's suit, a 76-pixel one on Grace Hopper's uniform in a 12 MP enlargement). BlazeFace
(blazeface.py) is a neural detector trained on real faces. Its short-range model, run on the
square twice the proposal's size centred on it, scores the example photos' faces 0.85-0.94,
FER2013 Training faces pasted into 12 MP photos 0.75-0.95, and Haar's false faces there at
most 0.59 (the suit and uniform phantoms 0.0-0.38); but an enlarged microscope cell gets 0.76
and a cat 0.65. So a proposal scoring SURE or more is a face; one scoring MIN_SCORE to SURE
gets a third opinion, the full-range model on wider surroundings, which gives real faces
0.79-0.96 and Training faces mostly over 0.5 (the cell 0.29, the cat nothing). One check costs
about 1.5 ms on one core (a 128x128 input), whatever the photo's size; a third opinion 4 ms.

Faces seen only on turned copies of a photo (alignment.find_faces: nothing was found
upright) need both models (``strict``): the copies give false faces more chances (the cell,
turned, scored 0.85 short-range but 0.18 full-range), and that path is slow anyway.
"""

from __future__ import annotations

import numpy as np

from emotion_recognition.blazeface import BlazeFace, Region
from emotion_recognition.preprocessing import Box

SURROUNDINGS = 2.0  # the square the short-range model looks at, in proposal sides
SURE = 0.8  # a short-range score that confirms a face on its own
MIN_SCORE = 0.65  # below it, not a face
WIDER = 2.5  # the square the full-range model looks at, for a score between the two
FULL_MIN_SCORE = 0.4  # what it must give such a face
SIZE_RANGE = (0.4, 2.5)  # BlazeFace's face may be this many times the proposal's width


class FaceVerifier:
    """Keeps a proposed face box when BlazeFace finds a face centred inside it, of about its
    size, sure enough (see above). Thread-safe."""

    def __init__(self, short: BlazeFace | None = None, full: BlazeFace | None = None,
                 strict: bool = False):
        self.short = short or BlazeFace("short")
        self.full = full or BlazeFace("full")
        self.strict = strict  # the full-range model must always agree

    def strictly(self) -> "FaceVerifier":
        """The same models, both always asked."""
        return FaceVerifier(self.short, self.full, strict=True)

    def score(self, image: np.ndarray, box: Box, model: BlazeFace | None = None,
              surroundings: float = SURROUNDINGS) -> float:
        """A model's best score for a face matching ``box`` (0 when none); the short-range
        model's by default."""
        region = Region.around(box, surroundings)
        best = 0.0
        for found in (model or self.short).detect(image, region, min_score=0.3):
            centre_x, centre_y = found.box.x + found.box.w / 2, found.box.y + found.box.h / 2
            inside = box.x <= centre_x <= box.x + box.w and box.y <= centre_y <= box.y + box.h
            ratio = found.box.w / max(box.w, 1)
            if inside and SIZE_RANGE[0] <= ratio <= SIZE_RANGE[1]:
                best = max(best, found.score)
        return best

    def confirms(self, image: np.ndarray, box: Box) -> bool:
        short = self.score(image, box)
        if short < MIN_SCORE or (short >= SURE and not self.strict):
            return short >= MIN_SCORE
        return self.score(image, box, self.full, WIDER) >= FULL_MIN_SCORE

    def __call__(self, image: np.ndarray, boxes: list[Box]) -> list[Box]:
        """The boxes BlazeFace confirms, in their order."""
        return [box for box in boxes if self.confirms(image, box)]
