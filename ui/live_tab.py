"""The Live tab: the webcam streamed to the live route (serving/live.py) and back annotated,
three frames in flight, mirrored; the emotion set and detector of the session; a timeline
of its last minute; its CSV; the journal adder."""

from __future__ import annotations

import gradio as gr

from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.limits import LIMITS, duration_words
from emotion_recognition.serving import live
from emotion_recognition.serving.server import LIVE_ROUTE, Server
from ui.components import (asset, detector_setting, emotion_set_setting, timeline,
                           timeline_choices, timeline_plots)
from ui.journal_tab import journal_live_adder


class LiveHandlers:
    """What the tab's events call, each a thin shell over serving/live.py."""

    def __init__(self, server: Server):
        self.server = server

    def live_emotion_set(self, session_id: str | None, emotion_set: str) -> None:
        """The live tab's emotion set changed: the session's next frames use it."""
        live.choose(self.server, session_id, emotion_set=emotion_set)

    def live_detector(self, session_id: str | None, detector: str) -> None:
        """The live tab's face detector changed: the session's next frames use it."""
        live.choose(self.server, session_id, detector=detector)

    def live_timeline(self, session_id: str | None, choice, emotion_set: str | None = None,
                      detector: str | None = None):
        """The last minute of the session, as the timeline chooser asks, and its choices.
        The emotion set and detector chosen are the session's (before its first frame,
        there was no session to tell)."""
        live.choose(self.server, session_id, emotion_set, detector)
        shown, whole = live.timelines(self.server, session_id)
        return (*timeline_plots(shown, choice), gr.update(choices=timeline_choices(whole)))

    def live_csv(self, session_id: str | None) -> str | None:
        """The session's CSV; or, with no face rows, a warning that says why (the file box
        stays empty, not marked as an error)."""
        try:
            return live.session_csv(self.server, session_id)
        except EmotionAppError as error:
            gr.Warning(str(error))
            return None


def live_tab(server: Server, journal_store: gr.BrowserState) -> None:
    on = LiveHandlers(server)
    gr.Markdown("Start the camera: every face is followed and labelled live; labels are "
                "smoothed over recent frames. Frames are analysed in memory and never kept; the "
                f"session (for the timeline, the CSV and your journal) is forgotten "
                f"{duration_words(server.files.retention.live_session_s)} after you leave.")
    # Its value is the page's own random session id, which every event below sends along.
    session = gr.HTML("", html_template=asset("live.html"), elem_classes=["live"],
                      padding=False, js_on_load=asset(
                          "live.js", LIVE_ROUTE=LIVE_ROUTE.lstrip("/"),
                          FACES_HEADER=live.FACES_HEADER,
                          LIVE_VIEW_SECONDS=LIMITS.live_view_seconds,
                          LIVE_VIEW_WORDS=duration_words(LIMITS.live_view_seconds)))
    emotion_set = emotion_set_setting()
    detector = detector_setting()
    choice, winners, one_face = timeline("Timeline of the last minute")
    with gr.Row():
        export = gr.Button("Export this session as CSV", min_width=300)
        session_csv = gr.File(label="Session CSV (a row per face per analysed frame, a no_face "
                                    "row when none: time from 0, face number, box in the "
                                    "camera's own pixels, not mirrored; probabilities)",
                              interactive=False,
                              elem_classes=["session-csv"], min_width=300, height=110)
    emotion_set.change(on.live_emotion_set, [session, emotion_set], None,
                       api_visibility="private", show_progress="hidden")
    detector.change(on.live_detector, [session, detector], None, api_visibility="private",
                    show_progress="hidden")
    gr.Timer(1.0).tick(on.live_timeline, [session, choice, emotion_set, detector],
                       [winners, one_face, choice],
                       api_visibility="private", show_progress="hidden")
    export.click(on.live_csv, [session], [session_csv], api_visibility="private")
    journal_live_adder(server, session, journal_store)
