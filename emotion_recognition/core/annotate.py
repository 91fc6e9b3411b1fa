"""Draw a box and an "happy 92%" label on every face, readable at any image size.

Sizes follow the image's longer side, because that is what a screen shrinks to fit: a
label is about 3 % of it, so it stays legible when a 12 MP photo fills a phone. Labels keep
out of the top band of the picture, where viewers lay their own buttons and captions.
"""

from __future__ import annotations

import cv2
import numpy as np

from emotion_recognition.core.limits import LIMITS
from emotion_recognition.core.types import Box

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
TOP_BAND = 0.12  # share of the height kept free of labels (a viewer's overlay sits there)


def colour_hex(label: str) -> str:
    """The emotion's colour as #rrggbb, for plots and tables."""
    return "#{:02x}{:02x}{:02x}".format(*EMOTION_COLOURS.get(label, (128, 128, 128)))


def label_text(label: str, confidence: float, face_id: int | None = None) -> str:
    text = f"{label} {confidence:.0%}"
    return f"#{face_id} {text}" if face_id is not None else text


def _text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = background
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def _unit(height: int, width: int) -> float:
    return max(1.0, max(height, width) / 640)


def label_box(shape: tuple[int, ...], box: Box, text: str) -> tuple[Box, float, int]:
    """Where a face's label goes (above its box; below it when the box is near the top;
    inside it when there is no room below either), with the font scale and weight."""
    height, width = shape[:2]
    scale = max(0.5, 0.9 * _unit(height, width))
    weight = max(1, int(round(scale * 1.8)))
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, scale, weight)
    pad = max(2, int(round(3 * scale)))
    tag_w, tag_h = text_w + 2 * pad, text_h + baseline + 2 * pad
    x = min(max(box.x, 0), max(width - tag_w, 0))
    top = box.y - tag_h
    if top < TOP_BAND * height:
        top = box.y + box.h if box.y + box.h + tag_h <= height else max(box.y, 0)
    return Box(x, max(top, 0), tag_w, min(tag_h, height)), scale, weight


def draw(rgb: np.ndarray, faces) -> np.ndarray:
    """A copy of the RGB image with each face's box and label drawn on it."""
    canvas = np.ascontiguousarray(rgb.copy())
    thickness = max(1, int(round(2 * _unit(*canvas.shape[:2]))))
    for face in faces:
        colour = EMOTION_COLOURS.get(face.label, (255, 255, 255))
        box = face.box
        cv2.rectangle(canvas, (box.x, box.y), (box.x + box.w, box.y + box.h), colour, thickness)
        text = label_text(face.label, face.confidence, face.face_id)
        tag, scale, weight = label_box(canvas.shape, box, text)
        cv2.rectangle(canvas, (tag.x, tag.y), (tag.x + tag.w, tag.y + tag.h), colour, cv2.FILLED)
        pad = max(2, int(round(3 * scale)))
        baseline = cv2.getTextSize(text, _FONT, scale, weight)[1]
        cv2.putText(canvas, text, (tag.x + pad, tag.y + tag.h - baseline - pad), _FONT, scale,
                    _text_colour(colour), weight, cv2.LINE_AA)
    return canvas


def display_size(height: int, width: int, max_side: int = LIMITS.display_side) -> tuple[int, int]:
    """(width, height) of an image as sent to a browser: at most ``max_side`` a side
    (a 1x100000 strip cannot be a JPEG, and no screen shows more), never below 1 pixel."""
    factor = min(1.0, max_side / max(height, width, 1))
    return max(1, round(width * factor)), max(1, round(height * factor))


def for_display(rgb: np.ndarray, max_side: int = LIMITS.display_side) -> np.ndarray:
    """The image at its display_size."""
    size = display_size(*rgb.shape[:2], max_side)
    if size == (rgb.shape[1], rgb.shape[0]):
        return rgb
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def jpeg_bytes(rgb: np.ndarray, quality: int = 85) -> bytes:
    """An RGB image as JPEG bytes (OpenCV's encoder: a few milliseconds for a webcam frame)."""
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]),
                            [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot encode a {rgb.shape[1]}x{rgb.shape[0]} image as JPEG")
    return data.tobytes()
