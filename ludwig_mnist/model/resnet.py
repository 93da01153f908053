"""ResNet-18/34 written here in torchvision's layout (keras.applications has only 50/101/152).

    (B, H, W, 3) → conv 7x7/2 (64, pad 3) → BN → ReLU → max pool 3x3/2 (pad 1)
        → layer1..4: BasicBlocks (3x3 conv → BN → ReLU → 3x3 conv → BN, + identity or 1x1/stride conv → BN)
           of 64, 128, 256, 512 channels ([2, 2, 2, 2] blocks for 18, [3, 4, 6, 3] for 34), stride 2 from layer2
        → global average pool → (B, 512)

Ludwig's resnet replaces torchvision's fc by Identity, so the encoder ends at the pooled 512 features.
Convolutions have no bias (torchvision's); batch norm is torch's (eps 1e-5, momentum 0.1 = Keras 0.9).
"""

from __future__ import annotations

import keras
from keras import layers

BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


def torch_batch_norm(name: str, epsilon: float = 1e-5) -> layers.BatchNormalization:
    """nn.BatchNorm2d's defaults: eps 1e-5, running statistics updated by 0.1 of each batch (Keras momentum 0.9)."""
    return layers.BatchNormalization(momentum=0.9, epsilon=epsilon, name=name)


def torch_conv(x, filters, kernel, stride, name, groups=1, use_bias=False, pad=None):
    """nn.Conv2d(padding=k//2 unless ``pad``): that many zeros on each side, then a 'valid' convolution."""
    pad = kernel // 2 if pad is None else pad
    if pad:
        x = layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
    return layers.Conv2D(filters, kernel, strides=stride, groups=groups, use_bias=use_bias, name=name)(x)


def stem(inputs):
    """torchvision ResNet's stem: conv 7x7/2 (64, pad 3) → BN → ReLU → max pool 3x3/2 (pad 1): /4 in H and W."""
    x = torch_conv(inputs, 64, 7, 2, "conv1")
    x = layers.ReLU(name="relu")(torch_batch_norm("bn1")(x))
    x = layers.ZeroPadding2D(1, name="maxpool_pad")(x)  # after ReLU, zero padding equals torch's -inf padding
    return layers.MaxPooling2D(3, strides=2, name="maxpool")(x)


def _basic_block(x, filters, stride, name):
    shortcut = x
    out = torch_conv(x, filters, 3, stride, f"{name}_conv1")
    out = layers.ReLU(name=f"{name}_relu1")(torch_batch_norm(f"{name}_bn1")(out))
    out = torch_batch_norm(f"{name}_bn2")(torch_conv(out, filters, 3, 1, f"{name}_conv2"))
    if stride != 1 or x.shape[-1] != filters:  # torchvision's downsample: 1x1 conv with the stride, then BN
        shortcut = torch_batch_norm(f"{name}_downsample_bn")(
            layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_downsample")(x))
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([out, shortcut]))


def resnet_basic(input_shape: tuple[int, int, int], depth: int, name: str) -> keras.Model:
    """torchvision's resnet18/resnet34 without fc: (B, H, W, 3) → (B, 512)."""
    inputs = keras.Input(shape=input_shape)
    x = stem(inputs)
    for stage, (blocks, filters) in enumerate(zip(BLOCKS[depth], (64, 128, 256, 512)), start=1):
        for block in range(blocks):
            stride = 2 if stage > 1 and block == 0 else 1
            x = _basic_block(x, filters, stride, f"layer{stage}_{block}")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)  # (B, 512)
    return keras.Model(inputs, x, name=name)
