"""A video's emotions over time: its frames analysed at a chosen rate, faces followed
across them, an annotated video written as it goes; stopped at the limits.

The records (one per face per analysed frame) become the rows of the one face-row schema
(core/rows.py), a timeline and a summary of the share of time spent in each emotion.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2

from emotion_recognition.core.annotate import draw
from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR, check_detector
from emotion_recognition.core.errors import VideoError
from emotion_recognition.core.labels import DEFAULT_EMOTION_SET, emotion_set_of_labels
from emotion_recognition.core.limits import LIMITS, Limits, duration_words
from emotion_recognition.core.pipeline import EmotionRecognizer, classify_faces
from emotion_recognition.core.rows import record_rows
from emotion_recognition.core.types import FaceRecord
from emotion_recognition.video.frames import FrameReader
from emotion_recognition.video.guided import TrackingDetector
from emotion_recognition.video.probe import VideoInfo, probe_video
from emotion_recognition.video.timeline import Timeline, face_ids
from emotion_recognition.video.tracking import FaceTracker
from emotion_recognition.video.writer import AnnotatedVideoWriter

FULL_SEARCH_EVERY_S = 1.0  # between full searches, faces are looked for near where they were
STAGES = ("decode", "detect", "classify", "draw", "encode")


@dataclass
class VideoAnalysis:
    info: VideoInfo
    labels: tuple[str, ...]
    model_revision: str = ""
    records: list[FaceRecord] = field(default_factory=list)
    frames_analysed: int = 0
    annotated_path: Path | None = None
    stopped_at: float | None = None  # seconds into the video where the job stopped early
    stopped_because: str = ""        # which limit stopped it, in words
    last_time: float = 0.0           # of the last frame read
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @property
    def complete(self) -> bool:
        return self.stopped_at is None

    @property
    def duration(self) -> float:
        """As the file says; when it does not say, up to the last frame read."""
        return self.info.duration or self.last_time

    @property
    def timeline(self) -> Timeline:
        return Timeline(self.records, self.labels)

    def rows(self, source: str) -> list[dict]:
        """The face rows (core/rows.py) of this video, named ``source``."""
        return record_rows(self.records, source, "video",
                           emotion_set_of_labels(self.labels).name, self.model_revision)

    def summary(self) -> dict:
        """What the app shows and the CLI prints: length, frames, faces, share of time."""
        return {"duration_s": round(self.duration, 2), "fps": self.info.fps,
                "frames_analysed": self.frames_analysed, "faces": len(face_ids(self.records)),
                "stopped_at_s": None if self.complete else round(self.stopped_at, 1),
                "stopped_because": self.stopped_because or None,
                "share_of_time": {str(k): v for k, v in self.timeline.shares().items()}}


def output_size(info: VideoInfo, limits: Limits = LIMITS) -> tuple[int, int]:
    """The annotated video's size: the video's, within limits.annotated_video_side (even)."""
    scale = min(1.0, limits.annotated_video_side / max(info.width, info.height))
    return int(info.width * scale) // 2 * 2, int(info.height * scale) // 2 * 2


def check_sample_fps(sample_fps: float, limits: Limits | None = None) -> None:
    """Frames per second to analyse: above 0 and within the range of ``limits`` (the
    server's for a job in the app; by default Limits.local(), at most
    LIMITS.sample_fps_most, for command lines, batch and the Python API). VideoError
    otherwise."""
    limits = limits or Limits.local()
    low, high = limits.video_fps_min, limits.video_fps_max
    if not (sample_fps > 0 and low <= sample_fps <= high):
        raise VideoError(f"Frames per second to analyse must be between {low:g} and {high:g}.")


def check_request(info: VideoInfo, sample_fps: float, limits: Limits) -> None:
    """The limits on one video job: frames per second, and frames analysed."""
    check_sample_fps(sample_fps, limits)
    if info.duration * sample_fps > limits.video_frames:
        raise VideoError(
            f"At {sample_fps:g} frames per second a video may last "
            f"{limits.max_video_seconds_at(sample_fps) / 60:.1f} minutes "
            f"({limits.video_frames:,} analysed frames); this one lasts "
            f"{info.duration / 60:.1f}. Choose fewer frames per second or trim it.")


def video_detector(recognizer: EmotionRecognizer, sample_fps: float,
                   detector: str = DEFAULT_DETECTOR) -> TrackingDetector:
    """The job's own detector (no lock shared with photo requests), searching whole frames
    once per FULL_SEARCH_EVERY_S and near the known faces in between."""
    return TrackingDetector(recognizer.new_detector(detector),
                            full_every=max(1, round(FULL_SEARCH_EVERY_S * sample_fps)))


def analyze_video(path: str | Path, recognizer: EmotionRecognizer,
                  emotion_set: str = DEFAULT_EMOTION_SET,
                  sample_fps: float = 5.0, annotated_path: str | Path | None = None,
                  progress: Callable[[float, str], None] | None = None,
                  smoothing: float = 0.5, limits: Limits | None = None,
                  detector: str = DEFAULT_DETECTOR) -> VideoAnalysis:
    """Analyze ``sample_fps`` frames per second of a video; faces keep ids across frames;
    ``detector`` names the face detector (detectors.DETECTORS).

    The annotated video (.mp4 H.264 or .webm VP8, both play in browsers) holds the analysed
    frames at ``sample_fps``. ``limits`` are the server's for a job in the app (its frame
    rate and number of frames checked first, the job stopped after
    ``limits.video_job_seconds``), else Limits.local() (trusted local input: generous,
    settable). A video that does not say how long it is (or says wrong) stops at the
    limits as it is read.
    """
    limits = limits or Limits.local()
    check_sample_fps(sample_fps, limits)
    check_detector(detector)
    info = probe_video(path, limits=limits)
    check_request(info, sample_fps, limits)
    classifier = recognizer.classifier(emotion_set)
    result = VideoAnalysis(info, classifier.labels, classifier.revision)
    writer = None
    if annotated_path is not None:
        writer = AnnotatedVideoWriter(annotated_path, min(sample_fps, info.fps), output_size(info))
        result.annotated_path = Path(annotated_path)
    reader = FrameReader(path, info.fps, sample_fps, limits=limits)
    try:
        _analyze_frames(reader, result, video_detector(recognizer, sample_fps, detector),
                        classifier, FaceTracker(smoothing=smoothing), writer, progress,
                        _Stop(limits))
    finally:
        reader.close()
        if writer is not None:
            started = time.perf_counter()
            writer.close()
            result.seconds["encode"] += time.perf_counter() - started
    result.seconds["decode"] = reader.decode_seconds
    return result


class _Stop:
    """The limits a job checks at each frame: the video's length (the file may not say it,
    or lie), the analysed frames and the job's time (local limits set no budget for the
    last two)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.deadline = time.monotonic() + limits.video_job_seconds

    def reason(self, frame_time: float, frames_analysed: int) -> str:
        limits = self.limits
        if frame_time > limits.video_seconds:
            return f"videos may last {duration_words(limits.video_seconds)} at most"
        if frames_analysed >= limits.video_frames:
            return f"a video may have {limits.video_frames:,} frames analysed at most"
        if time.monotonic() > self.deadline:
            return f"a video job may take {duration_words(limits.video_job_seconds)} at most"
        return ""


def _analyze_frames(reader, result, detector, classifier, tracker, writer, progress, stop):
    info, size, seconds = result.info, output_size(result.info), result.seconds
    clock = time.perf_counter
    for frame in reader:
        result.stopped_because = stop.reason(frame.time, result.frames_analysed)
        if result.stopped_because:
            result.stopped_at = frame.time
            return
        result.last_time = (frame.index + 1) / info.fps
        started = clock()
        grey = cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2GRAY)
        boxes = detector.detect(grey)
        detected = clock()
        faces = tracker.update(classify_faces(grey, boxes, classifier), frame.time)
        classified = clock()
        result.records.extend(FaceRecord(frame.time, frame.index, face) for face in faces)
        result.frames_analysed += 1
        seconds["detect"] += detected - started
        seconds["classify"] += classified - detected
        if writer is not None:
            annotated = draw(cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2RGB), faces)
            if annotated.shape[1::-1] != size:
                annotated = cv2.resize(annotated, size, interpolation=cv2.INTER_AREA)
            drawn = clock()
            writer.write(annotated)
            seconds["draw"] += drawn - classified
            seconds["encode"] += clock() - drawn
        if progress is not None and info.frame_count:
            progress(min(1.0, (frame.index + 1) / info.frame_count),
                     f"{frame.time:.1f} s of {info.duration:.1f} s")
