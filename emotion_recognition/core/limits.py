"""Every limit the app enforces and every retention time it promises, in one place.

The server, the decoders, the UI text, the README and the tests all read these values, so a
limit is changed here and nowhere else. Retention times can be shortened through the
environment (the tests do) but the README states the defaults.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace

MB = 2**20


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server."""

    upload_bytes: int = 200 * MB        # the server refuses bigger uploads outright
    request_bytes: int = 16 * MB        # any other request body (API calls, a journal import)
    photo_bytes: int = 50 * MB
    photo_pixels: int = 40_000_000      # refused before decoding (the header says the size)
    image_side: int = 16_384            # each side, also refused before decoding
    image_aspect: float = 20.0          # long side / short side: no 400x60000 "photos"
    # Bigger photos are decoded at 1/2, 1/4 or 1/8 size: a 12 MP phone photo is analysed
    # whole, and its finest detection pass (3/4 of it) just fits detection_pixels.
    working_pixels: int = 12_600_000
    decodes_at_once: int = 4            # image decodes running at once, all routes together
    # Haar cascades keep buffers sized by the widest and the tallest image they have seen
    # (about 50 bytes a pixel): no image larger than this reaches one (finer passes over
    # bigger photos stop there: a 12 MP photo is searched whole), and a detector that ran on
    # an image over detector_keep_side on a side frees those buffers at once.
    detection_pixels: int = 7_100_000
    detection_side: int = 4096
    detector_keep_side: int = 640
    # The face width (pixels) that detection reaches in every photo, snapshot or frame of up
    # to working_pixels: what "no face found" asks for, the same on every tab (a photo
    # analysed at reduced size, or a detector that needs more, says its own larger figure).
    min_face_side: int = 40
    kept_photo_bytes: int = 64 * MB     # uploaded photos kept for re-runs, all sessions together
    live_frame_bytes: int = 2 * MB
    live_frame_width: int = 1920        # a live frame is at most 1920x1080 (either way up)
    live_frame_height: int = 1080
    live_sessions: int = 64
    live_records: int = 10_000          # per session: 11 minutes of one face at 15 fps
    live_sessions_per_client: int = 4   # a client (an IP address) holds at most this many
    # the last free sessions go only to clients that hold none yet: no one client (nor a few)
    # can take the places left for newcomers
    live_sessions_for_newcomers: int = 8
    live_frames_per_client: int = 4     # one client's frames in the server at once (a page: 3)
    live_frames_at_once: int = 16       # every client's frames in the server at once
    live_workers: int = 4               # live frames analysed at once, all sessions together
    # ... and their pixels together at most (a full-HD frame takes about 70 MB while it is
    # analysed: two at once, or four of 1280x720, or four 640x480)
    live_pixels_at_once: int = 2 * 1920 * 1080
    video_frame_pixels: int = 3840 * 2160  # 4K UHD; checked before a frame is decoded
    video_frame_side: int = 4096
    video_bytes: int = 200 * MB
    video_seconds: int = 10 * 60
    video_fps_min: float = 1.0
    video_fps_max: float = 15.0
    video_frames: int = 3000            # analysed frames per video: duration x frames per second
    video_job_seconds: int = 300        # a video job stops here and returns what it has analysed
    video_jobs: int = 1                 # video jobs running at once, all users together
    sample_fps_most: float = 30.0       # frames analysed per second, any caller (CLI, batch)
    annotated_video_side: int = 1280    # an annotated video's longer side at most
    display_side: int = 8192            # an annotated photo as sent to a browser, a side
    photo_workers: int = 2              # photo analyses at once (a video never holds them up)
    # Gradio's queue: photos (and snapshots) wait in a room of their own, every other event
    # in another, so no amount of video work turns a photo away; videos hold at most
    # video_queue_size places of theirs, and one client at most queue_per_client places
    # of all (waiting, not running)
    queue_size: int = 64                # requests waiting, in each room
    video_queue_size: int = 8           # videos waiting for their turn (one runs at a time)
    queue_per_client: int = 16          # one client's requests waiting, all events together
    # Disk held by uploads no request has analysed yet (deleted within
    # Retention.unused_upload_s): past either budget an upload is refused with a message.
    # EMOTION_UPLOAD_BUDGET_MB and EMOTION_UPLOAD_BUDGET_PER_CLIENT_MB change them.
    unanalysed_upload_bytes: int = 1024 * MB            # all clients together
    unanalysed_upload_bytes_per_client: int = 400 * MB  # one client (an IP address)
    live_view_seconds: int = 600        # a live view stops itself after this long
    journal_entries: int = 5000         # ~2 MB in a browser's localStorage (~5 MB per site)
    journal_note_chars: int = 200
    journal_import_bytes: int = 1_000_000  # a full journal exports to about 0.6 MB

    @classmethod
    def local(cls, **settings: float | None) -> "Limits":
        """The limits of trusted local input (the command lines, batch, the Python API):
        the server's, with LOCAL_LIMITS' generous sizes and lengths instead; each of
        LOCAL_SETTINGS set by its EMOTION_LOCAL_* variable, or by ``settings`` (the
        command lines' options, e.g. max_video_minutes=600; None: not given). The server
        never uses these. ValueError for a setting that is not a positive number."""
        values = dict(LOCAL_LIMITS)
        for option, (name, unit, variable) in LOCAL_SETTINGS.items():
            given = settings.pop(option, None)
            if given is None and os.environ.get(variable, "").strip():
                given, option = os.environ[variable], variable
            if given is not None:
                values[name] = _amount(option, str(given), unit)
        if settings:
            raise TypeError(f"not a local limit: {', '.join(settings)}")
        return replace(cls(), **values)

    @classmethod
    def from_environment(cls) -> "Limits":
        """The defaults, with the upload budgets an operator set (in MB) in the environment."""
        default, env = cls(), os.environ
        return cls(unanalysed_upload_bytes=int(float(env.get(
                       "EMOTION_UPLOAD_BUDGET_MB", default.unanalysed_upload_bytes / MB)) * MB),
                   unanalysed_upload_bytes_per_client=int(float(env.get(
                       "EMOTION_UPLOAD_BUDGET_PER_CLIENT_MB",
                       default.unanalysed_upload_bytes_per_client / MB)) * MB))

    def max_video_seconds_at(self, sample_fps: float) -> float:
        """The longest video that fits the analysed-frame budget at ``sample_fps``."""
        return min(self.video_seconds, self.video_frames / sample_fps)

    def photo_text(self) -> str:
        return (f"Photos up to {self.photo_bytes // MB} MB and {self.photo_pixels // 1_000_000} "
                f"megapixels, {self.image_side:,} pixels a side and {self.image_aspect:g} times "
                f"longer than wide at most (over {self.working_pixels / 1e6:g} megapixels "
                "they are analysed at reduced size).")

    def video_text(self) -> str:
        at_5, at_most = (duration_words(self.video_frames / fps) for fps in (5, self.video_fps_max))
        return (f"Videos up to {self.video_bytes // MB} MB, {self.video_seconds // 60} minutes and "
                f"4K frames ({self.video_frame_pixels / 1e6:.1f} megapixels, "
                f"{self.video_frame_side:,} pixels a side); "
                f"{self.video_fps_min:g}–{self.video_fps_max:g} frames per second analysed, at "
                f"most {self.video_frames:,} frames per video (e.g. {at_5} at 5 per second, "
                f"{at_most} at {self.video_fps_max:g}); one video is analysed at a time, and a "
                f"job stops after {self.video_job_seconds // 60} minutes with what it has "
                "analysed so far.")


# Trusted local input: what a person's own machine may take on (a photo decoded at 1/8 of
# 150 megapixels is analysed like a 12 MP one; PIL refuses images over 179 megapixels). A
# video is read frame by frame: its size and length cost time, not memory.
LOCAL_LIMITS = {
    "video_fps_min": 0.0,               # any rate above 0, up to sample_fps_most
    "video_fps_max": Limits.sample_fps_most,
    "video_frames": math.inf,           # no frame budget and no job time: a local job reads
    "video_job_seconds": math.inf,      # the whole video (video_seconds still bounds it)
    "photo_bytes": 1024 * MB,
    "photo_pixels": 150_000_000,
    "image_side": 65_000,
    "video_bytes": 50 * 1024 * MB,
    "video_seconds": 24 * 60 * 60,
    "video_frame_pixels": 7680 * 4320,  # 8K UHD
    "video_frame_side": 8192,
}
# Those a person may set, in the unit their name says: setting: (limit, unit, variable). The
# command lines' options (--max-video-minutes 600) win over the variables
# (EMOTION_LOCAL_VIDEO_MINUTES=600), which win over LOCAL_LIMITS.
LOCAL_SETTINGS = {
    "max_photo_mb": ("photo_bytes", MB, "EMOTION_LOCAL_PHOTO_MB"),
    "max_photo_megapixels": ("photo_pixels", 1_000_000, "EMOTION_LOCAL_PHOTO_MEGAPIXELS"),
    "max_video_mb": ("video_bytes", MB, "EMOTION_LOCAL_VIDEO_MB"),
    "max_video_minutes": ("video_seconds", 60, "EMOTION_LOCAL_VIDEO_MINUTES"),
}


def _amount(name: str, text: str, unit: int) -> int:
    """A positive number of ``unit`` given as text (an option or a variable) -> the count
    of bytes, pixels or seconds; ValueError naming ``name`` otherwise."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a positive number, not {text!r}")
    return max(1, round(value * unit))


@dataclass(frozen=True)
class Retention:
    """How long files (and what is kept in memory) may stay on the server (see
    emotion_recognition.serving.store)."""

    unused_upload_s: float = 600.0   # an upload no request has analysed
    result_s: float = 600.0          # annotated images, videos and CSVs
    sweep_every_s: float = 30.0
    kept_photo_s: float = 600.0      # a session's decoded photo (in memory), after its last use
    live_session_s: float = 120.0    # a live session, after its page last used it (memory)

    @classmethod
    def from_environment(cls) -> "Retention":
        """The defaults, or shorter times from EMOTION_KEEP_UPLOADS_S, EMOTION_KEEP_RESULTS_S,
        EMOTION_SWEEP_EVERY_S and EMOTION_KEEP_PHOTO_S (used by the tests)."""
        default, env = cls(), os.environ
        return cls(float(env.get("EMOTION_KEEP_UPLOADS_S", default.unused_upload_s)),
                   float(env.get("EMOTION_KEEP_RESULTS_S", default.result_s)),
                   float(env.get("EMOTION_SWEEP_EVERY_S", default.sweep_every_s)),
                   float(env.get("EMOTION_KEEP_PHOTO_S", default.kept_photo_s)))

    def privacy_text(self) -> str:
        """The promise, in the words the README and the UI use."""
        return (f"An uploaded photo or video is deleted when the request that analyses it ends "
                f"(an upload never analysed: within {duration_words(self.unused_upload_s)}); "
                f"results (annotated images, videos, CSVs) are deleted within "
                f"{duration_words(self.result_s)}; your last photo stays in the server's "
                f"memory (never on disk) for re-runs with other settings, at most "
                f"{duration_words(self.kept_photo_s)} after its last use; nothing survives a "
                "stop or restart of the server.")


def duration_words(seconds: float) -> str:
    """10 minutes, 3 min 20 s, 45 s: a duration as the UI and the README say it."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if seconds >= 60:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{seconds:g} s"


LIMITS = Limits.from_environment()
