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
    anything,
    build,
    fail,
    one_of,
    only,
    opt,
    optional,
    sections,
)
from ..config.layers import (
    ACTIVATIONS,
    NORMS,
    ConvLayer,
    ConvLayerEntry,
    FCLayer,
    FCLayerEntry,
    FCStack,
    conv_padding,
    initializer,
    norm_params,
    pool_padding,
    resolve,
    section_fc_stack,
    size,
)
from ..errors import ConfigError
from .families import FAMILIES, NOT_BUILT, not_built_message, variant_message

# ---------------------------------------------------------------- schemas

# Keys Ludwig derives from preprocessing (height, width, num_channels) and its internal `skip`.
DERIVED = "Ludwig sets it from the image preprocessing; the inferred or configured image size is used"
# Ludwig 0.10 has `trainable` on its pretrained encoders only; here every encoder takes it (--encoder_from).
TRAINABLE = ("false freezes every layer of this encoder (Ludwig 0.10 has the key on its pretrained encoders "
             "only); used with --encoder_from to keep another model's encoder fixed")


@dataclass(frozen=True)
class StackedCNNEncoder:
    """Ludwig's stacked_cnn (encoders/image/base.Stacked2DCNN); every key and default is Ludwig 0.10's.

    Layer entries inherit the encoder-level values of the keys they leave out; with neither conv_layers nor
    num_conv_layers the stack is Ludwig's two layers of 32 and 64 channels.
    """

    type: str = opt("stacked_cnn", one_of("stacked_cnn"))
    skip: bool = opt(False, only(False, reason="an internal Ludwig switch that bypasses the encoder"))
    height: int | None = opt(None, optional(an_int(1)), ignored=DERIVED)
    width: int | None = opt(None, optional(an_int(1)), ignored=DERIVED)
    num_channels: int | None = opt(None, optional(an_int(1)), ignored=DERIVED)
    use_pretrained: bool | None = opt(None, optional(a_bool), ignored="stacked_cnn has no pretrained weights "
                                      "(Ludwig 0.10 drops the key); it trains from scratch")
    conv_layers: tuple[ConvLayerEntry, ...] | None = opt(None, optional(sections(ConvLayerEntry)))
    num_conv_layers: int | None = opt(None, optional(an_int(0)))
    out_channels: int = opt(32, an_int(1))
    kernel_size: Any = opt(3, size(1))
    stride: Any = opt(1, size(1))
    padding: Any = opt("valid", conv_padding)
    dilation: Any = opt(1, size(1))
    groups: int = opt(1, an_int(1))
    padding_mode: str = opt("zeros", only("zeros", reason="Keras convolutions pad with zeros only"))
    conv_use_bias: bool = opt(True, a_bool)
    conv_norm: str | None = opt(None, one_of(*NORMS))
    conv_norm_params: dict | None = opt(None, norm_params)
    conv_activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    conv_dropout: float = opt(0.0, a_float(0.0, 0.999))
    pool_function: str = opt("max", one_of("max", "avg", "mean", "average"))
    pool_kernel_size: Any = opt(2, optional(size(1)))
    pool_stride: Any = opt(None, optional(size(1)))
    pool_padding: int = opt(0, pool_padding)
    pool_dilation: Any = opt(1, only(1, reason="Keras pooling has no dilation"))
    fc_layers: tuple[FCLayerEntry, ...] | None = opt(None, optional(sections(FCLayerEntry)))
    num_fc_layers: int = opt(1, an_int(0))
    output_size: int = opt(128, an_int(1))
    fc_use_bias: bool = opt(True, a_bool)
    fc_weights_initializer: str = opt("xavier_uniform", initializer)
    fc_bias_initializer: str = opt("zeros", initializer)
    fc_norm: str | None = opt(None, one_of(*NORMS))
    fc_norm_params: dict | None = opt(None, norm_params)
    fc_activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    fc_dropout: float = opt(0.0, a_float(0.0, 0.999))
    trainable: bool = opt(True, a_bool, own=TRAINABLE)

    def resolved_conv_layers(self) -> tuple[ConvLayer, ...]:
        """Conv2DStack's rule: explicit entries, else num_conv_layers default layers, else 32 then 64 channels."""
        if self.conv_layers is not None:
            entries = self.conv_layers
        elif self.num_conv_layers is not None:
            entries = tuple(ConvLayerEntry() for _ in range(self.num_conv_layers))
        else:
            entries = (ConvLayerEntry(out_channels=32), ConvLayerEntry(out_channels=64))
        defaults = {"out_channels": self.out_channels, "kernel_size": self.kernel_size, "stride": self.stride,
                    "padding": self.padding, "dilation": self.dilation, "groups": self.groups,
                    "use_bias": self.conv_use_bias, "padding_mode": self.padding_mode, "norm": self.conv_norm,
                    "norm_params": self.conv_norm_params, "activation": self.conv_activation,
                    "dropout": self.conv_dropout, "pool_function": self.pool_function,
                    "pool_kernel_size": self.pool_kernel_size, "pool_stride": self.pool_stride or self.pool_kernel_size,
                    "pool_padding": self.pool_padding, "pool_dilation": self.pool_dilation}
        return tuple(resolve(entry, ConvLayer, defaults) for entry in entries)

    def resolved_fc_layers(self) -> tuple[FCLayer, ...]:
        return self.resolved_fc_stack().layers

    def resolved_fc_stack(self) -> FCStack:
        return section_fc_stack(self)


@dataclass(frozen=True)
class MLPEncoder:
    """Dense layers over the flattened pixels (the Keras tutorials' 512-512, deeplay's 32-32 sigmoid)."""

    type: str = opt("mlp", one_of("mlp"))
    fc_layers: tuple[FCLayerEntry, ...] | None = opt(None, optional(sections(FCLayerEntry)))
    num_fc_layers: int = opt(2, an_int(1))
    output_size: int = opt(512, an_int(1))
    activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    dropout: float = opt(0.0, a_float(0.0, 0.999))
    norm: str | None = opt(None, one_of(*NORMS))
    trainable: bool = opt(True, a_bool, own=TRAINABLE)

    def resolved_fc_layers(self) -> tuple[FCLayer, ...]:
        defaults = {**FCLayer().__dict__, "output_size": self.output_size, "activation": self.activation,
                    "dropout": self.dropout, "norm": self.norm}
        entries = self.fc_layers if self.fc_layers is not None else [FCLayerEntry()] * self.num_fc_layers
        return tuple(resolve(entry, FCLayer, defaults) for entry in entries)


@dataclass(frozen=True)
class LeNetEncoder:
    """LeNet-5: conv 6@5x5 → pool → conv 16@5x5 → pool → fc 120 → fc 84 (inputs under 32x32 are padded)."""

    type: str = opt("lenet", one_of("lenet"))
    activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    pool_function: str = opt("max", one_of("max", "avg", "mean", "average"))
    dropout: float = opt(0.0, a_float(0.0, 0.999))
    trainable: bool = opt(True, a_bool, own=TRAINABLE)


@dataclass(frozen=True)
class TorchvisionEncoder:
    """Ludwig 0.10's torchvision encoders (TVBaseEncoderConfig and each family's model_variant), built in Keras.

    use_pretrained (Ludwig's default true): Keras's ImageNet weights, from its cache or downloaded once by
    Keras (artifacts/weights.py); model_cache_dir: that cache (Keras's cache_dir, default $KERAS_HOME or
    ~/.keras).  pretrained_weights (this tool's key): a local weights file of the backbone without its top.
    num_fc_layers/output_size/dropout (this tool's keys, default no layers): an fc stack after Ludwig's output.
    """

    type: str = opt("resnet", one_of(*FAMILIES))
    model_variant: Any = opt(None, anything)  # checked against the family's list in parse_encoder
    use_pretrained: bool = opt(True, a_bool)
    model_cache_dir: str | None = opt(None, optional(a_str))
    saved_weights_in_checkpoint: bool = opt(False, a_bool, ignored="the model directory always holds every "
                                            "weight, pretrained or not; predict never fetches weights")
    trainable: bool = opt(True, a_bool)
    pretrained_weights: str | None = opt(None, optional(a_str))
    num_fc_layers: int = opt(0, an_int(0))
    output_size: int = opt(256, an_int(1))
    dropout: float = opt(0.0, a_float(0.0, 0.999))

    @property
    def variant(self):
        return FAMILIES[self.type].variants[0] if self.model_variant is None else self.model_variant


# ---------------------------------------------------------------- builders (Keras is imported when they run)


def _two(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _conv_output_size(size_hw: tuple[int, int], conv: ConvLayer) -> tuple[int, int]:
    """torch's Conv2d output size: floor((n + 2p - d(k - 1) - 1) / s) + 1; 'same' keeps ceil(n / s)."""
    out = []
    for n, k, s, d, p in zip(size_hw, _two(conv.kernel_size), _two(conv.stride), _two(conv.dilation),
                             _two(0 if isinstance(conv.padding, str) else conv.padding)):
        out.append(-(-n // s) if conv.padding == "same" else (n + 2 * p - d * (k - 1) - 1) // s + 1)
    return out[0], out[1]


def build_stacked_cnn(x, encoder: StackedCNNEncoder, regularizer=None):
    from keras import layers

    from .blocks import conv_block, fc_stack

    for index, conv in enumerate(encoder.resolved_conv_layers()):
        height, width = x.shape[1], x.shape[2]
        out_height, out_width = _conv_output_size((height, width), conv)
        if out_height < 1 or out_width < 1:
            raise ConfigError(f"config key 'input_features.0.encoder.conv_layers.{index}': its kernel "
                              f"{conv.kernel_size} (dilation {conv.dilation}, padding {conv.padding!r}) does not fit "
                              f"the {height}x{width} feature map left by the layers before it; use fewer conv layers, "
                              "padding: same, or larger images")
        x = conv_block(x, conv, index, regularizer)
        if x.shape[1] < 1 or x.shape[2] < 1:
            raise ConfigError(f"config key 'input_features.0.encoder.conv_layers.{index}': pooling shrinks the "
                              "feature map to nothing; use a smaller pool_kernel_size or fewer layers")
    x = layers.Flatten(name="flatten")(x)
    return fc_stack(x, encoder.resolved_fc_stack(), "encoder_fc", regularizer)


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


def build_torchvision(x, encoder: TorchvisionEncoder, regularizer=None):
    """Ludwig's torchvision family at its variant (model/backbones.py), then this tool's optional fc stack."""
    from .backbones import build_family
    from .blocks import fc_stack

    x = build_family(x, encoder, regularizer)  # (B, F): what Ludwig keeps of the torchvision network
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


# keras.applications refuse inputs smaller than 32x32 (InceptionV3 75x75); LeNet-5 was designed for 32x32.
ENCODERS: dict[str, Encoder] = {
    "stacked_cnn": Encoder(StackedCNNEncoder, build_stacked_cnn),
    "mlp": Encoder(MLPEncoder, build_mlp),
    "lenet": Encoder(LeNetEncoder, build_lenet, min_input_size=32, input_fit="pad"),
    **{name: Encoder(TorchvisionEncoder, build_torchvision, min_input_size=family.min_input_size, rgb_only=True,
                     variants=family.variants) for name, family in FAMILIES.items()},
}
# Ludwig's one-word spellings of numbered variants: `type: vgg16` is `type: vgg, model_variant: 16`.
ENCODER_SHORTHANDS = {f"{name}{variant}": (name, variant) for name, entry in ENCODERS.items()
                      for variant in entry.variants if isinstance(variant, int)}


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
    if not isinstance(kind, str):
        fail(f"{path}.type", kind, "an encoder name such as 'stacked_cnn'")
    # Ludwig's _upgrade_legacy_image_encoders: these keys mark its own legacy networks, not torchvision's
    if kind == "resnet" and "resnet_size" in value:
        kind = "_resnet_legacy"
    elif kind == "vit" and "num_hidden_layers" in value:
        kind = "_vit_legacy"
    if kind in ENCODER_SHORTHANDS:
        value["type"], variant = ENCODER_SHORTHANDS[kind]
        value.setdefault("model_variant", variant)
        kind = value["type"]
    if kind in NOT_BUILT:
        raise ConfigError(not_built_message(kind, path))
    one_of(*ENCODERS, *ENCODER_SHORTHANDS)(kind, f"{path}.type")
    entry = ENCODERS[kind]
    encoder = build(entry.schema, value, path)
    if entry.schema is TorchvisionEncoder:
        message = variant_message(kind, encoder.variant, path)
        if message:
            raise ConfigError(message)
        if encoder.use_pretrained and not encoder.pretrained_weights \
                and encoder.variant not in FAMILIES[kind].weights:
            raise ConfigError(f"config key '{path}.use_pretrained': Keras has no ImageNet weights for {kind} "
                              f"{encoder.variant} (this tool writes that network itself); give a local weights "
                              f"file as '{path}.pretrained_weights' or set use_pretrained: false")
    return encoder
