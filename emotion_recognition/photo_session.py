"""A browser session's last photo, kept decoded in memory (in that session's state only).

Uploads are read once and then deleted (emotion_recognition.storage). Pressing Analyse
again, switching the emotion set or asking for heat maps must still answer, at once: so
the session keeps the decoded pixels of its last photo and its last analysis, and the app
hands it back with each request. A new upload (a file that is there again) is read anew.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from emotion_recognition.detectors import DEFAULT_DETECTOR
from emotion_recognition.labels import DEFAULT_EMOTION_SET
from emotion_recognition.pipeline import Analysis, EmotionRecognizer
from emotion_recognition.preprocessing import decode_image_within

Reader = Callable[[str], AbstractContextManager]  # e.g. FileStore.claim: path -> readable path


@dataclass
class KeptPhoto:
    """The session's photo: where the browser says it is, its pixels, its last analysis."""

    source: str
    rgb: np.ndarray
    scale: float = 1.0  # original pixels per kept pixel (very large photos are kept smaller)
    analysis: Analysis | None = field(default=None, repr=False)


def analyse_photo(recognizer: EmotionRecognizer, source: str, kept: KeptPhoto | None,
                  read: Reader, emotion_set: str = DEFAULT_EMOTION_SET,
                  explain: bool = False, detector: str = DEFAULT_DETECTOR) -> KeptPhoto:
    """Analyse the photo at ``source`` (read through ``read`` when it is new, else from the
    kept pixels) and return what the session keeps, its analysis included."""
    if kept is None or kept.source != source or Path(source).is_file():
        with read(source) as path:
            rgb, scale = decode_image_within(path)
        kept = KeptPhoto(source, rgb, scale)
    kept.analysis = recognizer.analyze_decoded(kept.rgb, emotion_set, explain, kept.scale,
                                               detector)
    return kept


def face_at(kept: KeptPhoto | None, x: float, y: float, shown_width: int) -> int | None:
    """The index of the face under a click at (x, y) in an image shown ``shown_width``
    pixels wide (the smallest such face), or None."""
    if kept is None or kept.analysis is None or shown_width <= 0:
        return None
    factor = kept.rgb.shape[1] / shown_width
    x, y = x * factor, y * factor
    hits = [(f.box.w * f.box.h, i) for i, f in enumerate(kept.analysis.faces)
            if f.box.x <= x <= f.box.x + f.box.w and f.box.y <= y <= f.box.y + f.box.h]
    return min(hits)[1] if hits else None
