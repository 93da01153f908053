"""Keras side of the binary output: Ludwig's BWCEW training loss and the per-epoch metric function."""

from __future__ import annotations

import math
from functools import partial

from keras import ops

from ..config.schema import ExperimentConfig
from ..evaluate_binary import binary_epoch_metrics

EPSILON = 1e-7  # the same clip as evaluate_binary, so the logged and the optimised loss agree


def bwcew_loss(config: ExperimentConfig):
    """Ludwig's binary_weighted_cross_entropy on the sigmoid output (B, 1), times loss.weight.

    positive_class_weight scales the positive rows' term (BCEWithLogits pos_weight); robust_lambda λ gives
    (1 - λ) loss + λ / 2; confidence_penalty c adds c (ln 2 - max_b(-p_b ln p_b)) / ln 2, Ludwig's form.
    """
    loss = config.output_feature.loss
    weight = loss.positive_class_weight or 1.0

    def binary_weighted_cross_entropy(y_true, y_pred):  # y_true (B,) or (B, 1) 0/1, y_pred (B, 1)
        target = ops.cast(ops.reshape(y_true, (-1,)), "float32")
        probability = ops.reshape(y_pred, (-1,))
        clipped = ops.clip(probability, EPSILON, 1.0 - EPSILON)
        per_row = -(weight * target * ops.log(clipped) + (1.0 - target) * ops.log(1.0 - clipped))
        if loss.robust_lambda > 0:
            per_row = (1 - loss.robust_lambda) * per_row + loss.robust_lambda / 2
        value = ops.mean(per_row)
        if loss.confidence_penalty > 0:
            entropy = ops.max(-probability * ops.log(ops.clip(probability, 1e-10, 1.0)))
            value = value + loss.confidence_penalty * (math.log(2) - entropy) / math.log(2)
        return value * loss.weight

    return binary_weighted_cross_entropy


def binary_metrics_fn(feature):
    """(labels (N,), probabilities (N, 2)) → a binary output's per-epoch metrics dict."""
    return partial(binary_epoch_metrics, threshold=feature.threshold, loss=feature.loss)
