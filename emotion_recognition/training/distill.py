"""Knowledge distillation: a student learns from its teachers' softened outputs and the labels.

The teachers' outputs on the training images (each image and its mirror image, averaged in
logit space over views and teachers) are computed once and stored with the student's run
(``teacher_targets.npz``), so a resumed run and the GPU's later jobs reuse them.

A teacher is a training run folder (config.json + best.weights.h5) or a served ``.keras``
model (its log-probabilities serve as logits: softmax is unchanged by a constant shift).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import ops

from emotion_recognition.core.labels import EmotionSet, emotion_set_of_labels

TEACHER_TARGETS_FILE = "teacher_targets.npz"  # on the training images
TEACHER_VALIDATION_FILE = "teacher_targets_publictest.npz"  # for a meaningful val_loss


def _teacher_logits_fn(teacher: str | Path):
    """(EmotionSet, function faces -> logits) for a run folder or a served .keras file."""
    from emotion_recognition.core.classify import read_labels
    from emotion_recognition.training.export import network_from_run

    teacher = Path(teacher)
    if teacher.is_dir():
        network, classes = network_from_run(teacher)
        logits_model = keras.Model(network.inputs, network.get_layer("logits").output)
        return classes, lambda faces: logits_model.predict(faces, batch_size=512, verbose=0)
    model = keras.saving.load_model(teacher, safe_mode=True, compile=False)
    classes = emotion_set_of_labels(tuple(read_labels(teacher.parent)[teacher.stem]))
    return classes, lambda faces: np.log(np.clip(
        model.predict(faces, batch_size=512, verbose=0), 1e-7, 1.0))


# a teacher run's own outputs, kept in its folder: on the training images, on PublicTest
TRAIN_LOGITS_FILE, PUBLICTEST_LOGITS_FILE = "train_logits.npz", "publictest_logits.npz"


def _compute_logits(teacher: str | Path, faces: np.ndarray) -> tuple[EmotionSet, np.ndarray]:
    """A teacher's logits, averaged over each face and its mirror image."""
    classes, logits_of = _teacher_logits_fn(teacher)
    return classes, (logits_of(faces) + logits_of(faces[:, :, ::-1])) / 2


def run_logits(teacher: str | Path, images: np.ndarray, keys: tuple[str, ...],
               file_name: str = TRAIN_LOGITS_FILE) -> tuple[EmotionSet, np.ndarray]:
    """A teacher's logits on these images; a run folder keeps them (``file_name``), so they
    are computed once even when its weights are gone (e.g. too big to copy back)."""
    stored_at = Path(teacher) / file_name
    if stored_at.is_file():
        with np.load(stored_at) as stored:
            if stored["keys"].tolist() == list(keys):
                return emotion_set_of_labels(tuple(stored["classes"].tolist())), stored["logits"]
    faces = images.reshape(-1, images.shape[1], images.shape[2], 1).astype(np.float32)
    classes, logits = _compute_logits(teacher, faces)
    if Path(teacher).is_dir():
        np.savez_compressed(stored_at, logits=logits.astype(np.float32), keys=np.array(keys),
                            classes=np.array(classes.labels))
    return classes, logits


def teacher_logits(teachers: list[str], images: np.ndarray, classes: EmotionSet,
                   keys: tuple[str, ...] = (), file_name: str = TRAIN_LOGITS_FILE) -> np.ndarray:
    """(N, len(classes)) logits averaged over teachers and over each image and its mirror."""
    keys = keys or tuple(str(i) for i in range(len(images)))
    total = np.zeros((len(images), len(classes)), np.float32)
    for teacher in teachers:
        teacher_classes, logits = run_logits(teacher, images, keys, file_name)
        missing = set(classes) - set(teacher_classes)
        if missing:
            raise ValueError(f"teacher {teacher} has no output for {', '.join(sorted(missing))}")
        total += logits[:, [teacher_classes.labels.index(name) for name in classes]]
    return total / len(teachers)


def soften(logits: np.ndarray, temperature: float) -> np.ndarray:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def cached_teacher_logits(run_dir: Path, teachers: list[str], images: np.ndarray,
                          keys: tuple[str, ...], classes: EmotionSet,
                          file_name: str = TEACHER_TARGETS_FILE) -> np.ndarray:
    """The teachers' logits for these images, computed once and stored in the run folder."""
    path = Path(run_dir) / file_name
    names = np.array([str(t) for t in teachers])
    if path.is_file():
        with np.load(path) as stored:
            if (stored["teachers"].tolist() == names.tolist()
                    and stored["keys"].tolist() == list(keys)):
                return stored["logits"]
    per_teacher = (PUBLICTEST_LOGITS_FILE if file_name == TEACHER_VALIDATION_FILE
                   else TRAIN_LOGITS_FILE)
    logits = teacher_logits(teachers, images, classes, keys, per_teacher)
    np.savez_compressed(path, logits=logits, keys=np.array(keys), teachers=names,
                        classes=np.array(classes.labels))
    return logits


class DistillationLoss(keras.losses.Loss):
    """(1 - w) * cross-entropy with the (smoothed) labels + w * T^2 * KL(teacher_T || student_T).

    ``y_true`` holds the label targets and the teacher's softened distribution side by
    side (N, 2C); ``y_pred`` is the student's softmax output, whose log is its logits up to
    a constant, so the student's softened distribution is softmax(log(y_pred) / T).
    """

    def __init__(self, num_classes: int, temperature: float = 4.0, weight: float = 0.7,
                 label_smoothing: float = 0.0, name: str = "distillation", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes, self.temperature, self.weight = num_classes, temperature, weight
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        classes = self.num_classes
        labels, teacher = y_true[:, :classes], y_true[:, classes:]
        labels = labels * (1 - self.label_smoothing) + self.label_smoothing / classes
        log_student = ops.log(ops.clip(y_pred, 1e-7, 1.0))
        cross_entropy = -ops.sum(labels * log_student, axis=-1)
        soft_student = ops.log_softmax(log_student / self.temperature, axis=-1)
        log_teacher = ops.log(ops.clip(teacher, 1e-7, 1.0))
        divergence = ops.sum(teacher * (log_teacher - soft_student), axis=-1)
        return ((1 - self.weight) * cross_entropy
                + self.weight * self.temperature ** 2 * divergence)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "temperature": self.temperature, "weight": self.weight,
                "label_smoothing": self.label_smoothing}


def label_accuracy(num_classes: int) -> keras.metrics.Metric:
    """Accuracy against the label half of distillation targets, logged as ``accuracy``."""

    def accuracy(y_true, y_pred):
        hits = ops.argmax(y_true[:, :num_classes], axis=-1) == ops.argmax(y_pred, axis=-1)
        return ops.cast(hits, "float32")

    return keras.metrics.MeanMetricWrapper(accuracy, name="accuracy")
