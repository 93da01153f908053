"""Inference: probabilities for prepared images, in row order, in inference mode (no dropout, no augmentation)."""

from __future__ import annotations

import keras
import numpy as np

from ..config.schema import ExperimentConfig
from ..data.cache import is_streamed
from .batches import ImageBatches

AUTO_EVAL_BATCH_SIZE = 1024  # inference has no backward pass, so larger batches amortise per-batch overhead


def resolve_eval_batch_size(config: ExperimentConfig) -> int:
    value = config.trainer.eval_batch_size
    return AUTO_EVAL_BATCH_SIZE if value in (None, "auto") else int(value)


def predict_probabilities(model: keras.Model, images: np.ndarray, batch_size: int) -> np.ndarray:
    """(N, H, W, C) uint8 → (N, num_classes) float32 rows summing to 1, in inference mode (no dropout);
    a binary model gives (N, 2): P(False), P(True)."""
    if is_streamed(images):  # read from the on-disk cache one batch at a time, in row order
        outputs = np.asarray(model.predict(ImageBatches(images, None, batch_size), verbose=0), dtype=np.float32)
    else:
        outputs = np.asarray(model.predict(images, batch_size=batch_size, verbose=0), dtype=np.float32)
    if outputs.shape[1] == 1:  # a binary output's P(True) (N, 1) → (N, 2) [P(False), P(True)], Ludwig's order
        return np.concatenate([1.0 - outputs, outputs], axis=1)
    if getattr(model.layers[-1], "activation", None) is keras.activations.sigmoid:
        # independent sigmoid outputs (loss mean_squared_error): normalise so statistics see a distribution
        outputs = outputs / np.maximum(outputs.sum(axis=1, keepdims=True), 1e-12)
    return outputs
