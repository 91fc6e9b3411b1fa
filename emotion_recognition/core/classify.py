"""EmotionClassifier: a served model plus its labels, called in one batch per image.

Served through LiteRT where the model folder has its int8 files (litert.json, written by
training.export_litert) and ai-edge-litert can be imported: the network alone, the
test-time views built in numpy and run as one batch, the log-probabilities averaged over
the views, then the temperature, as the Keras graph does inside itself. Otherwise (and on
request: ``backend="keras"``) the .keras file, the reference, with TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_recognition.core.crops import FACE_SIZE
from emotion_recognition.core.errors import ModelLoadError
from emotion_recognition.core.labels import EmotionSet
from emotion_recognition.core.labels import emotion_set as emotion_set_named


def model_revision(data: bytes) -> str:
    """Which model made a result: "sha256:" and the model file's hash (the same bytes, the
    same revision), as every face row records it."""
    return "sha256:" + hashlib.sha256(data).hexdigest()[:12]


# Interpreter threads per inference (LiteRT's num_threads; TensorFlow's intra-op threads
# for a Keras model). The served network is small: see benchmarks/figures/speed.json, and
# requests served at the same time each get a core of their own.
SERVING_THREADS = 1
LITERT_SPEC = "litert.json"  # how the LiteRT files serve each emotion set (export_litert)
BACKENDS = ("litert", "keras")

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class ServingPlan:
    """How an emotion set is served from a model folder: which backend, the files it
    reads (labels.json aside), its revision, and why it is not LiteRT when it is not."""

    backend: str
    files: tuple[str, ...]
    revision: str
    entry: dict | None = None  # the set's litert.json entry (LiteRT only)
    reason: str = ""


def serving_plan(model_dir: str | Path, emotions: str | EmotionSet,
                 backend: str | None = None) -> ServingPlan:
    """LiteRT when the folder has the set's int8 file and ai-edge-litert imports (or when
    ``backend="litert"``: an error otherwise); else the .keras file. Reads no model."""
    from emotion_recognition.core.litert import litert_available

    emotions, model_dir = emotion_set_named(emotions), Path(model_dir)
    if backend not in (None, *BACKENDS):
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    reason = "backend='keras' was asked for"
    if backend != "keras":
        entry, reason = _litert_entry(model_dir, emotions)
        if entry is not None and not litert_available():
            entry, reason = None, "ai-edge-litert cannot be imported"
        if entry is not None:
            network = model_dir / entry["network"]
            revision = model_revision(network.read_bytes() + _canonical(entry))
            return ServingPlan("litert", (LITERT_SPEC, entry["network"]), revision, entry)
        if backend == "litert":
            raise ModelLoadError(f"cannot serve {emotions.name} from {model_dir} with LiteRT: "
                                 f"{reason}")
    keras_file = model_dir / emotions.model_file
    try:
        revision = model_revision(keras_file.read_bytes())
    except OSError as error:
        raise ModelLoadError(f"cannot load the emotion model {keras_file}: {error}") from error
    return ServingPlan("keras", (emotions.model_file,), revision, reason=reason)


def _litert_entry(model_dir: Path, emotions: EmotionSet) -> tuple[dict | None, str]:
    """The set's litert.json entry, or None and why not."""
    try:
        spec = json.loads((model_dir / LITERT_SPEC).read_text())
    except FileNotFoundError:
        return None, f"{model_dir} has no {LITERT_SPEC}"
    except (OSError, ValueError) as error:
        return None, f"cannot read {model_dir / LITERT_SPEC}: {error}"
    entry = spec.get("emotion_sets", {}).get(emotions.name)
    if not isinstance(entry, dict) or not (model_dir / str(entry.get("network"))).is_file():
        return None, f"{model_dir / LITERT_SPEC} names no network file for {emotions.name}"
    keras_file = model_dir / str(entry.get("exported_from", emotions.model_file))
    made_from = entry.get("exported_from_revision")
    if made_from and keras_file.is_file() and model_revision(keras_file.read_bytes()) != made_from:
        return None, (f"{entry['network']} was exported from another {keras_file.name} than "
                      f"the one in {model_dir} (a newer model: run "
                      "python -m emotion_recognition.training.export_litert again)")
    return entry, ""


def _canonical(entry: dict) -> bytes:
    return json.dumps(entry, sort_keys=True).encode()


class EmotionClassifier:
    """Maps (N, 48, 48, 1) uint8 faces to (N, C) probabilities over ``labels``.

    ``model``: a callable from a float32 batch of faces to its probabilities (a LiteRTModel,
    or a Keras model's compiled call); ``backend`` says which ("litert" or "keras")."""

    def __init__(self, model, labels: tuple[str, ...], revision: str = "",
                 backend: str = "keras"):
        self.model = model
        self.labels = tuple(labels)
        self.revision = revision  # model_revision of the file(s) it came from ("": none)
        self.backend = backend
        self.predict(np.zeros((1, FACE_SIZE, FACE_SIZE, 1), np.uint8))  # ready now

    @classmethod
    def from_file(cls, model_path: str | Path, labels: tuple[str, ...],
                  threads: int = SERVING_THREADS) -> "EmotionClassifier":
        """A served .keras file, with TensorFlow (``threads`` intra-op threads, if still
        possible in this process)."""
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        limit_tensorflow_threads(threads)
        import keras

        try:
            revision = model_revision(Path(model_path).read_bytes())
            model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
        except Exception as error:  # a broken or missing file: say which
            raise ModelLoadError(f"cannot load the emotion model {model_path}: {error}") from error
        return cls(_fast_call(model), labels, revision, "keras")

    @classmethod
    def from_dir(cls, model_dir: str | Path, emotion_set: str, backend: str | None = None,
                 threads: int = SERVING_THREADS) -> "EmotionClassifier":
        """Load the emotion set's model with its labels (labels.json) from model_dir: its
        LiteRT file where it can (serving_plan), else its .keras file, saying so in the log.
        Emotion sets that share a network file share its interpreter."""
        emotions = emotion_set_named(emotion_set)
        model_dir = Path(model_dir)
        labels = read_labels(model_dir)
        if tuple(labels.get(emotions.name, ())) != emotions.labels:
            raise ModelLoadError(f"{model_dir / 'labels.json'} does not list the labels of "
                                 f"'{emotions.name}' as {list(emotions.labels)}")
        plan = serving_plan(model_dir, emotions, backend)
        if plan.backend == "keras":
            if backend is None:
                log.warning("Serving %s from its Keras file, with TensorFlow: %s",
                            emotions.name, plan.reason)
            return cls.from_file(model_dir / emotions.model_file, emotions.labels, threads)
        from emotion_recognition.core.litert import LiteRTModel, shared_network

        try:
            model = LiteRTModel(shared_network(model_dir / plan.entry["network"], threads),
                                plan.entry)
            return cls(model, emotions.labels, plan.revision, "litert")
        except (ValueError, RuntimeError, KeyError, TypeError, IndexError) as error:
            raise ModelLoadError(f"cannot load the LiteRT model for {emotions.name} from "
                                 f"{model_dir}: {error}") from error

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities for a batch of faces; an empty batch gives an empty (0, C) array."""
        if len(faces) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        batch = np.asarray(faces, dtype=np.float32).reshape(-1, FACE_SIZE, FACE_SIZE, 1)
        return np.asarray(self.model(batch), dtype=np.float32)


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
