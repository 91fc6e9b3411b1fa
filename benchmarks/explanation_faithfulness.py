"""Is the heat map faithful? Hide the hottest region of each face, then a random region of
the same size, and compare how much the chosen emotion's probability drops.

    python -m benchmarks.explanation_faithfulness --data fer2013.zip \
        --faces 500 --json benchmarks/figures/explanation_faithfulness.json

FER2013 PublicTest faces (never PrivateTest), the served 7-emotion model. The heat map is
made by hiding 12x12 patches with the face's mean grey; the test hides a 16x16 square (a
different size, so it is not the map's own measurement replayed), once with the mean grey
and once with a blur of that square. A faithful map: hottest drop > random drop, for most
faces. Also reports milliseconds per face explained.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.figures_io import write_figures

ROOT = Path(__file__).resolve().parent.parent
SIDE = 16


def hottest_corner(heat: np.ndarray, side: int = SIDE) -> tuple[int, int]:
    """The top-left corner of the side x side square with the most heat."""
    sums = cv2.boxFilter(heat, -1, (side, side), normalize=False, anchor=(0, 0),
                         borderType=cv2.BORDER_CONSTANT)
    valid = sums[:heat.shape[0] - side + 1, :heat.shape[1] - side + 1]
    y, x = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return int(y), int(x)


def hidden(face: np.ndarray, corner: tuple[int, int], how: str, side: int = SIDE) -> np.ndarray:
    y, x = corner
    out = face.copy()
    if how == "mean":
        out[y:y + side, x:x + side] = np.uint8(round(float(face.mean())))
    else:
        out[y:y + side, x:x + side] = cv2.GaussianBlur(face, (0, 0), 4)[y:y + side, x:x + side]
    return out


def measure(faces: np.ndarray, classifier, seed: int) -> dict:
    from emotion_recognition.core.explain import occlusion_map

    rng = np.random.default_rng(seed)
    drops = {how: {"hottest": [], "random": []} for how in ("mean", "blur")}
    seconds = []
    for face in faces:
        start = time.perf_counter()
        heat, index = occlusion_map(face, classifier)
        seconds.append(time.perf_counter() - start)
        hot = hottest_corner(heat)
        spot = (int(rng.integers(0, 48 - SIDE + 1)), int(rng.integers(0, 48 - SIDE + 1)))
        for how in drops:
            batch = np.stack([face, hidden(face, hot, how), hidden(face, spot, how)])[..., None]
            p = classifier.predict(batch)[:, index]
            drops[how]["hottest"].append(float(p[0] - p[1]))
            drops[how]["random"].append(float(p[0] - p[2]))
    result = {"faces": len(faces), "region": f"{SIDE}x{SIDE} of 48x48",
              "ms_per_face_p50": round(1000 * float(np.median(seconds)), 1)}
    for how, d in drops.items():
        hottest, random_ = np.array(d["hottest"]), np.array(d["random"])
        result[f"hidden_with_{how}"] = {
            "mean_drop_hottest": round(float(hottest.mean()), 4),
            "mean_drop_random": round(float(random_.mean()), 4),
            "share_of_faces_hottest_drops_more": round(float((hottest > random_).mean()), 3)}
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="FER2013 (PublicTest is used)")
    parser.add_argument("--faces", type=int, default=500)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from emotion_recognition.core.classify import EmotionClassifier
    from emotion_recognition.training.data import load_fer2013

    images = load_fer2013(args.data)["PublicTest"].images
    pick = np.random.default_rng(args.seed).choice(len(images), min(args.faces, len(images)), replace=False)
    classifier = EmotionClassifier.from_dir(args.model_dir, "emotion7")
    result = {"split": "PublicTest", "model": "emotion7", **measure(images[pick], classifier, args.seed),
              "cpu_cores": os.cpu_count()}
    print(json.dumps(result, indent=2))
    if args.json:
        write_figures(args.json, result)


if __name__ == "__main__":
    main()
