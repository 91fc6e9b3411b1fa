"""LiteRT (ai-edge-litert): the interpreter every served network file runs in (the emotion
network and BlazeFace), without TensorFlow."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np


def interpreter_class():
    """ai_edge_litert's Interpreter; ImportError where ai-edge-litert is not installed."""
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter


def litert_available() -> bool:
    """Whether ai-edge-litert can be imported here."""
    try:
        interpreter_class()
    except ImportError:
        return False
    return True


class LiteRTNetwork:
    """One network file in one interpreter: a float32 batch in, its first output out.

    Thread-safe: a lock guards the interpreter (it holds one batch at a time). The batch
    size may change from call to call (the tensors are resized when it does)."""

    def __init__(self, path: str | Path, threads: int):
        self.path = Path(path)
        self.threads = threads
        self._interpreter = interpreter_class()(model_path=str(path), num_threads=threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = -1
        self._lock = threading.Lock()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        with self._lock:
            if len(batch) != self._batch:
                self._interpreter.resize_tensor_input(self._input, batch.shape, strict=False)
                self._interpreter.allocate_tensors()
                self._batch = len(batch)
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output).copy()
