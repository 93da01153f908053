"""Older Ludwig spellings → the current ones, once, on the raw YAML mapping before it is parsed.

``training:`` → ``trainer:``; a string ``encoder: stacked_cnn`` with its keys beside it (Ludwig <= 0.5) →
a nested encoder mapping; TensorFlow-era conv names → Ludwig 0.10 names; ``defaults:`` merged into the
features.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import ConfigError
from ..model.encoders import ENCODERS, encoder_fields
from .checks import fail

# TensorFlow-era Ludwig names that Ludwig 0.10's PyTorch stack silently ignores;
# we honour them because that is what the config's author meant.
CONV_ALIASES = {"num_filters": "out_channels", "filter_size": "kernel_size", "pool_size": "pool_kernel_size"}
ENCODER_ALIASES = {**CONV_ALIASES, "fc_size": "output_size"}
FC_ALIASES = {"fc_size": "output_size"}
ENCODER_KEYS = {key for kind in ENCODERS for key in encoder_fields(kind)} | set(ENCODER_ALIASES)


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
    if feature_type != supported and not (kind == "output" and feature_type == "binary"):
        raise ConfigError(
            f"config key '{path}.type': feature type {feature_type!r} is not supported; "
            f"this tool trains image classifiers ({kind} features must be type '{supported}'"
            f"{' or binary' if kind == 'output' else ''})")
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
        fail("defaults", defaults, "a mapping of feature type to settings")
    for key in defaults:
        if key not in ("image", "category", "binary"):
            raise ConfigError(f"config key 'defaults.{key}': only 'image', 'category' and 'binary' defaults apply "
                              "to this tool")
    for section, kind in (("input_features", "input"), ("output_features", "output")):
        if isinstance(raw.get(section), list):
            raw[section] = [_upgrade_feature(f, kind, defaults, f"{section}.{i}") for i, f in enumerate(raw[section])]
    return raw


# ---------------------------------------------------------------- entry points
