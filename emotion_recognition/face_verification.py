"""A second opinion on each face Haar proposes: BlazeFace on the box's surroundings.

Haar's cascades see "faces" in folds of cloth and textures (a 127-pixel one on the
astronaut's suit, a 76-pixel one on Grace Hopper's uniform in a 12 MP enlargement). BlazeFace
(blazeface.py) is a neural detector trained on real faces. Run on the square twice the
proposal's size, centred on it, its short-range model scores real faces 0.75-0.95 and Haar's
false faces at most 0.59 (Training faces pasted into 12 MP photos, and the phantoms above at
0.0-0.38), so a proposal is kept when BlazeFace finds a face there of about its size with a
score of at least MIN_SCORE. One check costs about 1.5 ms on one core (a 128x128 input),
whatever the photo's size.
"""

from __future__ import annotations

import numpy as np

from emotion_recognition.blazeface import BlazeFace, Region
from emotion_recognition.preprocessing import Box

SURROUNDINGS = 2.0  # the square BlazeFace looks at, in proposal sides
MIN_SCORE = 0.65  # between the false faces' 0.59 and the real faces' 0.75 (see above)
SIZE_RANGE = (0.4, 2.5)  # BlazeFace's face may be this many times the proposal's width


class FaceVerifier:
    """Keeps a proposed face box when BlazeFace (short range) finds a face centred inside
    it, of about its size, with a score of at least ``min_score``. Thread-safe."""

    def __init__(self, model: BlazeFace | None = None, surroundings: float = SURROUNDINGS,
                 min_score: float = MIN_SCORE):
        self.model = model or BlazeFace("short")
        self.surroundings, self.min_score = surroundings, min_score

    def score(self, image: np.ndarray, box: Box) -> float:
        """BlazeFace's best score for a face matching ``box`` (0 when none)."""
        region = Region.around(box, self.surroundings)
        best = 0.0
        for found in self.model.detect(image, region, min_score=min(self.min_score, 0.3)):
            centre_x, centre_y = found.box.x + found.box.w / 2, found.box.y + found.box.h / 2
            inside = box.x <= centre_x <= box.x + box.w and box.y <= centre_y <= box.y + box.h
            ratio = found.box.w / max(box.w, 1)
            if inside and SIZE_RANGE[0] <= ratio <= SIZE_RANGE[1]:
                best = max(best, found.score)
        return best

    def confirms(self, image: np.ndarray, box: Box) -> bool:
        return self.score(image, box) >= self.min_score

    def __call__(self, image: np.ndarray, boxes: list[Box]) -> list[Box]:
        """The boxes BlazeFace confirms, in their order."""
        return [box for box in boxes if self.confirms(image, box)]
