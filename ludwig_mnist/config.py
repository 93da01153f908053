"""Ludwig YAML → frozen, typed config objects (parsed once, read everywhere).

Real Ludwig configs are accepted verbatim.  Like Ludwig, the raw YAML is first
*upgraded* to the current spelling (``training:`` → ``trainer:``, a string
``encoder: stacked_cnn`` with encoder keys beside it → a nested encoder dict,
TensorFlow-era conv names → Ludwig 0.10 names, ``defaults:`` merged into the
features), then every section is built by one generic builder that rejects
unknown keys (suggesting the closest valid one) and checks every value's type.
Nothing downstream reads the raw dict.
"""

from __future__ import annotations

import copy
import difflib
import math
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from .errors import ConfigError

# ---------------------------------------------------------------- value checks
# A check takes (value, key_path) and returns the normalised value or raises.


def _fail(path: str, value: Any, expected: str) -> None:
    raise ConfigError(f"config key '{path}': expected {expected}, got {value!r}")


def _int(minimum: int | None = None, maximum: int | None = None) -> Callable:
    def check(value, path):
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, value, "an integer")
        if minimum is not None and value < minimum:
            _fail(path, value, f"an integer >= {minimum}")
        if maximum is not None and value > maximum:
            _fail(path, value, f"an integer <= {maximum}")
        return value
    return check


def _float(minimum: float | None = None, maximum: float | None = None, strict_min: bool = False) -> Callable:
    def check(value, path):
        if isinstance(value, str):  # YAML reads 1e-3 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                _fail(path, value, "a number")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            _fail(path, value, "a number")
        value = float(value)
        if minimum is not None and (value < minimum or (strict_min and value == minimum)):
            _fail(path, value, f"a number {'>' if strict_min else '>='} {minimum}")
        if maximum is not None and value > maximum:
            _fail(path, value, f"a number <= {maximum}")
        return value
    return check


def _bool(value, path):
    if not isinstance(value, bool):
        _fail(path, value, "true or false")
    return value


def _str(value, path):
    if not isinstance(value, str) or not value:
        _fail(path, value, "a non-empty string")
    return value


def _choice(*options) -> Callable:
    def check(value, path):
        if value not in options:
            close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"config key '{path}': {value!r} is not supported; choose one of "
                f"{', '.join(repr(o) for o in options)}{hint}")
        return value
    return check


def _optional(check: Callable) -> Callable:
    return lambda value, path: None if value is None else check(value, path)


def _either(*checks: Callable, expected: str) -> Callable:
    def check(value, path):
        for candidate in checks:
            try:
                return candidate(value, path)
            except ConfigError:
                continue
        _fail(path, value, expected)
    return check


def _list_of(check: Callable, length: int | None = None) -> Callable:
    def check_list(value, path):
        if not isinstance(value, (list, tuple)) or (length is not None and len(value) != length):
            _fail(path, value, f"a list{f' of {length} values' if length else ''}")
        return tuple(check(v, f"{path}.{i}") for i, v in enumerate(value))
    return check_list


def _section(cls) -> Callable:
    return lambda value, path: build(cls, value, path)


def _sections(cls) -> Callable:
    def check(value, path):
        if not isinstance(value, (list, tuple)):
            _fail(path, value, "a list of mappings")
        return tuple(build(cls, v, f"{path}.{i}") for i, v in enumerate(value))
    return check


def opt(default: Any, check: Callable) -> Any:
    """A dataclass field with a default and a value check (kept in metadata)."""
    if isinstance(default, list):
        default = tuple(default)
    if is_dataclass(default):  # frozen, so one shared instance is safe
        return field(default_factory=lambda: default, metadata={"check": check})
    return field(default=default, metadata={"check": check})


def build(cls, raw: Any, path: str):
    """Build dataclass `cls` from mapping `raw`; unknown keys and bad values raise ConfigError."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        _fail(path or "<top level>", raw, "a mapping of keys to values")
    known = {f.name: f for f in fields(cls)}
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(known))}"
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"unknown config key '{where}'{hint}")
    values = {}
    for name, f in known.items():
        where = f"{path}.{name}" if path else name
        if name in raw:
            values[name] = f.metadata["check"](raw[name], where)
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"config key '{where}' is required")
    return cls(**values)


# ---------------------------------------------------------------- the schema

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "leakyRelu", "softmax", "linear", None)
NORMS = (None, "batch", "layer")


@dataclass(frozen=True)
class ConvLayer:
    out_channels: int = opt(32, _int(1))
    kernel_size: int = opt(3, _int(1))
    stride: int = opt(1, _int(1))
    padding: str = opt("valid", _choice("valid", "same"))
    dilation: int = opt(1, _int(1))
    use_bias: bool = opt(True, _bool)
    norm: str | None = opt(None, _choice(*NORMS))
    activation: str | None = opt("relu", _choice(*ACTIVATIONS))
    dropout: float = opt(0.0, _float(0.0, 0.999))
    pool_function: str = opt("max", _choice("max", "avg", "mean", "average"))
    pool_kernel_size: int | None = opt(2, _optional(_int(1)))
    pool_stride: int | None = opt(None, _optional(_int(1)))
    pool_padding: str = opt("valid", _choice("valid", "same"))


@dataclass(frozen=True)
class FCLayer:
    output_size: int = opt(128, _int(1))
    activation: str | None = opt("relu", _choice(*ACTIVATIONS))
    dropout: float = opt(0.0, _float(0.0, 0.999))
    norm: str | None = opt(None, _choice(*NORMS))
    use_bias: bool = opt(True, _bool)


@dataclass(frozen=True)
class StackedCNNEncoder:
    """Ludwig's stacked_cnn; per-layer lists win over the encoder-level defaults."""

    type: str = opt("stacked_cnn", _choice("stacked_cnn"))
    conv_layers: tuple[ConvLayer, ...] | None = opt(None, _optional(_sections(ConvLayer)))
    num_conv_layers: int | None = opt(None, _optional(_int(0)))
    out_channels: int = opt(32, _int(1))
    kernel_size: int = opt(3, _int(1))
    conv_activation: str | None = opt("relu", _choice(*ACTIVATIONS))
    conv_dropout: float = opt(0.0, _float(0.0, 0.999))
    conv_norm: str | None = opt(None, _choice(*NORMS))
    conv_use_bias: bool = opt(True, _bool)
    pool_function: str = opt("max", _choice("max", "avg", "mean", "average"))
    pool_kernel_size: int = opt(2, _int(1))
    pool_stride: int | None = opt(None, _optional(_int(1)))
    fc_layers: tuple[FCLayer, ...] | None = opt(None, _optional(_sections(FCLayer)))
    num_fc_layers: int = opt(1, _int(0))
    output_size: int = opt(128, _int(1))
    fc_activation: str | None = opt("relu", _choice(*ACTIVATIONS))
    fc_dropout: float = opt(0.0, _float(0.0, 0.999))
    fc_norm: str | None = opt(None, _choice(*NORMS))
    fc_use_bias: bool = opt(True, _bool)

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

    type: str = opt("mlp", _choice("mlp"))
    fc_layers: tuple[FCLayer, ...] | None = opt(None, _optional(_sections(FCLayer)))
    num_fc_layers: int = opt(2, _int(1))
    output_size: int = opt(512, _int(1))
    activation: str | None = opt("relu", _choice(*ACTIVATIONS))
    dropout: float = opt(0.0, _float(0.0, 0.999))
    norm: str | None = opt(None, _choice(*NORMS))

    def resolved_fc_layers(self) -> tuple[FCLayer, ...]:
        if self.fc_layers is not None:
            return self.fc_layers
        return tuple(FCLayer(output_size=self.output_size, activation=self.activation, dropout=self.dropout,
                             norm=self.norm) for _ in range(self.num_fc_layers))


@dataclass(frozen=True)
class LeNetEncoder:
    """LeNet-5: conv 6@5x5 → pool → conv 16@5x5 → pool → fc 120 → fc 84 (inputs under 32x32 are padded)."""

    type: str = opt("lenet", _choice("lenet"))
    activation: str | None = opt("relu", _choice(*ACTIVATIONS))
    pool_function: str = opt("max", _choice("max", "avg", "mean", "average"))
    dropout: float = opt(0.0, _float(0.0, 0.999))


@dataclass(frozen=True)
class KerasApplicationEncoder:
    """VGG or ResNet from keras.applications, built with weights=None (never downloaded).

    pretrained_weights: a local weights file of the same network without its top
    (e.g. vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5) for users who have one.
    """

    type: str = opt("vgg", _choice("vgg", "resnet"))
    model_variant: int | None = opt(None, _optional(_choice(16, 19, 50, 101, 152)))
    use_pretrained: bool = opt(False, _bool)
    pretrained_weights: str | None = opt(None, _optional(_str))
    trainable: bool = opt(True, _bool)
    num_fc_layers: int = opt(0, _int(0))
    output_size: int = opt(256, _int(1))
    dropout: float = opt(0.0, _float(0.0, 0.999))

    @property
    def variant(self) -> int:
        return self.model_variant or (16 if self.type == "vgg" else 50)


ENCODER_SCHEMAS = {"stacked_cnn": StackedCNNEncoder, "mlp": MLPEncoder, "lenet": LeNetEncoder,
                   "vgg": KerasApplicationEncoder, "resnet": KerasApplicationEncoder}
ENCODER_SHORTHANDS = {"vgg16": ("vgg", 16), "vgg19": ("vgg", 19), "resnet50": ("resnet", 50),
                      "resnet101": ("resnet", 101), "resnet152": ("resnet", 152)}
VALID_VARIANTS = {"vgg": (16, 19), "resnet": (50, 101, 152)}


def _encoder(value, path):
    if value is None:
        value = {}
    if not isinstance(value, dict):
        _fail(path, value, "a mapping with a 'type' key")
    value = dict(value)
    kind = value.get("type", "stacked_cnn")
    if kind in ENCODER_SHORTHANDS:
        value["type"], variant = ENCODER_SHORTHANDS[kind]
        value.setdefault("model_variant", variant)
        kind = value["type"]
    _choice(*ENCODER_SCHEMAS, *ENCODER_SHORTHANDS)(kind, f"{path}.type")
    encoder = build(ENCODER_SCHEMAS[kind], value, path)
    if isinstance(encoder, KerasApplicationEncoder):
        if encoder.variant not in VALID_VARIANTS[kind]:
            raise ConfigError(f"config key '{path}.model_variant': {kind} comes in variants "
                              f"{', '.join(map(str, VALID_VARIANTS[kind]))}, not {encoder.variant}")
        if encoder.use_pretrained and not encoder.pretrained_weights:
            raise ConfigError(f"config key '{path}.use_pretrained': this tool never downloads weights; give a local "
                              f"file of {kind}{encoder.variant} weights (without top) as '{path}.pretrained_weights'")
    return encoder


AUGMENTATION_TYPES = ("random_horizontal_flip", "random_vertical_flip", "random_rotate", "random_blur",
                      "random_brightness", "random_contrast")


@dataclass(frozen=True)
class AugmentationOp:
    """One of Ludwig's image augmentations (applied to training batches only)."""

    type: str = opt(MISSING, _choice(*AUGMENTATION_TYPES))
    degree: float = opt(15.0, _float(0.0, 180.0))  # random_rotate: angle drawn from [-degree, degree]
    kernel_size: int = opt(3, _int(1))  # random_blur
    min: float = opt(0.5, _float(0.0))  # random_brightness / random_contrast factor range
    max: float = opt(2.0, _float(0.0))


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
            _choice(*[k for k in AUGMENTATION_PRESETS if k is not True], "true", "false")(value, path)
        return tuple(AugmentationOp(type=kind) for kind in AUGMENTATION_PRESETS[value])
    ops = _sections(AugmentationOp)(value, path)
    for index, op in enumerate(ops):
        if op.min > op.max:
            raise ConfigError(f"config key '{path}.{index}': min {op.min} is larger than max {op.max}")
    return ops


@dataclass(frozen=True)
class ImagePreprocessing:
    height: int | None = opt(None, _optional(_int(1)))
    width: int | None = opt(None, _optional(_int(1)))
    num_channels: int | None = opt(None, _optional(_choice(1, 3, 4)))
    resize_method: str = opt("interpolate", _choice("interpolate", "crop_or_pad"))
    infer_image_num_channels: bool = opt(True, _bool)
    infer_image_dimensions: bool = opt(True, _bool)
    infer_image_max_height: int = opt(256, _int(1))
    infer_image_max_width: int = opt(256, _int(1))
    infer_image_sample_size: int = opt(100, _int(1))
    standardize_image: str | None = opt(None, _choice(None, "imagenet1k"))
    in_memory: bool = opt(True, _bool)
    num_processes: int = opt(1, _int(1))
    requires_equal_dimensions: bool = opt(False, _bool)
    missing_value_strategy: str = opt("drop_row", _choice("drop_row"))


@dataclass(frozen=True)
class ImageInputFeature:
    name: str = opt(MISSING, _str)
    type: str = opt("image", _choice("image"))
    column: str | None = opt(None, _optional(_str))
    encoder: Any = opt(StackedCNNEncoder(), _encoder)
    preprocessing: ImagePreprocessing = opt(ImagePreprocessing(), _section(ImagePreprocessing))
    augmentation: tuple[AugmentationOp, ...] = opt((), _augmentation)

    @property
    def column_name(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class CategoryLoss:
    # mean_squared_error: sigmoid outputs fitted to one-hot targets (the deeplay comparison)
    type: str = opt("softmax_cross_entropy", _choice("softmax_cross_entropy", "mean_squared_error"))
    class_weights: Any = opt(None, _optional(_either(_list_of(_float(0.0)), lambda v, p: {str(k): _float(0.0)(w, f"{p}.{k}") for k, w in v.items()} if isinstance(v, dict) else _fail(p, v, "a mapping"), expected="a list or a mapping of class weights")))
    weight: float = opt(1.0, _float(0.0, strict_min=True))


@dataclass(frozen=True)
class CategoryDecoder:
    type: str = opt("classifier", _choice("classifier"))
    num_fc_layers: int = opt(0, _int(0))
    fc_output_size: int = opt(256, _int(1))
    fc_activation: str | None = opt("relu", _choice(*ACTIVATIONS))
    fc_dropout: float = opt(0.0, _float(0.0, 0.999))


@dataclass(frozen=True)
class CategoryPreprocessing:
    missing_value_strategy: str = opt("drop_row", _choice("drop_row"))
    most_common: int = opt(10000, _int(1))


@dataclass(frozen=True)
class CategoryOutputFeature:
    name: str = opt(MISSING, _str)
    type: str = opt("category", _choice("category"))
    column: str | None = opt(None, _optional(_str))
    top_k: int = opt(3, _int(1))
    loss: CategoryLoss = opt(CategoryLoss(), _section(CategoryLoss))
    decoder: CategoryDecoder = opt(CategoryDecoder(), _section(CategoryDecoder))
    preprocessing: CategoryPreprocessing = opt(CategoryPreprocessing(), _section(CategoryPreprocessing))

    @property
    def column_name(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class ConcatCombiner:
    type: str = opt("concat", _choice("concat"))
    num_fc_layers: int = opt(0, _int(0))
    output_size: int = opt(256, _int(1))
    dropout: float = opt(0.0, _float(0.0, 0.999))
    activation: str | None = opt("relu", _choice(*ACTIVATIONS))
    norm: str | None = opt(None, _choice(*NORMS))


@dataclass(frozen=True)
class OptimizerConfig:
    type: str = opt("adam", _choice("adam", "adamw", "sgd", "rmsprop", "adagrad", "adamax", "nadam"))
    betas: tuple[float, float] = opt([0.9, 0.999], _list_of(_float(0.0, 0.999999), length=2))
    eps: float = opt(1e-8, _float(0.0, strict_min=True))
    weight_decay: float = opt(0.0, _float(0.0))
    momentum: float = opt(0.0, _float(0.0, 1.0))
    nesterov: bool = opt(False, _bool)


@dataclass(frozen=True)
class LearningRateScheduler:
    """Ludwig's learning_rate_scheduler: warmup, then decay, plus reduce-on-plateau steps."""

    decay: str | None = opt(None, _choice(None, "linear", "exponential", "cosine"))
    decay_rate: float = opt(0.96, _float(0.0, 1.0, strict_min=True))
    decay_steps: int = opt(10000, _int(1))
    staircase: bool = opt(False, _bool)
    warmup_fraction: float = opt(0.0, _float(0.0, 1.0))
    reduce_on_plateau: int = opt(0, _int(0))  # how many times the rate may be reduced
    reduce_on_plateau_patience: int = opt(10, _int(1))
    reduce_on_plateau_rate: float = opt(0.1, _float(0.0, 1.0, strict_min=True))
    reduce_eval_metric: str = opt("loss", _choice("loss", "accuracy"))


@dataclass(frozen=True)
class TrainerConfig:
    type: str = opt("trainer", _choice("trainer"))
    epochs: int = opt(100, _int(1))
    batch_size: int | str = opt("auto", _either(_int(1), _choice("auto"), expected="a positive integer or 'auto'"))
    eval_batch_size: int | str | None = opt(None, _optional(_either(_int(1), _choice("auto"), expected="a positive integer or 'auto'")))
    learning_rate: float = opt(0.001, _float(0.0, strict_min=True))
    optimizer: OptimizerConfig = opt(OptimizerConfig(), _section(OptimizerConfig))
    early_stop: int = opt(5, _int(-1))
    validation_field: str | None = opt(None, _optional(_str))
    validation_metric: str = opt("accuracy", _choice("accuracy", "loss"))
    should_shuffle: bool = opt(True, _bool)
    learning_rate_scheduler: LearningRateScheduler = opt(LearningRateScheduler(), _section(LearningRateScheduler))
    regularization_type: str = opt("l2", _choice("l1", "l2", "l1_l2"))
    regularization_lambda: float = opt(0.0, _float(0.0))


@dataclass(frozen=True)
class SplitConfig:
    type: str = opt("random", _choice("random", "fixed", "stratify"))
    column: str | None = opt(None, _optional(_str))
    probabilities: tuple[float, float, float] = opt([0.7, 0.1, 0.2], _list_of(_float(0.0, 1.0), length=3))


@dataclass(frozen=True)
class GlobalPreprocessing:
    split: SplitConfig = opt(SplitConfig(), _section(SplitConfig))
    sample_ratio: float = opt(1.0, _float(0.0, 1.0, strict_min=True))


@dataclass(frozen=True)
class ExperimentConfig:
    input_features: tuple[ImageInputFeature, ...] = opt(MISSING, _sections(ImageInputFeature))
    output_features: tuple[CategoryOutputFeature, ...] = opt(MISSING, _sections(CategoryOutputFeature))
    combiner: ConcatCombiner = opt(ConcatCombiner(), _section(ConcatCombiner))
    trainer: TrainerConfig = opt(TrainerConfig(), _section(TrainerConfig))
    preprocessing: GlobalPreprocessing = opt(GlobalPreprocessing(), _section(GlobalPreprocessing))
    model_type: str = opt("ecd", _choice("ecd"))
    ludwig_version: str | None = opt(None, _optional(_str))
    # Kept verbatim for `ludwig-mnist compare`; `experiment` ignores it, as Ludwig's experiment does.
    hyperopt: dict | None = opt(None, _optional(lambda v, p: v if isinstance(v, dict) else _fail(p, v, "a mapping")))

    @property
    def input_feature(self) -> ImageInputFeature:
        return self.input_features[0]

    @property
    def output_feature(self) -> CategoryOutputFeature:
        return self.output_features[0]

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved config (every default explicit), JSON/YAML-ready and re-parseable."""
        return _plain(asdict(self))


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------- upgrading old spellings

# TensorFlow-era Ludwig names that Ludwig 0.10's PyTorch stack silently ignores;
# we honour them because that is what the config's author meant.
CONV_ALIASES = {"num_filters": "out_channels", "filter_size": "kernel_size", "pool_size": "pool_kernel_size"}
ENCODER_ALIASES = {**CONV_ALIASES, "fc_size": "output_size"}
FC_ALIASES = {"fc_size": "output_size"}
ENCODER_KEYS = {f.name for schema in set(ENCODER_SCHEMAS.values()) for f in fields(schema)} | set(ENCODER_ALIASES)


def _rename(mapping: dict, aliases: dict, path: str) -> dict:
    out = {}
    for key, value in mapping.items():
        new = aliases.get(key, key)
        if new in out:
            raise ConfigError(f"config key '{path}.{key}' repeats '{path}.{new}' under its older name; keep one")
        out[new] = value
    return out


def _deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _upgrade_feature(feature: Any, kind: str, defaults: dict, path: str) -> Any:
    if not isinstance(feature, dict):
        return feature  # the builder reports the type error
    feature_type = feature.get("type", "image" if kind == "input" else "category")
    supported = "image" if kind == "input" else "category"
    if feature_type != supported:
        raise ConfigError(
            f"config key '{path}.type': feature type {feature_type!r} is not supported; "
            f"this tool trains image classifiers ({kind} features must be type '{supported}')")
    feature = _deep_merge(defaults.get(feature_type, {}), feature)
    if kind == "input":
        encoder = feature.get("encoder", {})
        if isinstance(encoder, str):  # Ludwig <= 0.5: `encoder: stacked_cnn` with its keys beside it
            encoder = {"type": encoder}
        if isinstance(encoder, dict):
            for key in [k for k in feature if k in ENCODER_KEYS and k != "type"]:
                encoder.setdefault(key, feature.pop(key))
            encoder = _rename(encoder, ENCODER_ALIASES, f"{path}.encoder")
            for list_key, aliases in (("conv_layers", CONV_ALIASES), ("fc_layers", FC_ALIASES)):
                if isinstance(encoder.get(list_key), list):
                    encoder[list_key] = [
                        _rename(layer, aliases, f"{path}.encoder.{list_key}.{i}") if isinstance(layer, dict) else layer
                        for i, layer in enumerate(encoder[list_key])]
        feature["encoder"] = encoder
    return feature


def upgrade(raw: dict) -> dict:
    """Rewrite older Ludwig spellings into the current ones (done once, before parsing)."""
    raw = copy.deepcopy(raw)
    if "training" in raw:
        if "trainer" in raw:
            raise ConfigError("config has both 'training' and 'trainer'; 'training' is the old name of 'trainer', keep one")
        raw["trainer"] = raw.pop("training")
    defaults = raw.pop("defaults", None) or {}
    if not isinstance(defaults, dict):
        _fail("defaults", defaults, "a mapping of feature type to settings")
    for key in defaults:
        if key not in ("image", "category"):
            raise ConfigError(f"config key 'defaults.{key}': only 'image' and 'category' defaults apply to this tool")
    for section, kind in (("input_features", "input"), ("output_features", "output")):
        if isinstance(raw.get(section), list):
            raw[section] = [_upgrade_feature(f, kind, defaults, f"{section}.{i}") for i, f in enumerate(raw[section])]
    return raw


# ---------------------------------------------------------------- entry points


def parse_config(raw: Any) -> ExperimentConfig:
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a YAML mapping with input_features and output_features")
    config = build(ExperimentConfig, upgrade(raw), "")
    for section, count in (("input_features", len(config.input_features)), ("output_features", len(config.output_features))):
        if count != 1:
            raise ConfigError(f"config key '{section}': exactly one feature is supported, found {count}")
    if config.input_feature.column_name == config.output_feature.column_name:
        raise ConfigError("config: the input and output features use the same column "
                          f"'{config.input_feature.column_name}'")
    if config.trainer.validation_field not in (None, config.output_feature.name, "combined"):
        raise ConfigError(f"config key 'trainer.validation_field': {config.trainer.validation_field!r} is not an "
                          f"output feature; did you mean '{config.output_feature.name}'?")
    split = config.preprocessing.split
    if split.type in ("random", "stratify") and not math.isclose(sum(split.probabilities), 1.0, abs_tol=1e-6):
        raise ConfigError(f"config key 'preprocessing.split.probabilities': {list(split.probabilities)} must sum to 1")
    if split.type == "stratify" and split.column is None:
        raise ConfigError("config key 'preprocessing.split.column' is required for a stratify split "
                          f"(e.g. column: {config.output_feature.column_name})")
    return config


def load_config(path: Path) -> ExperimentConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {path} is not UTF-8 text (is it the right file?)") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"config {Path(path).name} is not valid YAML{where}: {problem}") from None
    try:
        return parse_config(raw)
    except ConfigError as err:
        raise ConfigError(f"{Path(path).name}: {err}") from None
