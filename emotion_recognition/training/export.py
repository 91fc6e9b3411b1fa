"""Turn a trained network into the served models: flip averaging in the graph, no optimizer.

Test-time augmentation (averaging the logits of the face, its mirror image and optionally
zoomed or corner crops) lives in the graph too. The served graphs use only stock Keras layers
(a horizontal flip is a fixed Dense layer over the width axis), so ``keras.saving.load_model(path, safe_mode=True)`` needs no custom
objects on any backend.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers

from emotion_recognition.core.crops import FACE_SIZE
from emotion_recognition.core.labels import EMOTION_SETS, EmotionSet, FOUR, SEVEN


def _flip_horizontally(inputs, suffix: str = ""):
    flip = layers.Dense(FACE_SIZE, use_bias=False, trainable=False, name=f"mirror{suffix}")
    x = layers.Reshape((FACE_SIZE, FACE_SIZE), name=f"drop_channel{suffix}")(inputs)
    x = flip(x)
    flip.set_weights([np.eye(FACE_SIZE, dtype=np.float32)[::-1]])
    return layers.Reshape((FACE_SIZE, FACE_SIZE, 1), name=f"mirrored_face{suffix}")(x)


CROP = 4  # pixels cut off for the zoomed / corner views
TTA_CHOICES = ("none", "flip", "flip_zoom", "ten_crop")


def _views(inputs, tta: str) -> list:
    """The test-time views of a face: itself, zoomed and corner crops (resized back to 48)."""
    views = [inputs]
    if tta in ("flip_zoom", "ten_crop"):
        zoom = layers.CenterCrop(FACE_SIZE - CROP, FACE_SIZE - CROP, name="zoom_crop")(inputs)
        views.append(layers.Resizing(FACE_SIZE, FACE_SIZE, name="zoom_resize")(zoom))
    if tta == "ten_crop":
        corners = {"top_left": ((0, CROP), (0, CROP)), "top_right": ((0, CROP), (CROP, 0)),
                   "bottom_left": ((CROP, 0), (0, CROP)), "bottom_right": ((CROP, 0), (CROP, 0))}
        for name, cropping in corners.items():
            crop = layers.Cropping2D(cropping, name=f"{name}_crop")(inputs)
            views.append(layers.Resizing(FACE_SIZE, FACE_SIZE, name=f"{name}_resize")(crop))
    if tta not in TTA_CHOICES:
        raise ValueError(f"unknown test-time augmentation '{tta}'")
    if tta != "none":
        views += [_flip_horizontally(view, suffix=str(i)) for i, view in enumerate(views)]
    return views


def _as_list(networks) -> list:
    """One network or several (an ensemble), as a list."""
    return list(networks) if isinstance(networks, (list, tuple)) else [networks]


def averaged_logits(networks, tta: str = "flip"):
    """(input, logits averaged over the test-time views of the face and over the networks).

    Several networks make an ensemble: each sees every view, and their logits are averaged.
    """
    networks = _as_list(networks)
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="face")
    views = _views(inputs, tta)
    logits = []
    for index, network in enumerate(networks):
        name = network.name if len(networks) == 1 else f"member{index}"
        logits_model = keras.Model(network.inputs, network.get_layer("logits").output,
                                   name=f"{name}_logits")
        logits += [logits_model(view) for view in views]
    if len(logits) == 1:
        return inputs, logits[0]
    return inputs, layers.Average(name="view_average")(logits)


def served_model(networks, classes: EmotionSet = SEVEN, tta: str = "flip",
                 temperature: float = 1.0) -> keras.Model:
    """The model the app loads: raw 0..255 faces in, probabilities over ``classes`` out.

    ``networks``: one trained network, or a list of them (an ensemble) with the same outputs.
    ``classes`` may be a subset of the networks' 7 FER2013 outputs (e.g. FOUR): the
    softmax is then taken over those classes' logits alone, i.e. the 7-class probabilities
    renormalised over the subset. ``temperature`` divides the logits (calibration).
    """
    networks = _as_list(networks)
    inputs, logits = averaged_logits(networks, tta)
    if networks[0].output_shape[-1] != len(classes):  # a 7-class network serving a subset
        select = layers.Dense(len(classes), use_bias=False, trainable=False,
                              name=f"select_{len(classes)}")
        logits = select(logits)
        matrix = np.zeros((len(SEVEN), len(classes)), np.float32)
        matrix[list(classes.indices), np.arange(len(classes))] = 1.0
        select.set_weights([matrix])
    if temperature != 1.0:
        logits = layers.Rescaling(1.0 / temperature, name="calibration")(logits)
    outputs = layers.Activation("softmax", name="probabilities", dtype="float32")(logits)
    return keras.Model(inputs, outputs, name=classes.name)


def save_served_models(network, out_dir: str | Path, tta: str = "flip",
                       network_classes: EmotionSet = SEVEN) -> dict[str, Path]:
    """Write the served models (weights only, no optimizer) to out_dir: emotion7.keras and
    emotion4.keras from a 7-class network, emotion4.keras alone from a 4-class one.
    ``network`` may be a list of networks, served as one ensemble.

    ``tta``: the views averaged at test time: none, flip (2 views), flip_zoom (4), ten_crop.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    served = EMOTION_SETS.values() if network_classes == SEVEN else [network_classes]
    for classes in served:
        paths[classes.name] = out_dir / classes.model_file
        # never compiled: no optimizer
        save_served(served_model(network, classes, tta), paths[classes.name])
    return paths


def save_served(model: keras.Model, path: str | Path) -> Path:
    """Save a served model with its weights stored as float16: half the file (a width-64
    VGG: 9.4 MB instead of 18.8, within a Space's 10 MB without LFS). The graph still
    computes in float32: Keras casts each stored weight to its float32 variable on loading.
    (float16 keeps 11 bits of mantissa: the answers move by about 1e-3, the int8 LiteRT
    file served from it rounds far more.)"""
    import shutil
    import tempfile
    import zipfile

    import h5py

    path = Path(path)
    model.save(path)
    with tempfile.TemporaryDirectory() as work:
        weights = Path(work) / "model.weights.h5"
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        weights.write_bytes(members.pop("model.weights.h5"))
        halved = Path(work) / "halved.weights.h5"
        with h5py.File(weights, "r") as source, h5py.File(halved, "w") as target:
            _copy_as_float16(source, target)  # a new file: HDF5 does not give back space
        smaller = Path(work) / path.name
        with zipfile.ZipFile(smaller, "w") as archive:  # stored, as Keras writes it
            for name, data in members.items():
                archive.writestr(name, data)
            archive.write(halved, "model.weights.h5")
        shutil.move(smaller, path)
    return path


def _copy_as_float16(source, target) -> None:
    """Copy an HDF5 group (its attributes, groups and datasets), float32 datasets as float16."""
    import h5py

    target.attrs.update(source.attrs)
    for name, item in source.items():
        if isinstance(item, h5py.Group):
            _copy_as_float16(item, target.create_group(name))
        else:
            values = item[()]
            if getattr(values, "dtype", None) == np.float32:
                values = values.astype(np.float16)
            target.create_dataset(name, data=values).attrs.update(item.attrs)


def network_from_run(run_dir: str | Path) -> tuple[keras.Model, EmotionSet]:
    """Rebuild a run's network from its config.json, load best.weights.h5; return it and
    its classes. A served ``.keras`` file works too (see network_from_served)."""
    import json

    from emotion_recognition.training.architectures import build

    run_dir = Path(run_dir)
    if run_dir.suffix == ".keras":
        return network_from_served(run_dir)
    config = json.loads((run_dir / "config.json").read_text())["config"]
    classes = EMOTION_SETS[config.get("classes", "emotion7")]
    network = build(config["architecture"], len(classes), width=config["width"])
    network.load_weights(run_dir / "best.weights.h5")
    return network, classes


def served_network_spec(path: str | Path) -> tuple[str, int, int]:
    """(architecture, width, number of outputs) of the one network inside a served model."""
    served = keras.saving.load_model(path, safe_mode=True, compile=False)
    inner = [layer for layer in served.layers if isinstance(layer, keras.Model)]
    if len(inner) != 1:
        raise ValueError(f"{path}: expected one network inside the served model, found "
                         f"{len(inner)} (an ensemble cannot be unpacked)")
    first_conv = next(layer for layer in inner[0].layers if isinstance(layer, layers.Conv2D))
    # a network with a head for a subset is named like "vgg_4" (head_for_subset)
    architecture = inner[0].name.removesuffix("_logits").rsplit("_", 1)
    name = architecture[0] if architecture[-1].isdigit() else "_".join(architecture)
    return name, first_conv.filters, inner[0].output_shape[-1]


def network_from_served(path: str | Path) -> tuple[keras.Model, EmotionSet]:
    """The trained network inside a served model (its weights, without the test-time
    views around it), so a served model can be fine-tuned or be a teacher."""
    from emotion_recognition.training.architectures import build

    architecture, width, outputs = served_network_spec(path)
    served = keras.saving.load_model(path, safe_mode=True, compile=False)
    inner = next(layer for layer in served.layers if isinstance(layer, keras.Model))
    network = build(architecture, outputs, width=width)
    network.set_weights(inner.get_weights())
    return network, SEVEN if outputs == len(SEVEN) else FOUR


def head_for_subset(network7: keras.Model, classes: EmotionSet) -> keras.Model:
    """The 7-class network with a new head for ``classes``, starting from the matching
    rows of the old head (so it starts as the 7-class model renormalised)."""
    old = network7.get_layer("logits")
    head = layers.Dense(len(classes), name="logits")
    outputs = layers.Activation("softmax", name="probabilities", dtype="float32")(
        head(old.input))
    model = keras.Model(network7.inputs, outputs, name=f"{network7.name}_{len(classes)}")
    kernel, bias = old.get_weights()
    rows = list(classes.indices)
    head.set_weights([kernel[:, rows], bias[rows]])
    return model


def main(argv=None) -> None:
    """``python -m emotion_recognition.training.export runs/a [runs/b ...] --tta flip
    --out model``"""
    import argparse
    import os
    import shutil

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = argparse.ArgumentParser(description="Write the served models of a training run")
    parser.add_argument("run_dirs", type=Path, nargs="+",
                        help="train --out folders; several are served as one ensemble")
    parser.add_argument("--tta", default="flip", choices=TTA_CHOICES)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    loaded = [network_from_run(run_dir) for run_dir in args.run_dirs]
    if len({classes for _, classes in loaded}) != 1:
        parser.error("the runs of an ensemble must have the same classes")
    paths = save_served_models([network for network, _ in loaded], args.out, args.tta,
                               loaded[0][1])
    shutil.copy(args.run_dirs[0] / "labels.json", args.out / "labels.json")
    for path in paths.values():
        print(f"wrote {path} ({path.stat().st_size / 2**20:.2f} MB)")


if __name__ == "__main__":
    main()
