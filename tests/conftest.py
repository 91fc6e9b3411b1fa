"""Shared fixtures. Every data fixture is made here; nothing from FER2013 is committed."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np
import pytest

from emotion_recognition.core.labels import EMOTIONS7

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def synthetic_face(label: int, seed: int) -> np.ndarray:
    """A 48x48 grey image whose pattern depends on the label (learnable, not a real face)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(60, 120, (48, 48)).astype(np.uint8)
    cv2.circle(image, (24, 24), 6 + 2 * label, 220, -1)
    return image


def kaggle_entries(per_class: int = 4) -> dict[str, np.ndarray]:
    """{archive path: image} in the Kaggle layout, Training, PublicTest and PrivateTest."""
    entries = {}
    for label, emotion in enumerate(EMOTIONS7):
        for i in range(per_class):
            seed = 1000 * label + i
            entries[f"train/{emotion}/Training_{seed}.jpg"] = synthetic_face(label, seed)
            entries[f"test/{emotion}/PublicTest_{seed}.jpg"] = synthetic_face(label, seed + 500)
            entries[f"test/{emotion}/PrivateTest_{seed}.jpg"] = synthetic_face(label, seed + 700)
    return entries


def write_kaggle_zip(path: Path, entries: dict[str, np.ndarray], raw: dict[str, bytes] | None = None):
    with zipfile.ZipFile(path, "w") as archive:
        for name, image in entries.items():
            archive.writestr(name, cv2.imencode(".jpg", image)[1].tobytes())
        for name, data in (raw or {}).items():
            archive.writestr(name, data)
    return path


@pytest.fixture(scope="session")
def fer_zip(tmp_path_factory) -> Path:
    return write_kaggle_zip(tmp_path_factory.mktemp("fer") / "fer2013.zip", kaggle_entries())


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """Served models with the real graph (normalisation, flip averaging) but random weights."""
    import keras

    from emotion_recognition.training.architectures import build
    from emotion_recognition.training.export import save_served_models

    keras.utils.set_random_seed(0)
    out = tmp_path_factory.mktemp("tiny_model")
    save_served_models(build("vgg", 7, width=4), out)
    (out / "labels.json").write_text(json.dumps(
        {"emotion7": list(EMOTIONS7), "emotion4": ["angry", "happy", "sad", "neutral"]}))
    return out


@pytest.fixture(scope="session")
def recognizer():
    """The recognizer on the bundled model/ folder, shared by the tests of a session."""
    from emotion_recognition.core.pipeline import EmotionRecognizer

    return EmotionRecognizer(ROOT / "model")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """The real app (python app.py) serving the bundled model on a free localhost port,
    shared by the app tests (benchmarks.app_server: the one way tests and benchmarks start
    it)."""
    from benchmarks.app_server import AppServer

    with AppServer(tmp_path_factory.mktemp("app") / "app.log") as server:
        yield server.url


FOURCC = {".mp4": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".webm": "VP80"}


def face_patch(side: int = 200) -> np.ndarray:
    """The astronaut's face (a public-domain photo), cut loosely and scaled to side x side."""
    from emotion_recognition.core.decode import decode_image

    rgb = decode_image(EXAMPLES / "astronaut.jpg")
    return cv2.resize(rgb[20:260, 110:350], (side, side), interpolation=cv2.INTER_AREA)


def write_video(path: Path, frames: int = 90, fps: float = 30.0, faces: int = 1,
                size: tuple[int, int] = (640, 480)) -> Path:
    """A test video of real faces sliding slowly across a grey background."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC[path.suffix]), fps, size)
    assert writer.isOpened(), path
    side = 200 if faces == 1 else 150
    patch = face_patch(side)[..., ::-1]
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), 100, np.uint8)
        for k in range(faces):
            x = 20 + k * 300 + i * 2 * (1 if k % 2 == 0 else -1) + (100 if k % 2 else 0)
            x = int(np.clip(x, 0, size[0] - side))
            frame[120:120 + side, x:x + side] = patch
        writer.write(frame)
    writer.release()
    return path


def write_y4m(path: Path, frames: int = 30, size: tuple[int, int] = (640, 480)) -> Path:
    """A Y4M clip of the astronaut's face for Chromium's fake webcam
    (--use-file-for-fake-video-capture)."""
    width, height = size
    patch = face_patch(200)
    with open(path, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420\n".encode())
        for i in range(frames):
            frame = np.full((height, width, 3), 100, np.uint8)
            x = 150 + (i % 10) * 4
            frame[120:320, x:x + 200] = patch
            handle.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def write_walk_video(path: Path, seconds: float = 5.0, fps: float = 30.0) -> Path:
    """Two people crossing a 640x480 frame, bobbing as they step: one slowly left to right
    for the whole clip, one briskly right to left in the first half (then gone)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC[path.suffix]), fps, (640, 480))
    patch = face_patch(120)[..., ::-1]
    for i in range(int(seconds * fps)):
        t = i / fps
        frame = np.full((480, 640, 3), 100, np.uint8)
        bob = int(6 * np.sin(2 * np.pi * 2 * t))
        frame[40 + bob:160 + bob, int(t * 100):int(t * 100) + 120] = patch
        if t < 2.5:
            x = int(520 - t * 200)
            frame[300 - bob:420 - bob, x:x + 120] = patch[:, ::-1]
        writer.write(frame)
    writer.release()
    return path


TIERS = ("unit", "app", "browser", "training")  # pytest.ini's markers


def pytest_collection_modifyitems(config, items):
    """Every test has exactly one tier (a module's ``pytestmark``), so ``-m unit`` and the
    others together are the whole suite."""
    wrong = [f"{item.nodeid}: {tiers or 'none'}" for item in items
             if len(tiers := [m.name for m in item.iter_markers() if m.name in TIERS]) != 1]
    if wrong:
        raise pytest.UsageError("tests without exactly one tier marker (" + ", ".join(TIERS)
                                + "):\n" + "\n".join(wrong))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the test (item.failed_call), for fixtures that keep
    evidence of a failure (the browser tests' screenshots)."""
    outcome = yield
    if call.when == "call" and outcome.get_result().failed:
        item.failed_call = True


def pytest_terminal_summary(terminalreporter):
    """Say where the browser tests' screenshots are (CI keeps that folder as artifacts)."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "artifacts" / "screenshots")
    shots = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if shots:
        terminalreporter.write_line(f"screenshots ({len(shots)}): {folder}")
