"""Train an emotion network on FER2013 Training, choose the epoch on PublicTest.

    python -m emotion_recognition.training.train --data fer2013.zip --epochs 60 --out runs/vgg

Writes to --out: config.json (every setting and the seed), history.csv (curves),
best.weights.h5 (the epoch with the best PublicTest accuracy), emotion7.keras and
emotion4.keras (the served models) and labels.json. PrivateTest is never read here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class TrainConfig:
    data: str
    out: str = "runs/latest"
    architecture: str = "vgg"
    width: int = 32
    epochs: int = 60
    batch_size: int = 128
    learning_rate: float = 0.05
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    class_weighting: str = "sqrt"
    warmup_epochs: int = 2
    augment: bool = True
    tta: str = "flip"  # test-time views in the served models: none, flip, flip_zoom, ten_crop
    classes: str = "emotion7"  # or emotion4: train on the images of those 4 classes only
    init_from: str = ""  # a 7-class run folder to start from (fine-tuning), e.g. for emotion4
    ferplus_blend: float = 0.0  # weight of the FER+ vote distribution in the targets; 0 = off
    ferplus_dir: str = ""  # folder of fer2013new.csv + kaggle_to_fer2013_row.csv (default: --data's)
    seed: int = 1234
    limit: int = 0  # use only the first N images of each split (smoke tests); 0 = all


def parse_args(argv=None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for field in dataclasses.fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        if field.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction,
                                default=field.default)
            continue
        required = field.default is dataclasses.MISSING
        parser.add_argument(flag, type={"int": int, "float": float, "str": str}[field.type],
                            required=required, default=None if required else field.default)
    return TrainConfig(**vars(parser.parse_args(argv)))


def _one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


def _targets(split, classes: tuple[str, ...], config: TrainConfig) -> np.ndarray:
    """One-hot FER2013 labels, blended with the FER+ votes when --ferplus-blend > 0.

    With a blend below 0.5 the FER2013 label stays the largest target, so the votes act as
    label smoothing informed by ten annotators rather than as a relabelling.
    """
    from emotion_recognition.labels import EMOTIONS7
    from emotion_recognition.training.data import load_ferplus_votes

    targets = _one_hot(split.labels, len(classes))
    if config.ferplus_blend <= 0:
        return targets
    folder = Path(config.ferplus_dir or Path(config.data).parent)
    votes = load_ferplus_votes(folder / "fer2013new.csv", folder / "kaggle_to_fer2013_row.csv",
                               split.keys)[:, [EMOTIONS7.index(c) for c in classes]]
    totals = votes.sum(axis=1, keepdims=True)
    usable = np.isfinite(totals[:, 0]) & (totals[:, 0] > 0)
    blended = targets.copy()
    blended[usable] = ((1 - config.ferplus_blend) * targets[usable]
                       + config.ferplus_blend * votes[usable] / totals[usable])
    print(f"FER+ votes blended into {usable.sum()} of {len(usable)} training targets", flush=True)
    return blended


def _subset(split, limit: int):
    if not limit or len(split) <= limit:
        return split
    rows = np.random.default_rng(0).permutation(len(split))[:limit]
    return type(split)(split.images[rows], split.labels[rows], tuple(split.keys[i] for i in rows))


def _compile(model, config: TrainConfig, steps_per_epoch: int):
    import keras

    total = max(1, config.epochs * steps_per_epoch)
    warmup = min(config.warmup_epochs * steps_per_epoch, total // 2)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate * 0.1, decay_steps=total - warmup,
        warmup_target=config.learning_rate, warmup_steps=warmup, alpha=0.0)
    model.compile(
        optimizer=keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True,
                                       weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"], jit_compile=False)


def _splits_for(config: TrainConfig, classes: tuple[str, ...]):
    """Training and PublicTest (never PrivateTest), limited to ``classes`` and re-indexed."""
    from emotion_recognition.labels import EMOTIONS7
    from emotion_recognition.training.data import Split, load_fer2013

    splits = load_fer2013(config.data)
    chosen = []
    for name in ("Training", "PublicTest"):
        split = _subset(splits[name], config.limit)
        if classes != EMOTIONS7:
            keep = np.isin(split.labels, [EMOTIONS7.index(c) for c in classes])
            remap = {EMOTIONS7.index(c): i for i, c in enumerate(classes)}
            split = Split(split.images[keep], np.array([remap[v] for v in split.labels[keep]]),
                          tuple(k for k, kept in zip(split.keys, keep) if kept))
        chosen.append(split)
    return chosen


def _network(config: TrainConfig, classes: tuple[str, ...]):
    """A fresh network, or (with --init-from) a trained 7-class run with a head for classes."""
    from emotion_recognition.training.architectures import build
    from emotion_recognition.training.export import head_for_subset, network_from_run

    if config.init_from:
        return head_for_subset(network_from_run(config.init_from)[0], classes)
    return build(config.architecture, len(classes), width=config.width)


def _with_init_network(config: TrainConfig) -> TrainConfig:
    """With --init-from, the network is the init run's: record its architecture and width."""
    if not config.init_from:
        return config
    init = json.loads((Path(config.init_from) / "config.json").read_text())["config"]
    return dataclasses.replace(config, architecture=init["architecture"], width=init["width"])


def _fit(model, batches, val_data, config: TrainConfig, out: Path):
    import keras

    return model.fit(batches, epochs=config.epochs, validation_data=val_data, verbose=2,
                     callbacks=[keras.callbacks.CSVLogger(str(out / "history.csv")),
                                keras.callbacks.ModelCheckpoint(
                                    str(out / "best.weights.h5"), monitor="val_accuracy",
                                    mode="max", save_best_only=True, save_weights_only=True)])


def train(config: TrainConfig) -> dict:
    """Run one training; return a summary (best PublicTest accuracy, epoch, timings)."""
    import keras

    from emotion_recognition.labels import EMOTION_SETS, EMOTIONS4, EMOTIONS7
    from emotion_recognition.training.augment import AugmentedFaces, class_weights
    from emotion_recognition.training.export import save_served_models

    config = _with_init_network(config)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    classes = EMOTION_SETS[config.classes]
    train_split, val_split = _splits_for(config, classes)
    weights = class_weights(train_split.labels, len(classes), config.class_weighting)
    record = {"config": dataclasses.asdict(config), "classes": list(classes),
              "class_weights": weights.tolist(), "train_images": len(train_split),
              "val_images": len(val_split),
              "train_class_counts": np.bincount(train_split.labels, minlength=len(classes)).tolist(),
              "keras": keras.__version__, "backend": keras.backend.backend(),
              "python": platform.python_version(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    (out / "config.json").write_text(json.dumps(record, indent=2))

    batches = AugmentedFaces(train_split.images, _targets(train_split, classes, config),
                             weights[train_split.labels], config.batch_size, config.seed,
                             augment=config.augment)
    model = _network(config, classes)
    _compile(model, config, len(batches))
    val_data = (val_split.images[..., None].astype(np.float32),
                _one_hot(val_split.labels, len(classes)))
    started = time.time()
    history = _fit(model, batches, val_data, config, out)
    seconds = time.time() - started
    model.load_weights(out / "best.weights.h5")
    save_served_models(model, out, config.tta, classes)
    (out / "labels.json").write_text(json.dumps({"emotion7": list(EMOTIONS7),
                                                 "emotion4": list(EMOTIONS4)}, indent=2))
    val_accuracy = history.history["val_accuracy"]
    summary = {"best_public_test_accuracy": float(max(val_accuracy)),
               "best_epoch": int(np.argmax(val_accuracy)) + 1, "train_seconds": round(seconds, 1),
               "seconds_per_epoch": round(seconds / config.epochs, 2),
               "parameters": int(model.count_params())}
    record.update(summary)
    (out / "config.json").write_text(json.dumps(record, indent=2))
    print(json.dumps(summary), flush=True)
    return summary


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    train(parse_args(argv))


if __name__ == "__main__":
    main()
