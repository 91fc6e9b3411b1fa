"""Gradio app: photos and webcam snapshots, every face boxed and labelled with its emotion.

The only module that imports gradio; all the work happens in emotion_recognition.
Run ``python app.py`` and open http://127.0.0.1:7860.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime
from functools import partial
from pathlib import Path

import gradio as gr
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

import pandas as pd

from emotion_recognition import journal, journal_views, suggestions
from emotion_recognition.annotate import (EMOTION_COLOURS, colour_hex, display_size, draw, for_display,
                                          jpeg_bytes)
from emotion_recognition.detectors import DEFAULT_DETECTOR, DETECTORS
from emotion_recognition.errors import EmotionAppError
from emotion_recognition.labels import DEFAULT_EMOTION_SET, EMOTION_SETS, EMOTIONS7
from emotion_recognition.limits import LIMITS
from emotion_recognition.explain import overlay
from emotion_recognition.photo_session import KeptPhoto, analyse_photo, face_at
from emotion_recognition.pipeline import EmotionRecognizer
from emotion_recognition.report import boxes_table, face_name, shares_table, styled_faces_table
from emotion_recognition.serving import (UploadCounter, clean_up_on_exit, lifespan,
                                         log_user_error)
from emotion_recognition.storage import FileStore
from emotion_recognition.timeline import Timeline
from emotion_recognition.video import (VIDEO_SUFFIXES, LiveSessions, analyze_video, poster,
                                       write_records_csv)

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
EMOTION_SET_CHOICES = [(s.title, s.name) for s in EMOTION_SETS.values()]
DETECTOR_CHOICES = [(f"{name}: {text}", name) for name, text in DETECTORS.items()]
KEPT_PHOTO_TTL_S = 600  # a session's decoded photo is dropped after 10 minutes unused
LIVE_ROUTE = "/live/frame"  # a webcam frame (JPEG) in, the annotated frame (JPEG) out
LIVE_MAX_FRAME_BYTES = 2 * 2**20
LIVE_SESSION_IDLE_S = 120  # a live session is forgotten this long after its page last used it
LIVE_WORKERS = 4  # live frames analysed at once (of all sessions); the others wait their turn
# Phones: every tab fits in one row (no "..." menu), the page uses the screen's width.
# (In <head>: Gradio scopes `css` to its content, and the page padding is outside it.)
PHONE_STYLE = """<style>
@media (max-width: 560px) {
  .gradio-container .main { padding-left: 8px !important; padding-right: 8px !important; }
  .gradio-container [role=tablist] button { padding: 0 9px !important; }
  .gradio-container .privacy p { font-size: 12px; line-height: 1.4; }
  .gradio-container :is(.faces-table, .video-shares) .cell-wrap {
    padding: 4px 2px !important; font-size: 11px; font-family: var(--font); }
  .gradio-container :is(.faces-table, .video-shares) [role=columnheader] * {
    white-space: normal !important; overflow-wrap: anywhere; text-overflow: clip !important; }
}
</style>"""
# After an answer, the results come into view (on a phone they are below the inputs).
SCROLL_TO_RESULTS_JS = """() => {
  const panel = [...document.querySelectorAll('.results')].find(e => e.offsetParent !== null);
  const top = panel ? panel.getBoundingClientRect().top : 0;
  if (panel && (top < 0 || top > window.innerHeight * 0.5))
    panel.scrollIntoView({behavior: 'smooth', block: 'start'});
}"""
recognizer = EmotionRecognizer()  # loads nothing until the first request (or launch below)
files = FileStore.open()  # this server's uploads and results (emotion_recognition.storage)
live_sessions = LiveSessions(ttl_s=LIVE_SESSION_IDLE_S)  # in memory only
live_workers = threading.BoundedSemaphore(LIVE_WORKERS)
os.environ["GRADIO_TEMP_DIR"] = str(files.root)  # Gradio saves uploads there from now on


def save_jpeg(rgb, path: Path) -> Path:
    """An annotated RGB image as a JPEG file of this request's own."""
    import cv2

    cv2.imwrite(str(path), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def _user_error(where: str, error: Exception | str) -> gr.Error:
    """A user's mistake: a plain message for them, one log line (no traceback) for us."""
    log_user_error(where, str(error))
    return gr.Error(str(error), print_exception=False)


class _QuietValidation:
    """A component whose own checks (an unknown choice, a number out of range) catch a
    client's mistake: one log line, no traceback."""

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except gr.Error as error:
            raise _user_error(str(self.label or type(self).__name__), error.message) from None

    def get_block_name(self) -> str:  # the frontend of the Gradio class mixed in (not ours)
        return type(self).__mro__[2].__name__.lower()

    get_block_class = get_block_name


class EmotionSetRadio(_QuietValidation, gr.Radio):
    is_template = True  # rendered by the frontend's own Radio component


class FramesSlider(_QuietValidation, gr.Slider):
    is_template = True


class DetectorRadio(_QuietValidation, gr.Radio):
    is_template = True


def detector_setting() -> DetectorRadio:
    """The face detector, an advanced setting (closed accordion) of a tab."""
    with gr.Accordion("Advanced: face detector", open=False, elem_classes=["detector-setting"]):
        return DetectorRadio(DETECTOR_CHOICES, value=DEFAULT_DETECTOR, label="Face detector",
                             info="blazeface is the fastest on large photos but misses more "
                             "small faces; combined finds the most and is the slowest.")


class UploadedImage(gr.Image):
    """gr.Image that hands over the uploaded file untouched, even when it is not a valid
    image, so our decoder can tell the user what is wrong instead of a generic error."""

    is_template = True  # rendered by the frontend's own Image component

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:
            return str(payload.path) if payload is not None and payload.path else None


def analyze_photo(image: str | None, emotion_set: str, explain: bool = False,
                  detector: str = DEFAULT_DETECTOR, kept: KeptPhoto | None = None):
    """API ``/analyze``: an image, "emotion7"/"emotion4", explain (default off) and the face
    detector ("haar", the default, "blazeface" or "combined") -> (annotated image, faces).

    Faces are ``[{"box": [x, y, w, h], "label", "confidence", "scores": {...}}]``; with
    explain each also has ``"explanation": {"frame": [x, y, w, h], "heatmap": 12x12}``
    (how much hiding each part of the face frame lowers the label's probability, 0..1).
    """
    if image is None:
        raise _user_error("analyze", "Please upload a photo or take a webcam snapshot first.")
    try:
        kept = analyse_photo(recognizer, image, kept, files.claim,
                             emotion_set or DEFAULT_EMOTION_SET, bool(explain),
                             detector or DEFAULT_DETECTOR)
    except EmotionAppError as error:
        raise _user_error("analyze", error) from None
    result = kept.analysis
    with files.result_dir() as out:  # this request's own file: never shared, never rewritten
        annotated = save_jpeg(for_display(draw(result.image, result.faces)), out / "annotated.jpg")
    return str(annotated), result.face_dicts(), kept


def reanalyze_photo(image, emotion_set, explain, detector, kept):
    """The emotion set, the heat-map toggle or the detector changed: analyse again if there
    is a photo."""
    if image is None:
        return gr.skip(), gr.skip(), gr.skip()
    return analyze_photo(image, emotion_set, explain, detector, kept)


def show_photo(kept: KeptPhoto | None, explain: bool):
    """Everything the results panel shows, from the session's latest analysis."""
    result = kept.analysis if kept is not None else None
    faces = result.face_dicts() if result is not None else []
    if not faces:
        note = f"**{result.message}**" if result is not None else ""
        return (note, gr.update(choices=[], value=None, visible=False), gr.update(value=None, visible=False),
                gr.update(visible=False), gr.update(visible=False), gr.update(value=None, visible=False))
    names = [face_name(i, f) for i, f in enumerate(faces)]
    note = f"**{len(faces)} face{'s' if len(faces) > 1 else ''} found.** " + (
        "Pick yours below (or click it in the picture): the bars show its emotions, and it is "
        "the face *Add to my journal* adds." if len(faces) > 1 else "")
    heat = [(overlay(result.image, e), names[i]) for i, e in enumerate(result.explanations)]
    # Several faces: none is picked yet (the bars show the first) until the person picks one.
    return (note, gr.update(choices=[(n, i) for i, n in enumerate(names)], value=None,
                            visible=len(faces) > 1),
            _bars(faces, 0), gr.update(value=styled_faces_table(faces), visible=True,
                                       column_widths=_faces_table_widths(len(faces[0]["scores"]))),
            gr.update(value=boxes_table(faces), visible=True),
            gr.update(value=heat or None, visible=bool(explain and heat)))


def _faces_table_widths(emotions: int) -> list[str]:
    """Columns that share the table's width (face, emotion, then one per emotion), so that
    a phone shows every probability without scrolling sideways."""
    each = (100 - 7 - 14) / emotions
    return ["7%", "14%", *[f"{each:.2f}%"] * emotions]


def _bars(faces: list[dict], index) -> dict:
    """Confidence bars of one face."""
    if not faces or index is None or not 0 <= int(index) < len(faces):
        return gr.update(value=None, visible=False)
    face = faces[int(index)]
    return gr.update(value=face["scores"], label=face_name(int(index), face), visible=True)


def pick_face(kept: KeptPhoto | None, evt: gr.SelectData):
    """A click on the annotated picture picks the face under it."""
    shown = display_size(*kept.rgb.shape[:2])[0] if kept is not None else 0
    index = face_at(kept, evt.index[0], evt.index[1], shown)
    return gr.skip() if index is None else index


def clear_photo(image: str | None = None, kept: KeptPhoto | None = None):
    """A new photo (or none): the old results go (unless they are already this photo's:
    an analysis started at once may finish before this event)."""
    if image is not None and kept is not None and kept.source == image:
        return (gr.skip(),) * 9
    return (None, [], None, "", gr.update(choices=[], value=None, visible=False),
            gr.update(value=None, visible=False), gr.update(visible=False),
            gr.update(visible=False), gr.update(value=None, visible=False))


async def live_frame_route(request: Request) -> Response:
    """POST ``/live/frame?session=ID``: a webcam frame as JPEG -> the annotated frame as JPEG.

    The live tab's own route, outside Gradio's event queue: a frame costs the page one
    fetch and the server one decode, analysis and encode, nothing more (a Gradio stream
    event spent about 30 ms of the page's main thread per frame on its bookkeeping, so the
    page itself capped the rate). Nothing is written to disk.
    """
    if int(request.headers.get("content-length") or 0) > LIVE_MAX_FRAME_BYTES:
        return PlainTextResponse("A webcam frame is at most 2 MB.", status_code=413)
    body = await request.body()
    if len(body) > LIVE_MAX_FRAME_BYTES:
        return PlainTextResponse("A webcam frame is at most 2 MB.", status_code=413)
    try:
        return Response(await run_in_threadpool(_live_answer, request.query_params.get("session"),
                                                body),
                        media_type="image/jpeg", headers={"Cache-Control": "no-store"})
    except EmotionAppError as error:
        log_user_error("live", str(error))
        return PlainTextResponse(str(error), status_code=400)


def _live_answer(session_id: str | None, body: bytes) -> bytes:
    import cv2
    import numpy as np

    session = live_sessions.get(session_id, create=True)
    bgr = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR) if body else None
    if bgr is None or bgr.shape[0] * bgr.shape[1] > 1920 * 1080:
        raise EmotionAppError("A webcam frame must be a JPEG image of at most 1920x1080.")
    with session.lock, live_workers:  # this page's frames one at a time, in order
        annotated, _ = session.process(bgr[..., ::-1], recognizer, session.emotion_set)
    return jpeg_bytes(annotated, quality=80)


def live_emotion_set(session_id: str | None, emotion_set: str) -> None:
    """The live tab's emotion set changed: the session's next frames use it."""
    session = live_sessions.get(session_id)
    if session is not None:  # else no frame yet: the timer passes the choice on once there is
        session.emotion_set = emotion_set or DEFAULT_EMOTION_SET


def live_detector(session_id: str | None, detector: str) -> None:
    """The live tab's face detector changed: the session's next frames use it."""
    session = live_sessions.get(session_id)
    if session is not None:  # else no frame yet: the timer passes the choice on once there is
        session.detector_name = detector or DEFAULT_DETECTOR


def live_timeline(session_id: str | None, choice, emotion_set: str | None = None,
                  detector: str | None = None, window_s: float = 60.0):
    """The last minute of the session, as the timeline chooser asks; and its choices.
    (Four points per face per second: the browser redraws the plot every second, and every
    frame's point would slow the live view down.) The emotion set and detector chosen are
    the session's."""
    session = live_sessions.get(session_id)
    if session is not None and emotion_set:
        session.emotion_set = emotion_set
    if session is not None and detector:
        session.detector_name = detector
    timeline = session.timeline(window_s, per_second=4) if session is not None else None
    return (*timeline_plots(timeline, choice),
            gr.update(choices=timeline_choices(session.timeline() if session else None)))


def live_csv(session_id: str | None):
    session = live_sessions.get(session_id)
    if session is None or not session.records:
        raise _user_error("live_csv", "Nothing recorded yet: start the camera first.")
    with files.result_dir() as out:
        return str(write_records_csv(session.records, session.labels, out / "webcam_session.csv"))


ALL_FACES = "all"


def timeline_choices(timeline: Timeline | None) -> list[tuple[str, str]]:
    ids = timeline.face_ids() if timeline is not None else []
    return [("Every face: its winning emotion", ALL_FACES),
            *[(f"Face {i}: every emotion", str(i)) for i in ids]]


def timeline_plots(timeline: Timeline | None, choice: str | None):
    """(every face's winning emotion, one face's probabilities): the chosen one shown."""
    if timeline is None or not timeline.records:
        return gr.update(value=None, visible=True), gr.update(value=None, visible=False)
    if choice in (None, ALL_FACES) or int(choice) not in timeline.face_ids():
        rows = pd.DataFrame(timeline.winners())
        rows["face"] = "face " + rows["face"].astype(str)  # one row of dots per face
        return gr.update(value=rows, visible=True), gr.update(visible=False)
    rows = pd.DataFrame(timeline.probabilities(int(choice)))
    return gr.update(visible=False), gr.update(value=rows, visible=True)


def analyze_video_file(video: str | None, emotion_set: str, sample_fps: float,
                       detector: str = DEFAULT_DETECTOR, progress=gr.Progress()):
    """API ``/analyze_video``: a video, the emotion set, frames per second to analyse and the
    face detector (default "haar") -> (annotated MP4 video, per-frame CSV, summary JSON)."""
    if not video:
        raise _user_error("analyze_video", "Please upload a video first (MP4, WebM, AVI or MOV).")
    stem = Path(video).stem[:40] or "video"
    try:
        with files.claim(video) as path, files.result_dir() as out:
            result = analyze_video(path, recognizer, emotion_set or DEFAULT_EMOTION_SET,
                                   float(sample_fps), out / f"{stem}_annotated.mp4",
                                   progress=lambda f, text: progress(f, desc=text), limits=LIMITS,
                                   detector=detector or DEFAULT_DETECTOR)
            csv_path = write_records_csv(result.records, result.labels, out / f"{stem}_emotions.csv")
    except EmotionAppError as error:
        raise _user_error("analyze_video", error) from None
    return str(result.annotated_path), str(csv_path), result.summary(), result.timeline


def show_video(summary: dict | None, timeline: Timeline | None):
    """The sentence, the timeline (every face at first) and the share-of-time table."""
    if not summary:
        return "", gr.update(choices=timeline_choices(None), value=ALL_FACES), *timeline_plots(None, None), shares_table({})
    message = (f"{summary['frames_analysed']} frames analysed over {summary['duration_s']} s; "
               f"{summary['faces']} face(s) followed." if summary["faces"]
               else f"**No face found** in the {summary['frames_analysed']} frames analysed.")
    if summary.get("stopped_at_s") is not None:
        message += (f" **Stopped at {summary['stopped_at_s']} s**: a video job may take "
                    f"{LIMITS.video_job_seconds // 60} minutes at most.")
    return (message, gr.update(choices=timeline_choices(timeline), value=ALL_FACES),
            *timeline_plots(timeline, ALL_FACES), _shares(summary["share_of_time"]))


def _shares(shares: dict) -> dict:
    """The share-of-time table, its columns sharing the width (a phone shows them all)."""
    table = shares_table(shares)
    each = (100 - 16) / max(1, len(table.columns) - 1)
    return gr.update(value=table, column_widths=["16%", *[f"{each:.2f}%"] * (len(table.columns) - 1)])


def preview_video(video: str | None):
    """On upload, before any analysis: the first frame and the video's facts (a browser
    cannot play every upload, e.g. OpenCV's MP4s, AVI, MOV); old results go."""
    if not video:
        return gr.update(value=None, visible=False), "", *clear_video()
    try:
        info, frame = poster(video)
    except EmotionAppError as error:
        return gr.update(value=None, visible=False), f"**{error}**", *clear_video()
    facts = (f"**{Path(video).name}**: {info.duration:.1f} s, {info.width}x{info.height}, "
             f"{info.fps:g} frames per second. Ready to analyse.")
    return gr.update(value=for_display(frame, 640), visible=True), facts, *clear_video()


def clear_video():
    return (None, None, None, None, "", gr.update(choices=timeline_choices(None), value=ALL_FACES),
            *timeline_plots(None, None), shares_table({}))


def _analysis_tab(sources: list[str], with_examples: bool, api_name: str | None,
                  journal_store: gr.BrowserState | None = None):
    with gr.Row(equal_height=False):
        with gr.Column():
            image = UploadedImage(sources=sources, type="filepath", image_mode=None,
                                  label="Photo" if "upload" in sources else "Webcam snapshot")
            if with_examples:
                examples = gr.Examples([[str(p)] for p in sorted(EXAMPLES_DIR.glob("*.jpg"))],
                                       inputs=[image], label="Examples (public domain): click one")
            emotion_set = EmotionSetRadio(EMOTION_SET_CHOICES, value=DEFAULT_EMOTION_SET, label="Emotions")
            explain = gr.Checkbox(False, label="Why this emotion? Show heat maps of what the "
                                  "model looked at (slower)", elem_classes=["explain-toggle"])
            detector = detector_setting()
            button = gr.Button("Analyse", variant="primary")
        with gr.Column(elem_classes=["results"]):
            annotated = gr.Image(label="Faces and emotions", show_label=False, type="filepath",
                                 interactive=False, buttons=["download", "fullscreen"],
                                 elem_classes=["annotated-image"])
            message = gr.Markdown(elem_classes=["photo-message"])
            selector = gr.Radio([], label="Face", visible=False, elem_classes=["face-selector"],
                                info="Which one is you? Its emotions show below; the journal adds it.")
            bars = gr.Label(num_top_classes=7, visible=False, elem_classes=["face-bars"])
            heat = gr.Gallery(label="Why this emotion: red regions drove the prediction", visible=False,
                              columns=3, height=260, object_fit="contain", elem_classes=["heat-maps"])
    table = gr.Dataframe(label="Probabilities per face (%)", interactive=False, visible=False,
                         elem_classes=["faces-table"])
    with gr.Accordion("Details: where each face is (pixels)", open=False):
        boxes = gr.Dataframe(interactive=False, visible=False, elem_classes=["boxes-table"])
    faces = gr.JSON(label="Faces (JSON)", visible=False)
    kept = gr.State(None, time_to_live=KEPT_PHOTO_TTL_S)
    if journal_store is not None:
        _journal_adder(faces, selector, "photo" if "upload" in sources else "snapshot", journal_store)
    results = [message, selector, bars, table, boxes, heat]
    run = dict(concurrency_id="analyze", concurrency_limit=2)
    event = button.click(analyze_photo, [image, emotion_set, explain, detector, kept],
                         [annotated, faces, kept],
                         api_name=api_name, api_visibility="public" if api_name else "private", **run)
    event.success(show_photo, [kept, explain], results, api_visibility="private").then(
        None, js=SCROLL_TO_RESULTS_JS)
    rerun = gr.on([emotion_set.input, explain.input, detector.input], reanalyze_photo,
                  [image, emotion_set, explain, detector, kept], [annotated, faces, kept],
                  api_visibility="private", **run)
    rerun.success(show_photo, [kept, explain], results, api_visibility="private")
    gr.on([image.input, image.clear], clear_photo, [image, kept], [annotated, faces, kept, *results],
          api_visibility="private", show_progress="hidden")
    if with_examples:
        example = examples.load_input_event.then(clear_photo, None, [annotated, faces, kept, *results],
                                                 api_visibility="private", show_progress="hidden")
        example = example.then(analyze_photo, [image, emotion_set, explain, detector, kept],
                               [annotated, faces, kept], api_visibility="private", **run)
        example.success(show_photo, [kept, explain], results, api_visibility="private").then(
            None, js=SCROLL_TO_RESULTS_JS)
    selector.change(lambda f, i: gr.skip() if i is None else _bars(f, i), [faces, selector], [bars],
                    api_visibility="private", show_progress="hidden")  # None: a new result's
    annotated.select(pick_face, [kept], [selector], api_visibility="private")
    return image


def emotion_legend(title: str = "Colours") -> str:
    """Each emotion's colour, as HTML that wraps on a narrow screen (the plots' own legend is
    one row: on a phone it cuts the last emotions off)."""
    chips = "".join(f"<span style='white-space:nowrap'><i style='display:inline-block;width:11px;"
                    f"height:11px;border-radius:2px;margin-right:4px;vertical-align:-1px;"
                    f"background:{colour_hex(name)}'></i>{name}</span>" for name in EMOTION_COLOURS)
    return (f"<div style='display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px'>"
            f"<span>{title}:</span>{chips}</div>")


def _timeline(label: str):
    """A chooser (every face, or one face) and its two plots, in the emotions' colours."""
    choice = gr.Radio(timeline_choices(None), value=ALL_FACES, label=label, elem_classes=["timeline-choice"])
    common = dict(x="time_s", color="emotion", color_map={n: colour_hex(n) for n in EMOTION_COLOURS},
                  colors_in_legend=[], x_title="time (s)", height=300, show_label=False,
                  elem_classes=["timeline"])
    winners = gr.ScatterPlot(None, y="face", y_title="face", tooltip=["face", "emotion", "probability"],
                             **common)
    one_face = gr.LinePlot(None, y="probability", y_title="probability", y_lim=[0, 1],
                           visible=False, **common)
    gr.HTML(emotion_legend(), elem_classes=["emotion-legend"])
    return choice, winners, one_face


def _live_tab(journal_store: gr.BrowserState | None = None) -> None:
    gr.Markdown("Start the camera: every face is followed and labelled live; labels are "
                "smoothed over recent frames. Frames are analysed in memory and never kept; the "
                f"session (for the timeline, the CSV and your journal) is forgotten "
                f"{LIVE_SESSION_IDLE_S // 60} minutes after you leave.")
    # Its value is the page's own random session id, which every event below sends along.
    session = gr.HTML("", html_template=LIVE_HTML, js_on_load=LIVE_JS, elem_classes=["live"],
                      padding=False)
    emotion_set = EmotionSetRadio(EMOTION_SET_CHOICES, value=DEFAULT_EMOTION_SET, label="Emotions")
    detector = detector_setting()
    choice, winners, one_face = _timeline("Timeline of the last minute")
    with gr.Row():
        export = gr.Button("Export this session as CSV", min_width=300)
        session_csv = gr.File(label="Session CSV (time, face id, box, probabilities)",
                              interactive=False, elem_classes=["session-csv"], min_width=300,
                              height=110)
    emotion_set.change(live_emotion_set, [session, emotion_set], None, api_visibility="private",
                       show_progress="hidden")
    detector.change(live_detector, [session, detector], None, api_visibility="private",
                    show_progress="hidden")
    gr.Timer(1.0).tick(live_timeline, [session, choice, emotion_set, detector],
                       [winners, one_face, choice],
                       api_visibility="private", show_progress="hidden")
    export.click(live_csv, [session], [session_csv], api_visibility="private")
    if journal_store is not None:
        _journal_live_adder(session, journal_store)


# The live view: the camera's frames go to LIVE_ROUTE and the annotated ones come back, three
# in flight (one analysed while the others travel), mirrored like a mirror; at most 30 a second.
LIVE_HTML = """
<div class="live-view" style="position:relative;min-height:260px;background:#5f5f5f;
  border-radius:8px;overflow:hidden;display:flex;align-items:center;justify-content:center">
  <img alt="Live emotions" style="display:none;width:100%;max-height:60vh;object-fit:contain">
  <video muted playsinline style="display:none;position:absolute;right:8px;bottom:8px;width:22%;
    border:2px solid #fff;border-radius:6px;transform:scaleX(-1)"></video>
  <span class="live-status" style="position:absolute;left:10px;top:8px;color:#fff;font-size:13px;
    text-shadow:0 0 3px #000">Press <b>Start the camera</b> and allow it.</span>
</div>
<button class="live-toggle" style="margin-top:8px;width:100%;padding:10px;border:none;
  border-radius:var(--button-large-radius, 8px);font-weight:600;font-size:16px;cursor:pointer;
  background:var(--button-primary-background-fill);color:var(--button-primary-text-color)">
  Start the camera</button>"""
LIVE_JS = """
const id = Array.from(crypto.getRandomValues(new Uint8Array(16)),
                      b => b.toString(16).padStart(2, '0')).join('');
const IN_FLIGHT = 3, MIN_GAP_MS = 1000 / 30, MAX_S = 600;
const canvas = document.createElement('canvas');
let stream = null, running = false, started = 0, lastSend = 0, shown = [], lastUrl = null;
const $ = s => element.querySelector(s);
const status = text => { const el = $('.live-status'); if (el) el.textContent = text; };
element.addEventListener('click', e => {
  if (e.target.closest('.live-toggle')) running ? stop('Stopped.') : start();
});
async function start() {
  try {
    stream = await navigator.mediaDevices.getUserMedia(
      {video: {width: {ideal: 640}, height: {ideal: 480}}, audio: false});
  } catch (error) { status('No camera: ' + error.message); return; }
  const video = $('video');
  video.srcObject = stream; video.style.display = 'block';
  await video.play();
  props.value = id;  // what the events below send: the timeline, the CSV, the journal
  running = true; started = performance.now();
  $('.live-toggle').textContent = 'Stop';
  status('Starting…');
  for (let i = 0; i < IN_FLIGHT; i++) send();
}
function stop(text) {
  running = false;
  if (stream) stream.getTracks().forEach(t => t.stop());
  stream = null;
  const video = $('video'); if (video) { video.srcObject = null; video.style.display = 'none'; }
  $('.live-toggle').textContent = 'Start the camera';
  status(text);
}
async function send() {
  if (!running) return;
  const video = $('video'), wait = lastSend + MIN_GAP_MS - performance.now();
  if (video.readyState < 2 || wait > 0) { setTimeout(send, Math.max(wait, 10)); return; }
  if (performance.now() - started > MAX_S * 1000) { stop('Stopped after 10 minutes.'); return; }
  lastSend = performance.now();
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const context = canvas.getContext('2d');
  context.setTransform(-1, 0, 0, 1, canvas.width, 0);
  context.drawImage(video, 0, 0);
  const frame = await new Promise(done => canvas.toBlob(done, 'image/jpeg', 0.8));
  try {
    const answer = await fetch(`ROUTE?session=${id}`, {method: 'POST', body: frame,
                                                     headers: {'Content-Type': 'image/jpeg'}});
    if (!answer.ok) { stop(await answer.text()); return; }
    show(await answer.blob());
  } catch (error) { stop('The server did not answer: ' + error.message); return; }
  send();
}
function show(blob) {
  if (!running) return;
  const img = $('img'), url = URL.createObjectURL(blob);
  img.onload = () => { if (lastUrl) URL.revokeObjectURL(lastUrl); lastUrl = url; };
  img.src = url; img.style.display = 'block';
  const now = performance.now();
  shown.push(now); shown = shown.filter(t => now - t < 2000);
  status(`live · ${(shown.length / 2).toFixed(0)} frames a second`);
}
""".replace("ROUTE", LIVE_ROUTE.lstrip("/"))


def _video_tab() -> None:
    with gr.Row(equal_height=False):
        with gr.Column():
            video = gr.File(label=f"Video (MP4, WebM, AVI, MOV; up to {LIMITS.video_seconds // 60} min)",
                            file_types=sorted(VIDEO_SUFFIXES), elem_classes=["video-input"])
            first_frame = gr.Image(label="First frame", interactive=False, visible=False, buttons=[],
                                   elem_classes=["video-poster"])
            facts = gr.Markdown(elem_classes=["video-facts"])
            emotion_set = EmotionSetRadio(EMOTION_SET_CHOICES, value=DEFAULT_EMOTION_SET, label="Emotions")
            sample_fps = FramesSlider(LIMITS.video_fps_min, LIMITS.video_fps_max, value=5, step=1,
                                      label="Frames analysed per second")
            gr.Markdown(LIMITS.video_text(), elem_classes=["limits"])
            detector = detector_setting()
            button = gr.Button("Analyse video", variant="primary")
        with gr.Column(elem_classes=["results"]):
            annotated = gr.Video(label="Annotated video (analysed frames)", interactive=False)
            message = gr.Markdown(elem_classes=["video-message"])
    choice, winners, one_face = _timeline("Timeline")
    with gr.Row():  # one above the other on a phone
        shares = gr.Dataframe(shares_table({}), label="Share of time in each emotion (%)",
                              interactive=False, min_width=340, scale=2,
                              elem_classes=["video-shares"])
        csv_file = gr.File(label="Per-frame CSV", interactive=False, min_width=340)
    summary, timeline = gr.JSON(visible=False), gr.State(None)
    results = [annotated, csv_file, summary, timeline, message, choice, winners, one_face, shares]
    gr.on([video.upload, video.clear], preview_video, [video], [first_frame, facts, *results],
          api_visibility="private")
    event = button.click(analyze_video_file, [video, emotion_set, sample_fps, detector],
                         [annotated, csv_file, summary, timeline], api_name="analyze_video",
                         concurrency_id="video", concurrency_limit=1)
    event.success(None, js=SCROLL_TO_RESULTS_JS)
    event.success(show_video, [summary, timeline], [message, choice, winners, one_face, shares],
                  api_visibility="private")
    choice.change(timeline_plots, [timeline, choice], [winners, one_face], api_visibility="private",
                  show_progress="hidden")


# --- Mood journal: kept in the person's browser (gr.BrowserState), never on our disk. ---
# The server only sees the entries an action sends, in memory; an export is saved by the
# browser and an import read by it, so no journal file is ever uploaded nor cached here.

JOURNAL_STORAGE_KEY = "emotion-journal"
# BrowserState encrypts with a secret the page itself carries (so it obfuscates, no more);
# a fixed one keeps the journal readable after a server restart, which a random one would not.
JOURNAL_SECRET = "emotion-journal-v1"
_EMOTION_HEX = {name: colour_hex(name) for name in EMOTIONS7}
_LOCAL_TIME_JS = """(...args) => {
  const d = new Date(), z = -d.getTimezoneOffset();
  const p = n => String(Math.trunc(Math.abs(n))).padStart(2, '0');
  args[COUNT - 1] = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}` +
    `T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` +
    `${z < 0 ? '-' : '+'}${p(z / 60)}:${p(z % 60)}`;
  return args.slice(0, COUNT);
}"""
_DOWNLOAD_CSV_JS = """(text) => {
  if (!text) return [];
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([text], {type: 'text/csv'}));
  link.download = `emotion-journal-${new Date().toISOString().slice(0, 10)}.csv`;
  document.body.appendChild(link); link.click(); link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  return [];
}"""
_IMPORT_CSV_HTML = ("<label class='journal-import'>Import a journal CSV "
                    "<input type='file' accept='.csv,text/csv'></label>")
_IMPORT_CSV_JS = """
const input = element.querySelector('input[type=file]');
input.addEventListener('change', async () => {
  const file = input.files[0];
  if (!file) return;
  props.value = await file.slice(0, LIMIT + 1).text();  // read here: the file is never uploaded
  input.value = '';
  trigger('input');
});"""
_SUGGESTION_CHOICES = [("my latest entry", "latest"), ("my mood this week", "week"),
                       *[(name, name) for name in EMOTIONS7]]


def _with_local_time(inputs: list) -> str:
    """JS for an event whose last input is a clock: the browser's local time goes there."""
    return _LOCAL_TIME_JS.replace("COUNT", str(len(inputs)))


def _journal_now(clock: str | None) -> datetime:
    """The browser's local time (what "today" and "mornings" mean), else the server's."""
    try:
        return journal.parse_time(clock)
    except journal.JournalError:
        return datetime.now().astimezone()


def journal_add_face(faces, face_index, note, entries, clock, source: str = "photo"):
    """The face picked in the results (the one the bars show) -> a new journal entry."""
    try:
        scores = journal.photo_scores(faces, face_index)
    except journal.PickAFace:
        return gr.skip(), ("Several faces were found: pick yours first, under **Face** above "
                           "(or click it in the picture)."), gr.skip()
    except journal.JournalError as error:
        return gr.skip(), str(error), gr.skip()
    return _journal_add(scores, source, note, entries, clock)


def journal_add_live(session_id: str | None, face_id, note, entries, clock):
    """A live session, averaged over the frames of the person's face."""
    session = live_sessions.get(session_id)
    records = session.records if session is not None else []
    try:
        scores = journal.live_scores(records, face_id)
    except journal.PickAFace as error:
        ids = sorted({r.face.face_id for r in records})
        picker = gr.update(choices=[(f"face #{i}", i) for i in ids], value=None, visible=True)
        return gr.skip(), str(error), gr.skip(), picker
    except journal.JournalError as error:
        return gr.skip(), str(error), gr.skip(), gr.skip()
    return *_journal_add(scores, "live", note, entries, clock), gr.skip()


def _journal_add(scores, source, note, entries, clock):
    try:
        entry = journal.new_entry(scores, source, note, _journal_now(clock))
        updated = journal.add(entries, entry)
    except journal.JournalError as error:
        return gr.skip(), f"Not added: {error}", gr.skip()
    return (updated, f"Added to your journal: **{entry.emotion}** at {entry.local_time:%H:%M} "
            f"({_entries(len(updated))}, kept in this browser only).", "")


def journal_refresh(entries, suggestion_for, seed, clock):
    """Summary, charts, entries table and suggestions for the Journal tab."""
    items, now = journal.load(entries), _journal_now(clock)
    today = now.replace(tzinfo=None).date()
    table = pd.DataFrame(
        [{"time": f"{e.local_time:%Y-%m-%d %H:%M}", "source": e.source, "emotion": e.emotion,
          "confidence %": round(100 * e.probabilities[e.emotion], 1), "note": e.note}
         for e in reversed(items)], columns=["time", "source", "emotion", "confidence %", "note"])
    return (journal_views.summary(items, now), journal_views.hourly(items, today),
            journal_views.daily(items, today, 7), journal_views.daily(items, today, 30), table,
            journal_suggestions(items, suggestion_for, seed, today))


def journal_suggestions(items, suggestion_for: str, seed, today) -> str:
    """Ideas for the latest entry's emotion, the week's main one or a chosen one; the same
    all day unless the person asks for other ideas (``seed``)."""
    if suggestion_for == "week":
        emotion = journal_views.dominant(journal_views.within_days(items, today, 7))
    elif suggestion_for in EMOTIONS7:
        emotion = suggestion_for
    else:
        emotion = items[-1].emotion if items else None
    if emotion is None:
        return "*No entries to go by yet: pick an emotion above, or add an entry first.*"
    ideas = suggestions.suggest(emotion, seed=int(seed or 0) + today.toordinal())
    return suggestions.as_markdown(emotion, ideas)


def journal_export(entries):
    """The journal as CSV text, which the browser saves as a download (never a file here)."""
    if not journal.load(entries):
        return "", "Your journal is empty: there is nothing to export."
    return journal.to_csv(entries), "Exported: your browser saved the CSV as a download."


def journal_import(text, entries):
    """CSV text read by the browser -> entries merged into the journal (or a clear message)."""
    try:
        merged, added = journal.merge(entries, journal.from_csv(text or ""))
    except journal.JournalError as error:
        return gr.skip(), f"**Import failed.** {error}"
    return merged, f"Imported {_entries(added, 'new ')} ({len(merged)} in all)."


def _entries(count: int, kind: str = "") -> str:
    return f"{count} {kind}entr{'y' if count == 1 else 'ies'}"


def _journal_adder(faces: gr.JSON, selector: gr.Radio, source: str,
                   journal_store: gr.BrowserState) -> None:
    """Under a photo/snapshot result: the face picked in the results, a note, add."""
    with gr.Row(elem_classes=["journal-adder"]):
        note = gr.Textbox(label="Note for your journal (optional)", scale=2,
                          max_length=journal.MAX_NOTE_CHARS,
                          placeholder="e.g. after the morning run")
        add = gr.Button("Add to my journal", scale=1)
    message = gr.Markdown()
    clock = gr.Textbox(visible=False)
    inputs = [faces, selector, note, journal_store, clock]
    add.click(partial(journal_add_face, source=source), inputs, [journal_store, message, note],
              js=_with_local_time(inputs), api_visibility="private")


def _journal_live_adder(session: gr.HTML, journal_store: gr.BrowserState) -> None:
    """Under a live session: its average for your face (asked for when several were seen)."""
    with gr.Row(elem_classes=["journal-adder"]):
        face = gr.Dropdown([], label="Which face is yours?", visible=False, scale=1)
        note = gr.Textbox(label="Note for your journal (optional)", scale=2,
                          max_length=journal.MAX_NOTE_CHARS)
        add = gr.Button("Add this session to my journal", scale=1)
    message = gr.Markdown()
    clock = gr.Textbox(visible=False)
    inputs = [session, face, note, journal_store, clock]
    add.click(journal_add_live, inputs, [journal_store, message, note, face],
              js=_with_local_time(inputs), api_visibility="private")


def _journal_tab(journal_store: gr.BrowserState) -> None:
    with gr.Tab("Journal") as tab:
        gr.Markdown("Your mood journal lives **only in this browser** (its local storage). Our "
                    "server keeps nothing: it works on the entries an action sends, in memory; "
                    "your browser saves an export and reads an import. Add a photo, a webcam "
                    "snapshot or a live session with the button under its result.")
        summary = gr.Markdown(elem_classes=["journal-summary"])
        gr.HTML(emotion_legend("Colours of the charts"), elem_classes=["emotion-legend"])
        with gr.Row():  # side by side on a wide screen, one above the other on a phone
            today = _journal_plot("Today, hour by hour", "hour", "journal-today")
            week = _journal_plot("The last 7 days", "day", "journal-week")
        month = _journal_plot("The last 30 days", "day", "journal-month")
        with gr.Accordion("Suggestions (just for fun)", open=True):
            suggestion_for = gr.Dropdown(_SUGGESTION_CHOICES, value="latest",
                                         label="Suggestions for")
            ideas = gr.Markdown(elem_classes=["journal-suggestions"])
            more = gr.Button("Other ideas", size="sm")
        table = gr.Dataframe(label="Your entries (newest first)", interactive=False,
                             elem_classes=["journal-table"], max_height=400)
        _journal_transfer(journal_store)
    seed, clock = gr.State(0), gr.Textbox(visible=False)
    inputs = [journal_store, suggestion_for, seed, clock]
    gr.on([journal_store.change, tab.select, suggestion_for.change, seed.change], journal_refresh,
          inputs, [summary, today, week, month, table, ideas], js=_with_local_time(inputs),
          api_visibility="private", show_progress="hidden")
    more.click(lambda n: int(n or 0) + 1, [seed], [seed], api_visibility="private")


def _journal_plot(label: str, x: str, css_class: str) -> gr.BarPlot:
    """Stacked shares per hour or day, in the colours of the boxes."""
    return gr.BarPlot(None, x=x, y="share %", color="emotion", color_map=_EMOTION_HEX,
                      colors_in_legend=[], y_aggregate="sum", sort="x", y_lim=[0, 100], min_width=340,
                      x_label_angle=-45 if x == "day" else 0, tooltip=["entries"], label=label,
                      elem_classes=[css_class])


def _journal_transfer(journal_store: gr.BrowserState) -> None:
    """Export, import and delete everything (with a confirmation)."""
    with gr.Row():
        export = gr.Button("Export as CSV", min_width=300)  # stacked on a phone
        with gr.Column(min_width=300):  # (an HTML block alone does not keep a minimum width)
            importer = gr.HTML("", html_template=_IMPORT_CSV_HTML, elem_classes=["journal-import"],
                               js_on_load=_IMPORT_CSV_JS.replace("LIMIT",
                                                                 str(journal.MAX_IMPORT_BYTES)))
        delete = gr.Button("Delete everything…", variant="stop", min_width=300)
    with gr.Row(visible=False) as confirm:
        gr.Markdown("**Delete every entry from this browser?** This cannot be undone; export "
                    "first if you want a copy.")
        sure = gr.Button("Yes, delete everything", variant="stop")
        cancel = gr.Button("Cancel")
    message = gr.Markdown(elem_classes=["journal-message"])
    csv_text = gr.Textbox(visible=False)
    exported = export.click(journal_export, [journal_store], [csv_text, message],
                            api_visibility="private")
    exported.then(None, [csv_text], None, js=_DOWNLOAD_CSV_JS)
    importer.input(journal_import, [importer, journal_store], [journal_store, message],
                   api_visibility="private")
    delete.click(lambda: (gr.update(visible=True), ""), None, [confirm, message],
                 api_visibility="private")
    cancel.click(lambda: gr.update(visible=False), None, [confirm], api_visibility="private")
    sure.click(lambda: ([], gr.update(visible=False), "Your journal is empty now."), None,
               [journal_store, confirm, message], api_visibility="private")


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Facial emotion recognition", analytics_enabled=False) as demo:
        gr.Markdown("# Facial emotion recognition\nEvery face in the picture is found with "
                    "OpenCV's Haar cascade, checked by Google's BlazeFace, and labelled by our "
                    "CNN trained on FER2013. "
                    f"{files.retention.privacy_text()} {LIMITS.photo_text()}",
                    elem_classes=["privacy"])
        journal_store = gr.BrowserState([], storage_key=JOURNAL_STORAGE_KEY, secret=JOURNAL_SECRET)
        with gr.Tab("Photo"):
            _analysis_tab(["upload", "clipboard"], with_examples=True, api_name="analyze",
                          journal_store=journal_store)
        with gr.Tab("Snapshot"):
            _analysis_tab(["webcam"], with_examples=False, api_name=None, journal_store=journal_store)
        with gr.Tab("Live"):
            _live_tab(journal_store)
        with gr.Tab("Video"):
            _video_tab()
        _journal_tab(journal_store)
    demo.queue(max_size=64, default_concurrency_limit=2)
    return demo


demo = build_demo()
files.protect(path for block in demo.blocks.values()  # the cached example photos
              for path in getattr(block, "keep_in_cache", ()))

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    recognizer.classifier(DEFAULT_EMOTION_SET)  # load before serving: a quick first answer
    clean_up_on_exit(files)  # SIGTERM, Ctrl+C or a normal exit: nothing of ours is left
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), head=PHONE_STYLE,
                max_file_size=LIMITS.upload_bytes, footer_links=["api"],
                app_kwargs={"middleware": [Middleware(UploadCounter, store=files)],
                            "lifespan": lifespan(files),
                            "routes": [Route(LIVE_ROUTE, live_frame_route, methods=["POST"])]},
                run_history=False)  # no copy of inputs/results (journal included) in the browser
