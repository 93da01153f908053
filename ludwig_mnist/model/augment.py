"""Ludwig's image augmentations as Keras preprocessing layers (active in training only).

Layers sit in the model right after the /255 rescaling, so pixel values are in
[0, 1] and the value_range of every layer is (0, 1).  At inference Keras calls
them with training=False and they pass images through unchanged, so saved
models predict on clean images.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from ..config.schema import AugmentationOp


class RandomIntensityScale(layers.Layer):
    """Ludwig's random_brightness / random_contrast: a per-image factor drawn from [low, high].

    brightness: x * f;  contrast: (x - mean) * f + mean  (mean over H, W per channel).
    Keras' RandomBrightness/RandomContrast use additive or symmetric ranges, which
    cannot express Ludwig's default [0.5, 2.0], hence this small layer.
    """

    def __init__(self, low: float, high: float, mode: str, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high, self.mode = low, high, mode
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        batch = ops.shape(images)[0]
        factor = keras.random.uniform((batch, 1, 1, 1), self.low, self.high, seed=self.seed_generator)
        if self.mode == "brightness":
            out = images * factor
        else:
            mean = ops.mean(images, axis=(1, 2), keepdims=True)
            out = (images - mean) * factor + mean
        return ops.clip(out, 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape


def augmentation_layers(augmentation: tuple[AugmentationOp, ...]) -> list[layers.Layer]:
    built = []
    for index, op in enumerate(augmentation):
        name = f"augment_{index}_{op.type}"
        if op.type == "random_horizontal_flip":
            built.append(layers.RandomFlip("horizontal", name=name))
        elif op.type == "random_vertical_flip":
            built.append(layers.RandomFlip("vertical", name=name))
        elif op.type == "random_rotate":
            # factor is a fraction of a full turn: degree 15 → angles in [-15°, 15°]
            built.append(layers.RandomRotation(op.degree / 360.0, fill_mode="constant", name=name))
        elif op.type == "random_blur":
            built.append(layers.RandomGaussianBlur(factor=1.0, kernel_size=op.kernel_size, value_range=(0, 1),
                                                   name=name))
        elif op.type == "random_brightness":
            built.append(RandomIntensityScale(op.min, op.max, "brightness", name=name))
        else:  # random_contrast
            built.append(RandomIntensityScale(op.min, op.max, "contrast", name=name))
    return built
