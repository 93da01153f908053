"""GoogLeNet (Inception v1) written here in torchvision's layout, without the auxiliary heads Ludwig removes.

    (B, H, W, 3) → conv 7x7/2 64 → max 3/2 (ceil) → conv 1x1 64 → conv 3x3 192 → max 3/2 (ceil)
        → inception 3a, 3b → max 3/2 (ceil) → 4a..4e → max 2/2 (ceil) → 5a, 5b
        → global average pool → dropout 0.2 → (B, 1024)          (Ludwig replaces ``fc`` by Identity)
    every conv is torchvision's BasicConv2d: conv (no bias) → BN (eps 1e-3) → ReLU
    Inception(1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj): four branches concatenated; torchvision's
        "5x5" branch uses a 3x3 kernel (its known deviation from the paper, kept so the parameters match)
"""

from __future__ import annotations

import keras
from keras import layers

from .classic import ceil_max_pool
from .resnet import torch_batch_norm, torch_conv

# name → (in is implied, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj); "M"/"M2" are ceil max pools 3/2, 2/2
INCEPTIONS = (("3a", (64, 96, 128, 16, 32, 32)), ("3b", (128, 128, 192, 32, 96, 64)), "M",
              ("4a", (192, 96, 208, 16, 48, 64)), ("4b", (160, 112, 224, 24, 64, 64)),
              ("4c", (128, 128, 256, 24, 64, 64)), ("4d", (112, 144, 288, 32, 64, 64)),
              ("4e", (256, 160, 320, 32, 128, 128)), "M2",
              ("5a", (256, 160, 320, 32, 128, 128)), ("5b", (384, 192, 384, 48, 128, 128)))


def basic_conv(x, filters, kernel, name, stride=1):
    x = torch_batch_norm(f"{name}_bn", epsilon=1e-3)(torch_conv(x, filters, kernel, stride, name))
    return layers.ReLU(name=f"{name}_relu")(x)


def _inception(x, sizes, name):
    ch1, ch3red, ch3, ch5red, ch5, pool_proj = sizes
    branch1 = basic_conv(x, ch1, 1, f"{name}_branch1")
    branch2 = basic_conv(basic_conv(x, ch3red, 1, f"{name}_branch2a"), ch3, 3, f"{name}_branch2b")
    branch3 = basic_conv(basic_conv(x, ch5red, 1, f"{name}_branch3a"), ch5, 3, f"{name}_branch3b")
    # max 3x3/1 (pad 1, ceil): 'same' pooling ignores the padding, as torch's -inf padding does
    pooled = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_branch4_pool")(x)
    branch4 = basic_conv(pooled, pool_proj, 1, f"{name}_branch4")
    return layers.Concatenate(name=f"{name}_concat")([branch1, branch2, branch3, branch4])


def googlenet(input_shape, variant, name: str) -> keras.Model:
    """torchvision's googlenet(aux_logits=False) less fc: (B, H, W, 3) → (B, 1024)."""
    inputs = keras.Input(shape=input_shape)
    x = ceil_max_pool(basic_conv(inputs, 64, 7, "conv1", stride=2), 3, 2, "maxpool1")
    x = basic_conv(basic_conv(x, 64, 1, "conv2"), 192, 3, "conv3")
    x = ceil_max_pool(x, 3, 2, "maxpool2")
    for item in INCEPTIONS:
        if item == "M":
            x = ceil_max_pool(x, 3, 2, "maxpool3")
        elif item == "M2":
            x = ceil_max_pool(x, 2, 2, "maxpool4")
        else:
            x = _inception(x, item[1], f"inception{item[0]}")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    x = layers.Dropout(0.2, name="dropout")(x)  # (B, 1024)
    return keras.Model(inputs, x, name=name)
