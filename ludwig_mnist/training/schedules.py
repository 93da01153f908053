"""Ludwig's learning_rate_scheduler on Keras: warmup, then linear/exponential/cosine decay,
with reduce-on-plateau steps that multiply the whole schedule by reduce_on_plateau_rate.
"""

from __future__ import annotations

import math
from typing import Callable

import keras
from keras import ops

from ..config.trainer import LearningRateScheduler


class LudwigLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """Ludwig 0.10's schedule (modules/lr_scheduler.py), per optimizer step t (0 at the first update):

    warmup (t < W): base · t / W, then with u = t - W:
      none: base · 1;  linear: base · max(0, (N - W - u) / (N - W));
      exponential: base · decay_rate ^ (1 + u / decay_steps)  (the exponent rounded up when staircase);
      cosine: torch's CosineAnnealingWarmRestarts, period t_0 (default: one epoch of steps), t_mult, eta_min.
    W = max(warmup_fraction · N, warmup_evaluations · steps per epoch); reduce-on-plateau multiplies it all.
    """

    def __init__(self, base_learning_rate: float, scheduler: LearningRateScheduler, total_steps: int,
                 steps_per_epoch: int = 1):
        self.base = float(base_learning_rate)
        self.scheduler = scheduler
        self.total_steps = max(int(total_steps), 1)
        self.steps_per_epoch = max(int(steps_per_epoch), 1)
        self.warmup_steps = max(scheduler.warmup_fraction * self.total_steps,
                                scheduler.warmup_evaluations * self.steps_per_epoch)
        # reduce_on_plateau multiplies this; a variable so the compiled train step sees the change.
        self.plateau_scale = keras.Variable(1.0, trainable=False, dtype="float32", name="plateau_scale")

    def _decayed(self, u):
        config, base = self.scheduler, self.base
        if config.decay == "linear":
            span = max(1.0, self.total_steps - self.warmup_steps)
            return base * ops.maximum(0.0, (self.total_steps - self.warmup_steps - u) / span)
        if config.decay == "exponential":
            exponent = 1.0 + u / config.decay_steps
            if config.staircase:
                exponent = ops.ceil(exponent)
            return base * ops.power(config.decay_rate, exponent)
        if config.decay == "cosine":
            period, growth, floor = float(config.t_0 or self.steps_per_epoch), float(config.t_mult), config.eta_min
            if growth == 1.0:
                cycle_start, length = ops.floor(u / period) * period, period
            else:  # cycle n spans period · growth^n steps
                n = ops.floor(ops.log(u / period * (growth - 1.0) + 1.0) / math.log(growth))
                cycle_start = period * (ops.power(growth, n) - 1.0) / (growth - 1.0)
                length = period * ops.power(growth, n)
            position = (u - cycle_start) / length
            return floor + (base - floor) * 0.5 * (1.0 + ops.cos(math.pi * position))
        return ops.convert_to_tensor(base, dtype="float32")

    def __call__(self, step):
        step = ops.cast(step, "float32")
        rate = self._decayed(ops.maximum(step - self.warmup_steps, 0.0))
        if self.warmup_steps > 0:
            rate = ops.where(step < self.warmup_steps, self.base * step / self.warmup_steps, rate)
        return rate * self.plateau_scale

    def get_config(self):
        return {"base_learning_rate": self.base, "total_steps": self.total_steps,
                "steps_per_epoch": self.steps_per_epoch}


def is_scheduled(scheduler: LearningRateScheduler) -> bool:
    return (scheduler.decay is not None or scheduler.warmup_fraction > 0 or scheduler.warmup_evaluations > 0
            or scheduler.reduce_on_plateau > 0)


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
