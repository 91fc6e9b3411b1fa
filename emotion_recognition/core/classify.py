"""EmotionClassifier: a served Keras model plus its labels, called in one batch per image."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from emotion_recognition.core.crops import FACE_SIZE
from emotion_recognition.core.errors import ModelLoadError
from emotion_recognition.core.labels import emotion_set as emotion_set_named


def model_revision(data: bytes) -> str:
    """Which model made a result: "sha256:" and the model file's hash (the same bytes, the
    same revision), as every face row records it."""
    return "sha256:" + hashlib.sha256(data).hexdigest()[:12]


# TensorFlow's intra-op threads per inference. The served network is small: handing a batch's
# work between threads costs more than it saves (benchmarks.speed on 2 cores: one face 4.9 ms
# with TensorFlow's default pool, 2.9 ms with one thread; 100 faces 209 ms, 202 ms), and
# requests served at the same time each get a core of their own.
SERVING_THREADS = 1


def limit_tensorflow_threads(threads: int, inter_op: bool = False) -> bool:
    """Give TensorFlow ``threads`` intra-op threads (and as many inter-op ones with
    ``inter_op``). Possible only before its first operation in this process; a count already
    chosen (here, or by TF_NUM_INTRAOP_THREADS) is kept. True when it took effect."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return False
    if os.environ.get("TF_NUM_INTRAOP_THREADS"):
        return False
    import tensorflow as tf

    if tf.config.threading.get_intra_op_parallelism_threads():
        return False
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        if inter_op:
            tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already ran here (training, a test): keep its pools
        return False
    return True


class EmotionClassifier:
    """Maps (N, 48, 48, 1) uint8 faces to (N, C) probabilities over ``labels``."""

    def __init__(self, model, labels: tuple[str, ...], revision: str = ""):
        self.model = model
        self.labels = tuple(labels)
        self.revision = revision  # model_revision of the file it came from ("": none)
        self._call = _fast_call(model)
        self.predict(np.zeros((1, FACE_SIZE, FACE_SIZE, 1), np.uint8))  # trace once now

    @classmethod
    def from_file(cls, model_path: str | Path, labels: tuple[str, ...]) -> "EmotionClassifier":
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        limit_tensorflow_threads(SERVING_THREADS)
        import keras

        try:
            revision = model_revision(Path(model_path).read_bytes())
            model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
        except Exception as error:  # a broken or missing file: say which
            raise ModelLoadError(f"cannot load the emotion model {model_path}: {error}") from error
        return cls(model, labels, revision)

    @classmethod
    def from_dir(cls, model_dir: str | Path, emotion_set: str) -> "EmotionClassifier":
        """Load the emotion set's model file with its labels (labels.json) from model_dir."""
        emotions = emotion_set_named(emotion_set)
        model_dir = Path(model_dir)
        labels = read_labels(model_dir)
        if tuple(labels.get(emotions.name, ())) != emotions.labels:
            raise ModelLoadError(f"{model_dir / 'labels.json'} does not list the labels of "
                                 f"'{emotions.name}' as {list(emotions.labels)}")
        return cls.from_file(model_dir / emotions.model_file, emotions.labels)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities for a batch of faces; an empty batch gives an empty (0, C) array."""
        if len(faces) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        batch = np.asarray(faces, dtype=np.float32).reshape(-1, FACE_SIZE, FACE_SIZE, 1)
        return np.asarray(self._call(batch), dtype=np.float32)


def read_labels(model_dir: str | Path) -> dict[str, list[str]]:
    """labels.json of a model folder: {emotion set name: its labels in output order}."""
    path = Path(model_dir) / "labels.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"cannot read the label file {path}: {error}") from error


def _fast_call(model):
    """A compiled inference call: tf.function on TensorFlow (one face costs a small fraction
    of an eager Keras call: "one face classified" in benchmarks/figures/speed.json), plain
    predict_on_batch elsewhere."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return model.predict_on_batch
    import tensorflow as tf

    signature = [tf.TensorSpec((None, FACE_SIZE, FACE_SIZE, 1), tf.float32)]
    # its one concrete function, called directly (no signature matching on every call)
    compiled = tf.function(lambda x: model(x, training=False),
                           input_signature=signature).get_concrete_function()
    return lambda batch: compiled(tf.constant(batch)).numpy()
