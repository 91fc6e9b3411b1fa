"""Recipe ingredients tried on a short run before a long one: each against the same control.

    python -m benchmarks.ingredients --data fer2013.zip --epochs 10 --width 16 --out runs/ingredients

Every run is the recipe's own ``train`` (VGG, SGD with Nesterov momentum, warm-up and cosine
decay, label smoothing 0.1, the augmentations with random erasing, flip_zoom views) with one
setting changed; each picks its epoch on PublicTest and is scored on PublicTest only (the
selection split). PrivateTest is never read. Writes benchmarks/figures/ingredients.json,
rendered into the model card by benchmarks.readme_figures.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from benchmarks.figures_io import FIGURES, machine_load, write_figures

# name -> (what changes, the TrainConfig settings that change it)
INGREDIENTS = {
    "control": ("the recipe as it is", {}),
    "mixup": ("MixUp, alpha 0.2 (faces, targets and loss weights blended)", {"mixup": 0.2}),
}
FIGURES_JSON = FIGURES / "ingredients.json"
TTA = "flip_zoom"  # the served views


def run_one(data: str, name: str, args) -> dict:
    """Train one variant (or reuse its finished run) and score it on PublicTest, built with
    its views exactly as it would be served."""
    from emotion_recognition.training.checkpoint import read_state
    from emotion_recognition.training.data import load_fer2013
    from emotion_recognition.training.export import network_from_run
    from emotion_recognition.training.selection import public_test_scores
    from emotion_recognition.training.train import TrainConfig, train

    out = Path(args.out) / f"{name}_w{args.width}_e{args.epochs}"
    if not read_state(out).finished:
        train(TrainConfig(data=data, out=str(out), width=args.width, epochs=args.epochs,
                          tta=TTA, seed=args.seed, **INGREDIENTS[name][1]))
    state = read_state(out)
    scores = public_test_scores([network_from_run(out)[0]], TTA, load_fer2013(data)["PublicTest"])
    return {"ingredient": name, "what": INGREDIENTS[name][0],
            "public_accuracy7": scores["accuracy7"], "public_macro_f1_7": scores["macro_f1_7"],
            "public_accuracy4": scores["accuracy4"], "best_epoch": state.best_epoch,
            "seconds_per_epoch": round(state.train_seconds / max(1, state.epochs_done))}


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="Kaggle's fer2013.zip (or a pack)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", nargs="*", choices=sorted(INGREDIENTS), default=None,
                        help="run these ingredients only (the control always runs)")
    parser.add_argument("--out", default="runs/ingredients")
    parser.add_argument("--json", type=Path, default=FIGURES_JSON)
    args = parser.parse_args(argv)
    names = ["control", *[n for n in (args.only or INGREDIENTS) if n != "control"]]
    rows = []
    for name in names:
        rows.append(run_one(args.data, name, args))
        print(json.dumps(rows[-1]), flush=True)
    write_figures(args.json, {
        "source": "measured by python -m benchmarks.ingredients",
        "command": f"python -m benchmarks.ingredients --data fer2013.zip --epochs {args.epochs} "
                   f"--width {args.width} --seed {args.seed}",
        "width": args.width, "epochs": args.epochs, "seed": args.seed,
        "machine": machine_load(), "rows": rows})


if __name__ == "__main__":
    main()
