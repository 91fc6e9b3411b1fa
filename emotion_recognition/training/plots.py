"""The figures of the model card and the notebook: class frequencies and training curves."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from emotion_recognition.core.labels import EMOTIONS7


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_class_frequencies(counts: dict[str, np.ndarray], path: str | Path) -> Path:
    """Bar chart of images per class for each split (e.g. {"Training": counts, ...})."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(1, len(counts))
    for i, (split, values) in enumerate(counts.items()):
        positions = np.arange(len(EMOTIONS7)) + i * width
        bars = axes.bar(positions, values, width, label=split)
        axes.bar_label(bars, fontsize=7)
    axes.set_xticks(np.arange(len(EMOTIONS7)) + width * (len(counts) - 1) / 2, EMOTIONS7)
    axes.set_ylabel("images")
    axes.set_title("FER2013 images per class")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return Path(path)


def read_history(history_csv: str | Path) -> dict[str, list[float]]:
    with open(history_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})}


def plot_training_curves(history_csv: str | Path, path: str | Path) -> Path:
    """Loss and accuracy per epoch, Training (augmented) and PublicTest."""
    plt = _pyplot()
    history = read_history(history_csv)
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("loss", "Training"), ("val_loss", "PublicTest")):
        if key in history:
            loss_axes.plot(epochs, history[key], label=label)
    for key, label in (("accuracy", "Training"), ("val_accuracy", "PublicTest")):
        if key in history:
            accuracy_axes.plot(epochs, history[key], label=label)
    if "val_accuracy" in history:
        best = int(np.argmax(history["val_accuracy"]))
        accuracy_axes.axvline(best + 1, color="grey", linestyle=":",
                              label=f"chosen epoch {best + 1}")
    for axes, title in ((loss_axes, "loss"), (accuracy_axes, "accuracy")):
        axes.set_xlabel("epoch")
        axes.set_title(title)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return Path(path)
