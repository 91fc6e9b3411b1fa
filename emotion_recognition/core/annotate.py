"""Draw a box and a "#1 happy 92%" label on every face, readable at any image size, never
over a face, each next to its own.

Sizes follow the image's longer side, because that is what a screen shrinks to fit: a
label is about 3 % of it, so it stays legible when a 12 MP photo fills a phone; and they
follow the face: a label at most WIDEST times as wide as its face, shrunk down to a legible
minimum, else cut to the face's number ("#3": its emotion is in its colour, the picker and
the table). label_layout places the labels one face after another: above the box, below it
or beside it, slid sideways or a row further out (with a thin line to its box), clear of
every face, of the labels already placed, of other faces' labels' places, and of the
picture's top band, where viewers lay their own buttons and captions; over a face only when
the picture has no other room (a face filling it). What a click on a label picks comes from
the same layout (face_tags).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from emotion_recognition.core.limits import LIMITS
from emotion_recognition.core.types import Box, overlap_areas

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
SHRINKS = (1.0, 0.85, 0.72, 0.6)  # a crowded label's sizes: 0.6 of the usual is still legible
ROWS_OUT = 1  # how many label rows beyond the box a crowded label may move
WIDEST = 1.5  # a label's width, in widths of its face, before it is cut to the face's number
# What each way of placing a label costs (in label heights of distance, roughly): the
# cheapest place that covers no face and no other label wins.
COST_SHRUNK = 5.0      # x (1 - size): the smallest size costs 2
COST_ROW_OUT = 2.5     # a row further from the box
COST_SHORT = 2.5       # only the face's number ("#3"): its emotion is in its colour and table
COST_TOP_BAND = 1.0
COST_BESIDE = 0.5      # left or right of the box rather than above or below it
COST_SLID = 2.0        # x the gap between a tag slid sideways and its face
COST_INSIDE = 3.0      # x the share of its own face covered (the top inside; the bottom: +1)
COST_TAKES_SLOT = 1.5  # x the share taken of the place another face's tag goes first
COST_OVERLAP = 1000.0  # x (1 + the share of a placed tag covered): only when nothing else fits
COST_COVERS_FACE = 1e4  # x (1 + the shares of faces covered): only when the picture has no room


@dataclass(frozen=True)
class Tag:
    """A face's label as drawn: its filled box (image pixels), its text and font."""

    box: Box
    text: str
    scale: float
    weight: int
    pad: int

    def contains(self, x: float, y: float) -> bool:
        b = self.box
        return b.x <= x <= b.x + b.w and b.y <= y <= b.y + b.h


def colour_hex(label: str) -> str:
    """The emotion's colour as #rrggbb, for plots and tables."""
    return "#{:02x}{:02x}{:02x}".format(*EMOTION_COLOURS.get(label, (128, 128, 128)))


def label_text(label: str, confidence: float, face_id: int | None = None) -> str:
    text = f"{label} {confidence:.0%}"
    return f"#{face_id} {text}" if face_id is not None else text


def face_number(face, index: int) -> int:
    """The number people know a face by: a tracked face's id, else its place (from 1), the
    number of the picker, the table and the JSON."""
    return face.face_id if face.face_id is not None else index + 1


def _text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = background
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def _unit(height: int, width: int) -> float:
    return max(1.0, max(height, width) / 640)


def _font(shape: tuple[int, ...], text: str, shrink: float) -> tuple[float, int, int, int, int]:
    """(scale, weight, pad, tag width, tag height) of ``text`` at ``shrink`` of the usual."""
    scale = max(0.5, 0.9 * _unit(*shape[:2])) * shrink
    weight = max(1, int(round(scale * 1.8)))
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, scale, weight)
    pad = max(2, int(round(3 * scale)))
    return scale, weight, pad, text_w + 2 * pad, text_h + baseline + 2 * pad


def _places(shape: tuple[int, ...], box: Box, tag_w: int, tag_h: int):
    """Where a tag may go: (box, rows from the box, beside, inside cost weight), above or
    below the box (aligned with it, then slid sideways), beside it, a row further out, and
    inside it (the last resort), all within the image."""
    height, width = shape[:2]
    tag_w, tag_h = min(tag_w, width), min(tag_h, height)
    lefts = [box.x, box.x + box.w - tag_w, box.x + (box.w - tag_w) // 2]
    lefts += [box.x + k * tag_w // 2 for k in (-1, 1)]
    lefts = list(dict.fromkeys(min(max(x, 0), width - tag_w) for x in lefts))
    tops = [(box.y - tag_h, 0, 0.0), (box.y + box.h, 0, 0.0), (box.y, 0, 1.0),
            (box.y + box.h - tag_h, 0, 1.0 + 1 / COST_INSIDE)]
    for row in range(1, ROWS_OUT + 1):
        tops += [(box.y - (row + 1) * tag_h, row, 0.0), (box.y + box.h + row * tag_h, row, 0.0)]
    for top, row, inside in tops:
        if 0 <= top and top + tag_h <= height:
            for left in lefts:
                yield Box(left, top, tag_w, tag_h), row, False, inside
    for left in (box.x - tag_w, box.x + box.w):
        for top in dict.fromkeys((box.y, box.y + (box.h - tag_h) // 2, box.y + box.h - tag_h)):
            if 0 <= left <= width - tag_w and 0 <= top <= height - tag_h:
                yield Box(left, top, tag_w, tag_h), 0, True, 0.0


def _slot(face: Box, tag_h: int, height: int) -> Box:
    """Where a face's own tag would go first: above it, below it near the top."""
    above = face.y - tag_h >= TOP_BAND * height
    return Box(face.x, face.y - tag_h if above else face.y + face.h, face.w, tag_h)


def _costs(places: list, face: Box, others: list[Box], placed: list[Tag],
           height: int) -> np.ndarray:
    """What each (tag box, row, beside, inside) place of one size costs (the COST_*
    weights)."""
    tags = np.array([[b.x, b.y, b.w, b.h] for b, _, _, _ in places], np.float64)
    rows = np.array([row for _, row, _, _ in places], np.float64)
    beside = np.array([side for _, _, side, _ in places], np.float64)
    inside = np.array([weight for _, _, _, weight in places], np.float64)
    x, y, w, h = tags.T
    faces = np.array([[b.x, b.y, b.w, b.h] for b in [face, *others]], np.float64)
    covered = overlap_areas(tags, faces) / np.maximum(faces[:, 2] * faces[:, 3], 1)
    cost = COST_ROW_OUT * rows + COST_BESIDE * beside + COST_TOP_BAND * (y < TOP_BAND * height)
    cost += COST_COVERS_FACE * ((covered.sum(axis=1) > 0) + covered.sum(axis=1))
    cost += COST_INSIDE * inside * covered[:, 0]
    gap = np.maximum(np.maximum(face.x - (x + w), x - (face.x + face.w)), 0)  # slid off
    cost += COST_SLID * gap * (1 - beside) / np.maximum(h, 1)
    if others:
        tag_h = int(h[0])  # one size: every place is as high
        slots = np.array([[b.x, b.y, b.w, b.h] for b in
                          (_slot(o, tag_h, height) for o in others)], np.float64)
        cost += COST_TAKES_SLOT * (overlap_areas(tags, slots)
                                   / np.maximum(slots[:, 2] * slots[:, 3], 1)).sum(axis=1)
    if placed:
        others_tags = np.array([[t.box.x, t.box.y, t.box.w, t.box.h] for t in placed], np.float64)
        share = overlap_areas(tags, others_tags) / np.maximum(w * h, 1)[:, None]
        cost += (COST_OVERLAP * (1 + share) * (share > 0)).sum(axis=1)
    return cost


def _reach(face: Box, tag_w: int, tag_h: int) -> Box:
    """Everything a tag of at most tag_w x tag_h placed for ``face`` may cover (_places)."""
    rows = ROWS_OUT + 1
    return Box(face.x - tag_w, face.y - rows * tag_h, face.w + 2 * tag_w,
               face.h + 2 * rows * tag_h)


def _cheapest(shape: tuple[int, ...], own: int, options: list[tuple[str, float]],
              boxes: list[Box], placed: list[Tag]) -> Tag | None:
    """The cheapest tag for face ``own`` among its (text, cost) options, sizes and places;
    a text wider than WIDEST faces only when it is the last option. Only the faces (with
    their tags' first places) and tags within its reach can add to a place's cost: the
    others are left out, so a crowded photo costs no more per face."""
    face, best = boxes[own], None
    largest = [_font(shape, text, SHRINKS[0])[3:] for text, _ in options]
    slot_h = max(h for _, h in largest)
    reach = _reach(face, max(w for w, _ in largest), slot_h)
    others = [other for i, other in enumerate(boxes) if i != own and reach.shared_area(
        Box(other.x, other.y - slot_h, other.w, other.h + 2 * slot_h))]
    near = [tag for tag in placed if reach.shared_area(tag.box)]
    for number, (text, extra) in enumerate(options):
        for shrink in SHRINKS:
            base = extra + COST_SHRUNK * (1 - shrink)
            if best is not None and base >= best[0]:
                break  # smaller sizes cost more than the place found
            scale, weight, pad, tag_w, tag_h = _font(shape, text, shrink)
            if tag_w > WIDEST * max(face.w, 1) and number < len(options) - 1:
                continue  # too wide for its face: smaller, or shorter
            places = list(_places(shape, face, tag_w, tag_h))
            if not places:
                continue
            costs = base + _costs(places, face, others, near, shape[0])
            index = int(np.argmin(costs))
            if best is None or costs[index] < best[0]:
                best = (float(costs[index]), Tag(places[index][0], text, scale, weight, pad))
    return None if best is None else best[1]


def label_layout(shape: tuple[int, ...], boxes: list[Box], texts: list[str],
                 shorts: list[str] | None = None) -> list[Tag]:
    """Each face's tag (in the order given): the cheapest text, place and size (see the
    COST_* weights; ``shorts``, e.g. "#3", when the whole text is too wide for its face or
    has no room), over no face and no tag placed before it while any place is free, all
    inside the image."""
    placed: list[Tag] = []
    for own, text in enumerate(texts):
        options = [(text, 0.0)] + ([(shorts[own], COST_SHORT)] if shorts else [])
        tag = _cheapest(shape, own, options, boxes, placed)
        if tag is None:  # an image smaller than any tag: the whole image
            scale, weight, pad, _, _ = _font(shape, options[-1][0], SHRINKS[-1])
            tag = Tag(Box(0, 0, shape[1], shape[0]), options[-1][0], scale, weight, pad)
        placed.append(tag)
    return placed


def face_tags(shape: tuple[int, ...], faces) -> list[Tag]:
    """The tags draw() puts on these faces in an image of this shape (a click's target)."""
    texts = [label_text(face.label, face.confidence, face_number(face, i))
             for i, face in enumerate(faces)]
    numbers = [f"#{face_number(face, i)}" for i, face in enumerate(faces)]
    return label_layout(shape, [face.box for face in faces], texts, numbers)


def label_box(shape: tuple[int, ...], box: Box, text: str) -> tuple[Box, float, int]:
    """Where one face's label goes alone in the image, with its font scale and weight."""
    tag = label_layout(shape, [box], [text])[0]
    return tag.box, tag.scale, tag.weight


def _leader(canvas: np.ndarray, tag: Box, box: Box, colour, thickness: int) -> None:
    """A thin line from a tag placed away from its face to the face's box (nearest points)."""
    if Box(tag.x - 1, tag.y - 1, tag.w + 2, tag.h + 2).shared_area(box):
        return

    def clamp(x: int, y: int, to: Box) -> tuple[int, int]:
        return min(max(x, to.x), to.x + to.w), min(max(y, to.y), to.y + to.h)
    start = clamp(box.x + box.w // 2, box.y + box.h // 2, tag)
    cv2.line(canvas, start, clamp(*start, box), colour, thickness, cv2.LINE_AA)


def draw(rgb: np.ndarray, faces) -> np.ndarray:
    """A copy of the RGB image with each face's box and "#n label p%" tag drawn on it (boxes,
    then the lines to tags placed away, then the tags: a line never crosses a tag)."""
    canvas = np.ascontiguousarray(rgb.copy())
    thickness = max(1, int(round(2 * _unit(*canvas.shape[:2]))))
    colours = [EMOTION_COLOURS.get(face.label, (255, 255, 255)) for face in faces]
    tags = face_tags(canvas.shape, faces)
    for face, colour in zip(faces, colours):
        box = face.box
        cv2.rectangle(canvas, (box.x, box.y), (box.x + box.w, box.y + box.h), colour, thickness)
    for face, tag, colour in zip(faces, tags, colours):
        _leader(canvas, tag.box, face.box, colour, max(1, thickness // 2))
    for tag, colour in zip(tags, colours):
        _draw_tag(canvas, tag, colour)
    return canvas


def _draw_tag(canvas: np.ndarray, tag: Tag, colour) -> None:
    box = tag.box
    cv2.rectangle(canvas, (box.x, box.y), (box.x + box.w - 1, box.y + box.h - 1), colour,
                  cv2.FILLED)
    baseline = cv2.getTextSize(tag.text, _FONT, tag.scale, tag.weight)[1]
    cv2.putText(canvas, tag.text, (box.x + tag.pad, box.y + box.h - baseline - tag.pad),
                _FONT, tag.scale, _text_colour(colour), tag.weight, cv2.LINE_AA)


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
