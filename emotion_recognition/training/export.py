"""Turn a trained network into the served models: flip averaging in the graph, no optimizer.

The served graphs use only stock Keras layers (a horizontal flip is a fixed Dense layer
over the width axis), so ``keras.saving.load_model(path, safe_mode=True)`` needs no custom
objects on any backend.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers

from emotion_recognition.labels import EMOTIONS4, EMOTIONS7
from emotion_recognition.preprocessing import FACE_SIZE


def _flip_horizontally(inputs):
    flip = layers.Dense(FACE_SIZE, use_bias=False, trainable=False, name="mirror")
    x = layers.Reshape((FACE_SIZE, FACE_SIZE), name="drop_channel")(inputs)
    x = flip(x)
    flip.set_weights([np.eye(FACE_SIZE, dtype=np.float32)[::-1]])
    return layers.Reshape((FACE_SIZE, FACE_SIZE, 1), name="mirrored_face")(x)


def flip_averaged_logits(network: keras.Model):
    """(input, logits averaged over the face and its mirror image) for a trained network."""
    logits_model = keras.Model(network.inputs, network.get_layer("logits").output,
                               name=f"{network.name}_logits")
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="face")
    averaged = layers.Average(name="flip_average")(
        [logits_model(inputs), logits_model(_flip_horizontally(inputs))])
    return inputs, averaged


def served_model(network: keras.Model, classes: tuple[str, ...] = EMOTIONS7) -> keras.Model:
    """The model the app loads: raw 0..255 faces in, probabilities over ``classes`` out.

    ``classes`` may be a subset of the network's EMOTIONS7 outputs (e.g. EMOTIONS4): the
    softmax is then taken over those classes' logits alone, i.e. the 7-class probabilities
    renormalised over the subset.
    """
    inputs, logits = flip_averaged_logits(network)
    if tuple(classes) != EMOTIONS7[:network.output_shape[-1]]:
        select = layers.Dense(len(classes), use_bias=False, trainable=False,
                              name=f"select_{len(classes)}")
        logits = select(logits)
        matrix = np.zeros((len(EMOTIONS7), len(classes)), np.float32)
        for column, name in enumerate(classes):
            matrix[EMOTIONS7.index(name), column] = 1.0
        select.set_weights([matrix])
    outputs = layers.Activation("softmax", name="probabilities", dtype="float32")(logits)
    return keras.Model(inputs, outputs, name=f"emotion{len(classes)}")


def save_served_models(network: keras.Model, out_dir: str | Path) -> dict[str, Path]:
    """Write emotion7.keras and emotion4.keras (weights only, no optimizer) to out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, classes in (("emotion7", EMOTIONS7), ("emotion4", EMOTIONS4)):
        model = served_model(network, classes)
        paths[key] = out_dir / f"{key}.keras"
        model.save(paths[key])  # never compiled, so no optimizer state is stored
    return paths
