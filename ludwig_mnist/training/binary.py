"""Keras side of the binary output: Ludwig's BWCEW training loss and the per-epoch metric function."""

from __future__ import annotations

import math
from functools import partial

import keras
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


class BinaryRate(keras.metrics.Metric):
    """One of Ludwig's binary training metrics, accumulated over the epoch's batches from the sigmoid (B, 1):
    accuracy at the feature's threshold (P >= t), precision / recall / specificity at torchmetrics' 0.5 (P > 0.5)."""

    def __init__(self, kind: str, threshold: float = 0.5, **kwargs):
        super().__init__(name=kind, **kwargs)
        self.kind, self.threshold = kind, threshold
        self.counts = self.add_variable((4,), initializer="zeros", name="counts")  # tp, fp, tn, fn

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth = ops.cast(ops.reshape(y_true, (-1,)), "float32")
        probability = ops.reshape(y_pred, (-1,))
        predicted = ops.cast(probability >= self.threshold if self.kind == "accuracy"
                             else probability > self.threshold, "float32")
        self.counts.assign_add(ops.stack([ops.sum(predicted * truth), ops.sum(predicted * (1 - truth)),
                                          ops.sum((1 - predicted) * (1 - truth)), ops.sum((1 - predicted) * truth)]))

    def result(self):
        tp, fp, tn, fn = (self.counts[i] for i in range(4))
        num, den = {"accuracy": (tp + tn, tp + fp + tn + fn), "precision": (tp, tp + fp),
                    "recall": (tp, tp + fn), "specificity": (tn, tn + fp)}[self.kind]
        return ops.where(den > 0, num / ops.maximum(den, 1.0), 0.0)

    def reset_state(self):
        self.counts.assign(ops.zeros_like(self.counts))


class BinaryAUC(keras.metrics.AUC):
    """ROC AUC of P(True) from (B,) labels (Keras interpolates over num_thresholds thresholds)."""

    def __init__(self, **kwargs):
        super().__init__(num_thresholds=1001, name="roc_auc", **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(ops.reshape(y_true, (-1, 1)), ops.reshape(y_pred, (-1, 1)), sample_weight)


def binary_training_metrics(feature) -> list:
    """The binary metrics Ludwig accumulates over a training epoch (evaluate_training_set: false)."""
    return [BinaryRate("accuracy", feature.threshold), BinaryRate("precision"), BinaryRate("recall"),
            BinaryRate("specificity"), BinaryAUC()]


def binary_accumulated_metrics(logs: dict) -> dict[str, float]:
    """Keras's epoch logs → Ludwig's binary training metrics (loss includes loss.weight and regularisation)."""
    loss = float(logs["loss"])
    return {"accuracy": float(logs["accuracy"]), "binary_weighted_cross_entropy": loss, "loss": loss,
            "precision": float(logs["precision"]), "recall": float(logs["recall"]),
            "roc_auc": float(logs["roc_auc"]), "specificity": float(logs["specificity"])}
