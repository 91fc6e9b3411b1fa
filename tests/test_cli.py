"""The command lines on this machine's files: outputs named after the inputs' tree (never
overwriting each other), and limits of their own (generous, settable) while the web
server's stay as they are."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import EXAMPLES, ROOT, face_patch, write_video
from emotion_recognition.cli import photo as photo_cli, video as video_cli
from emotion_recognition.cli.outputs import output_stems
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.limits import LIMITS, Limits

pytestmark = pytest.mark.unit


def test_output_names_mirror_the_inputs_folders(tmp_path):
    a, b = tmp_path / "in" / "a" / "x.jpg", tmp_path / "in" / "b" / "x.jpg"
    png, alone = tmp_path / "in" / "b" / "x.png", tmp_path / "one" / "y.jpg"
    (tmp_path / "in" / "a").mkdir(parents=True)
    assert output_stems([a, b], [tmp_path / "in"]) == {a: Path("a/x"), b: Path("b/x")}
    assert output_stems([a], [tmp_path / "in"]) == {a: Path("a/x")}  # below the folder given
    assert output_stems([a, b, png]) == {a: Path("a/x"), b: Path("b/x_jpg"), png: Path("b/x_png")}
    assert output_stems([alone]) == {alone: Path("y")}  # one file: its name, as before
    assert output_stems([a, alone]) == {a: Path("in/a/x"), alone: Path("one/y")}


def test_emotion_photo_keeps_same_named_photos_of_other_folders_apart(tmp_path, capsys):
    """a/x.jpg, b/x.jpg and b/x.png: three annotated copies, each of its own photo."""
    sources = {"a/x.jpg": "astronaut.jpg", "b/x.jpg": "grace_hopper.jpg", "b/x.png": "three_faces.jpg"}
    for name, example in sources.items():
        (tmp_path / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.open(EXAMPLES / example).save(tmp_path / "in" / name)
    out = tmp_path / "out"
    assert photo_cli.main([str(tmp_path / "in"), "--annotated", str(out),
                           "--json", str(tmp_path / "rows.json")]) == 0
    written = {str(p.relative_to(out)) for p in out.rglob("*.jpg")}
    assert written == {"a/x_annotated.jpg", "b/x_jpg_annotated.jpg", "b/x_png_annotated.jpg"}
    for name, annotated in [("a/x.jpg", "a/x_annotated.jpg"), ("b/x.jpg", "b/x_jpg_annotated.jpg"),
                            ("b/x.png", "b/x_png_annotated.jpg")]:
        assert Image.open(out / annotated).size == Image.open(EXAMPLES / sources[name]).size
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert [sum(r["source"].endswith(n) for r in rows) for n in sources] == [1, 1, 3]


def test_emotion_video_keeps_same_named_videos_of_other_folders_apart(tmp_path, capsys):
    for folder, frames in (("a", 10), ("b", 20)):
        (tmp_path / folder).mkdir()
        write_video(tmp_path / folder / "clip.mp4", frames=frames, fps=10)
    out = tmp_path / "out"
    assert video_cli.main([str(tmp_path / "a" / "clip.mp4"), str(tmp_path / "b" / "clip.mp4"),
                           "--fps", "5", "--out", str(out)]) == 0
    for folder, frames in (("a", 5), ("b", 10)):
        rows = list(csv.DictReader(open(out / folder / "clip_emotions.csv")))
        assert {r["source"] for r in rows} == {str(tmp_path / folder / "clip.mp4")}
        assert len({r["frame"] for r in rows}) == frames
        annotated = cv2.VideoCapture(str(out / folder / "clip_annotated.webm"))
        assert int(annotated.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
    assert len(capsys.readouterr().out.split('"video":')) == 3


# --- local limits --------------------------------------------------------------------------

def test_local_limits_are_generous_settable_and_apart_from_the_servers(monkeypatch):
    local = Limits.local()
    assert local.photo_pixels > LIMITS.photo_pixels and local.video_seconds > LIMITS.video_seconds
    assert local.video_bytes > LIMITS.video_bytes and local.photo_bytes > LIMITS.photo_bytes
    assert (LIMITS.photo_pixels, LIMITS.video_bytes, LIMITS.video_seconds) == \
        (40_000_000, 200 * 2**20, 600)  # the web server's, as they were
    monkeypatch.setenv("EMOTION_LOCAL_VIDEO_MINUTES", "90")
    assert Limits.local().video_seconds == 5400
    assert Limits.local(max_video_minutes=2.5).video_seconds == 150  # an option wins
    assert LIMITS.video_seconds == 600 and Limits().video_seconds == 600
    monkeypatch.setenv("EMOTION_LOCAL_PHOTO_MEGAPIXELS", "lots")
    with pytest.raises(ValueError, match="EMOTION_LOCAL_PHOTO_MEGAPIXELS must be a positive"):
        Limits.local()


def write_long_video(path: Path) -> Path:
    """10 min 30 s at 1 frame a second (240x180, small), a face only after 10 minutes."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 1.0, (240, 180))
    patch = face_patch(140)[..., ::-1]
    for second in range(630):
        frame = np.full((180, 240, 3), 100, np.uint8)
        if second >= 605:
            frame[20:160, 50:190] = patch
        writer.write(frame)
    writer.release()
    return path


def write_big_photo(path: Path) -> Path:
    """A 41-megapixel JPEG (8200x5000) with one face: over the server's 40."""
    canvas = np.full((5000, 8200, 3), 110, np.uint8)
    canvas[1500:3100, 3000:4600] = face_patch(1600)
    Image.fromarray(canvas).save(path, quality=80)
    return path


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    return write_long_video(tmp_path_factory.mktemp("long") / "long.mp4")


@pytest.fixture(scope="module")
def big_photo(tmp_path_factory) -> Path:
    return write_big_photo(tmp_path_factory.mktemp("big") / "big.jpg")


def test_emotion_video_reads_a_recording_longer_than_the_server_takes(long_video, tmp_path, capsys):
    out = tmp_path / "out"
    assert video_cli.main([str(long_video), "--fps", "1", "--no-video", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames_analysed"] == 630 and summary["stopped_at_s"] is None
    rows = list(csv.DictReader(open(out / "long_emotions.csv")))
    assert {r["status"] for r in rows} == {"face"} and min(float(r["time_s"]) for r in rows) >= 605
    assert max(float(r["time_s"]) for r in rows) == pytest.approx(629)
    # a local limit set lower cuts it off there, as the server's does
    assert video_cli.main([str(long_video), "--fps", "1", "--no-video", "--out", str(out),
                           "--max-video-minutes", "10.2"]) == 1
    assert "limit is 10 minutes" in capsys.readouterr().err  # (refused before reading)
    # the web server's route still refuses it
    from emotion_recognition.serving import video as video_route

    server = _server(tmp_path)
    upload = server.files.root / "long.mp4"
    shutil.copy(long_video, upload)
    with pytest.raises(EmotionAppError, match="limit is 10 minutes"):
        video_route.analyze(server, str(upload), "emotion7", 5)


def test_emotion_photo_reads_a_photo_larger_than_the_server_takes(big_photo, tmp_path, capsys):
    assert photo_cli.main([str(big_photo), "--json", str(tmp_path / "rows.json")]) == 0
    (row,) = json.loads((tmp_path / "rows.json").read_text())
    assert row["status"] == "face"
    # in the photo's own pixels (it was analysed at 1/4 size): inside the pasted face
    assert 3000 <= row["x"] and row["x"] + row["w"] <= 4600 and row["w"] > 600
    assert 1500 <= row["y"] and row["y"] + row["h"] <= 3100
    assert photo_cli.main([str(big_photo), "--max-photo-megapixels", "40",
                           "--json", str(tmp_path / "refused.json")]) == 1
    (refused,) = json.loads((tmp_path / "refused.json").read_text())
    assert refused["status"] == "error" and "megapixels" in refused["error"]
    from emotion_recognition.serving import photo as photo_route

    server = _server(tmp_path)
    upload = server.files.root / "big.jpg"
    shutil.copy(big_photo, upload)
    with pytest.raises(EmotionAppError, match="the limit is 40 megapixels"):
        photo_route.analyze(server, str(upload), "emotion7")


def test_the_file_size_limits_are_settable_too(tmp_path, capsys):
    clip = write_video(tmp_path / "clip.mp4", frames=10, fps=10)
    assert video_cli.main([str(clip), "--no-video", "--out", str(tmp_path),
                           "--max-video-mb", "0.001"]) == 1
    assert "The video is larger than" in capsys.readouterr().err
    assert photo_cli.main([str(EXAMPLES / "astronaut.jpg"), "--max-photo-mb", "0.001",
                           "--json", str(tmp_path / "rows.json")]) == 1
    (row,) = json.loads((tmp_path / "rows.json").read_text())
    assert row["status"] == "error" and "The file is larger than" in row["error"]


def test_a_bad_limit_option_gets_a_clear_message(tmp_path, capsys):
    assert photo_cli.main([str(EXAMPLES / "astronaut.jpg"), "--max-photo-mb", "-1"]) == 2
    assert "max_photo_mb must be a positive number" in capsys.readouterr().err


def _server(tmp_path):
    from emotion_recognition.serving.server import Server
    from emotion_recognition.serving.store import FileStore

    return Server.open(ROOT / "model", FileStore(tmp_path / "store"))
