"""How BlazeFace frames a face relative to the box Haar draws on it (detectors.haar_framed).

    python -m benchmarks.blazeface_framing --data fer2013.zip

The classifier's crops are calibrated on Haar's boxes (core/crops.py: CROP_SCALE), so a face
BlazeFace finds is re-framed as Haar would frame it. Both detectors run on FER2013 Training
faces (never the test splits) enlarged to 200 pixels on a mid-grey 480x480 canvas, and on the
example photos' faces at several sizes; where both find one face, the ratio of Haar's width
to BlazeFace's and the vertical offset of Haar's centre above BlazeFace's (in BlazeFace
widths) are recorded. Writes medians and quartiles to
benchmarks/figures/blazeface_framing.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from benchmarks.figures_io import write_figures

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "figures" / "blazeface_framing.json"


def pair(grey: np.ndarray, haar, blazeface) -> tuple[float, float] | None:
    """(Haar width / BlazeFace width, Haar centre above BlazeFace's in BlazeFace widths)
    when each finds exactly one face and the two centres are within half a face."""
    haar_boxes = haar.detect(grey)
    found = blazeface.detections(grey, whole_only=True)
    if len(haar_boxes) != 1 or len(found) != 1:
        return None
    h, b = haar_boxes[0], found[0].box
    if abs((h.x + h.w / 2) - (b.x + b.w / 2)) > b.w / 2:
        return None
    return h.w / b.w, ((b.y + b.h / 2) - (h.y + h.h / 2)) / b.w


def training_canvases(data: Path, count: int, seed: int):
    from emotion_recognition.training.data import load_fer2013

    images = load_fer2013(data)["Training"].images
    for index in np.random.default_rng(seed).permutation(len(images))[:count]:
        canvas = np.full((480, 480), 128, np.uint8)
        canvas[140:340, 140:340] = cv2.resize(images[index], (200, 200),
                                              interpolation=cv2.INTER_CUBIC)
        yield canvas


def example_canvases():
    from emotion_recognition.core.crops import to_grey
    from emotion_recognition.core.decode import decode_image

    for name in ("astronaut.jpg", "grace_hopper.jpg"):
        grey = to_grey(decode_image(ROOT / "examples" / name))
        for factor in (0.6, 0.8, 1.0, 1.5, 2.0):
            yield cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


def summary(pairs: list[tuple[float, float]]) -> dict:
    ratios, shifts = np.array(pairs).T if pairs else (np.zeros(0), np.zeros(0))
    quartiles = lambda v: [round(float(q), 3) for q in np.percentile(v, [25, 50, 75])]  # noqa: E731
    return {"faces": len(pairs), "haar_side_per_blazeface": quartiles(ratios) if pairs else None,
            "haar_shift_y": quartiles(shifts) if pairs else None}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="FER2013 (Training faces)")
    parser.add_argument("--faces", type=int, default=2000)
    parser.add_argument("--json", type=Path, default=OUT)
    args = parser.parse_args(argv)

    from emotion_recognition.core.detection.detectors import BlazeFaceDetector
    from emotion_recognition.core.detection.haar import DetectorSettings, FaceDetector

    haar = FaceDetector(DetectorSettings(use_fallbacks=False))
    blazeface = BlazeFaceDetector()
    training = [p for p in (pair(c, haar, blazeface)
                            for c in training_canvases(args.data, args.faces, 0)) if p]
    examples = [p for p in (pair(c, haar, blazeface) for c in example_canvases()) if p]
    result = {"training": {"tried": args.faces, **summary(training)},
              "examples": summary(examples),
              "note": "quartiles [25, 50, 75] %; the served constants are the Training medians"}
    print(json.dumps(result, indent=2))
    write_figures(args.json, result)


if __name__ == "__main__":
    main()
