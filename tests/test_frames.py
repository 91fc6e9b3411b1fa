"""Video frames by their own timestamps (video/frames.py): variable-frame-rate recordings,
as phones and browsers make them, get the right times and even sampling."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from conftest import face_patch
from emotion_recognition.video.frames import FrameReader
from emotion_recognition.video.probe import probe_video

pytestmark = pytest.mark.unit

# milliseconds: a burst at 25 fps, a stall of 3 fps, 30 fps, then 2.5 fps
STAMPS_MS = [0, 40, 80, 120, 160, 200, 500, 800, 1100, 1400, 1433, 1466, 1500, 1533, 1566,
             1600, 2000, 2400, 2800, 3200]


def write_vfr_clip(path: Path, stamps_ms=STAMPS_MS, size=(320, 240)) -> Path:
    """An H.264 .mp4 whose frames carry the given timestamps (PyAV, pts in milliseconds):
    the astronaut's face on grey, its brightness the frame's number (to tell frames apart)."""
    import av

    patch = face_patch(160)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"bf": "0"})  # no B-frames
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for number, stamp in enumerate(stamps_ms):
            rgb = np.full((size[1], size[0], 3), 60 + 8 * number, np.uint8)
            rgb[40:200, 80:240] = patch
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = stamp, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory) -> Path:
    return write_vfr_clip(tmp_path_factory.mktemp("vfr") / "phone.mp4")


def test_every_frame_of_a_variable_rate_clip_has_its_own_timestamp(vfr_clip):
    info = probe_video(vfr_clip)
    frames = list(FrameReader(vfr_clip, info.fps, sample_fps=1000))
    assert [f.index for f in frames] == list(range(len(STAMPS_MS)))
    assert [f.time for f in frames] == pytest.approx([s / 1000 for s in STAMPS_MS], abs=1e-3)
    brightness = [int(f.bgr[5, 5].mean()) for f in frames]  # each frame is the one stamped
    assert brightness == pytest.approx([60 + 8 * n for n in range(len(STAMPS_MS))], abs=3)


def test_sampling_takes_the_first_frame_at_or_after_each_step(vfr_clip):
    info = probe_video(vfr_clip)
    frames = list(FrameReader(vfr_clip, info.fps, sample_fps=2))  # every 0.5 s
    assert [round(f.time, 3) for f in frames] == [0.0, 0.5, 1.1, 1.5, 2.0, 2.8, 3.2]
    assert [f.index for f in frames] == [0, 6, 8, 12, 16, 18, 19]


def test_a_video_job_reports_each_frames_own_time(vfr_clip, recognizer):
    from emotion_recognition.video.analysis import analyze_video

    result = analyze_video(vfr_clip, recognizer, "emotion7", 2)
    assert [round(r.time, 3) for r in result.records] == [0.0, 0.5, 1.1, 1.5, 2.0, 2.8, 3.2]
    assert [row["time_s"] for row in result.rows("phone.mp4")] == pytest.approx(
        [0.0, 0.5, 1.1, 1.5, 2.0, 2.8, 3.2], abs=1e-3)
