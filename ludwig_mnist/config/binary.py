"""The binary output feature (image → yes/no), Ludwig 0.10's BinaryOutputFeatureConfig.

A sigmoid unit after the regressor decoder; ``threshold`` turns P(True) into the prediction; the loss is
binary_weighted_cross_entropy with Ludwig's positive_class_weight, robust_lambda and confidence_penalty.
The label column becomes booleans by Ludwig's rules (data/binary.py).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass

from .checks import a_bool, a_float, a_str, an_int, one_of, opt, optional, section
from .layers import ACTIVATIONS


@dataclass(frozen=True)
class BinaryLoss:
    type: str = opt("binary_weighted_cross_entropy", one_of("binary_weighted_cross_entropy"))
    positive_class_weight: float | None = opt(None, optional(a_float(0.0)))  # BCE pos_weight; None or 0: none
    robust_lambda: int = opt(0, an_int(0))  # loss → (1 - λ) loss + λ / 2
    confidence_penalty: float = opt(0.0, a_float(0.0))  # + c x (ln 2 - entropy) / ln 2 (Ludwig's form)
    weight: float = opt(1.0, a_float(0.0, strict_min=True))  # one output feature: scales nothing relative


@dataclass(frozen=True)
class BinaryDecoder:
    """Ludwig's regressor decoder: optional fc stack, then one linear unit (the logit)."""

    type: str = opt("regressor", one_of("regressor"))
    num_fc_layers: int = opt(0, an_int(0))
    fc_output_size: int = opt(256, an_int(1))
    fc_activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    fc_dropout: float = opt(0.0, a_float(0.0, 0.999))
    use_bias: bool = opt(True, a_bool)


@dataclass(frozen=True)
class BinaryPreprocessing:
    # Only drop_row is honoured here; the fill strategies are refused rather than accepted and ignored.
    missing_value_strategy: str = opt("drop_row", one_of("drop_row"))
    fallback_true_label: str | None = opt(None, optional(a_str))


@dataclass(frozen=True)
class BinaryOutputFeature:
    name: str = opt(MISSING, a_str)
    type: str = opt("binary", one_of("binary"))
    column: str | None = opt(None, optional(a_str))
    threshold: float = opt(0.5, a_float(0.0, 1.0))
    loss: BinaryLoss = opt(BinaryLoss(), section(BinaryLoss))
    decoder: BinaryDecoder = opt(BinaryDecoder(), section(BinaryDecoder))
    preprocessing: BinaryPreprocessing = opt(BinaryPreprocessing(), section(BinaryPreprocessing))

    @property
    def column_name(self) -> str:
        return self.column or self.name
