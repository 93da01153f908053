"""Keras building blocks shared by the encoders, the combiner and the decoder, in Ludwig's layer order."""

from __future__ import annotations

from keras import layers

from ..config.layers import ConvLayer, FCLayer

ACTIVATION_NAMES = {"leakyRelu": "leaky_relu", "linear": None}


def _activation(name: str | None) -> str | None:
    return ACTIVATION_NAMES.get(name, name) if name else None


def _norm(kind: str | None, name: str) -> layers.Layer | None:
    if kind == "batch":
        return layers.BatchNormalization(name=name)
    if kind == "layer":
        return layers.LayerNormalization(name=name)
    return None


def _norm_activation_dropout(x, layer: ConvLayer | FCLayer, prefix: str):
    """The part Ludwig's conv and fc layers share, in its order: norm → activation → dropout."""
    norm = _norm(layer.norm, f"{prefix}_norm")
    if norm is not None:
        x = norm(x)
    if layer.activation:
        x = layers.Activation(_activation(layer.activation), name=f"{prefix}_{layer.activation}")(x)
    if layer.dropout > 0:
        x = layers.Dropout(layer.dropout, name=f"{prefix}_dropout")(x)
    return x


def conv_block(x, layer: ConvLayer, index: int, regularizer=None):
    """Ludwig's order inside a conv layer: conv → norm → activation → dropout → pool."""
    prefix = f"conv_{index}"
    x = layers.Conv2D(layer.out_channels, layer.kernel_size, strides=layer.stride, padding=layer.padding,
                      dilation_rate=layer.dilation, use_bias=layer.use_bias, kernel_regularizer=regularizer,
                      name=prefix)(x)
    x = _norm_activation_dropout(x, layer, prefix)
    if layer.pool_kernel_size:
        pool = layers.MaxPooling2D if layer.pool_function == "max" else layers.AveragePooling2D
        x = pool(pool_size=layer.pool_kernel_size, strides=layer.pool_stride or layer.pool_kernel_size,
                 padding=layer.pool_padding, name=f"{prefix}_pool")(x)
    return x


def fc_stack(x, fc_layers: tuple[FCLayer, ...], prefix: str, regularizer=None):
    for index, layer in enumerate(fc_layers):
        name = f"{prefix}_{index}"
        x = layers.Dense(layer.output_size, use_bias=layer.use_bias, kernel_regularizer=regularizer, name=name)(x)
        x = _norm_activation_dropout(x, layer, name)
    return x
