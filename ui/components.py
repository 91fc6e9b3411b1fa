"""What the tabs share: the page's assets (JS, HTML, CSS files), the settings every tab has
(emotion set, face detector), an upload that reaches our decoder untouched, the colour
legend, and the timeline of a video or live session."""

from __future__ import annotations

from pathlib import Path
import gradio as gr
import pandas as pd

from emotion_recognition.core.annotate import EMOTION_COLOURS, colour_hex
from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR, DETECTORS
from emotion_recognition.core.labels import DEFAULT_EMOTION_SET, EMOTION_SETS
from emotion_recognition.serving.tables import one_face_table, winners_table, with_every_emotion
from ui.safe_blocks import OPTIONAL_INPUTS

ASSETS = Path(__file__).resolve().parent / "assets"
EMOTION_SET_CHOICES = [(s.title, s.name) for s in EMOTION_SETS.values()]
DETECTOR_CHOICES = [(f"{name}: {text}", name) for name, text in DETECTORS.items()]
ALL_FACES = "all"


def asset(name: str, **values) -> str:
    """A file of ui/assets/, each {{KEY}} in it replaced by ``values[KEY]``."""
    text = (ASSETS / name).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    return text


def scroll_to_results() -> str:
    """JS for after an answer: the results come into view (on a phone, below the inputs)."""
    return asset("scroll_to_results.js")


class UploadedImage(gr.Image):
    """gr.Image that hands over the uploaded file untouched, even when it is not a valid
    image, so our decoder can tell the user what is wrong instead of a generic error."""

    is_template = True  # rendered by the frontend's own Image component

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:
            return str(payload.path) if payload is not None and payload.path else None


def emotion_set_setting() -> gr.Radio:
    return gr.Radio(EMOTION_SET_CHOICES, value=DEFAULT_EMOTION_SET, label="Emotions")


def detector_setting() -> gr.Radio:
    """The face detector, an advanced setting (closed accordion) of a tab; an event's last
    input, which older clients leave out (OPTIONAL_INPUTS)."""
    with gr.Accordion("Advanced: face detector", open=False, elem_classes=["detector-setting"]):
        radio = gr.Radio(DETECTOR_CHOICES, value=DEFAULT_DETECTOR, label="Face detector",
                         info="blazeface is the fastest on large photos but misses more small "
                         "faces; combined finds the most and is the slowest.")
    OPTIONAL_INPUTS.add(radio._id)
    return radio


def emotion_legend(title: str = "Colours") -> str:
    """Each emotion's colour, as HTML that wraps on a narrow screen (the plots' own legend is
    one row: on a phone it cuts the last emotions off)."""
    chips = "".join(f"<span style='white-space:nowrap'><i style='display:inline-block;width:11px;"
                    f"height:11px;border-radius:2px;margin-right:4px;vertical-align:-1px;"
                    f"background:{colour_hex(name)}'></i>{name}</span>" for name in EMOTION_COLOURS)
    return (f"<div style='display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px'>"
            f"<span>{title}:</span>{chips}</div>")


def timeline(label: str) -> tuple[gr.Radio, gr.ScatterPlot, gr.LinePlot]:
    """A chooser (every face, or one face) and its two plots, in the emotions' colours."""
    choice = gr.Radio(timeline_choices(None), value=ALL_FACES, label=label,
                      elem_classes=["timeline-choice"])
    common = dict(x="time_s", color="emotion",
                  color_map={n: colour_hex(n) for n in EMOTION_COLOURS}, colors_in_legend=[],
                  x_title="time (s)", height=300, show_label=False, elem_classes=["timeline"])
    winners = gr.ScatterPlot(None, y="face", y_title="face",
                             tooltip=["face", "emotion", "probability"], **common)
    one_face = gr.LinePlot(None, y="probability", y_title="probability", y_lim=[0, 1],
                           visible=False, **common)
    gr.HTML(emotion_legend(), elem_classes=["emotion-legend"], js_on_load=asset("timeline.js"))
    return choice, winners, one_face


def timeline_choices(whole) -> list[tuple[str, str]]:
    """The chooser's choices for a session's or video's whole Timeline (None: none yet)."""
    numbers = whole.face_ids() if whole is not None else []
    return [("Every face: its winning emotion", ALL_FACES),
            *[(f"Face {n}: every emotion", str(n)) for n in numbers]]


def timeline_plots(shown, choice: str | None):
    """(every face's winning emotion, one face's probabilities) of a Timeline (None: none
    yet): the chosen one shown. An empty timeline hides both and keeps their old rows: a
    plot whose rows become none logs "Infinite extent for field time_s" (Vega)."""
    if shown is None or not shown.records:
        return gr.update(visible=False), gr.update(visible=False)
    if not str(choice).isdigit() or int(choice) not in shown.face_ids():
        return plot_update(winners_table(shown)), gr.update(visible=False)
    return gr.update(visible=False), plot_update(one_face_table(shown, int(choice)))


def plot_update(table: pd.DataFrame) -> dict:
    """A timeline plot shown with ``table``, every emotion in its colour scale (whichever
    emotions come first or later: serving.tables.with_every_emotion)."""
    return gr.update(value=with_every_emotion(table), visible=True)


def empty_timeline() -> tuple:
    """The chooser reset and both plots empty."""
    return (gr.update(choices=timeline_choices(None), value=ALL_FACES),
            *timeline_plots(None, None))


def frame(values: pd.DataFrame, widths: list[str]) -> dict:
    """A table whose columns share the width as ``widths`` say."""
    return gr.update(value=values, column_widths=widths)
