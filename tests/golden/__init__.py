"""Golden answers: what the Python API answers for each example photo (examples/), pinned in
examples.json beside this module: every face's box (x, y, w, h and the angle its crop is
turned by) and the probabilities of both emotion sets. tests/test_golden.py checks them
within BOX_PIXELS, ANGLE_DEGREES and PROBABILITY.

They change only when the served model or the way faces are found and cropped changes, and
then on purpose: regenerate them with

    python -m tests.golden --write

and read the diff (a face that moves, appears or changes label is a finding, not noise).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).resolve().parent / "examples.json"
EMOTION_SETS = ("emotion7", "emotion4")

# How far an answer may move and still be the golden one (the one place to widen them, e.g.
# for a quantized model that rounds probabilities a little differently)
BOX_PIXELS = 2
ANGLE_DEGREES = 1.0
PROBABILITY = 0.02


def photos() -> list[Path]:
    """The example photos, by name."""
    return sorted(path for path in EXAMPLES.iterdir()
                  if path.suffix.lower() in {".jpg", ".jpeg", ".png"})


def answer(recognizer, photo: Path) -> dict:
    """One photo's answer as the golden file keeps it: per emotion set, per face (numbered
    in the API's order), its box, angle, label and probabilities (4 decimals)."""
    result = {}
    for emotion_set in EMOTION_SETS:
        analysis = recognizer.analyze(photo, emotion_set)
        result[emotion_set] = [
            {"box": as_dict["box"], "angle": round(float(face.box.angle), 1),
             "label": as_dict["label"], "probabilities": as_dict["probabilities"]}
            for face, as_dict in zip(analysis.original_faces(), analysis.face_dicts())]
    return result


def answers(recognizer) -> dict:
    """Every example photo's answer, by file name."""
    return {photo.name: answer(recognizer, photo) for photo in photos()}


def load() -> dict:
    return json.loads(GOLDEN.read_text())


def write(recognizer, path: Path = GOLDEN) -> Path:
    """The answers as JSON a reviewer reads in a diff: one line per box."""
    text = json.dumps(answers(recognizer), indent=1)
    path.write_text(re.sub(r"\[\s+([-\d.,\s]*?)\s+\]",
                           lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n")
    return path
