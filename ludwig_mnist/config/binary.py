"""The binary output feature (image → yes/no), Ludwig 0.10's BinaryOutputFeatureConfig.

A sigmoid unit after the regressor decoder; ``threshold`` turns P(True) into the prediction; the loss is
binary_weighted_cross_entropy with Ludwig's positive_class_weight, robust_lambda and confidence_penalty.
The label column becomes booleans by Ludwig's rules (data/binary.py).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass

from ..errors import ConfigError
from .checks import (
    a_bool,
    a_float,
    a_str,
    an_int,
    one_of,
    only,
    opt,
    optional,
    section,
    sections,
)
from .layers import (
    ACTIVATIONS,
    NORMS,
    FCLayerEntry,
    FCStack,
    initializer,
    norm_params,
    section_fc_stack,
)

REDUCTIONS = ("sum", "mean", "avg", "max", "concat", "last", "attention", None)


@dataclass(frozen=True)
class BinaryLoss:
    type: str = opt("binary_weighted_cross_entropy", one_of("binary_weighted_cross_entropy"))
    positive_class_weight: float | None = opt(None, optional(a_float(0.0)))  # BCE pos_weight; None or 0: none
    robust_lambda: int = opt(0, an_int(0))  # loss → (1 - λ) loss + λ / 2
    confidence_penalty: float = opt(0.0, a_float(0.0))  # + c (ln 2 - entropy) / ln 2, Ludwig's form
    weight: float = opt(1.0, a_float(0.0, strict_min=True))  # multiplies the training loss


@dataclass(frozen=True)
class BinaryDecoder:
    """Ludwig's regressor decoder: an optional fc stack (fc_*), then one unit (the logit) and the sigmoid."""

    type: str = opt("regressor", one_of("regressor"))
    num_fc_layers: int = opt(0, an_int(0))
    fc_output_size: int = opt(256, an_int(1))
    fc_layers: tuple[FCLayerEntry, ...] | None = opt(None, optional(sections(FCLayerEntry)))
    fc_use_bias: bool = opt(True, a_bool)
    fc_weights_initializer: str = opt("xavier_uniform", initializer)
    fc_bias_initializer: str = opt("zeros", initializer)
    fc_norm: str | None = opt(None, one_of(*NORMS))
    fc_norm_params: dict | None = opt(None, norm_params)
    fc_activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    fc_dropout: float = opt(0.0, a_float(0.0, 0.999))
    use_bias: bool = opt(True, a_bool)
    weights_initializer: str = opt("xavier_uniform", initializer)
    bias_initializer: str = opt("zeros", initializer)
    input_size: int | None = opt(None, optional(an_int(1)), ignored="Ludwig derives it from the combiner output")

    def fc_stack(self) -> FCStack:
        return section_fc_stack(self, output_size="fc_output_size")


def _binary_missing(value, path):
    if value in ("fill_with_false", "fill_with_true"):
        raise ConfigError(f"config key '{path}': {value!r} is not available here (an empty label has no string to "
                          "stand for false or true before the column is mapped); use drop_row, bfill, ffill or "
                          "fill_with_mode")
    return one_of("drop_row", "bfill", "ffill", "fill_with_mode")(value, path)


@dataclass(frozen=True)
class BinaryPreprocessing:
    missing_value_strategy: str = opt("drop_row", _binary_missing)  # honoured by data/table.fill_missing
    fallback_true_label: str | None = opt(None, optional(a_str))
    fill_value: str | None = opt(None, optional(a_str), ignored="no strategy accepted here uses it")
    computed_fill_value: str | None = opt(None, optional(a_str), ignored="Ludwig computes it internally")


@dataclass(frozen=True)
class BinaryOutputFeature:
    name: str = opt(MISSING, a_str)
    type: str = opt("binary", one_of("binary"))
    column: str | None = opt(None, optional(a_str))
    proc_column: str | None = opt(None, optional(a_str), ignored="Ludwig's internal name for the processed column")
    active: bool = opt(True, only(True, reason="it is the only output feature"))
    threshold: float = opt(0.5, a_float(0.0, 1.0))
    loss: BinaryLoss = opt(BinaryLoss(), section(BinaryLoss))
    decoder: BinaryDecoder = opt(BinaryDecoder(), section(BinaryDecoder))
    preprocessing: BinaryPreprocessing = opt(BinaryPreprocessing(), section(BinaryPreprocessing))
    reduce_input: str | None = opt("sum", one_of(*REDUCTIONS), ignored="the combiner output is already one vector "
                                   "per image, so there is nothing to reduce")
    dependencies: tuple[str, ...] = opt((), lambda v, p: tuple(only((), [], reason="there is one output feature")(
        v, p)))
    reduce_dependencies: str | None = opt("sum", one_of(*REDUCTIONS), ignored="used only with dependencies")
    calibration: bool = opt(False, only(False, reason="temperature scaling is not available here"))
    # Ludwig's default validation metric of a binary output (read by load._resolve_validation)
    default_validation_metric: str = opt("roc_auc", one_of("roc_auc"), ignored="Ludwig sets it per feature type")
    input_size: int | None = opt(None, optional(an_int(1)), ignored="Ludwig derives it from the combiner output")

    @property
    def column_name(self) -> str:
        return self.column or self.name
