"""Training batches: shuffled, augmented with Keras preprocessing layers, class-weighted.

The augmentation runs on the host (not inside the jit-compiled model), so the same code
trains on TensorFlow (CPU) and JAX (GPU) and the served model carries no training layers.
"""

from __future__ import annotations

import math
import os
import time

import keras
import numpy as np
from keras import layers


# "cpu": a JAX machine augments on its CPU (scripts/gpu_train.sh falls back to it when
# compiling the augmenter for the GPU fails or hangs)
AUGMENT_DEVICE_VARIABLE = "EMOTION_AUGMENT_DEVICE"


def make_augmenter(seed: int) -> keras.Sequential:
    """Geometric and photometric jitter that keeps a face a face (and its label)."""
    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(10 / 360, fill_mode="reflect", seed=seed + 1),
        layers.RandomZoom(0.1, fill_mode="reflect", seed=seed + 2),
        layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed + 3),
        layers.RandomBrightness(0.2, value_range=(0, 255), seed=seed + 4),
        layers.RandomContrast(0.2, seed=seed + 5),
        layers.RandomErasing(factor=0.5, scale=(0.02, 0.15), value_range=(0, 255), seed=seed + 6),
    ], name="augment")


def mix_up(mixer: layers.MixUp, faces: np.ndarray, targets: np.ndarray, weights: np.ndarray,
           seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MixUp (Keras' layer, drawn from ``seed`` alone so that a resumed run sees the same
    batches): each face blended with another face of its batch by a Beta(alpha, alpha)
    weight, and its targets (labels, teachers' outputs) and loss weight blended alike."""
    transformation = mixer.get_random_transformation(faces, training=True, seed=seed)
    mixed = mixer.transform_images(faces, transformation, training=True)
    carried = np.concatenate([targets, weights[:, None]], axis=1).astype(np.float32)
    carried = keras.ops.convert_to_numpy(
        mixer.transform_labels(carried, transformation, training=True))
    return keras.ops.convert_to_numpy(mixed), carried[:, :-1], carried[:, -1]


def class_weights(labels: np.ndarray, num_classes: int, mode: str) -> np.ndarray:
    """Per-class loss weights, mean 1 over the training images.

    ``none``: all 1; ``sqrt``: 1/sqrt(frequency); ``inverse``: 1/frequency (balanced).
    """
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    counts = np.maximum(counts, 1)
    if mode == "none":
        weights = np.ones(num_classes)
    elif mode == "sqrt":
        weights = 1 / np.sqrt(counts)
    elif mode == "inverse":
        weights = 1 / counts
    else:
        raise ValueError(f"unknown class weighting '{mode}' (none, sqrt, inverse)")
    mean_weight = (weights * counts).sum() / counts.sum()
    return (weights / mean_weight).astype(np.float32)


def seed_states(augmenter: keras.Sequential, seed: int) -> list[np.ndarray]:
    """The random-generator state of every layer of the augmenter for this seed, in the
    order of ``augmenter.non_trainable_variables`` (what ``stateless_call`` takes)."""
    by_variable = {}
    for index, layer in enumerate(augmenter.layers):
        generator = getattr(layer, "generator", None)
        if generator is not None:
            state = np.array([(seed + 7919 * index) % 2**31, 0])
            by_variable[id(generator.state)] = state.astype(generator.state.dtype)
    return [by_variable[id(v)] for v in augmenter.non_trainable_variables]


def _compiled(augmenter: keras.Sequential):
    """(faces, seed states) -> augmented faces, as one compiled graph: a tf.function on
    TensorFlow (3x faster than eager), jax.jit on JAX (eager JAX took 150 ms a batch).

    Stateless (the seed states are arguments, nothing is assigned), so batches can be made
    on several threads at once and each depends only on its own seed."""
    if not augmenter.built:
        augmenter.build((None, None, None, 1))

    def augment(faces, states):
        return augmenter.stateless_call([], states, faces, training=True)[0]

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(tf.autograph.experimental.do_not_convert(augment))
    if keras.backend.backend() == "jax":
        import jax

        compiled = jax.jit(augment)
        if os.environ.get(AUGMENT_DEVICE_VARIABLE) != "cpu":
            return compiled
        cpu = jax.devices("cpu")[0]

        def on_cpu(faces, states):
            with jax.default_device(cpu):
                return compiled(faces, states)
        return on_cpu
    return augment


class AugmentedFaces(keras.utils.PyDataset):
    """Yields (faces, targets, sample weights) batches, reshuffled every epoch, mixed by
    MixUp when ``mixup`` (its alpha) is above 0.

    An endless stream (``fit`` gets ``steps_per_epoch=len(batches)``): stream batch i is
    batch ``i % len`` of epoch ``start_epoch + i // len``, and its order and augmentation
    depend only on (seed, epoch, batch index). So a run resumed at epoch k sees exactly
    the batches it would have seen going on, however far Keras prefetches.
    """

    def __init__(self, images: np.ndarray, targets: np.ndarray, weights: np.ndarray,
                 batch_size: int, seed: int, augment: bool = True, start_epoch: int = 0,
                 mixup: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.images = images.reshape(-1, *images.shape[1:3], 1).astype(np.float32)
        self.targets, self.weights = targets, weights
        self.batch_size, self.seed, self.start_epoch = batch_size, seed, start_epoch
        self.augmenter = make_augmenter(seed) if augment else None
        self._augment = _compiled(self.augmenter) if augment else None
        self.mixer = layers.MixUp(alpha=mixup) if mixup > 0 else None
        self._orders: dict[int, np.ndarray] = {}

    def order(self, epoch: int) -> np.ndarray:
        """The shuffled image order of an epoch."""
        if epoch not in self._orders:
            self._orders = {e: o for e, o in self._orders.items() if e >= epoch - 1}
            self._orders[epoch] = np.random.default_rng([self.seed, epoch]).permutation(
                len(self.images))
        return self._orders[epoch]

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    @property
    def num_batches(self):
        return None  # endless: see the class docstring

    def batch(self, epoch: int, index: int):
        rows = self.order(epoch)[index * self.batch_size:(index + 1) * self.batch_size]
        faces, seed = self.images[rows], self.seed * 100_003 + epoch * 1_009 + index
        if self.augmenter is not None:
            states = seed_states(self.augmenter, seed)
            faces = keras.ops.convert_to_numpy(self._augment(faces, states))
        faces, targets, weights = np.clip(faces, 0, 255), self.targets[rows], self.weights[rows]
        if self.mixer is not None:
            return mix_up(self.mixer, faces, targets, weights, seed % 2**31)
        return faces, targets, weights

    def __getitem__(self, position: int):
        epoch, index = divmod(position, len(self))
        return self.batch(self.start_epoch + epoch, index)


def check(batches: int = 20, batch_size: int = 128) -> float:
    """Compile the augmenter on this backend and device; return seconds per batch after."""
    faces = np.random.default_rng(0).integers(0, 256, (batch_size, 48, 48, 1)).astype(np.float32)
    augmenter = make_augmenter(1)
    augment = _compiled(augmenter)
    started = time.monotonic()
    keras.ops.convert_to_numpy(augment(faces, seed_states(augmenter, 0)))
    compiled = time.monotonic()
    for index in range(batches):
        keras.ops.convert_to_numpy(augment(faces, seed_states(augmenter, index)))
    per_batch = (time.monotonic() - compiled) / batches
    print(f"augmenter on {keras.backend.backend()}: compiled in {compiled - started:.1f} s, "
          f"{per_batch * 1000:.1f} ms a batch of {batch_size}", flush=True)
    return per_batch


if __name__ == "__main__":  # python -m emotion_recognition.training.augment: the check
    check()
