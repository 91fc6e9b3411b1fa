"""Pure image work shared by training and serving: decode, box maths, crop, model input.

RGB uint8 (H, W, 3) at every boundary; the model takes grey (N, 48, 48, 1) uint8 faces.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from emotion_recognition.errors import DatasetError, ImageDecodeError
from emotion_recognition.image_header import decode_slot, size_problem
from emotion_recognition.limits import LIMITS

FACE_SIZE = 48
MAX_IMAGE_PIXELS = LIMITS.photo_pixels  # larger images are refused before decoding
MAX_FILE_BYTES = LIMITS.photo_bytes

# How a FER2013 face sits around the box OpenCV's frontal Haar cascade finds on it:
# the FER2013 frame is CROP_SCALE times the Haar box's width, centred CROP_SHIFT_Y box
# widths below the box centre. Measured by `python -m emotion_recognition.training.calibrate_crop`
# (medians over 1,727 Training images with exactly one face: scale 1.200, quartiles
# 1.161-1.274; shift_y 0.016, quartiles 0.000-0.033; shift_x 0.008, taken as 0).
CROP_SCALE = 1.2
CROP_SHIFT_Y = 0.016


@dataclass(frozen=True)
class Box:
    """A box in pixels: top-left corner (x, y), width w, height h; ``angle`` is the turn
    (degrees, counter-clockwise as OpenCV counts) about the box centre that makes the face
    inside upright (0 for an upright face; see alignment.py)."""

    x: int
    y: int
    w: int
    h: int
    angle: float = 0.0

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    def scaled(self, factor: float) -> "Box":
        return Box(*(int(round(v * factor)) for v in (self.x, self.y, self.w, self.h)),
                   self.angle)


def face_frame(box: Box, scale: float = CROP_SCALE, shift_y: float = CROP_SHIFT_Y) -> Box:
    """The square FER2013-style frame around a detected face box (may leave the image)."""
    side = int(round(max(box.w, box.h) * scale))
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
    matrix = cv2.getRotationMatrix2D((box.x + box.w / 2, box.y + box.h / 2), box.angle, 1.0)
    matrix[:, 2] -= (box.x, box.y)
    return cv2.warpAffine(image, matrix, (box.w, box.h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def face_crops(grey: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """Cut the FER2013-framed face of every box out of a grey image -> model input."""
    return to_model_input([upright_crop(grey, face_frame(box)) for box in boxes])


def decode_grey_face(data: bytes, name: str) -> np.ndarray:
    """Decode one FER2013 image file to (48, 48) uint8; a broken file names itself."""
    array = np.frombuffer(data, np.uint8)
    image = cv2.imdecode(array, cv2.IMREAD_GRAYSCALE) if array.size else None
    if image is None:
        raise DatasetError(f"corrupt or unreadable image: {name}")
    if image.shape != (FACE_SIZE, FACE_SIZE):
        image = cv2.resize(image, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    return image


def decode_image(source) -> np.ndarray:
    """Any user image (path, bytes, PIL image or array) -> RGB uint8 (H, W, 3), upright.

    Handles EXIF orientation, RGBA/LA (on white), palette, 16-bit, CMYK and grey images,
    and the first frame of animations. Raises ImageDecodeError with a plain message.
    """
    return decode_image_within(source, None)[0]


def decode_image_within(source, max_pixels: int | None = LIMITS.working_pixels
                        ) -> tuple[np.ndarray, float]:
    """Like decode_image, but an image over ``max_pixels`` is decoded at 1/2, 1/4 or 1/8 of
    its size (JPEGs are decoded at that size directly, which bounds memory too); returns the
    image and the factor from its pixels to the original's. The size the image declares is
    checked against the limits before any pixel is decoded."""
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source), 1.0
    if isinstance(source, Image.Image):
        _check_size(source.size)
        with decode_slot():
            return _pil_to_rgb(source), 1.0
    data = read_image_bytes(source)
    try:
        with Image.open(io.BytesIO(data)) as image:
            _check_size(image.size)
            width = image.size[0]
            with decode_slot():
                image = _reduced(image, max_pixels)
                rgb = _pil_to_rgb(image)
            return rgb, width / image.size[0]
    except UnidentifiedImageError:
        raise ImageDecodeError("This file is not an image we can read "
                               "(try a JPEG, PNG, WebP, BMP or GIF).") from None
    except Image.DecompressionBombError:
        raise ImageDecodeError(f"This image has far too many pixels (the limit is "
                               f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels). "
                               "Please send a smaller image.") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageDecodeError(f"This image is damaged or truncated and cannot be read "
                               f"({error}).") from None


def decode_frame(data: bytes, width: int = LIMITS.live_frame_width,
                 height: int = LIMITS.live_frame_height) -> np.ndarray:
    """A webcam frame: a JPEG of at most ``width`` x ``height`` (either way up) -> RGB uint8.
    Its header is checked before any pixel is decoded; ImageDecodeError otherwise."""
    refusal = f"A webcam frame must be a JPEG image of at most {width}x{height}."
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
            long_side, short_side = max(image.size), min(image.size)
            if long_side > max(width, height) or short_side > min(width, height):
                raise ImageDecodeError(f"{refusal} This one is {image.size[0]}x{image.size[1]}.")
            with decode_slot():
                return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError):
        raise ImageDecodeError(refusal) from None


def read_image_bytes(source) -> bytes:
    """The bytes of an image file (or bytes), refused when empty or over the file limit."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ImageDecodeError(f"No such image file: {path.name}")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageDecodeError(f"The file is larger than {MAX_FILE_BYTES // 2**20} MB.")
        data = path.read_bytes()
    if not data:
        raise ImageDecodeError("The file is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        raise ImageDecodeError(f"The file is larger than {MAX_FILE_BYTES // 2**20} MB.")
    return data


def _reduced(image: Image.Image, max_pixels: int | None) -> Image.Image:
    """The image shrunk by the smallest power of two that brings it within max_pixels."""
    width, height = image.size
    if max_pixels is None or width * height <= max_pixels:
        return image
    factor = 2
    while width * height / factor**2 > max_pixels and factor < 8:
        factor *= 2
    target = (-(-width // factor), -(-height // factor))
    if image.format == "JPEG":
        image.draft(image.mode if image.mode in ("RGB", "L") else "RGB", target)
        if image.size[0] <= target[0] * 1.01:
            return image
    return image.reduce(max(1, round(image.size[0] / target[0])))


def _check_size(size: tuple[int, int]) -> None:
    """Refuse an image over the pixel, side or aspect limit (image_header.size_problem)."""
    problem = size_problem(*size)
    if problem is not None:
        raise ImageDecodeError(f"This image cannot be analysed. {problem} "
                               "Please send a smaller image.")


def _pil_to_rgb(image: Image.Image) -> np.ndarray:
    image.seek(0)  # first frame of an animation
    _check_size(image.size)
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if values.max() > 255 else 255.0
        return _array_to_rgb(np.clip(values * (255.0 / peak), 0, 255).astype(np.uint8))
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        return _array_to_rgb(np.clip(values, 0, 255).astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    """Arrays from Gradio or OpenCV callers: grey, RGB or RGBA, any integer/float type."""
    if array.ndim not in (2, 3) or array.size == 0:
        raise ImageDecodeError(f"Expected an image array, got shape {array.shape}.")
    if array.dtype == np.uint16:
        array = (array / 257).astype(np.uint8)
    elif array.dtype != np.uint8:
        scale = 255.0 if array.dtype.kind == "f" and array.max() <= 1.0 else 1.0
        array = np.clip(array * scale, 0, 255).astype(np.uint8)
    if array.ndim == 2 or array.shape[2] == 1:
        return cv2.cvtColor(array.reshape(array.shape[:2]), cv2.COLOR_GRAY2RGB)
    if array.shape[2] == 4:
        alpha = array[..., 3:4].astype(np.float32) / 255.0
        return (array[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(array[..., :3])


def downscale_for_detection(grey: np.ndarray, max_pixels: int) -> tuple[np.ndarray, float]:
    """Shrink a grey image to at most max_pixels pixels (Haar's cost grows with the pixel
    count); return it and the factor that maps its coordinates back to the original."""
    height, width = grey.shape[:2]
    if height * width <= max_pixels:
        return grey, 1.0
    factor = (max_pixels / (height * width)) ** 0.5
    small = cv2.resize(grey, (max(1, round(width * factor)), max(1, round(height * factor))),
                       interpolation=cv2.INTER_AREA)
    return small, width / small.shape[1]
