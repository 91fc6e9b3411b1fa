"""The Photo and Snapshot tabs: an image in, every face boxed and labelled; a face picker
(or a click on the picture), its bars, the tables, heat maps on request; re-runs with other
settings from the session's kept photo. Public API: ``/analyze``."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR
from emotion_recognition.core.limits import LIMITS
from emotion_recognition.serving import photo
from emotion_recognition.serving.server import Server
from ui.components import (UploadedImage, detector_setting, emotion_set_setting,
                           scroll_to_results)
from ui.journal_tab import journal_adder

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
RUN = dict(concurrency_id="analyze", concurrency_limit=LIMITS.photo_workers)  # their own
INVITATIONS = {"upload": "**Your result shows here.** Drop a photo, take one, or click an "
                         "example: every face gets a box and its emotion.",
               "webcam": "**Your result shows here.** Take a snapshot with your webcam: every "
                         "face gets a box and its emotion."}
# The results panel without a result: message aside, every part hidden (journal: message "").
HIDDEN_RESULTS = (gr.update(choices=[], value=None, visible=False),
                  gr.update(value=None, visible=False), gr.update(visible=False),
                  gr.update(visible=False), gr.update(value=None, visible=False),
                  gr.update(visible=False), gr.update(visible=False), "")


class PhotoHandlers:
    """What the tab's events call, each a thin shell over serving/photo.py."""

    def __init__(self, server: Server):
        self.server = server

    def analyze_photo(self, image: str | None, emotion_set: str, explain: bool = False,
                      kept: str | None = None, detector: str = DEFAULT_DETECTOR):
        """API ``/analyze``: an image, "emotion7"/"emotion4", explain (default off) and the
        face detector ("haar", the default, "blazeface" or "combined") -> (annotated image,
        faces, image size).

        Faces are ``[{"face": 1, "box": [x, y, w, h], "label", "confidence",
        "probabilities": {...}}]``, numbered from 1, boxes in the photo's own pixels; with
        explain each also has ``"explanation": {"frame": [x, y, w, h], "heatmap": 12x12}``
        (how much hiding each part of the face frame lowers the label's probability, 0..1).
        The image size is the annotated image's, ``{"width", "height", "scale"}``: scale is
        the photo's pixels per annotated pixel (1, or more for a photo over 12.6 megapixels,
        analysed and drawn at reduced size): a box divided by it is the annotated image's.
        ``kept`` is the session's key to its kept photo (serving/kept_photos.py).
        """
        return photo.analyze(self.server, image, emotion_set, explain, kept, detector)

    def reanalyze_photo(self, shown, emotion_set, explain, kept, detector, faces, picked):
        """Analyse pressed, or the emotion set, the heat-map toggle or the detector changed:
        the photo shown (``shown``: its path; the upload itself is deleted once analysed)
        again, from the session's kept photo; the face picked stays picked."""
        if not shown:
            return (gr.skip(),) * 5
        answer = photo.analyze_again(self.server, shown, emotion_set, explain, kept, detector)
        return (*answer, photo.same_face(faces, picked, answer[1]))

    def show_photo(self, kept: str | None, explain: bool, picked: int | None = None):
        """Everything the results panel shows, from the session's latest analysis, with the
        face ``picked`` (one face: that one; several: none until one is picked) selected
        in the picker and shown by the bars."""
        view = photo.view(self.server, kept)
        if not view.faces:  # (no result: a message already shown stays)
            shown = (gr.update(visible=False), gr.update(visible=True)) if view.note else (
                gr.skip(), gr.skip())  # "No face found": the picture without boxes
            return (view.note or gr.skip(), *HIDDEN_RESULTS, *shown)
        if len(view.faces) == 1:
            picked = 0
        elif not (isinstance(picked, int) and 0 <= picked < len(view.faces)):
            picked = None
        return (view.note, gr.update(choices=view.choices, value=picked,
                                     visible=len(view.faces) > 1),
                self.show_bars(view.faces, picked),
                gr.update(value=view.table, visible=True, column_widths=view.widths),
                gr.update(value=view.boxes, visible=True),
                gr.update(value=view.heat_maps or None, visible=bool(explain and view.heat_maps),
                          columns=min(3, max(2, len(view.heat_maps)))),  # 1 face: a half tile
                gr.update(visible=True), gr.update(visible=True), "",
                gr.update(visible=False), gr.update(visible=True))  # the invitation: the picture

    @staticmethod
    def show_bars(faces: list[dict], index):
        """Confidence bars of the face picked (hidden when none is)."""
        bars = photo.bars(faces, index)
        if bars is None:
            return gr.update(value=None, visible=False)
        return gr.update(value=bars[1], label=bars[0], visible=True)

    def pick_face(self, kept: str | None, evt: gr.SelectData):
        """A click on the annotated picture picks the face under it."""
        index = photo.face_at_click(self.server, kept, evt.index)
        return gr.skip() if index is None else index

    def clear_photo(self, image: str | None = None, kept: str | None = None):
        """A new photo (or none): the old results go (unless they are already this photo's:
        an analysis started at once may finish before this event)."""
        if photo.is_current(self.server, image, kept):
            return (gr.skip(),) * 13
        return (gr.update(value=None, visible=False), [], None, "", *HIDDEN_RESULTS,
                gr.update(visible=True))

    def analyze_upload(self, image, emotion_set, explain, kept, detector):
        """A new upload (or example) is analysed at once (Analyse stays for re-runs); a file
        we cannot take is told at once, where the result would be, and leaves the input."""
        if image is None:
            return (gr.skip(),) * 5
        *answer, refused = photo.analyze_upload(self.server, image, emotion_set, explain, kept,
                                                detector)
        return (*answer, refused or gr.skip(), None if refused else gr.skip())


def photo_tab(server: Server, sources: list[str], with_examples: bool, api_name: str | None,
              journal_store: gr.BrowserState) -> None:
    """A photo (or webcam snapshot) tab; ``api_name`` makes its analysis public."""
    on = PhotoHandlers(server)
    with gr.Row(equal_height=False):
        image, button, examples, emotion_set, explain, detector = _inputs(sources,
                                                                          with_examples)
        empty, annotated, message, selector, bars, heat = _results(sources)
    table, details, boxes, faces = _tables()
    kept = gr.State(None, time_to_live=server.files.retention.kept_photo_s,  # kept_photos' key
                    delete_callback=server.kept_photos.drop)
    adder, added = journal_adder(faces, selector, "photo" if "upload" in sources else "snapshot",
                                 journal_store)

    shown = gr.Textbox(visible=False)  # the path of the photo shown (the browser's own)
    picked = gr.State(None)  # the face to pick in the next result (a re-run's: the same)
    inputs, answers = [image, emotion_set, explain, kept, detector], [annotated, faces, kept]
    results = [message, selector, bars, table, boxes, heat, details, adder, added]
    panel = [*results, empty, annotated]  # show_photo's: the picture replaces the invitation
    private = dict(api_visibility="private")
    size = gr.JSON(visible=False)  # the API's third answer: the annotated image's size, scale
    if api_name:  # the API: a photo sent, analysed (the page's Analyse re-runs the one shown)
        gr.on([], on.analyze_photo, inputs, [annotated, faces, size, kept], api_name=api_name,
              api_visibility="public", **RUN)
    image.change(None, [image], [shown], js="(image) => image ? image.path : ''", **private)
    for triggers, scroll in [([button.click], scroll_to_results()),
                             ([emotion_set.input, explain.input, detector.input], None)]:
        rerun = gr.on(triggers, on.reanalyze_photo, [shown, emotion_set, explain, kept,
                                                     detector, faces, selector],
                      [annotated, faces, size, kept, picked], **private, **RUN)
        shown_result = rerun.success(on.show_photo, [kept, explain, picked], panel,
                                     **private)
        if scroll:
            shown_result.then(None, js=scroll)
    for cleared in [gr.on([image.input, image.clear], on.clear_photo, [image, kept],
                          [*answers, *results, empty], show_progress="hidden", **private),
                    *([examples.load_input_event.then(on.clear_photo, [image, kept],
                                                      [*answers, *results, empty], **private)]
                      if with_examples else [])]:
        analysed = cleared.then(on.analyze_upload, inputs, [*answers, message, image],
                                **private, **RUN)
        analysed.success(on.show_photo, [kept, explain], panel, **private).then(
            None, js=scroll_to_results())
    selector.change(lambda f, i: gr.skip() if i is None else on.show_bars(f, i),
                    [faces, selector], [bars], show_progress="hidden", **private)
    annotated.select(on.pick_face, [kept], [selector], **private)


def _inputs(sources: list[str], with_examples: bool) -> tuple:
    """The photo, Analyse right under it, the examples (or None) and the settings."""
    with gr.Column():
        image = UploadedImage(sources=sources, type="filepath", image_mode=None,
                              label="Photo" if "upload" in sources else "Webcam snapshot")
        button = gr.Button("Analyse", variant="primary", elem_classes=["analyse"])
        examples = gr.Examples([[str(p)] for p in sorted(EXAMPLES_DIR.glob("*.jpg"))],
                               inputs=[image], label="Examples (public domain): click one"
                               ) if with_examples else None
        emotion_set = emotion_set_setting()
        explain = gr.Checkbox(False, label="Why this emotion? Show heat maps of what the "
                              "model looked at (slower)", elem_classes=["explain-toggle"])
        detector = detector_setting()
    return image, button, examples, emotion_set, explain, detector


def _results(sources: list[str]) -> tuple:
    """What takes the result's place until there is one, the annotated picture, a message,
    the face picker, its bars and the heat maps."""
    with gr.Column(elem_classes=["results"]):
        empty = gr.Markdown(INVITATIONS["upload" if "upload" in sources else "webcam"],
                            elem_classes=["empty-result"])
        annotated = gr.Image(label="Faces and emotions", show_label=False, type="filepath",
                             visible=False,
                             interactive=False, buttons=["download", "fullscreen"],
                             elem_classes=["annotated-image"])
        message = gr.Markdown(elem_classes=["photo-message"])
        selector = gr.Radio([], label="Face", visible=False, elem_classes=["face-selector"],
                            info="Which one is you? Its emotions show below; the journal "
                                 "adds it. Each face's number is on its label (#1, #2...).")
        bars = gr.Label(num_top_classes=7, visible=False, elem_classes=["face-bars"])
        heat = gr.Gallery(label="Why this emotion: red regions drove the prediction",
                          visible=False, columns=3, height="auto", object_fit="contain",
                          fit_columns=False, elem_classes=["heat-maps"])
    return empty, annotated, message, selector, bars, heat


def _tables() -> tuple:
    """The probabilities table, the Details accordion with the boxes, the faces (JSON)."""
    table = gr.Dataframe(label="Probabilities per face (%)", interactive=False, visible=False,
                         elem_classes=["faces-table"])
    with gr.Accordion("Details: where each face is (pixels of the picture shown)", open=False,
                      visible=False) as details:
        boxes = gr.Dataframe(interactive=False, visible=False, elem_classes=["boxes-table"])
    faces = gr.JSON(label="Faces (JSON)", visible=False)
    return table, details, boxes, faces
