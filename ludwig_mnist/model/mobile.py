"""ShuffleNet V2 and MNASNet written here in torchvision's layout (keras.applications has neither).

ShuffleNet V2 (Ludwig replaces ``fc`` by Identity):
    (B, H, W, 3) → conv 3x3/2 24 → BN → ReLU → max 3/2 (pad 1) → stages 2..4 ([4, 8, 4] units; the first of a
        stage has stride 2) → conv 1x1 (1024, 2048 for x2_0) → BN → ReLU → mean over H, W → (B, 1024 | 2048)
    unit, stride 1: split channels in halves, right half → 1x1 → BN → ReLU → dw 3x3 → BN → 1x1 → BN → ReLU,
        concatenate with the left half; stride 2: both halves see the whole input (left: dw 3x3/2 → BN → 1x1
        → BN → ReLU); then channel shuffle with 2 groups
MNASNet (Ludwig replaces the classifier's Linear by Identity, keeping its dropout 0.2):
    conv 3x3/2 → BN → ReLU → dw 3x3 → BN → ReLU → 1x1 → BN → six stacks of inverted residuals
        (expand 1x1 → BN → ReLU → dw kxk/stride → BN → ReLU → project 1x1 → BN, + input when shapes match)
        → conv 1x1 1280 → BN → ReLU → mean over H, W → dropout 0.2 → (B, 1280)
Every convolution is without bias.  torchvision's MNASNet uses batch-norm momentum 0.0003 (Keras 0.9997),
tuned for its long ImageNet schedule; this tool uses torch's default 0.1 like every other family, because at
0.0003 the evaluation statistics of a network trained from scratch would stay at their initial values.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from .resnet import torch_batch_norm, torch_conv

SHUFFLENET = {"x0_5": (24, 48, 96, 192, 1024), "x1_0": (24, 116, 232, 464, 1024),
              "x1_5": (24, 176, 352, 704, 1024), "x2_0": (24, 244, 488, 976, 2048)}
SHUFFLENET_REPEATS = (4, 8, 4)
MNASNET_ALPHA = {"0_5": 0.5, "0_75": 0.75, "1_0": 1.0, "1_3": 1.3}
# torchvision's _stack arguments after the stem: (kernel, stride, expansion, repeats)
MNASNET_STACKS = ((3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1))


def _depthwise(x, kernel, stride, name):
    if kernel // 2:
        x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    return layers.DepthwiseConv2D(kernel, strides=stride, use_bias=False, name=name)(x)


def _conv_bn(x, filters, name, relu=True):
    x = torch_batch_norm(f"{name}_bn")(torch_conv(x, filters, 1, 1, name))
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


class ChannelHalf(layers.Layer):
    """(B, H, W, C) → (B, H, W, C/2): the first (index 0) or second half of the channels (torch's chunk(2))."""

    def __init__(self, index: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def call(self, x):
        half = x.shape[-1] // 2
        return x[..., self.index * half:(self.index + 1) * half]

    def get_config(self):
        return {**super().get_config(), "index": self.index}


class ChannelShuffle(layers.Layer):
    """(B, H, W, C) → (B, H, W, C) with channel g*C/groups + i moved to i*groups + g (torchvision's shuffle)."""

    def __init__(self, groups: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.groups = groups

    def call(self, x):
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
        x = ops.reshape(x, (-1, height, width, self.groups, channels // self.groups))
        return ops.reshape(ops.transpose(x, (0, 1, 2, 4, 3)), (-1, height, width, channels))

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}


def _shuffle_unit(x, out_channels, stride, name):
    half = out_channels // 2
    if stride == 1:
        left, right = (ChannelHalf(i, name=f"{name}_split{i}")(x) for i in (0, 1))
    else:
        left = torch_batch_norm(f"{name}_branch1_dw_bn")(_depthwise(x, 3, stride, f"{name}_branch1_dw"))
        left, right = _conv_bn(left, half, f"{name}_branch1_pw"), x
    right = _conv_bn(right, half, f"{name}_branch2_pw1")
    right = torch_batch_norm(f"{name}_branch2_dw_bn")(_depthwise(right, 3, stride, f"{name}_branch2_dw"))
    right = _conv_bn(right, half, f"{name}_branch2_pw2")
    return ChannelShuffle(2, name=f"{name}_shuffle")(layers.Concatenate(name=f"{name}_concat")([left, right]))


def shufflenet_v2(input_shape, variant, name: str) -> keras.Model:
    """torchvision's shufflenet_v2_* less fc: (B, H, W, 3) → (B, 1024) (x2_0: 2048)."""
    channels = SHUFFLENET[variant]
    inputs = keras.Input(shape=input_shape)
    x = torch_batch_norm("conv1_bn")(torch_conv(inputs, channels[0], 3, 2, "conv1"))
    x = layers.ZeroPadding2D(1, name="maxpool_pad")(layers.ReLU(name="conv1_relu")(x))  # after ReLU: as -inf
    x = layers.MaxPooling2D(3, strides=2, name="maxpool")(x)
    for stage, (repeats, out_channels) in enumerate(zip(SHUFFLENET_REPEATS, channels[1:4]), start=2):
        for unit in range(repeats):
            x = _shuffle_unit(x, out_channels, 2 if unit == 0 else 1, f"stage{stage}_{unit}")
    x = _conv_bn(x, channels[4], "conv5")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    return keras.Model(inputs, x, name=name)


def _round_to_multiple_of(value: float, divisor: int = 8, round_up_bias: float = 0.9) -> int:
    """torchvision's mnasnet rounding: to a multiple of 8, never more than 10 % below ``value``."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded if rounded >= round_up_bias * value else rounded + divisor


def _inverted_residual(x, out_channels, kernel, stride, expansion, name):
    in_channels = x.shape[-1]
    out = _conv_bn(x, in_channels * expansion, f"{name}_expand")
    out = torch_batch_norm(f"{name}_dw_bn")(_depthwise(out, kernel, stride, f"{name}_dw"))
    out = _conv_bn(layers.ReLU(name=f"{name}_dw_relu")(out), out_channels, f"{name}_project", relu=False)
    if in_channels == out_channels and stride == 1:
        out = layers.Add(name=f"{name}_add")([x, out])
    return out


def mnasnet(input_shape, variant, name: str) -> keras.Model:
    """torchvision's mnasnet* less its classifier's Linear: (B, H, W, 3) → (B, 1280)."""
    depths = [_round_to_multiple_of(d * MNASNET_ALPHA[variant]) for d in (32, 16, 24, 40, 80, 96, 192, 320)]
    inputs = keras.Input(shape=input_shape)
    x = layers.ReLU(name="stem_relu")(torch_batch_norm("stem_bn")(torch_conv(inputs, depths[0], 3, 2, "stem")))
    x = layers.ReLU(name="stem_dw_relu")(torch_batch_norm("stem_dw_bn")(_depthwise(x, 3, 1, "stem_dw")))
    x = _conv_bn(x, depths[1], "stem_project", relu=False)
    for index, ((kernel, stride, expansion, repeats), out_channels) in enumerate(zip(MNASNET_STACKS, depths[2:])):
        for block in range(repeats):
            x = _inverted_residual(x, out_channels, kernel, stride if block == 0 else 1, expansion,
                                   f"stack{index}_{block}")
    x = _conv_bn(x, 1280, "head")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    x = layers.Dropout(0.2, name="dropout")(x)  # (B, 1280)
    return keras.Model(inputs, x, name=name)
