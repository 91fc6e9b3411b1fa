"""From a face box to the model's input: the FER2013-framed square around the box, cut out
(turned upright by the box's angle, the border repeated where it leaves the image), grey,
48x48. Training and serving share these, so serving crops look like training crops.

RGB uint8 (H, W, 3) at every boundary; the model takes grey (N, 48, 48, 1) uint8 faces.
"""

from __future__ import annotations

import cv2
import numpy as np

from emotion_recognition.core.types import Box

FACE_SIZE = 48

# How a FER2013 face sits around the box OpenCV's frontal Haar cascade finds on it:
# the FER2013 frame is CROP_SCALE times the Haar box's width, centred CROP_SHIFT_Y box
# widths below the box centre. Measured by `python -m emotion_recognition.training.calibrate_crop`
# (medians over 1,727 Training images with exactly one face: scale 1.200, quartiles
# 1.161-1.274; shift_y 0.016, quartiles 0.000-0.033; shift_x 0.008, taken as 0).
CROP_SCALE = 1.2
CROP_SHIFT_Y = 0.016


def face_frame(box: Box, scale: float = CROP_SCALE, shift_y: float = CROP_SHIFT_Y) -> Box:
    """The square FER2013-style frame around a detected face box (may leave the image).
    Its side has the parity of the box's width, so it is centred on the box to the pixel
    and the frame of a mirrored face is the mirrored frame (a half pixel rounded one way
    moved a mirrored face's answer by up to 0.065)."""
    side = int(round(max(box.w, box.h) * scale))
    side += (side - box.w) % 2
    centre_x = box.x + box.w / 2
    centre_y = box.y + box.h / 2 + shift_y * box.w
    return Box(int(round(centre_x - side / 2)), int(round(centre_y - side / 2)), side, side,
               box.angle)


def clip_box(box: Box, width: int, height: int) -> Box:
    """The part of ``box`` inside a width x height image (w or h may become 0)."""
    x0, y0 = max(box.x, 0), max(box.y, 0)
    x1, y1 = min(box.x + box.w, width), min(box.y + box.h, height)
    return Box(x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))


def crop_padded(image: np.ndarray, box: Box) -> np.ndarray:
    """Crop ``box`` from ``image``; parts outside the image repeat its border pixels."""
    height, width = image.shape[:2]
    inside = clip_box(box, width, height)
    if inside.w == 0 or inside.h == 0:
        raise ValueError(f"box {box.as_list()} lies outside the {width}x{height} image")
    crop = image[inside.y:inside.y + inside.h, inside.x:inside.x + inside.w]
    top, left = inside.y - box.y, inside.x - box.x
    bottom = box.y + box.h - (inside.y + inside.h)
    right = box.x + box.w - (inside.x + inside.w)
    if top or left or bottom or right:
        crop = cv2.copyMakeBorder(crop, top, bottom, left, right, cv2.BORDER_REPLICATE)
    return crop


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) uint8 -> grey (H, W) uint8; grey input is returned unchanged."""
    if rgb.ndim == 2:
        return rgb
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def to_model_input(grey_faces: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """Grey face crops of any size -> (N, 48, 48, 1) uint8, the models' input."""
    resized = [face if face.shape[:2] == (FACE_SIZE, FACE_SIZE)
               else cv2.resize(face, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
               for face in grey_faces]
    if not resized:
        return np.zeros((0, FACE_SIZE, FACE_SIZE, 1), np.uint8)
    return np.stack(resized).astype(np.uint8)[..., None]


def upright_crop(image: np.ndarray, box: Box) -> np.ndarray:
    """Crop ``box`` turned by its angle about its centre, so a tilted face comes out
    upright; parts outside the image repeat its border pixels."""
    if not box.angle:
        return crop_padded(image, box)
    # about the box's centre in OpenCV's pixel-centre coordinates (pixel i spans i-0.5..i+0.5)
    centre = (box.x + (box.w - 1) / 2, box.y + (box.h - 1) / 2)
    matrix = cv2.getRotationMatrix2D(centre, box.angle, 1.0)
    matrix[:, 2] -= (box.x, box.y)
    return cv2.warpAffine(image, matrix, (box.w, box.h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def face_crops(grey: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """Cut the FER2013-framed face of every box out of a grey image -> model input."""
    return to_model_input([upright_crop(grey, face_frame(box)) for box in boxes])
