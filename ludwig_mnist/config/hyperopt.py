"""Parameter grids for ``compare``: a grid file or a Ludwig ``hyperopt:`` section → validated configurations.

grid.yaml maps config key paths to lists of values, e.g.

    trainer.learning_rate: [0.001, 0.0003]
    input_features.0.encoder.type: [stacked_cnn, mlp]

A Ludwig ``hyperopt:`` section in the base config is accepted as the grid too
(parameters with ``space: choice`` (categories) or ``grid_search`` (values),
keyed by ``trainer.x`` or ``<feature name>.x``; its metric, split and goal pick
the best).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..model.encoders import ENCODER_SHORTHANDS, ENCODERS, encoder_fields
from .load import parse_config
from .schema import ExperimentConfig
from .upgrade import upgrade

METRIC_KEYS = ("accuracy", "accuracy_micro", "loss", "hits_at_k", "roc_auc")
MAXIMIZED = {"accuracy", "accuracy_micro", "hits_at_k", "roc_auc"}


@dataclass(frozen=True)
class Selection:
    metric: str = "loss"  # Ludwig hyperopt's default: validation loss, minimised
    split: str = "validation"
    goal: str = "minimize"



@dataclass(frozen=True)
class Combination:
    """One point of the grid: the values it sets, the raw config they give, and that config parsed."""

    parameters: dict[str, Any]
    raw: dict
    config: ExperimentConfig

    def describe(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.parameters.items())


def load_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{what} {Path(path).name} is not valid YAML{where}") from None


def _feature_path(raw: dict, path: str) -> str:
    """Ludwig hyperopt names features by name (`image_path.encoder.type`); map to `input_features.0.encoder.type`."""
    head, _, rest = path.partition(".")
    for section in ("input_features", "output_features"):
        for index, feature in enumerate(raw.get(section) or []):
            if isinstance(feature, dict) and feature.get("name") == head and rest:
                return f"{section}.{index}.{rest}"
    return path


def set_path(raw: dict, path: str, value: Any) -> dict:
    """A copy of `raw` with the dotted `path` set to `value` (integers index lists)."""
    raw = copy.deepcopy(raw)
    node: Any = raw
    parts = path.split(".")
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"grid key '{path}': '{where}' is not an index of a {len(node)}-item list")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(f"grid key '{path}': '{where}' goes inside a value that is not a mapping or list")
    return raw


def grid_from_file(path: Path) -> dict[str, list]:
    grid = load_yaml(path, "grid")
    if not isinstance(grid, dict) or not grid:
        raise ConfigError(f"grid {Path(path).name} must map config key paths to lists of values, "
                          "e.g. 'trainer.learning_rate: [0.001, 0.0003]'")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid {Path(path).name}: '{key}' must be a non-empty list of values")
    return {str(k): v for k, v in grid.items()}


def grid_from_hyperopt(hyperopt: dict) -> tuple[dict[str, list], Selection]:
    parameters = hyperopt.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise ConfigError("config key 'hyperopt.parameters' must list the parameters to search")
    grid = {}
    for key, spec in parameters.items():
        where = f"hyperopt.parameters.{key}"
        space = spec.get("space") if isinstance(spec, dict) else None
        if space == "choice" and isinstance(spec.get("categories"), list):
            grid[key] = spec["categories"]
        elif space == "grid_search" and isinstance(spec.get("values"), list):
            grid[key] = spec["values"]
        else:
            raise ConfigError(f"config key '{where}': only 'space: choice' (with categories) and 'space: "
                              "grid_search' (with values) can be enumerated; continuous spaces need a sampler, "
                              "which this tool does not run")
    metric = hyperopt.get("metric", "loss")
    if metric not in METRIC_KEYS:
        raise ConfigError(f"config key 'hyperopt.metric': {metric!r} is not one of {', '.join(METRIC_KEYS)}")
    goal = hyperopt.get("goal", "minimize")
    if goal not in ("minimize", "maximize"):
        raise ConfigError(f"config key 'hyperopt.goal': {goal!r} must be minimize or maximize")
    split = hyperopt.get("split", "validation")
    if split not in ("training", "validation", "test"):
        raise ConfigError(f"config key 'hyperopt.split': {split!r} must be training, validation or test")
    return grid, Selection(metric, split, goal)


def _switch_encoder(raw: dict, path: str) -> dict:
    """After `...encoder.type` changed, drop the keys the new encoder does not have (the old encoder's layers)."""
    raw = upgrade(raw)  # the un-nested old form becomes a nested encoder dict first
    encoder: Any = raw
    for part in path.split(".")[:-1]:
        encoder = encoder[int(part)] if isinstance(encoder, list) else encoder[part]
    kind = ENCODER_SHORTHANDS.get(encoder.get("type"), (encoder.get("type"),))[0]
    if kind in ENCODERS:
        valid = encoder_fields(kind) | {"type"}
        for key in [k for k in encoder if k not in valid]:
            del encoder[key]
    return raw


def combinations(base: dict, grid: dict[str, list]) -> list[Combination]:
    """Every combination with its parsed config, each validated before anything runs."""
    keys = list(grid)
    out = []
    for values in itertools.product(*(grid[k] for k in keys)):
        parameters = dict(zip(keys, values))
        raw = base
        for key, value in parameters.items():
            path = _feature_path(raw, key)
            raw = set_path(raw, path, value)
            if path.endswith("encoder.type"):
                raw = _switch_encoder(raw, path)
        try:
            config = parse_config(raw)
        except ConfigError as err:
            shown = ", ".join(f"{k}={v!r}" for k, v in parameters.items())
            raise ConfigError(f"grid combination ({shown}): {err}") from None
        out.append(Combination(parameters, raw, config))
    return out


def resolve_selection(base: Selection, metric: str | None, split: str | None, goal: str | None) -> Selection:
    """Command-line choices override the config's (or the default) one field at a time."""
    metric = metric or base.metric
    natural = "maximize" if metric in MAXIMIZED else "minimize"
    return Selection(metric, split or base.split, goal or (base.goal if metric == base.metric else natural))



@dataclass(frozen=True)
class GridSearch:
    """What ``compare`` runs: the grid's keys, every combination, and how the best is picked."""

    keys: tuple[str, ...]
    combinations: tuple[Combination, ...]
    selection: Selection


def read_grid_search(config_path: Path, grid_path: Path | None,
                     overrides: tuple[str | None, str | None, str | None] = (None, None, None)) -> GridSearch:
    """The base config plus a grid file (or its own hyperopt section); overrides: (metric, split, goal)."""
    base = load_yaml(config_path, "config")
    if not isinstance(base, dict):
        raise ConfigError(f"config {Path(config_path).name} must be a YAML mapping")
    hyperopt = base.pop("hyperopt", None)
    if grid_path is not None:
        grid = grid_from_file(grid_path)
        selection = resolve_selection(Selection(), *overrides)
    elif hyperopt is not None:
        grid, from_config = grid_from_hyperopt(hyperopt)
        selection = resolve_selection(from_config, *overrides)
    else:
        raise ConfigError("nothing to compare: give --grid grid.yaml or a hyperopt: section in the config")
    return GridSearch(tuple(grid), tuple(combinations(base, grid)), selection)
