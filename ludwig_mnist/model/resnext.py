"""ResNeXt and Wide ResNet written here in torchvision's layout (keras.applications has neither).

    (B, H, W, 3) → conv 7x7/2 (64) → BN → ReLU → max pool 3x3/2 (pad 1)
        → layer1..4 of Bottleneck blocks ([3, 4, 6, 3] for 50, [3, 4, 23, 3] for 101), 64/128/256/512 planes:
           1x1 conv (width) → BN → ReLU → 3x3 conv (width, stride, groups) → BN → ReLU → 1x1 conv (4 x planes)
           → BN, + identity or 1x1/stride conv → BN, → ReLU;  width = planes * width_per_group / 64 * groups
        → global average pool → (B, 2048)

torchvision's Bottleneck strides its 3x3 conv (ResNet v1.5).  resnext50_32x4d is groups 32, 4 per group;
wide_resnet50_2 is groups 1 with 128 per group (twice ResNet's inner width).  Ludwig replaces ``fc`` by Identity.
"""

from __future__ import annotations

import keras
from keras import layers

from .resnet import stem, torch_batch_norm, torch_conv

DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
# Ludwig's variant → (depth, groups, width_per_group)
RESNEXT = {"50_32x4d": (50, 32, 4), "101_32x8d": (101, 32, 8), "101_64x4d": (101, 64, 4)}
WIDE_RESNET = {"50_2": (50, 1, 128), "101_2": (101, 1, 128)}


def _bottleneck(x, planes, stride, groups, width_per_group, name):
    width = int(planes * (width_per_group / 64.0)) * groups
    out = layers.ReLU(name=f"{name}_relu1")(torch_batch_norm(f"{name}_bn1")(torch_conv(x, width, 1, 1, f"{name}_conv1")))
    out = torch_conv(out, width, 3, stride, f"{name}_conv2", groups=groups)
    out = layers.ReLU(name=f"{name}_relu2")(torch_batch_norm(f"{name}_bn2")(out))
    out = torch_batch_norm(f"{name}_bn3")(torch_conv(out, planes * 4, 1, 1, f"{name}_conv3"))
    shortcut = x
    if stride != 1 or x.shape[-1] != planes * 4:
        shortcut = torch_batch_norm(f"{name}_downsample_bn")(torch_conv(x, planes * 4, 1, stride, f"{name}_downsample"))
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([out, shortcut]))


def bottleneck_resnet(input_shape, family: str, variant: str, name: str) -> keras.Model:
    """torchvision's resnext*/wide_resnet* without fc: (B, H, W, 3) → (B, 2048)."""
    depth, groups, width_per_group = (RESNEXT if family == "resnext" else WIDE_RESNET)[variant]
    inputs = keras.Input(shape=input_shape)
    x = stem(inputs)
    for stage, (blocks, planes) in enumerate(zip(DEPTHS[depth], (64, 128, 256, 512)), start=1):
        for block in range(blocks):
            stride = 2 if stage > 1 and block == 0 else 1
            x = _bottleneck(x, planes, stride, groups, width_per_group, f"layer{stage}_{block}")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)  # (B, 2048)
    return keras.Model(inputs, x, name=name)
