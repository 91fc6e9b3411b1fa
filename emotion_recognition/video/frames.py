"""The frames of a video at a chosen rate, by their own timestamps, decoded ahead in a
background thread.

Phone and browser recordings have variable frame rates: a frame's time is the timestamp
the file gives it (PyAV, FFmpeg's binding), not its position divided by a nominal rate, so
times and sampling stay right however unevenly frames come. Decoding every frame (the
skipped ones too, to keep the codec's state) is a large part of a video job; FFmpeg
releases the GIL while it decodes, so a reader thread decodes the next frames on the other
core while the current one is analysed.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from emotion_recognition.core.decode import size_problem
from emotion_recognition.core.errors import VideoError
from emotion_recognition.core.limits import LIMITS, Limits


@dataclass(frozen=True)
class SampledFrame:
    index: int        # position in the video, from 0
    time: float       # seconds from the start
    bgr: np.ndarray


def check_frame_size(width: int, height: int, limits: Limits = LIMITS) -> None:
    """Refuse video frames over the frame limits (VideoError)."""
    problem = size_problem(width, height, limits.video_frame_pixels, limits.video_frame_side,
                           limits.image_aspect)
    if problem is not None:
        raise VideoError(f"This video's frames are too large to analyse. {problem} "
                         "Please send a smaller video.")


class FrameReader:
    """Iterate over the frames of ``path`` closest after every 1/sample_fps seconds; a frame
    over the size limits (check_frame_size) ends it with a VideoError."""

    def __init__(self, path: str | Path, fps: float, sample_fps: float, ahead: int = 4,
                 limits: Limits = LIMITS):
        self.path, self.fps, self.step = Path(path), fps, 1.0 / sample_fps
        self.limits = limits
        self.decode_seconds = 0.0  # the reader thread's own decoding time
        self._queue: queue.Queue = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="video-reader", daemon=True)

    def __iter__(self) -> Iterator[SampledFrame]:
        self._thread.start()
        try:
            while (item := self._queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the reader (early stops included) and wait for it; nothing to do if it never
        started (so an error before the first frame is the one the caller sees)."""
        self._stop.set()
        if self._thread.ident is None:
            return
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join(timeout=1)

    def _read(self) -> None:
        import av  # here, not at import: only video jobs need FFmpeg

        try:
            with av.open(str(self.path)) as container:
                for item in self._sampled(container):
                    if not self._put(item):
                        return
        except Exception as error:  # handed to the consumer, which raises it
            self._put(error)
        finally:
            self._put(None)

    def _sampled(self, container) -> Iterator[SampledFrame]:
        """Every frame closest after each multiple of the sampling step, by timestamp (from
        the first frame's); a frame without one is 1/fps after the one before."""
        import av

        frames = container.decode(container.streams.video[0])
        next_time, index, start, moment = 0.0, -1, None, -1.0 / self.fps
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                frame = next(frames, None)
            except av.FFmpegError:  # a damaged tail ends the video, as a player stops there
                frame = None
            if frame is None:
                return
            index += 1
            if frame.time is None:
                moment += 1.0 / self.fps
            else:
                start = frame.time if start is None else start
                moment = frame.time - start
            if moment + 1e-6 < next_time:
                self.decode_seconds += time.perf_counter() - started
                continue
            next_time = (np.floor(moment / self.step + 1e-6) + 1) * self.step
            check_frame_size(frame.width, frame.height, self.limits)  # larger than it said
            bgr = frame.to_ndarray(format="bgr24")
            self.decode_seconds += time.perf_counter() - started
            yield SampledFrame(index, moment, bgr)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False
