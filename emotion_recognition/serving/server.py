"""One running app's state, free of Gradio: the recognizer, the upload store, the kept
photos and the live sessions with their limits; and what the web server puts around the
app (request bodies counted, uploads counted, the live route, the lifespan).

The UI (ui/, app.py) makes one with ``Server.open()`` when it builds the page and hands it
to the actions (photo.py, video.py, live.py, journal.py); nothing is made at import.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial

from starlette.middleware import Middleware
from starlette.routing import Route

from emotion_recognition.core.labels import DEFAULT_EMOTION_SET
from emotion_recognition.core.limits import LIMITS, MB
from emotion_recognition.core.pipeline import EmotionRecognizer, ModelDir
from emotion_recognition.live.sessions import LiveSessions
from emotion_recognition.models.hub import served_model_dir
from emotion_recognition.serving.clients import PerClient, Share
from emotion_recognition.serving.kept_photos import KeptPhotos
from emotion_recognition.serving.live import live_frame_route
from emotion_recognition.serving.middleware import (UPLOAD_ROUTE, BodyLimit, QuietClientErrors,
                                                    UploadCounter)
from emotion_recognition.serving.process import clean_up_on_exit, lifespan
from emotion_recognition.serving.store import FileStore

LIVE_ROUTE = "/live/frame"  # a webcam frame (JPEG) in, the annotated frame (JPEG) out
MULTIPART_SLACK = MB  # an upload's body: the file and its multipart framing


@dataclass
class Server:
    recognizer: EmotionRecognizer  # loads nothing until the first request (or warm_up)
    files: FileStore               # this server's uploads and results (serving/store.py)
    kept_photos: KeptPhotos        # each session's last photo, for re-runs (in memory)
    live_sessions: LiveSessions    # in memory only
    live_workers: threading.BoundedSemaphore  # live frames analysed at once
    live_pixels: Share             # and their pixels
    live_clients: PerClient        # frames of each address (and of all) in the server at once

    @classmethod
    def open(cls, model_dir: ModelDir = served_model_dir,
             files: FileStore | None = None) -> "Server":
        files = files or FileStore.open()
        retention = files.retention
        return cls(EmotionRecognizer(model_dir), files,
                   KeptPhotos(LIMITS.kept_photo_bytes, retention.kept_photo_s),
                   LiveSessions(ttl_s=retention.live_session_s),
                   threading.BoundedSemaphore(LIMITS.live_workers),
                   Share(LIMITS.live_pixels_at_once),
                   PerClient(LIMITS.live_frames_per_client, LIMITS.live_frames_at_once))

    def warm_up(self) -> None:
        """Load the default model before serving: a quick first answer."""
        self.recognizer.classifier(DEFAULT_EMOTION_SET)

    def clean_up_on_exit(self) -> None:
        """SIGTERM, Ctrl+C or a normal exit: nothing of this server is left on disk."""
        clean_up_on_exit(self.files)

    def body_limits(self) -> dict[str, tuple[int, str]]:
        """What a request may send, counted as it arrives: (limits by route, the rest)."""
        return {LIVE_ROUTE: (LIMITS.live_frame_bytes,
                             f"A webcam frame is at most {LIMITS.live_frame_bytes // MB} MB."),
                UPLOAD_ROUTE: (LIMITS.upload_bytes + MULTIPART_SLACK,
                               f"An upload is at most {LIMITS.upload_bytes // MB} MB.")}

    def web_settings(self) -> dict:
        """The web server's middleware, lifespan and extra routes (the app's launch passes
        them as its app_kwargs)."""
        other = (LIMITS.request_bytes, f"A request is at most {LIMITS.request_bytes // MB} MB.")
        route = Route(LIVE_ROUTE, partial(live_frame_route, self), methods=["POST"])
        return {"middleware": [Middleware(QuietClientErrors),
                               Middleware(BodyLimit, limits=self.body_limits(), default=other,
                                          store=self.files),
                               Middleware(UploadCounter, store=self.files)],
                "lifespan": lifespan(self.files), "routes": [route]}
