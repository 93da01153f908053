"""VGG in torchvision's layout, with the part of its classifier Ludwig keeps.

    features: 3x3 convs (pad 1, with bias) [→ BN for _bn] → ReLU, max pool 2x2 after each of the 5 blocks
        (configurations A/B/D/E = 11/13/16/19 layers), layer names as keras.applications' VGG16/19
        (block{b}_conv{j}), so Keras's VGG16/19 weights without top load into the plain variants
    head (Ludwig's: torchvision's classifier with its last Linear replaced by Identity):
        adaptive average pool to 7x7 → flatten (B, 25088) → fc 4096 → ReLU → dropout 0.5 → fc 4096 → ReLU
        → dropout 0.5 → (B, 4096)
"""

from __future__ import annotations

import keras
from keras import layers, ops

from .resnet import torch_batch_norm

# convolutions per block, torchvision's cfgs A, B, D, E
BLOCK_CONVS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
FILTERS = (64, 128, 256, 512, 512)


def vgg_features(input_shape: tuple[int, int, int], depth: int, batch_norm: bool, name: str) -> keras.Model:
    """The conv part: (B, H, W, 3) → (B, H/32, W/32, 512)."""
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for block, (convs, filters) in enumerate(zip(BLOCK_CONVS[depth], FILTERS), start=1):
        for conv in range(1, convs + 1):
            layer = f"block{block}_conv{conv}"
            x = layers.Conv2D(filters, 3, padding="same", name=layer)(x)  # 3x3 with pad 1 keeps the size
            if batch_norm:
                x = torch_batch_norm(f"{layer}_bn")(x)
            x = layers.ReLU(name=f"{layer}_relu")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name=name)


class AdaptiveAveragePooling2D(layers.Layer):
    """torch's AdaptiveAvgPool2d: output cell i averages input rows floor(i*n/o) .. ceil((i+1)*n/o) - 1.

    Written as two fixed averaging matrices (n, o) applied over H and W, so a 1x1 map (a 32x32 input) is
    repeated to 7x7 exactly as torch does.
    """

    def __init__(self, output_size: int = 7, **kwargs):
        super().__init__(**kwargs)
        self.output_size = output_size

    @staticmethod
    def _matrix(n: int, o: int):
        rows = [[0.0] * o for _ in range(n)]
        for i in range(o):
            start, end = (i * n) // o, -(-((i + 1) * n) // o)
            for r in range(start, end):
                rows[r][i] = 1.0 / (end - start)
        return rows

    def call(self, x):  # (B, H, W, C) → (B, o, o, C)
        mh = ops.convert_to_tensor(self._matrix(x.shape[1], self.output_size), dtype=x.dtype)
        mw = ops.convert_to_tensor(self._matrix(x.shape[2], self.output_size), dtype=x.dtype)
        return ops.einsum("bhwc,hi,wj->bijc", x, mh, mw)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_size, self.output_size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size}


def vgg_head(x, regularizer=None, trainable: bool = True):
    """Ludwig's VGG head on the features (B, h, w, 512) → (B, 4096); frozen with the backbone (Ludwig freezes
    every parameter of the torchvision model)."""
    x = AdaptiveAveragePooling2D(7, name="vgg_avgpool")(x)
    x = layers.Flatten(name="vgg_flatten")(x)  # (B, 25088)
    for index in (1, 2):
        x = layers.Dense(4096, activation="relu", kernel_regularizer=regularizer, name=f"vgg_fc{index}", trainable=trainable)(x)
        x = layers.Dropout(0.5, name=f"vgg_fc{index}_dropout")(x)
    return x
