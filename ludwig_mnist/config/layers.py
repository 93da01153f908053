"""Conv and fully connected layers: the entries a user writes, and the concrete layers the builders get.

Ludwig's rule (modules/convolutional_modules.Conv2DStack, fully_connected_modules.FCStack): a key missing
from an entry of ``conv_layers`` or ``fc_layers`` takes the encoder-level (or combiner/decoder-level)
value.  An entry therefore keeps ``INHERIT`` for what the user left out, and ``resolve`` fills it from the
level above; an explicit ``null`` (``norm: null`` under ``conv_norm: batch``) stays null, as in Ludwig.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .checks import INHERIT, a_bool, a_float, an_int, either, fail, list_of, one_of, only, opt, optional

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "leakyRelu", "softmax", "linear", None)
NORMS = (None, "batch", "layer")  # ghost batch norm: Keras 3 has no virtual batches
# Ludwig's initializer names (torch.nn.init) → Keras initializers with the same distribution.
INITIALIZERS = {
    "xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal",
    "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal",
    "zeros": "zeros", "ones": "ones", "orthogonal": "orthogonal", "eye": "identity",
    "normal": {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 1.0}},
    "uniform": {"class_name": "RandomUniform", "config": {"minval": 0.0, "maxval": 1.0}},
}
NORM_PARAMS = {"batch": ("momentum", "eps", "affine"), "layer": ("eps", "elementwise_affine")}


def size(minimum: int):
    """An int or a [height, width] pair (Ludwig accepts both for kernel sizes, strides and dilations)."""
    return either(an_int(minimum), list_of(an_int(minimum), length=2),
                  expected=f"an integer >= {minimum} or a [height, width] pair")


def conv_padding(value, path):
    """'valid', 'same', an int, or a [height, width] pair of zero-padding sizes (torch's meaning)."""
    if isinstance(value, str):
        return one_of("valid", "same")(value, path)
    return size(0)(value, path)


def pool_padding(value, path):
    # torch pads max-pooling with -inf, which Keras cannot express; 0 (Ludwig's default) is 'valid'.
    if value in (0, "valid", [0, 0], (0, 0)):
        return 0
    fail(path, value, "0 (padding inside pooling layers is not available here; pad the conv layer instead)")


def initializer(value, path):
    if isinstance(value, dict):
        if set(value) != {"type"}:
            fail(path, value, f"an initializer name ({', '.join(INITIALIZERS)}); parameters are not available")
        value = value["type"]
    return one_of(*INITIALIZERS)(value, path)


def norm_params(value, path):
    if value is None:
        return None
    if not isinstance(value, dict):
        fail(path, value, "a mapping of norm parameters")
    allowed = sorted({k for keys in NORM_PARAMS.values() for k in keys})
    for key, item in value.items():
        one_of(*allowed)(key, f"{path}.{key}")
        if key == "affine" or key == "elementwise_affine":
            a_bool(item, f"{path}.{key}")
        else:
            a_float(0.0, 1.0, strict_min=True)(item, f"{path}.{key}")
    return dict(value)


def _inheriting(check):
    """An entry key: INHERIT when absent (build never calls the check then)."""
    return opt(INHERIT, check)


@dataclass(frozen=True)
class ConvLayer:
    """One resolved conv layer: conv → norm → activation → dropout → pool (Ludwig's Conv2DLayer)."""

    out_channels: int = 32
    kernel_size: int | tuple[int, int] = 3
    stride: int | tuple[int, int] = 1
    padding: Any = "valid"
    dilation: int | tuple[int, int] = 1
    groups: int = 1
    use_bias: bool = True
    padding_mode: str = "zeros"
    norm: str | None = None
    norm_params: dict | None = None
    activation: str | None = "relu"
    dropout: float = 0.0
    pool_function: str = "max"
    pool_kernel_size: int | tuple[int, int] | None = 2
    pool_stride: int | tuple[int, int] | None = None
    pool_padding: int = 0
    pool_dilation: int | tuple[int, int] = 1


@dataclass(frozen=True)
class ConvLayerEntry:
    """An entry of ``conv_layers`` as written; absent keys inherit the encoder-level values."""

    out_channels: Any = _inheriting(an_int(1))
    kernel_size: Any = _inheriting(size(1))
    stride: Any = _inheriting(size(1))
    padding: Any = _inheriting(conv_padding)
    dilation: Any = _inheriting(size(1))
    groups: Any = _inheriting(an_int(1))
    use_bias: Any = _inheriting(a_bool)
    padding_mode: Any = _inheriting(only("zeros", reason="Keras convolutions pad with zeros only"))
    norm: Any = _inheriting(one_of(*NORMS))
    norm_params: Any = _inheriting(norm_params)
    activation: Any = _inheriting(one_of(*ACTIVATIONS))
    dropout: Any = _inheriting(a_float(0.0, 0.999))
    pool_function: Any = _inheriting(one_of("max", "avg", "mean", "average"))
    pool_kernel_size: Any = _inheriting(optional(size(1)))
    pool_stride: Any = _inheriting(optional(size(1)))
    pool_padding: Any = _inheriting(pool_padding)
    pool_dilation: Any = _inheriting(only(1, reason="Keras pooling has no dilation"))


@dataclass(frozen=True)
class FCLayer:
    """One resolved dense layer: dense → norm → activation → dropout (Ludwig's FCLayer)."""

    output_size: int = 256
    use_bias: bool = True
    weights_initializer: str = "xavier_uniform"
    bias_initializer: str = "zeros"
    norm: str | None = None
    norm_params: dict | None = None
    activation: str | None = "relu"
    dropout: float = 0.0


FC_DEFAULT_KEYS = ("output_size", "use_bias", "weights_initializer", "bias_initializer", "norm", "norm_params",
                   "activation", "dropout")


@dataclass(frozen=True)
class FCLayerEntry:
    """An entry of ``fc_layers`` as written; absent keys inherit the level above."""

    output_size: Any = _inheriting(an_int(1))
    use_bias: Any = _inheriting(a_bool)
    weights_initializer: Any = _inheriting(initializer)
    bias_initializer: Any = _inheriting(initializer)
    norm: Any = _inheriting(one_of(*NORMS))
    norm_params: Any = _inheriting(norm_params)
    activation: Any = _inheriting(one_of(*ACTIVATIONS))
    dropout: Any = _inheriting(a_float(0.0, 0.999))


def resolve(entry, concrete: type, defaults: dict):
    """Entry (INHERIT where absent) + the level-above defaults → the concrete layer."""
    values = {f.name: getattr(entry, f.name) for f in fields(concrete)}
    return concrete(**{name: defaults[name] if value is INHERIT else value for name, value in values.items()})


@dataclass(frozen=True)
class FCStack:
    """Ludwig's FCStack: the layers, plus the norm and dropout it applies to its input when the defaults set them
    (fully_connected_modules.FCStack.forward: input → default norm → default dropout → layers)."""

    layers: tuple[FCLayer, ...]
    input_norm: str | None = None
    input_norm_params: dict | None = None
    input_dropout: float = 0.0


def section_fc_stack(section, prefix: str = "fc_", output_size: str = "output_size") -> FCStack:
    """The fc stack of a section (encoder, combiner, decoder) that holds its layer defaults as
    ``<prefix><key>`` (Ludwig's fc_use_bias, fc_norm, ...; the combiner's are unprefixed), its entries as
    ``fc_layers`` and their count as ``num_fc_layers``; ``output_size`` names its size field."""
    defaults = {name: getattr(section, output_size if name == "output_size" else prefix + name)
                for name in FC_DEFAULT_KEYS}
    return fc_stack_of(section.fc_layers, section.num_fc_layers, defaults)


def fc_stack_of(entries, count: int, defaults: dict) -> FCStack:
    """``fc_layers`` entries (or ``count`` empty entries) resolved against ``defaults`` (FCLayer field names)."""
    written = entries if entries is not None else tuple(FCLayerEntry() for _ in range(count))
    layers = tuple(resolve(entry, FCLayer, defaults) for entry in written)
    return FCStack(layers, defaults["norm"], defaults["norm_params"], defaults["dropout"])
