"""image -> faces -> crops -> model -> labelled faces: the core every front end shares
(the Python API, the app, the command lines, batch).

    >>> from emotion_recognition.models.hub import served_model_dir
    >>> recognizer = EmotionRecognizer(served_model_dir)   # bundled model/, or the Hub
    >>> result = recognizer.analyze("photo.jpg", emotion_set="emotion7")
    >>> result.face_dicts()                              # numbered, in the photo's pixels
    >>> recognizer.analyze("photo.jpg", detector="blazeface")  # see detection/detectors.py
    >>> recognizer.analyze(cv2.imread("photo.jpg"), channels="bgr")  # OpenCV's arrays
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import numpy as np

from emotion_recognition.core.classify import EmotionClassifier
from emotion_recognition.core.crops import face_crops, to_grey
from emotion_recognition.core.decode import decode_photo
from emotion_recognition.core.detection.detectors import (DEFAULT_DETECTOR, check_detector,
                                                          create_detector)
from emotion_recognition.core.detection.policy import find_faces
from emotion_recognition.core.explain import explain_faces
from emotion_recognition.core.labels import DEFAULT_EMOTION_SET, EmotionSet, emotion_set
from emotion_recognition.core.limits import LIMITS, Limits
from emotion_recognition.core.types import Analysis, Box, Face

ModelDir = str | Path | Callable[[], Path]


def no_face_message(smallest_face: int) -> str:
    """What to tell the user when no face was found, with the minimum face width
    (LIMITS.min_face_side, or their image's own when larger)."""
    return ("No face found. Try a brighter, sharper photo where the face looks at the camera "
            f"and is at least {smallest_face} pixels wide.")


def classify_faces(image: np.ndarray, boxes: list[Box], classifier: EmotionClassifier
                   ) -> list[Face]:
    """Classify every box of an RGB or grey image (the grey one the faces were found in:
    it is not made again) in one batch."""
    if not boxes:
        return []
    return faces_of(boxes, classifier.predict(face_crops(to_grey(image), boxes)),
                    classifier.labels)


def faces_of(boxes: list[Box], probabilities: np.ndarray, labels: tuple[str, ...]) -> list[Face]:
    """Each box with its row of the model's probabilities -> a Face (label: the largest)."""
    faces = []
    for box, row in zip(boxes, probabilities):
        best = int(np.argmax(row))
        faces.append(Face(box, labels[best], float(row[best]),
                          {name: float(p) for name, p in zip(labels, row)}))
    return faces


class EmotionRecognizer:
    """The Python API: loads the detectors and models lazily, once, and analyses images.

    ``model_dir`` is a folder with the served models (emotion7.keras, emotion4.keras,
    labels.json), or a function that returns one when it is first needed (such as
    ``models.hub.served_model_dir``: the bundled models or a pinned Hub revision).
    ``detector`` replaces the default detector of photos (an object with ``detect(grey)``
    and ``smallest_face(grey)``); the others are made on first use.
    """

    def __init__(self, model_dir: ModelDir, detector=None):
        self._model_dir = model_dir
        self._detectors = {DEFAULT_DETECTOR: detector} if detector is not None else {}
        self._classifiers: dict[str, EmotionClassifier] = {}
        self._lock = threading.Lock()

    @property
    def detector(self):
        """The default detector (detectors.DEFAULT_DETECTOR)."""
        return self.detector_named(DEFAULT_DETECTOR)

    def detector_named(self, name: str | None = DEFAULT_DETECTOR):
        """The detector of that name (detectors.DETECTORS), made once and shared by this
        recognizer's requests."""
        name = check_detector(name)
        with self._lock:
            if name not in self._detectors:
                self._detectors[name] = create_detector(name)
            return self._detectors[name]

    def new_detector(self, name: str | None = DEFAULT_DETECTOR):
        """A detector of that name of its own (a video job's or a live session's: its
        cascades' buffers and locks are shared with no other request)."""
        return create_detector(name)

    def classifier(self, emotions: str | EmotionSet = DEFAULT_EMOTION_SET) -> EmotionClassifier:
        """The classifier of an emotion set (by name), loaded once."""
        name = emotion_set(emotions).name
        with self._lock:
            if name not in self._classifiers:
                self._classifiers[name] = EmotionClassifier.from_dir(self._folder(), name)
            return self._classifiers[name]

    def _folder(self) -> Path:
        if callable(self._model_dir):
            self._model_dir = Path(self._model_dir())  # resolved once, on first use
        return Path(self._model_dir)

    def analyze(self, image, emotion_set: str | EmotionSet = DEFAULT_EMOTION_SET,
                explain: bool = False, detector: str = DEFAULT_DETECTOR,
                limits: Limits | None = None, channels: str = "rgb") -> Analysis:
        """Decode ``image`` (path, bytes, PIL image or array) and label every face in it;
        ``explain`` adds a heat map per face of the regions that drove its label (slower);
        ``detector`` names the face detector (detectors.DETECTORS); ``limits`` bound the
        image (default Limits.local(): trusted local input; pass LIMITS for the server's);
        ``channels`` is an array's channel order: "rgb", or "bgr" for OpenCV's (cv2.imread,
        VideoCapture). Arrays are held to the limits and reduced like a photo file.

        Raises ImageDecodeError (with a message for the user) when it is not a usable image.
        """
        check_detector(detector)
        rgb, scale = decode_photo(image, limits=limits or Limits.local(),
                                  channels=channels)  # large: reduced
        return self.analyze_decoded(rgb, emotion_set, explain, scale, detector)

    def analyze_decoded(self, rgb: np.ndarray,
                        emotion_set: str | EmotionSet = DEFAULT_EMOTION_SET,
                        explain: bool = False, scale: float = 1.0,
                        detector: str = DEFAULT_DETECTOR) -> Analysis:
        """Like analyze, for an RGB image already decoded (e.g. kept to analyze it again)."""
        classifier, grey = self.classifier(emotion_set), to_grey(rgb)
        finder = self.detector_named(detector)
        faces = classify_faces(grey, find_faces(finder, grey), classifier)
        explanations = explain_faces(grey, faces, classifier) if explain else []
        message = "" if faces else no_face_message(
            max(LIMITS.min_face_side, round(finder.smallest_face(grey) * scale)))
        return Analysis(rgb, faces, message, scale, explanations)
