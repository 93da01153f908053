"""Keras building blocks shared by the encoders, the combiner and the decoder, in Ludwig's layer order.

Ludwig's layers are PyTorch's; where the two libraries' defaults differ, the torch value is used so that a
config builds the same network: BatchNorm2d/1d (eps 1e-5, momentum 0.1 = Keras momentum 0.9), LayerNorm
(eps 1e-5; over (H, W) per channel in a conv layer, as ``nn.LayerNorm((out_height, out_width))`` does on NCHW),
integer conv padding as zeros on each side.
"""

from __future__ import annotations

import keras
from keras import layers

from ..config.layers import INITIALIZERS, ConvLayer, FCLayer, FCStack

ACTIVATION_NAMES = {"leakyRelu": "leaky_relu", "linear": None}


def _activation(name: str | None) -> str | None:
    return ACTIVATION_NAMES.get(name, name) if name else None


def _norm(kind: str | None, params: dict | None, name: str, conv: bool) -> layers.Layer | None:
    params = params or {}
    if kind == "batch":
        affine = params.get("affine", True)
        return layers.BatchNormalization(momentum=1.0 - params.get("momentum", 0.1), epsilon=params.get("eps", 1e-5),
                                         center=affine, scale=affine, name=name)
    if kind == "layer":
        affine = params.get("elementwise_affine", True)
        return layers.LayerNormalization(axis=(1, 2) if conv else -1, epsilon=params.get("eps", 1e-5),
                                         center=affine, scale=affine, name=name)
    return None


def _norm_activation_dropout(x, layer: ConvLayer | FCLayer, prefix: str, conv: bool):
    """The part Ludwig's conv and fc layers share, in its order: norm → activation → dropout."""
    norm = _norm(layer.norm, layer.norm_params, f"{prefix}_norm", conv)
    if norm is not None:
        x = norm(x)
    if layer.activation:
        x = layers.Activation(_activation(layer.activation), name=f"{prefix}_{layer.activation}")(x)
    if layer.dropout > 0:
        x = layers.Dropout(layer.dropout, name=f"{prefix}_dropout")(x)
    return x


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def conv_block(x, layer: ConvLayer, index: int, regularizer=None):
    """Ludwig's order inside a conv layer: conv → norm → activation → dropout → pool."""
    prefix = f"conv_{index}"
    padding = layer.padding
    if not isinstance(padding, str):  # torch's integer padding: that many zeros on each side, then 'valid'
        if _pair(padding) not in (0, (0, 0)):
            x = layers.ZeroPadding2D(_pair(padding), name=f"{prefix}_pad")(x)
        padding = "valid"
    x = layers.Conv2D(layer.out_channels, _pair(layer.kernel_size), strides=_pair(layer.stride), padding=padding,
                      dilation_rate=_pair(layer.dilation), groups=layer.groups, use_bias=layer.use_bias,
                      kernel_regularizer=regularizer, name=prefix)(x)
    x = _norm_activation_dropout(x, layer, prefix, conv=True)
    if layer.pool_kernel_size:
        pool = layers.MaxPooling2D if layer.pool_function == "max" else layers.AveragePooling2D
        x = pool(pool_size=_pair(layer.pool_kernel_size), strides=_pair(layer.pool_stride or layer.pool_kernel_size),
                 padding="valid", name=f"{prefix}_pool")(x)
    return x


def keras_initializer(name: str):
    return keras.initializers.get(INITIALIZERS[name])


def fc_stack(x, stack: FCStack | tuple[FCLayer, ...], prefix: str, regularizer=None, residual: bool = False):
    """Ludwig's FCStack: its default norm and dropout on the input, then dense → norm → activation → dropout;
    with ``residual`` a layer's input is added to its output where their sizes match (the concat combiner)."""
    if not isinstance(stack, FCStack):
        stack = FCStack(tuple(stack))
    # Ludwig applies these even to an empty stack (FCStack.forward), so a combiner's `dropout` acts on its input.
    norm = _norm(stack.input_norm, stack.input_norm_params, f"{prefix}_input_norm", conv=False)
    if norm is not None:
        x = norm(x)
    if stack.input_dropout > 0:
        x = layers.Dropout(stack.input_dropout, name=f"{prefix}_input_dropout")(x)
    for index, layer in enumerate(stack.layers):
        name = f"{prefix}_{index}"
        out = layers.Dense(layer.output_size, use_bias=layer.use_bias, kernel_regularizer=regularizer,
                           kernel_initializer=keras_initializer(layer.weights_initializer),
                           bias_initializer=keras_initializer(layer.bias_initializer), name=name)(x)
        out = _norm_activation_dropout(out, layer, name, conv=False)
        x = layers.Add(name=f"{name}_residual")([x, out]) if residual and x.shape[-1] == layer.output_size else out
    return x
