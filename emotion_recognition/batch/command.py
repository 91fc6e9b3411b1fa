"""emotion-batch: label every face in a collection of images and videos on Ray Data.

    emotion-batch photos/ more/*.jpg list.txt --out results.parquet
    emotion-batch s3://bucket/study/ --out s3://bucket/results --address auto
    python -m emotion_recognition.batch.command photos/ --csv results.csv   # the same
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emotion_recognition.batch.run import BatchSettings, run_batch
from emotion_recognition.cli.options import (add_common_options, add_limit_options,
                                             emotion_set_name, limits_from)
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.video.analysis import check_sample_fps


def build_parser() -> argparse.ArgumentParser:
    defaults = BatchSettings()
    parser = argparse.ArgumentParser(
        prog="emotion-batch",
        description="Label every face in a collection of images and videos on Ray Data "
                    "(a local Ray unless --address or RAY_ADDRESS names a cluster).")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="folders, globs, image/video files or URIs, or .txt list files "
                             "of paths/URIs (one per line, relative to the list)")
    parser.add_argument("--out", help="Parquet folder for the results (local or s3://...)")
    parser.add_argument("--csv", help="CSV file for the results (local)")
    parser.add_argument("--resume", action="store_true", help="skip inputs already in the output")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--fps", type=float, default=defaults.fps,
                        help="video frames analysed per second")
    add_common_options(parser)
    parser.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else "
                                          "a local Ray started and stopped by this command)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    parser.add_argument("--object-store-mb", type=int, default=512,
                        help="object store of the local Ray, in MB")
    parser.add_argument("--classifier-actors", type=int,
                        help="most classifier actors, each loading the model once "
                             "(default: a fifth of the cluster's CPUs, at least 1)")
    parser.add_argument("--classifier-cpus", type=float,
                        help="CPUs each classifier actor reserves (default: 1, or 0 on a "
                             "machine with fewer than 8 CPUs)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="images whose faces are classified in one call")
    parser.add_argument("--images-per-task", type=int, default=defaults.images_per_task,
                        help="images read and detected per Ray task")
    parser.add_argument("--progress-every", type=int, default=1000,
                        help="print a progress line every N inputs (0: none)")
    parser.add_argument("--summary-json", type=Path, help="also write the summary here as JSON")
    add_limit_options(parser)
    return parser


def settings_from(args) -> BatchSettings:
    try:
        check_sample_fps(args.fps)
        limits = limits_from(args)
    except EmotionAppError as error:
        raise EmotionAppError(f"--fps: {error}") from None
    except ValueError as error:
        raise EmotionAppError(str(error)) from None
    if min(args.classifier_actors or 1, args.batch_size, args.images_per_task) < 1 or \
            (args.classifier_cpus or 0) < 0:
        raise EmotionAppError("--classifier-actors, --batch-size and --images-per-task must be "
                              "at least 1, --classifier-cpus at least 0")
    return BatchSettings(emotion_set=emotion_set_name(args), fps=args.fps,
                         images_per_task=args.images_per_task, batch_size=args.batch_size,
                         classifier_actors=args.classifier_actors,
                         classifier_cpus=args.classifier_cpus,
                         model_dir=str(args.model_dir) if args.model_dir else None,
                         detector=args.detector, limits=limits)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = run_batch(args.inputs, args.out, args.csv, settings_from(args), args.resume,
                            args.overwrite, args.address, args.num_cpus, args.object_store_mb,
                            args.progress_every)
    except ModuleNotFoundError as error:
        if error.name not in ("ray", "pyarrow"):
            raise
        print('batch analysis needs Ray: pip install ".[batch]" (or -r requirements-batch.txt)',
              file=sys.stderr)
        return 2
    except EmotionAppError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary.line(), file=sys.stderr)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary.to_dict(), indent=2))
    for example in summary.error_examples:
        print(f"  error: {example}", file=sys.stderr)
    processed = summary.images + summary.videos
    return 1 if processed and summary.errors == processed else 0


if __name__ == "__main__":
    sys.exit(main())
