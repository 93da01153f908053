"""The training metrics Ludwig accumulates during an epoch, as Keras metrics under Ludwig's names.

With ``evaluate_training_set: false`` (Ludwig's default) the training columns of training_statistics.json are
these running values over the epoch's batches (dropout and augmentation active), not a separate pass.
"""

from __future__ import annotations

import keras
from keras import ops


class MacroAccuracy(keras.metrics.Metric):
    """Ludwig's category `accuracy` (torchmetrics' macro recall), accumulated over the epoch's batches."""

    def __init__(self, num_classes: int, name: str = "accuracy_macro", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.hits = self.add_variable((num_classes,), initializer="zeros", name="hits")
        self.support = self.add_variable((num_classes,), initializer="zeros", name="support")

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), self.num_classes)  # (B, C)
        correct = ops.cast(ops.equal(ops.argmax(y_pred, axis=-1), ops.argmax(truth, axis=-1)), "float32")
        self.support.assign_add(ops.sum(truth, axis=0))
        self.hits.assign_add(ops.sum(truth * correct[:, None], axis=0))

    def result(self):
        seen = ops.cast(self.support > 0, "float32")
        return ops.sum(seen * self.hits / ops.maximum(self.support, 1.0)) / ops.maximum(ops.sum(seen), 1.0)

    def reset_state(self):
        self.hits.assign(ops.zeros_like(self.hits))
        self.support.assign(ops.zeros_like(self.support))


class OneVsRestAUC(keras.metrics.AUC):
    """Macro one-vs-rest ROC AUC from integer labels (Keras interpolates over num_thresholds thresholds)."""

    def __init__(self, num_classes: int, name: str = "roc_auc", **kwargs):
        super().__init__(num_thresholds=1001, multi_label=True, num_labels=num_classes, name=name, **kwargs)
        self.num_classes = num_classes

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), self.num_classes)
        return super().update_state(truth, y_pred, sample_weight)


def training_metrics(num_classes: int, top_k: int) -> list:
    """The metrics Ludwig accumulates over a training epoch (evaluate_training_set: false), under its names."""
    return [MacroAccuracy(num_classes, name="accuracy_macro"),
            keras.metrics.SparseCategoricalAccuracy(name="accuracy_micro"),
            keras.metrics.SparseTopKCategoricalAccuracy(k=min(top_k, num_classes), name="hits_at_k"),
            OneVsRestAUC(num_classes, name="roc_auc")]


def accumulated_training_metrics(logs: dict) -> dict[str, float]:
    """Keras's epoch logs → Ludwig's training metric names (loss includes the regularisation term, as in Ludwig)."""
    return {"loss": float(logs["loss"]), "accuracy": float(logs["accuracy_macro"]),
            "accuracy_micro": float(logs["accuracy_micro"]), "hits_at_k": float(logs["hits_at_k"]),
            "roc_auc": float(logs["roc_auc"])}
