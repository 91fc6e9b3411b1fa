"""Test-time views of a face, built in numpy: the same views the served Keras graph builds
inside itself (training/export.py), so the LiteRT network can run them as one batch.

The views of ``flip_zoom``: the face, its centre crop (CROP pixels off the side, resized
back to 48 bilinearly, as Keras' CenterCrop + Resizing do) and the mirror images of both.
"""

from __future__ import annotations

import functools

import numpy as np

from emotion_recognition.core.crops import FACE_SIZE

VIEW_CHOICES = ("none", "flip", "flip_zoom", "ten_crop")
CROP = 4  # pixels cut off for the zoomed and corner views


@functools.lru_cache(maxsize=8)
def resize_matrix(source: int, target: int = FACE_SIZE) -> np.ndarray:
    """(target, source) weights of a bilinear resize with half-pixel centres (what
    tf.image.resize and Keras' Resizing compute, antialias off)."""
    position = (np.arange(target) + 0.5) * source / target - 0.5
    low = np.floor(position)
    weight = position - low
    low_index = np.clip(low, 0, source - 1).astype(int)
    high_index = np.clip(low + 1, 0, source - 1).astype(int)
    matrix = np.zeros((target, source), np.float64)
    np.add.at(matrix, (np.arange(target), low_index), 1 - weight)
    np.add.at(matrix, (np.arange(target), high_index), weight)
    matrix = matrix.astype(np.float32)
    matrix.flags.writeable = False  # shared by every call (cached)
    return matrix


def _resized(crops: np.ndarray) -> np.ndarray:
    """(N, h, w) crops -> (N, 48, 48), bilinear."""
    rows, columns = resize_matrix(crops.shape[1]), resize_matrix(crops.shape[2])
    return rows @ crops @ columns.T


def _crops(faces: np.ndarray, views: str, crop: int) -> list[np.ndarray]:
    """The unmirrored views of (N, 48, 48) faces."""
    found = [faces]
    side = FACE_SIZE - crop
    if views in ("flip_zoom", "ten_crop"):
        start = crop // 2  # Keras' CenterCrop: (48 - 44) // 2
        found.append(_resized(faces[:, start:start + side, start:start + side]))
    if views == "ten_crop":
        for top, left in ((0, 0), (0, crop), (crop, 0), (crop, crop)):
            found.append(_resized(faces[:, top:top + side, left:left + side]))
    return found


def face_views(faces: np.ndarray, views: str, crop: int = CROP) -> np.ndarray:
    """(N, 48, 48[, 1]) faces -> (V * N, 48, 48, 1) float32: view 0 of every face, then
    view 1..., so ``.reshape(V, N, ...)`` groups each view."""
    if views not in VIEW_CHOICES:
        raise ValueError(f"unknown test-time views '{views}'; choose from {VIEW_CHOICES}")
    faces = np.asarray(faces, np.float32).reshape(-1, FACE_SIZE, FACE_SIZE)
    found = _crops(faces, views, crop)
    if views != "none":
        found += [view[:, :, ::-1] for view in found]
    return np.concatenate(found)[..., None]

