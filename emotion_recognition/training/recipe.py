"""The served network's recipe, planned by the clock: trained long, seeds distilled into one.

    python -m emotion_recognition.training.recipe --data data/fer2013_pack.npz \
        --out runs/gpu --time-budget 480 [--recipe gpu|tiny]

One call is one job: it spends ``--time-budget`` seconds (a budget of your choice) so that
it always ends with served models, however fast the machine is. Every run has the served
network's width (64 for ``gpu``: 4.7 M parameters, served in int8 with LiteRT), so the whole
job goes into the network that will be served:

1. **teachers**: the served network trained long from seed 1, its number of epochs chosen by
   the clock (``train --plan-seconds``) to leave the student its share; its outputs on
   Training and PublicTest are stored, so its weights never need to travel; a second seed
   only while the time left would still give it at least ``teacher_min_epochs`` epochs;
2. **the student**: a network of the same width distilled from every finished teacher (one
   seed: a born-again network; two: their average in one network of the served size);
3. ``served/``: the student's emotion7.keras and emotion4.keras (its outputs over those four
   emotions: one network serves both sets), each with a temperature fitted on PublicTest
   (``calibration.json``). The int8 LiteRT file is exported from them afterwards, where
   TensorFlow is installed (``training.export_litert``).

A later job with the same folder (or its ``bundle.tar``) goes on: finished steps are kept,
a step stopped mid-way resumes from its checkpoint, further teachers join, and a new
student is distilled from them all. scripts/gpu_train.sh wraps this for a GPU machine.
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
SERVED_DIR = "served"


@dataclass(frozen=True)
class Recipe:
    """Sizes and time shares of a recipe."""

    width: int  # the served network's: every run of the recipe has it
    teacher_max_epochs: int
    teacher_min_epochs: int  # a further teacher only if it gets at least this many
    max_teachers: int  # seeds
    student_max_epochs: int
    student_share: float  # of the job's seconds, kept for the student
    reserve_seconds: float  # teacher outputs, export, calibration, bundle
    extra: tuple[str, ...] = ()  # options every step gets (the tiny recipe's subset)


RECIPES = {
    # width 64: 4.7 M parameters, 4.7 MB in int8 and 9.4 MB as a float16 .keras file
    "gpu": Recipe(64, 150, 60, 2, 150, 0.35, 60.0),
    "tiny": Recipe(4, 3, 2, 2, 3, 0.35, 5.0, ("--limit", "40", "--batch-size", "8")),
}


def teacher_options(recipe: Recipe, seed: int) -> list[str]:
    return ["--architecture", "vgg", "--width", str(recipe.width),
            "--epochs", str(recipe.teacher_max_epochs), "--learning-rate", "0.05",
            "--seed", str(seed), "--tta", "flip", *recipe.extra]


def student_options(recipe: Recipe, teachers: list[Path], init: str = "") -> list[str]:
    """A fresh student, or (``init``: a served .keras or run folder of the recipe's width)
    one warm-started from a trained net at a fine-tuning rate."""
    start = (["--init-from", init, "--learning-rate", "0.01", "--warmup-epochs", "1"]
             if init else [])
    return ["--architecture", "vgg", "--width", str(recipe.width),
            "--epochs", str(recipe.student_max_epochs), "--seed", "7", "--tta", "flip_zoom",
            "--distill-temperature", "4", "--distill-weight", "0.7", *start,
            "--teacher", *[str(t) for t in teachers], *recipe.extra]


def _usable(run_dir: Path) -> bool:
    """False for a run stopped mid-way whose checkpoint weights did not travel with it."""
    state = read_state(run_dir)
    weights = run_dir / CHECKPOINT_DIR / "weights.weights.h5"
    return state.finished or state.epochs_done == 0 or weights.is_file()


class Job:
    """One job of the recipe: its folder, its clock and how each step is run."""

    def __init__(self, data: str, out: Path, time_budget: float, recipe: Recipe,
                 min_step_seconds: float, student_init: str = "", also_teach: tuple = ()):
        self.data, self.out, self.recipe = data, out, recipe
        self.student_init, self.also_teach = student_init, tuple(also_teach)
        self.time_budget, self.min_step_seconds = time_budget, min_step_seconds
        self.deadline = time.monotonic() + time_budget

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def run_step(self, name: str, options: list[str], plan_seconds: float) -> bool:
        """Train (or resume) one step within the job's time; True once it has finished."""
        import keras

        from emotion_recognition.training import train

        run_dir = self.out / name
        if not _usable(run_dir):
            print(f"{name}: its checkpoint did not come back; starting it again", flush=True)
            shutil.rmtree(run_dir)
        state = read_state(run_dir)
        if state.finished:
            return True
        budget = ["--data", self.data, "--time-budget",
                  f"{max(1.0, self.left() - self.recipe.reserve_seconds):.0f}"]
        if state.epochs_done > 0:
            argv = ["--resume", str(run_dir), *budget]
        else:
            argv = [*options, "--out", str(run_dir), "--plan-seconds", f"{plan_seconds:.0f}",
                    *budget]
        print(f"== {name}: {self.left():.0f} s left in this job", flush=True)
        summary = train.train(train.parse_args(argv))
        keras.backend.clear_session()
        return bool(summary.get("finished", read_state(run_dir).finished))


def _teacher_dirs(out: Path) -> list[Path]:
    return sorted((p for p in out.glob("teacher*") if (p / "config.json").is_file()),
                  key=lambda p: int(p.name.removeprefix("teacher") or 0))


def _seconds_per_epoch(run_dir: Path) -> float:
    state = read_state(run_dir)
    return state.train_seconds / max(1, state.epochs_done)


def _train_teachers(job: Job) -> list[Path]:
    """Train teachers while the clock allows; return the finished ones (outputs stored)."""
    recipe = job.recipe
    # the student's share, and never less than a step can use (its first epoch compiles)
    kept_for_student = max(recipe.student_share * job.time_budget, 1.5 * job.min_step_seconds)
    while True:
        teachers = _teacher_dirs(job.out)
        finished = [t for t in teachers if read_state(t).finished]
        current = next((t for t in teachers if not read_state(t).finished),
                       job.out / f"teacher{len(teachers) + 1}")
        seconds = job.left() - kept_for_student - recipe.reserve_seconds
        if finished and current not in teachers:  # a further teacher: only with time to spare
            need = recipe.teacher_min_epochs * _seconds_per_epoch(finished[0])
            if seconds < need or len(finished) >= recipe.max_teachers:
                return finished
        if seconds < job.min_step_seconds:
            return finished
        seed = int(current.name.removeprefix("teacher"))
        if not job.run_step(current.name, teacher_options(recipe, seed), seconds):
            return finished
        _store_teacher_logits(current, job.data)


def _store_teacher_logits(run_dir: Path, data: str) -> None:
    """Keep a finished teacher's outputs on the training images and on PublicTest in its
    folder, so the student never needs its (large) weights again."""
    from emotion_recognition.core.labels import emotion_set
    from emotion_recognition.training.distill import (PUBLICTEST_LOGITS_FILE,
                                                      TRAIN_LOGITS_FILE, run_logits)
    from emotion_recognition.training.train import resumed_config, splits_for

    config = resumed_config(run_dir, data=data)
    train_split, val_split = splits_for(config, emotion_set(config.classes))
    run_logits(run_dir, train_split.images, train_split.keys, TRAIN_LOGITS_FILE)
    run_logits(run_dir, val_split.images, val_split.keys, PUBLICTEST_LOGITS_FILE)


def student_name(teachers: list[Path], warm: bool) -> str:
    """student<number of run teachers>, with a ``w`` when warm-started."""
    return f"student{len(teachers)}" + ("w" if warm else "")


def _student_of(job: Job, teachers: list[Path]) -> Path | None:
    """The student distilled from these teachers (and ``also_teach``), trained or resumed
    now; None if the job's time ran out first."""
    recipe = job.recipe
    student = job.out / student_name(teachers, bool(job.student_init))
    plan = job.left() - recipe.reserve_seconds
    if not read_state(student).finished and plan < job.min_step_seconds:
        return None
    options = student_options(recipe, [*teachers, *map(Path, job.also_teach)], job.student_init)
    done = job.run_step(student.name, options, plan)
    return student if done else None


def _serve(job: Job, student: Path) -> dict:
    """served/: the student's 7- and 4-emotion models (one network), calibrated."""
    from emotion_recognition.core.labels import FOUR, SEVEN
    from emotion_recognition.training.calibrate import calibrate_model_dir
    from emotion_recognition.training.data import load_fer2013

    served = job.out / SERVED_DIR
    served.mkdir(exist_ok=True)
    for name in (SEVEN.model_file, FOUR.model_file, "labels.json"):
        shutil.copy(student / name, served / name)
    report = calibrate_model_dir(served, load_fer2013(job.data)["PublicTest"])
    report["from"] = {"emotion7": student.name, "emotion4": student.name}
    (served / "calibration.json").write_text(json.dumps(report, indent=2))
    return report


def run_recipe(data: str, out: str | Path, time_budget: float, recipe: str = "gpu",
               min_step_seconds: float = 60.0, student_init: str = "",
               also_teach: tuple = ()) -> dict:
    """Advance the recipe by one job; return (and write) where each step stands."""
    job = Job(data, Path(out), time_budget, RECIPES[recipe], min_step_seconds, student_init,
              also_teach)
    job.out.mkdir(parents=True, exist_ok=True)
    teachers = _train_teachers(job)
    student = _student_of(job, teachers) if teachers else None
    served = job.out / SERVED_DIR / "calibration.json"
    if student and not (served.is_file() and json.loads(served.read_text())["from"]["emotion7"]
                        == student.name):
        _serve(job, student)
    expected = student_name(_teacher_dirs(job.out), bool(student_init))
    return write_status(job.out, recipe, expected)


def write_status(out: Path, recipe: str, student: str) -> dict:
    """recipe_status.json: every run's epochs, plan and best PublicTest accuracy, and
    whether the job ended with served models from the ``student`` it was after."""
    runs = sorted(p.parent.parent for p in out.glob(f"*/{CHECKPOINT_DIR}/state.json"))
    steps = {}
    for run_dir in runs:
        state = read_state(run_dir)
        steps[run_dir.name] = {"epochs_done": state.epochs_done, "finished": state.finished,
                               "planned_epochs": state.planned_epochs,
                               "seconds": state.train_seconds,
                               "best_public_test_accuracy": round(state.best_val_accuracy, 4)}
    calibration = out / SERVED_DIR / "calibration.json"
    served_from = json.loads(calibration.read_text())["from"] if calibration.is_file() else None
    status = {"recipe": recipe, "steps": steps, "served_from": served_from,
              "finished": bool(served_from and served_from["emotion7"] == student),
              "updated": time.strftime("%Y-%m-%d %H:%M:%S")}
    (out / STATUS_FILE).write_text(json.dumps(status, indent=2))
    print(json.dumps(status), flush=True)
    return status


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a training pack (.npz) or fer2013.zip")
    parser.add_argument("--out", type=Path, required=True, help="the recipe's output folder")
    parser.add_argument("--time-budget", type=float, default=480.0,
                        help="seconds this job may take, a budget of your choice (default 480)")
    parser.add_argument("--recipe", default="gpu", choices=sorted(RECIPES))
    parser.add_argument("--student-init", default="", metavar="MODEL",
                        help="warm-start the student from this served .keras (or run folder)")
    parser.add_argument("--also-teach", nargs="*", default=[], metavar="MODEL",
                        help="served .keras models (or run folders) that teach the student "
                             "beside the recipe's teachers, e.g. the model served now")
    args = parser.parse_args(argv)
    run_recipe(args.data, args.out, args.time_budget, args.recipe,
               min_step_seconds=5.0 if args.recipe == "tiny" else 60.0,
               student_init=args.student_init, also_teach=tuple(args.also_teach))


if __name__ == "__main__":
    main()
