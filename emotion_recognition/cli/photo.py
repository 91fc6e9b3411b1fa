"""Command line for photos: label the faces in image files or folders; write the face rows
(core/rows.py) as CSV and/or JSON, and annotated copies.

    python -m emotion_recognition.cli.photo photos/ group.jpg --json faces.json --annotated out/
    python -m emotion_recognition.cli.photo photo.jpg --emotions 4 --csv faces.csv
    python -m emotion_recognition.cli.photo photos/ --detector blazeface --json -
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emotion_recognition.cli.options import (add_common_options, add_limit_options,
                                             emotion_set_name, limits_from, recognizer_from)
from emotion_recognition.cli.outputs import output_path, output_stems
from emotion_recognition.core.annotate import draw, jpeg_bytes
from emotion_recognition.core.decode import IMAGE_SUFFIXES
from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.limits import Limits
from emotion_recognition.core.rows import in_columns, input_row, photo_rows, write_rows_csv


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


def analyze_files(files: list[Path], recognizer, emotion_set: str, annotated_dir: Path | None,
                  detector: str = DEFAULT_DETECTOR, limits: Limits | None = None,
                  given: list[str] | None = None) -> list[dict]:
    """The face rows of every file (a file that cannot be read: its error row; the others
    go on), within ``limits`` (default Limits.local()). Boxes are in each photo's own
    pixels, as the app gives them. Annotated copies mirror the tree of the paths ``given``
    (cli/outputs.py)."""
    revision = recognizer.classifier(emotion_set).revision
    rows, stems = [], output_stems(files, given)
    for file in files:
        try:
            result = recognizer.analyze(file, emotion_set, detector=detector, limits=limits)
        except EmotionAppError as error:
            rows.append(input_row(str(file), "image", "error", emotion_set, revision, str(error)))
            continue
        rows += photo_rows(str(file), result.original_faces(), emotion_set, revision)
        if annotated_dir is not None:
            output_path(annotated_dir, stems[file], "_annotated.jpg").write_bytes(
                jpeg_bytes(draw(result.image, result.faces), quality=92))
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emotion-photo",
                                     description="Label the emotion of every face in images.")
    parser.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    parser.add_argument("--json", type=Path, help="write the rows as JSON here ('-': stdout)")
    parser.add_argument("--csv", type=Path, help="write the rows as CSV here")
    parser.add_argument("--annotated", type=Path, help="save annotated copies in this folder "
                        "(x_annotated.jpg, in the inputs' folders mirrored below it)")
    add_common_options(parser)
    add_limit_options(parser, videos=False)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    files = collect_images(args.inputs)
    if not files:
        print("no image files found in the given paths", file=sys.stderr)
        return 2
    try:
        limits = limits_from(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    emotion_set, recognizer = emotion_set_name(args), recognizer_from(args)
    labels = recognizer.classifier(emotion_set).labels
    rows = in_columns(analyze_files(files, recognizer, emotion_set, args.annotated,
                                    args.detector, limits, args.inputs), labels)
    if args.csv:
        write_rows_csv(rows, labels, args.csv)
    if args.json and str(args.json) != "-":
        args.json.write_text(json.dumps(rows, indent=2))
    if not args.csv and (not args.json or str(args.json) == "-"):
        print(json.dumps(rows, indent=2))
    failed = sum(row["status"] == "error" for row in rows)
    print(f"{len(files)} file(s), {sum(row['status'] == 'face' for row in rows)} face(s), "
          f"{failed} unreadable", file=sys.stderr)
    return 1 if failed == len(files) else 0


if __name__ == "__main__":
    sys.exit(main())
