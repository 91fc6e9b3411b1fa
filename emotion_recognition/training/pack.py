"""Write a training pack: FER2013 Training + PublicTest in one compact file for a GPU job
(training.fer2013 says what it holds; ``load_fer2013`` reads it like the zip).

    python -m emotion_recognition.training.pack --data fer2013.zip --out data/fer2013_pack.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from emotion_recognition.training.fer2013 import PACKED_SPLITS, write_pack


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the Kaggle-layout fer2013.zip")
    parser.add_argument("--out", type=Path, required=True, help="the .npz pack to write")
    args = parser.parse_args(argv)
    path = write_pack(args.data, args.out)
    with np.load(path) as stored:
        counts = {s: int((stored["splits"] == i).sum()) for i, s in enumerate(PACKED_SPLITS)}
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB): {counts}")


if __name__ == "__main__":
    main()
