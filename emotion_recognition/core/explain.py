"""Why this emotion? Occlusion sensitivity: hide one patch of the face at a time and see
how much the chosen emotion's probability drops. Hot regions are the ones the model used.

Model-agnostic and faithful by construction (it measures the served model, test-time
views included); one batch of 50 faces per face, so it is off unless asked for.
``benchmarks.explanation_faithfulness`` checks it on FER2013 PublicTest faces.
"""

from __future__ import annotations

import cv2
import numpy as np

from emotion_recognition.core.crops import FACE_SIZE, crop_padded, face_crops, face_frame
from emotion_recognition.core.types import Explanation

PATCH = 12  # a quarter of the face: about an eye, the mouth, a brow
STRIDE = 6


def occluded_batch(face: np.ndarray, patch: int = PATCH,
                   stride: int = STRIDE) -> tuple[np.ndarray, list]:
    """The face (48, 48) followed by one copy per patch position, that patch filled with
    the face's mean grey; returns the batch (N, 48, 48, 1) and the patch corners."""
    corners = [(y, x) for y in range(0, FACE_SIZE - patch + 1, stride)
               for x in range(0, FACE_SIZE - patch + 1, stride)]
    batch = np.repeat(face[None], len(corners) + 1, axis=0)
    fill = np.uint8(round(float(face.mean())))
    for i, (y, x) in enumerate(corners, start=1):
        batch[i, y:y + patch, x:x + patch] = fill
    return batch[..., None], corners


def occlusion_map(face: np.ndarray, classifier, label_index: int | None = None,
                  patch: int = PATCH, stride: int = STRIDE) -> tuple[np.ndarray, int]:
    """Heat (48, 48) in 0..1 for one grey face, and the class it explains (the winner
    unless ``label_index`` is given). Each pixel: the mean probability drop of the patches
    covering it; only drops count (a patch whose hiding helps the class is cold)."""
    batch, corners = occluded_batch(face, patch, stride)
    probabilities = classifier.predict(batch)
    index = int(np.argmax(probabilities[0])) if label_index is None else label_index
    drops = probabilities[0, index] - probabilities[1:, index]
    total = np.zeros((FACE_SIZE, FACE_SIZE), np.float32)
    count = np.zeros_like(total)
    for drop, (y, x) in zip(drops, corners):
        total[y:y + patch, x:x + patch] += drop
        count[y:y + patch, x:x + patch] += 1
    heat = np.clip(total / np.maximum(count, 1), 0, None)
    peak = heat.max()
    return (heat / peak if peak > 0 else heat), index


def explain_faces(grey: np.ndarray, faces, classifier) -> list[Explanation]:
    """One explanation per face (in order), for the emotion each face was labelled with."""
    explanations = []
    for face in faces:
        crop = face_crops(grey, [face.box])[0, ..., 0]  # exactly what the model saw
        heat, _ = occlusion_map(crop, classifier, classifier.labels.index(face.label))
        explanations.append(Explanation(face.label, face_frame(face.box), heat))
    return explanations


def heat_on_frame(explanation: Explanation, side: int) -> np.ndarray:
    """The heat map as it lies on the photo: (side, side) over the unturned frame. The heat
    was measured on the crop turned upright by the frame's angle (what the model saw), so
    it is turned back by that angle about the frame's centre (the corners it leaves are
    cold)."""
    heat = cv2.resize(explanation.heat, (side, side), interpolation=cv2.INTER_CUBIC)
    if explanation.frame.angle:
        centre = ((side - 1) / 2, (side - 1) / 2)  # as crops.upright_crop turns
        back = cv2.getRotationMatrix2D(centre, -explanation.frame.angle, 1.0)
        heat = cv2.warpAffine(heat, back, (side, side), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return heat


def overlay(rgb: np.ndarray, explanation: Explanation, side: int = 192) -> np.ndarray:
    """The face frame cut from the RGB image, ``side`` pixels square, with the heat map laid
    over it where it was measured (red: the regions that drove the prediction; transparent:
    unused)."""
    crop = cv2.resize(crop_padded(rgb, explanation.frame), (side, side),
                      interpolation=cv2.INTER_AREA)
    heat = heat_on_frame(explanation, side)
    heat = np.clip(cv2.GaussianBlur(heat, (0, 0), side * STRIDE / FACE_SIZE / 2), 0, 1)  # no steps
    colours = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    alpha = (0.65 * heat)[..., None]
    return (crop * (1 - alpha) + colours * alpha).astype(np.uint8)
