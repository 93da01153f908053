"""The typed config: one frozen dataclass per Ludwig config section, built and checked by checks.build.

Encoders are not here: each encoder's schema sits beside its builder in the encoder registry
(model/encoders.py), and ``ImageInputFeature.encoder`` looks the type up there.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field
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
from .trainer import NO_EFFECT, TrainerConfig


def _mapping(value, path):
    if not isinstance(value, dict):
        fail(path, value, "a mapping")
    return value


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


MISSING_VALUE_STRATEGIES = ("fill_with_const", "fill_with_mode", "bfill", "ffill", "drop_row", "fill_with_mean",
                            "fill_with_false")
NO_MEAN = "there is no mean or false of an image path or a class name"


@dataclass(frozen=True)
class ImagePreprocessing:
    """Ludwig 0.10's image preprocessing (schema/features/preprocessing/image.py), with its defaults."""

    missing_value_strategy: str = opt("bfill", one_of(*MISSING_VALUE_STRATEGIES[1:5], "fill_with_const",
                                                      "fill_with_mean", "fill_with_false"))
    fill_value: float | None = opt(None, optional(a_float(0.0)), ignored="Ludwig fills an image path with it, which "
                                   "names no image; use bfill, ffill, fill_with_mode or drop_row")
    computed_fill_value: float | None = opt(None, optional(a_float(0.0)), ignored="Ludwig computes it internally")
    height: int | None = opt(None, optional(an_int(1)))
    width: int | None = opt(None, optional(an_int(1)))
    num_channels: int | None = opt(None, optional(one_of(1, 3, 4)))
    resize_method: str = opt("interpolate", one_of("interpolate", "crop_or_pad"))
    infer_image_num_channels: bool = opt(True, a_bool, ignored="Ludwig 0.10 itself never reads it; channels are "
                                         "inferred whenever num_channels is not set")
    infer_image_dimensions: bool = opt(True, a_bool)
    infer_image_max_height: int = opt(256, an_int(1))
    infer_image_max_width: int = opt(256, an_int(1))
    infer_image_sample_size: int = opt(100, an_int(1))
    standardize_image: str | None = opt(None, one_of(None, "imagenet1k"))
    in_memory: bool = opt(True, a_bool)
    num_processes: int = opt(1, an_int(1), ignored="decoding uses the job's cores (GALAXY_SLOTS); " + NO_EFFECT)
    requires_equal_dimensions: bool = opt(False, a_bool)
    num_classes: int | None = opt(None, only(None, reason="it is for image outputs (segmentation masks)"))
    infer_image_num_classes: bool = opt(False, only(False, reason="it is for image outputs (segmentation masks)"))


def _no_fill_with(*refused):
    def check(value, path):
        if value in refused:
            raise ConfigError(f"config key '{path}': {value!r} is not available here ({NO_MEAN}); use one of "
                              "drop_row, bfill, ffill, fill_with_mode")
        return value
    return check


@dataclass(frozen=True)
class ImageInputFeature:
    name: str = opt(MISSING, a_str)
    type: str = opt("image", one_of("image"))
    column: str | None = opt(None, optional(a_str))
    proc_column: str | None = opt(None, optional(a_str), ignored="Ludwig's internal name for the processed column")
    active: bool = opt(True, only(True, reason="the image input is the only input feature"))
    tied: str | None = opt(None, only(None, reason="there is one input feature, so nothing to share an encoder "
                                       "with"))
    encoder: Any = opt(StackedCNNEncoder(), parse_encoder)
    preprocessing: ImagePreprocessing = opt(ImagePreprocessing(), section(ImagePreprocessing))
    augmentation: tuple[AugmentationOp, ...] = opt((), _augmentation)

    @property
    def column_name(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class CategoryLoss:
    # mean_squared_error: sigmoid outputs fitted to one-hot targets (the deeplay comparison; not a Ludwig loss)
    type: str = opt("softmax_cross_entropy", one_of("softmax_cross_entropy", "mean_squared_error"))
    class_weights: Any = opt(None, optional(either(list_of(a_float(0.0)), lambda v, p: {str(k): a_float(0.0)(w, f"{p}.{k}") for k, w in v.items()} if isinstance(v, dict) else fail(p, v, "a mapping"), expected="a list or a mapping of class weights")))
    weight: float = opt(1.0, a_float(0.0, strict_min=True))
    robust_lambda: float = opt(0.0, only(0.0, 0, reason="robust label smoothing is not available here"))
    confidence_penalty: float = opt(0.0, only(0.0, 0, reason="the entropy penalty is not available here"))
    class_similarities: Any = opt(None, only(None, reason="soft targets from class similarities are not available "
                                             "here"))
    class_similarities_temperature: float = opt(0.0, a_float(0.0), ignored="used only with class_similarities")


@dataclass(frozen=True)
class CategoryDecoder:
    """Ludwig's classifier decoder: an optional fc stack (fc_*), then the class projection."""

    type: str = opt("classifier", one_of("classifier"))
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
    num_classes: int | None = opt(None, optional(an_int(1)), ignored="Ludwig derives it from the vocabulary")
    # Seen in Ludwig's own test configs; Ludwig 0.10's decoder schema drops them without a word.
    vocab_size: int | None = opt(None, optional(an_int(1)), ignored="not a Ludwig 0.10 decoder key (Ludwig drops "
                                 "it); the vocabulary comes from the data")
    reduce_input: str | None = opt(None, optional(a_str), ignored="not a decoder key (Ludwig drops it); "
                                   "reduce_input belongs to the output feature")

    def fc_stack(self) -> FCStack:
        return section_fc_stack(self, output_size="fc_output_size")


@dataclass(frozen=True)
class CategoryPreprocessing:
    missing_value_strategy: str = opt("drop_row", _no_fill_with("fill_with_mean", "fill_with_false"))
    fill_value: str = opt("<UNK>", a_str)
    computed_fill_value: str = opt("<UNK>", a_str, ignored="Ludwig computes it internally")
    lowercase: bool = opt(False, only(False, reason="class names are kept as written"))
    most_common: int = opt(10000, an_int(1))
    cache_encoder_embeddings: bool = opt(False, a_bool, ignored="it applies to category inputs; " + NO_EFFECT)


def _check_missing_strategy(value, path):
    one_of(*MISSING_VALUE_STRATEGIES)(value, path)
    return value


@dataclass(frozen=True)
class CategoryOutputFeature:
    name: str = opt(MISSING, a_str)
    type: str = opt("category", one_of("category"))
    column: str | None = opt(None, optional(a_str))
    proc_column: str | None = opt(None, optional(a_str), ignored="Ludwig's internal name for the processed column")
    active: bool = opt(True, only(True, reason="it is the only output feature"))
    top_k: int = opt(3, an_int(1))
    loss: CategoryLoss = opt(CategoryLoss(), section(CategoryLoss))
    decoder: CategoryDecoder = opt(CategoryDecoder(), section(CategoryDecoder))
    preprocessing: CategoryPreprocessing = opt(CategoryPreprocessing(), section(CategoryPreprocessing))
    reduce_input: str | None = opt("sum", one_of("sum", "mean", "avg", "max", "concat", "last", "attention", None),
                                   ignored="the combiner output is already one vector per image, so there is "
                                   "nothing to reduce")
    dependencies: tuple[str, ...] = opt((), lambda v, p: tuple(only((), [], reason="there is one output feature")(
        v, p)))
    reduce_dependencies: str | None = opt("sum", one_of("sum", "mean", "avg", "max", "concat", "last", "attention",
                                                        None), ignored="used only with dependencies")
    calibration: bool = opt(False, only(False, reason="temperature scaling is not available here"))
    default_validation_metric: str = opt("accuracy", one_of("accuracy"), ignored="Ludwig sets it per feature type")
    input_size: int | None = opt(None, optional(an_int(1)), ignored="Ludwig derives it from the combiner output")
    num_classes: int | None = opt(None, optional(an_int(1)), ignored="Ludwig derives it from the vocabulary")

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
    norm_params: dict | None = opt(None, norm_params)
    use_bias: bool = opt(True, a_bool)
    weights_initializer: str = opt("xavier_uniform", initializer)
    bias_initializer: str = opt("zeros", initializer)
    fc_layers: tuple[FCLayerEntry, ...] | None = opt(None, optional(sections(FCLayerEntry)))
    residual: bool = opt(False, a_bool)
    flatten_inputs: bool = opt(False, a_bool, ignored="the encoder output is already flat")

    def fc_stack(self) -> FCStack:
        return section_fc_stack(self, prefix="")


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
    sample_size: int | None = opt(None, only(None, reason="use sample_ratio"))
    oversample_minority: float | None = opt(None, only(None, reason="it applies to binary outputs in Ludwig; use "
                                                       "loss.class_weights"))
    undersample_majority: float | None = opt(None, only(None, reason="it applies to binary outputs in Ludwig; use "
                                                        "loss.class_weights"))
    global_max_sequence_length: int | None = opt(None, optional(an_int(1)), ignored="images have no sequences")
    # Galaxy-Ludwig's Image Learner writes these two here; Ludwig 0.10 reads them only per image feature.
    in_memory: bool | None = opt(None, optional(a_bool), ignored="Ludwig 0.10 reads in_memory only under "
                                 "input_features[].preprocessing, so here it changes nothing; set it there")
    num_processes: int | None = opt(None, optional(an_int(1)), ignored="Ludwig 0.10 reads it only under "
                                    "input_features[].preprocessing; decoding uses the job's cores")


@dataclass(frozen=True)
class ExperimentConfig:
    input_features: tuple[ImageInputFeature, ...] = opt(MISSING, sections(ImageInputFeature))
    output_features: tuple[CategoryOutputFeature | BinaryOutputFeature, ...] = opt(MISSING, _output_features)
    combiner: ConcatCombiner = opt(ConcatCombiner(), section(ConcatCombiner))
    trainer: TrainerConfig = opt(TrainerConfig(), section(TrainerConfig))
    preprocessing: GlobalPreprocessing = opt(GlobalPreprocessing(), section(GlobalPreprocessing))
    model_type: str = opt("ecd", one_of("ecd"))
    ludwig_version: str | None = opt(None, optional(a_str), ignored="the Ludwig version that wrote the config; "
                                     "this tool reads Ludwig 0.10 configs and upgrades older spellings")
    backend: dict | None = opt(None, optional(_mapping), ignored="training runs in this process, on its cores "
                               "(GALAXY_SLOTS) or GPU")
    # Kept verbatim for `ludwig-mnist compare`; `experiment` trains the config as written, as Ludwig's experiment does.
    hyperopt: dict | None = opt(None, optional(_mapping), ignored="`experiment` trains the config as written, as "
                                "Ludwig's experiment does; `ludwig-mnist compare` runs the search")
    # What parsing noticed: upgraded spellings, keys accepted without effect (not a config key; not in to_dict).
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def input_feature(self) -> ImageInputFeature:
        return self.input_features[0]

    @property
    def output_feature(self) -> CategoryOutputFeature | BinaryOutputFeature:
        return self.output_features[0]

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved config (every default explicit), JSON/YAML-ready and re-parseable."""
        resolved = plain(asdict(self))
        del resolved["notes"]
        return resolved
