"""Photos and frames from bytes to RGB pixels, safely: the check every image passes before
a pixel of it is decoded, the slots that bound how many images decode at once, and the
decoders (a photo in any common format; a webcam frame, JPEG only).

A 629-byte JPEG can declare 30000x30000 pixels, and decoding it takes gigabytes: so every
route (photo, snapshot, live frame, video frame, batch, command line) reads the size an
image declares first (PIL's lazy open reads the header, no pixel) and refuses what is over a
limit (core/limits.py) with a plain message.
"""

from __future__ import annotations

import io
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from emotion_recognition.core.errors import ImageDecodeError
from emotion_recognition.core.limits import LIMITS, MB, Limits

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
_decoding = threading.BoundedSemaphore(LIMITS.decodes_at_once)


def size_problem(width: int, height: int, max_pixels: int = LIMITS.photo_pixels,
                 max_side: int = LIMITS.image_side,
                 max_aspect: float = LIMITS.image_aspect) -> str | None:
    """Why an image of ``width`` x ``height`` pixels is refused, in words; None if it is not."""
    size = f"{width}x{height} pixels"
    if width < 1 or height < 1:
        return f"It declares {size}: there is no picture in it."
    if width * height > max_pixels:
        return f"It is {size}; the limit is {max_pixels / 1e6:.3g} megapixels."
    if max(width, height) > max_side:
        return f"It is {size}; the limit is {max_side:,} pixels a side."
    if max(width, height) / min(width, height) > max_aspect:
        return (f"It is {size}, {max(width, height) / min(width, height):.0f} times longer "
                f"than wide; the limit is {max_aspect:g}.")
    return None


@contextmanager
def decode_slot() -> Iterator[None]:
    """Hold one of the LIMITS.decodes_at_once decode slots (others wait their turn), so a
    burst of requests never decodes more images at once than memory allows."""
    with _decoding:
        yield


def decode_image(source) -> np.ndarray:
    """Any user image (path, bytes, PIL image or array) -> RGB uint8 (H, W, 3), upright, at
    its full size (see decode_photo for what the front ends analyse).

    Handles EXIF orientation, RGBA/LA (on white), palette, 16-bit, CMYK and grey images,
    and the first frame of animations. Raises ImageDecodeError with a plain message.
    """
    return decode_photo(source, None)[0]


CHANNELS = ("rgb", "bgr")  # the channel orders an array may come in (OpenCV's is BGR)


def check_channels(channels: str) -> str:
    """The channel order of an array image, "rgb" or "bgr"; anything else is refused."""
    if channels not in CHANNELS:
        raise ImageDecodeError(f"channels must be 'rgb' or 'bgr' (OpenCV's order, e.g. "
                               f"cv2.imread), not {str(channels)[:20]!r}.")
    return channels


def decode_photo(source, max_pixels: int | None = LIMITS.working_pixels,
                 limits: Limits = LIMITS, channels: str = "rgb"
                 ) -> tuple[np.ndarray, float]:
    """A photo as every front end analyses it (API, app, command line, batch): like
    decode_image, but an image over ``max_pixels`` is decoded at 1/2, 1/4 or 1/8 of its
    size (JPEGs are decoded at that size directly, which bounds memory too); returns the
    image and the factor from its pixels to the original's. The size the image declares is
    checked against ``limits`` (the server's; Limits.local() for trusted local input)
    before any pixel is decoded. Arrays and PIL images are held to the same limits and
    reduced alike; ``channels`` says an array's channel order."""
    check_channels(channels)
    if isinstance(source, np.ndarray):
        return _array_photo(source, max_pixels, channels, limits)
    if isinstance(source, Image.Image):
        _check_size(source.size, limits)
        with decode_slot():
            return _array_photo(_pil_to_rgb(source, limits), max_pixels, "rgb", limits)
    data = read_image_bytes(source, limits.photo_bytes)
    try:
        with Image.open(io.BytesIO(data)) as image:
            _check_size(image.size, limits)
            width = image.size[0]
            with decode_slot():
                image = _reduced(image, max_pixels)
                rgb = _pil_to_rgb(image, limits)
            return rgb, width / image.size[0]
    except UnidentifiedImageError:
        raise ImageDecodeError("This file is not an image we can read "
                               "(try a JPEG, PNG, WebP, BMP or GIF).") from None
    except Image.DecompressionBombError:
        raise ImageDecodeError(f"This image has far too many pixels (the limit is "
                               f"{limits.photo_pixels // 1_000_000} megapixels). "
                               "Please send a smaller image.") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageDecodeError(_unreadable(error)) from None


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
                return _rgb_array(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError):
        raise ImageDecodeError(refusal) from None


def read_image_bytes(source, max_bytes: int = LIMITS.photo_bytes) -> bytes:
    """The bytes of an image file (or bytes), refused when empty or over ``max_bytes``."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ImageDecodeError(f"No such image file: {path.name}")
        if path.stat().st_size > max_bytes:
            raise ImageDecodeError(f"The file is larger than {max_bytes // MB} MB.")
        data = path.read_bytes()
    if not data:
        raise ImageDecodeError("The file is empty (0 bytes).")
    if len(data) > max_bytes:
        raise ImageDecodeError(f"The file is larger than {max_bytes // MB} MB.")
    return data


def _unreadable(error: Exception) -> str:
    """Why Pillow could not read an image, in words (not Pillow's own names)."""
    if "MAX_TEXT_CHUNK" in str(error) or "MAX_TEXT_MEMORY" in str(error):
        return ("This image carries more embedded text (metadata) than we read: save it "
                "again without its metadata (or as a JPEG) and try again.")
    return f"This image is damaged or truncated and cannot be read ({error})."


def _reduction(width: int, height: int, max_pixels: int | None) -> int:
    """The smallest power of two (at most 8) that brings an image within max_pixels."""
    factor = 1
    while max_pixels is not None and width * height / factor**2 > max_pixels and factor < 8:
        factor *= 2
    return factor


def _reduced(image: Image.Image, max_pixels: int | None) -> Image.Image:
    """The image shrunk by the smallest power of two that brings it within max_pixels."""
    width, height = image.size
    factor = _reduction(width, height, max_pixels)
    if factor == 1:
        return image
    target = (-(-width // factor), -(-height // factor))
    if image.format == "JPEG":
        image.draft(image.mode if image.mode in ("RGB", "L") else "RGB", target)
        if image.size[0] <= target[0] * 1.01:
            return image
    return image.reduce(max(1, round(image.size[0] / target[0])))


def _check_size(size: tuple[int, int], limits: Limits = LIMITS) -> None:
    """Refuse an image over the pixel, side or aspect limit (size_problem)."""
    problem = size_problem(*size, limits.photo_pixels, limits.image_side, limits.image_aspect)
    if problem is not None:
        raise ImageDecodeError(f"This image cannot be analysed. {problem} "
                               "Please send a smaller image.")


def _pil_to_rgb(image: Image.Image, limits: Limits = LIMITS) -> np.ndarray:
    image.seek(0)  # first frame of an animation
    _check_size(image.size, limits)
    if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:  # (transposing copies it)
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
    return _rgb_array(image)


def _rgb_array(image: Image.Image) -> np.ndarray:
    """A writable RGB uint8 array of a PIL image (one copy when it is RGB already)."""
    return np.array(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8)


def _array_photo(array: np.ndarray, max_pixels: int | None, channels: str,
                 limits: Limits = LIMITS) -> tuple[np.ndarray, float]:
    """An array as a photo file is taken: its size checked first, then RGB, reduced by the
    same powers of two (pixel averages, as a JPEG decoded at reduced size)."""
    if array.ndim not in (2, 3) or array.size == 0:
        raise ImageDecodeError(f"Expected an image array, got shape {array.shape}.")
    height, width = array.shape[:2]
    _check_size((width, height), limits)
    rgb = _array_to_rgb(array, channels)
    factor = _reduction(width, height, max_pixels)
    if factor > 1:
        rgb = cv2.resize(rgb, (-(-width // factor), -(-height // factor)),
                         interpolation=cv2.INTER_AREA)
    return rgb, width / rgb.shape[1]


def _array_to_rgb(array: np.ndarray, channels: str = "rgb") -> np.ndarray:
    """Arrays from Gradio or OpenCV callers: grey, RGB or RGBA (BGR or BGRA with
    ``channels="bgr"``), any integer/float type."""
    if array.ndim not in (2, 3) or array.size == 0:
        raise ImageDecodeError(f"Expected an image array, got shape {array.shape}.")
    if array.ndim == 3 and array.shape[2] in (3, 4) and channels == "bgr":
        array = np.concatenate([array[..., 2::-1], array[..., 3:]], axis=2)
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
