"""What the flow passes along: a Box (where a face is), a Face (what it shows), an
Explanation (why), an Analysis (one image's result) and a FaceRecord (a face at one moment
of a video or a live session).

Faces are numbered for people from 1: in a photo by their place in ``Analysis.faces`` (in
reading order: ``reading_order``), in a video or live session by the number they keep
across frames (``Face.face_id``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np


@dataclass(frozen=True)
class Box:
    """A box in pixels: top-left corner (x, y), width w, height h; ``angle`` is the turn
    (degrees, counter-clockwise as OpenCV counts) about the box centre that makes the face
    inside upright (0 for an upright face; see detection/policy.py)."""

    x: int
    y: int
    w: int
    h: int
    angle: float = 0.0

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    def scaled(self, factor: float) -> "Box":
        """The box in pixels ``factor`` times as large (its angle and anything else kept)."""
        x, y, w, h = (int(round(v * factor)) for v in self.as_list())
        return replace(self, x=x, y=y, w=w, h=h)

    def moved(self, dx: int, dy: int) -> "Box":
        """The box shifted by (dx, dy) pixels (its angle and anything else kept)."""
        return replace(self, x=self.x + dx, y=self.y + dy)

    def overlap(self, other: "Box") -> float:
        """Intersection over union (0 when apart, 1 when equal)."""
        return float(box_iou([self.as_list()], [other.as_list()])[0, 0])

    def shared_area(self, other: "Box") -> float:
        """Pixels this box shares with ``other``."""
        return float(overlap_areas([self.as_list()], [other.as_list()])[0, 0])

    def share_inside(self, other: "Box") -> float:
        """The share of this box's area that lies inside ``other``."""
        area = self.w * self.h
        return self.shared_area(other) / area if area else 0.0

    def apart_from(self, other: "Box", iou: float = 0.3, inside: float = 0.6) -> bool:
        """Not the same face as ``other``: overlapping at most ``iou``, and neither lying
        mostly (``inside``) within the other (an eye or a mouth found as a face)."""
        return (self.overlap(other) <= iou and self.share_inside(other) <= inside
                and other.share_inside(self) <= inside)


def overlap_areas(boxes, others) -> np.ndarray:
    """(K, M) areas shared by each of K boxes and each of M others, every box a row
    x, y, w, h (Box.as_list): the one place box overlap is computed (Box.overlap,
    BlazeFace's suppression and label placement all use it)."""
    a = np.asarray(boxes, np.float64).reshape(-1, 4)[:, None, :]
    b = np.asarray(others, np.float64).reshape(-1, 4)[None, :, :]
    w = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    h = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def box_iou(boxes, others) -> np.ndarray:
    """(K, M) intersection over union of K boxes and M others (rows x, y, w, h); 0 where
    both are empty."""
    a, b = np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(others, np.float64).reshape(-1, 4)
    inter = overlap_areas(a, b)
    union = (np.clip(a[:, 2], 0, None) * np.clip(a[:, 3], 0, None))[:, None] + (
        np.clip(b[:, 2], 0, None) * np.clip(b[:, 3], 0, None))[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


ROW_SHARE = 0.5  # faces whose centres lie within half a face height of a row's are in it


def reading_order(boxes: list[Box], row_share: float = ROW_SHARE) -> list[Box]:
    """Faces as people number them: row by row from the top, left to right in a row. A face
    joins a row when its vertical centre lies within ``row_share`` of a face height (the
    mean of its own and the row's) of the row's mean centre, so faces a little higher or
    lower than their neighbours (a tilted head, a child) stay in their row. Every detection
    path (Haar, BlazeFace, turned copies, the full searches of videos and live sessions)
    returns its faces in this order."""
    rows: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: (b.y + b.h / 2, b.x)):
        if rows:
            row = rows[-1]
            centre = sum(b.y + b.h / 2 for b in row) / len(row)
            height = (sum(b.h for b in row) / len(row) + box.h) / 2
            if abs(box.y + box.h / 2 - centre) <= row_share * height:
                row.append(box)
                continue
        rows.append([box])
    return [box for row in rows for box in sorted(row, key=lambda b: (b.x + b.w / 2, b.y))]


@dataclass(frozen=True)
class Face:
    """One detected face: where it is, the winning emotion and every emotion's probability;
    in videos and live sessions also the number it keeps across frames (probabilities
    smoothed)."""

    box: Box
    label: str
    confidence: float
    probabilities: dict[str, float]
    face_id: int | None = None

    def to_dict(self, number: int | None = None) -> dict:
        """The face as JSON (rows.py flattens it into a row): its number for people (the
        kept one of a tracked face, else ``number``), box, label, confidence, probabilities."""
        return {"face": self.face_id if self.face_id is not None else number,
                "box": self.box.as_list(), "label": self.label,
                "confidence": round(self.confidence, 4),
                "probabilities": {name: round(p, 4) for name, p in self.probabilities.items()}}


@dataclass(frozen=True)
class Explanation:
    """How much hiding each region lowers the chosen emotion's probability, over the face
    frame the model saw (``frame``, in image pixels, turned upright by its angle about its
    centre as the model's crop was). ``heat`` is (48, 48), 0..1, over that upright crop
    (explain.heat_on_frame lays it back onto the photo)."""

    label: str
    frame: Box
    heat: np.ndarray

    def to_dict(self, cells: int = 12) -> dict:
        """For the API: the frame as [x, y, w, h, angle] (the angle, in degrees
        counter-clockwise, turns the frame about its centre into the upright crop the grid
        covers) and the heat map averaged over a cells x cells grid of that crop."""
        grid = cv2.resize(self.heat, (cells, cells), interpolation=cv2.INTER_AREA)
        return {"frame": [*self.frame.as_list(), round(float(self.frame.angle), 1)],
                "heatmap": np.round(grid, 3).tolist()}


@dataclass(frozen=True)
class Analysis:
    """The result for one image: the decoded RGB image, its faces and a note for the user."""

    image: np.ndarray
    faces: list[Face] = field(default_factory=list)
    message: str = ""
    scale: float = 1.0  # original photo pixels per pixel of ``image`` (> 1: decoded smaller)
    explanations: list[Explanation] = field(default_factory=list)  # one per face, if asked

    def original_faces(self) -> list[Face]:
        """The faces with their boxes in the original photo's pixels (what every front end
        reports, also for a photo decoded at reduced size)."""
        if self.scale == 1:
            return list(self.faces)
        return [replace(face, box=face.box.scaled(self.scale)) for face in self.faces]

    def face_dicts(self) -> list[dict]:
        """The faces as JSON (``Face.to_dict``), numbered from 1, boxes in the original
        photo's pixels; with an ``explanation`` (frame and heat-map grid) each when they
        were explained."""
        dicts = [face.to_dict(number) for number, face in enumerate(self.original_faces(), 1)]
        for as_dict, explanation in zip(dicts, self.explanations):
            as_dict["explanation"] = replace(
                explanation, frame=explanation.frame.scaled(self.scale)).to_dict()
        return dicts


@dataclass(frozen=True)
class FaceRecord:
    """One face in one analysed frame of a video, or one webcam frame of a live session."""

    time: float
    frame: int
    face: Face
