"""The face-row schema: one row per face, the same columns in every CSV, JSON and Parquet
output (the photo and video command lines, batch, the app's video and live CSVs).

A row is ``Face.to_dict`` flattened (box -> x, y, w, h; probabilities -> a column per
emotion), with where it was seen and which model saw it:

    source, kind, status, face_count, face, frame, time_s, x, y, w, h, label, confidence,
    <a probability per emotion>, emotion_set, model_revision, error

``kind`` is image, video or live; ``status`` face, no_face (an input without a face: one
row) or error (an input that cannot be read: one row, with the reason). ``face`` is the
face's number for people: from 1 in a photo, the number it keeps across frames in a video
or live session. Boxes are in the pixels of the image or frame as sent. A probability is
empty for an emotion the set in use did not have (a live session may change sets).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable

from emotion_recognition.core.labels import emotion_set_of_labels
from emotion_recognition.core.spreadsheet import safe_cell
from emotion_recognition.core.types import Face, FaceRecord

KINDS = ("image", "video", "live")
STATUSES = ("face", "no_face", "error")
# column -> its type ("str", "int" or "float"); the emotions' columns are floats
LEADING = {"source": "str", "kind": "str", "status": "str", "face_count": "int", "face": "int",
           "frame": "int", "time_s": "float", "x": "int", "y": "int", "w": "int", "h": "int",
           "label": "str", "confidence": "float"}
TRAILING = {"emotion_set": "str", "model_revision": "str", "error": "str"}


def row_columns(labels: Iterable[str]) -> dict[str, str]:
    """The columns of a face row, in order, with their types: the one definition."""
    return {**LEADING, **{name: "float" for name in labels}, **TRAILING}


def face_row(face: Face, number: int | None, source: str, kind: str, face_count: int,
             model_revision: str = "", frame: int | None = None,
             time_s: float | None = None) -> dict:
    """One face's row (``number``: its place from 1, when it has no kept number)."""
    as_dict = face.to_dict(number)
    x, y, w, h = as_dict["box"]
    return {"source": source, "kind": kind, "status": "face", "frame": frame,
            "time_s": None if time_s is None else round(time_s, 3), "face_count": face_count,
            "face": as_dict["face"], "x": x, "y": y, "w": w, "h": h, "label": face.label,
            "confidence": as_dict["confidence"], **as_dict["probabilities"],
            "emotion_set": emotion_set_of_labels(tuple(face.probabilities)).name,
            "model_revision": model_revision, "error": None}


def input_row(source: str, kind: str, status: str, emotion_set: str = "",
              model_revision: str = "", error: str | None = None) -> dict:
    """The one row of an input without a face (status no_face) or unreadable (error)."""
    return {"source": source, "kind": kind, "status": status,
            "face_count": 0 if status == "no_face" else None, "emotion_set": emotion_set,
            "model_revision": model_revision, "error": error}


def photo_rows(source: str, faces: list[Face], emotion_set: str,
               model_revision: str = "") -> list[dict]:
    """A photo's rows: a row per face (numbered from 1, boxes in the photo's pixels), or
    its no_face row."""
    if not faces:
        return [input_row(source, "image", "no_face", emotion_set, model_revision)]
    return [face_row(face, number, source, "image", len(faces), model_revision)
            for number, face in enumerate(faces, 1)]


def record_rows(records: list[FaceRecord], source: str, kind: str, emotion_set: str,
                model_revision: str = "") -> list[dict]:
    """A video's or live session's rows: a row per face per analysed frame (its kept
    number), or one no_face row when no frame had a face."""
    if not records:
        return [input_row(source, kind, "no_face", emotion_set, model_revision)]
    per_frame: dict[int, int] = {}
    for record in records:
        per_frame[record.frame] = per_frame.get(record.frame, 0) + 1
    return [face_row(r.face, None, source, kind, per_frame[r.frame], model_revision, r.frame,
                     r.time) for r in records]


def in_columns(rows: Iterable[dict], labels: Iterable[str]) -> list[dict]:
    """The rows with every column of row_columns, in order (None for what a row has not)."""
    columns = row_columns(labels)
    return [{name: row.get(name) for name in columns} for row in rows]


def write_rows_csv(rows: Iterable[dict], labels: Iterable[str], path: str | Path) -> Path:
    """The rows as a CSV file with every column of row_columns (empty cells for what a row
    does not have; no text cell a spreadsheet would run: a file's name is a user's text)."""
    labels = tuple(labels)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(row_columns(labels)))
        writer.writeheader()
        writer.writerows({k: "" if v is None else safe_cell(v) for k, v in row.items()}
                         for row in in_columns(rows, labels))
    return Path(path)
