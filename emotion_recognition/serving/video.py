"""The video actions the UI calls, free of Gradio: a preview on upload (the first frame and
the video's facts), the analysis of an upload within the server's limits (the annotated
video, the face rows as CSV, the summary), and the sentence that sums it up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from emotion_recognition.core.annotate import for_display
from emotion_recognition.core.decode import IMAGE_SUFFIXES
from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.labels import DEFAULT_EMOTION_SET
from emotion_recognition.core.limits import LIMITS
from emotion_recognition.core.rows import write_rows_csv
from emotion_recognition.video.analysis import analyze_video
from emotion_recognition.video.probe import VIDEO_SUFFIXES, poster
from emotion_recognition.video.timeline import Timeline

if TYPE_CHECKING:
    from emotion_recognition.serving.server import Server

NO_VIDEO = "Please upload a video first (MP4, WebM, AVI or MOV)."
PREVIEW_SIDE = 640
# what the upload field takes: videos, and photos (dropped here by mistake: the preview
# says they belong on the Photo tab, where the browser alone would only say 'invalid')
UPLOAD_TYPES = sorted(VIDEO_SUFFIXES | IMAGE_SUFFIXES)


@dataclass(frozen=True)
class VideoAnswer:
    annotated: str     # the annotated video's path (this request's own folder)
    csv: str           # the face rows (core/rows.py) as CSV
    summary: dict      # VideoAnalysis.summary()
    timeline: Timeline


def analyze(server: Server, video: str | None, emotion_set: str | None, sample_fps: float,
            detector: str | None = DEFAULT_DETECTOR,
            progress: Callable[[float, str], None] | None = None) -> VideoAnswer:
    """An uploaded video, analysed within the server's limits (LIMITS)."""
    if not video:
        raise EmotionAppError(NO_VIDEO)
    stem = Path(video).stem[:40] or "video"
    with server.files.claim(video) as path, server.files.result_dir() as out:
        result = analyze_video(path, server.recognizer, emotion_set or DEFAULT_EMOTION_SET,
                               float(sample_fps), out / f"{stem}_annotated.mp4",
                               progress=progress, limits=LIMITS,
                               detector=detector or DEFAULT_DETECTOR)
        csv = write_rows_csv(result.rows(Path(video).name), result.labels,
                             out / f"{stem}_emotions.csv")
    return VideoAnswer(str(result.annotated_path), str(csv), result.summary(), result.timeline)


def preview(server: Server, video: str | None) -> tuple[np.ndarray | None, str]:
    """On upload, before any analysis: (the first frame, the facts in Markdown), or (None,
    why it cannot be analysed). The upload stays for the analysis."""
    if not video:
        return None, ""
    try:
        with server.files.peek(video) as path:
            info, frame = poster(path)
    except EmotionAppError as error:
        return None, f"**{error}**"
    length = f"{info.duration:.1f} s" if info.duration else "length not given"
    facts = (f"**{Path(video).name}**: {length}, {info.width}x{info.height}, "
             f"{info.fps:g} frames per second. Ready to analyse.")
    return for_display(frame, PREVIEW_SIDE), facts


def summary_text(summary: dict | None) -> str:
    """The sentence under an analysed video (Markdown)."""
    if not summary:
        return ""
    text = (f"{summary['frames_analysed']} frames analysed over {summary['duration_s']} s; "
            f"{summary['faces']} face(s) followed." if summary["faces"]
            else f"**No face found** in the {summary['frames_analysed']} frames analysed.")
    if summary.get("stopped_at_s") is not None:
        text += (f" **Stopped at {summary['stopped_at_s']} s**: "
                 f"{summary.get('stopped_because') or 'a limit was reached'}.")
    return text
