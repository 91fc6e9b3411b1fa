"""Gradio app: photos and webcam snapshots, every face boxed and labelled with its emotion.

The only module that imports gradio; all the work happens in emotion_recognition.
Run ``python app.py`` and open http://127.0.0.1:7860.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

import pandas as pd

from emotion_recognition.annotate import draw
from emotion_recognition.errors import EmotionAppError
from emotion_recognition.labels import DEFAULT_EMOTION_SET, EMOTION_SETS
from emotion_recognition.limits import LIMITS
from emotion_recognition.pipeline import NO_FACE_MESSAGE, EmotionRecognizer
from emotion_recognition.report import faces_table, shares_table
from emotion_recognition.serving import (UploadCounter, clean_up_on_exit, lifespan,
                                         log_user_error)
from emotion_recognition.storage import FileStore
from emotion_recognition.video import (LiveSession, analyze_video, emotion_shares, timeline_rows,
                                       write_csv)

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
EMOTION_SET_CHOICES = [(s.title, s.name) for s in EMOTION_SETS.values()]
recognizer = EmotionRecognizer()  # loads nothing until the first request (or launch below)
files = FileStore.open()  # this server's uploads and results (emotion_recognition.storage)
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


class UploadedImage(gr.Image):
    """gr.Image that hands over the uploaded file untouched, even when it is not a valid
    image, so our decoder can tell the user what is wrong instead of a generic error."""

    is_template = True  # rendered by the frontend's own Image component

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:
            return str(payload.path) if payload is not None and payload.path else None


def analyze(image: str | None, emotion_set: str):
    """API ``/analyze``: an image and "emotion7"/"emotion4" -> (annotated image, faces).

    Faces are ``[{"box": [x, y, w, h], "label", "confidence", "scores": {...}}]``.
    """
    if image is None:
        raise _user_error("analyze", "Please upload a photo or take a webcam snapshot first.")
    try:
        with files.claim(image) as path:
            result = recognizer.analyze(path, emotion_set or DEFAULT_EMOTION_SET)
    except EmotionAppError as error:
        raise _user_error("analyze", error) from None
    with files.result_dir() as out:  # this request's own file: never shared, never rewritten
        annotated = save_jpeg(draw(result.image, result.faces), out / "annotated.jpg")
    return str(annotated), result.face_dicts()


def describe(faces: list[dict] | None):
    """The per-face table and a plain sentence for the UI."""
    faces = faces or []
    if not faces:
        return faces_table([]), f"**{NO_FACE_MESSAGE}**"
    summary = ", ".join(f"face {i + 1}: **{f['label']}** ({f['confidence']:.0%})"
                        for i, f in enumerate(faces))
    return faces_table(faces), f"{len(faces)} face(s) found — {summary}"


def live_frame(frame, session: LiveSession | None, emotion_set: str):
    """One webcam frame -> the annotated frame; the session keeps ids, smoothing, records."""
    if frame is None:
        return None, session
    session = session or LiveSession()
    try:
        annotated, _ = session.process(frame, recognizer, emotion_set or DEFAULT_EMOTION_SET)
    except EmotionAppError as error:
        raise _user_error("live", error) from None
    return annotated, session


def live_timeline(session: LiveSession | None, window_s: float = 60.0):
    """The last minute of the session's probabilities, for the live timeline plot."""
    if session is None or not session.records:
        return _empty_timeline()
    recent = [r for r in session.records if r.time >= session.records[-1].time - window_s]
    return _timeline_frame(recent, session.labels)


def live_csv(session: LiveSession | None):
    if session is None or not session.records:
        raise _user_error("live_csv", "Nothing recorded yet: start the webcam stream first.")
    with files.result_dir() as out:
        return str(write_csv(session.records, session.labels, out / "webcam_session.csv"))


def _empty_timeline() -> None:
    """No data yet. (An empty DataFrame would fix the plot's schema and hide later lines.)"""
    return None


def _timeline_frame(records, labels) -> pd.DataFrame | None:
    rows = pd.DataFrame(timeline_rows(records, labels))
    if rows.empty:
        return _empty_timeline()
    several = rows["face"].nunique() > 1
    rows["series"] = (rows["face"] + " " + rows["emotion"]) if several else rows["emotion"]
    return rows[["time_s", "probability", "series"]]


def analyze_video_file(video: str | None, emotion_set: str, sample_fps: float,
                       progress=gr.Progress()):
    """API ``/analyze_video``: a video, the emotion set and frames per second to analyse ->
    (annotated MP4 video, per-frame CSV, summary JSON)."""
    if not video:
        raise _user_error("analyze_video", "Please upload a video first (MP4, WebM, AVI or MOV).")
    stem = Path(video).stem[:40] or "video"
    try:
        with files.claim(video) as path, files.result_dir() as out:
            result = analyze_video(path, recognizer, emotion_set or DEFAULT_EMOTION_SET,
                                   float(sample_fps), out / f"{stem}_annotated.mp4",
                                   progress=lambda f, text: progress(f, desc=text), limits=LIMITS)
            csv_path = write_csv(result.records, result.labels, out / f"{stem}_emotions.csv")
    except EmotionAppError as error:
        raise _user_error("analyze_video", error) from None
    summary = {"duration_s": round(result.info.duration, 2), "fps": result.info.fps,
               "frames_analysed": result.frames_analysed,
               "faces": len({r.face.face_id for r in result.records}),
               "stopped_at_s": None if result.complete else round(result.stopped_at, 1),
               "share_of_time": {str(k): v for k, v in
                                 emotion_shares(result.records, result.labels).items()}}
    return str(result.annotated_path), str(csv_path), summary


def describe_video(csv_path: str | None, summary: dict | None):
    """Timeline plot, share-of-time table and a sentence, from the CSV and summary."""
    if not csv_path or not summary:
        return _empty_timeline(), shares_table({}), ""
    rows = pd.read_csv(csv_path)
    labels = [c for c in rows.columns if c not in ("time_s", "frame", "face_id", "x", "y", "w", "h",
                                                    "label", "confidence")]
    long = rows.melt(id_vars=["time_s", "face_id"], value_vars=labels, var_name="emotion",
                     value_name="probability")
    several = long["face_id"].nunique() > 1
    long["series"] = (("face " + long["face_id"].astype(str) + " " + long["emotion"]) if several
                      else long["emotion"])
    message = (f"{summary['frames_analysed']} frames analysed over {summary['duration_s']} s; "
               f"{summary['faces']} face(s) followed." if summary["faces"]
               else f"**No face found** in the {summary['frames_analysed']} frames analysed.")
    if summary.get("stopped_at_s") is not None:
        message += (f" **Stopped at {summary['stopped_at_s']} s**: a video job may take "
                    f"{LIMITS.video_job_seconds // 60} minutes at most.")
    return long[["time_s", "probability", "series"]], shares_table(summary["share_of_time"]), message


def _analysis_tab(sources: list[str], with_examples: bool, api_name: str | None):
    with gr.Row():
        with gr.Column():
            image = UploadedImage(sources=sources, type="filepath", image_mode=None,
                                  label="Photo" if "upload" in sources else "Webcam snapshot")
            emotion_set = gr.Radio(EMOTION_SET_CHOICES, value=DEFAULT_EMOTION_SET, label="Emotions")
            button = gr.Button("Analyse", variant="primary")
        with gr.Column():
            annotated = gr.Image(label="Faces and emotions", type="numpy", interactive=False,
                                 format="jpeg", elem_classes=["annotated-image"])
            message = gr.Markdown()
    table = gr.Dataframe(faces_table([]), label="Probabilities per face (%)", interactive=False,
                         elem_classes=["faces-table"])
    faces = gr.JSON(label="Faces (JSON)", visible=False)
    if with_examples:
        gr.Examples([[str(p)] for p in sorted(EXAMPLES_DIR.glob("*.jpg"))], inputs=[image],
                    label="Example photos (public domain)")
    event = button.click(analyze, [image, emotion_set], [annotated, faces], api_name=api_name,
                         api_visibility="public" if api_name else "private",
                         concurrency_id="analyze", concurrency_limit=2)
    event.then(describe, [faces], [table, message], api_visibility="private")
    return image


def _timeline_plot(label: str) -> gr.LinePlot:
    return gr.LinePlot(None, x="time_s", y="probability", color="series",
                       label=label, x_title="time (s)", y_title="probability", y_lim=[0, 1],
                       height=320, elem_classes=["timeline"])


def _live_tab() -> None:
    gr.Markdown("Allow the camera, press record: every face is followed and labelled live; "
                "labels are smoothed over recent frames. Nothing is kept after you leave.")
    with gr.Row():
        webcam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Webcam")
        live_view = gr.Image(label="Live emotions", type="numpy", interactive=False, format="jpeg")
    emotion_set = gr.Radio(EMOTION_SET_CHOICES, value=DEFAULT_EMOTION_SET, label="Emotions")
    session = gr.State(None)
    timeline = _timeline_plot("Emotions over the last minute")
    with gr.Row():
        export = gr.Button("Export this session as CSV")
        session_csv = gr.File(label="Session CSV (time, face id, box, probabilities)",
                              interactive=False, elem_classes=["session-csv"])
    webcam.stream(live_frame, [webcam, session, emotion_set], [live_view, session],
                  stream_every=0.1, time_limit=600, concurrency_id="live", concurrency_limit=4,
                  api_visibility="private")
    gr.Timer(1.0).tick(live_timeline, [session], [timeline], api_visibility="private",
                       show_progress="hidden")
    export.click(live_csv, [session], [session_csv], api_visibility="private")


def _video_tab() -> None:
    with gr.Row():
        with gr.Column():
            video = gr.Video(sources=["upload"], label=f"Video (MP4, WebM, AVI, MOV; up to "
                             f"{LIMITS.video_seconds // 60} min)")
            emotion_set = gr.Radio(EMOTION_SET_CHOICES, value=DEFAULT_EMOTION_SET, label="Emotions")
            sample_fps = gr.Slider(LIMITS.video_fps_min, LIMITS.video_fps_max, value=5, step=1,
                                   label="Frames analysed per second")
            gr.Markdown(LIMITS.video_text(), elem_classes=["limits"])
            button = gr.Button("Analyse video", variant="primary")
        with gr.Column():
            annotated = gr.Video(label="Annotated video (analysed frames)", interactive=False)
            message = gr.Markdown()
    timeline = _timeline_plot("Emotions over time")
    with gr.Row():
        shares = gr.Dataframe(shares_table({}), label="Share of time in each emotion (%)",
                              interactive=False)
        csv_file = gr.File(label="Per-frame CSV", interactive=False)
    summary = gr.JSON(visible=False)
    event = button.click(analyze_video_file, [video, emotion_set, sample_fps],
                         [annotated, csv_file, summary], api_name="analyze_video",
                         concurrency_id="video", concurrency_limit=1)
    event.then(describe_video, [csv_file, summary], [timeline, shares, message],
               api_visibility="private")


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Facial emotion recognition", analytics_enabled=False) as demo:
        gr.Markdown("# Facial emotion recognition\nEvery face in the picture is found with "
                    "OpenCV's Haar cascade and labelled by our CNN trained on FER2013. "
                    f"{files.retention.privacy_text()} {LIMITS.photo_text()}",
                    elem_classes=["privacy"])
        with gr.Tab("Photo"):
            _analysis_tab(["upload", "clipboard"], with_examples=True, api_name="analyze")
        with gr.Tab("Webcam snapshot"):
            _analysis_tab(["webcam"], with_examples=False, api_name=None)
        with gr.Tab("Live webcam"):
            _live_tab()
        with gr.Tab("Video"):
            _video_tab()
    demo.queue(max_size=64, default_concurrency_limit=2)
    return demo


demo = build_demo()
files.protect(path for block in demo.blocks.values()  # the cached example photos
              for path in getattr(block, "keep_in_cache", ()))

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    recognizer.classifier(DEFAULT_EMOTION_SET)  # load before serving: a quick first answer
    clean_up_on_exit(files)  # SIGTERM, Ctrl+C or a normal exit: nothing of ours is left
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                max_file_size=LIMITS.upload_bytes, footer_links=["api"],
                app_kwargs={"middleware": [Middleware(UploadCounter, store=files)],
                            "lifespan": lifespan(files)})
