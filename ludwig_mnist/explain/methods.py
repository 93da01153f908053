"""The attribution methods, one registry: name → function of (model, pixels, classes) → Attribution.

    gradcam               Selvaraju et al. 2017: the last convolutional feature map A (B, h, w, c) whose
                          spatial size is above 1x1, weighted per channel by the mean gradient of the class
                          logit, summed over channels, ReLU; bilinearly resized to the image.  Needs a
                          convolutional encoder.
    integrated_gradients  Sundararajan et al. 2017: (x - x') times the mean gradient of the class logit along
                          the straight path from the black image x' to x (midpoint rule), on every encoder.

Both explain the logit (before softmax) of the class asked for, which the pipelines set to the predicted class.
Heatmaps are (B, H, W) in [0, 1] per image (divided by their maximum; an all-zero map stays zero: Grad-CAM's
ReLU can remove everything, which the report then says).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

from ..errors import ModelError
from .graph import class_scores, trace_model

IG_STEPS = 32  # path points; the completeness gap (sum of attributions vs logit difference) is checked in tests


@dataclass(frozen=True)
class Attribution:
    """raw: Grad-CAM (B, h, w) at the feature map's size, IG (B, H, W, C) signed per pixel and channel;
    heatmaps: (B, H, W) float32 in [0, 1]; layer: the feature map Grad-CAM used (None for IG)."""

    raw: np.ndarray
    heatmaps: np.ndarray
    layer: str | None = None


def _normalise(maps: np.ndarray) -> np.ndarray:
    """(B, H, W) non-negative → each divided by its own maximum (zero maps stay zero)."""
    peak = maps.reshape(len(maps), -1).max(axis=1)
    return (maps / np.where(peak > 0, peak, 1.0)[:, None, None]).astype(np.float32)


def gradcam_layer(model, image_shape) -> str:
    """The name of the feature map Grad-CAM uses for this model, or a ConfigError naming the alternative."""
    _, trace = trace_model(model, tf.zeros((1, *image_shape), tf.float32))
    spatial = [name for name, value in trace.maps if value.shape[1] * value.shape[2] > 1]
    if not spatial:
        raise ModelError("--method gradcam needs a convolutional encoder with a feature map larger than 1x1; "
                          "this model has none: use --method integrated_gradients")
    return spatial[-1]


def gradcam(model, pixels: np.ndarray, classes: np.ndarray) -> Attribution:
    """pixels (B, H, W, C) float32 on 0..255, classes (B,) int."""
    layer = gradcam_layer(model, pixels.shape[1:])
    with tf.GradientTape() as tape:
        _, trace = trace_model(model, tf.constant(pixels))
        feature = dict(trace.maps)[layer]  # (B, h, w, c)
        tape.watch(feature)
        scores = class_scores(trace.logits, tf.constant(classes))  # (B,)
    gradients = tape.gradient(scores, feature)  # (B, h, w, c)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)  # (B, 1, 1, c)
    cam = tf.nn.relu(tf.reduce_sum(weights * feature, axis=-1))  # (B, h, w)
    resized = tf.image.resize(cam[..., None], pixels.shape[1:3], method="bilinear")[..., 0]  # (B, H, W)
    return Attribution(cam.numpy(), _normalise(np.maximum(resized.numpy(), 0.0)), layer)


def integrated_gradients(model, pixels: np.ndarray, classes: np.ndarray, steps: int = IG_STEPS) -> Attribution:
    """pixels (B, H, W, C) float32 on 0..255, classes (B,) int; the baseline is black (all zeros)."""
    x = tf.constant(pixels)
    target = tf.constant(classes)
    total = tf.zeros_like(x)
    for alpha in (np.arange(steps, dtype=np.float32) + 0.5) / steps:  # midpoints of `steps` equal intervals
        point = alpha * x
        with tf.GradientTape() as tape:
            tape.watch(point)
            _, trace = trace_model(model, point)
            scores = class_scores(trace.logits, target)
        total += tape.gradient(scores, point)
    raw = (x * total / steps).numpy()  # (B, H, W, C)
    return Attribution(raw, _normalise(np.abs(raw).sum(axis=-1)))


METHODS: dict[str, Callable[..., Attribution]] = {
    "gradcam": gradcam,
    "integrated_gradients": integrated_gradients,
}
METHOD_TITLES = {"gradcam": "Grad-CAM", "integrated_gradients": "integrated gradients"}


def attribute(model, images: np.ndarray, classes: np.ndarray, method: str, batch_size: int = 32) -> Attribution:
    """images (N, H, W, C) uint8 (array or DiskImages rows already taken), classes (N,) → one Attribution."""
    parts = []
    for start in range(0, len(images), batch_size):
        pixels = np.asarray(images[start:start + batch_size], dtype=np.float32)
        parts.append(METHODS[method](model, pixels, np.asarray(classes[start:start + batch_size], np.int32)))
    return Attribution(np.concatenate([p.raw for p in parts]), np.concatenate([p.heatmaps for p in parts]),
                       parts[0].layer)
