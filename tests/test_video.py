"""Videos and live sessions: frame counts, timestamps, ids, CSV, limits and bad files."""

from __future__ import annotations

import csv
import json
import wave

import cv2
import numpy as np
import pytest

from conftest import face_patch, write_video, write_walk_video
from emotion_recognition.cli import video as video_cli
from emotion_recognition.core.errors import VideoError
from emotion_recognition.core.labels import EMOTIONS4, EMOTIONS7
from emotion_recognition.core.rows import row_columns, write_rows_csv
from emotion_recognition.live.session import LiveSession
from emotion_recognition.video.analysis import analyze_video
from emotion_recognition.video.probe import probe_video
from emotion_recognition.video.timeline import emotion_shares

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "clip.mp4")


def test_samples_the_chosen_rate_with_timestamps_and_one_id(clip, recognizer, tmp_path):
    result = analyze_video(clip, recognizer, "emotion7", 5, tmp_path / "out.webm")
    assert result.info.frame_count == 90 and result.info.fps == pytest.approx(30)
    assert result.frames_analysed == 15
    times = sorted({round(r.time, 3) for r in result.records})
    assert times == [round(0.2 * i, 3) for i in range(15)]
    assert {r.frame for r in result.records} == set(range(0, 90, 6))
    assert {r.face.face_id for r in result.records} == {1}
    annotated = cv2.VideoCapture(str(tmp_path / "out.webm"))
    assert int(annotated.get(cv2.CAP_PROP_FRAME_COUNT)) == 15
    assert annotated.get(cv2.CAP_PROP_FPS) == pytest.approx(5)


@pytest.mark.parametrize("suffix", [".webm", ".avi", ".mov"])
def test_reads_every_container(tmp_path, recognizer, suffix):
    path = write_video(tmp_path / f"clip{suffix}", frames=20, fps=10)
    result = analyze_video(path, recognizer, "emotion4", 5)
    assert result.frames_analysed == 10 and result.labels == EMOTIONS4
    assert len(result.records) >= 8


def test_two_faces_keep_two_ids(tmp_path, recognizer):
    path = write_video(tmp_path / "two.mp4", frames=30, fps=10, faces=2)
    result = analyze_video(path, recognizer, "emotion7", 10)
    ids = {r.face.face_id for r in result.records}
    assert ids == {1, 2}
    first = [r.face.box.x for r in result.records if r.face.face_id == 1]
    second = [r.face.box.x for r in result.records if r.face.face_id == 2]
    assert first[-1] - first[0] > 30 and second[0] - second[-1] > 30  # right, and left


def test_csv_summary_and_timeline(clip, recognizer, tmp_path):
    result = analyze_video(clip, recognizer, "emotion7", 2)
    path = write_rows_csv(result.rows("clip.mp4"), result.labels, tmp_path / "faces.csv")
    rows = list(csv.reader(path.open()))
    assert rows[0] == list(row_columns(EMOTIONS7)) == [
        "source", "kind", "status", "face_count", "face", "frame", "time_s", "x", "y", "w", "h",
        "label", "confidence", *EMOTIONS7, "emotion_set", "model_revision", "error"]
    assert len(rows) == 1 + len(result.records) and len(result.records) == 6
    table = list(csv.DictReader(path.open()))
    assert [r["time_s"] for r in table] == [str(round(r.time, 3)) for r in result.records]
    assert {r["face"] for r in table} == {"1"} and {r["kind"] for r in table} == {"video"}
    shares = emotion_shares(result.records, result.labels)
    assert sum(shares[1].values()) == pytest.approx(1.0)
    timeline = result.timeline
    assert timeline.face_ids() == [1]
    assert len(timeline.probabilities(1)) == 7 * len(result.records)
    assert [row["emotion"] for row in timeline.winners()] == [r.face.label for r in result.records]
    assert result.summary()["share_of_time"]["1"] == shares[1] and result.summary()["faces"] == 1


def test_video_without_faces(tmp_path, recognizer):
    writer = cv2.VideoWriter(str(tmp_path / "empty.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for _ in range(10):
        writer.write(np.full((240, 320, 3), 80, np.uint8))
    writer.release()
    result = analyze_video(tmp_path / "empty.mp4", recognizer, "emotion7", 5)
    assert result.frames_analysed == 5 and result.records == []


def test_bad_videos_get_clear_messages(tmp_path, clip):
    (tmp_path / "zero.mp4").write_bytes(b"")
    (tmp_path / "junk.mp4").write_bytes(b"\x00\x01 not a video at all" * 100)
    with wave.open(str(tmp_path / "sound.wav"), "wb") as audio:
        audio.setnchannels(1), audio.setsampwidth(2), audio.setframerate(8000)
        audio.writeframes(np.zeros(8000, np.int16).tobytes())
    with pytest.raises(VideoError, match="empty"):
        probe_video(tmp_path / "zero.mp4")
    with pytest.raises(VideoError, match="not a video|no readable video"):
        probe_video(tmp_path / "junk.mp4")
    with pytest.raises(VideoError, match="not a video|audio only"):
        probe_video(tmp_path / "sound.wav")
    with pytest.raises(VideoError, match="limit is 0 minutes|minutes"):
        probe_video(clip, max_seconds=1)
    with pytest.raises(VideoError, match="larger than"):
        probe_video(clip, max_bytes=1000)
    with pytest.raises(VideoError, match="between 0 and 30"):
        analyze_video(clip, None, "emotion7", 0)


def test_a_webm_without_a_duration_is_analysed_and_kept_within_the_limits(tmp_path, recognizer):
    import dataclasses

    from crafted import webm_without_duration
    from emotion_recognition.core.limits import LIMITS

    webm = webm_without_duration(tmp_path / "recorded.webm", frames=20)  # 2 s at 10 fps
    info = probe_video(webm)
    assert info.frame_count == 0 and info.duration == 0.0  # unknown, not -9e16 frames
    result = analyze_video(webm, recognizer, "emotion7", 5, limits=LIMITS)
    assert result.frames_analysed == 10 and result.summary()["duration_s"] == pytest.approx(1.9)
    short = dataclasses.replace(LIMITS, video_seconds=1)  # read as it goes: stops at the limit
    stopped = analyze_video(webm, recognizer, "emotion7", 5, limits=short)
    assert stopped.summary()["stopped_because"] == "videos may last 1 s at most"
    assert stopped.frames_analysed == 6  # 0.0, 0.2, ... 1.0 s


def test_a_still_image_or_frames_over_4k_are_refused_before_a_frame_is_decoded(
        tmp_path, monkeypatch):
    import shutil

    import emotion_recognition.video.probe as probe
    from conftest import EXAMPLES
    from crafted import mjpeg_avi

    photo = tmp_path / "photo.mp4"
    shutil.copy(EXAMPLES / "astronaut.jpg", photo)
    big = mjpeg_avi(tmp_path / "big.avi", frames=2, size=(5000, 4000))

    class NoDecoding:  # OpenCV's capture, but decoding a frame fails the test
        def __init__(self, *args):
            self.capture = opencv_capture(*args)

        def grab(self):
            raise AssertionError("a frame was decoded")

        def __getattr__(self, name):
            return getattr(self.capture, name)

    opencv_capture = cv2.VideoCapture

    monkeypatch.setattr(probe.cv2, "VideoCapture", NoDecoding)
    with pytest.raises(VideoError, match="still image, not a video"):
        probe_video(photo)
    with pytest.raises(VideoError, match="5000x4000 pixels; the limit is 8.29 megapixels"):
        probe_video(big)


def test_a_frame_larger_than_the_limits_ends_the_reading_and_an_unused_reader_closes(clip):
    import dataclasses

    from emotion_recognition.core.limits import LIMITS
    from emotion_recognition.video.frames import FrameReader

    FrameReader(clip, 30, 5).close()  # never started: nothing to stop, no error of its own
    tiny = dataclasses.replace(LIMITS, video_frame_pixels=1000)
    with pytest.raises(VideoError, match="frames are too large"):
        list(FrameReader(clip, 30, 5, limits=tiny))


def test_live_session_keeps_ids_and_records(recognizer):
    session = LiveSession(smoothing=0.6)
    frame = np.full((480, 640, 3), 100, np.uint8)
    for step in range(5):
        frame[:] = 100
        frame[100:300, 50 + 10 * step:250 + 10 * step] = face_patch(200)
        annotated, faces = session.process(frame, recognizer, "emotion7")
        assert annotated.shape == frame.shape and len(faces) == 1
    assert [r.face.face_id for r in session.records] == [1] * 5
    assert [r.frame for r in session.records] == list(range(5))
    times = [r.time for r in session.records]
    assert times == sorted(times)


@pytest.mark.parametrize("detector", ["blazeface", "combined"])
def test_videos_and_live_sessions_use_the_chosen_detector(clip, recognizer, detector, capsys):
    from emotion_recognition.core.errors import EmotionAppError

    result = analyze_video(clip, recognizer, "emotion7", 5, detector=detector)
    assert result.frames_analysed == 15 and len(result.records) == 15
    assert {r.face.face_id for r in result.records} == {1}
    session = LiveSession()
    frame = np.full((480, 640, 3), 100, np.uint8)
    frame[100:300, 50:250] = face_patch(200)
    assert len(session.process(frame, recognizer)[1]) == 1
    served = session.detector
    session.detector_name = detector  # the person chose another detector: the next frame uses it
    assert len(session.process(frame, recognizer)[1]) == 1
    assert session.detector is not served and type(session.detector.detector).__name__ != (
        type(served.detector).__name__)
    with pytest.raises(EmotionAppError, match="Unknown face detector"):
        analyze_video(clip, recognizer, "emotion7", 5, detector="yolo")
    from emotion_recognition.live.sessions import LiveSessions

    sessions = LiveSessions()  # the server's sessions share a pool of detectors per name
    assert sessions.pool(detector) is sessions.pool(detector) is not sessions.pool("haar")
    shared = sessions.get("a" * 32, create=True, client="10.0.0.1")
    shared.detector_name = detector
    assert len(shared.process(frame, recognizer)[1]) == 1
    assert shared.detector.detector is sessions.pool(detector)
    assert video_cli.main([str(clip), "--no-video", "--detector", detector, "--out",
                           str(clip.parent / detector)]) == 0
    assert json.loads(capsys.readouterr().out)["faces"] == 1


def test_live_sessions_are_made_for_valid_frames_only_and_capped_per_client():
    from emotion_recognition.live.sessions import LiveSessions

    sessions = LiveSessions(ttl_s=60, max_sessions=6, per_client=2)
    ids = [f"{n:032x}" for n in range(8)]
    assert sessions.get(ids[0]) is None and len(sessions) == 0  # asking makes nothing
    for bad in (None, "../results", "x" * 32, ["a"], {"a": 1}, 7):
        assert sessions.get(bad) is None
        with pytest.raises(VideoError, match="not valid"):
            sessions.get(bad, create=True, client="10.0.0.1")
    sessions.get(ids[0], create=True, client="10.0.0.1")
    sessions.get(ids[1], create=True, client="10.0.0.1")
    with pytest.raises(VideoError, match="already has 2 live sessions"):
        sessions.get(ids[2], create=True, client="10.0.0.1")
    assert sessions.get(ids[0], create=True, client="10.0.0.1") is not None  # its own: fine
    for n in range(3, 7):  # others still get theirs, until the server's own limit
        sessions.get(ids[n], create=True, client=f"10.0.0.{n}")
    with pytest.raises(VideoError, match="Too many live sessions"):
        sessions.get(ids[7], create=True, client="10.0.0.9")


def test_a_stopped_live_session_gives_way_to_its_own_address_only():
    """A reload or a stopped page must not lock a person out for the session's 2 minutes:
    at its limit, an address's session idle for IDLE_S gives way to its new one; a running
    one (or another address's) never does."""
    import time

    from emotion_recognition.live.sessions import LiveSessions

    sessions = LiveSessions(ttl_s=60, max_sessions=6, per_client=2, idle_s=0.2)
    ids = [f"{n:032x}" for n in range(5)]
    sessions.get(ids[0], create=True, client="10.0.0.1")
    sessions.get(ids[3], create=True, client="10.0.0.2")
    time.sleep(0.3)  # 0 and the other address's 3 are idle now
    sessions.get(ids[1], create=True, client="10.0.0.1")
    sessions.get(ids[2], create=True, client="10.0.0.1")  # 0 gives way
    assert sessions.get(ids[0]) is None and sessions.get(ids[3]) is not None
    with pytest.raises(VideoError, match="already has 2 live sessions running"):
        sessions.get(ids[4], create=True, client="10.0.0.1")  # 1 and 2 are running
    assert len(sessions) == 3


def test_a_live_csv_after_switching_the_emotion_set_leaves_unmeasured_emotions_empty(
        recognizer, tmp_path):
    session = LiveSession(max_records=5)
    frame = np.full((480, 640, 3), 100, np.uint8)
    frame[100:300, 50:250] = face_patch(200)
    for emotion_set in ("emotion4", "emotion4", "emotion7", "emotion7", "emotion7", "emotion7"):
        session.process(frame, recognizer, emotion_set)
    records, labels = session.snapshot()
    assert len(records) == 5 and labels == EMOTIONS7  # the oldest dropped, every emotion kept
    rows = list(csv.DictReader(open(write_rows_csv(session.rows(), labels, tmp_path / "live.csv"))))
    assert rows[0]["disgust"] == "" and rows[0]["happy"] != ""  # an emotion4 frame
    assert all(rows[-1][name] != "" for name in EMOTIONS7)
    assert abs(sum(float(rows[-1][name]) for name in EMOTIONS7) - 1) < 0.01
    one_face = session.timeline().probabilities(records[0].face.face_id)
    assert len(one_face) == 4 + 7 * 4  # no made-up 0.0 for emotions a frame did not have


def test_video_cli_writes_csv_video_and_summary(clip, tmp_path, capsys):
    assert video_cli.main([str(clip), "--fps", "5", "--out", str(tmp_path), "--emotions", "4"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames_analysed"] == 15 and set(summary["share_of_time"]["1"]) == set(EMOTIONS4)
    assert (tmp_path / "clip_emotions.csv").is_file() and (tmp_path / "clip_annotated.webm").is_file()
    (tmp_path / "bad.mp4").write_bytes(b"nope")
    assert video_cli.main([str(tmp_path / "bad.mp4"), "--out", str(tmp_path)]) == 1


@pytest.mark.parametrize("fps", [2, 5])
def test_people_walking_across_keep_their_ids(tmp_path, recognizer, fps):
    path = write_walk_video(tmp_path / "walk.mp4")
    result = analyze_video(path, recognizer, "emotion7", fps)
    assert result.timeline.face_ids() == [1, 2] and result.summary()["faces"] == 2
    slow = [r.face.box.x for r in result.records if r.face.face_id == 1]
    assert slow == sorted(slow) and slow[-1] - slow[0] > 300  # id 1 walked all the way


def test_a_timeline_plot_names_every_emotion_from_its_first_value():
    """A Gradio plot keeps the colours of the emotions in the first value it draws: a live
    timeline that began neutral never drew its happy dots (issue 17). Every value names
    every emotion; the rows added have no time, so nothing more is drawn."""
    import pandas as pd

    from emotion_recognition.serving.tables import with_every_emotion

    table = pd.DataFrame([{"time_s": 0.25 * i, "face": "face 1", "emotion": "neutral",
                           "probability": 0.8} for i in range(3)])
    padded = with_every_emotion(table)
    assert sorted(padded["emotion"].unique()) == sorted(EMOTIONS7)
    assert padded.iloc[:3].equals(table)  # what is drawn is unchanged
    added = padded.iloc[3:]
    assert len(added) == 6 and added["time_s"].isna().all()
    assert set(added["face"]) == {"face 1"}  # no new row of dots on the face axis
    assert padded["time_s"].dtype.kind == "f"  # still numbers: a time axis, not categories
    assert with_every_emotion(padded) is padded


def test_a_live_session_that_saw_no_face_says_so(recognizer):
    from emotion_recognition.serving.live import nothing_recorded

    assert nothing_recorded(None) == "Nothing recorded yet: start the camera first."
    session = LiveSession()
    blank = np.full((240, 320, 3), 100, np.uint8)
    for _ in range(3):
        assert session.process(blank, recognizer)[1] == []
    session.seconds = 12.4  # as if it had run that long
    message = nothing_recorded(session)
    assert message.startswith("The camera ran for 12 s but saw no face")
    assert "start the camera" not in message


def test_adding_a_faceless_live_session_to_the_journal_says_why(recognizer, tmp_path):
    """The journal's "add this session" tells the same truth as the export: never started,
    or ran and saw no face."""
    from types import SimpleNamespace

    from emotion_recognition.live.sessions import LiveSessions
    from emotion_recognition.serving.journal import add_live

    server = SimpleNamespace(live_sessions=LiveSessions())
    never = add_live(server, None, None, "", [], None)
    assert never.message == "Nothing recorded yet: start the camera first."
    session_id = "ab" * 16
    session = server.live_sessions.get(session_id, create=True, client="test")
    session.process(np.full((240, 320, 3), 100, np.uint8), recognizer)
    session.seconds = 5.0
    ran = add_live(server, session_id, None, "", [], None)
    assert ran.message.startswith("The camera ran for 5 s but saw no face")
