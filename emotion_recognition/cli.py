"""Command line: label the faces in image files or folders; write JSON or CSV.

    python -m emotion_recognition.cli photos/ group.jpg --json faces.json --annotated out/
    python -m emotion_recognition.cli photo.jpg --emotions 4 --csv faces.csv
    python -m emotion_recognition.cli photos/ --detector blazeface --json -
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from emotion_recognition.detectors import DEFAULT_DETECTOR, DETECTORS
from emotion_recognition.errors import EmotionAppError
from emotion_recognition.labels import EMOTION_SET_SIZES, EMOTION_SETS, emotion_set_of_size

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def collect_images(paths: list[str]) -> list[Path]:
    """Files as given, plus the image files inside given folders (sorted, recursive)."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            found.append(path)
    return found


def analyse_files(files: list[Path], recognizer, emotion_set: str, annotated_dir: Path | None,
                  detector: str = DEFAULT_DETECTOR):
    """One record per file: its faces, or the error that stopped it (the batch goes on)."""
    from PIL import Image

    from emotion_recognition.annotate import draw

    records = []
    for file in files:
        try:
            result = recognizer.analyze(file, emotion_set, detector=detector)
        except EmotionAppError as error:
            records.append({"file": str(file), "error": str(error), "faces": []})
            continue
        records.append({"file": str(file), "faces": [f.to_dict() for f in result.faces],
                        "message": result.message})
        if annotated_dir is not None:
            annotated_dir.mkdir(parents=True, exist_ok=True)
            Image.fromarray(draw(result.image, result.faces)).save(
                annotated_dir / f"{file.stem}_annotated.jpg", quality=92)
    return records


def write_faces_csv(records: list[dict], labels: tuple[str, ...], handle) -> None:
    """One row per face (or one row per file without faces, with its message or error)."""
    writer = csv.writer(handle)
    writer.writerow(["file", "face", "x", "y", "w", "h", "label", "confidence", *labels, "note"])
    for record in records:
        note = record.get("error") or record.get("message", "")
        if not record["faces"]:
            writer.writerow([record["file"], "", "", "", "", "", "", "", *[""] * len(labels), note])
        for index, face in enumerate(record["faces"]):
            writer.writerow([record["file"], index, *face["box"], face["label"], face["confidence"],
                             *[face["scores"][name] for name in labels], ""])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emotion_recognition.cli",
                                     description="Label the emotion of every face in images.")
    parser.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    parser.add_argument("--emotions", choices=EMOTION_SET_SIZES, default=EMOTION_SET_SIZES[0],
                        help=" or ".join(s.title for s in EMOTION_SETS.values()))
    parser.add_argument("--json", type=Path, help="write the results as JSON here ('-': stdout)")
    parser.add_argument("--csv", type=Path, help="write one row per face as CSV here")
    parser.add_argument("--annotated", type=Path, help="save annotated copies in this folder")
    parser.add_argument("--model-dir", type=Path, help="a folder with emotion7/4.keras and labels.json")
    parser.add_argument("--detector", choices=list(DETECTORS), default=DEFAULT_DETECTOR,
                        help="; ".join(f"{k}: {v}" for k, v in DETECTORS.items()))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from emotion_recognition.pipeline import EmotionRecognizer

    files = collect_images(args.inputs)
    if not files:
        print("no image files found in the given paths", file=sys.stderr)
        return 2
    emotion_set = emotion_set_of_size(args.emotions).name
    recognizer = EmotionRecognizer(model_dir=args.model_dir)
    records = analyse_files(files, recognizer, emotion_set, args.annotated, args.detector)
    labels = recognizer.classifier(emotion_set).labels
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            write_faces_csv(records, labels, handle)
    if args.json and str(args.json) != "-":
        args.json.write_text(json.dumps(records, indent=2))
    if not args.csv and (not args.json or str(args.json) == "-"):
        print(json.dumps(records, indent=2))
    failed = sum(1 for r in records if "error" in r)
    print(f"{len(files)} file(s), {sum(len(r['faces']) for r in records)} face(s), "
          f"{failed} unreadable", file=sys.stderr)
    return 1 if failed == len(records) else 0


if __name__ == "__main__":
    sys.exit(main())
