"""A realistic test clip: real faces moving over a textured, panning background.

Built only from the public-domain example photos, deterministic for a seed, so every
benchmark run (and the tests) analyse the same pixels. Not a flat grey card: the
background is a photo with fine texture that pans and breathes, the faces are
head-and-shoulders cut-outs with soft edges that move, tilt and change size, a second
face comes and goes, and every frame gets sensor noise. Written with OpenCV (mp4v).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SIZE = (640, 480)


def _read(name: str) -> np.ndarray:
    """An example photo as BGR uint8 (the layout OpenCV's writer wants)."""
    image = cv2.imread(str(EXAMPLES / name), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(EXAMPLES / name)
    return image


def _background() -> np.ndarray:
    """A 960x720 textured scene: the coffee photo mirrored into a larger canvas."""
    coffee = _read("coffee_no_face.jpg")
    tile = np.concatenate([coffee, coffee[:, ::-1]], axis=1)
    tile = np.concatenate([tile, tile[::-1]], axis=0)
    return cv2.resize(tile, (960, 720), interpolation=cv2.INTER_AREA)


def _cutout(name: str, box: tuple[int, int, int, int], side: int) -> tuple[np.ndarray, np.ndarray]:
    """A head-and-shoulders cut-out and its soft elliptical alpha mask (0..1)."""
    x, y, w, h = box
    patch = cv2.resize(_read(name)[y:y + h, x:x + w], (side, int(side * h / w)),
                       interpolation=cv2.INTER_AREA)
    mask = np.zeros(patch.shape[:2], np.float32)
    centre = (patch.shape[1] // 2, patch.shape[0] // 2)
    cv2.ellipse(mask, centre, (int(patch.shape[1] * 0.46), int(patch.shape[0] * 0.49)), 0, 0,
                360, 1.0, -1)
    return patch, cv2.GaussianBlur(mask, (31, 31), 0)


def _place(frame: np.ndarray, patch: np.ndarray, mask: np.ndarray, centre: tuple[float, float],
           scale: float, angle: float) -> None:
    """Blend a rotated, scaled cut-out onto the frame around ``centre`` (in place)."""
    height, width = frame.shape[:2]
    reach = int(max(patch.shape[:2]) * scale * 0.75) + 2  # half-diagonal bound of the warp
    x0, y0 = max(int(centre[0]) - reach, 0), max(int(centre[1]) - reach, 0)
    x1, y1 = min(int(centre[0]) + reach, width), min(int(centre[1]) + reach, height)
    matrix = cv2.getRotationMatrix2D((patch.shape[1] / 2, patch.shape[0] / 2), angle, scale)
    matrix[:, 2] += (centre[0] - x0 - patch.shape[1] / 2, centre[1] - y0 - patch.shape[0] / 2)
    warped = cv2.warpAffine(patch, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(mask, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)[..., None]
    region = frame[y0:y1, x0:x1]
    np.copyto(region, (region * (1 - alpha) + warped * alpha).astype(np.uint8))


def frames(seconds: float, fps: float = 30.0, seed: int = 0):
    """Yield the clip's BGR frames (640x480): Grace Hopper throughout, the astronaut in
    the middle third, over a panning textured background with sensor noise."""
    rng = np.random.default_rng(seed)
    scene = _background()
    hopper = _cutout("grace_hopper.jpg", (70, 20, 380, 460), 230)
    astronaut = _cutout("astronaut.jpg", (110, 0, 260, 300), 190)
    count = int(round(seconds * fps))
    for index in range(count):
        t = index / fps
        pan_x = int(160 + 150 * np.sin(t / 9))
        pan_y = int(120 + 100 * np.sin(t / 13))
        frame = scene[pan_y:pan_y + SIZE[1], pan_x:pan_x + SIZE[0]].copy()
        frame = cv2.convertScaleAbs(frame, alpha=1.0 + 0.08 * np.sin(t / 4), beta=0)  # exposure
        _place(frame, *hopper, (200 + 90 * np.sin(t / 3.1), 250 + 30 * np.sin(t / 2.3)),
               0.9 + 0.15 * np.sin(t / 5), 6 * np.sin(t / 1.7))
        if count / 3 <= index < 2 * count / 3:
            _place(frame, *astronaut, (470 - 60 * np.sin(t / 2.7), 220 + 20 * np.cos(t / 3.3)),
                   0.95 + 0.1 * np.cos(t / 4), -5 * np.sin(t / 2.1))
        noise = rng.integers(-6, 7, frame.shape, dtype=np.int16)  # sensor noise
        yield np.clip(frame + noise, 0, 255).astype(np.uint8)


def write_clip(path: str | Path, seconds: float = 60.0, fps: float = 30.0, seed: int = 0) -> Path:
    """Write the realistic clip (mp4v in MP4, or the suffix's usual codec) to ``path``."""
    path = Path(path)
    fourcc = {".avi": "MJPG", ".webm": "VP80"}.get(path.suffix, "mp4v")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, SIZE)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    try:
        for frame in frames(seconds, fps, seed):
            writer.write(frame)
    finally:
        writer.release()
    return path
