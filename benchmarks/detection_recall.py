"""Detectors side by side in 12-megapixel photos: faces found by size, false faces, time.

    python -m benchmarks.detection_recall --data fer2013.zip \
        --json benchmarks/figures/detection_recall.json

Every detector a user can choose (core/detection/detectors.py: haar, the default; blazeface;
combined), Haar as served before BlazeFace checked its faces (haar_unverified),
and the peer: the fer package's detector, haarcascade_frontalface_default at full size with
scaleFactor 1.1 and minNeighbors 5, but a minSize of 30x30 where fer's default is 50x50 (so it
can find the 40-pixel faces at all). Ours run as the photo pipeline does
(policy.find_faces: turned copies are searched when nothing is found upright).

* Recall by face size: faces are pasted at 40-600 pixels (the side of a FER2013-style face
  frame, about 1.2 times the face's width) into 4000x3000 photo-like backgrounds (mosaics
  of the public-domain example photos' face-free parts, with grain). The faces are the
  example photos' (astronaut, Grace Hopper) and, with --data, 60 FER2013 PublicTest faces that
  the cascade sees at 160 pixels on plain grey (4 in 5 of them). A face counts as found when
  a box's centre lies in its frame and the box is 0.4-1.5 frames wide; other boxes are false
  positives.
* False faces: every box on the face-free set (benchmarks/face_free.py: public-domain photos
  and generated textures, noise, text and gradients, each at 4000x3000).
* Phantoms: boxes off her face on copies of the astronaut photo shifted by -6..6 pixels
  across and -3, 0, 3 down (one of them gave Haar a "face" on her suit).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.figures_io import write_figures

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SIZES = (40, 60, 80, 120, 160, 240, 300, 400, 600)
CANVAS = (3000, 4000)  # height, width: a typical 12 MP phone photo


def example_faces() -> list[np.ndarray]:
    """Grey FER2013-style frames of the example photos' faces (found by the primary cascade)."""
    from emotion_recognition.core.crops import crop_padded, face_frame, to_grey
    from emotion_recognition.core.decode import decode_image

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    faces = []
    for name in ("astronaut.jpg", "grace_hopper.jpg"):
        grey = to_grey(decode_image(EXAMPLES / name))
        x, y, w, h = max(cascade.detectMultiScale(grey, 1.1, 5, minSize=(30, 30)), key=lambda b: b[2])
        from emotion_recognition.core.types import Box

        faces.append(crop_padded(grey, face_frame(Box(int(x), int(y), int(w), int(h)))))
    return faces


def fer_faces(data: Path, count: int, seed: int) -> list[np.ndarray]:
    """PublicTest faces a frontal Haar cascade can see at a comfortable size (160 pixels on
    plain grey; about 4 in 5 can), so that the table measures size, not pose."""
    from emotion_recognition.training.data import load_fer2013

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    images = load_fer2013(data)["PublicTest"].images
    chosen = []
    for i in np.random.default_rng(seed).permutation(len(images)):
        canvas = np.full((400, 400), 120, np.uint8)
        canvas[120:280, 120:280] = cv2.resize(images[i], (160, 160), interpolation=cv2.INTER_CUBIC)
        if len(cascade.detectMultiScale(canvas, 1.1, 5, minSize=(30, 30))):
            chosen.append(images[i])
        if len(chosen) == count:
            break
    return chosen


def background(rng: np.random.Generator) -> np.ndarray:
    """A 12 MP grey mosaic of face-free photo parts, with film grain."""
    from emotion_recognition.core.crops import to_grey
    from emotion_recognition.core.decode import decode_image

    sources = [to_grey(decode_image(EXAMPLES / "coffee_no_face.jpg")),
               to_grey(decode_image(EXAMPLES / "astronaut.jpg"))[300:, :],     # suit and flag
               to_grey(decode_image(EXAMPLES / "grace_hopper.jpg"))[420:, :]]  # uniform
    height, width = CANVAS
    canvas = np.zeros(CANVAS, np.uint8)
    tile = 1000
    for y in range(0, height, tile):
        for x in range(0, width, tile):
            source = sources[rng.integers(len(sources))]
            sh, sw = source.shape
            side = int(rng.integers(min(sh, sw) // 3, min(sh, sw)))
            y0, x0 = rng.integers(0, sh - side + 1), rng.integers(0, sw - side + 1)
            patch = cv2.resize(source[y0:y0 + side, x0:x0 + side], (tile, tile),
                               interpolation=cv2.INTER_CUBIC)
            if rng.random() < 0.5:
                patch = patch[:, ::-1]
            canvas[y:y + tile, x:x + tile] = patch[:height - y, :width - x]
    grain = rng.normal(0, 6, CANVAS)
    return np.clip(canvas + grain, 0, 255).astype(np.uint8)


def place(canvas: np.ndarray, faces: list[np.ndarray], sizes, rng) -> list[tuple[int, int, int]]:
    """Paste faces at the given sizes where they do not overlap; return (x, y, side)."""
    height, width = canvas.shape
    placed: list[tuple[int, int, int]] = []
    for side in sorted(sizes, reverse=True):
        for _ in range(200):
            x, y = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
            if all(x + side + 20 < px or px + ps + 20 < x or y + side + 20 < py or py + ps + 20 < y
                   for px, py, ps in placed):
                break
        else:
            continue
        face = faces[int(rng.integers(len(faces)))]
        canvas[y:y + side, x:x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
        placed.append((x, y, side))
    return placed


def score(boxes, placed) -> tuple[dict[int, bool], int, int]:
    """Which pasted faces were found, how many boxes lie on no face (false faces), and how
    many are centred on a face but framed too tightly or loosely to count (mis-framed: a
    real face, badly boxed, e.g. a 62-pixel box on a 40-pixel face)."""
    found = {i: False for i in range(len(placed))}
    false_faces = misframed = 0
    for bx, by, bw, bh in boxes:
        cx, cy = bx + bw / 2, by + bh / 2
        on = [i for i, (x, y, side) in enumerate(placed)
              if x <= cx <= x + side and y <= cy <= y + side]
        hit = [i for i in on if 0.4 * placed[i][2] <= bw <= 1.5 * placed[i][2]]
        for i in hit:
            found[i] = True
        false_faces += not on
        misframed += bool(on) and not hit
    return found, false_faces, misframed


def measured_detectors() -> dict:
    """name -> (grey image -> boxes as [x, y, w, h])."""
    from emotion_recognition.core.detection.detectors import DETECTORS, create_detector
    from emotion_recognition.core.detection.haar import FaceDetector
    from emotion_recognition.core.detection.policy import find_faces

    def served(detector):
        return lambda grey: [b.as_list() for b in find_faces(detector, grey)]

    peer = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    found = {name: served(create_detector(name)) for name in DETECTORS}
    found["haar_unverified"] = served(FaceDetector())
    found["peer"] = lambda grey: [[int(v) for v in box] for box in
                                  peer.detectMultiScale(grey, 1.1, 5, minSize=(30, 30))]
    return found


def _timed(detect, grey) -> tuple[list, float]:
    start = time.perf_counter()
    boxes = detect(grey)
    return boxes, (time.perf_counter() - start) * 1000


def run(images: int, per_size: int, faces: list[np.ndarray], seed: int, detectors: dict) -> dict:
    """Recall by face size and false boxes on ``images`` canvases of pasted faces."""
    rng = np.random.default_rng(seed)
    tallies = {name: {"found": {s: 0 for s in SIZES}, "fp": 0, "misframed": 0, "ms": []}
               for name in detectors}
    total = {s: 0 for s in SIZES}
    for index in range(images):
        canvas = background(rng)
        placed = place(canvas, faces, [s for s in SIZES for _ in range(per_size)], rng)
        for _, _, side in placed:
            total[side] += 1
        for name, detect in detectors.items():
            boxes, ms = _timed(detect, canvas)
            tallies[name]["ms"].append(ms)
            found, false_faces, misframed = score(boxes, placed)
            tallies[name]["fp"] += false_faces
            tallies[name]["misframed"] += misframed
            for i, hit in found.items():
                tallies[name]["found"][placed[i][2]] += hit
        print(f"image {index + 1}/{images}: " + ", ".join(
            f"{name} {t['ms'][-1]:.0f} ms" for name, t in tallies.items()), flush=True)
    return {"canvas": f"{CANVAS[1]}x{CANVAS[0]}", "images": images, "faces_per_size": total,
            "detectors": {name: {
                "recall_by_size": {str(s): round(t["found"][s] / max(total[s], 1), 3)
                                   for s in SIZES},
                "false_positives_per_image": round(t["fp"] / images, 2),
                "misframed_per_image": round(t["misframed"] / images, 2),
                "ms_per_image_p50": round(float(np.median(t["ms"])), 1)}
                for name, t in tallies.items()}}


def run_face_free(detectors: dict, seed: int) -> dict:
    """Every box on the face-free set (at 12 MP) is a false face."""
    from benchmarks.face_free import false_faces, photos

    chosen = photos(seed)
    result = {"photos": len(chosen), "names": [name for name, _ in chosen], "detectors": {}}
    for name, detect in detectors.items():
        result["detectors"][name] = false_faces(detect, chosen)
        print(f"face-free {name}: {result['detectors'][name]}", flush=True)
    return result


def run_shifted_astronaut(detectors: dict) -> dict:
    """Boxes off her face (phantoms) and copies where her face was missed."""
    from emotion_recognition.core.crops import to_grey
    from emotion_recognition.core.decode import decode_image

    grey = to_grey(decode_image(EXAMPLES / "astronaut.jpg"))
    shifts = [(dx, dy) for dx in range(-6, 7) for dy in (-3, 0, 3)]
    result = {"copies": len(shifts), "detectors": {}}
    for name, detect in detectors.items():
        phantoms = missed = 0
        for dx, dy in shifts:
            copy = cv2.warpAffine(grey, np.float32([[1, 0, dx], [0, 1, dy]]), grey.shape[::-1],
                                  borderMode=cv2.BORDER_REPLICATE)
            on_face = [x <= 220 + dx <= x + w and y <= 110 + dy <= y + h
                       for x, y, w, h in detect(copy)]
            phantoms += on_face.count(False)
            missed += not any(on_face)
        result["detectors"][name] = {"phantom_boxes": phantoms, "missed_faces": missed}
    print(f"shifted astronaut: {result['detectors']}", flush=True)
    return result


def markdown(result: dict) -> str:
    sizes = list(SIZES)
    lines = ["| detector | " + " | ".join(map(str, sizes))
             + " | false boxes / photo | mis-framed / photo | ms / photo |",
             "|---|" + "---:|" * (len(sizes) + 3)]
    for name, r in result["detectors"].items():
        recall = r["recall_by_size"]
        lines.append(f"| {name} | " + " | ".join(f"{recall[str(s)]:.0%}" for s in sizes)
                     + f" | {r['false_positives_per_image']} | {r['misframed_per_image']}"
                     + f" | {r['ms_per_image_p50']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="FER2013 (adds PublicTest faces)")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--per-size", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from emotion_recognition.core.detection.detectors import create_detector

    load_before = round(os.getloadavg()[0], 1)
    faces = example_faces() + (fer_faces(args.data, 60, args.seed) if args.data else [])
    detectors = measured_detectors()
    result = run(args.images, args.per_size, faces, args.seed, detectors)
    result["face_sources"] = "example photos" + (" + 60 FER2013 PublicTest faces" if args.data else "")
    result["smallest_face_looked_for"] = {
        name: create_detector(name).smallest_face(np.zeros(CANVAS, np.uint8))
        for name in ("haar", "blazeface", "combined")}
    result["face_free"] = run_face_free(detectors, args.seed)
    result["shifted_astronaut"] = run_shifted_astronaut(detectors)
    result["cpu_cores"] = os.cpu_count()
    result["load_average_1min"] = {"before": load_before, "end": round(os.getloadavg()[0], 1)}
    print(markdown(result))
    if args.json:
        write_figures(args.json, result)


if __name__ == "__main__":
    main()
