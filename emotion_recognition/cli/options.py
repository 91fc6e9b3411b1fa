"""The options every command line shares: the emotion set, the face detector, the models;
and the limits of trusted local input (core/limits.py, Limits.local) they may raise."""

from __future__ import annotations

import argparse
from pathlib import Path

from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR, DETECTORS
from emotion_recognition.core.labels import EMOTION_SETS, EMOTION_SET_SIZES, emotion_set_of_size
from emotion_recognition.core.limits import LOCAL_LIMITS, LOCAL_SETTINGS, Limits


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """--emotions 7|4, --detector NAME, --model-dir FOLDER."""
    parser.add_argument("--emotions", choices=EMOTION_SET_SIZES, default=EMOTION_SET_SIZES[0],
                        help=" or ".join(s.title for s in EMOTION_SETS.values()))
    parser.add_argument("--detector", choices=list(DETECTORS), default=DEFAULT_DETECTOR,
                        help="; ".join(f"{k}: {v}" for k, v in DETECTORS.items()))
    parser.add_argument("--model-dir", type=Path,
                        help="a folder with emotion7/4.keras and labels.json (default: the "
                             "bundled models, or EMOTION_MODEL_REPO's pinned revision)")


def add_limit_options(parser: argparse.ArgumentParser, photos: bool = True,
                      videos: bool = True) -> None:
    """--max-photo-mb, --max-photo-megapixels, --max-video-mb, --max-video-minutes: the
    local limits (their EMOTION_LOCAL_* variable, else LOCAL_LIMITS), for photos and/or
    videos."""
    group = parser.add_argument_group("limits (of this machine's files; the web app keeps "
                                      "its own)")
    for option, (name, unit, variable) in LOCAL_SETTINGS.items():
        if option.startswith("max_photo") and photos or option.startswith("max_video") and videos:
            group.add_argument("--" + option.replace("_", "-"), type=float, metavar="N",
                               help=f"default: {variable}, else {LOCAL_LIMITS[name] / unit:g}")


def limits_from(args: argparse.Namespace) -> Limits:
    """The local limits, with the options given (ValueError for one that is not positive)."""
    return Limits.local(**{option: getattr(args, option, None) for option in LOCAL_SETTINGS})


def emotion_set_name(args: argparse.Namespace) -> str:
    """The emotion set --emotions names."""
    return emotion_set_of_size(args.emotions).name


def recognizer_from(args: argparse.Namespace):
    """An EmotionRecognizer on --model-dir, else on the models the app serves."""
    from emotion_recognition.core.pipeline import EmotionRecognizer
    from emotion_recognition.models.hub import served_model_dir

    return EmotionRecognizer(args.model_dir or served_model_dir)
