"""Gradio app: photos and webcam snapshots, every face boxed and labelled with its emotion.

The only module that imports gradio; all the work happens in emotion_recognition.
Run ``python app.py`` and open http://127.0.0.1:7860.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import gradio as gr

from emotion_recognition.annotate import draw
from emotion_recognition.errors import EmotionAppError
from emotion_recognition.pipeline import NO_FACE_MESSAGE, EmotionRecognizer
from emotion_recognition.report import faces_table

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
EMOTION_SET_CHOICES = [("7 emotions", "emotion7"), ("4 emotions (angry, happy, sad, neutral)",
                                                      "emotion4")]
MAX_FILE_SIZE = "20mb"
recognizer = EmotionRecognizer()  # loads nothing until the first request (or launch below)

from gradio.events import Dependency

class UploadedImage(gr.Image):
    """gr.Image that hands over the uploaded file untouched, even when it is not a valid
    image, so our decoder can tell the user what is wrong instead of a generic error."""

    is_template = True  # rendered by the frontend's own Image component

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:
            return str(payload.path) if payload is not None and payload.path else None
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component


def _forget_upload(path: str | None) -> None:
    """Privacy: delete the user's upload from Gradio's cache once it has been read."""
    if path and Path(path).is_file() and Path(path).resolve().is_relative_to(_cache_root()):
        Path(path).unlink(missing_ok=True)


def _cache_root() -> Path:
    import tempfile

    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def analyze(image: str | None, emotion_set: str):
    """API ``/analyze``: an image and "emotion7"/"emotion4" -> (annotated image, faces).

    Faces are ``[{"box": [x, y, w, h], "label", "confidence", "scores": {...}}]``.
    """
    if image is None:
        raise gr.Error("Please upload a photo or take a webcam snapshot first.")
    try:
        result = recognizer.analyze(image, emotion_set or "emotion7")
    except EmotionAppError as error:
        raise gr.Error(str(error)) from None
    finally:
        _forget_upload(image)
    return draw(result.image, result.faces), [face.to_dict() for face in result.faces]


def describe(faces: list[dict] | None):
    """The per-face table and a plain sentence for the UI."""
    faces = faces or []
    if not faces:
        return faces_table([]), f"**{NO_FACE_MESSAGE}**"
    summary = ", ".join(f"face {i + 1}: **{f['label']}** ({f['confidence']:.0%})"
                        for i, f in enumerate(faces))
    return faces_table(faces), f"{len(faces)} face(s) found — {summary}"


def _analysis_tab(sources: list[str], with_examples: bool, api_name: str | None):
    with gr.Row():
        with gr.Column():
            image = UploadedImage(sources=sources, type="filepath", image_mode=None,
                                  label="Photo" if "upload" in sources else "Webcam snapshot")
            emotion_set = gr.Radio(EMOTION_SET_CHOICES, value="emotion7", label="Emotions")
            button = gr.Button("Analyse", variant="primary")
        with gr.Column():
            annotated = gr.Image(label="Faces and emotions", type="numpy", interactive=False,
                                 format="jpeg")
            message = gr.Markdown()
    table = gr.Dataframe(label="Probabilities per face (%)", interactive=False)
    faces = gr.JSON(label="Faces (JSON)", visible=False)
    if with_examples:
        gr.Examples([[str(p)] for p in sorted(EXAMPLES_DIR.glob("*.jpg"))], inputs=[image],
                    label="Example photos (public domain)")
    event = button.click(analyze, [image, emotion_set], [annotated, faces], api_name=api_name,
                         api_visibility="public" if api_name else "private",
                         concurrency_id="analyze", concurrency_limit=2)
    event.then(describe, [faces], [table, message], api_visibility="private")
    return image


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Facial emotion recognition", analytics_enabled=False,
                   delete_cache=(600, 600)) as demo:
        gr.Markdown("# Facial emotion recognition\nEvery face in the picture is found with "
                    "OpenCV's Haar cascade and labelled by our CNN trained on FER2013. "
                    "Nothing you send is stored: uploads are deleted once read.")
        with gr.Tab("Photo"):
            _analysis_tab(["upload", "clipboard"], with_examples=True, api_name="analyze")
        with gr.Tab("Webcam snapshot"):
            _analysis_tab(["webcam"], with_examples=False, api_name=None)
    demo.queue(max_size=64, default_concurrency_limit=2)
    return demo


demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    recognizer.classifier("emotion7")  # load before serving, so the first answer is quick
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                max_file_size=MAX_FILE_SIZE, footer_links=["api"])