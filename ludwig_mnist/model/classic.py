"""AlexNet and SqueezeNet written here in torchvision's layout (keras.applications has neither).

AlexNet (Ludwig keeps its classifier but the last Linear):
    (B, H, W, 3) → conv 11x11/4 (64, pad 2) → ReLU → max 3/2 → conv 5x5 (192, pad 2) → ReLU → max 3/2
        → conv 3x3 384 → ReLU → conv 3x3 256 → ReLU → conv 3x3 256 → ReLU → max 3/2
        → adaptive average pool 6x6 → flatten (B, 9216) → dropout 0.5 → fc 4096 → ReLU → dropout 0.5
        → fc 4096 → ReLU → (B, 4096)                  (smallest input: 63x63, torch's too)
SqueezeNet 1_0 / 1_1 (Ludwig keeps the whole network: it has no final Linear):
    conv 7x7/2 96 (1_0) or 3x3/2 64 (1_1) → ReLU → max 3/2 (ceil) → Fire modules with max pools (ceil)
        → dropout 0.5 → conv 1x1 (1000) → ReLU → global average pool → (B, 1000)
    Fire(squeeze s, expand e1, e3): 1x1 conv s → ReLU → [1x1 conv e1 → ReLU ‖ 3x3 conv e3 (pad 1) → ReLU]
Convolutions have a bias (torchvision's); neither network has batch norm.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from .resnet import torch_conv
from .vgg import AdaptiveAveragePooling2D

# squeezenet: per variant, the stem (filters, kernel) and the features after it: "M" a ceil-mode max pool,
# (squeeze, expand) a Fire module with equal 1x1 and 3x3 expands
SQUEEZENET = {
    "1_0": ((96, 7), ("M", (16, 64), (16, 64), (32, 128), "M", (32, 128), (48, 192), (48, 192), (64, 256), "M",
                      (64, 256))),
    "1_1": ((64, 3), ("M", (16, 64), (16, 64), "M", (32, 128), (32, 128), "M", (48, 192), (48, 192), (64, 256),
                      (64, 256))),
}


def ceil_max_pool(x, kernel: int, stride: int, name: str):
    """torch's MaxPool2d(kernel, stride, ceil_mode=True) on non-negative inputs (after a ReLU): the last window
    may hang over the bottom/right edge, where zeros padded here never exceed the true maximum."""
    pads = []
    for n in x.shape[1:3]:
        out = math.ceil((n - kernel) / stride) + 1
        if (out - 1) * stride >= n:  # torch drops a last window that would start outside the input
            out -= 1
        pads.append(max(0, (out - 1) * stride + kernel - n))
    if any(pads):
        x = layers.ZeroPadding2D(((0, pads[0]), (0, pads[1])), name=f"{name}_pad")(x)
    return layers.MaxPooling2D(kernel, strides=stride, name=name)(x)


def alexnet(input_shape, variant, name: str) -> keras.Model:
    """torchvision's alexnet less its last Linear: (B, H, W, 3) → (B, 4096)."""
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for index, (filters, kernel, stride, pad, pool) in enumerate(
            ((64, 11, 4, 2, True), (192, 5, 1, 2, True), (384, 3, 1, 1, False), (256, 3, 1, 1, False),
             (256, 3, 1, 1, True))):
        x = layers.ReLU(name=f"conv{index + 1}_relu")(
            torch_conv(x, filters, kernel, stride, f"conv{index + 1}", use_bias=True, pad=pad))
        if pool:
            x = layers.MaxPooling2D(3, strides=2, name=f"conv{index + 1}_pool")(x)
    x = layers.Flatten(name="flatten")(AdaptiveAveragePooling2D(6, name="avgpool")(x))  # (B, 9216)
    for index in (1, 2):
        x = layers.Dropout(0.5, name=f"fc{index}_dropout")(x)
        x = layers.Dense(4096, activation="relu", name=f"fc{index}")(x)
    return keras.Model(inputs, x, name=name)


def _fire(x, squeeze: int, expand: int, name: str):
    x = layers.ReLU(name=f"{name}_squeeze_relu")(torch_conv(x, squeeze, 1, 1, f"{name}_squeeze", use_bias=True))
    left = layers.ReLU(name=f"{name}_expand1x1_relu")(torch_conv(x, expand, 1, 1, f"{name}_expand1x1", use_bias=True))
    right = layers.ReLU(name=f"{name}_expand3x3_relu")(torch_conv(x, expand, 3, 1, f"{name}_expand3x3", use_bias=True))
    return layers.Concatenate(name=f"{name}_concat")([left, right])


def squeezenet(input_shape, variant, name: str) -> keras.Model:
    """torchvision's squeezenet1_0/1_1 as Ludwig keeps it: (B, H, W, 3) → (B, 1000)."""
    (filters, kernel), features = SQUEEZENET[variant]
    inputs = keras.Input(shape=input_shape)
    x = layers.ReLU(name="conv1_relu")(torch_conv(inputs, filters, kernel, 2, "conv1", use_bias=True, pad=0))
    for index, item in enumerate(features):
        if item == "M":
            x = ceil_max_pool(x, 3, 2, f"pool{index}")
        else:
            x = _fire(x, *item, name=f"fire{index}")
    x = layers.Dropout(0.5, name="classifier_dropout")(x)
    x = layers.ReLU(name="final_conv_relu")(torch_conv(x, 1000, 1, 1, "final_conv", use_bias=True))
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)  # (B, 1000): ImageNet's classes, which Ludwig keeps
    return keras.Model(inputs, x, name=name)
