"""Faces that are not upright: the photo pipeline on PublicTest faces turned by 0, ±10, ±20, ±30°.

    python -m benchmarks.rotation --data fer2013.zip

Each PublicTest face (48 px) is enlarged to 144 px, turned, and blended with a soft oval
into a 480x360 photo-like canvas (a random part of examples/coffee_no_face.jpg, a
public-domain photo) at a random place. The whole pipeline runs on it: detect -> crop ->
classify with the served 7-emotion model. A face counts as found when a detected box's
centre lies inside it; a missed face counts as wrong. Strategies:

* upright: Haar alone, as served before this benchmark;
* eyes: the crop is turned so the eyes (OpenCV's eye cascade) are level;
* retry: when nothing is found upright, detect on copies turned by RETRY_ANGLES (Haar alone,
  as served before BlazeFace checked its faces);
* eyes+retry: both;
* haar, blazeface, combined: each detector a user can choose, as served (with the retry);
* haar+blazeface eyes: haar, each crop turned so that the eyes BlazeFace found when it
  checked the face (its keypoints) are level: do landmarks help the classifier?
* peer: the fer package's detector (full-size Haar, 1.1 / 5; minSize 30x30, fer's default
  is 50x50), no retry.

Writes benchmarks/figures/rotation.json: per strategy and angle, the share of faces found,
the accuracy over all faces and among those found, and ms per photo. PublicTest only
(choices are made on it); never PrivateTest.
"""

from __future__ import annotations

import argparse
import math
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from benchmarks.figures_io import write_figures
from emotion_recognition.core.types import Box

ANGLES = (-30, -20, -10, 0, 10, 20, 30)
FACE_SIDE = 144
CANVAS = (480, 360)
BACKGROUND = Path(__file__).resolve().parent.parent / "examples" / "coffee_no_face.jpg"
OUT = Path(__file__).resolve().parent / "figures" / "rotation.json"


# --- The "eyes" strategy: OpenCV's eye cascade levels each crop. Measured here, no gain over
# upright crops, so it is not served (the served crops are levelled by BlazeFace's eye line).

EYE_CASCADE = "haarcascade_eye.xml"
MAX_EYE_ANGLE = 35.0  # a steeper "eye line" is a false eye, not a tilt

_eyes: cv2.CascadeClassifier | None = None
_load_lock = threading.Lock()  # loading the cascade, once
_eyes_lock = threading.Lock()  # one cascade object is shared by the app's request threads


def _eye_cascade() -> cv2.CascadeClassifier:
    """The eye cascade, loaded once on first use."""
    global _eyes
    with _load_lock:
        if _eyes is None:
            _eyes = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / EYE_CASCADE))
            if _eyes.empty():
                raise RuntimeError(f"OpenCV's {EYE_CASCADE} could not be loaded")
        return _eyes


def eye_angle(grey: np.ndarray, box: Box) -> float | None:
    """The tilt of the line through the eyes in degrees (positive: the eye on the image's
    right sits lower), i.e. the Box.angle that levels them; None when two eyes are not
    found."""
    x0, y0 = max(box.x, 0), max(box.y, 0)
    upper = grey[y0:y0 + box.h * 6 // 10, x0:x0 + box.w]
    if upper.size == 0 or min(upper.shape) < 12:
        return None
    scale = 120.0 / max(upper.shape[1], 1)  # eyes ~25 px wide: the cascade's sweet spot
    region = cv2.resize(upper, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    cascade = _eye_cascade()
    with _eyes_lock:
        found = cascade.detectMultiScale(region, scaleFactor=1.1, minNeighbors=4,
                                                minSize=(12, 12), maxSize=(60, 60))
    if len(found) < 2:
        return None
    middle = region.shape[1] / 2
    centres = [(x + w / 2, y + h / 2, w * h) for x, y, w, h in found]
    left = [c for c in centres if c[0] < middle]
    right = [c for c in centres if c[0] >= middle]
    if not left or not right:
        return None
    (lx, ly, _), (rx, ry, _) = max(left, key=lambda c: c[2]), max(right, key=lambda c: c[2])
    angle = math.degrees(math.atan2(ry - ly, rx - lx))
    return angle if abs(angle) <= MAX_EYE_ANGLE else None


def with_eye_angles(grey: np.ndarray, boxes: list[Box]) -> list[Box]:
    """The boxes, each carrying the tilt of its eyes (0 where they are not found)."""
    return [replace(b, angle=b.angle + (eye_angle(grey, b) or 0.0)) for b in boxes]


def _oval_mask(side: int) -> np.ndarray:
    mask = np.zeros((side, side), np.float32)
    cv2.ellipse(mask, (side // 2, side // 2), (int(side * 0.36), int(side * 0.42)), 0, 0, 360,
                1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), side * 0.05)


def staged_photo(face48: np.ndarray, angle: float, background: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A grey canvas with the face turned by ``angle`` blended in; and where the face is."""
    face = cv2.resize(face48, (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_CUBIC)
    turn = cv2.getRotationMatrix2D((FACE_SIDE / 2, FACE_SIDE / 2), angle, 1.0)
    face = cv2.warpAffine(face, turn, (FACE_SIDE, FACE_SIDE), borderMode=cv2.BORDER_REFLECT)
    width, height = CANVAS
    top = rng.integers(0, background.shape[0] - height + 1)
    left = rng.integers(0, background.shape[1] - width + 1)
    canvas = background[top:top + height, left:left + width].astype(np.float32)
    x, y = rng.integers(10, width - FACE_SIDE - 10), rng.integers(10, height - FACE_SIDE - 10)
    mask = _oval_mask(FACE_SIDE)
    region = canvas[y:y + FACE_SIDE, x:x + FACE_SIDE]
    canvas[y:y + FACE_SIDE, x:x + FACE_SIDE] = mask * face + (1 - mask) * region
    return canvas.astype(np.uint8), (int(x), int(y), FACE_SIDE, FACE_SIDE)


def strategies(detector):
    """name -> grey image -> boxes (with the angle that makes each face upright)."""
    from emotion_recognition.core.detection.detectors import (DETECTORS, VerifiedHaarDetector,
                                                              create_detector)
    from emotion_recognition.core.detection.policy import detect_on_rotated_copies, find_faces
    from emotion_recognition.core.detection.verification import FaceVerifier

    def retry(grey):
        return detector.detect(grey) or detect_on_rotated_copies(detector, grey)

    served = {name: create_detector(name) for name in DETECTORS}
    levelled = VerifiedHaarDetector(verifier=FaceVerifier(level_eyes=True))
    chosen = {name: (lambda grey, d=d: find_faces(d, grey)) for name, d in served.items()}
    peer = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    return {"upright": detector.detect,
            "eyes": lambda grey: with_eye_angles(grey, detector.detect(grey)),
            "retry": retry,
            "eyes+retry": lambda grey: with_eye_angles(grey, retry(grey)),
            **chosen,
            "haar+blazeface eyes": lambda grey: find_faces(levelled, grey),
            "peer": lambda grey: [Box(*map(int, b)) for b in
                                  peer.detectMultiScale(grey, 1.1, 5, minSize=(30, 30))]}


def _hit(boxes, where) -> int | None:
    """Index of the box whose centre lies inside the staged face, nearest its centre."""
    x, y, side, _ = where
    inside = [(abs(b.x + b.w / 2 - x - side / 2) + abs(b.y + b.h / 2 - y - side / 2), i)
              for i, b in enumerate(boxes)
              if x <= b.x + b.w / 2 <= x + side and y <= b.y + b.h / 2 <= y + side]
    return min(inside)[1] if inside else None


def measure(faces: np.ndarray, labels: np.ndarray, detector, classifier, seed: int = 0,
            only: list[str] | None = None) -> dict:
    from emotion_recognition.core.crops import face_crops

    background = cv2.imread(str(BACKGROUND), cv2.IMREAD_GRAYSCALE)
    background = cv2.resize(background, (CANVAS[0] * 2, CANVAS[1] * 2))
    table = {}
    for name, detect in strategies(detector).items():
        if only and name not in only:
            continue
        table[name] = {}
        for angle in ANGLES:
            rng = np.random.default_rng(seed)  # the same photos for every strategy
            found = right = 0
            seconds = 0.0
            for face, label in zip(faces, labels):
                grey, where = staged_photo(face, angle, background, rng)
                started = time.perf_counter()
                boxes = detect(grey)
                hit = _hit(boxes, where)
                if hit is not None:
                    probabilities = classifier.predict(face_crops(grey, [boxes[hit]]))
                    right += int(probabilities[0].argmax() == label)
                    found += 1
                seconds += time.perf_counter() - started
            table[name][str(angle)] = {
                "found": round(found / len(faces), 4), "accuracy": round(right / len(faces), 4),
                "accuracy_of_found": round(right / found, 4) if found else None,
                "ms_per_photo": round(1000 * seconds / len(faces), 2)}
            print(name, angle, table[name][str(angle)], flush=True)
    return table


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="fer2013.zip or a training pack")
    parser.add_argument("--images", type=int, default=400, help="PublicTest faces per angle")
    parser.add_argument("--json", type=Path, default=OUT)
    parser.add_argument("--strategies", nargs="*", help="only these (default: all)")
    args = parser.parse_args(argv)

    from emotion_recognition.core.classify import EmotionClassifier
    from emotion_recognition.core.detection.haar import FaceDetector
    from emotion_recognition.models.bundled import bundled_model_dir
    from emotion_recognition.training.data import load_fer2013

    public = load_fer2013(args.data)["PublicTest"]
    rows = np.random.default_rng(0).permutation(len(public))[:args.images]
    classifier = EmotionClassifier.from_dir(bundled_model_dir(), "emotion7")
    load_before = round(os.getloadavg()[0], 1)
    table = measure(public.images[rows], public.labels[rows], FaceDetector(), classifier,
                    only=args.strategies)
    write_figures(args.json, {"split": "PublicTest", "images_per_angle": len(rows),
                              "face_side": FACE_SIDE, "canvas": list(CANVAS),
                              "strategies": table, "cpu_cores": os.cpu_count(),
                              "load_average_1min": {"before": load_before,
                                                    "end": round(os.getloadavg()[0], 1)}})


if __name__ == "__main__":
    main()
