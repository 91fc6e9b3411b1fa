"""The work done inside Ray: detect faces (tasks), classify them (actors), analyze videos.

Each stage is a plain function or class over pyarrow tables, so it runs the same in a
test, on a local Ray and on a cluster. They call the core as every front end does
(decode_photo, find_faces, face_crops, EmotionClassifier, analyze_video) and give the one
face-row schema (core/rows.py); nothing here re-implements them.

Detection emits one row per image (its boxes, in the photo's own pixels, and its 48x48
crops packed in bytes), so the classifier's batches never split an image and each output
block holds whole images.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from emotion_recognition.batch.inputs import LocalCopy, read_bytes
from emotion_recognition.batch.model import (ModelBundle, classifier_for, recognizer_for,
                                             resolve)
from emotion_recognition.core.crops import FACE_SIZE
from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.labels import emotion_set as emotion_set_named
from emotion_recognition.core.limits import Limits
from emotion_recognition.core.pipeline import faces_of
from emotion_recognition.core.rows import input_row, photo_rows, row_columns
from emotion_recognition.core.types import Box

DETECTED = pa.schema([("source", pa.string()), ("error", pa.string()),
                      ("face_count", pa.int32()), ("boxes", pa.list_(pa.float64())),
                      ("crops", pa.binary())])
ARROW_TYPES = {"str": pa.string(), "int": pa.int32(), "float": pa.float64()}
BOX_FIELDS = 5  # x, y, w, h, angle


def result_schema(emotion_set: str) -> pa.Schema:
    """The face rows' columns (core/rows.py) as a pyarrow schema."""
    columns = row_columns(emotion_set_named(emotion_set).labels)
    return pa.schema([(name, ARROW_TYPES[kind]) for name, kind in columns.items()])


def rows_table(rows: list[dict], bundle: ModelBundle) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=result_schema(bundle.emotion_set))


def describe_error(error: Exception) -> str:
    """A user-facing message for why one input failed (the run goes on)."""
    if isinstance(error, EmotionAppError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def one_thread_per_task() -> None:
    """Ray runs one detection or video task per reserved CPU: OpenCV's own worker threads
    would only compete with the other tasks for the same cores."""
    import cv2

    cv2.setNumThreads(1)


@functools.lru_cache(maxsize=3)
def _detector(name: str = DEFAULT_DETECTOR):
    from emotion_recognition.core.detection.detectors import create_detector

    one_thread_per_task()
    return create_detector(name)


def detect_one(source: str, detector: str = DEFAULT_DETECTOR,
               limits: Limits | None = None) -> dict:
    """Read, decode and detect one image as EmotionRecognizer.analyze does (a very large
    photo decoded at reduced size, faces looked for by find_faces; within ``limits``,
    default Limits.local()) -> its boxes in the photo's own pixels and its face crops (or
    its error)."""
    from emotion_recognition.core.crops import face_crops, to_grey
    from emotion_recognition.core.decode import decode_photo
    from emotion_recognition.core.detection.policy import find_faces

    try:
        limits = limits or Limits.local()
        rgb, scale = decode_photo(read_bytes(source, limits.photo_bytes), limits=limits)
        grey = to_grey(rgb)
        boxes = find_faces(_detector(detector), grey)
        crops = face_crops(grey, boxes)
    except Exception as error:  # one bad file must not stop a 100,000-image run
        return {"source": source, "error": describe_error(error), "face_count": None,
                "boxes": [], "crops": b""}
    original = [box.scaled(scale) for box in boxes]
    return {"source": source, "error": None, "face_count": len(boxes),
            "boxes": [v for box in original for v in (*box.as_list(), box.angle)],
            "crops": crops.tobytes()}


def detect_faces(table: pa.Table, detector: str = DEFAULT_DETECTOR,
                 limits: Limits | None = None) -> pa.Table:
    """Stage 1 (Ray tasks): rows of {source, error} -> one detection row per image."""
    rows = []
    for source, error in zip(table["source"].to_pylist(), table["error"].to_pylist()):
        rows.append(detect_one(source, detector, limits) if error is None else
                    {"source": source, "error": error, "face_count": None,
                     "boxes": [], "crops": b""})
    return pa.Table.from_pylist(rows, schema=DETECTED)


def classify_detected(table: pa.Table, classifier, bundle: ModelBundle) -> pa.Table:
    """Classify every face of a batch of images in one call -> the face rows: a row per
    face, plus one row per image with no face or with an error."""
    crops = b"".join(table["crops"].to_pylist())
    faces = np.frombuffer(crops, np.uint8).reshape(-1, FACE_SIZE, FACE_SIZE, 1)
    probabilities = classifier.predict(faces)
    rows, next_face = [], 0
    for image in table.to_pylist():
        source, count = image["source"], image["face_count"] or 0
        if image["error"] is not None:
            rows.append(input_row(source, "image", "error", bundle.emotion_set,
                                  bundle.revision, image["error"]))
            continue
        values = image["boxes"]
        boxes = [Box(*map(int, values[i:i + 4]), values[i + 4])
                 for i in range(0, len(values), BOX_FIELDS)]
        found = faces_of(boxes, probabilities[next_face:next_face + count], classifier.labels)
        rows += photo_rows(source, found, bundle.emotion_set, bundle.revision)
        next_face += count
    return rows_table(rows, bundle)


class FaceClassifier:
    """Stage 2 (a Ray actor pool): each actor loads the model once, then labels batches."""

    def __init__(self, bundle: ModelBundle, threads: int = 1):
        self.bundle = bundle = resolve(bundle)
        self.classifier = classifier_for(bundle, threads)  # the CPUs this actor reserved

    def __call__(self, table: pa.Table) -> pa.Table:
        return classify_detected(table, self.classifier, self.bundle)


def video_rows(source: str, bundle: ModelBundle, fps: float,
               detector: str = DEFAULT_DETECTOR, limits: Limits | None = None) -> list[dict]:
    """One video, as the video command line analyzes it: its face rows (a row per face per
    analysed frame, numbers kept across frames, labels smoothed; one no_face row if no
    frame had a face), or its error row."""
    from emotion_recognition.video.analysis import analyze_video

    one_thread_per_task()
    try:
        limits = limits or Limits.local()
        with LocalCopy(source, limits.video_bytes) as local:
            result = analyze_video(local, recognizer_for(bundle), bundle.emotion_set, fps,
                                   detector=detector, limits=limits)
    except Exception as error:  # an unreadable or over-long video: its error row
        return [input_row(source, "video", "error", bundle.emotion_set, bundle.revision,
                          describe_error(error))]
    return result.rows(source)


def analyze_videos(table: pa.Table, bundle: ModelBundle, fps: float,
                   detector: str = DEFAULT_DETECTOR, limits: Limits | None = None) -> pa.Table:
    """The video stage (one Ray task per video): per-frame rows."""
    bundle = resolve(bundle)
    rows = []
    for source, error in zip(table["source"].to_pylist(), table["error"].to_pylist()):
        rows += ([input_row(source, "video", "error", bundle.emotion_set, bundle.revision, error)]
                 if error is not None else video_rows(source, bundle, fps, detector, limits))
    return rows_table(rows, bundle)
