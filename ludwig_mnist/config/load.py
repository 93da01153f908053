"""Entry points of the config stage: a YAML file or a mapping → the frozen ``ExperimentConfig``."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .checks import build
from .schema import ExperimentConfig
from .upgrade import upgrade


def parse_config(raw: Any) -> ExperimentConfig:
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a YAML mapping with input_features and output_features")
    upgraded = upgrade(raw)
    config = build(ExperimentConfig, upgraded, "")
    for section, count in (("input_features", len(config.input_features)), ("output_features", len(config.output_features))):
        if count != 1:
            raise ConfigError(f"config key '{section}': exactly one feature is supported, found {count}")
    trainer_raw = upgraded.get("trainer") or {}
    if config.output_feature.type == "binary" and "validation_metric" not in trainer_raw:
        # Ludwig 0.10: an unset validation_metric is the output's default_validation_metric, roc_auc for binary
        config = dataclasses.replace(config, trainer=dataclasses.replace(config.trainer, validation_metric="roc_auc"))
    if config.input_feature.column_name == config.output_feature.column_name:
        raise ConfigError("config: the input and output features use the same column "
                          f"'{config.input_feature.column_name}'")
    if config.trainer.validation_field not in (None, config.output_feature.name, "combined"):
        raise ConfigError(f"config key 'trainer.validation_field': {config.trainer.validation_field!r} is not an "
                          f"output feature; did you mean '{config.output_feature.name}'?")
    split = config.preprocessing.split
    if split.type in ("random", "stratify", "hash") and not math.isclose(sum(split.probabilities), 1.0, abs_tol=1e-6):
        raise ConfigError(f"config key 'preprocessing.split.probabilities': {list(split.probabilities)} must sum to 1")
    if split.type in ("stratify", "hash") and split.column is None:
        example = config.output_feature.column_name if split.type == "stratify" else "sample_id"
        raise ConfigError(f"config key 'preprocessing.split.column' is required for a {split.type} split "
                          f"(e.g. column: {example})")
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
