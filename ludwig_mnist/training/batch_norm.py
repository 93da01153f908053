"""Batch-norm evaluation statistics that belong to the weights being evaluated (precise batch norm).

A batch-norm layer evaluates with moving averages of its training batches' mean and variance.  Those averages
mix batches seen under older weights: with momentum 0.1 (torch's, Keras 0.9) about the last 10 steps, and
early in training from scratch the weights move so much per step that the averages describe no network at
all.  Measured in the setting of tests/test_families.py's slow test: shufflenet_v2 x0_5 on 256 images with
a class-coding stripe, 3 epochs at Adam 1e-3, reached 0.95 training accuracy and 0.25 (chance) evaluated with
the moving averages, 0.98 with re-estimated statistics.

So after each epoch, before it is evaluated, every trainable batch-norm layer's moving mean and variance are
re-estimated with the epoch's final weights: up to ``BATCHES`` training batches run forward in training mode
(no weight update) and each layer keeps the plain average of their statistics (Wu & Johnson, "Rethinking
'Batch' in BatchNorm", 2021; pycls's precise BN).  Frozen layers (``trainable: false``) keep theirs.
"""

from __future__ import annotations

import keras
import numpy as np

from .batches import ImageBatches

BATCHES = 16  # forward passes per epoch: a fraction of an epoch's cost, some thousand images' statistics


def trainable_batch_norms(model: keras.Model) -> list:
    return [layer for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]


def recompute_statistics(model: keras.Model, images, batch_size: int, seed: int = 0, batches: int = BATCHES) -> int:
    """Set each trainable batch norm's moving statistics to the average over ``batches`` training batches of
    (B, H, W, C) uint8 ``images`` under the current weights; returns the number of batches used."""
    norms = trainable_batch_norms(model)
    if not norms:
        return 0
    source = ImageBatches(images, None, batch_size, shuffle=True, seed=seed)
    count = min(batches, len(source))
    momenta = [layer.momentum for layer in norms]
    try:
        for index in range(count):
            for layer in norms:  # moving ← m·moving + (1 − m)·batch with m = 1 − 1/(i+1): a running plain mean
                layer.momentum = 1.0 - 1.0 / (index + 1)
            model(np.asarray(source[index]), training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return count


class PreciseBatchNorm(keras.callbacks.Callback):
    """Before the epoch's evaluation (this callback runs before EpochMonitor): recompute the statistics."""

    def __init__(self, images, batch_size: int, seed: int = 0):
        super().__init__()
        self.images, self.batch_size, self.seed = images, batch_size, seed

    def on_epoch_end(self, epoch, logs=None):
        recompute_statistics(self.model, self.images, self.batch_size, seed=self.seed + epoch)
