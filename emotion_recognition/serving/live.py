"""The live view's route and actions, free of Gradio: a webcam frame in, the annotated
frame out (its own route, outside Gradio's event queue); the session's emotion set and
detector; its timeline; its CSV.

POST ``/live/frame?session=ID`` costs the page one fetch and the server one decode,
analysis and encode, nothing more (a Gradio stream event spent about 30 ms of the page's
main thread per frame on its bookkeeping, so the page itself capped the rate). Nothing is
written to disk. Each address may have LIMITS.live_frames_per_client frames in the server
at once (a page sends 3), all addresses LIMITS.live_frames_at_once; a frame's body is
counted as it arrives (middleware.BodyLimit), its session (or the room for a new one) and
its header checked before it is decoded; a session is made only for a valid frame.
A frame's ``seq`` and ``t`` (the page's frame number and capture time in ms since it started
the camera) put a session's frames in the order they were captured: one captured before the
last analysed is answered 204 (no content) and not analysed. ``mirrored=1``: the page sent
a selfie view (the session's rows give boxes in the camera's own frame). ``replaces``
names this page's previous session (a Start after a Stop is a new session), which ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from emotion_recognition.core.annotate import jpeg_bytes
from emotion_recognition.core.decode import decode_frame
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.limits import LIMITS
from emotion_recognition.core.rows import write_rows_csv
from emotion_recognition.live.session import LiveSession
from emotion_recognition.live.sessions import LIVE_SESSION_ID
from emotion_recognition.serving.clients import client_address
from emotion_recognition.serving.log import log_user_error
from emotion_recognition.video.timeline import Timeline

if TYPE_CHECKING:
    from emotion_recognition.serving.server import Server

LIVE_JPEG_QUALITY = 80
FACES_HEADER = "X-Faces"  # how many faces the annotated frame has
TIMELINE_WINDOW_S = 60.0
TIMELINE_POINTS_PER_S = 4  # per face: the browser redraws the plot every second
NUMBER = re.compile(r"\d{1,9}(\.\d{1,3})?")


@dataclass(frozen=True)
class FrameDetails:
    """What a page says of a frame besides its pixels (see the module's docstring)."""

    sequence: int | None = None
    captured_s: float | None = None
    mirrored: bool = False
    replaces: str | None = None

    @classmethod
    def of(cls, query) -> "FrameDetails":
        """From the route's query parameters; EmotionAppError for values no page sends."""
        seq, t = query.get("seq"), query.get("t")
        mirrored, replaces = query.get("mirrored", "0"), query.get("replaces")
        if (any(v is not None and not NUMBER.fullmatch(v) for v in (seq, t))
                or (seq is not None and "." in seq) or mirrored not in ("0", "1")
                or (replaces is not None and not LIVE_SESSION_ID.fullmatch(replaces))):
            raise EmotionAppError("This frame's details are not valid: please reload the page.")
        return cls(None if seq is None else int(seq), None if t is None else float(t) / 1000,
                   mirrored == "1", replaces)


async def live_frame_route(server: Server, request: Request) -> Response:
    """POST ``/live/frame?session=ID``: a webcam frame as JPEG -> the annotated frame as JPEG."""
    client = client_address(request.scope)
    refused = server.live_clients.enter(client)
    if refused is not None:
        return _too_many_frames(refused)
    try:
        body = await request.body()
        answer = await run_in_threadpool(frame_answer, server,
                                         request.query_params.get("session"), body, client,
                                         FrameDetails.of(request.query_params))
        if answer is None:  # captured before the last frame analysed: dropped
            return Response(status_code=204, headers={"Cache-Control": "no-store"})
        answer, faces = answer
        return Response(answer, media_type="image/jpeg",
                        headers={"Cache-Control": "no-store", FACES_HEADER: str(faces)})
    except EmotionAppError as error:
        log_user_error("live", str(error))
        return PlainTextResponse(str(error), status_code=400)
    finally:
        server.live_clients.leave(client)


def frame_answer(server: Server, session_id: str | None, body: bytes, client: str,
                 details: FrameDetails = FrameDetails()) -> tuple[bytes, int] | None:
    """One frame of a session, annotated, and how many faces it has (the page says when
    there is none); None for a frame captured before the last one analysed. A session
    exists only once a frame was found valid (so bad frames hold no place)."""
    if details.replaces and details.replaces != session_id:
        server.live_sessions.end(details.replaces, client)  # its place is this one's
    server.live_sessions.admit(session_id, client)  # before a pixel is decoded
    rgb = decode_frame(body)
    session = server.live_sessions.get(session_id, create=True, client=client)
    order = details.sequence if details.sequence is not None else details.captured_s
    pixels = server.live_pixels.hold(rgb.shape[0] * rgb.shape[1])
    # this page's frames one at a time, the earliest captured first
    with session.in_order.turn(order if order is not None else float("inf")), \
            server.live_workers, pixels:
        answer = session.process(rgb, server.recognizer, captured_s=details.captured_s,
                                 sequence=details.sequence, mirrored=details.mirrored)
    if answer is None:
        return None
    annotated, faces = answer
    return jpeg_bytes(annotated, quality=LIVE_JPEG_QUALITY), len(faces)


def _too_many_frames(refused: str) -> Response:
    """A 429 for a frame over the in-flight limit of its client, or of all clients."""
    if refused == "client":
        log_user_error("live", f"over {LIMITS.live_frames_per_client} frames at once")
        text = "Too many frames at once from this address: a live view sends three at a time."
    else:
        log_user_error("live", f"over {LIMITS.live_frames_at_once} frames at once in all")
        text = "The server is busy with other live views: the next frame will try again."
    return PlainTextResponse(text, status_code=429)


def choose(server: Server, session_id: str | None, emotion_set: str | None = None,
           detector: str | None = None) -> None:
    """The live tab's emotion set or detector changed: the session's next frames use it.
    (No frame yet, no session: the timer passes the choice on once there is.)"""
    session = server.live_sessions.get(session_id)
    if session is not None and emotion_set:
        session.emotion_set = emotion_set
    if session is not None and detector:
        session.detector_name = detector


def timelines(server: Server, session_id: str | None) -> tuple[Timeline | None, Timeline | None]:
    """(the last minute of the session, thinned for a plot; the whole session, for the
    choice of faces), or (None, None) before its first frame."""
    session = server.live_sessions.get(session_id)
    if session is None:
        return None, None
    return session.timeline(TIMELINE_WINDOW_S, TIMELINE_POINTS_PER_S), session.timeline()


def session_csv(server: Server, session_id: str | None) -> str:
    """The session's face rows (core/rows.py) as a CSV of this request's own (every emotion
    of the session: its set may have changed)."""
    session = server.live_sessions.get(session_id)
    records, labels = session.snapshot() if session is not None else ([], ())
    if not records:
        raise EmotionAppError(nothing_recorded(session))
    with server.files.result_dir() as out:
        return str(write_rows_csv(session.rows(), labels, out / "webcam_session.csv"))


def nothing_recorded(session: LiveSession | None) -> str:
    """Why a session has no face rows, truly: it never ran, or it saw no face."""
    if session is None or not session.frames:
        return "Nothing recorded yet: start the camera first."
    seconds = max(1, round(session.seconds))
    return (f"The camera ran for {seconds} s but saw no face, so there is nothing to "
            "export: face the camera, in good light, and try again.")


def session_records(server: Server, session_id: str | None) -> list:
    """The session's records so far (none when there is no such session)."""
    session = server.live_sessions.get(session_id)
    return session.snapshot()[0] if session is not None else []
