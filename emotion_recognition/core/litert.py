"""LiteRT (ai-edge-litert): the interpreter every served network file runs in (the emotion
network and BlazeFace), without TensorFlow; and an emotion set served from a network file
(its litert.json entry, written by training.export_litert)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from emotion_recognition.core.views import CROP, VIEW_CHOICES, face_views


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


_NETWORKS: dict[tuple, object] = {}  # (file, its bytes' hash, threads) -> LiteRTNetwork
_NETWORKS_LOCK = threading.Lock()


def shared_network(path: Path, threads: int):
    """The LiteRTNetwork of a network file, loaded once per process and thread count: the
    emotion sets that serve the same network (emotion7 and emotion4) share it."""
    data = Path(path).read_bytes()
    key = (str(Path(path).resolve()), hashlib.sha256(data).hexdigest(), threads)
    with _NETWORKS_LOCK:
        if key not in _NETWORKS:
            _NETWORKS[key] = LiteRTNetwork(path, threads)
        return _NETWORKS[key]


class LiteRTModel:
    """One emotion set served by a LiteRT network (its litert.json entry): every face's
    test-time views in one batch, the log-probabilities of the set's outputs averaged over
    the views, divided by the temperature, softmax. (Averaging log-probabilities is
    averaging logits up to a constant per face: the Keras graph's view average.)"""

    def __init__(self, network, entry: dict):
        self.network = network
        self.outputs = [int(i) for i in entry["outputs"]]
        self.views = str(entry["views"])
        self.crop = int(entry.get("crop", CROP))
        self.temperature = float(entry.get("temperature", 1.0))
        if self.views not in VIEW_CHOICES or not self.temperature > 0:
            raise ValueError(f"unusable LiteRT entry {entry}")

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        views = face_views(faces, self.views, self.crop)
        logits = self.network(views)
        logits = logits.reshape(-1, len(faces), logits.shape[-1])[..., self.outputs]
        return _softmax(_log_softmax(logits).mean(axis=0) / self.temperature)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)
