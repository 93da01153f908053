"""Ludwig's learning_rate_scheduler on Keras: warmup, then linear/exponential/cosine decay,
with reduce-on-plateau steps that multiply the whole schedule by reduce_on_plateau_rate.
"""

from __future__ import annotations

import math
from typing import Callable

import keras
from keras import ops

from ..config.schema import LearningRateScheduler


class LudwigLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """lr(step) = base · warmup(step) · decay(step after warmup) · plateau_scale."""

    def __init__(self, base_learning_rate: float, scheduler: LearningRateScheduler, total_steps: int):
        self.base = float(base_learning_rate)
        self.scheduler = scheduler
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = scheduler.warmup_fraction * self.total_steps
        # reduce_on_plateau multiplies this; a variable so the compiled train step sees the change.
        self.plateau_scale = keras.Variable(1.0, trainable=False, dtype="float32", name="plateau_scale")

    def __call__(self, step):
        step = ops.cast(step, "float32")
        rate = ops.convert_to_tensor(self.base, dtype="float32")
        if self.warmup_steps > 0:
            rate = rate * ops.minimum(1.0, (step + 1.0) / self.warmup_steps)
        after = ops.maximum(step - self.warmup_steps, 0.0)
        decay_span = max(self.total_steps - self.warmup_steps, 1.0)
        kind = self.scheduler.decay
        if kind == "linear":
            rate = rate * ops.maximum(0.0, 1.0 - after / decay_span)
        elif kind == "exponential":
            exponent = after / self.scheduler.decay_steps
            if self.scheduler.staircase:
                exponent = ops.floor(exponent)
            rate = rate * ops.power(self.scheduler.decay_rate, exponent)
        elif kind == "cosine":
            rate = rate * 0.5 * (1.0 + ops.cos(math.pi * ops.minimum(after / decay_span, 1.0)))
        return rate * self.plateau_scale

    def get_config(self):
        return {"base_learning_rate": self.base, "total_steps": self.total_steps}


def is_scheduled(scheduler: LearningRateScheduler) -> bool:
    return scheduler.decay is not None or scheduler.warmup_fraction > 0 or scheduler.reduce_on_plateau > 0


class ReduceOnPlateau(keras.callbacks.Callback):
    """Multiply the schedule by `rate` when the monitored metric stalls for `patience` epochs, at most `times` times.

    Must run after the callback that records the epoch's metrics: it reads them through `read_metric`.
    """

    def __init__(self, schedule: LudwigLearningRate, read_metric: Callable[[], float | None], maximize: bool,
                 log: Callable[[str], None]):
        super().__init__()
        config = schedule.scheduler
        self.schedule, self.read_metric, self.maximize, self.log = schedule, read_metric, maximize, log
        self.patience, self.rate, self.times = config.reduce_on_plateau_patience, config.reduce_on_plateau_rate, config.reduce_on_plateau
        self.best: float | None = None
        self.wait = 0
        self.reductions = 0

    def on_epoch_end(self, epoch, logs=None):
        value = self.read_metric()
        if value is None or self.reductions >= self.times:
            return
        if self.best is None or (value > self.best if self.maximize else value < self.best):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            scale = float(keras.ops.convert_to_numpy(self.schedule.plateau_scale)) * self.rate
            self.schedule.plateau_scale.assign(scale)
            self.reductions += 1
            self.wait = 0
            self.log(f"reduce on plateau: no improvement for {self.patience} epochs, learning rate scaled by "
                     f"{self.rate} ({self.reductions}/{self.times})")
