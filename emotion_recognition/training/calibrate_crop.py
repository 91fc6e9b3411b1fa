"""Measure how FER2013 frames a face relative to the box our Haar detector draws on it.

    python -m emotion_recognition.training.calibrate_crop --data fer2013.zip

Each FER2013 image *is* the training crop. Running the serving detector on (upscaled)
Training images and comparing its box with the image frame gives the margin the served
crop must add (CROP_SCALE) and the vertical shift of the frame centre (CROP_SHIFT_Y), so
serving crops look like training crops. Prints the medians and quartiles.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from emotion_recognition.core.detection.haar import DetectorSettings, FaceDetector
from emotion_recognition.training.data import load_fer2013

UPSCALE = 3  # 48 px faces are too small for the cascade's 24 px window at useful scales


def frame_relative_to_box(frame_side: int, box) -> tuple[float, float, float]:
    """(scale, shift_x, shift_y): frame side / box width, and the frame centre's offset
    from the box centre in box widths."""
    centre = frame_side / 2
    return (frame_side / box.w,
            (centre - (box.x + box.w / 2)) / box.w,
            (centre - (box.y + box.h / 2)) / box.w)


def calibrate(images: np.ndarray, detector: FaceDetector) -> np.ndarray:
    """One (scale, shift_x, shift_y) row per image where exactly one face is found."""
    rows = []
    for image in images:
        big = cv2.resize(image, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
        boxes = detector.detect(big)
        if len(boxes) == 1:
            rows.append(frame_relative_to_box(big.shape[0], boxes[0]))
    return np.array(rows).reshape(-1, 3)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--images", type=int, default=3000)
    args = parser.parse_args(argv)
    training = load_fer2013(args.data)["Training"]
    rows = np.random.default_rng(0).permutation(len(training))[:args.images]
    detector = FaceDetector(DetectorSettings(max_pixels=10**8, use_fallbacks=False))
    found = calibrate(training.images[rows], detector)
    print(f"one face found in {len(found)} of {len(rows)} Training images")
    for column, name in enumerate(("CROP_SCALE", "shift_x", "CROP_SHIFT_Y")):
        q1, median, q3 = np.percentile(found[:, column], [25, 50, 75])
        print(f"{name:13s} median {median:.3f}  (quartiles {q1:.3f} .. {q3:.3f})")


if __name__ == "__main__":
    main()
