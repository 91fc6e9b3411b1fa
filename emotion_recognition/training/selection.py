"""Choose the test-time augmentation and the ensemble on PublicTest (never PrivateTest).

    python -m emotion_recognition.training.selection --data fer2013.zip \
        --runs runs/vgg24 runs/vgg24_ferplus --tta none flip flip_zoom ten_crop

For every run alone and for the runs of each class set as one ensemble, and for every TTA
choice, builds the served models exactly as export would and prints their PublicTest
accuracy (macro-F1 in the JSON): 7 classes, and 4 classes (a 4-class run's own head, or a
7-class run's outputs renormalised). Writes the table as JSON
with --json. The final choice is then evaluated once on PrivateTest with evaluate.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from emotion_recognition.core.labels import FOUR, SEVEN


def candidates(run_dirs: list[Path], classes_of: dict,
               ensembles: bool = True) -> list[tuple[str, list[Path]]]:
    """(name, runs) for each run alone and, per class set with more than one run (unless
    ``ensembles`` is off), all of that set's runs together as an ensemble."""
    chosen = [(run.name.removesuffix(".keras"), [run]) for run in run_dirs]
    for classes in dict.fromkeys(classes_of[run] for run in run_dirs):
        members = [run for run in run_dirs if classes_of[run] == classes]
        if ensembles and len(members) > 1:
            chosen.append(("ensemble(" + "+".join(run.name for run in members) + ")", members))
    return chosen


def public_test_scores(networks, tta: str, split) -> dict:
    """PublicTest figures of the served models built from ``networks``: 7 classes (if they
    have 7 outputs) and 4 classes (their own head, or the 7 outputs renormalised)."""
    from emotion_recognition.training.evaluate import score
    from emotion_recognition.training.export import served_model

    faces = split.images[..., None].astype(np.float32)
    mask4, labels4 = FOUR.restrict(split.labels)
    row = {"accuracy7": None, "macro_f1_7": None}
    if networks[0].output_shape[-1] == len(SEVEN):
        seven = served_model(networks, SEVEN, tta).predict(faces, batch_size=512, verbose=0)
        scores7 = score(split.labels, seven.argmax(1), SEVEN.labels)
        row = {"accuracy7": round(scores7.accuracy, 4), "macro_f1_7": round(scores7.macro_f1, 4)}
    four = served_model(networks, FOUR, tta).predict(faces[mask4], batch_size=512, verbose=0)
    scores4 = score(labels4, four.argmax(1), FOUR.labels)
    return {**row, "accuracy4": round(scores4.accuracy, 4),
            "macro_f1_4": round(scores4.macro_f1, 4)}


def _percent(value) -> str:
    return "      -" if value is None else f"{value:7.2%}"


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from emotion_recognition.training.data import load_fer2013
    from emotion_recognition.training.export import TTA_CHOICES, network_from_run

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="fer2013.zip, its folder, or fer2013.csv")
    parser.add_argument("--runs", type=Path, nargs="+", required=True,
                        help="train --out folders (7-class, or 4-class fine-tunes)")
    parser.add_argument("--tta", nargs="+", default=list(TTA_CHOICES), choices=TTA_CHOICES)
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    parser.add_argument("--ensembles", action=argparse.BooleanOptionalAction, default=True,
                        help="also score each class set's runs as one ensemble")
    args = parser.parse_args(argv)
    public_test = load_fer2013(args.data)["PublicTest"]
    loaded = {run: network_from_run(run) for run in args.runs}
    table = []
    print(f"{'candidate':50s} {'tta':10s} {'acc-7':>7s} {'acc-4':>7s}  (PublicTest)")
    classes_of = {run: pair[1] for run, pair in loaded.items()}
    for name, runs in candidates(args.runs, classes_of, args.ensembles):
        for tta in args.tta:
            row = {"candidate": name, "tta": tta,
                   **public_test_scores([loaded[run][0] for run in runs], tta, public_test)}
            table.append(row)
            print(f"{name:50s} {tta:10s} {_percent(row['accuracy7'])} "
                  f"{_percent(row['accuracy4'])}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
