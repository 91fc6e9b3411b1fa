"""Every limit the app enforces and every retention time it promises, in one place.

The server, the decoders, the UI text, the README and the tests all read these values, so a
limit is changed here and nowhere else. Retention times can be shortened through the
environment (the tests do) but the README states the defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MB = 2**20


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server."""

    upload_bytes: int = 200 * MB        # the server refuses bigger uploads outright
    photo_bytes: int = 50 * MB
    photo_pixels: int = 40_000_000      # refused before decoding
    working_pixels: int = 24_000_000    # bigger photos are decoded at 1/2, 1/4 or 1/8 size
    video_bytes: int = 200 * MB
    video_seconds: int = 10 * 60
    video_fps_min: float = 1.0
    video_fps_max: float = 15.0
    video_frames: int = 3000            # analysed frames per video: duration x frames per second
    video_job_seconds: int = 300        # a video job stops here and returns what it has analysed

    def max_video_seconds_at(self, sample_fps: float) -> float:
        """The longest video that fits the analysed-frame budget at ``sample_fps``."""
        return min(self.video_seconds, self.video_frames / sample_fps)

    def photo_text(self) -> str:
        return (f"Photos up to {self.photo_bytes // MB} MB and {self.photo_pixels // 1_000_000} "
                f"megapixels (over {self.working_pixels // 1_000_000} megapixels they are analysed "
                "at reduced size).")

    def video_text(self) -> str:
        return (f"Videos up to {self.video_bytes // MB} MB and {self.video_seconds // 60} minutes; "
                f"{self.video_fps_min:g}–{self.video_fps_max:g} frames per second analysed, at most "
                f"{self.video_frames:,} frames per video (e.g. {_minutes(self.video_frames / 5)} at "
                f"5 per second, {_minutes(self.video_frames / self.video_fps_max)} at "
                f"{self.video_fps_max:g}); one video is analysed at a time, and a job stops after "
                f"{self.video_job_seconds // 60} minutes with what it has analysed so far.")


@dataclass(frozen=True)
class Retention:
    """How long files may stay on the server (see emotion_recognition.storage)."""

    unused_upload_s: float = 600.0   # an upload no request has analysed
    result_s: float = 600.0          # annotated images, videos and CSVs
    sweep_every_s: float = 30.0

    @classmethod
    def from_environment(cls) -> "Retention":
        """The defaults, or shorter times from EMOTION_KEEP_UPLOADS_S, EMOTION_KEEP_RESULTS_S
        and EMOTION_SWEEP_EVERY_S (used by the tests)."""
        default = cls()
        return cls(float(os.environ.get("EMOTION_KEEP_UPLOADS_S", default.unused_upload_s)),
                   float(os.environ.get("EMOTION_KEEP_RESULTS_S", default.result_s)),
                   float(os.environ.get("EMOTION_SWEEP_EVERY_S", default.sweep_every_s)))

    def privacy_text(self) -> str:
        """The promise, in the words the README and the UI use."""
        return (f"An uploaded photo or video is deleted when the request that analyses it ends "
                f"(an upload never analysed: within {_minutes(self.unused_upload_s)}); results "
                f"(annotated images, videos, CSVs) are deleted within "
                f"{_minutes(self.result_s)}; nothing survives a stop or restart of the server.")


def _minutes(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if seconds >= 60:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{seconds:g} s"


LIMITS = Limits()
