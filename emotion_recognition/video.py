"""Emotions over time: videos analysed at a chosen rate, and live webcam sessions.

Both give the same records (one per face per analysed frame) that become a CSV, a
timeline and a summary of the share of time spent in each emotion.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from emotion_recognition.annotate import draw
from emotion_recognition.errors import VideoError
from emotion_recognition.labels import DEFAULT_EMOTION_SET
from emotion_recognition.pipeline import EmotionRecognizer, analyze
from emotion_recognition.tracking import FaceTracker, TrackedFace

VIDEO_SUFFIXES = {".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v"}
MAX_VIDEO_BYTES = 200 * 2**20
MAX_VIDEO_SECONDS = 10 * 60
MAX_OUTPUT_SIDE = 1280


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps if self.fps else 0.0


@dataclass(frozen=True)
class FaceRecord:
    """One face in one analysed frame (or webcam frame)."""

    time: float
    frame: int
    face: TrackedFace

    def row(self, labels: tuple[str, ...]) -> list:
        box = self.face.box
        return [round(self.time, 3), self.frame, self.face.face_id, box.x, box.y, box.w, box.h,
                self.face.label, round(self.face.confidence, 4),
                *[round(self.face.scores.get(name, 0.0), 4) for name in labels]]


def csv_header(labels: tuple[str, ...]) -> list[str]:
    return ["time_s", "frame", "face_id", "x", "y", "w", "h", "label", "confidence", *labels]


def write_csv(records: list[FaceRecord], labels: tuple[str, ...], path: str | Path) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_header(labels))
        writer.writerows(record.row(labels) for record in records)
    return Path(path)


def emotion_shares(records: list[FaceRecord], labels: tuple[str, ...]) -> dict[int, dict[str, float]]:
    """For each face id, the share of its analysed frames spent in each emotion."""
    shares: dict[int, dict[str, float]] = {}
    for face_id in sorted({r.face.face_id for r in records}):
        mine = [r.face.label for r in records if r.face.face_id == face_id]
        shares[face_id] = {name: mine.count(name) / len(mine) for name in labels}
    return shares


def timeline_rows(records: list[FaceRecord], labels: tuple[str, ...]) -> list[dict]:
    """Long-format rows (time, face, emotion, probability) for a timeline plot."""
    return [{"time_s": round(r.time, 3), "face": f"face {r.face.face_id}", "emotion": name,
             "probability": r.face.scores.get(name, 0.0)} for r in records for name in labels]


def probe_video(path: str | Path, max_bytes: int = MAX_VIDEO_BYTES,
                max_seconds: float = MAX_VIDEO_SECONDS) -> VideoInfo:
    """Check that a file is a readable video within the limits; raise VideoError if not."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"No such video file: {path.name}")
    if path.stat().st_size == 0:
        raise VideoError("The video file is empty (0 bytes).")
    if path.stat().st_size > max_bytes:
        raise VideoError(f"The video is larger than {max_bytes // 2**20} MB; please send a shorter "
                         "or smaller clip.")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoError("This file is not a video we can read (try MP4, WebM, AVI or MOV).")
        info = VideoInfo(float(capture.get(cv2.CAP_PROP_FPS) or 0),
                         int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
                         int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
                         int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0))
        if info.width == 0 or info.height == 0 or not capture.grab():
            raise VideoError("This file has no readable video frames (is it audio only, or damaged?).")
    finally:
        capture.release()
    if info.fps <= 0 or not np.isfinite(info.fps):
        info = VideoInfo(30.0, info.frame_count, info.width, info.height)
    if info.duration > max_seconds:
        raise VideoError(f"The video lasts {info.duration / 60:.1f} minutes; the limit is "
                         f"{max_seconds / 60:.0f} minutes. Please trim it.")
    return info


@dataclass
class VideoAnalysis:
    info: VideoInfo
    labels: tuple[str, ...]
    records: list[FaceRecord] = field(default_factory=list)
    frames_analysed: int = 0
    annotated_path: Path | None = None


def _output_size(info: VideoInfo) -> tuple[int, int]:
    scale = min(1.0, MAX_OUTPUT_SIDE / max(info.width, info.height))
    return int(info.width * scale) // 2 * 2, int(info.height * scale) // 2 * 2


def analyze_video(path: str | Path, recognizer: EmotionRecognizer,
                  emotion_set: str = DEFAULT_EMOTION_SET,
                  sample_fps: float = 5.0, annotated_path: str | Path | None = None,
                  progress: Callable[[float, str], None] | None = None,
                  smoothing: float = 0.5) -> VideoAnalysis:
    """Analyse ``sample_fps`` frames per second of a video; faces keep ids across frames.

    The annotated video (WebM/VP8, plays in browsers) holds the analysed frames at
    ``sample_fps``.
    """
    if not 0 < sample_fps <= 30:
        raise VideoError("Frames per second to analyse must be between 0 and 30.")
    info = probe_video(path)
    classifier = recognizer.classifier(emotion_set)
    result = VideoAnalysis(info, classifier.labels)
    tracker = FaceTracker(smoothing=smoothing)
    size = _output_size(info)
    writer = None
    if annotated_path is not None:
        writer = cv2.VideoWriter(str(annotated_path), cv2.VideoWriter_fourcc(*"VP80"),
                                 min(sample_fps, info.fps), size)
        result.annotated_path = Path(annotated_path)
    capture = cv2.VideoCapture(str(path))
    step, next_time, index = 1.0 / sample_fps, 0.0, -1
    try:
        while capture.grab():
            index += 1
            moment = index / info.fps
            if moment + 1e-6 < next_time:
                continue
            next_time = (np.floor(moment / step + 1e-6) + 1) * step
            ok, frame = capture.retrieve()
            if not ok:
                break
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            faces = tracker.update(analyze(rgb, recognizer.detector, classifier))
            result.records.extend(FaceRecord(moment, index, face) for face in faces)
            result.frames_analysed += 1
            if writer is not None:
                annotated = draw(rgb, faces)
                if annotated.shape[1::-1] != size:
                    annotated = cv2.resize(annotated, size, interpolation=cv2.INTER_AREA)
                writer.write(cv2.cvtColor(annotated, cv2.COLOR_RGB2BGR))
            if progress is not None and info.frame_count:
                progress(min(1.0, (index + 1) / info.frame_count),
                         f"{moment:.1f} s of {info.duration:.1f} s")
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    return result


class LiveSession:
    """A webcam session: frames in, annotated frames out, records kept for the timeline/CSV.

    Held in the user's Gradio session state only; it is gone when the session ends.
    """

    def __init__(self, smoothing: float = 0.6, max_records: int = 100_000):
        self.tracker = FaceTracker(smoothing=smoothing)
        self.records: list[FaceRecord] = []
        self.labels: tuple[str, ...] = ()
        self.started = time.monotonic()
        self.frames = 0
        self.max_records = max_records

    def process(self, rgb: np.ndarray, recognizer: EmotionRecognizer,
                emotion_set: str = DEFAULT_EMOTION_SET) -> tuple[np.ndarray, list[TrackedFace]]:
        classifier = recognizer.classifier(emotion_set)
        self.labels = classifier.labels
        faces = self.tracker.update(analyze(rgb, recognizer.detector, classifier))
        moment = time.monotonic() - self.started
        self.records.extend(FaceRecord(moment, self.frames, face) for face in faces)
        del self.records[:-self.max_records]
        self.frames += 1
        return draw(rgb, faces), faces
