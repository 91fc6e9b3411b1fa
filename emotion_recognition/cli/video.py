"""Command line for videos: a video in -> its face rows (core/rows.py) as CSV, an annotated
video, a summary.

    python -m emotion_recognition.cli.video clip.mp4 --fps 5 --out results/
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emotion_recognition.cli.options import (add_common_options, add_limit_options,
                                             emotion_set_name, limits_from, recognizer_from)
from emotion_recognition.cli.outputs import output_path, output_stems
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.rows import write_rows_csv


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emotion-video",
                                     description="Emotions of every face over a video's time.")
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--fps", type=float, default=5.0, help="frames analysed per second")
    parser.add_argument("--out", type=Path, default=Path("."),
                        help="folder for the outputs (x_emotions.csv, x_annotated.webm; the "
                             "videos' folders mirrored below it)")
    parser.add_argument("--no-video", action="store_true", help="write the CSV only")
    add_common_options(parser)
    add_limit_options(parser, photos=False)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from emotion_recognition.video.analysis import analyze_video

    try:
        limits = limits_from(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    recognizer = recognizer_from(args)
    args.out.mkdir(parents=True, exist_ok=True)
    failures, stems = 0, output_stems(args.videos)  # the inputs' tree mirrored (cli/outputs.py)
    for video in args.videos:
        annotated = None if args.no_video else output_path(args.out, stems[video],
                                                           "_annotated.webm")
        try:
            result = analyze_video(video, recognizer, emotion_set_name(args), args.fps,
                                   annotated, detector=args.detector, limits=limits)
        except EmotionAppError as error:
            print(f"{video}: {error}", file=sys.stderr)
            failures += 1
            continue
        csv_path = write_rows_csv(result.rows(str(video)), result.labels,
                                  output_path(args.out, stems[video], "_emotions.csv"))
        summary = {"video": str(video), **result.summary(), "csv": str(csv_path),
                   "annotated_video": str(annotated) if annotated else None}
        print(json.dumps(summary, indent=2))
    return 1 if failures == len(args.videos) else 0


if __name__ == "__main__":
    sys.exit(main())
