"""The big-model recipe as resumable steps: wide teachers, then the served student.

    python -m emotion_recognition.training.recipe --data data/fer2013_pack.npz \
        --out runs/gpu --time-budget 540 [--recipe gpu|tiny]

Each call is one job: it goes through the steps in order, skips those finished, resumes
the one in progress (train --resume) and stops before its time budget runs out; the next
call carries on. Run it again and again until ``recipe_status.json`` says all finished.
scripts/gpu_train.sh wraps it for a GPU machine (wheels, JAX, a bundle to copy back).

Teachers are VGG-style nets of about 4.7 M parameters (too big to serve: ~19 MB each), the
student is the served size; it learns from the teachers' averaged softened outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from emotion_recognition.training.checkpoint import CHECKPOINT_DIR, read_state

STATUS_FILE = "recipe_status.json"


@dataclass(frozen=True)
class Step:
    """One training run of the recipe: its folder name, its train options and the steps
    it learns from (teachers)."""

    name: str
    options: tuple[str, ...]
    teachers: tuple[str, ...] = ()


def _teacher(seed: int, width: int, epochs: int, extra: tuple[str, ...] = ()) -> Step:
    return Step(f"teacher{seed}", ("--architecture", "vgg", "--width", str(width),
                                   "--epochs", str(epochs), "--learning-rate", "0.05",
                                   "--seed", str(seed), "--tta", "flip", *extra))


def _student(teachers: list[Step], width: int, epochs: int, extra: tuple[str, ...] = ()) -> Step:
    return Step("student", ("--architecture", "vgg", "--width", str(width),
                            "--epochs", str(epochs), "--seed", "7", "--tta", "flip_zoom",
                            "--distill-temperature", "4", "--distill-weight", "0.7", *extra),
                tuple(t.name for t in teachers))


def recipe_steps(recipe: str) -> list[Step]:
    """``gpu``: 3 teachers (width 64, 120 epochs) and the student (width 24, 150 epochs).
    ``tiny``: the same shape on a few images with tiny nets, for the tests."""
    if recipe == "gpu":
        teachers = [_teacher(seed, 64, 120) for seed in (1, 2, 3)]
        return [*teachers, _student(teachers, 24, 150)]
    if recipe == "tiny":
        tiny = ("--limit", "40", "--batch-size", "8")
        teachers = [_teacher(seed, 4, 2, tiny) for seed in (1, 2)]
        return [*teachers, _student(teachers, 4, 3, tiny)]
    raise ValueError(f"unknown recipe '{recipe}' (gpu or tiny)")


def _argv(step: Step, data: str, out: Path, seconds: float) -> list[str]:
    """train's arguments: a fresh start, or a resume of the step's run folder."""
    run_dir = out / step.name
    budget = ["--data", data, "--time-budget", f"{seconds:.0f}"]
    if read_state(run_dir).epochs_done > 0:
        return ["--resume", str(run_dir), *budget]
    teachers = ["--teacher", *[str(out / name) for name in step.teachers]] if step.teachers else []
    return [*step.options, *teachers, "--out", str(run_dir), *budget]


def _usable(run_dir: Path) -> bool:
    """False for a run stopped mid-way whose checkpoint weights did not travel with it."""
    state = read_state(run_dir)
    weights = run_dir / CHECKPOINT_DIR / "weights.weights.h5"
    return state.finished or state.epochs_done == 0 or weights.is_file()


def run_recipe(data: str, out: str | Path, time_budget: float, recipe: str = "gpu",
               min_step_seconds: float = 60.0) -> dict:
    """Advance the recipe by one job; return (and write) each step's state."""
    import keras

    from emotion_recognition.training import train

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + time_budget
    for step in recipe_steps(recipe):
        run_dir = out / step.name
        if not _usable(run_dir):
            print(f"{step.name}: its checkpoint did not come back; starting it again", flush=True)
            shutil.rmtree(run_dir)
        if read_state(run_dir).finished:
            continue
        remaining = deadline - time.monotonic()
        if remaining < min_step_seconds:
            break
        print(f"== {step.name}: {remaining:.0f} s left in this job", flush=True)
        summary = train.train(train.parse_args(_argv(step, data, out, remaining)))
        if step.name.startswith("teacher") and summary.get("finished"):
            _store_teacher_logits(run_dir, data)
        keras.backend.clear_session()
        if not summary.get("finished"):
            break
    return _write_status(out, recipe)


def _store_teacher_logits(run_dir: Path, data: str) -> None:
    """Keep a finished teacher's outputs on the training images and on PublicTest in its
    folder, so the student never needs its (large) weights again."""
    from emotion_recognition.labels import emotion_set
    from emotion_recognition.training.distill import (PUBLICTEST_LOGITS_FILE,
                                                      TRAIN_LOGITS_FILE, run_logits)
    from emotion_recognition.training.train import _splits_for, resumed_config

    config = resumed_config(run_dir, data=data)
    train_split, val_split = _splits_for(config, emotion_set(config.classes))
    run_logits(run_dir, train_split.images, train_split.keys, TRAIN_LOGITS_FILE)
    run_logits(run_dir, val_split.images, val_split.keys, PUBLICTEST_LOGITS_FILE)


def _write_status(out: Path, recipe: str) -> dict:
    steps = {}
    for step in recipe_steps(recipe):
        state = read_state(out / step.name)
        steps[step.name] = {"epochs_done": state.epochs_done, "finished": state.finished,
                            "best_public_test_accuracy": round(state.best_val_accuracy, 4)}
    status = {"recipe": recipe, "finished": all(s["finished"] for s in steps.values()),
              "steps": steps, "updated": time.strftime("%Y-%m-%d %H:%M:%S")}
    (out / STATUS_FILE).write_text(json.dumps(status, indent=2))
    print(json.dumps(status), flush=True)
    return status


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a training pack (.npz) or fer2013.zip")
    parser.add_argument("--out", type=Path, required=True, help="the recipe's output folder")
    parser.add_argument("--time-budget", type=float, default=540.0,
                        help="seconds this job may take (default 540: a 10-minute job)")
    parser.add_argument("--recipe", default="gpu", choices=("gpu", "tiny"))
    args = parser.parse_args(argv)
    run_recipe(args.data, args.out, args.time_budget, args.recipe,
               min_step_seconds=5.0 if args.recipe == "tiny" else 60.0)


if __name__ == "__main__":
    main()
