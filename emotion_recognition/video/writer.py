"""Annotated videos that every browser plays, written fast enough for 2 CPU cores.

OpenCV's pip wheels can only write browser-playable video as VP8 with fixed, slow encoder
settings (slower than analysing the frame); PyAV, FFmpeg's Python binding, writes H.264
(.mp4) or real-time VP8 (.webm) with the settings we choose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Per container: codec and options. ultrafast / realtime: speed first, at a larger file.
CODECS = {
    ".mp4": ("libx264", {"preset": "ultrafast", "crf": "24"}),
    ".webm": ("libvpx", {"deadline": "realtime", "cpu-used": "8", "b": "2M"}),
}


class AnnotatedVideoWriter:
    """Write RGB frames of one size to an .mp4 (H.264) or .webm (VP8) file."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]):
        import av  # here, not at import: only video jobs need FFmpeg

        self.path = Path(path)
        if self.path.suffix not in CODECS:
            raise ValueError(f"annotated videos are .mp4 or .webm, not {self.path.suffix}")
        codec, options = CODECS[self.path.suffix]
        container_options = {"movflags": "+faststart"} if self.path.suffix == ".mp4" else {}
        self._container = av.open(str(self.path), "w", options=container_options)
        self._stream = self._container.add_stream(codec, rate=_rate(fps), options=options)
        self._stream.width, self._stream.height = size
        self._stream.pix_fmt = "yuv420p"
        self._stream.thread_count = 1  # the analysis has the other core
        self._frame_type = av.VideoFrame

    def write(self, rgb: np.ndarray) -> None:
        frame = self._frame_type.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._container is None:
            return
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None


def _rate(fps: float):
    """FFmpeg wants a rational frame rate: 5 -> 5, 7.5 -> 15/2, 29.97 -> 2997/100."""
    from fractions import Fraction

    return Fraction(fps).limit_denominator(1001)
