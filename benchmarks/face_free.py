"""A face-free set: what a detector finds there is a false face.

Public-domain and CC0 photos without a human face (benchmarks/face_free/, see its README,
and examples/coffee_no_face.jpg) and generated images (noise, clouds, gradients, printed
text, stripes, blobs, mosaics of the example photos' face-free parts), grey as the
detectors see them: each scaled to fill 4000x3000 (``photos``, benchmarks.detection_recall)
and at 0.5, 1, 2 and 3 times its own size (``at_scales``: a false face may appear at one
size only, as scikit-image's cell did at its own size and at 3x).

    python -m benchmarks.face_free --json benchmarks/figures/face_free.json

runs every detector a user can choose as the Python API does (policy.find_faces, turned
copies searched when nothing is found upright) on every image at every size.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "benchmarks" / "face_free"
SIZE = (4000, 3000)  # width, height
SCALES = (0.5, 1.0, 2.0, 3.0)  # of each image's own size


def filled(grey: np.ndarray, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The image scaled to cover ``size`` (aspect kept) and cropped to it, centred."""
    width, height = size
    scale = max(width / grey.shape[1], height / grey.shape[0])
    size = (max(width, round(grey.shape[1] * scale)), max(height, round(grey.shape[0] * scale)))
    big = cv2.resize(grey, size, interpolation=cv2.INTER_CUBIC)
    top, left = (big.shape[0] - height) // 2, (big.shape[1] - width) // 2
    return np.ascontiguousarray(big[top:top + height, left:left + width])


def picked() -> list[tuple[str, np.ndarray]]:
    """The face-free photos, grey, at their own size."""
    from emotion_recognition.core.crops import to_grey
    from emotion_recognition.core.decode import decode_image

    files = sorted(PHOTOS.glob("*.jpg")) + [ROOT / "examples" / "coffee_no_face.jpg"]
    return [(f.stem, to_grey(decode_image(f))) for f in files]


def _clouds(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    layers = np.zeros((height, width), np.float32)
    for cells, weight in ((4, 1.0), (16, 0.5), (64, 0.25), (256, 0.12)):
        noise = rng.normal(0, 1, (cells * height // width + 1, cells)).astype(np.float32)
        layers += weight * cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    layers -= layers.min()
    return (255 * layers / max(layers.max(), 1e-6)).astype(np.uint8)


def _text(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    page = np.full((height, width), 235, np.uint8)
    words = ["face", "emotion", "detector", "Haar", "happy", "sad", "O o 0 8", "@ % &", "ooo"]
    for y in range(40, height, 70):
        x = 20
        while x < width - 200:
            word = words[int(rng.integers(len(words)))]
            cv2.putText(page, word, (x, y), cv2.FONT_HERSHEY_SIMPLEX, float(rng.uniform(0.8, 2)),
                        int(rng.integers(0, 80)), int(rng.integers(1, 4)), cv2.LINE_AA)
            x += 60 + 30 * len(word)
    return page


def _blobs(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Ellipses and dots on a smooth background: eyes-and-mouth-like patterns by chance."""
    canvas = _clouds(rng, height, width) // 2 + 60
    for _ in range(400):
        centre = (int(rng.integers(width)), int(rng.integers(height)))
        axes = (int(rng.integers(5, 120)), int(rng.integers(5, 120)))
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360,
                    int(rng.integers(0, 256)), -1, cv2.LINE_AA)
    return cv2.GaussianBlur(canvas, (0, 0), 2)


def generated(seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """Generated face-free images at 1600x1200 (scaled to 12 MP by ``photos``)."""
    from benchmarks.detection_recall import background

    rng = np.random.default_rng(seed)
    height, width = 1200, 1600
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    stripes = (127 + 120 * np.sin(xs / 9 + 3 * np.sin(ys / 60))).astype(np.uint8)
    checks = (((xs // 40 + ys // 40) % 2) * 200 + 25).astype(np.uint8)
    return [
        ("noise", rng.integers(0, 256, (height, width), dtype=np.uint8)),
        ("clouds", _clouds(rng, height, width)),
        ("gradient", (255 * (xs + ys) / (width + height)).astype(np.uint8)),
        ("radial_gradient", np.clip(255 - np.hypot(xs - width / 2, ys - height / 2) / 4,
                                    0, 255).astype(np.uint8)),
        ("printed_text", _text(rng, height, width)),
        ("wavy_stripes", stripes),
        ("checkerboard", checks),
        ("blobs", _blobs(rng, height, width)),
        ("suit_and_uniform_mosaic", background(rng)),
        ("suit_and_uniform_mosaic_2", background(rng)),
    ]


def photos(seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """(name, grey 4000x3000 image) for every face-free photo and generated image."""
    return [(name, filled(grey)) for name, grey in picked() + generated(seed)]


def at_scales(seed: int = 0, scales=SCALES) -> list[tuple[str, np.ndarray]]:
    """("name@scale", grey image) for every face-free image at each of ``scales`` of its own
    size, and filled to 12 MP ("name@12mp"); sizes over the working size are left out (the
    API analyses such a photo reduced)."""
    from emotion_recognition.core.limits import LIMITS

    images = []
    for name, grey in picked() + generated(seed):
        for scale in scales:
            height, width = grey.shape
            if width * height * scale**2 > LIMITS.working_pixels:
                continue
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
            images.append((f"{name}@{scale:g}x", cv2.resize(grey, size, interpolation=interpolation)))
        images.append((f"{name}@12mp", filled(grey)))
    return images


def false_faces(detect, images: list[tuple[str, np.ndarray]]) -> dict:
    """Every box ``detect`` (grey -> boxes) finds on the face-free ``images``."""
    counts, times = {}, []
    for name, grey in images:
        start = time.perf_counter()
        counts[name] = len(detect(grey))
        times.append((time.perf_counter() - start) * 1000)
        print(f"  {name}: {counts[name]} in {times[-1]:.0f} ms", flush=True)
    return {"false_boxes": sum(counts.values()),
            "false_boxes_per_photo": round(sum(counts.values()) / len(images), 3),
            "photos_with_false_boxes": sum(1 for c in counts.values() if c),
            "false_boxes_by_photo": {name: c for name, c in counts.items() if c},
            "ms_per_photo_p50": round(float(np.median(times)), 1)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--detectors", nargs="+", default=None,
                        help="detectors to measure (default: every one a user can choose)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from benchmarks.figures_io import write_figures
    from emotion_recognition.core.detection.detectors import DETECTORS, create_detector
    from emotion_recognition.core.detection.policy import find_faces

    load_before = round(os.getloadavg()[0], 1)
    images = at_scales(args.seed)
    result = {"images": len(images), "scales": [f"{s:g}x" for s in SCALES] + ["12mp"],
              "names": [name for name, _ in images], "detectors": {}}
    for name in args.detectors or DETECTORS:
        detector = create_detector(name)
        result["detectors"][name] = false_faces(lambda grey: find_faces(detector, grey), images)
        print(f"{name}: {result['detectors'][name]}", flush=True)
    result["cpu_cores"] = os.cpu_count()
    result["load_average_1min"] = {"before": load_before, "end": round(os.getloadavg()[0], 1)}
    if args.json:
        write_figures(args.json, result)


if __name__ == "__main__":
    main()
