"""Learning-rate schedules: warmup then decay, scaled by reduce-on-plateau."""

import math

import pytest

from ludwig_mnist.config.schema import LearningRateScheduler
from ludwig_mnist.training.schedules import LudwigLearningRate, ReduceOnPlateau


def rate(schedule, step):
    return float(schedule(step))


def test_warmup_then_linear_decay():
    schedule = LudwigLearningRate(0.1, LearningRateScheduler(decay="linear", warmup_fraction=0.1), total_steps=100)
    assert rate(schedule, 0) == pytest.approx(0.01)  # 1/10 of the way through warmup
    assert rate(schedule, 9) == pytest.approx(0.1)
    assert rate(schedule, 55) == pytest.approx(0.05)  # halfway through the 90 decay steps
    assert rate(schedule, 100) == pytest.approx(0.0)


def test_exponential_and_cosine():
    exponential = LudwigLearningRate(1.0, LearningRateScheduler(decay="exponential", decay_rate=0.5, decay_steps=10), 100)
    assert rate(exponential, 10) == pytest.approx(0.5) and rate(exponential, 15) == pytest.approx(0.5 ** 1.5)
    stair = LudwigLearningRate(1.0, LearningRateScheduler(decay="exponential", decay_rate=0.5, decay_steps=10,
                                                          staircase=True), 100)
    assert rate(stair, 15) == pytest.approx(0.5)
    cosine = LudwigLearningRate(1.0, LearningRateScheduler(decay="cosine"), 100)
    assert rate(cosine, 50) == pytest.approx(0.5) and rate(cosine, 25) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))


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
