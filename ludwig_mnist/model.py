"""Model stage: a pure builder from the typed config and the training metadata.

    uint8 image (B, H, W, C) → /255 → encoder → combiner fc → decoder fc → softmax (B, num_classes)

Encoders live in a small registry keyed by the config's ``encoder.type``.
``build_model`` does no I/O and no training; the same config and metadata
always give the same architecture, which is how saved weights are reloaded.
"""

from __future__ import annotations

from typing import Callable

import keras
from keras import layers

from .config import ConvLayer, ExperimentConfig, FCLayer, StackedCNNEncoder
from .errors import ConfigError
from .results import LayerRow

ACTIVATION_NAMES = {"leakyRelu": "leaky_relu", "linear": None}


def _activation(name: str | None) -> str | None:
    return ACTIVATION_NAMES.get(name, name) if name else None


def _norm(kind: str | None, name: str) -> layers.Layer | None:
    if kind == "batch":
        return layers.BatchNormalization(name=name)
    if kind == "layer":
        return layers.LayerNormalization(name=name)
    return None


def _conv_block(x, layer: ConvLayer, index: int):
    """Ludwig's order inside a conv layer: conv → norm → activation → dropout → pool."""
    prefix = f"conv_{index}"
    x = layers.Conv2D(layer.out_channels, layer.kernel_size, strides=layer.stride, padding=layer.padding,
                      dilation_rate=layer.dilation, use_bias=layer.use_bias, name=prefix)(x)
    norm = _norm(layer.norm, f"{prefix}_norm")
    if norm is not None:
        x = norm(x)
    if layer.activation:
        x = layers.Activation(_activation(layer.activation), name=f"{prefix}_{layer.activation}")(x)
    if layer.dropout > 0:
        x = layers.Dropout(layer.dropout, name=f"{prefix}_dropout")(x)
    if layer.pool_kernel_size:
        pool = layers.MaxPooling2D if layer.pool_function == "max" else layers.AveragePooling2D
        x = pool(pool_size=layer.pool_kernel_size, strides=layer.pool_stride or layer.pool_kernel_size,
                 padding=layer.pool_padding, name=f"{prefix}_pool")(x)
    return x


def fc_stack(x, fc_layers: tuple[FCLayer, ...], prefix: str):
    for index, layer in enumerate(fc_layers):
        name = f"{prefix}_{index}"
        x = layers.Dense(layer.output_size, use_bias=layer.use_bias, name=name)(x)
        norm = _norm(layer.norm, f"{name}_norm")
        if norm is not None:
            x = norm(x)
        if layer.activation:
            x = layers.Activation(_activation(layer.activation), name=f"{name}_{layer.activation}")(x)
        if layer.dropout > 0:
            x = layers.Dropout(layer.dropout, name=f"{name}_dropout")(x)
    return x


def stacked_cnn(x, encoder: StackedCNNEncoder):
    for index, conv in enumerate(encoder.resolved_conv_layers()):
        height, width = x.shape[1], x.shape[2]
        smallest = conv.kernel_size + (conv.kernel_size - 1) * (conv.dilation - 1) if conv.padding == "valid" else 1
        if height < smallest or width < smallest:
            raise ConfigError(f"config key 'input_features.0.encoder.conv_layers.{index}': its {conv.kernel_size}x"
                              f"{conv.kernel_size} kernel does not fit the {height}x{width} feature map left by the "
                              "layers before it; use fewer conv layers, padding: same, or larger images")
        x = _conv_block(x, conv, index)
        if x.shape[1] < 1 or x.shape[2] < 1:
            raise ConfigError(f"config key 'input_features.0.encoder.conv_layers.{index}': pooling shrinks the "
                              "feature map to nothing; use a smaller pool_kernel_size or fewer layers")
    x = layers.Flatten(name="flatten")(x)
    return fc_stack(x, encoder.resolved_fc_layers(), "encoder_fc")


ENCODERS: dict[str, Callable] = {"stacked_cnn": stacked_cnn}


def build_model(config: ExperimentConfig, image_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """image_shape: (H, W, C) of the uint8 input; returns an uncompiled model with softmax output."""
    feature_in, feature_out = config.input_feature, config.output_feature
    inputs = keras.Input(shape=image_shape, dtype="uint8", name=feature_in.name)
    x = layers.Rescaling(1.0 / 255, name="scale_to_unit")(inputs)  # pixels are uint8, divided by 255 at the input
    x = ENCODERS[feature_in.encoder.type](x, feature_in.encoder)
    combiner = config.combiner
    x = fc_stack(x, tuple(FCLayer(output_size=combiner.output_size, activation=combiner.activation,
                                  dropout=combiner.dropout, norm=combiner.norm)
                          for _ in range(combiner.num_fc_layers)), "combiner_fc")
    decoder = feature_out.decoder
    x = fc_stack(x, tuple(FCLayer(output_size=decoder.fc_output_size, activation=decoder.fc_activation,
                                  dropout=decoder.fc_dropout) for _ in range(decoder.num_fc_layers)), "decoder_fc")
    outputs = layers.Dense(num_classes, activation="softmax", name=feature_out.name)(x)  # (B, num_classes)
    return keras.Model(inputs, outputs, name="ludwig_mnist_classifier")


def layer_rows(model: keras.Model) -> tuple[LayerRow, ...]:
    """(name, type, output shape, parameter count) per layer, for the log and the report."""
    rows = []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = str(tuple(shape.shape)) if shape is not None else ""
        rows.append(LayerRow(layer.name, type(layer).__name__, shape.replace("None", "None"), int(layer.count_params())))
    return tuple(rows)


def format_summary(rows: tuple[LayerRow, ...], trainable: int, total: int) -> str:
    width = max(len(r.name) for r in rows) + 2
    lines = [f"{'layer':<{width}}{'type':<22}{'output shape':<24}{'params':>10}"]
    lines += [f"{r.name:<{width}}{r.layer_type:<22}{r.output_shape:<24}{r.params:>10,}" for r in rows]
    lines.append(f"total parameters: {total:,} (trainable {trainable:,})")
    return "\n".join(lines)
