"""RegNet X and Y written here in torchvision's layout (Keras 3's applications have no RegNet).

    (B, H, W, 3) → stem conv 3x3/2 (32) → BN → ReLU → 4 stages of residual bottleneck blocks (the first of
        each stage has stride 2) → global average pool → (B, last stage width)   (Ludwig replaces ``fc``)
    block: 1x1 conv (w) → BN → ReLU → 3x3 conv (w, stride, groups w / group width) → BN → ReLU
        → [Y: squeeze-excitation, w → round(0.25 x block input width) → w, ReLU then sigmoid] → 1x1 conv → BN,
        + input (or 1x1/stride conv → BN where the shape changes) → ReLU
Stage widths and depths follow torchvision's BlockParams.from_init_params(depth, w_0, w_a, w_m, group width):
quantised linear widths, one stage per distinct width, widths adjusted to a multiple of the group width.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from .resnet import torch_batch_norm, torch_conv

# torchvision's regnet_* constructors: (depth, w_0, w_a, w_m, group_width); Y adds SE with ratio 0.25
PARAMS = {
    "x_400mf": (22, 24, 24.48, 2.54, 16), "x_800mf": (16, 56, 35.73, 2.28, 16),
    "x_1_6gf": (18, 80, 34.01, 2.25, 24), "x_3_2gf": (25, 88, 26.31, 2.25, 48),
    "x_8gf": (23, 80, 49.56, 2.88, 120), "x_16gf": (22, 216, 55.59, 2.1, 128),
    "x_32gf": (23, 320, 69.86, 2.0, 168),
    "y_400mf": (16, 48, 27.89, 2.09, 8), "y_800mf": (14, 56, 38.84, 2.4, 16),
    "y_1_6gf": (27, 48, 20.71, 2.65, 24), "y_3_2gf": (21, 80, 42.63, 2.66, 24),
    "y_8gf": (17, 192, 76.82, 2.19, 56), "y_16gf": (18, 200, 106.23, 2.48, 112),
    "y_32gf": (20, 232, 115.89, 2.53, 232), "y_128gf": (27, 456, 160.83, 2.52, 264),
}


def _make_divisible(value: float, divisor: int) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def stages(variant: str) -> list[tuple[int, int, int]]:
    """(width, depth, group width) per stage, as torchvision's BlockParams computes them."""
    depth, w_0, w_a, w_m, group_width = PARAMS[variant]
    widths = []
    for index in range(depth):
        capacity = round(math.log((index * w_a + w_0) / w_0) / math.log(w_m))
        widths.append(int(round(w_0 * w_m ** capacity / 8) * 8))
    result = []
    for width in widths:
        if result and result[-1][0] == width:
            result[-1][1] += 1
        else:
            result.append([width, 1])
    adjusted = []
    for width, count in result:
        group = min(group_width, width)
        adjusted.append((_make_divisible(width, group), count, group))
    return adjusted


def _block(x, width, stride, group_width, se: bool, name):
    width_in = x.shape[-1]
    out = layers.ReLU(name=f"{name}_a_relu")(torch_batch_norm(f"{name}_a_bn")(torch_conv(x, width, 1, 1, f"{name}_a")))
    out = torch_conv(out, width, 3, stride, f"{name}_b", groups=width // group_width)
    out = layers.ReLU(name=f"{name}_b_relu")(torch_batch_norm(f"{name}_b_bn")(out))
    if se:  # torchvision's SqueezeExcitation: avg pool → 1x1 conv → ReLU → 1x1 conv → sigmoid → scale
        squeezed = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_pool")(out)
        squeezed = layers.Conv2D(int(round(0.25 * width_in)), 1, activation="relu", name=f"{name}_se_fc1")(squeezed)
        squeezed = layers.Conv2D(width, 1, activation="sigmoid", name=f"{name}_se_fc2")(squeezed)
        out = layers.Multiply(name=f"{name}_se_scale")([out, squeezed])
    out = torch_batch_norm(f"{name}_c_bn")(torch_conv(out, width, 1, 1, f"{name}_c"))
    shortcut = x
    if width_in != width or stride != 1:
        shortcut = torch_batch_norm(f"{name}_proj_bn")(torch_conv(x, width, 1, stride, f"{name}_proj"))
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([shortcut, out]))


def regnet(input_shape, variant: str, name: str) -> keras.Model:
    """torchvision's regnet_{variant} less fc: (B, H, W, 3) → (B, last stage width)."""
    inputs = keras.Input(shape=input_shape)
    x = layers.ReLU(name="stem_relu")(torch_batch_norm("stem_bn")(torch_conv(inputs, 32, 3, 2, "stem")))
    for stage, (width, depth, group_width) in enumerate(stages(variant), start=1):
        for block in range(depth):
            x = _block(x, width, 2 if block == 0 else 1, group_width, variant.startswith("y"), f"block{stage}_{block}")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    return keras.Model(inputs, x, name=name)
