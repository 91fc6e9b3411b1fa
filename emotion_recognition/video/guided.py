"""Tracking-guided face detection for consecutive video (and webcam) frames: search the
whole frame now and then, and in between only near the faces found in the frame before.

Searching a whole 640x480 frame is most of a video job's cost. A face moves little in
1/5 s, so between full searches each known face is looked for in a small window around
where it was, shrunk so the face is about twice the cascade's window: a few percent of a
full search. Any face not found again, and every ``full_every``-th frame, gets a full
search, so faces that appear are found within ``full_every`` frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from emotion_recognition.core.crops import clip_box
from emotion_recognition.core.types import Box

FACE_SIDE_IN_WINDOW = 48  # pixels a known face is shrunk to when looked for again
MARGIN = 0.6              # the window reaches this many face sides beyond the last box
# A face re-found in the shrunken window whose box overlaps the last one at least this much
# (intersection over union) has not moved: it keeps the last box. The re-found box alone
# wanders by up to 10 % of the face's width on a still face (the window's coarse scale),
# which moved the crop, and with it the label, from frame to frame; a face that moves
# further gets its new box.
STILL_IOU = 0.8


class TrackingDetector:
    """Detect faces in the frames of one video, in order."""

    def __init__(self, detector, full_every: int = 5):
        self.detector = detector  # any of core/detection's detectors, or a DetectorPool
        self.full_every = max(1, full_every)
        self.full_searches = 0
        self._previous: list[Box] = []
        self._since_full = 0

    def detect(self, grey: np.ndarray) -> list[Box]:
        """Boxes of the faces in this frame (grey uint8), in its pixel coordinates."""
        if self._previous and self._since_full < self.full_every - 1:
            found = [self._near(grey, box) for box in self._previous]
            if all(found):
                self._since_full += 1
                self._previous = found
                return found
        self._previous = self.detector.detect(grey)
        self._since_full = 0
        self.full_searches += 1
        return self._previous

    def _near(self, grey: np.ndarray, box: Box) -> Box | None:
        height, width = grey.shape[:2]
        side = max(box.w, box.h)
        reach = int(side * MARGIN)
        window = clip_box(Box(box.x - reach, box.y - reach, box.w + 2 * reach, box.h + 2 * reach),
                          width, height)
        if window.w < side or window.h < side:
            return None
        crop = grey[window.y:window.y + window.h, window.x:window.x + window.w]
        scale = min(1.0, FACE_SIDE_IN_WINDOW / side)
        if scale < 1.0:
            size = (max(1, round(window.w * scale)), max(1, round(window.h * scale)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        # back in the frame's pixels, each box as the detector gave it (its angle: the
        # eye line BlazeFace levelled, as on a full search)
        candidates = [b.scaled(1 / scale).moved(window.x, window.y)
                      for b in self.detector.detect(crop)]
        if not candidates:
            return None
        best = max(candidates, key=box.overlap)
        if best.overlap(box) >= STILL_IOU:
            return box  # still: the box (and eye-line angle) of the last full search
        return best if best.overlap(box) > 0 or len(candidates) == 1 else None
