"""BlazeFace, MediaPipe's face detector, read by our own code from its LiteRT (TensorFlow Lite)
files and run in ai-edge-litert's interpreter.

The model files (blazeface_models/ beside this module, Apache-2.0, see the README there)
give, for every SSD anchor of a fixed grid, a face score (a logit) and a box with six
keypoints relative to that anchor. Here: the anchor grid (MediaPipe's
SsdAnchorsCalculator, with fixed anchor sizes), the decoding of boxes and keypoints, the
weighted non-maximum suppression MediaPipe uses, and the mapping of any square region of an
image (the whole photo letterboxed, or the surroundings of one box) onto the model's input.

    >>> detections = BlazeFace("full").detect(grey)   # grey or RGB uint8
    >>> [(d.box, round(d.score, 2)) for d in detections]
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_recognition.core.litert import interpreter_class
from emotion_recognition.core.types import Box, box_iou

MODEL_DIR = Path(__file__).resolve().parent / "blazeface_models"
RAW_SCORE_LIMIT = 80.0  # logits are clipped before the sigmoid (MediaPipe: 100; float32 safe)
MIN_SCORE = 0.5  # MediaPipe's min_score_thresh for both models
SUPPRESSION_IOU = 0.3  # MediaPipe's min_suppression_threshold
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")
MAX_EYE_ANGLE = 45.0  # a steeper "eye line" is a face turned too far to level
# Threads per inference: as many as OpenCV's detector uses (one in a batch task), at most 2
# (benchmarks.speed on 2 cores: a check 0.99 -> 0.74 ms, the full-range model 3.0 -> 1.9 ms)
MAX_THREADS = 2


@dataclass(frozen=True)
class SsdOptions:
    """The anchor grid of one model (MediaPipe's face_detection_*_range_common.pbtxt):
    one feature map per stride; layers that share a stride share a grid, with
    ``anchors_per_layer`` anchors per cell for each of them."""

    input_size: int
    strides: tuple[int, ...]
    anchors_per_layer: int
    offset: float = 0.5


@dataclass(frozen=True)
class ModelSpec:
    file: str
    ssd: SsdOptions


MODELS = {
    # faces filling much of the picture (within about 2 m of a camera); 128x128 input
    "short": ModelSpec("face_detection_short_range.tflite", SsdOptions(128, (8, 16, 16, 16), 2)),
    # faces up to about 5 m away, so smaller ones too; 192x192 input
    "full": ModelSpec("face_detection_full_range.tflite", SsdOptions(192, (4,), 1)),
}


def ssd_anchors(options: SsdOptions) -> np.ndarray:
    """Anchor centres (N, 2) as (x, y) in [0, 1], in the order of the model's outputs."""
    centres = []
    layer = 0
    while layer < len(options.strides):
        stride = options.strides[layer]
        same = layer
        while same < len(options.strides) and options.strides[same] == stride:
            same += 1
        per_cell = options.anchors_per_layer * (same - layer)
        cells = options.input_size // stride
        grid = (np.arange(cells) + options.offset) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cell_centres, per_cell, axis=0))
        layer = same
    return np.concatenate(centres).astype(np.float32)


@dataclass(frozen=True)
class Decoded:
    """Every anchor's prediction in [0, 1] input coordinates: boxes (N, 4) as x0, y0, x1, y1,
    keypoints (N, 6, 2) as x, y, scores (N,) as probabilities."""

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
           input_size: int, min_score: float = 0.0) -> Decoded:
    """The model's raw outputs -> boxes, keypoints and scores (MediaPipe's
    TensorsToDetectionsCalculator with x/y/w/h scales equal to the input size and anchors
    of size 1): each offset is in input pixels from its anchor's centre. Only the anchors
    scoring at least ``min_score`` (most score nearly 0: a check decodes a handful)."""
    logits = np.clip(raw_scores.reshape(-1).astype(np.float32), -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = scores >= min_score
    anchors, scores = anchors[keep], scores[keep]
    values = raw_boxes.reshape(len(keep), -1)[keep].astype(np.float32) / input_size
    centre = values[:, 0:2] + anchors
    size = values[:, 2:4]
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    keypoints = values[:, 4:].reshape(len(anchors), len(KEYPOINTS), 2) + anchors[:, None, :]
    return Decoded(boxes, keypoints, scores)


def _corners_to_xywh(corners: np.ndarray) -> np.ndarray:
    """(N, 4) boxes as x0, y0, x1, y1 -> as x, y, w, h (types.box_iou's rows)."""
    return np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1)


def weighted_nms(decoded: Decoded, min_score: float = MIN_SCORE,
                 iou: float = SUPPRESSION_IOU) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: the best remaining anchor and every
    anchor overlapping it by more than ``iou`` merge into one detection, their boxes and
    keypoints averaged by score, with the best one's score. -> [(box, keypoints, score)]."""
    keep = (decoded.scores >= min_score) & np.all(decoded.boxes[:, 2:] > decoded.boxes[:, :2], 1)
    boxes, points, scores = decoded.boxes[keep], decoded.keypoints[keep], decoded.scores[keep]
    order = np.argsort(-scores, kind="stable")
    boxes, points, scores = boxes[order], points[order], scores[order]
    merged = []
    while len(scores):
        similar = box_iou(_corners_to_xywh(boxes[:1]), _corners_to_xywh(boxes))[0] > iou
        similar[0] = True
        weights = scores[similar][:, None]
        box = (boxes[similar] * weights).sum(0) / weights.sum()
        keypoints = (points[similar] * weights[:, :, None]).sum(0) / weights.sum()
        merged.append((box, keypoints, float(scores[0])))
        boxes, points, scores = boxes[~similar], points[~similar], scores[~similar]
    return merged


@dataclass(frozen=True)
class Region:
    """A square part of an image, (x, y) its top-left corner and ``side`` its width, in image
    pixels; it may reach beyond the image (that part is black in the model's input)."""

    x: float
    y: float
    side: float

    @classmethod
    def whole(cls, height: int, width: int) -> "Region":
        """The square that letterboxes the whole image (centred, black bands)."""
        side = max(height, width)
        return cls((width - side) / 2, (height - side) / 2, side)

    @classmethod
    def around(cls, box: Box, factor: float) -> "Region":
        """The square ``factor`` times the box's larger side, centred on the box."""
        side = max(box.w, box.h) * factor
        return cls(box.x + box.w / 2 - side / 2, box.y + box.h / 2 - side / 2, side)


def region_input(image: np.ndarray, region: Region, size: int) -> np.ndarray:
    """The model's (1, size, size, 3) float32 input in [-1, 1]: the region of a grey or RGB
    uint8 image resized to size x size. Only the part inside the image is read and resized
    (a region much larger than the image never costs more memory than the image)."""
    height, width = image.shape[:2]
    scale = size / region.side
    x0, y0 = max(int(np.floor(region.x)), 0), max(int(np.floor(region.y)), 0)
    x1 = min(int(np.ceil(region.x + region.side)), width)
    y1 = min(int(np.ceil(region.y + region.side)), height)
    canvas = np.zeros((size, size, 3), np.uint8)
    if x1 > x0 and y1 > y0:
        left, top, right, bottom = (min(max(round(value * scale), 0), size) for value in
                                    (x0 - region.x, y0 - region.y, x1 - region.x, y1 - region.y))
        if right > left and bottom > top:
            part = image[y0:y1, x0:x1]
            shrink = (right - left) < part.shape[1]
            part = cv2.resize(part, (right - left, bottom - top),
                              interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            canvas[top:bottom, left:right] = part[..., None] if part.ndim == 2 else part[..., :3]
    return (canvas.astype(np.float32) / 127.5 - 1.0)[None]


@dataclass(frozen=True)
class Detection:
    """One face: its box (BlazeFace's own framing: brows to chin, ear to ear) and keypoints
    (6 x (x, y): eyes, nose tip, mouth, ears) in image pixels, and its score (0..1)."""

    box: Box
    keypoints: np.ndarray
    score: float

    def keypoint(self, name: str) -> tuple[float, float]:
        x, y = self.keypoints[KEYPOINTS.index(name)]
        return float(x), float(y)

    def eye_line_angle(self) -> float:
        """The tilt of the line through the eyes in degrees (positive: the eye on the image's
        right sits lower), i.e. the Box.angle that levels them; 0
        when the eyes are not side by side (a face turned more than MAX_EYE_ANGLE)."""
        (x0, y0), (x1, y1) = self.keypoint("right_eye"), self.keypoint("left_eye")
        angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
        return round(angle, 1) if abs(angle) <= MAX_EYE_ANGLE else 0.0


class BlazeFace:
    """One BlazeFace model ("short" or "full"), loaded on first use. Thread-safe: a lock
    guards its interpreter (one inference takes a few ms)."""

    def __init__(self, model: str = "full", threads: int | None = None):
        if model not in MODELS:
            raise ValueError(f"BlazeFace model must be one of {sorted(MODELS)}, not {model!r}")
        self.spec = MODELS[model]
        self.input_size = self.spec.ssd.input_size
        self.anchors = ssd_anchors(self.spec.ssd)
        self._threads = threads
        self._interpreter = None
        self._lock = threading.Lock()

    def _load(self):
        path = MODEL_DIR / self.spec.file
        if not path.is_file():
            raise RuntimeError(f"BlazeFace model file {path} is missing")
        threads = self._threads or max(1, min(cv2.getNumThreads(), MAX_THREADS))
        interpreter = interpreter_class()(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
        outputs = {int(d["shape"][-1]): d["index"] for d in interpreter.get_output_details()}
        self._input = interpreter.get_input_details()[0]["index"]
        self._boxes, self._scores = outputs[16], outputs[1]
        return interpreter

    def raw(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's outputs (boxes (N, 16), score logits (N, 1)) for one input tensor."""
        with self._lock:
            if self._interpreter is None:
                self._interpreter = self._load()
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            return (self._interpreter.get_tensor(self._boxes)[0].copy(),
                    self._interpreter.get_tensor(self._scores)[0].copy())

    def detect(self, image: np.ndarray, region: Region | None = None,
               min_score: float = MIN_SCORE) -> list[Detection]:
        """Faces in ``region`` of a grey or RGB uint8 image (default: all of it,
        letterboxed), best first, in the image's pixel coordinates."""
        if image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
            return []
        region = region or Region.whole(*image.shape[:2])
        raw_boxes, raw_scores = self.raw(region_input(image, region, self.input_size))
        decoded = decode(raw_boxes, raw_scores, self.anchors, self.input_size, min_score)
        found = []
        for box, keypoints, score in weighted_nms(decoded, min_score):
            x0, y0, x1, y1 = box * region.side + (region.x, region.y, region.x, region.y)
            points = keypoints * region.side + (region.x, region.y)
            found.append(Detection(Box(int(round(x0)), int(round(y0)), int(round(x1 - x0)),
                                       int(round(y1 - y0))), points, score))
        return found
