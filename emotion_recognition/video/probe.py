"""What a video file is, before any frame is analysed: readable, within the limits (its
size, its length, its frames' size before one is decoded), not a still image in disguise;
and its first frame, as a preview any browser can show."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_recognition.core.errors import VideoError
from emotion_recognition.core.limits import LIMITS, MB, Limits
from emotion_recognition.video.frames import check_frame_size

VIDEO_SUFFIXES = {".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v"}
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


def probe_video(path: str | Path, max_bytes: int | None = None,
                max_seconds: float | None = None, limits: Limits = LIMITS) -> VideoInfo:
    """Check that a file is a readable video within ``limits`` (the server's by default;
    Limits.local() for trusted local input): its size, its length, its frames' size before
    any is decoded; raise VideoError if not."""
    path = Path(path)
    max_bytes = limits.video_bytes if max_bytes is None else max_bytes
    max_seconds = limits.video_seconds if max_seconds is None else max_seconds
    if not path.is_file():
        raise VideoError(f"No such video file: {path.name}")
    if path.stat().st_size == 0:
        raise VideoError("The video file is empty (0 bytes).")
    if path.stat().st_size > max_bytes:
        raise VideoError(f"The video is larger than {max_bytes // MB} MB; please send a "
                         "shorter or smaller clip.")
    if _is_still_image(path):
        raise VideoError("This file is a still image, not a video: analyse it in the Photo tab.")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoError(NO_FRAMES if _audio_only(path) else
                             "This file is not a video we can read (try MP4, WebM, AVI or MOV).")
        info = _sane_info(capture)
        if info.width == 0 or info.height == 0:
            raise VideoError(NO_FRAMES)
        check_frame_size(info.width, info.height, limits)
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


def _audio_only(path: Path) -> bool:
    """Whether the file is a container PyAV reads with sound but no picture (OpenCV does
    not open those at all)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return not container.streams.video and bool(container.streams.audio)
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
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
