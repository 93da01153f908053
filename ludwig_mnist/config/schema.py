"""The typed config: one frozen dataclass per Ludwig config section, built and checked by checks.build.

Encoders are not here: each encoder's schema sits beside its builder in the encoder registry
(model/encoders.py), and ``ImageInputFeature.encoder`` looks the type up there.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass
from typing import Any

from ..errors import ConfigError
from ..model.encoders import StackedCNNEncoder, parse_encoder
from ..results import plain
from .binary import BinaryOutputFeature
from .checks import (
    a_bool,
    a_float,
    a_str,
    an_int,
    either,
    fail,
    list_of,
    one_of,
    opt,
    optional,
    section,
    sections,
)
from .layers import ACTIVATIONS, NORMS

AUGMENTATION_TYPES = ("random_horizontal_flip", "random_vertical_flip", "random_rotate", "random_blur",
                      "random_brightness", "random_contrast")


@dataclass(frozen=True)
class AugmentationOp:
    """One of Ludwig's image augmentations (applied to training batches only)."""

    type: str = opt(MISSING, one_of(*AUGMENTATION_TYPES))
    degree: float = opt(15.0, a_float(0.0, 180.0))  # random_rotate: angle drawn from [-degree, degree]
    kernel_size: int = opt(3, an_int(1))  # random_blur
    min: float = opt(0.5, a_float(0.0))  # random_brightness / random_contrast factor range
    max: float = opt(2.0, a_float(0.0))


# Ludwig's `augmentation: true`, and the MLSteam template's names for its options.
AUGMENTATION_PRESETS = {
    True: ("random_horizontal_flip", "random_rotate"),
    "flip_random": ("random_horizontal_flip", "random_vertical_flip"),
    "color_distortion": ("random_brightness", "random_contrast"),
    "both": ("random_horizontal_flip", "random_vertical_flip", "random_brightness", "random_contrast"),
}


def _augmentation(value, path):
    if value in (False, None, []):
        return ()
    if isinstance(value, (bool, str)):
        if value not in AUGMENTATION_PRESETS:
            one_of(*[k for k in AUGMENTATION_PRESETS if k is not True], "true", "false")(value, path)
        return tuple(AugmentationOp(type=kind) for kind in AUGMENTATION_PRESETS[value])
    ops = sections(AugmentationOp)(value, path)
    for index, op in enumerate(ops):
        if op.min > op.max:
            raise ConfigError(f"config key '{path}.{index}': min {op.min} is larger than max {op.max}")
    return ops


@dataclass(frozen=True)
class ImagePreprocessing:
    height: int | None = opt(None, optional(an_int(1)))
    width: int | None = opt(None, optional(an_int(1)))
    num_channels: int | None = opt(None, optional(one_of(1, 3, 4)))
    resize_method: str = opt("interpolate", one_of("interpolate", "crop_or_pad"))
    infer_image_num_channels: bool = opt(True, a_bool)
    infer_image_dimensions: bool = opt(True, a_bool)
    infer_image_max_height: int = opt(256, an_int(1))
    infer_image_max_width: int = opt(256, an_int(1))
    infer_image_sample_size: int = opt(100, an_int(1))
    standardize_image: str | None = opt(None, one_of(None, "imagenet1k"))
    in_memory: bool = opt(True, a_bool)
    num_processes: int = opt(1, an_int(1))
    requires_equal_dimensions: bool = opt(False, a_bool)
    missing_value_strategy: str = opt("drop_row", one_of("drop_row"))


@dataclass(frozen=True)
class ImageInputFeature:
    name: str = opt(MISSING, a_str)
    type: str = opt("image", one_of("image"))
    column: str | None = opt(None, optional(a_str))
    encoder: Any = opt(StackedCNNEncoder(), parse_encoder)
    preprocessing: ImagePreprocessing = opt(ImagePreprocessing(), section(ImagePreprocessing))
    augmentation: tuple[AugmentationOp, ...] = opt((), _augmentation)

    @property
    def column_name(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class CategoryLoss:
    # mean_squared_error: sigmoid outputs fitted to one-hot targets (the deeplay comparison)
    type: str = opt("softmax_cross_entropy", one_of("softmax_cross_entropy", "mean_squared_error"))
    class_weights: Any = opt(None, optional(either(list_of(a_float(0.0)), lambda v, p: {str(k): a_float(0.0)(w, f"{p}.{k}") for k, w in v.items()} if isinstance(v, dict) else fail(p, v, "a mapping"), expected="a list or a mapping of class weights")))
    weight: float = opt(1.0, a_float(0.0, strict_min=True))


@dataclass(frozen=True)
class CategoryDecoder:
    type: str = opt("classifier", one_of("classifier"))
    num_fc_layers: int = opt(0, an_int(0))
    fc_output_size: int = opt(256, an_int(1))
    fc_activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    fc_dropout: float = opt(0.0, a_float(0.0, 0.999))


@dataclass(frozen=True)
class CategoryPreprocessing:
    missing_value_strategy: str = opt("drop_row", one_of("drop_row"))
    most_common: int = opt(10000, an_int(1))


@dataclass(frozen=True)
class CategoryOutputFeature:
    name: str = opt(MISSING, a_str)
    type: str = opt("category", one_of("category"))
    column: str | None = opt(None, optional(a_str))
    top_k: int = opt(3, an_int(1))
    loss: CategoryLoss = opt(CategoryLoss(), section(CategoryLoss))
    decoder: CategoryDecoder = opt(CategoryDecoder(), section(CategoryDecoder))
    preprocessing: CategoryPreprocessing = opt(CategoryPreprocessing(), section(CategoryPreprocessing))

    @property
    def column_name(self) -> str:
        return self.column or self.name


def _output_features(value, path):
    """Each entry by its `type`: category (the default) or binary (config/binary.py)."""
    if not isinstance(value, (list, tuple)):
        fail(path, value, "a list of mappings")
    kinds = {"category": CategoryOutputFeature, "binary": BinaryOutputFeature}
    return tuple(section(kinds.get(v.get("type", "category"), CategoryOutputFeature) if isinstance(v, dict)
                         else CategoryOutputFeature)(v, f"{path}.{i}") for i, v in enumerate(value))


@dataclass(frozen=True)
class ConcatCombiner:
    type: str = opt("concat", one_of("concat"))
    num_fc_layers: int = opt(0, an_int(0))
    output_size: int = opt(256, an_int(1))
    dropout: float = opt(0.0, a_float(0.0, 0.999))
    activation: str | None = opt("relu", one_of(*ACTIVATIONS))
    norm: str | None = opt(None, one_of(*NORMS))


@dataclass(frozen=True)
class OptimizerConfig:
    type: str = opt("adam", one_of("adam", "adamw", "sgd", "rmsprop", "adagrad", "adamax", "nadam"))
    betas: tuple[float, float] = opt([0.9, 0.999], list_of(a_float(0.0, 0.999999), length=2))
    eps: float = opt(1e-8, a_float(0.0, strict_min=True))
    weight_decay: float = opt(0.0, a_float(0.0))
    momentum: float = opt(0.0, a_float(0.0, 1.0))
    nesterov: bool = opt(False, a_bool)


@dataclass(frozen=True)
class LearningRateScheduler:
    """Ludwig's learning_rate_scheduler: warmup, then decay, plus reduce-on-plateau steps."""

    decay: str | None = opt(None, one_of(None, "linear", "exponential", "cosine"))
    decay_rate: float = opt(0.96, a_float(0.0, 1.0, strict_min=True))
    decay_steps: int = opt(10000, an_int(1))
    staircase: bool = opt(False, a_bool)
    warmup_fraction: float = opt(0.0, a_float(0.0, 1.0))
    reduce_on_plateau: int = opt(0, an_int(0))  # how many times the rate may be reduced
    reduce_on_plateau_patience: int = opt(10, an_int(1))
    reduce_on_plateau_rate: float = opt(0.1, a_float(0.0, 1.0, strict_min=True))
    reduce_eval_metric: str = opt("loss", one_of("loss", "accuracy"))


@dataclass(frozen=True)
class TrainerConfig:
    type: str = opt("trainer", one_of("trainer"))
    epochs: int = opt(100, an_int(1))
    batch_size: int | str = opt("auto", either(an_int(1), one_of("auto"), expected="a positive integer or 'auto'"))
    eval_batch_size: int | str | None = opt(None, optional(either(an_int(1), one_of("auto"), expected="a positive integer or 'auto'")))
    learning_rate: float = opt(0.001, a_float(0.0, strict_min=True))
    optimizer: OptimizerConfig = opt(OptimizerConfig(), section(OptimizerConfig))
    early_stop: int = opt(5, an_int(-1))
    validation_field: str | None = opt(None, optional(a_str))
    validation_metric: str = opt("accuracy", one_of("accuracy", "loss", "roc_auc"))
    should_shuffle: bool = opt(True, a_bool)
    learning_rate_scheduler: LearningRateScheduler = opt(LearningRateScheduler(), section(LearningRateScheduler))
    regularization_type: str = opt("l2", one_of("l1", "l2", "l1_l2"))
    regularization_lambda: float = opt(0.0, a_float(0.0))


def _split_type(value, path):
    if value == "datetime":  # Ludwig's datetime split orders rows by a date column; an image table has none
        raise ConfigError(f"config key '{path}': 'datetime' splits order rows by a date column, which an image "
                          "classification table does not have; use 'hash' on a sample id, 'stratify', 'random' or 'fixed'")
    return one_of("random", "fixed", "stratify", "hash")(value, path)


@dataclass(frozen=True)
class SplitConfig:
    type: str = opt("random", _split_type)
    column: str | None = opt(None, optional(a_str))
    probabilities: tuple[float, float, float] = opt([0.7, 0.1, 0.2], list_of(a_float(0.0, 1.0), length=3))


@dataclass(frozen=True)
class GlobalPreprocessing:
    split: SplitConfig = opt(SplitConfig(), section(SplitConfig))
    sample_ratio: float = opt(1.0, a_float(0.0, 1.0, strict_min=True))


@dataclass(frozen=True)
class ExperimentConfig:
    input_features: tuple[ImageInputFeature, ...] = opt(MISSING, sections(ImageInputFeature))
    output_features: tuple[CategoryOutputFeature | BinaryOutputFeature, ...] = opt(MISSING, _output_features)
    combiner: ConcatCombiner = opt(ConcatCombiner(), section(ConcatCombiner))
    trainer: TrainerConfig = opt(TrainerConfig(), section(TrainerConfig))
    preprocessing: GlobalPreprocessing = opt(GlobalPreprocessing(), section(GlobalPreprocessing))
    model_type: str = opt("ecd", one_of("ecd"))
    ludwig_version: str | None = opt(None, optional(a_str))
    # Kept verbatim for `ludwig-mnist compare`; `experiment` ignores it, as Ludwig's experiment does.
    hyperopt: dict | None = opt(None, optional(lambda v, p: v if isinstance(v, dict) else fail(p, v, "a mapping")))

    @property
    def input_feature(self) -> ImageInputFeature:
        return self.input_features[0]

    @property
    def output_feature(self) -> CategoryOutputFeature | BinaryOutputFeature:
        return self.output_features[0]

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved config (every default explicit), JSON/YAML-ready and re-parseable."""
        return plain(asdict(self))
