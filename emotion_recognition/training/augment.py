"""Training batches: shuffled, augmented with Keras preprocessing layers, class-weighted.

The augmentation runs on the host (not inside the jit-compiled model), so the same code
trains on TensorFlow (CPU) and JAX (GPU) and the served model carries no training layers.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers


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


class AugmentedFaces(keras.utils.PyDataset):
    """Yields (faces, one-hot targets, sample weights) batches, reshuffled every epoch."""

    def __init__(self, images: np.ndarray, targets: np.ndarray, weights: np.ndarray,
                 batch_size: int, seed: int, augment: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.images = images.reshape(-1, *images.shape[1:3], 1).astype(np.float32)
        self.targets, self.weights = targets, weights
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.augmenter = make_augmenter(seed) if augment else None
        self.order = self.rng.permutation(len(self.images))

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        faces = self.images[rows]
        if self.augmenter is not None:
            faces = keras.ops.convert_to_numpy(self.augmenter(faces, training=True))
        return np.clip(faces, 0, 255), self.targets[rows], self.weights[rows]

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.images))
