"""Calibrated confidences: when the app says "happy 92 %" it should be right 92 % of the time.

    python -m emotion_recognition.training.calibrate --data fer2013.zip --model-dir model

For each served model, fits one temperature on PublicTest (minimising the negative
log-likelihood), folds it into the served graph (a fixed Rescaling of the logits before the
final softmax: accuracy is unchanged, only the confidences move) and saves the model in
place. Writes ``calibration.json`` beside it: the temperatures and the expected calibration
error (15 bins) on PublicTest before and after. PrivateTest is never read here; the
evaluation command reports it there.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

ECE_BINS = 15
CALIBRATION_LAYER = "calibration"


def confidence_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS):
    """Each prediction's confidence, whether it was right, and its bin among ``bins``
    equal-width confidence bins (the one binning ECE and the reliability diagram share)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    return confidence, correct, which


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray,
                               bins: int = ECE_BINS) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence
    bins weighted by how many predictions fall in each."""
    confidence, correct, which = confidence_bins(probabilities, labels, bins)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Per confidence bin: its centre, mean confidence, accuracy and count (for the diagram)."""
    confidence, correct, which = confidence_bins(probabilities, labels, bins)
    rows = {"centre": [], "confidence": [], "accuracy": [], "count": []}
    for b in range(bins):
        members = which == b
        rows["centre"].append(round((b + 0.5) / bins, 4))
        rows["count"].append(int(members.sum()))
        seen = members.any()
        rows["confidence"].append(round(float(confidence[members].mean()), 4) if seen else None)
        rows["accuracy"].append(round(float(correct[members].mean()), 4) if seen else None)
    return rows


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled).sum(axis=1))
    return float(np.mean(log_norm - scaled[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature (0.05..20) that minimises the negative log-likelihood: a golden-
    section search on log T (the NLL is unimodal in T)."""
    low, high = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(80):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if _nll(logits, labels, np.exp(a)) < _nll(logits, labels, np.exp(b)):
            high = b
        else:
            low = a
    return float(np.exp((low + high) / 2))


def served_logits(model, faces: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Logits of a served model up to a constant per face: its log-probabilities."""
    probabilities = model.predict(faces, batch_size=batch_size, verbose=0)
    return np.log(np.clip(probabilities, 1e-12, 1.0))


def with_temperature(model, temperature: float):
    """The served model with its logits divided by ``temperature`` before the softmax
    (composed with any temperature it already has)."""
    import keras
    from keras import layers

    if CALIBRATION_LAYER in [layer.name for layer in model.layers]:
        old = model.get_layer(CALIBRATION_LAYER)
        temperature *= 1.0 / float(old.scale)
        logits = old.input
    else:
        logits = model.get_layer("probabilities").input
    scaled = layers.Rescaling(1.0 / temperature, name=CALIBRATION_LAYER)(logits)
    outputs = layers.Activation("softmax", name="probabilities", dtype="float32")(scaled)
    return keras.Model(model.inputs, outputs, name=model.name)


def calibrate_model_dir(model_dir: Path, public_test) -> dict:
    """Fit, fold in and save a temperature for every served model in model_dir."""
    import keras

    from emotion_recognition.core.labels import EMOTION_SETS
    from emotion_recognition.training.export import save_served

    report = {}
    for emotions in EMOTION_SETS.values():
        path = model_dir / emotions.model_file
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
        mask, labels = emotions.restrict(public_test.labels)
        logits = served_logits(model, public_test.images[mask][..., None].astype(np.float32))
        temperature = fit_temperature(logits, labels)
        calibrated = with_temperature(model, temperature)
        save_served(calibrated, path)
        report[emotions.name] = {
            "temperature": round(temperature, 4), "public_test_images": int(mask.sum()),
            "public_test_ece_before": round(expected_calibration_error(softmax(logits), labels), 4),
            "public_test_ece_after": round(expected_calibration_error(
                softmax(logits / temperature), labels), 4)}
    return report


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="fer2013.zip, a training pack or fer2013.csv")
    parser.add_argument("--model-dir", type=Path, default=Path("model"))
    args = parser.parse_args(argv)
    from emotion_recognition.training.data import load_fer2013

    report = calibrate_model_dir(args.model_dir, load_fer2013(args.data)["PublicTest"])
    (args.model_dir / "calibration.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
