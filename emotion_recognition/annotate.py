"""Draw a box and an "happy 92%" label on every face, readable at any image size."""

from __future__ import annotations

import cv2
import numpy as np

# One fixed colour (RGB) per emotion, so a colour means the same thing in every picture.
EMOTION_COLOURS = {
    "angry": (230, 57, 70),
    "disgust": (106, 153, 78),
    "fear": (155, 93, 229),
    "happy": (255, 183, 3),
    "sad": (33, 158, 188),
    "surprise": (251, 133, 0),
    "neutral": (173, 181, 189),
}
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def label_text(label: str, confidence: float, face_id: int | None = None) -> str:
    text = f"{label} {confidence:.0%}"
    return f"#{face_id} {text}" if face_id is not None else text


def _text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = background
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def draw(rgb: np.ndarray, faces) -> np.ndarray:
    """A copy of the RGB image with each face's box and label drawn on it."""
    canvas = np.ascontiguousarray(rgb.copy())
    height, width = canvas.shape[:2]
    unit = max(1.0, min(height, width) / 400)  # line width and text grow with the image
    thickness = max(1, int(round(2 * unit)))
    for face in faces:
        colour = EMOTION_COLOURS.get(face.label, (255, 255, 255))
        box = face.box
        cv2.rectangle(canvas, (box.x, box.y), (box.x + box.w, box.y + box.h), colour, thickness)
        text = label_text(face.label, face.confidence, getattr(face, "face_id", None))
        _draw_label(canvas, text, box, colour, unit)
    return canvas


def _draw_label(canvas: np.ndarray, text: str, box, colour, unit: float) -> None:
    height, width = canvas.shape[:2]
    scale = max(0.5, 0.6 * unit, box.w / 220)
    weight = max(1, int(round(scale * 1.6)))
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, scale, weight)
    pad = max(2, int(round(3 * unit)))
    x = min(max(box.x, 0), max(width - text_w - 2 * pad, 0))
    top = box.y - text_h - baseline - 2 * pad
    if top < 0:  # no room above the box: put the label just inside its top edge
        top = max(box.y, 0)
    bottom = min(top + text_h + baseline + 2 * pad, height)
    cv2.rectangle(canvas, (x, top), (x + text_w + 2 * pad, bottom), colour, cv2.FILLED)
    cv2.putText(canvas, text, (x + pad, bottom - baseline - pad), _FONT, scale,
                _text_colour(colour), weight, cv2.LINE_AA)
