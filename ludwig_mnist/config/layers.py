"""The schema of one conv layer and one fully connected layer, shared by encoders, combiner and decoder."""

from __future__ import annotations

from dataclasses import dataclass

from .checks import a_bool, a_float, an_int, one_of, opt, optional

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "leakyRelu", "softmax", "linear", None)
NORMS = (None, "batch", "layer")


@dataclass(frozen=True)
class ConvLayer:
    out_channels: int = opt(32, an_int(1))
    kernel_size: int = opt(3, an_int(1))
    stride: int = opt(1, an_int(1))
    padding: str = opt("valid", one_of("valid", "same"))
    dilation: int = opt(1, an_int(1))
    use_bias: bool = opt(True, a_bool)
    norm: str | None = opt(None, one_of(*NORMS))
    activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    dropout: float = opt(0.0, a_float(0.0, 0.999))
    pool_function: str = opt("max", one_of("max", "avg", "mean", "average"))
    pool_kernel_size: int | None = opt(2, optional(an_int(1)))
    pool_stride: int | None = opt(None, optional(an_int(1)))
    pool_padding: str = opt("valid", one_of("valid", "same"))


@dataclass(frozen=True)
class FCLayer:
    output_size: int = opt(128, an_int(1))
    activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    dropout: float = opt(0.0, a_float(0.0, 0.999))
    norm: str | None = opt(None, one_of(*NORMS))
    use_bias: bool = opt(True, a_bool)
