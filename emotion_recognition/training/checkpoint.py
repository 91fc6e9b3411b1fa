"""Resumable runs: everything needed to continue a run exactly where it stopped.

A run folder holds ``checkpoint/`` (the latest epoch's weights, the optimizer's variables,
which carry its step and so the learning-rate schedule's position, and ``state.json``:
epochs done, best PublicTest accuracy so far, seconds trained). ``history.csv`` is
appended to, and the augmentation of an epoch depends only on (seed, epoch), so a resumed
run sees the same batches it would have seen without the stop.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.json"


@dataclass
class RunState:
    """Where a run stands after its last finished epoch."""

    epochs_done: int = 0
    best_val_accuracy: float = -1.0
    best_epoch: int = 0  # 1-based; 0 = none yet
    train_seconds: float = 0.0
    finished: bool = False
    stopped_by_time_budget: bool = False
    planned_epochs: int = 0  # a clock-planned run's number of epochs; 0 = not planned (yet)

    def target_epochs(self, configured: int) -> int:
        """The epochs this run ends at: its plan, or the configured number."""
        return self.planned_epochs or configured


def read_state(run_dir: str | Path) -> RunState:
    path = Path(run_dir) / CHECKPOINT_DIR / STATE_FILE
    if not path.is_file():
        return RunState()
    known = RunState.__dataclass_fields__
    return RunState(**{k: v for k, v in json.loads(path.read_text()).items() if k in known})


def _write_atomically(path: Path, write) -> None:
    """Write via a temporary file and a rename, so a kill mid-write leaves the old file."""
    temporary = path.with_name("partial-" + path.name)  # same suffixes: Keras checks them
    write(temporary)
    os.replace(temporary, path)


def _random_states(model) -> list:
    """The dropout layers' random-generator states: variables that are not weights."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def save_checkpoint(model, run_dir: str | Path, state: RunState) -> None:
    """Weights and optimizer variables (in one .weights.h5), random states, then the state."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomically(folder / "weights.weights.h5", lambda p: model.save_weights(p))
    randoms = [keras.ops.convert_to_numpy(v) for v in _random_states(model)]
    _write_atomically(folder / "random_state.npz", lambda p: np.savez(p, *randoms))
    # state last: it is what says the checkpoint is complete
    _write_atomically(folder / STATE_FILE,
                      lambda p: p.write_text(json.dumps(asdict(state), indent=2)))


def restore_checkpoint(model, run_dir: str | Path) -> RunState:
    """Load the latest epoch's weights, optimizer variables (its step, so the schedule's
    position) and random states into a compiled model; a fresh run is left as it is."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    state = read_state(run_dir)
    if state.epochs_done == 0:
        return state
    model.optimizer.build(model.trainable_variables)  # so load_weights restores its variables
    model.load_weights(folder / "weights.weights.h5")
    with np.load(folder / "random_state.npz") as stored:
        values = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    for variable, value in zip(_random_states(model), values):
        variable.assign(value)
    return state


class RunCheckpoint(keras.callbacks.Callback):
    """After every epoch: keep the best weights (by PublicTest accuracy), save a checkpoint,
    and stop cleanly when the next epoch would not fit in the time budget."""

    def __init__(self, run_dir: str | Path, state: RunState, deadline: float | None = None):
        """``deadline``: a time.monotonic() value by which the run must have stopped."""
        super().__init__()
        self.run_dir, self.state, self.deadline = Path(run_dir), state, deadline
        self._epoch_started = time.monotonic()
        self._durations: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        self._durations.append(now - self._epoch_started)
        # the job's first epoch includes compiling: it stands in only until another is timed
        longest = max(self._durations[1:] or self._durations)
        accuracy = float((logs or {}).get("val_accuracy", -1.0))
        state = self.state
        state.epochs_done = epoch + 1
        state.train_seconds = round(state.train_seconds + now - self._epoch_started, 1)
        if accuracy > state.best_val_accuracy:
            state.best_val_accuracy, state.best_epoch = accuracy, epoch + 1
            _write_atomically(self.run_dir / "best.weights.h5",
                              lambda p: self.model.save_weights(p))
        more_to_do = epoch + 1 < state.target_epochs(self.params.get("epochs", 0))
        # the slowest epoch so far, with a margin, must end before the deadline
        if more_to_do and self.deadline and now + 1.15 * longest > self.deadline:
            state.stopped_by_time_budget = True
            self.model.stop_training = True
        save_checkpoint(self.model, self.run_dir, state)
