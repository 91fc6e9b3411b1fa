"""The frames of a video at a chosen rate, decoded ahead in a background thread.

Decoding every frame (the skipped ones too, to keep the codec's state) is a large part of a
video job; OpenCV releases the GIL while it decodes, so a reader thread decodes the next
frames on the other core while the current one is analysed.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
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
        capture = cv2.VideoCapture(str(self.path))
        try:
            for item in self._sampled(capture):
                if not self._put(item):
                    return
        except Exception as error:  # handed to the consumer, which raises it
            self._put(error)
        finally:
            capture.release()
            self._put(None)

    def _sampled(self, capture) -> Iterator[SampledFrame]:
        next_time, index = 0.0, -1
        while not self._stop.is_set():
            start = time.perf_counter()
            if not capture.grab():
                return
            index += 1
            moment = index / self.fps
            if moment + 1e-6 < next_time:
                self.decode_seconds += time.perf_counter() - start
                continue
            next_time = (np.floor(moment / self.step + 1e-6) + 1) * self.step
            ok, frame = capture.retrieve()
            self.decode_seconds += time.perf_counter() - start
            if not ok:
                return
            check_frame_size(frame.shape[1], frame.shape[0], self.limits)  # larger than it said
            yield SampledFrame(index, moment, frame)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False
