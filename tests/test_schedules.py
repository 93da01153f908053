"""Learning-rate schedules: warmup then decay, scaled by reduce-on-plateau."""

import math

import pytest

from ludwig_mnist.config.trainer import LearningRateScheduler
from ludwig_mnist.training.schedules import LudwigLearningRate, ReduceOnPlateau


def rate(schedule, step):
    return float(schedule(step))


# Expected values worked out by hand from Ludwig 0.10's modules/lr_scheduler.py (torch LambdaLR after a
# SequentialLR warmup; CosineAnnealingWarmRestarts), so a drift from Ludwig's formulas fails here.


def test_warmup_then_linear_decay():
    schedule = LudwigLearningRate(0.1, LearningRateScheduler(decay="linear", warmup_fraction=0.1), total_steps=100)
    assert rate(schedule, 0) == pytest.approx(0.0)  # torch's warmup starts at 0 / W
    assert rate(schedule, 5) == pytest.approx(0.05)
    assert rate(schedule, 10) == pytest.approx(0.1)  # decay step 0: (100 - 10 - 0) / 90
    assert rate(schedule, 55) == pytest.approx(0.05)  # halfway through the 90 decay steps
    assert rate(schedule, 100) == pytest.approx(0.0)


def test_warmup_evaluations_count_epochs():
    schedule = LudwigLearningRate(1.0, LearningRateScheduler(warmup_evaluations=2), total_steps=100, steps_per_epoch=10)
    assert rate(schedule, 10) == pytest.approx(0.5) and rate(schedule, 20) == pytest.approx(1.0)


def test_exponential_has_ludwigs_plus_one_exponent():
    exponential = LudwigLearningRate(1.0, LearningRateScheduler(decay="exponential", decay_rate=0.5, decay_steps=10), 100)
    assert rate(exponential, 0) == pytest.approx(0.5)  # decay_rate ** (1 + 0 / 10)
    assert rate(exponential, 10) == pytest.approx(0.25) and rate(exponential, 15) == pytest.approx(0.5 ** 2.5)
    stair = LudwigLearningRate(1.0, LearningRateScheduler(decay="exponential", decay_rate=0.5, decay_steps=10,
                                                          staircase=True), 100)
    assert rate(stair, 15) == pytest.approx(0.5 ** 3)  # ceil(2.5)


def test_cosine_restarts_every_epoch_by_default():
    cosine = LudwigLearningRate(1.0, LearningRateScheduler(decay="cosine"), 100, steps_per_epoch=10)
    assert rate(cosine, 5) == pytest.approx(0.5) and rate(cosine, 10) == pytest.approx(1.0)
    assert rate(cosine, 2) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.2)))
    growing = LudwigLearningRate(1.0, LearningRateScheduler(decay="cosine", t_0=10, t_mult=2), 100)
    assert rate(growing, 20) == pytest.approx(0.5) and rate(growing, 30) == pytest.approx(1.0)  # cycles 10, 20, 40
    floored = LudwigLearningRate(1.0, LearningRateScheduler(decay="cosine", t_0=10, eta_min=0.1), 100)
    assert rate(floored, 5) == pytest.approx(0.55)


def test_reduce_on_plateau_scales_at_most_n_times():
    schedule = LudwigLearningRate(1.0, LearningRateScheduler(reduce_on_plateau=1, reduce_on_plateau_patience=2,
                                                             reduce_on_plateau_rate=0.5), 10)
    values = iter([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    messages = []
    callback = ReduceOnPlateau(schedule, lambda: next(values), maximize=False, log=messages.append)
    for epoch in range(6):
        callback.on_epoch_end(epoch)
    assert rate(schedule, 3) == pytest.approx(0.5)  # reduced once, not twice
    assert len(messages) == 1 and "scaled by 0.5" in messages[0]
