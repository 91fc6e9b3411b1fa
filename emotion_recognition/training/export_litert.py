"""The served LiteRT files: each served Keras model's network, without the test-time views
around it, converted to int8 (weights and activations) with FER2013 Training faces as the
calibration data.

    python -m emotion_recognition.training.export_litert --data fer2013.zip --model-dir model

Reads emotion7.keras and emotion4.keras in ``--model-dir`` (the reference models, as
calibrated), writes the int8 network file(s) there and ``litert.json``: for each emotion
set, its network file, which of the network's outputs it keeps, its test-time views and
its temperature. Emotion sets whose Keras models hold the same network share one file
(emotion4 is emotion7's network with 4 of its logits). Serving (core/classify.py) builds
the views in numpy, runs them as one batch, averages the log-probabilities over the views
and applies the temperature: the same probabilities as the Keras graph, up to quantisation.
(A graph with the views inside does not convert: the nested network's Dropout exports
random ops.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from emotion_recognition.core.classify import LITERT_SPEC, model_revision
from emotion_recognition.core.crops import FACE_SIZE
from emotion_recognition.core.labels import EMOTION_SETS, EmotionSet
from emotion_recognition.core.views import CROP, face_views

CALIBRATION_FACES = 1000  # Training faces whose views calibrate the int8 ranges
SHARED_NETWORK_FILE = "network_int8.tflite"


def views_of(served) -> tuple[str, int]:
    """(test-time views, crop in pixels) the served Keras graph builds (training.export)."""
    names = {layer.name for layer in served.layers}
    if "top_left_crop" in names:
        crop = FACE_SIZE - served.get_layer("top_left_crop").output.shape[1]
        return "ten_crop", crop
    if "zoom_crop" in names:
        return "flip_zoom", FACE_SIZE - served.get_layer("zoom_crop").get_config()["height"]
    return ("flip" if "mirror0" in names else "none"), CROP


def served_parts(served, emotions: EmotionSet) -> tuple[object, dict]:
    """The network inside a served Keras model (its logits) and how the served graph turns
    its logits into probabilities: which outputs, which views, which temperature."""
    import keras

    from emotion_recognition.training.calibrate import CALIBRATION_LAYER

    inner = [layer for layer in served.layers if isinstance(layer, keras.Model)]
    if len(inner) != 1:
        raise ValueError(f"{served.name}: expected one network inside, found {len(inner)} "
                         "(an ensemble is not exported to LiteRT)")
    network = inner[0]
    names = {layer.name for layer in served.layers}
    select = f"select_{len(emotions)}"
    if select in names:  # a subset of the network's logits (training.export.served_model)
        outputs = np.argmax(served.get_layer(select).get_weights()[0], axis=0).tolist()
    else:
        outputs = list(range(network.output_shape[-1]))
    temperature = (1.0 / float(served.get_layer(CALIBRATION_LAYER).scale)
                   if CALIBRATION_LAYER in names else 1.0)
    views, crop = views_of(served)
    return network, {"outputs": outputs, "views": views, "crop": int(crop),
                     "temperature": round(temperature, 6)}


def weights_digest(network) -> str:
    """The same weights, the same digest (to find networks that emotion sets share)."""
    digest = hashlib.sha256()
    for weights in network.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()


def calibration_faces(data: str | Path, count: int = CALIBRATION_FACES, seed: int = 0,
                      views: str = "flip_zoom", crop: int = CROP) -> np.ndarray:
    """``count`` random FER2013 Training faces, each as one of its served views
    (float32, (count, 48, 48, 1)): the inputs the int8 ranges are measured on."""
    from emotion_recognition.training.data import load_fer2013

    training = load_fer2013(data)["Training"].images
    rng = np.random.default_rng(seed)
    faces = training[rng.choice(len(training), size=min(count, len(training)), replace=False)]
    every_view = face_views(faces, views, crop).reshape(-1, len(faces), FACE_SIZE, FACE_SIZE, 1)
    chosen = rng.integers(0, len(every_view), len(faces))
    return every_view[chosen, np.arange(len(faces))]


def int8_litert(network, representative: np.ndarray) -> bytes:
    """The network (raw 0..255 faces in, logits out) as an int8 LiteRT flatbuffer: weights
    and activations int8, float32 input and output, any batch size."""
    import tempfile

    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:  # a SavedModel: its variables frozen
        network.export(folder, format="tf_saved_model", verbose=False,
                       input_signature=[tf.TensorSpec((None, FACE_SIZE, FACE_SIZE, 1),
                                                      tf.float32, name="face")])
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.representative_dataset = lambda: ([face[None]] for face in representative)
        return converter.convert()


def export_litert(model_dir: Path, data: str | Path, count: int = CALIBRATION_FACES,
                  seed: int = 0) -> dict:
    """Write the int8 network file(s) and litert.json into model_dir; returns litert.json."""
    import keras

    entries, networks = {}, {}  # networks: weights digest -> (file name, network)
    for emotions in EMOTION_SETS.values():
        path = model_dir / emotions.model_file
        served = keras.saving.load_model(path, safe_mode=True, compile=False)
        network, entry = served_parts(served, emotions)
        digest = weights_digest(network)
        if digest not in networks:
            networks[digest] = (f"{emotions.name}_{SHARED_NETWORK_FILE}", network, entry)
        entries[emotions.name] = {"network": networks[digest][0], **entry,
                                  "exported_from": path.name,
                                  "exported_from_revision": model_revision(path.read_bytes())}
    if len(networks) == 1:  # one network for every set: one file, named for none of them
        for entry in entries.values():
            entry["network"] = SHARED_NETWORK_FILE
        networks = {d: (SHARED_NETWORK_FILE, n, e) for d, (_, n, e) in networks.items()}
    for name, network, entry in networks.values():
        faces = calibration_faces(data, count, seed, entry["views"], entry["crop"])
        (model_dir / name).write_bytes(int8_litert(network, faces))
    spec = {"format": "LiteRT flatbuffer, int8 weights and activations, float32 input "
                      "(raw 0..255 grey faces, any batch) and output (logits)",
            "calibration": {"data": "FER2013 Training", "faces": count, "seed": seed},
            "emotion_sets": entries}
    (model_dir / LITERT_SPEC).write_text(json.dumps(spec, indent=2) + "\n")
    return spec


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True,
                        help="FER2013 (fer2013.zip, its folder, fer2013.csv or a training pack): "
                             "Training faces calibrate the int8 ranges")
    parser.add_argument("--model-dir", type=Path, default=Path("model"))
    parser.add_argument("--faces", type=int, default=CALIBRATION_FACES,
                        help="how many Training faces calibrate (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    spec = export_litert(args.model_dir, args.data, args.faces, args.seed)
    for name in sorted({entry["network"] for entry in spec["emotion_sets"].values()}):
        size = (args.model_dir / name).stat().st_size / 2**20
        print(f"wrote {args.model_dir / name} ({size:.2f} MB)")
    print(f"wrote {args.model_dir / LITERT_SPEC}")


if __name__ == "__main__":
    main()
