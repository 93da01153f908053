"""Older Ludwig spellings → Ludwig 0.10's, once, on the raw YAML mapping before it is parsed.

These are the transformations of Ludwig 0.10's utils/backward_compatibility.py that apply to an image
classifier, each reported in the log and the report ("upgraded: ..."), plus the TensorFlow-era conv names
(num_filters, filter_size, pool_size, fc_size) that Ludwig 0.10 silently drops but whose meaning is plain.
``defaults:`` is merged into the features here too, as Ludwig does before validating.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import ConfigError
from ..model.encoders import ENCODERS, encoder_fields
from .checks import fail, note

# TensorFlow-era Ludwig names that Ludwig 0.10's PyTorch stack drops; we honour them (what the author meant).
CONV_ALIASES = {"num_filters": "out_channels", "filter_size": "kernel_size", "pool_size": "pool_kernel_size"}
ENCODER_ALIASES = {**CONV_ALIASES, "fc_size": "output_size"}
FC_ALIASES = {"fc_size": "output_size"}
ENCODER_KEYS = {key for kind in ENCODERS for key in encoder_fields(kind)} | set(ENCODER_ALIASES)
# Output-feature keys that 0.6 moved into the decoder under an fc_ prefix.
DECODER_FC_KEYS = {"fc_layers", "output_size", "use_bias", "weights_initializer", "bias_initializer", "norm",
                   "norm_params", "activation", "dropout"}
DECODER_KEYS = DECODER_FC_KEYS | {"num_fc_layers", "fc_output_size", "fc_use_bias", "fc_weights_initializer",
                                  "fc_bias_initializer", "fc_norm", "fc_norm_params", "fc_activation", "fc_dropout"}
FEATURE_TYPES = {"input": ("image",), "output": ("category", "binary")}
SCHEDULER_KEYS = {  # trainer.<old> → trainer.learning_rate_scheduler.<new> (0.7)
    "reduce_learning_rate_on_plateau": "reduce_on_plateau",
    "reduce_learning_rate_on_plateau_patience": "reduce_on_plateau_patience",
    "reduce_learning_rate_on_plateau_rate": "reduce_on_plateau_rate",
    "reduce_learning_rate_eval_metric": "reduce_eval_metric",
    "reduce_learning_rate_eval_split": "reduce_eval_split",
    "decay": "decay", "decay_steps": "decay_steps", "decay_rate": "decay_rate", "staircase": "staircase",
    "learning_rate_warmup_epochs": "warmup_evaluations",
}


def _upgraded(text: str) -> None:
    note(f"upgraded: {text}")


def _rename(mapping: dict, aliases: dict, path: str, seen: dict) -> dict:
    """Rename aliases; ``seen`` collects (old, new) → [paths] for one grouped note per name."""
    out = {}
    for key, value in mapping.items():
        new = aliases.get(key, key)
        if new in out:
            raise ConfigError(f"config key '{path}.{key}' repeats '{path}.{new}' under its older name; keep one")
        if new != key:
            seen.setdefault((key, new), []).append(path)
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


def _use_bias(node: Any, path: str) -> None:
    """0.5: ``bias`` → ``use_bias``, ``conv_bias`` → ``conv_use_bias``, everywhere inside a feature."""
    if isinstance(node, dict):
        for old, new in (("bias", "use_bias"), ("conv_bias", "conv_use_bias"), ("default_bias", "default_use_bias")):
            if old in node:
                if new in node:
                    raise ConfigError(f"config key '{path}.{old}' repeats '{path}.{new}' under its older name; keep one")
                node[new] = node.pop(old)
                _upgraded(f"'{path}.{old}' is now '{path}.{new}'")
        for key, value in node.items():
            _use_bias(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _use_bias(value, f"{path}.{index}")


def _missing_value_strategy(feature: dict, path: str) -> None:
    preprocessing = feature.get("preprocessing")
    if isinstance(preprocessing, dict) and preprocessing.get("missing_value_strategy") in ("backfill", "pad"):
        old = preprocessing["missing_value_strategy"]
        preprocessing["missing_value_strategy"] = "bfill" if old == "backfill" else "ffill"
        _upgraded(f"'{path}.preprocessing.missing_value_strategy' {old!r} is now "
                  f"{preprocessing['missing_value_strategy']!r}")


def _nest_module(feature: dict, kind: str, path: str) -> None:
    """0.6: encoder/decoder parameters written beside the feature's own keys move into its encoder/decoder."""
    module_key = "encoder" if kind == "input" else "decoder"
    module = feature.get(module_key, {})
    if isinstance(module, str):  # `encoder: stacked_cnn`, `decoder: classifier`
        module = {"type": module}
        _upgraded(f"'{path}.{module_key}: {module['type']}' is now '{path}.{module_key}: {{type: {module['type']}}}'")
    if not isinstance(module, dict):
        return  # the schema reports the wrong shape
    # Only keys the module knows move: a typo stays at the feature level, where its did-you-mean makes sense.
    movable = ENCODER_KEYS if kind == "input" else DECODER_KEYS
    for key in [k for k in feature if k in movable and k != "type"]:
        value = feature.pop(key)
        target = f"fc_{key}" if kind == "output" and key in DECODER_FC_KEYS else key
        if target in module:
            raise ConfigError(f"config key '{path}.{key}' repeats '{path}.{module_key}.{target}'; keep one")
        module[target] = value
        _upgraded(f"'{path}.{key}' is now '{path}.{module_key}.{target}'")
    if module or module_key in feature:
        feature[module_key] = module


def _upgrade_feature(feature: Any, kind: str, defaults: dict, path: str) -> Any:
    if not isinstance(feature, dict):
        return feature  # the builder reports the type error
    feature_type = feature.get("type", FEATURE_TYPES[kind][0])
    if feature_type not in FEATURE_TYPES[kind]:
        allowed = " or ".join(f"'{t}'" for t in FEATURE_TYPES[kind])
        raise ConfigError(
            f"config key '{path}.type': feature type {feature_type!r} is not supported; this tool trains image "
            f"classifiers ({kind} features must be type {allowed})")
    feature = _deep_merge(defaults.get(feature_type) or {}, feature)
    _use_bias(feature, path)
    _missing_value_strategy(feature, path)
    if kind == "input":
        _nest_module(feature, "input", path)
        encoder = feature.get("encoder")
        if isinstance(encoder, dict):
            seen: dict = {}
            encoder = _rename(encoder, ENCODER_ALIASES, f"{path}.encoder", seen)
            for list_key, aliases in (("conv_layers", CONV_ALIASES), ("fc_layers", FC_ALIASES)):
                if isinstance(encoder.get(list_key), list):
                    encoder[list_key] = [
                        _rename(layer, aliases, f"{path}.encoder.{list_key}.{i}", seen) if isinstance(layer, dict)
                        else layer for i, layer in enumerate(encoder[list_key])]
            feature["encoder"] = encoder
            for (old, new), paths in seen.items():
                where = paths[0] if len(paths) == 1 else f"{paths[0]} and {len(paths) - 1} more"
                note(f"honoured: TensorFlow-era '{old}' as '{new}' ({where}); Ludwig 0.10 drops this name without "
                     f"a word and uses its default {new}")
    else:
        _nest_module(feature, "output", path)
        loss = feature.get("loss")
        if isinstance(loss, dict) and "class_weights" in loss and not isinstance(loss["class_weights"], (list, dict)):
            if loss["class_weights"] is not None:
                _upgraded(f"'{path}.loss.class_weights' {loss['class_weights']!r} is now null (Ludwig 0.6)")
            loss["class_weights"] = None
    return feature


def _upgrade_trainer(trainer: Any) -> None:
    if not isinstance(trainer, dict):
        return
    if trainer.get("eval_batch_size") == 0:
        trainer["eval_batch_size"] = None
        _upgraded("'trainer.eval_batch_size: 0' is now null")
    if "increase_batch_size_on_plateau_max" in trainer:
        value = trainer.pop("increase_batch_size_on_plateau_max")
        trainer.setdefault("max_batch_size", value)
        _upgraded("'trainer.increase_batch_size_on_plateau_max' is now 'trainer.max_batch_size'")
    if "type" in trainer:  # 0.6: the trainer follows model_type
        if trainer["type"] not in ("trainer", "ecd"):
            raise ConfigError(f"config key 'trainer.type': {trainer['type']!r} is not a trainer of an ECD model; "
                              "remove it (Ludwig 0.10 picks the trainer from model_type)")
        del trainer["type"]
        _upgraded("'trainer.type' is removed (the trainer follows model_type)")
    scheduler = trainer.get("learning_rate_scheduler")
    scheduler = {} if scheduler is None else scheduler
    for old, new in SCHEDULER_KEYS.items():
        if old in trainer:
            value = trainer.pop(old)
            if isinstance(scheduler, dict) and new not in scheduler:
                if old == "decay" and isinstance(value, bool):
                    value = "exponential" if value else None
                elif old == "reduce_learning_rate_on_plateau" and isinstance(value, (bool, int, float)):
                    value = int(value)
                scheduler[new] = value
            _upgraded(f"'trainer.{old}' is now 'trainer.learning_rate_scheduler.{new}'")
    if scheduler:
        trainer["learning_rate_scheduler"] = scheduler


def _upgrade_preprocessing(raw: dict, defaults: dict) -> None:
    preprocessing = raw.get("preprocessing")
    if not isinstance(preprocessing, dict):
        return
    for feature_type in [k for k in preprocessing if k in ("image", "category", "binary", "number", "text")]:
        moved = preprocessing.pop(feature_type)
        if isinstance(moved, dict) and "preprocessing" in moved:
            moved = moved["preprocessing"]
        entry = defaults.setdefault(feature_type, {})
        if isinstance(entry, dict):
            entry["preprocessing"] = _deep_merge(moved or {}, entry.get("preprocessing") or {})
        _upgraded(f"'preprocessing.{feature_type}' is now 'defaults.{feature_type}.preprocessing'")
    split = {}
    if preprocessing.get("split_probabilities") is not None:
        split["probabilities"] = preprocessing.pop("split_probabilities")
        _upgraded("'preprocessing.split_probabilities' is now 'preprocessing.split.probabilities'")
    if preprocessing.get("stratify") is not None:
        split.update(type="stratify", column=preprocessing.pop("stratify"))
        _upgraded("'preprocessing.stratify' is now 'preprocessing.split: {type: stratify, column: ...}'")
    if preprocessing.get("force_split") is not None:
        preprocessing.pop("force_split")
        split.setdefault("type", "random")
        _upgraded("'preprocessing.force_split' is now 'preprocessing.split.type'")
    for key in ("split_probabilities", "stratify", "force_split"):
        preprocessing.pop(key, None)  # null values: nothing to move
    if split:
        if isinstance(preprocessing.get("split"), dict):
            split = {**split, **preprocessing["split"]}
        preprocessing["split"] = split


def upgrade(raw: dict) -> dict:
    """Rewrite older Ludwig spellings into the current ones (done once, before parsing)."""
    raw = copy.deepcopy(raw)
    if "training" in raw:
        if "trainer" in raw:
            raise ConfigError("config has both 'training' and 'trainer'; 'training' is the old name of 'trainer', keep one")
        raw["trainer"] = raw.pop("training")
        _upgraded("'training' is now 'trainer'")
    defaults = raw.pop("defaults", None) or {}
    if not isinstance(defaults, dict):
        fail("defaults", defaults, "a mapping of feature type to settings")
    defaults = {key: {} if value is None else value for key, value in defaults.items()}
    for key, value in defaults.items():
        if key not in ("image", "category", "binary"):
            raise ConfigError(f"config key 'defaults.{key}': only 'image', 'category' and 'binary' defaults apply "
                              "to this tool (an image input and a category or binary output)")
        if not isinstance(value, dict):
            fail(f"defaults.{key}", value, "a mapping of feature settings")
        if "type" in value:  # 0.7: a type inside defaults.<type> is redundant
            del value["type"]
    _upgrade_preprocessing(raw, defaults)
    _upgrade_trainer(raw.get("trainer"))
    for section, kind in (("input_features", "input"), ("output_features", "output")):
        if isinstance(raw.get(section), list):
            raw[section] = [_upgrade_feature(f, kind, defaults, f"{section}.{i}") for i, f in enumerate(raw[section])]
    return raw
