"""The work done inside Ray: detect faces (tasks), classify them (actors), analyse videos.

Each stage is a plain function or class over pyarrow tables, so it runs the same in a
test, on a local Ray and on a cluster. They call the core (decode_image, FaceDetector,
face_crops, EmotionClassifier, analyze_video); nothing here re-implements it.

Detection emits one row per image (its boxes and 48x48 crops packed in bytes), so the
classifier's batches never split an image and each output block holds whole images.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pyarrow as pa

from emotion_recognition.batch_inputs import LocalCopy, read_bytes
from emotion_recognition.batch_model import ModelBundle, classifier_for, recognizer_for, resolve
from emotion_recognition.detectors import DEFAULT_DETECTOR
from emotion_recognition.errors import EmotionAppError
from emotion_recognition.labels import emotion_set as emotion_set_named
from emotion_recognition.preprocessing import FACE_SIZE, MAX_FILE_BYTES

DETECTED = pa.schema([("source", pa.string()), ("error", pa.string()),
                      ("face_count", pa.int32()), ("boxes", pa.list_(pa.int32())),
                      ("crops", pa.binary())])

RESULT_FIELDS = [("source", pa.string()), ("kind", pa.string()), ("status", pa.string()),
                 ("face_count", pa.int32()), ("face", pa.int32()), ("track_id", pa.int32()),
                 ("frame", pa.int32()), ("time_s", pa.float64()),
                 ("x", pa.int32()), ("y", pa.int32()), ("w", pa.int32()), ("h", pa.int32()),
                 ("label", pa.string()), ("confidence", pa.float32())]
TRAILING_FIELDS = [("emotion_set", pa.string()), ("model_revision", pa.string()),
                   ("error", pa.string())]
STATUSES = ("face", "no_face", "error")


def result_schema(emotion_set: str) -> pa.Schema:
    """The output's columns: where, what, every class probability, which model, error."""
    labels = emotion_set_named(emotion_set).labels
    return pa.schema([*RESULT_FIELDS, *[(name, pa.float32()) for name in labels],
                      *TRAILING_FIELDS])


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
    from emotion_recognition.detectors import create_detector

    one_thread_per_task()
    return create_detector(name)


def detect_one(source: str, detector: str = DEFAULT_DETECTOR) -> dict:
    """Read, decode and detect one image -> its boxes and face crops (or its error)."""
    from emotion_recognition.alignment import find_faces
    from emotion_recognition.preprocessing import decode_image, face_crops, to_grey

    try:
        grey = to_grey(decode_image(read_bytes(source, MAX_FILE_BYTES)))
        boxes = find_faces(_detector(detector), grey)  # as EmotionRecognizer.analyze does
        crops = face_crops(grey, boxes)
    except Exception as error:  # one bad file must not stop a 100,000-image run
        return {"source": source, "error": describe_error(error), "face_count": None,
                "boxes": [], "crops": b""}
    return {"source": source, "error": None, "face_count": len(boxes),
            "boxes": [v for box in boxes for v in box.as_list()], "crops": crops.tobytes()}


def detect_faces(table: pa.Table, detector: str = DEFAULT_DETECTOR) -> pa.Table:
    """Stage 1 (Ray tasks): rows of {source, error} -> one detection row per image."""
    rows = []
    for source, error in zip(table["source"].to_pylist(), table["error"].to_pylist()):
        rows.append(detect_one(source, detector) if error is None else
                    {"source": source, "error": error, "face_count": None,
                     "boxes": [], "crops": b""})
    return pa.Table.from_pylist(rows, schema=DETECTED)


class Rows:
    """Result rows collected column by column, then one pyarrow table."""

    def __init__(self, bundle: ModelBundle):
        self.bundle = bundle
        self.schema = result_schema(bundle.emotion_set)
        self.columns = {name: [] for name in self.schema.names}

    def add(self, source: str, kind: str, status: str, scores=None, **values) -> None:
        values.update(source=source, kind=kind, status=status,
                      emotion_set=self.bundle.emotion_set, model_revision=self.bundle.revision)
        labels = emotion_set_named(self.bundle.emotion_set).labels
        values.update(zip(labels, scores if scores is not None else [None] * len(labels)))
        for name, column in self.columns.items():
            column.append(values.get(name))

    def table(self) -> pa.Table:
        return pa.table(self.columns, schema=self.schema)


def label_faces(table: pa.Table, classifier, bundle: ModelBundle) -> pa.Table:
    """Classify every face of a batch of images in one call -> one row per face, plus one
    row per image with no face or with an error."""
    crops = b"".join(table["crops"].to_pylist())
    faces = np.frombuffer(crops, np.uint8).reshape(-1, FACE_SIZE, FACE_SIZE, 1)
    probabilities = classifier.predict(faces)
    rows, next_face = Rows(bundle), 0
    for image in table.to_pylist():
        source, count = image["source"], image["face_count"]
        if image["error"] is not None:
            rows.add(source, "image", "error", error=image["error"])
        elif count == 0:
            rows.add(source, "image", "no_face", face_count=0)
        for index in range(count or 0):
            row = probabilities[next_face + index]
            best = int(np.argmax(row))
            x, y, w, h = image["boxes"][4 * index:4 * index + 4]
            rows.add(source, "image", "face", row.tolist(), face_count=count, face=index,
                     x=x, y=y, w=w, h=h, label=classifier.labels[best],
                     confidence=float(row[best]))
        next_face += count or 0
    return rows.table()


def limit_tensorflow_threads(threads: int) -> None:
    """TensorFlow would use every core of the node; an actor gets the CPUs it reserved
    (possible only before TensorFlow's first operation in this worker process)."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # this worker already ran TensorFlow (a video task): keep its pool
        pass


class FaceClassifier:
    """Stage 2 (a Ray actor pool): each actor loads the model once, then labels batches."""

    def __init__(self, bundle: ModelBundle, threads: int = 1):
        self.bundle = bundle = resolve(bundle)
        limit_tensorflow_threads(threads)
        self.classifier = classifier_for(bundle)

    def __call__(self, table: pa.Table) -> pa.Table:
        return label_faces(table, self.classifier, self.bundle)


def video_rows(source: str, bundle: ModelBundle, fps: float, rows: Rows,
               detector: str = DEFAULT_DETECTOR) -> None:
    """One video, as the video CLI analyses it: a row per face per analysed frame (ids kept
    across frames, labels smoothed), one no_face row if no frame had a face."""
    from emotion_recognition.video import MAX_VIDEO_BYTES, analyze_video

    one_thread_per_task()
    try:
        with LocalCopy(source, MAX_VIDEO_BYTES) as local:
            result = analyze_video(local, recognizer_for(bundle), bundle.emotion_set, fps,
                                   detector=detector)
    except Exception as error:  # an unreadable or over-long video: its error row
        rows.add(source, "video", "error", error=describe_error(error))
        return
    if not result.records:
        rows.add(source, "video", "no_face", face_count=0)
    per_frame: dict[int, list] = {}
    for record in result.records:
        per_frame.setdefault(record.frame, []).append(record)
    for frame, records in per_frame.items():
        for index, record in enumerate(records):
            face, box = record.face, record.face.box
            rows.add(source, "video", "face", [face.scores.get(n, 0.0) for n in result.labels],
                     face_count=len(records), face=index, track_id=face.face_id, frame=frame,
                     time_s=round(record.time, 3), x=box.x, y=box.y, w=box.w, h=box.h,
                     label=face.label, confidence=float(face.confidence))


def analyse_videos(table: pa.Table, bundle: ModelBundle, fps: float,
                   detector: str = DEFAULT_DETECTOR) -> pa.Table:
    """The video stage (one Ray task per video): per-frame rows."""
    bundle = resolve(bundle)
    rows = Rows(bundle)
    for source, error in zip(table["source"].to_pylist(), table["error"].to_pylist()):
        if error is not None:
            rows.add(source, "video", "error", error=error)
        else:
            video_rows(source, bundle, fps, rows, detector)
    return rows.table()
