"""The experiments table: architectures and class weighting, trained on the same budget.

    python -m benchmarks.experiments --data fer2013.zip --epochs 10 --width 16 --out runs/experiments

Each run trains on Training and picks its epoch on PublicTest (through the same train()
the served model used); the table reports PublicTest figures (the selection split) plus
parameters, served file size and CPU milliseconds for one face.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from benchmarks.figures_io import write_figures

RUNS = (
    ("custom_cnn", "sqrt"),
    ("vgg", "sqrt"),
    ("resnet", "sqrt"),
    ("vgg", "none"),
    ("vgg", "inverse"),
)


def run_one(data: str, architecture: str, weighting: str, args) -> dict:
    from benchmarks.timing import single_face_ms
    from emotion_recognition.core.classify import EmotionClassifier
    from emotion_recognition.training.data import load_fer2013
    from emotion_recognition.training.evaluate import evaluate_all
    from emotion_recognition.training.train import TrainConfig, train

    out = Path(args.out) / f"{architecture}_w{args.width}_{weighting}"
    summary = train(TrainConfig(data=data, out=str(out), architecture=architecture,
                                width=args.width, epochs=args.epochs, class_weighting=weighting))
    splits = load_fer2013(data)
    public = evaluate_all({"PublicTest": splits["PublicTest"], "PrivateTest": splits["PrivateTest"]},
                          out, None)["PublicTest"]["ours-7"]
    return {"architecture": architecture, "class_weighting": weighting, "width": args.width,
            "epochs": args.epochs, "parameters": summary["parameters"],
            "public_accuracy": public.accuracy, "public_macro_f1": public.macro_f1,
            "disgust_recall": public.recall["disgust"], "fear_recall": public.recall["fear"],
            "file_mb": (out / "emotion7.keras").stat().st_size / 2**20,
            "ms_per_face": single_face_ms(EmotionClassifier.from_dir(out, "emotion7")),
            "seconds_per_epoch": summary["seconds_per_epoch"]}


NAMES = {"custom_cnn": "custom CNN (seed projects' plain CNN)", "vgg": "VGG-style",
         "resnet": "ResNet-style"}
WEIGHTINGS = {"sqrt": "sqrt", "none": "none", "inverse": "inverse frequency"}
FIGURES_JSON = Path(__file__).resolve().parent / "figures" / "experiments.json"


def write_table(rows: list[dict], args) -> None:
    """The model card's table, as benchmarks/figures/experiments.json (benchmarks.readme_figures
    renders it into model/README.md)."""
    table = [{"network": NAMES[r["architecture"]], "class_weighting": WEIGHTINGS[r["class_weighting"]],
              "parameters_m": round(r["parameters"] / 1e6, 2),
              "public_accuracy": round(r["public_accuracy"], 4),
              "public_macro_f1": round(r["public_macro_f1"], 3),
              "disgust_recall": round(r["disgust_recall"], 2), "file_mb": round(r["file_mb"], 1),
              "ms_per_face": round(r["ms_per_face"], 1),
              "seconds_per_epoch": round(r["seconds_per_epoch"])} for r in rows]
    write_figures(FIGURES_JSON, {
        "source": "measured by python -m benchmarks.experiments",
        "command": f"python -m benchmarks.experiments --data fer2013.zip --epochs {args.epochs} "
                   f"--width {args.width}", "rows": table})


def markdown(rows: list[dict]) -> str:
    lines = ["| network | class weights | params | PublicTest acc | macro-F1 | disgust recall "
             "| file MB | CPU ms/face | s/epoch |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['architecture']} (width {r['width']}, {r['epochs']} ep) | "
                     f"{r['class_weighting']} | {r['parameters'] / 1e6:.2f} M | "
                     f"{r['public_accuracy']:.1%} | {r['public_macro_f1']:.3f} | "
                     f"{r['disgust_recall']:.2f} | {r['file_mb']:.1f} | {r['ms_per_face']:.1f} | "
                     f"{r['seconds_per_epoch']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--out", default="runs/experiments")
    args = parser.parse_args(argv)
    results_file = Path(args.out) / "results.json"
    rows = json.loads(results_file.read_text()) if results_file.exists() else []
    done = {(r["architecture"], r["class_weighting"]) for r in rows}
    for architecture, weighting in RUNS:
        if (architecture, weighting) in done:
            continue
        rows.append(run_one(args.data, architecture, weighting, args))
        write_figures(results_file, rows, quiet=True)
        print(markdown(rows), flush=True)
    write_table(rows, args)
    print(markdown(rows))


if __name__ == "__main__":
    main()
