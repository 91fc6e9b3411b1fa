"""The Video tab: a video dropped (or chosen) is taken at once, its first frame and facts
shown, and analysed by itself at the chosen rate into an annotated video, a per-frame CSV, a
timeline and the share of time in each emotion. The box empties as it takes a video, so the
next one can be dropped at any time (and replaces it). Public API: ``/analyze_video``."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR
from emotion_recognition.core.limits import LIMITS
from emotion_recognition.serving import video as video_actions
from emotion_recognition.serving.server import Server
from emotion_recognition.serving.tables import shares_table, shares_table_widths
from ui.components import (ALL_FACES, detector_setting, emotion_set_setting,
                           empty_timeline, frame, scroll_to_results, timeline, timeline_choices,
                           timeline_plots)

RUN = dict(concurrency_id="video", concurrency_limit=LIMITS.video_jobs)  # one video at a time


class VideoHandlers:
    """What the tab's events call, each a thin shell over serving/video.py."""

    def __init__(self, server: Server):
        self.server = server

    def analyze_video(self, video: str | None, emotion_set: str, sample_fps: float,
                      detector: str = DEFAULT_DETECTOR, progress=gr.Progress()):
        """API ``/analyze_video``: a video, the emotion set, frames per second to analyse and
        the face detector (default "haar") -> (annotated MP4 video, per-frame CSV of face
        rows, summary JSON)."""
        answer = video_actions.analyze(self.server, video, emotion_set, sample_fps, detector,
                                       lambda done, text: progress(done, desc=text))
        # the summary to the client, and (as it was made) to show_video from the server's state
        return answer.annotated, answer.csv, answer.summary, answer.timeline, answer.summary

    @staticmethod
    def show_video(summary: dict | None, whole):
        """The sentence, the timeline (every face at first) and the share-of-time table of
        the video's summary and whole Timeline, as the server made them."""
        if not summary:
            return "", *empty_timeline(), shares_table({})
        table = shares_table(summary["share_of_time"])
        return (video_actions.summary_text(summary),
                gr.update(choices=timeline_choices(whole), value=ALL_FACES),
                *timeline_plots(whole, ALL_FACES), frame(table, shares_table_widths(table)))

    def preview_video(self, video: str | None):
        """A new upload, before any analysis: kept for its analysis (the box empties for the
        next one), its first frame and facts shown (a browser cannot play every upload, e.g.
        OpenCV's MP4s, AVI, MOV); old results go."""
        first, facts = video_actions.preview(self.server, video)
        return (gr.update(value=first, visible=first is not None), facts,
                video if first is not None else None, None, *self.clear_video())

    def analyze_taken(self, video: str | None, emotion_set: str, sample_fps: float,
                      detector: str = DEFAULT_DETECTOR, progress=gr.Progress()):
        """The video just taken, analysed by itself; its facts say it is done (not 'Ready
        to analyse') and how to analyse another."""
        if not video:  # not a video we can analyse: the facts say why
            return (gr.skip(),) * 7
        answer = self.analyze_video(video, emotion_set, sample_fps, detector, progress)
        done = (f"**{Path(video).name}**: analysed. Drop another video above to analyse it, "
                "or this one again after changing the settings.")
        return *answer, done, None

    @staticmethod
    def clear_video():
        return (None, None, None, None, None, "", *empty_timeline(), shares_table({}))


def _inputs_and_results() -> tuple:
    """The upload, its first frame and facts, the settings and the button; the annotated
    video and its message beside them."""
    with gr.Row(equal_height=False):
        with gr.Column():
            upload = gr.File(label=f"Video (MP4, WebM, AVI, MOV; up to "
                                   f"{LIMITS.video_seconds // 60} min): drop one, it is analysed "
                                   "at once",
                             file_types=video_actions.UPLOAD_TYPES, elem_classes=["video-input"])
            first_frame = gr.Image(label="First frame", interactive=False, visible=False,
                                   buttons=[], elem_classes=["video-poster"])
            facts = gr.Markdown(elem_classes=["video-facts"])
            emotion_set = emotion_set_setting()
            sample_fps = gr.Slider(LIMITS.video_fps_min, LIMITS.video_fps_max, value=5, step=1,
                                   label="Frames analysed per second")
            gr.Markdown(LIMITS.video_text(), elem_classes=["limits"])
            detector = detector_setting()
        with gr.Column(elem_classes=["results"]):
            annotated = gr.Video(label="Annotated video (analysed frames)", interactive=False)
            message = gr.Markdown(elem_classes=["video-message"])
    return upload, first_frame, facts, emotion_set, sample_fps, detector, annotated, message


def video_tab(server: Server) -> None:
    on = VideoHandlers(server)
    (upload, first_frame, facts, emotion_set, sample_fps, detector, annotated,
     message) = _inputs_and_results()
    choice, winners, one_face = timeline("Timeline")
    with gr.Row():  # one above the other on a phone
        shares = gr.Dataframe(shares_table({}), label="Share of time in each emotion (%)",
                              interactive=False, min_width=340, scale=2,
                              elem_classes=["video-shares"])
        csv_file = gr.File(label="Per-frame CSV", interactive=False, min_width=340)
    summary, whole = gr.JSON(visible=False), gr.State(None)
    made = gr.State(None)  # the summary as the server made it (the client's copy is not used)
    taken = gr.State(None)  # the upload taken from the box, until it is analysed
    answers = [annotated, csv_file, summary, whole, made]
    results = [*answers, message, choice, winners, one_face, shares]
    settings = [emotion_set, sample_fps, detector]
    gr.on([], on.analyze_video, [upload, *settings], answers, api_name="analyze_video",
          **RUN)  # the API
    took = upload.upload(on.preview_video, [upload],
                         [first_frame, facts, taken, upload, *results],
                         api_visibility="private", trigger_mode="multiple")
    analysed = took.success(on.analyze_taken, [taken, *settings], [*answers, facts, taken],
                            api_visibility="private", **RUN)
    upload.upload(None, cancels=[analysed])  # a new video: the old one's analysis stops
    analysed.success(None, js=scroll_to_results())
    analysed.success(on.show_video, [made, whole], [message, choice, winners, one_face, shares],
                     api_visibility="private")
    choice.change(timeline_plots, [whole, choice], [winners, one_face], api_visibility="private",
                  show_progress="hidden")
