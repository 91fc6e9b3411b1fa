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
from emotion_recognition.detection import DetectorPool
from emotion_recognition.detectors import DEFAULT_DETECTOR, check_detector, create_detector
from emotion_recognition.errors import VideoError
from emotion_recognition.labels import DEFAULT_EMOTION_SET, EMOTIONS7
from emotion_recognition.limits import LIMITS, Limits, duration_words
from emotion_recognition.pipeline import EmotionRecognizer, Face, classify_faces
from emotion_recognition.preprocessing import to_grey
from emotion_recognition.timeline import Timeline, face_ids
from emotion_recognition.tracking import FaceTracker
from emotion_recognition.video_detection import TrackingDetector
from emotion_recognition.video_frames import FrameReader, check_frame_size
from emotion_recognition.video_writer import AnnotatedVideoWriter

VIDEO_SUFFIXES = {".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v"}
MAX_VIDEO_BYTES = LIMITS.video_bytes
MAX_VIDEO_SECONDS = LIMITS.video_seconds
MAX_OUTPUT_SIDE = 1280
LIVE_FULL_SEARCH_EVERY = 8  # webcam frames between searches of the whole frame
FULL_SEARCH_EVERY_S = 1.0  # between full searches, faces are looked for near where they were
STAGES = ("decode", "detect", "classify", "draw", "encode")
NO_FRAMES = "This file has no readable video frames (is it audio only, or damaged?)."


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frame_count: int  # 0 when the file does not say (e.g. a browser's WebM recording)
    width: int
    height: int

    @property
    def duration(self) -> float:
        """Seconds, as the file says (0.0 when it does not: limits are then kept while the
        frames are read)."""
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
                *[round(self.face.scores[name], 4) if name in self.face.scores else ""
                  for name in labels]]  # empty: not in the emotion set of that moment


def csv_header(labels: tuple[str, ...]) -> list[str]:
    return ["time_s", "frame", "face_id", "x", "y", "w", "h", "label", "confidence", *labels]


def write_records_csv(records: list[FaceRecord], labels: tuple[str, ...], path: str | Path) -> Path:
    """One row per face per analysed frame: time, frame, id, box, label, probabilities
    (an empty cell for an emotion the set in use at that moment did not have)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_header(labels))
        writer.writerows(record.row(labels) for record in records)
    return Path(path)


def probe_video(path: str | Path, max_bytes: int = MAX_VIDEO_BYTES,
                max_seconds: float = MAX_VIDEO_SECONDS) -> VideoInfo:
    """Check that a file is a readable video within the limits (its frames' size before any
    is decoded); raise VideoError if not."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"No such video file: {path.name}")
    if path.stat().st_size == 0:
        raise VideoError("The video file is empty (0 bytes).")
    if path.stat().st_size > max_bytes:
        raise VideoError(f"The video is larger than {max_bytes // 2**20} MB; please send a shorter "
                         "or smaller clip.")
    if _is_still_image(path):
        raise VideoError("This file is a still image, not a video: analyse it in the Photo tab.")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoError("This file is not a video we can read (try MP4, WebM, AVI or MOV).")
        info = _sane_info(capture)
        if info.width == 0 or info.height == 0:
            raise VideoError(NO_FRAMES)
        check_frame_size(info.width, info.height)
        if not capture.grab():
            raise VideoError(NO_FRAMES)
    finally:
        capture.release()
    if info.duration > max_seconds:
        raise VideoError(f"The video lasts {info.duration / 60:.1f} minutes; the limit is "
                         f"{max_seconds / 60:.0f} minutes. Please trim it.")
    return info


def _sane_info(capture) -> VideoInfo:
    """The facts OpenCV reads from the container, with what it cannot know set apart: a
    WebM without a duration reports about -9e16 frames; that becomes 0 (unknown)."""
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0)
    fps = fps if np.isfinite(fps) and 0 < fps <= 1000 else 30.0
    count = float(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    count = int(count) if np.isfinite(count) and 0 < count < 2**31 else 0
    return VideoInfo(fps, count, int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
                     int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0))


def _is_still_image(path: Path) -> bool:
    """Whether the file is a picture (say a JPEG renamed .mp4), which OpenCV would open
    as a one-frame video of unknown length."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.format != "MPEG"  # Pillow's MPEG plugin names video streams
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError):
        return False


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
        raise VideoError(NO_FRAMES)
    return info, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


@dataclass
class VideoAnalysis:
    info: VideoInfo
    labels: tuple[str, ...]
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

    def summary(self) -> dict:
        """What the app shows and the CLI prints: length, frames, faces, share of time."""
        return {"duration_s": round(self.duration, 2), "fps": self.info.fps,
                "frames_analysed": self.frames_analysed, "faces": len(face_ids(self.records)),
                "stopped_at_s": None if self.complete else round(self.stopped_at, 1),
                "stopped_because": self.stopped_because or None,
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
    frames are checked first and the job stops after ``limits.video_job_seconds``. A video
    that does not say how long it is (or says wrong) stops at the limits as it is read.
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
    stop = _Stop(limits)
    reader = FrameReader(path, info.fps, sample_fps)
    try:
        _analyse_frames(reader, result, video_detector(recognizer, sample_fps, detector),
                        classifier, FaceTracker(smoothing=smoothing), writer, progress, stop)
    finally:
        reader.close()
        if writer is not None:
            started = time.perf_counter()
            writer.close()
            result.seconds["encode"] += time.perf_counter() - started
    result.seconds["decode"] = reader.decode_seconds
    return result


class _Stop:
    """The limits a job checks at each frame: the video's length (always; the file may not
    say it, or lie), and with the server's limits the analysed frames and the job's time."""

    def __init__(self, limits: Limits | None):
        self.limits = limits
        self.deadline = time.monotonic() + limits.video_job_seconds if limits else None

    def reason(self, frame_time: float, frames_analysed: int) -> str:
        limits = self.limits or LIMITS
        if frame_time > limits.video_seconds:
            return f"videos may last {duration_words(limits.video_seconds)} at most"
        if self.limits is None:
            return ""
        if frames_analysed >= limits.video_frames:
            return f"a video may have {limits.video_frames:,} frames analysed at most"
        if time.monotonic() > self.deadline:
            return f"a video job may take {duration_words(limits.video_job_seconds)} at most"
        return ""


def _analyse_frames(reader, result, detector, classifier, tracker, writer, progress, stop):
    info, size, seconds = result.info, _output_size(result.info), result.seconds
    clock = time.perf_counter
    for frame in reader:
        result.stopped_because = stop.reason(frame.time, result.frames_analysed)
        if result.stopped_because:
            result.stopped_at = frame.time
            return
        result.last_time = (frame.index + 1) / info.fps
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

    Held in the server's memory only (LiveSessions); it is forgotten soon after its page
    stops using it. Its own detector looks for faces near where they were, and over the
    whole frame every ``LIVE_FULL_SEARCH_EVERY`` frames (new faces appear within half a
    second at 15 fps). Its records are read (``snapshot``) while frames add to them.
    """

    def __init__(self, smoothing: float = 0.6, max_records: int = LIMITS.live_records,
                 emotion_set: str = DEFAULT_EMOTION_SET, client: str = "",
                 detectors=None, detector_name: str = DEFAULT_DETECTOR):
        self.emotion_set = emotion_set  # what the person chose; frames use it from then on
        self.detector_name = detector_name  # likewise (detectors.DETECTORS)
        self.client = client  # the address that started it (LiveSessions caps them per client)
        # name -> a detector shared with other sessions (LiveSessions.pool); else its own
        self.detectors = detectors
        self.lock = threading.Lock()  # one frame at a time: tracking needs them in order
        self._records_lock = threading.Lock()  # records and labels change together
        self.tracker = FaceTracker(smoothing=smoothing)
        self.detector: TrackingDetector | None = None
        self._detector_made_for = ""
        self._records: list[FaceRecord] = []
        self._labels: tuple[str, ...] = ()
        self.started = time.monotonic()
        self.frames = 0
        self.max_records = max_records

    def process(self, rgb: np.ndarray, recognizer: EmotionRecognizer,
                emotion_set: str = DEFAULT_EMOTION_SET) -> tuple[np.ndarray, list[Face]]:
        classifier = recognizer.classifier(emotion_set)
        if self.detector is None or self._detector_made_for != self.detector_name:
            name = check_detector(self.detector_name)
            searcher = (self.detectors(name) if self.detectors is not None
                        else recognizer.new_detector(name))
            self.detector = TrackingDetector(searcher, full_every=LIVE_FULL_SEARCH_EVERY)
            self._detector_made_for = name
        moment = time.monotonic() - self.started
        boxes = self.detector.detect(to_grey(rgb))
        faces = self.tracker.update(classify_faces(rgb, boxes, classifier), moment)
        with self._records_lock:
            self._labels = classifier.labels
            self._records.extend(FaceRecord(moment, self.frames, face) for face in faces)
            del self._records[:-self.max_records]
        self.frames += 1
        return draw(rgb, faces), faces

    def snapshot(self) -> tuple[list[FaceRecord], tuple[str, ...]]:
        """The records so far (a copy) and the labels of every emotion they hold, in the
        usual order (the emotion set may have changed during the session)."""
        with self._records_lock:
            records, latest = list(self._records), self._labels
        return records, labels_of(records, latest)

    @property
    def records(self) -> list[FaceRecord]:
        return self.snapshot()[0]

    def timeline(self, window_s: float | None = None, per_second: float | None = None) -> Timeline:
        """The whole session, or its last ``window_s`` seconds; with ``per_second``, at most
        that many records per face per second (a plot that a browser redraws cheaply)."""
        whole = Timeline(*self.snapshot())
        part = whole if window_s is None else whole.last(window_s)
        if per_second is None:
            return part
        slots = {(int(r.time * per_second), r.face.face_id): r for r in part.records}
        return Timeline(list(slots.values()), part.labels)


def labels_of(records: list[FaceRecord], latest: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Every emotion the records have a probability for, in EMOTIONS7's order (``latest``,
    the current set's labels, when there is no record)."""
    seen = {name for record in records for name in record.face.scores} | set(latest)
    return tuple(name for name in EMOTIONS7 if name in seen) or latest


LIVE_SESSION_ID = re.compile(r"[0-9a-f]{32}")


class LiveSessions:
    """This server's live sessions, by the random id each page makes for itself (so a page
    reaches only its own); in memory only, each forgotten ``ttl_s`` after its last use.
    A session is made for a frame already found valid, at most ``per_client`` per client
    (so one address cannot take every place) and ``max_sessions`` in all; they search for
    faces with a pool of LIMITS.live_workers detectors (not one each)."""

    def __init__(self, ttl_s: float = 120.0, max_sessions: int = LIMITS.live_sessions,
                 per_client: int = LIMITS.live_sessions_per_client):
        self.ttl_s, self.max_sessions, self.per_client = ttl_s, max_sessions, per_client
        self._sessions: dict[str, tuple[LiveSession, float]] = {}
        self._lock = threading.Lock()
        self._pools: dict[str, DetectorPool] = {}

    def pool(self, detector_name: str) -> DetectorPool:
        """The sessions' shared detectors of that name (LIMITS.live_workers at most)."""
        name = check_detector(detector_name)
        with self._lock:
            if name not in self._pools:
                self._pools[name] = DetectorPool(LIMITS.live_workers,
                                                 make=lambda: create_detector(name))
            return self._pools[name]

    @staticmethod
    def check_id(session_id: str | None) -> str:
        """The id, if it is one a page makes (32 hex digits); VideoError otherwise."""
        if not isinstance(session_id, str) or not LIVE_SESSION_ID.fullmatch(session_id):
            raise VideoError("This page's live session id is not valid: please reload it.")
        return session_id

    def get(self, session_id: str | None, create: bool = False,
            client: str = "") -> LiveSession | None:
        """The session of that id (made for ``client`` if ``create``), or None; either way,
        it is used now. VideoError when a new one would be over a limit."""
        if create:
            self.check_id(session_id)
        elif not isinstance(session_id, str) or not LIVE_SESSION_ID.fullmatch(session_id):
            return None
        now = time.monotonic()
        with self._lock:
            for key, (_, used) in list(self._sessions.items()):
                if now - used > self.ttl_s:
                    del self._sessions[key]
            session = self._sessions.get(session_id, (None, 0.0))[0]
            if session is None and create:
                session = self._new(client)
            if session is not None:
                self._sessions[session_id] = (session, now)
            return session

    def _new(self, client: str) -> LiveSession:
        if sum(s.client == client for s, _ in self._sessions.values()) >= self.per_client:
            raise VideoError(f"This address already has {self.per_client} live sessions: "
                             "stop one (or wait two minutes) before starting another.")
        if len(self._sessions) >= self.max_sessions:
            raise VideoError("Too many live sessions right now: please try again soon.")
        return LiveSession(client=client, detectors=self.pool)

    def __len__(self) -> int:
        return len(self._sessions)
