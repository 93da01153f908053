"""The encoder registry: one entry per ``encoder.type``, holding its config schema and its builder together.

Adding an encoder is one schema dataclass, one builder and one ``ENCODERS`` entry; the config parser
(config/schema.py), the model builder (model/build.py), ``compare``'s encoder switch and the help all
read this table.  The module imports no Keras: the config and data stages import it, and builders import
Keras only when they run.

A builder maps the adapted input tensor (B, H, W, C) float in [0, 1] to the encoder's output (B, F).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..config.checks import (
    a_bool,
    a_float,
    a_str,
    an_int,
    build,
    fail,
    one_of,
    opt,
    optional,
    sections,
)
from ..config.layers import ACTIVATIONS, NORMS, ConvLayer, FCLayer
from ..errors import ConfigError

# ---------------------------------------------------------------- schemas

@dataclass(frozen=True)
class StackedCNNEncoder:
    """Ludwig's stacked_cnn; per-layer lists win over the encoder-level defaults."""

    type: str = opt("stacked_cnn", one_of("stacked_cnn"))
    conv_layers: tuple[ConvLayer, ...] | None = opt(None, optional(sections(ConvLayer)))
    num_conv_layers: int | None = opt(None, optional(an_int(0)))
    out_channels: int = opt(32, an_int(1))
    kernel_size: int = opt(3, an_int(1))
    conv_activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    conv_dropout: float = opt(0.0, a_float(0.0, 0.999))
    conv_norm: str | None = opt(None, one_of(*NORMS))
    conv_use_bias: bool = opt(True, a_bool)
    pool_function: str = opt("max", one_of("max", "avg", "mean", "average"))
    pool_kernel_size: int = opt(2, an_int(1))
    pool_stride: int | None = opt(None, optional(an_int(1)))
    fc_layers: tuple[FCLayer, ...] | None = opt(None, optional(sections(FCLayer)))
    num_fc_layers: int = opt(1, an_int(0))
    output_size: int = opt(128, an_int(1))
    fc_activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    fc_dropout: float = opt(0.0, a_float(0.0, 0.999))
    fc_norm: str | None = opt(None, one_of(*NORMS))
    fc_use_bias: bool = opt(True, a_bool)

    def resolved_conv_layers(self) -> tuple[ConvLayer, ...]:
        """Explicit layers, or num_conv_layers (default 2) copies of the encoder-level defaults."""
        if self.conv_layers is not None:
            return self.conv_layers
        count = 2 if self.num_conv_layers is None else self.num_conv_layers
        return tuple(ConvLayer(out_channels=self.out_channels, kernel_size=self.kernel_size,
                               activation=self.conv_activation, dropout=self.conv_dropout,
                               norm=self.conv_norm, use_bias=self.conv_use_bias,
                               pool_function=self.pool_function, pool_kernel_size=self.pool_kernel_size,
                               pool_stride=self.pool_stride) for _ in range(count))

    def resolved_fc_layers(self) -> tuple[FCLayer, ...]:
        if self.fc_layers is not None:
            return self.fc_layers
        return tuple(FCLayer(output_size=self.output_size, activation=self.fc_activation,
                             dropout=self.fc_dropout, norm=self.fc_norm, use_bias=self.fc_use_bias)
                     for _ in range(self.num_fc_layers))


@dataclass(frozen=True)
class MLPEncoder:
    """Dense layers over the flattened pixels (the Keras tutorials' 512-512, deeplay's 32-32 sigmoid)."""

    type: str = opt("mlp", one_of("mlp"))
    fc_layers: tuple[FCLayer, ...] | None = opt(None, optional(sections(FCLayer)))
    num_fc_layers: int = opt(2, an_int(1))
    output_size: int = opt(512, an_int(1))
    activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    dropout: float = opt(0.0, a_float(0.0, 0.999))
    norm: str | None = opt(None, one_of(*NORMS))

    def resolved_fc_layers(self) -> tuple[FCLayer, ...]:
        if self.fc_layers is not None:
            return self.fc_layers
        return tuple(FCLayer(output_size=self.output_size, activation=self.activation, dropout=self.dropout,
                             norm=self.norm) for _ in range(self.num_fc_layers))


@dataclass(frozen=True)
class LeNetEncoder:
    """LeNet-5: conv 6@5x5 → pool → conv 16@5x5 → pool → fc 120 → fc 84 (inputs under 32x32 are padded)."""

    type: str = opt("lenet", one_of("lenet"))
    activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    pool_function: str = opt("max", one_of("max", "avg", "mean", "average"))
    dropout: float = opt(0.0, a_float(0.0, 0.999))


@dataclass(frozen=True)
class KerasApplicationEncoder:
    """VGG or ResNet from keras.applications, built with weights=None (never downloaded).

    pretrained_weights: a local weights file of the same network without its top
    (e.g. vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5) for users who have one.
    """

    type: str = opt("vgg", one_of("vgg", "resnet"))
    model_variant: int | None = opt(None, optional(one_of(16, 19, 50, 101, 152)))
    use_pretrained: bool = opt(False, a_bool)
    pretrained_weights: str | None = opt(None, optional(a_str))
    trainable: bool = opt(True, a_bool)
    num_fc_layers: int = opt(0, an_int(0))
    output_size: int = opt(256, an_int(1))
    dropout: float = opt(0.0, a_float(0.0, 0.999))

    @property
    def variant(self) -> int:
        return self.model_variant or ENCODERS[self.type].variants[0]


# ---------------------------------------------------------------- builders (Keras is imported when they run)


def build_stacked_cnn(x, encoder: StackedCNNEncoder, regularizer=None):
    from keras import layers

    from .blocks import conv_block, fc_stack

    for index, conv in enumerate(encoder.resolved_conv_layers()):
        height, width = x.shape[1], x.shape[2]
        smallest = conv.kernel_size + (conv.kernel_size - 1) * (conv.dilation - 1) if conv.padding == "valid" else 1
        if height < smallest or width < smallest:
            raise ConfigError(f"config key 'input_features.0.encoder.conv_layers.{index}': its {conv.kernel_size}x"
                              f"{conv.kernel_size} kernel does not fit the {height}x{width} feature map left by the "
                              "layers before it; use fewer conv layers, padding: same, or larger images")
        x = conv_block(x, conv, index, regularizer)
        if x.shape[1] < 1 or x.shape[2] < 1:
            raise ConfigError(f"config key 'input_features.0.encoder.conv_layers.{index}': pooling shrinks the "
                              "feature map to nothing; use a smaller pool_kernel_size or fewer layers")
    x = layers.Flatten(name="flatten")(x)
    return fc_stack(x, encoder.resolved_fc_layers(), "encoder_fc", regularizer)


def build_mlp(x, encoder: MLPEncoder, regularizer=None):
    from keras import layers

    from .blocks import fc_stack

    x = layers.Flatten(name="flatten")(x)  # (B, H*W*C)
    return fc_stack(x, encoder.resolved_fc_layers(), "encoder_fc", regularizer)


def build_lenet(x, encoder: LeNetEncoder, regularizer=None):
    """LeNet-5 (LeCun et al. 1998) on a 32x32 input: (B,32,32,C) → 6@28x28 → 14x14 → 16@10x10 → 5x5 → 120 → 84."""
    from keras import layers

    from .blocks import conv_block, fc_stack

    for index, filters in enumerate((6, 16)):
        conv = ConvLayer(out_channels=filters, kernel_size=5, activation=encoder.activation,
                         pool_function=encoder.pool_function, pool_kernel_size=2)
        x = conv_block(x, conv, index, regularizer)
    x = layers.Flatten(name="flatten")(x)
    return fc_stack(x, tuple(FCLayer(output_size=size, activation=encoder.activation, dropout=encoder.dropout)
                             for size in (120, 84)), "encoder_fc", regularizer)


def build_keras_application(x, encoder: KerasApplicationEncoder, regularizer=None):
    """VGG16/19 or ResNet50/101/152 without its top, weights=None (no download), global average pooled.

    A local ``pretrained_weights`` file is loaded afterwards by artifacts.weights (I/O stays out of builders).
    """
    import keras

    from .blocks import fc_stack

    constructors = {("vgg", 16): keras.applications.VGG16, ("vgg", 19): keras.applications.VGG19,
                    ("resnet", 50): keras.applications.ResNet50, ("resnet", 101): keras.applications.ResNet101,
                    ("resnet", 152): keras.applications.ResNet152}
    base = constructors[(encoder.type, encoder.variant)](include_top=False, weights=None,
                                                         input_shape=tuple(x.shape[1:]), pooling="avg")
    base.trainable = encoder.trainable
    x = base(x)  # (B, features)
    return fc_stack(x, tuple(FCLayer(output_size=encoder.output_size, dropout=encoder.dropout)
                             for _ in range(encoder.num_fc_layers)), "encoder_fc", regularizer)


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Encoder:
    """One encoder type: its schema, its builder, and what it needs of the input image."""

    schema: type
    build: Callable[..., Any]  # (x (B, H, W, C), encoder config, regularizer) → (B, F)
    min_input_size: int = 1  # smaller inputs are adapted (see input_fit)
    input_fit: str = "upsample"  # how a too-small input is enlarged: "upsample" (bilinear) or "pad" (zeros)
    rgb_only: bool = False  # a grayscale input is repeated to 3 channels
    variants: tuple[int, ...] = ()  # allowed model_variant values, the first is the default


# keras.applications refuse inputs smaller than 32x32; LeNet-5 was designed for 32x32 (MNIST padded by 2).
ENCODERS: dict[str, Encoder] = {
    "stacked_cnn": Encoder(StackedCNNEncoder, build_stacked_cnn),
    "mlp": Encoder(MLPEncoder, build_mlp),
    "lenet": Encoder(LeNetEncoder, build_lenet, min_input_size=32, input_fit="pad"),
    "vgg": Encoder(KerasApplicationEncoder, build_keras_application, min_input_size=32, rgb_only=True,
                   variants=(16, 19)),
    "resnet": Encoder(KerasApplicationEncoder, build_keras_application, min_input_size=32, rgb_only=True,
                      variants=(50, 101, 152)),
}
# Ludwig's one-word spellings: `type: vgg16` is `type: vgg, model_variant: 16`.
ENCODER_SHORTHANDS = {f"{name}{variant}": (name, variant)
                      for name, entry in ENCODERS.items() for variant in entry.variants}


def encoder_fields(kind: str) -> set[str]:
    """The config keys an encoder type accepts (its schema's fields)."""
    from dataclasses import fields

    return {f.name for f in fields(ENCODERS[kind].schema)}


def parse_encoder(value, path):
    """The ``encoder`` check of the config schema: a mapping with a ``type`` → that encoder's frozen schema."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        fail(path, value, "a mapping with a 'type' key")
    value = dict(value)
    kind = value.get("type", "stacked_cnn")
    if kind in ENCODER_SHORTHANDS:
        value["type"], variant = ENCODER_SHORTHANDS[kind]
        value.setdefault("model_variant", variant)
        kind = value["type"]
    one_of(*ENCODERS, *ENCODER_SHORTHANDS)(kind, f"{path}.type")
    entry = ENCODERS[kind]
    encoder = build(entry.schema, value, path)
    if entry.variants:
        if encoder.variant not in entry.variants:
            raise ConfigError(f"config key '{path}.model_variant': {kind} comes in variants "
                              f"{', '.join(map(str, entry.variants))}, not {encoder.variant}")
        if encoder.use_pretrained and not encoder.pretrained_weights:
            raise ConfigError(f"config key '{path}.use_pretrained': this tool never downloads weights; give a local "
                              f"file of {kind}{encoder.variant} weights (without top) as '{path}.pretrained_weights'")
    return encoder
