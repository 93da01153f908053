"""Readers of the files `visualize` takes: training_statistics.json, test_statistics.json, predictions with
probabilities, the ground truth and training_set_metadata.json, as written by this tool or by Ludwig 0.10.

Every problem is a VisualizeError naming the file and what is wrong; nothing is guessed silently: the
output feature must be named when a file has several, and models compared row by row must cover the
same rows with the same classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UserInputError

PROBABILITIES_PREFIX = "_probabilities_"
SPLIT_CODES = {"0": "training", "1": "validation", "2": "test"}


class VisualizeError(UserInputError):
    """Bad input to `visualize`."""


def read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise VisualizeError(f"cannot read the {what} {path}: {err.strerror or err}") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise VisualizeError(f"the {what} {path} is not JSON: {err}") from err
    if not isinstance(value, dict):
        raise VisualizeError(f"the {what} {path} is not a JSON object")
    return value


def pick_feature(candidates: list[str], wanted: str | None, path: Path, what: str) -> str:
    """The output feature to show: the one asked for, or the only one there is."""
    if wanted:
        if wanted not in candidates:
            raise VisualizeError(f"{path}: no output feature {wanted!r} in the {what}; it has "
                                 f"{', '.join(candidates) or 'none'}")
        return wanted
    if len(candidates) != 1:
        raise VisualizeError(f"{path}: the {what} has output features {', '.join(candidates) or 'none'}; "
                             "name one with --output_feature_name")
    return candidates[0]


# --------------------------------------------------------------------------- statistics


def training_statistics(path: Path, feature: str | None) -> tuple[str, dict[str, dict[str, list[float]]]]:
    """(feature, {split: {metric: per-epoch values}}) from Ludwig's training_statistics.json
    ({"training": {"label": {"loss": [...]}, "combined": {...}}, "validation": ..., "test": ...})."""
    data = read_json(path, "training statistics")
    splits = {s: v for s, v in data.items() if s in ("training", "validation", "test") and isinstance(v, dict)}
    if not splits:
        raise VisualizeError(f"{path}: no training/validation/test entries; is it a training_statistics.json?")
    features = sorted({f for v in splits.values() for f in v if f != "combined"})
    name = pick_feature(features, feature, path, "training statistics")
    curves = {s: {m: [float(x) for x in vals] for m, vals in v.get(name, {}).items() if isinstance(vals, list)}
              for s, v in splits.items()}
    return name, {s: c for s, c in curves.items() if c}


def test_statistics(path: Path, feature: str | None) -> tuple[str, dict[str, Any]]:
    """(feature, its statistics) from test_statistics.json ({"label": {...}, "combined": {...}})."""
    data = read_json(path, "test statistics")
    features = sorted(f for f, v in data.items() if f != "combined" and isinstance(v, dict))
    name = pick_feature(features, feature, path, "test statistics")
    return name, data[name]


def metadata_classes(path: Path | None, feature: str) -> tuple[list[str] | None, dict[str, int] | None]:
    """(idx2str, str2freq) of a feature from training_set_metadata.json; (None, None) without the file."""
    if path is None:
        return None, None
    meta = read_json(path, "ground truth metadata")
    entry = meta.get(feature)
    if not isinstance(entry, dict) or not isinstance(entry.get("idx2str"), list):
        raise VisualizeError(f"{path}: no idx2str for output feature {feature!r}")
    return [str(c) for c in entry["idx2str"]], {str(k): int(v) for k, v in (entry.get("str2freq") or {}).items()}


# --------------------------------------------------------------------------- predictions


@dataclass(frozen=True)
class Probabilities:
    """One model's probabilities: (N, C) float, columns in class_names order; y_true (N,) int, -1 unseen."""

    path: Path
    feature: str
    class_names: tuple[str, ...]
    probabilities: np.ndarray
    y_true: np.ndarray | None  # None when neither the file nor --ground_truth has the labels
    labels: tuple[str, ...] | None  # the raw true labels (N,), for class-name alignment


def _read_table(path: Path, what: str) -> pd.DataFrame:
    path = Path(path)
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        sep = "\t" if path.suffix.lower() in (".tsv", ".tabular") else ","
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (OSError, ValueError, ImportError) as err:
        raise VisualizeError(f"cannot read the {what} {path}: {err}") from err


def probabilities(path: Path, feature: str | None, ground_truth: pd.Series | None,
                  class_order: list[str] | None) -> Probabilities:
    """A predictions file with `<feature>_probabilities_<class>` columns (this tool's predictions.csv, Ludwig's
    predictions.csv/parquet).  The true labels come from its `<feature>` column, else from ground_truth."""
    table = _read_table(path, "probabilities file")
    prefixes = sorted({c.split(PROBABILITIES_PREFIX)[0] for c in table.columns if PROBABILITIES_PREFIX in c})
    name = pick_feature(prefixes, feature, path, "probabilities file")
    columns = [c for c in table.columns if c.startswith(name + PROBABILITIES_PREFIX)]
    names = [c[len(name + PROBABILITIES_PREFIX):] for c in columns]
    if class_order is not None:  # the metadata's vocabulary order, when given
        missing = sorted(set(class_order) - set(names))
        extra = sorted(set(names) - set(class_order))
        if missing or extra:
            raise VisualizeError(f"{path}: the probability columns' classes differ from the metadata's "
                                 f"(missing {missing}, not in the metadata {extra})")
        columns = [name + PROBABILITIES_PREFIX + c for c in class_order]
        names = list(class_order)
    try:
        p = table[columns].astype(np.float64).to_numpy()
    except ValueError as err:
        raise VisualizeError(f"{path}: a {name}_probabilities_* column is not numeric: {err}") from err
    if not np.all(np.isfinite(p)):
        raise VisualizeError(f"{path}: the probabilities contain NaN or infinity")
    if name in table.columns:
        labels = table[name].astype(str)
    elif ground_truth is not None:
        if len(ground_truth) != len(table):
            raise VisualizeError(f"{path} has {len(table)} rows but the ground truth has {len(ground_truth)}; "
                                 "give --ground_truth_split so that the same rows are compared")
        labels = ground_truth.astype(str).reset_index(drop=True)
    else:
        labels = None
    y = None
    if labels is not None:
        index = {c: i for i, c in enumerate(names)}
        y = np.array([index.get(v, -1) for v in labels], dtype=np.int64)
        if len(y) and np.all(y < 0):  # labels spelled unlike the columns (1/0 against True/False, ...)
            raise VisualizeError(f"{path}: none of the true labels ({', '.join(sorted(set(labels))[:5])}) is a class "
                                 f"of its {name}_probabilities_* columns ({', '.join(names[:5])})")
    return Probabilities(Path(path), name, tuple(names), p, y, tuple(labels) if labels is not None else None)


def ground_truth(path: Path | None, feature: str | None, split: str | None) -> pd.Series | None:
    """The `feature` column of a dataset, only the rows of `split` (0/1/2 or a name) when it has a split column."""
    if path is None:
        return None
    table = _read_table(path, "ground truth")
    if not feature or feature not in table.columns:
        raise VisualizeError(f"{path}: no column {feature!r} for the ground truth; name the output feature with "
                             "--output_feature_name")
    if split is not None and "split" in table.columns:
        wanted = SPLIT_CODES.get(str(split), str(split))
        codes = table["split"].astype(str).map(lambda v: SPLIT_CODES.get(v, v))
        table = table[codes == wanted]
    return table[feature]


def aligned(models: list[Probabilities], rowwise: bool) -> list[Probabilities]:
    """The models checked to share their classes (reordered by name to the first's order) and, for a
    row-wise comparison, their rows (same count, same true labels)."""
    first = models[0]
    out = [first]
    for m in models[1:]:
        if set(m.class_names) != set(first.class_names):
            raise VisualizeError(f"{m.path} and {first.path} predict different classes "
                                 f"({sorted(set(m.class_names) ^ set(first.class_names))} differ); "
                                 "only models of the same classes can be compared")
        order = [m.class_names.index(c) for c in first.class_names]
        y = None if m.y_true is None else np.array([first.class_names.index(m.class_names[v]) if v >= 0 else -1
                                                    for v in m.y_true])
        m = Probabilities(m.path, m.feature, first.class_names, m.probabilities[:, order], y, m.labels)
        if rowwise:
            if len(m.probabilities) != len(first.probabilities):
                raise VisualizeError(f"{m.path} has {len(m.probabilities)} rows and {first.path} "
                                     f"{len(first.probabilities)}: a row-by-row comparison needs the same rows")
            if m.labels is not None and first.labels is not None and m.labels != first.labels:
                bad = next(i for i, (a, b) in enumerate(zip(m.labels, first.labels)) if a != b)
                raise VisualizeError(f"{m.path} and {first.path} disagree on the true label of row {bad + 1} "
                                     f"({m.labels[bad]!r} vs {first.labels[bad]!r}): not the same rows")
        out.append(m)
    return out
