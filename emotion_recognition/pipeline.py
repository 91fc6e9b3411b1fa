"""image -> faces -> crops -> model -> labelled faces. The core the UI, API and CLI share."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from emotion_recognition.alignment import find_faces
from emotion_recognition.classifier import EmotionClassifier
from emotion_recognition.detectors import DEFAULT_DETECTOR, check_detector, create_detector
from emotion_recognition.explain import Explanation, explain_faces
from emotion_recognition.labels import DEFAULT_EMOTION_SET, EmotionSet, emotion_set
from emotion_recognition.preprocessing import Box, decode_image_within, face_crops, to_grey


def no_face_message(smallest_face: int) -> str:
    """What to tell the user when no face was found, with the real minimum for their image."""
    return ("No face found. Try a brighter, sharper photo where the face looks at the camera "
            f"and is at least {smallest_face} pixels wide.")


@dataclass(frozen=True)
class Face:
    """One detected face: where it is, the winning emotion and every class probability;
    in videos and live sessions also its id, stable across frames (scores smoothed)."""

    box: Box
    label: str
    confidence: float
    scores: dict[str, float]
    face_id: int | None = None

    def to_dict(self) -> dict:
        as_dict = {"box": self.box.as_list(), "label": self.label,
                   "confidence": round(self.confidence, 4),
                   "scores": {name: round(value, 4) for name, value in self.scores.items()}}
        if self.face_id is not None:
            as_dict["face_id"] = self.face_id
        return as_dict


@dataclass(frozen=True)
class Analysis:
    """The result for one image: the decoded RGB image, its faces and a note for the user."""

    image: np.ndarray
    faces: list[Face] = field(default_factory=list)
    message: str = ""
    scale: float = 1.0  # original photo pixels per pixel of ``image`` (> 1: decoded smaller)
    explanations: list[Explanation] = field(default_factory=list)  # one per face, if asked

    def face_dicts(self) -> list[dict]:
        """The faces as ``Face.to_dict`` gives them, boxes in the original photo's pixels;
        with an ``explanation`` (frame and heat-map grid) each when they were explained."""
        dicts = [replace(face, box=face.box.scaled(self.scale)).to_dict() if self.scale != 1
                 else face.to_dict() for face in self.faces]
        for as_dict, explanation in zip(dicts, self.explanations):
            as_dict["explanation"] = replace(explanation,
                                             frame=explanation.frame.scaled(self.scale)).to_dict()
        return dicts


def classify_faces(rgb: np.ndarray, boxes: list[Box], classifier: EmotionClassifier) -> list[Face]:
    """Classify every box of an RGB image in one batch."""
    if not boxes:
        return []
    probabilities = classifier.predict(face_crops(to_grey(rgb), boxes))
    faces = []
    for box, row in zip(boxes, probabilities):
        best = int(np.argmax(row))
        scores = {name: float(p) for name, p in zip(classifier.labels, row)}
        faces.append(Face(box, classifier.labels[best], float(row[best]), scores))
    return faces


def label_faces(rgb: np.ndarray, detector, classifier: EmotionClassifier) -> list[Face]:
    """Every face in an RGB uint8 image, labelled."""
    return classify_faces(rgb, detector.detect(to_grey(rgb)), classifier)


class EmotionRecognizer:
    """The Python API: loads the detector and models lazily, once, and analyses images.

    >>> recognizer = EmotionRecognizer()             # bundled model/ or EMOTION_MODEL_REPO
    >>> result = recognizer.analyze("photo.jpg", emotion_set="emotion7")
    >>> [face.to_dict() for face in result.faces]
    >>> recognizer.analyze("photo.jpg", detector="blazeface")  # see detectors.DETECTORS

    ``detector`` here replaces the default detector of photos (an object with
    ``detect(grey)`` and ``smallest_face(grey)``); the others are made on first use.
    """

    def __init__(self, model_dir: str | Path | None = None, detector=None):
        self._model_dir = Path(model_dir) if model_dir else None
        self._detectors = {DEFAULT_DETECTOR: detector} if detector is not None else {}
        self._classifiers: dict[str, EmotionClassifier] = {}
        self._lock = threading.Lock()
        self.model_source = ""

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
                self._classifiers[name] = EmotionClassifier.from_dir(
                    self._resolve_model_dir(), name)
            return self._classifiers[name]

    def _resolve_model_dir(self) -> Path:
        if self._model_dir is None:
            from emotion_recognition.hub import resolve_model_source

            source = resolve_model_source()
            self._model_dir, self.model_source = source.directory, source.description
        return self._model_dir

    def analyze(self, image, emotion_set: str | EmotionSet = DEFAULT_EMOTION_SET,
                explain: bool = False, detector: str = DEFAULT_DETECTOR) -> Analysis:
        """Decode ``image`` (path, bytes, PIL image or array) and label every face in it;
        ``explain`` adds a heat map per face of the regions that drove its label (slower);
        ``detector`` names the face detector (detectors.DETECTORS).

        Raises ImageDecodeError (with a message for the user) when it is not a usable image.
        """
        check_detector(detector)
        rgb, scale = decode_image_within(image)  # very large photos: at reduced size
        return self.analyze_decoded(rgb, emotion_set, explain, scale, detector)

    def analyze_decoded(self, rgb: np.ndarray, emotion_set: str | EmotionSet = DEFAULT_EMOTION_SET,
                        explain: bool = False, scale: float = 1.0,
                        detector: str = DEFAULT_DETECTOR) -> Analysis:
        """Like analyze, for an RGB image already decoded (e.g. kept to analyse it again)."""
        classifier, grey = self.classifier(emotion_set), to_grey(rgb)
        finder = self.detector_named(detector)
        faces = classify_faces(rgb, find_faces(finder, grey), classifier)
        explanations = explain_faces(grey, faces, classifier) if explain else []
        message = "" if faces else no_face_message(round(finder.smallest_face(grey) * scale))
        return Analysis(rgb, faces, message, scale, explanations)
