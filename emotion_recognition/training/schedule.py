"""Learning-rate schedules: warm-up then cosine decay, per step or per epoch by the clock.

A run with a fixed number of epochs decays per step (``step_schedule``, compiled into the
optimizer). A run given ``--plan-seconds`` does not know its number of epochs when it
starts: ``ClockPlan`` times its epochs, decides after the first full epoch of the job how
many fit in the seconds given, and sets the learning rate at each epoch's start (warm-up,
then a cosine over the planned epochs), so nothing has to be compiled twice.
"""

from __future__ import annotations

import math
import time

import keras

# an epoch is assumed this much slower than the one timed, so the plan ends in time
EPOCH_TIME_MARGIN = 1.05


def step_schedule(learning_rate: float, epochs: int, warmup_epochs: int, steps_per_epoch: int):
    """Linear warm-up from a tenth of the rate, then cosine decay to 0, per step."""
    total = max(1, epochs * steps_per_epoch)
    warmup = min(warmup_epochs * steps_per_epoch, total // 2)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate * 0.1, decay_steps=total - warmup,
        warmup_target=learning_rate, warmup_steps=warmup, alpha=0.0)


def epoch_learning_rate(epoch: int, epochs: int, learning_rate: float,
                        warmup_epochs: int) -> float:
    """The same shape per epoch: from a tenth of the rate up over the warm-up epochs, then
    a cosine from the full rate down towards 0 at ``epochs``."""
    warmup = min(warmup_epochs, max(0, epochs - 1))
    if epoch < warmup:
        return learning_rate * (0.1 + 0.9 * epoch / warmup)
    progress = (epoch - warmup) / max(1, epochs - warmup)
    return learning_rate * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def planned_epochs(epochs_done: int, seconds_left: float, epoch_seconds: float,
                   max_epochs: int) -> int:
    """How many epochs a run can have in all, given the time left and one epoch's time."""
    more = int(max(0.0, seconds_left) // (epoch_seconds * EPOCH_TIME_MARGIN))
    return max(epochs_done, min(max_epochs, epochs_done + more))


class ClockPlan(keras.callbacks.Callback):
    """Per-epoch learning rate over a number of epochs chosen by the clock.

    ``state.planned_epochs`` (0 until decided) is set once, after the first epoch of the
    job that did not include compiling (or after the first, when the time left is short);
    from then on the run stops there. A resumed run keeps the plan it has.
    """

    def __init__(self, state, learning_rate: float, warmup_epochs: int, max_epochs: int,
                 plan_deadline: float):
        """``plan_deadline``: the time.monotonic() value by which the run should end."""
        super().__init__()
        self.state, self.learning_rate = state, learning_rate
        self.warmup_epochs, self.max_epochs = warmup_epochs, max_epochs
        self.plan_deadline = plan_deadline
        self._epochs_this_job = 0
        self._started = time.monotonic()

    @property
    def horizon(self) -> int:
        return self.state.planned_epochs or self.max_epochs

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.monotonic()
        self.model.optimizer.learning_rate = epoch_learning_rate(
            epoch, self.horizon, self.learning_rate, self.warmup_epochs)

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        self._epochs_this_job += 1
        took, left = now - self._started, self.plan_deadline - now
        # plan after a full epoch without compiling, or at once when not even one more
        # epoch as slow as this one would fit
        if not self.state.planned_epochs and (self._epochs_this_job >= 2 or left < 2 * took):
            self.state.planned_epochs = planned_epochs(epoch + 1, left, took, self.max_epochs)
            print(f"clock plan: {self.state.planned_epochs} epochs "
                  f"({took:.1f} s an epoch)", flush=True)
        if self.state.planned_epochs and epoch + 1 >= self.state.planned_epochs:
            self.model.stop_training = True
