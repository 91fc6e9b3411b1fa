"""Command line for videos: a video in -> a per-frame CSV, an annotated video, a summary.

    python -m emotion_recognition.video_cli clip.mp4 --fps 5 --out results/
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emotion_recognition.detectors import DEFAULT_DETECTOR, DETECTORS
from emotion_recognition.errors import EmotionAppError
from emotion_recognition.labels import EMOTION_SET_SIZES, EMOTION_SETS, emotion_set_of_size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emotion_recognition.video_cli",
                                     description="Emotions of every face over a video's time.")
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--fps", type=float, default=5.0, help="frames analysed per second")
    parser.add_argument("--emotions", choices=EMOTION_SET_SIZES, default=EMOTION_SET_SIZES[0],
                        help=" or ".join(s.title for s in EMOTION_SETS.values()))
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the outputs")
    parser.add_argument("--no-video", action="store_true", help="write the CSV only")
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--detector", choices=list(DETECTORS), default=DEFAULT_DETECTOR,
                        help="; ".join(f"{k}: {v}" for k, v in DETECTORS.items()))
    args = parser.parse_args(argv)

    from emotion_recognition.pipeline import EmotionRecognizer
    from emotion_recognition.video import analyze_video, write_records_csv

    recognizer = EmotionRecognizer(model_dir=args.model_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    failures = 0
    for video in args.videos:
        annotated = None if args.no_video else args.out / f"{video.stem}_annotated.webm"
        try:
            result = analyze_video(video, recognizer, emotion_set_of_size(args.emotions).name,
                                   args.fps, annotated, detector=args.detector)
        except EmotionAppError as error:
            print(f"{video}: {error}", file=sys.stderr)
            failures += 1
            continue
        csv_path = write_records_csv(result.records, result.labels,
                                     args.out / f"{video.stem}_emotions.csv")
        summary = {"video": str(video), **result.summary(), "csv": str(csv_path),
                   "annotated_video": str(annotated) if annotated else None}
        print(json.dumps(summary, indent=2))
    return 1 if failures == len(args.videos) else 0


if __name__ == "__main__":
    sys.exit(main())
