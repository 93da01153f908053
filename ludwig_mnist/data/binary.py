"""A binary output's label column → booleans, by Ludwig 0.10's rules (features/binary_feature.py).

Ludwig reads every column as strings, then (BinaryFeatureMixin.cast_column):
- all values parse as numbers → float → bool (0 is False, any other number True);
- all values are 'true'/'false' in any case → those booleans;
- otherwise strings: at most 2 distinct values, each mapped by str2bool (BOOL_TRUE_STRS / BOOL_FALSE_STRS,
  case-insensitive); if one is unconventional, fallback_true_label (default: the alphabetically first value)
  is True and the other False.  bool2str ([false label, true label]) then names the predictions.

Class index 0 is False and 1 is True everywhere downstream; class_names is ("False", "True") for numeric and
'true'/'false' columns (Ludwig writes True/False there) and bool2str for string columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError

BOOL_TRUE_STRS = {"yes", "y", "true", "t", "1", "1.0"}
BOOL_FALSE_STRS = {"no", "n", "false", "f", "0", "0.0", "-1", "-1.0"}
PANDAS_BOOL_STRS = {"true", "false"}
BOOL_NAMES = ("False", "True")


def str2bool(value: str, fallback_true_label: str | None = None) -> bool:
    """Ludwig's strings_utils.str2bool: the conventional lists first, then equality with the fallback label."""
    lowered = str(value).lower()
    if lowered in BOOL_TRUE_STRS:
        return True
    if lowered in BOOL_FALSE_STRS:
        return False
    if fallback_true_label is None:
        raise ValueError(f"cannot map {value!r} to a boolean")
    return value == fallback_true_label


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def binary_vocabulary(labels: pd.Series, fallback_true_label: str | None, column: str, dataset_name: str
                      ) -> tuple[tuple[str, str], dict[str, bool] | None, str | None]:
    """(class_names [false, true], str2bool or None for numeric/boolean columns, fallback label used)."""
    distinct = list(labels.drop_duplicates())  # first-appearance order, as pandas drop_duplicates gives Ludwig
    if all(_is_number(v) for v in distinct) or {v.lower() for v in distinct} <= PANDAS_BOOL_STRS:
        return BOOL_NAMES, None, None
    if len(distinct) > 2:
        shown = ", ".join(repr(v) for v in sorted(distinct)[:5])
        raise DataError(f"dataset {dataset_name}: the binary output column '{column}' has {len(distinct)} "
                        f"distinct values ({shown}{', ...' if len(distinct) > 5 else ''}); a binary output needs "
                        "two (use type: category for more classes)")
    fallback = fallback_true_label if fallback_true_label else sorted(distinct)[0]
    try:
        mapping = {v: str2bool(v) for v in distinct}
    except ValueError:
        mapping = {v: str2bool(v, fallback) for v in distinct}
    bool2str = [k for k, v in sorted(mapping.items(), key=lambda item: item[1])]
    if len(bool2str) != 2 or len(set(mapping.values())) != 2:
        raise DataError(f"dataset {dataset_name}: the binary output column '{column}' maps "
                        f"{', '.join(f'{k!r} to {v}' for k, v in mapping.items())}; training needs both a true and "
                        "a false value (check preprocessing.fallback_true_label)")
    return (bool2str[0], bool2str[1]), mapping, fallback


def binary_index(labels: pd.Series, mapping: dict[str, bool] | None, column: str, dataset_name: str) -> np.ndarray:
    """(N,) int32: 1 where the label is True, 0 where False; a value the mapping lacks is a DataError."""
    if mapping is None:
        values = list(labels)
        if all(_is_number(v) for v in values):
            return (labels.astype(float) != 0).to_numpy().astype(np.int32)
        lowered = labels.str.lower()
        if set(lowered) <= PANDAS_BOOL_STRS:
            return (lowered == "true").to_numpy().astype(np.int32)
        raise DataError(f"dataset {dataset_name}: the binary output column '{column}' mixes numbers or true/false "
                        f"with other values (e.g. {next(v for v in values if not _is_number(v))!r})")
    unknown = sorted(set(labels) - set(mapping))
    if unknown:
        raise DataError(f"dataset {dataset_name}: binary output column '{column}' has values "
                        f"{', '.join(map(repr, unknown[:5]))} that the model's labels "
                        f"({', '.join(map(repr, mapping))}) do not include")
    return labels.map(mapping).to_numpy().astype(np.int32)
