"""Train an emotion network on FER2013 Training, choose the epoch on PublicTest.

    python -m emotion_recognition.training.train --data fer2013.zip --epochs 60 --out runs/vgg
    python -m emotion_recognition.training.train --resume runs/vgg --time-budget 480
    python -m emotion_recognition.training.train --data fer2013.zip --teacher runs/a runs/b \
        --out runs/student                                   # distillation

Writes to --out: config.json (every setting and the seed), history.csv (curves),
best.weights.h5 (the epoch with the best PublicTest accuracy), checkpoint/ (what a resume
needs), emotion7.keras and emotion4.keras (the served models) and labels.json.
With --time-budget the run stops after the last epoch that fits and can be resumed; with
--plan-seconds it chooses its number of epochs (up to --epochs) so that it ends, annealed,
within that time. --precision auto trains in bfloat16 where the CPU or GPU has it; the served
models are float32 either way. PrivateTest is never read here.
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

from emotion_recognition.training.precision import PRECISIONS


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
    mixup: float = 0.0  # alpha of MixUp's Beta(alpha, alpha) blend of two faces; 0 = off
    tta: str = "flip"  # test-time views in the served models: none, flip, flip_zoom, ten_crop
    classes: str = "emotion7"  # or emotion4: train on the images of those 4 classes only
    init_from: str = ""  # a 7-class run folder or served .keras to start from (fine-tuning)
    ferplus_blend: float = 0.0  # weight of the FER+ vote distribution in the targets; 0 = off
    # folder of fer2013new.csv + kaggle_to_fer2013_row.csv (default: --data's)
    ferplus_dir: str = ""
    teacher: tuple[str, ...] = ()  # run folders or served .keras models to distil from
    distill_temperature: float = 4.0
    distill_weight: float = 0.7  # share of the teacher term in the loss (the rest: labels)
    seed: int = 1234
    limit: int = 0  # use only the first N images of each split (smoke tests); 0 = all
    time_budget: float = 0.0  # seconds this invocation may take; 0 = no limit
    plan_seconds: float = 0.0  # > 0: as many epochs (up to --epochs) as end within this
    #                            many seconds of the start, learning rate set per epoch
    precision: str = "auto"  # auto, float32 or mixed_bfloat16 (the served graph is float32)


# What may change when a run is resumed: where the data is, how long this job may take and
# the arithmetic (variables are float32 in every precision).
RESUME_OVERRIDES = ("data", "ferplus_dir", "time_budget", "precision")
CHOICES = {"precision": PRECISIONS}
AGREEMENT_FACES = 1024  # PublicTest faces the float32 copy is checked on (two batches of 512)
# What a run recorded before a setting existed had that setting's old value.
OLD_RUN_DEFAULTS = {"precision": "float32"}



def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     argument_default=argparse.SUPPRESS)
    changeable = ", ".join("--" + o.replace("_", "-") for o in RESUME_OVERRIDES)
    parser.add_argument("--resume", metavar="RUN", help="continue this run folder where it "
                        f"stopped (only {changeable} may change)")
    for field in dataclasses.fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        if field.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction)
        elif field.type.startswith("tuple"):
            parser.add_argument(flag, nargs="+", metavar=field.name.upper())
        else:
            parser.add_argument(flag, type={"int": int, "float": float, "str": str}[field.type],
                                choices=CHOICES.get(field.name))
    return parser


def parse_args(argv=None) -> TrainConfig:
    """The command line -> a TrainConfig; with --resume, the run's own config."""
    parser = _parser()
    given = vars(parser.parse_args(argv))
    resume = given.pop("resume", None)
    if "teacher" in given:
        given["teacher"] = tuple(given["teacher"])
    if resume:
        not_allowed = sorted(set(given) - set(RESUME_OVERRIDES))
        if not_allowed:
            parser.error(f"--resume continues a run as it was configured; it cannot change "
                         f"{', '.join('--' + n.replace('_', '-') for n in not_allowed)}")
        return resumed_config(resume, **given)
    if "data" not in given:
        parser.error("--data is required (or --resume RUN)")
    config = TrainConfig(**given)
    if (Path(config.out) / "checkpoint").is_dir():
        parser.error(f"{config.out} already holds a run: continue it with --resume {config.out}, "
                     f"or start a new one with another --out")
    return config


def resumed_config(run_dir: str | Path, **overrides) -> TrainConfig:
    """The config a run was started with (plus RESUME_OVERRIDES), to continue it."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise SystemExit(f"cannot resume {run_dir}: it has no config.json")
    saved = json.loads(path.read_text())["config"]
    saved["teacher"] = tuple(saved.get("teacher", ()))
    saved = {**OLD_RUN_DEFAULTS, **saved}
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in saved.items() if k in known})
    return dataclasses.replace(config, out=str(run_dir), **overrides)


def _one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


def _targets(split, classes, config: TrainConfig) -> np.ndarray:
    """One-hot FER2013 labels, blended with the FER+ votes when --ferplus-blend > 0.

    With a blend below 0.5 the FER2013 label stays the largest target, so the votes act as
    label smoothing informed by ten annotators rather than as a relabelling.
    """
    from emotion_recognition.training.data import load_ferplus_votes

    targets = _one_hot(split.labels, len(classes))
    if config.ferplus_blend <= 0:
        return targets
    folder = Path(config.ferplus_dir or Path(config.data).parent)
    votes = classes.from_seven(load_ferplus_votes(
        folder / "fer2013new.csv", folder / "kaggle_to_fer2013_row.csv", split.keys))
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


def _compile(model, config: TrainConfig, steps_per_epoch: int, num_classes: int):
    import keras

    from emotion_recognition.training.distill import DistillationLoss, label_accuracy
    from emotion_recognition.training.schedule import step_schedule

    # a clock-planned run gets its rate per epoch from ClockPlan
    schedule = (config.learning_rate * 0.1 if config.plan_seconds > 0 else
                step_schedule(config.learning_rate, config.epochs, config.warmup_epochs,
                              steps_per_epoch))
    optimizer = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True,
                                     weight_decay=config.weight_decay)
    if config.teacher:
        loss = DistillationLoss(num_classes, config.distill_temperature, config.distill_weight,
                                config.label_smoothing)
        metrics = [label_accuracy(num_classes)]
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
        metrics = ["accuracy"]
    # XLA pays off on accelerators (JAX); on TensorFlow's CPU it did not
    jit = keras.backend.backend() != "tensorflow"
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit)


def splits_for(config: TrainConfig, classes):
    """Training and PublicTest (never PrivateTest), limited to ``classes`` (an EmotionSet)
    and re-indexed into it."""
    from emotion_recognition.core.labels import SEVEN
    from emotion_recognition.training.data import load_fer2013
    from emotion_recognition.training.fer2013 import Split

    splits = load_fer2013(config.data)
    chosen = []
    for name in ("Training", "PublicTest"):
        split = _subset(splits[name], config.limit)
        if classes != SEVEN:
            keep, labels = classes.restrict(split.labels)
            split = Split(split.images[keep], labels,
                          tuple(k for k, kept in zip(split.keys, keep) if kept))
        chosen.append(split)
    return chosen


def _network(config: TrainConfig, classes):
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
    if config.init_from.endswith(".keras"):
        from emotion_recognition.training.export import served_network_spec

        architecture, width, _ = served_network_spec(config.init_from)
    else:
        init = json.loads((Path(config.init_from) / "config.json").read_text())["config"]
        architecture, width = init["architecture"], init["width"]
    return dataclasses.replace(config, architecture=architecture, width=width)


def _fit(model, batches, val_data, config: TrainConfig, out: Path, state, deadline,
         started: float):
    import keras

    from emotion_recognition.training.checkpoint import RunCheckpoint
    from emotion_recognition.training.schedule import ClockPlan

    batches.start_epoch = state.epochs_done
    callbacks = [keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
                 RunCheckpoint(out, state, deadline)]
    if config.plan_seconds > 0:  # first: it decides the plan RunCheckpoint saves
        callbacks.insert(0, ClockPlan(state, config.learning_rate, config.warmup_epochs,
                                      config.epochs, started + config.plan_seconds))
    return model.fit(batches, epochs=state.target_epochs(config.epochs),
                     initial_epoch=state.epochs_done,
                     steps_per_epoch=len(batches), shuffle=False,  # batches shuffle themselves
                     validation_data=val_data, verbose=2, callbacks=callbacks)


def _training_targets(config: TrainConfig, train_split, classes, out: Path) -> np.ndarray:
    """Label targets, with the teachers' softened outputs beside them when distilling."""
    from emotion_recognition.training.distill import cached_teacher_logits, soften

    targets = _targets(train_split, classes, config)
    if not config.teacher:
        return targets
    logits = cached_teacher_logits(out, list(config.teacher), train_split.images,
                                   train_split.keys, classes)
    return np.concatenate([targets, soften(logits, config.distill_temperature)], axis=1)


def _validation_targets(config: TrainConfig, val_split, classes, out: Path) -> np.ndarray:
    """One-hot labels, with the teachers' softened outputs beside them when distilling
    (so val_loss is the same distillation loss as the training loss)."""
    from emotion_recognition.training.distill import (TEACHER_VALIDATION_FILE,
                                                      cached_teacher_logits, soften)

    one_hot = _one_hot(val_split.labels, len(classes))
    if not config.teacher:
        return one_hot
    logits = cached_teacher_logits(out, list(config.teacher), val_split.images, val_split.keys,
                                   classes, TEACHER_VALIDATION_FILE)
    return np.concatenate([one_hot, soften(logits, config.distill_temperature)], axis=1)


def _start_record(config: TrainConfig, classes, train_split, val_split, weights) -> dict:
    import keras

    return {"config": dataclasses.asdict(config), "classes": list(classes),
            "class_weights": weights.tolist(), "train_images": len(train_split),
            "val_images": len(val_split),
            "train_class_counts": np.bincount(train_split.labels, minlength=len(classes)).tolist(),
            "keras": keras.__version__, "backend": keras.backend.backend(),
            "python": platform.python_version(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}


def _prepare_run_folder(config: TrainConfig, out: Path, record: dict):
    """A fresh run starts clean; a resumed one keeps its record, history and checkpoint."""
    from emotion_recognition.training.checkpoint import read_state

    state = read_state(out)
    if state.epochs_done == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "history.csv").unlink(missing_ok=True)
        (out / "config.json").write_text(json.dumps(record, indent=2))
        return record, state
    saved = json.loads((out / "config.json").read_text())
    saved["config"].update({k: getattr(config, k) for k in RESUME_OVERRIDES})
    saved.setdefault("resumed", []).append(time.strftime("%Y-%m-%d %H:%M:%S"))
    return saved, state


def _data_workers() -> int:
    """Threads making batches: on an accelerator augmentation is the host's job and must
    keep up; on a CPU training already takes every core."""
    import keras

    return 4 if keras.backend.backend() == "jax" else 1


def _train_network(config: TrainConfig, classes, train_split, val_split, weights, out: Path,
                   started: float):
    """Build, compile, restore and fit the network (in the run's precision); return it
    with the best epoch's weights loaded, and the run's state."""
    from emotion_recognition.training.augment import AugmentedFaces
    from emotion_recognition.training.checkpoint import restore_checkpoint, save_checkpoint

    deadline = started + config.time_budget if config.time_budget else None
    batches = AugmentedFaces(train_split.images,
                             _training_targets(config, train_split, classes, out),
                             weights[train_split.labels], config.batch_size, config.seed,
                             augment=config.augment, mixup=config.mixup,
                             workers=_data_workers())
    model = _network(config, classes)
    _compile(model, config, len(batches), len(classes))
    state = restore_checkpoint(model, out)
    val_data = (val_split.images[..., None].astype(np.float32),
                _validation_targets(config, val_split, classes, out))
    _fit(model, batches, val_data, config, out, state, deadline, started)
    state.finished = state.epochs_done >= state.target_epochs(config.epochs)
    save_checkpoint(model, out, state)
    model.load_weights(out / "best.weights.h5")
    return model, state


def _float32_network(model, config: TrainConfig, classes, val_split) -> tuple:
    """The trained network rebuilt in float32 (what is served), and how well its outputs
    agree with the network as trained (None when it trained in float32)."""
    from emotion_recognition.training import precision

    if model.dtype_policy.name == "float32":
        return model, None
    with precision.float32_policy():
        network = _network(config, classes)
    network.set_weights(model.get_weights())
    faces = val_split.images[:AGREEMENT_FACES, ..., None].astype(np.float32)
    return network, precision.agreement(model, network, faces)


def train(config: TrainConfig) -> dict:
    """Run (or resume) one training; return a summary (best PublicTest accuracy, epoch...)."""
    import keras

    from emotion_recognition.core.labels import EMOTION_SETS, emotion_set
    from emotion_recognition.training import precision
    from emotion_recognition.training.augment import class_weights
    from emotion_recognition.training.export import save_served_models

    started = time.monotonic()
    config = _with_init_network(config)
    out = Path(config.out)
    keras.utils.set_random_seed(config.seed)
    classes = emotion_set(config.classes)
    train_split, val_split = splits_for(config, classes)
    weights = class_weights(train_split.labels, len(classes), config.class_weighting)
    record, state = _prepare_run_folder(
        config, out, _start_record(config, classes, train_split, val_split, weights))
    if state.finished:
        print(f"{out} has already finished all its epochs", flush=True)
        return {k: record[k] for k in ("best_public_test_accuracy", "best_epoch") if k in record}

    policy = precision.resolve(config.precision)
    with precision.dtype_policy(policy):
        model, state = _train_network(config, classes, train_split, val_split, weights, out,
                                      started)
    network, check = _float32_network(model, config, classes, val_split)
    save_served_models(network, out, config.tta, classes)
    (out / "labels.json").write_text(json.dumps(
        {name: list(labels) for name, labels in EMOTION_SETS.items()}, indent=2))
    summary = {"best_public_test_accuracy": round(state.best_val_accuracy, 4),
               "best_epoch": state.best_epoch, "epochs_done": state.epochs_done,
               "planned_epochs": state.planned_epochs,
               "finished": state.finished, "train_seconds": state.train_seconds,
               "seconds_per_epoch": round(state.train_seconds / max(1, state.epochs_done), 2),
               "parameters": int(model.count_params()), "dtype_policy": policy,
               "float32_agreement": check}
    record.update(summary)
    (out / "config.json").write_text(json.dumps(record, indent=2))
    print(json.dumps(summary), flush=True)
    return summary


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    train(parse_args(argv))


if __name__ == "__main__":
    main()
