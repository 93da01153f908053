"""Entry points of the config stage: a YAML file or a mapping → the frozen ``ExperimentConfig``."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .checks import build, collecting_notes
from .schema import ExperimentConfig
from .upgrade import upgrade


def _resolve_validation(config: ExperimentConfig) -> ExperimentConfig:
    """Ludwig's set_validation_parameters: the output feature, and its type's default metric."""
    trainer, output = config.trainer, config.output_feature
    field = trainer.validation_field or output.name
    if field not in (output.name, "combined"):
        raise ConfigError(f"config key 'trainer.validation_field': {field!r} is not an output feature; "
                          f"did you mean '{output.name}'?")
    metric = trainer.validation_metric
    if field == "combined":
        if metric not in (None, "loss"):
            raise ConfigError(f"config key 'trainer.validation_metric': must be loss when validation_field is "
                              f"combined (Ludwig's rule), found {metric!r}")
        metric = "loss"
    metric = metric or output.default_validation_metric
    return replace(config, trainer=replace(trainer, validation_field=field, validation_metric=metric))


def _resolve_learning_rate(config: ExperimentConfig, notes: list[str]) -> ExperimentConfig:
    """Ludwig 0.10's `learning_rate: auto` (utils/heuristics.get_auto_learning_rate, no range test): for an image
    input, 1e-4 from scratch, 1e-5 for a trainable pretrained encoder, 2e-5 for a frozen one."""
    if config.trainer.learning_rate != "auto":
        return config
    encoder = config.input_feature.encoder
    if not getattr(encoder, "use_pretrained", False):
        rate, why = 0.0001, "an image input whose encoder is not pretrained"
    elif getattr(encoder, "trainable", True):
        rate, why = 0.00001, "a pretrained encoder that is trained further"
    else:
        rate, why = 0.00002, "a frozen pretrained encoder"
    notes.append(f"learning_rate auto: {rate} (Ludwig 0.10's rule for {why})")
    return replace(config, trainer=replace(config.trainer, learning_rate=rate))


def _resolve_unfreeze(config: ExperimentConfig) -> ExperimentConfig:
    """This tool's unfreeze schedule: needs a frozen encoder and epochs after it; its rate defaults to a tenth."""
    trainer = config.trainer
    after = trainer.unfreeze_encoder_after_epochs
    if after is None:
        if trainer.unfreeze_encoder_learning_rate is not None:
            raise ConfigError("config key 'trainer.unfreeze_encoder_learning_rate' needs "
                              "trainer.unfreeze_encoder_after_epochs (the epoch count after which it applies)")
        return config
    if getattr(config.input_feature.encoder, "trainable", True):
        raise ConfigError("config key 'trainer.unfreeze_encoder_after_epochs' needs a frozen encoder: set "
                          "input_features.0.encoder.trainable: false")
    if after >= trainer.epochs:
        raise ConfigError(f"config key 'trainer.unfreeze_encoder_after_epochs': {after} is not below trainer.epochs "
                          f"{trainer.epochs}, so the encoder would never be unfrozen")
    scheduler = trainer.learning_rate_scheduler
    if scheduler.decay is not None or scheduler.warmup_fraction > 0 or scheduler.warmup_evaluations > 0 \
            or scheduler.reduce_on_plateau > 0:  # training/schedules.is_scheduled, without importing Keras
        raise ConfigError("config key 'trainer.unfreeze_encoder_after_epochs': cannot be combined with a "
                          "learning_rate_scheduler (decay, warmup or reduce_on_plateau); the unfrozen phase runs at "
                          "the constant trainer.unfreeze_encoder_learning_rate")
    rate = trainer.unfreeze_encoder_learning_rate or float(f"{trainer.learning_rate / 10:.8g}")
    return replace(config, trainer=replace(trainer, unfreeze_encoder_learning_rate=rate))


def _check_consistency(config: ExperimentConfig) -> None:
    for section, count in (("input_features", len(config.input_features)), ("output_features", len(config.output_features))):
        if count != 1:
            raise ConfigError(f"config key '{section}': exactly one feature is supported, found {count}")
    if config.input_feature.column_name == config.output_feature.column_name:
        raise ConfigError("config: the input and output features use the same column "
                          f"'{config.input_feature.column_name}'")
    pre = config.input_feature.preprocessing
    if (pre.height is None) != (pre.width is None):
        given = "height" if pre.height is not None else "width"
        raise ConfigError(f"config key 'input_features.0.preprocessing.{given}': set both height and width, or "
                          "neither (Ludwig refuses one without the other)")
    if pre.height is None and not pre.infer_image_dimensions:
        raise ConfigError("config key 'input_features.0.preprocessing.infer_image_dimensions': false needs "
                          "height and width (Ludwig cannot size the images otherwise)")
    clipping = config.trainer.gradient_clipping
    if clipping.clipvalue and clipping.global_norm:
        raise ConfigError("config key 'trainer.gradient_clipping.clipvalue': Keras clips by value or by norm, not "
                          "both; set clipglobalnorm: null (Ludwig's default is 0.5) to clip by value")
    split = config.preprocessing.split
    if split.type in ("random", "stratify", "hash") and not math.isclose(sum(split.probabilities), 1.0, abs_tol=1e-6):
        raise ConfigError(f"config key 'preprocessing.split.probabilities': {list(split.probabilities)} must sum to 1")
    if split.type in ("stratify", "hash") and split.column is None:
        example = config.output_feature.column_name if split.type == "stratify" else "sample_id"
        raise ConfigError(f"config key 'preprocessing.split.column' is required for a {split.type} split "
                          f"(e.g. column: {example})")


def parse_config(raw: Any) -> ExperimentConfig:
    """A Ludwig config mapping → the frozen, fully resolved ExperimentConfig.

    Its ``notes`` list every spelling upgraded and every key accepted without effect (for the log and report).
    """
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a YAML mapping with input_features and output_features")
    with collecting_notes() as notes:
        try:
            config = build(ExperimentConfig, upgrade(raw), "")
        except RecursionError:  # a mapping nested thousands deep (from the API, or JSON)
            raise ConfigError("the config is nested too deeply to be a Ludwig config") from None
    _check_consistency(config)
    config = _resolve_unfreeze(_resolve_learning_rate(_resolve_validation(config), notes))
    return replace(config, notes=tuple(notes))


def load_config(path: Path) -> ExperimentConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {path} is not UTF-8 text (is it the right file?)") from None
    try:
        raw = yaml.safe_load(text)
    except RecursionError:  # found by tests/test_generated_configs.py: "a: [[[[...]]]]" 5000 deep
        raise ConfigError(f"config {Path(path).name} is nested too deeply to be a Ludwig config") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"config {Path(path).name} is not valid YAML{where}: {problem}") from None
    try:
        return parse_config(raw)
    except ConfigError as err:
        raise ConfigError(f"{Path(path).name}: {err}") from None
