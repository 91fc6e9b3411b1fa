"""Hostile inputs made in a few hundred bytes: images whose header declares far more pixels
than the file holds, long strips, videos without a duration or with frames too large.
Nothing here allocates what the input declares (the server must refuse before it does)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np


def jpeg_declaring(width: int, height: int) -> bytes:
    """A 16x16 JPEG whose frame header (SOF) says width x height: a few hundred bytes."""
    data = bytearray(cv2.imencode(".jpg", np.full((16, 16), 128, np.uint8))[1].tobytes())
    at = 2
    while at < len(data):
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[at + 5:at + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        at += 2 + length
    raise ValueError("no SOF marker")


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header (IHDR) says width x height, 8-bit grey, with a little data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b""))


def grey_jpeg(width: int, height: int, shade: int = 128) -> bytes:
    """A real JPEG of one shade (a 400x60000 one is a few hundred KB)."""
    return cv2.imencode(".jpg", np.full((height, width), shade, np.uint8))[1].tobytes()


def webm_without_duration(path: Path, frames: int = 20, size: tuple[int, int] = (320, 240)) -> Path:
    """A WebM written as a live stream (as browsers record): no duration in its header."""
    import av

    with av.open(str(path), "w", format="webm", options={"live": "1"}) as out:
        stream = out.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for index in range(frames):
            image = np.full((size[1], size[0], 3), index * 10 % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def mjpeg_avi(path: Path, frames: int, size: tuple[int, int]) -> Path:
    """An MJPEG AVI of flat frames (its header says the frames' size)."""
    import av

    with av.open(str(path), "w", format="avi") as out:
        stream = out.add_stream("mjpeg", rate=5)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuvj420p"
        for _ in range(frames):
            frame = av.VideoFrame(size[0], size[1], "yuvj420p")
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
