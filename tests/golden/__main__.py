"""python -m tests.golden --write: regenerate the golden answers from the served model
(model/, through the Python API), then read the diff. Without --write: print them."""

from __future__ import annotations

import argparse
import json
import os


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help="overwrite tests/golden/examples.json (else print the answers)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from emotion_recognition.core.pipeline import EmotionRecognizer

    from . import GOLDEN, ROOT, answers, write

    recognizer = EmotionRecognizer(ROOT / "model")
    if args.write:
        print(f"wrote {write(recognizer)}; read `git diff {GOLDEN.relative_to(ROOT)}`")
    else:
        print(json.dumps(answers(recognizer), indent=1))


if __name__ == "__main__":
    main()
