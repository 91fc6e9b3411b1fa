"""Emotions over time: videos analysed at a chosen rate, and live webcam sessions.

Both give the same records (one per face per analysed frame) that become a CSV, a
timeline and a summary of the share of time spent in each emotion.
"""

from __future__ import annotations

import csv
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from emotion_recognition.annotate import draw
from emotion_recognition.detectors import DEFAULT_DETECTOR, check_detector
from emotion_recognition.errors import VideoError
from emotion_recognition.labels import DEFAULT_EMOTION_SET
from emotion_recognition.limits import LIMITS, Limits
from emotion_recognition.pipeline import EmotionRecognizer, Face, classify_faces
from emotion_recognition.preprocessing import to_grey
from emotion_recognition.timeline import Timeline, face_ids
from emotion_recognition.tracking import FaceTracker
from emotion_recognition.video_detection import TrackingDetector
from emotion_recognition.video_frames import FrameReader
from emotion_recognition.video_writer import AnnotatedVideoWriter

VIDEO_SUFFIXES = {".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v"}
MAX_VIDEO_BYTES = LIMITS.video_bytes
MAX_VIDEO_SECONDS = LIMITS.video_seconds
MAX_OUTPUT_SIDE = 1280
LIVE_FULL_SEARCH_EVERY = 8  # webcam frames between searches of the whole frame
FULL_SEARCH_EVERY_S = 1.0  # between full searches, faces are looked for near where they were
STAGES = ("decode", "detect", "classify", "draw", "encode")


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
    face: Face

    def row(self, labels: tuple[str, ...]) -> list:
        box = self.face.box
        return [round(self.time, 3), self.frame, self.face.face_id, box.x, box.y, box.w, box.h,
                self.face.label, round(self.face.confidence, 4),
                *[round(self.face.scores.get(name, 0.0), 4) for name in labels]]


def csv_header(labels: tuple[str, ...]) -> list[str]:
    return ["time_s", "frame", "face_id", "x", "y", "w", "h", "label", "confidence", *labels]


def write_records_csv(records: list[FaceRecord], labels: tuple[str, ...], path: str | Path) -> Path:
    """One row per face per analysed frame: time, frame, id, box, label, probabilities."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_header(labels))
        writer.writerows(record.row(labels) for record in records)
    return Path(path)


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


def poster(path: str | Path) -> tuple[VideoInfo, np.ndarray]:
    """A checked video's facts and its first frame (RGB): a preview any browser can show,
    whatever the container and codec (browsers play few of those people upload)."""
    info = probe_video(path)
    capture = cv2.VideoCapture(str(path))
    try:
        ok, frame = capture.read()
    finally:
        capture.release()
    if not ok:
        raise VideoError("This file has no readable video frames (is it audio only, or damaged?).")
    return info, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


@dataclass
class VideoAnalysis:
    info: VideoInfo
    labels: tuple[str, ...]
    records: list[FaceRecord] = field(default_factory=list)
    frames_analysed: int = 0
    annotated_path: Path | None = None
    stopped_at: float | None = None  # seconds into the video where the job's time ran out
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @property
    def complete(self) -> bool:
        return self.stopped_at is None

    @property
    def timeline(self) -> Timeline:
        return Timeline(self.records, self.labels)

    def summary(self) -> dict:
        """What the app shows and the CLI prints: length, frames, faces, share of time."""
        return {"duration_s": round(self.info.duration, 2), "fps": self.info.fps,
                "frames_analysed": self.frames_analysed, "faces": len(face_ids(self.records)),
                "stopped_at_s": None if self.complete else round(self.stopped_at, 1),
                "share_of_time": {str(k): v for k, v in self.timeline.shares().items()}}


def _output_size(info: VideoInfo) -> tuple[int, int]:
    scale = min(1.0, MAX_OUTPUT_SIDE / max(info.width, info.height))
    return int(info.width * scale) // 2 * 2, int(info.height * scale) // 2 * 2


def check_request(info: VideoInfo, sample_fps: float, limits: Limits) -> None:
    """The server's limits on one video job: frames per second, and frames analysed."""
    if not limits.video_fps_min <= sample_fps <= limits.video_fps_max:
        raise VideoError(f"Frames per second to analyse must be between {limits.video_fps_min:g} "
                         f"and {limits.video_fps_max:g}.")
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
    """Analyse ``sample_fps`` frames per second of a video; faces keep ids across frames;
    ``detector`` names the face detector (detectors.DETECTORS).

    The annotated video (.mp4 H.264 or .webm VP8, both play in browsers) holds the analysed
    frames at ``sample_fps``. With ``limits`` (the server's), the frame rate and number of
    frames are checked first and the job stops after ``limits.video_job_seconds``.
    """
    if not 0 < sample_fps <= 30:
        raise VideoError("Frames per second to analyse must be between 0 and 30.")
    check_detector(detector)
    info = probe_video(path)
    if limits is not None:
        check_request(info, sample_fps, limits)
    classifier = recognizer.classifier(emotion_set)
    result = VideoAnalysis(info, classifier.labels)
    writer = None
    if annotated_path is not None:
        writer = AnnotatedVideoWriter(annotated_path, min(sample_fps, info.fps), _output_size(info))
        result.annotated_path = Path(annotated_path)
    deadline = time.monotonic() + limits.video_job_seconds if limits is not None else None
    reader = FrameReader(path, info.fps, sample_fps)
    try:
        _analyse_frames(reader, result, video_detector(recognizer, sample_fps, detector),
                        classifier, FaceTracker(smoothing=smoothing), writer, progress, deadline)
    finally:
        reader.close()
        if writer is not None:
            started = time.perf_counter()
            writer.close()
            result.seconds["encode"] += time.perf_counter() - started
    result.seconds["decode"] = reader.decode_seconds
    return result


def _analyse_frames(reader, result, detector, classifier, tracker, writer, progress, deadline):
    info, size, seconds = result.info, _output_size(result.info), result.seconds
    clock = time.perf_counter
    for frame in reader:
        if deadline is not None and time.monotonic() > deadline:
            result.stopped_at = frame.time
            return
        started = clock()
        rgb = cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2RGB)
        boxes = detector.detect(to_grey(rgb))
        detected = clock()
        faces = tracker.update(classify_faces(rgb, boxes, classifier), frame.time)
        classified = clock()
        result.records.extend(FaceRecord(frame.time, frame.index, face) for face in faces)
        result.frames_analysed += 1
        seconds["detect"] += detected - started
        seconds["classify"] += classified - detected
        if writer is not None:
            annotated = draw(rgb, faces)
            if annotated.shape[1::-1] != size:
                annotated = cv2.resize(annotated, size, interpolation=cv2.INTER_AREA)
            drawn = clock()
            writer.write(annotated)
            seconds["draw"] += drawn - classified
            seconds["encode"] += clock() - drawn
        if progress is not None and info.frame_count:
            progress(min(1.0, (frame.index + 1) / info.frame_count),
                     f"{frame.time:.1f} s of {info.duration:.1f} s")


class LiveSession:
    """A webcam session: frames in, annotated frames out, records kept for the timeline/CSV.

    Held in the user's Gradio session state only; it is gone when the session ends. Its own
    detector looks for faces near where they were, and over the whole frame every
    ``LIVE_FULL_SEARCH_EVERY`` frames (new faces appear within half a second at 15 fps).
    """

    def __init__(self, smoothing: float = 0.6, max_records: int = 100_000,
                 emotion_set: str = DEFAULT_EMOTION_SET, detector_name: str = DEFAULT_DETECTOR):
        self.emotion_set = emotion_set  # what the person chose; frames use it from then on
        self.detector_name = detector_name  # likewise (detectors.DETECTORS)
        self.lock = threading.Lock()  # one frame at a time: tracking needs them in order
        self.tracker = FaceTracker(smoothing=smoothing)
        self.detector: TrackingDetector | None = None
        self._detector_made_for = ""
        self.records: list[FaceRecord] = []
        self.labels: tuple[str, ...] = ()
        self.started = time.monotonic()
        self.frames = 0
        self.max_records = max_records

    def process(self, rgb: np.ndarray, recognizer: EmotionRecognizer,
                emotion_set: str = DEFAULT_EMOTION_SET) -> tuple[np.ndarray, list[Face]]:
        classifier = recognizer.classifier(emotion_set)
        self.labels = classifier.labels
        if self.detector is None or self._detector_made_for != self.detector_name:
            self.detector = TrackingDetector(recognizer.new_detector(self.detector_name),
                                             full_every=LIVE_FULL_SEARCH_EVERY)
            self._detector_made_for = self.detector_name
        moment = time.monotonic() - self.started
        boxes = self.detector.detect(to_grey(rgb))
        faces = self.tracker.update(classify_faces(rgb, boxes, classifier), moment)
        self.records.extend(FaceRecord(moment, self.frames, face) for face in faces)
        del self.records[:-self.max_records]
        self.frames += 1
        return draw(rgb, faces), faces

    def timeline(self, window_s: float | None = None, per_second: float | None = None) -> Timeline:
        """The whole session, or its last ``window_s`` seconds; with ``per_second``, at most
        that many records per face per second (a plot that a browser redraws cheaply)."""
        whole = Timeline(list(self.records), self.labels)
        part = whole if window_s is None else whole.last(window_s)
        if per_second is None:
            return part
        slots = {(int(r.time * per_second), r.face.face_id): r for r in part.records}
        return Timeline(list(slots.values()), self.labels)


LIVE_SESSION_ID = re.compile(r"[0-9a-f]{32}")


class LiveSessions:
    """This server's live sessions, by the random id each page makes for itself (so a page
    reaches only its own); in memory only, each forgotten ``ttl_s`` after its last use."""

    def __init__(self, ttl_s: float = 120.0, max_sessions: int = 64):
        self.ttl_s, self.max_sessions = ttl_s, max_sessions
        self._sessions: dict[str, tuple[LiveSession, float]] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str | None, create: bool = False) -> LiveSession | None:
        """The session of that id (made if ``create``), or None; either way, it is used now."""
        if not session_id or not LIVE_SESSION_ID.fullmatch(session_id):
            if create:
                raise VideoError("This page's live session id is not valid: please reload it.")
            return None
        now = time.monotonic()
        with self._lock:
            for key, (_, used) in list(self._sessions.items()):
                if now - used > self.ttl_s:
                    del self._sessions[key]
            session = self._sessions.get(session_id, (None, 0.0))[0]
            if session is None and create:
                if len(self._sessions) >= self.max_sessions:
                    raise VideoError("Too many live sessions right now: please try again soon.")
                session = LiveSession()
            if session is not None:
                self._sessions[session_id] = (session, now)
            return session

    def __len__(self) -> int:
        return len(self._sessions)
