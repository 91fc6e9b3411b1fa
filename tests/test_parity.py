"""One answer everywhere: the astronaut's face gets the same box, angle and label, and
probabilities within 0.02, through every way in: the Python API (the reference), the app's
/analyze, emotion-photo, emotion-batch (Ray: the photo and the clip), a video job and a live
session (each frame of a lossless 10-frame clip of the photo, whether the frame was a full
search or a guided one)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from conftest import EXAMPLES, ROOT
from emotion_recognition.core.labels import EMOTIONS7

pytestmark = pytest.mark.app

PHOTO = EXAMPLES / "astronaut.jpg"
FRAMES, FPS = 10, 10.0
PROBABILITY_TOLERANCE = 0.02


@dataclass(frozen=True)
class Seen:
    """A face as one path reported it; ``angle`` None where the path does not say it
    (the JSON and the rows carry no angle)."""

    path: str
    frame: int
    full_search: bool
    box: list[int]
    angle: float | None
    label: str
    probabilities: dict[str, float]


def from_face(path: str, frame: int, full_search: bool, face) -> Seen:
    return Seen(path, frame, full_search, face.box.as_list(), face.box.angle, face.label,
                face.probabilities)


def from_dict(path: str, frame: int, full_search: bool, face: dict) -> Seen:
    """A face dict of the API (``box``) or a face row (x, y, w, h and one column per emotion)."""
    box = face["box"] if "box" in face else [int(face[k]) for k in ("x", "y", "w", "h")]
    probabilities = face.get("probabilities") or {k: float(face[k]) for k in EMOTIONS7}
    return Seen(path, frame, full_search, list(box), None, face["label"], probabilities)



@pytest.fixture(scope="module")
def reference(recognizer):
    (face,) = recognizer.analyze(PHOTO).faces
    assert face.label == "happy" and abs(face.box.angle) > 2  # levelled: the angle matters
    return from_face("python", 0, True, face)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """The photo as a 10-frame video (FFV1, lossless: each frame is the photo's pixels)."""
    import av
    import cv2

    from emotion_recognition.core.decode import decode_image

    rgb = decode_image(PHOTO)
    path = tmp_path_factory.mktemp("parity") / "astronaut.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=int(FPS))
        stream.width, stream.height, stream.pix_fmt = rgb.shape[1], rgb.shape[0], "bgr0"
        for _ in range(FRAMES):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    ok, first = cv2.VideoCapture(str(path)).read()
    assert ok and np.array_equal(first[..., ::-1], rgb)
    return path


def full_searches(every: int) -> list[bool]:
    """Which of the clip's frames a TrackingDetector searches whole (a face found on each)."""
    return [index % every == 0 for index in range(FRAMES)]


def app_answers(app_url) -> list[Seen]:
    from gradio_client import Client, handle_file

    _, faces, size = Client(app_url, verbose=False).predict(
        handle_file(str(PHOTO)), "emotion7", api_name="/analyze")
    assert size["scale"] == 1.0
    return [from_dict("/analyze", 0, True, face) for face in faces]


def cli_answers(tmp_path: Path) -> list[Seen]:
    from emotion_recognition.cli import photo as photo_cli

    assert photo_cli.main([str(PHOTO), "--json", str(tmp_path / "rows.json")]) == 0
    return [from_dict("emotion-photo", 0, True, row)
            for row in json.loads((tmp_path / "rows.json").read_text())]


def batch_answers(clip: Path) -> list[Seen]:
    pytest.importorskip("ray")
    from emotion_recognition.batch.run import BatchSettings, label_dataset, ray_session
    from emotion_recognition.video.analysis import FULL_SEARCH_EVERY_S

    settings = BatchSettings(fps=FPS, model_dir=str(ROOT / "model"))
    with ray_session(num_cpus=2, object_store_mb=300):
        rows = label_dataset([str(PHOTO), str(clip)], settings).to_pandas()
    photo = rows[rows.source == str(PHOTO)].to_dict("records")
    video = rows[rows.source == str(clip)].sort_values("frame").to_dict("records")
    full = full_searches(round(FULL_SEARCH_EVERY_S * FPS))
    return ([from_dict("emotion-batch photo", 0, True, row) for row in photo]
            + [from_dict("emotion-batch video", int(row["frame"]), full[int(row["frame"])], row)
               for row in video])


def video_answers(clip: Path, recognizer) -> list[Seen]:
    from emotion_recognition.video.analysis import FULL_SEARCH_EVERY_S, analyze_video

    result = analyze_video(clip, recognizer, "emotion7", FPS)  # every frame
    full = full_searches(round(FULL_SEARCH_EVERY_S * FPS))
    return [from_face("video job", r.frame, full[r.frame], r.face) for r in result.records]


def live_answers(tmp_path: Path) -> list[Seen]:
    """The photo's JPEG sent as each of 10 webcam frames to the live route's action."""
    from emotion_recognition.live.session import FULL_SEARCH_EVERY
    from emotion_recognition.serving.live import frame_answer, session_records
    from emotion_recognition.serving.server import Server
    from emotion_recognition.serving.store import FileStore

    server, session = Server.open(ROOT / "model", FileStore(tmp_path / "store")), "a" * 32
    for _ in range(FRAMES):
        frame_answer(server, session, PHOTO.read_bytes(), "127.0.0.1")
    full = full_searches(FULL_SEARCH_EVERY)
    return [from_face("live", r.frame, full[r.frame], r.face)
            for r in session_records(server, session)]


@pytest.fixture(scope="module")
def answers(app_url, clip, recognizer, tmp_path_factory) -> list[Seen]:
    folder = tmp_path_factory.mktemp("answers")
    seen = (app_answers(app_url) + cli_answers(folder) + batch_answers(clip)
            + video_answers(clip, recognizer) + live_answers(folder))
    counts = {path: sum(s.path == path for s in seen) for path in dict.fromkeys(s.path for s in seen)}
    assert counts == {"/analyze": 1, "emotion-photo": 1, "emotion-batch photo": 1,
                      "emotion-batch video": FRAMES, "video job": FRAMES, "live": FRAMES}
    return seen


def _differences(seen: Seen, reference: Seen) -> dict:
    return {name: abs(p - reference.probabilities[name]) for name, p in seen.probabilities.items()
            if abs(p - reference.probabilities[name]) > PROBABILITY_TOLERANCE}


def test_every_path_gives_the_photos_box_label_and_probabilities(answers, reference):
    """Photos and every frame searched whole: the same box, label, probabilities (and the
    same angle where the path reports it)."""
    for seen in (s for s in answers if s.full_search):
        where = (seen.path, seen.frame)
        assert seen.box == reference.box, where
        assert seen.angle is None or seen.angle == pytest.approx(reference.angle, abs=0.05), where
        assert seen.label == reference.label and not _differences(seen, reference), where


def test_guided_frames_give_the_photos_label_and_probabilities(answers, reference):
    guided = [s for s in answers if not s.full_search]
    assert len(guided) == 2 * (FRAMES - 1) + FRAMES - 2  # batch and video: 9 each; live: 8
    for seen in guided:
        assert seen.label == reference.label and not _differences(seen, reference), \
            (seen.path, seen.frame, _differences(seen, reference))


def test_guided_frames_keep_the_eye_levelling_angle(answers, reference):
    """Within 2 degrees: a guided frame's detector measures the angle again on a shrunken
    window (keeping it there gave 3.4 to 5.9 degrees for the photo's 4.2; dropped: 0)."""
    for seen in (s for s in answers if not s.full_search and s.angle is not None):
        assert seen.angle == pytest.approx(reference.angle, abs=2.0), (seen.path, seen.frame)


def test_guided_frames_keep_the_box(answers, reference):
    for seen in (s for s in answers if not s.full_search):
        assert np.abs(np.subtract(seen.box, reference.box)).max() <= 2, (seen.path, seen.frame)
