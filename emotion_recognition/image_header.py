"""The check every image passes before a pixel of it is decoded, and the slots that bound
how many images decode at once.

A 629-byte JPEG can declare 30000x30000 pixels, and decoding it takes gigabytes: so every
route (photo, snapshot, live frame, video frame, batch, CLI) reads the size an image
declares first (PIL's lazy open reads the header, no pixel) and refuses what is over a
limit (emotion_recognition.limits) with a plain message.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from emotion_recognition.limits import LIMITS

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
