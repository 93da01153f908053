"""Which rows train, validate and test: Ludwig's fixed, random, stratify and hash splits, the carved
validation set, and k-fold's folds.  Codes: 0 training, 1 validation, 2 test (SPLIT_CODES)."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib

import numpy as np
import pandas as pd

from ..config.schema import ExperimentConfig
from ..errors import DataError, shown
from ..wording import plural
from .table import line_numbers, require_column

SPLIT_CODES = {0: "training", 1: "validation", 2: "test"}
CODE_OF_SPLIT = {name: code for code, name in SPLIT_CODES.items()}
CARVED_VALIDATION_FRACTION = 0.1


def fixed_split(table: pd.DataFrame, column: str, dataset_name: str) -> np.ndarray:
    """Split codes from the dataset's column: 0 train, 1 validation, 2 test."""
    raw = table[column].fillna("").str.strip()
    codes = pd.to_numeric(raw, errors="coerce")
    bad = ~codes.isin([0, 1, 2])
    if bad.any():
        lines = line_numbers(table)
        rows = [f"line {lines[i]} ({shown(raw[i])})" for i in np.flatnonzero(bad.to_numpy())[:5]]
        raise DataError(f"dataset {dataset_name}: column '{column}' must hold 0 (training), 1 (validation) "
                        f"or 2 (test); {plural(int(bad.sum()), 'row')} {'does' if bad.sum() == 1 else 'do'} not, first: "
                        f"{', '.join(rows)}")
    return codes.to_numpy().astype(np.int64)


def random_split(n_rows: int, probabilities, rng: np.random.Generator) -> np.ndarray:
    order = rng.permutation(n_rows)
    bounds = np.round(np.cumsum(probabilities)[:2] * n_rows).astype(int)
    codes = np.empty(n_rows, dtype=np.int64)
    codes[order[: bounds[0]]], codes[order[bounds[0]: bounds[1]]], codes[order[bounds[1]:]] = 0, 1, 2
    return codes


def hash_code(value, probabilities) -> int:
    """Ludwig 0.10's HashSplitter for one value: crc32 of hash_dict({"value": value}) (md5 of the sorted JSON,
    base64 with '_' for both altchars, untruncated) against thresholds at probabilities x 2**32.  Ludwig reads
    the table with dtype=object, so the value is the cell's string (a missing cell is NaN, hashed as NaN)."""
    text = json.dumps({"value": value}, sort_keys=True, ensure_ascii=True)
    digest = base64.b64encode(hashlib.md5(text.encode()).digest(), altchars=b"__")
    hashed = zlib.crc32(digest)
    first, second = probabilities[0] * 2 ** 32, (probabilities[0] + probabilities[1]) * 2 ** 32
    return 0 if hashed < first else 1 if hashed < second else 2


def hash_split(values: pd.Series, probabilities) -> np.ndarray:
    """(N,) split codes; equal values share a code, whatever the seed or row order (hashed once per value)."""
    keys = values.where(values.notna(), None)
    codes = {key: hash_code(float("nan") if key is None else key, probabilities) for key in keys.unique()}
    return keys.map(codes).to_numpy().astype(np.int64)


def carve_validation_groups(codes: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The hash split's carve: 10% of the training rows' distinct values (all their rows) go to validation, so
    the carve keeps a value's rows together as the hash split does."""
    codes = codes.copy()
    values = np.unique(groups[codes == 0])
    count = int(round(len(values) * CARVED_VALIDATION_FRACTION))
    if len(values) > 1 and count > 0:
        codes[(codes == 0) & np.isin(groups, rng.choice(values, size=count, replace=False))] = 1
    return codes


def stratified_split(groups: np.ndarray, probabilities, rng: np.random.Generator) -> np.ndarray:
    """Random split within each group, so every split keeps the group proportions."""
    codes = np.empty(len(groups), dtype=np.int64)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        codes[members] = random_split(len(members), probabilities, rng)
    return codes


def carve_validation(codes: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move a stratified 10% of the training rows to validation (for early stopping and best-epoch choice)."""
    codes = codes.copy()
    train_rows = np.flatnonzero(codes == 0)
    for label in np.unique(labels[train_rows]):
        members = train_rows[labels[train_rows] == label]
        count = int(round(len(members) * CARVED_VALIDATION_FRACTION))
        if len(members) > 1 and count > 0:
            codes[rng.choice(members, size=count, replace=False)] = 1
    return codes


def assign_splits(config: ExperimentConfig, table: pd.DataFrame, label_index: np.ndarray, seed: int,
                  dataset_name: str, folder_splits: bool = False) -> tuple[np.ndarray, list[str]]:
    split = config.preprocessing.split
    rng = np.random.default_rng(seed)
    notes = []
    if folder_splits:  # train/val/test folders of a folder-format archive are explicit: they win
        codes = table["split"].to_numpy().astype(np.int64)
    elif split.type == "fixed":
        column = split.column or "split"
        require_column(table, column, "the split column", dataset_name)
        codes = fixed_split(table, column, dataset_name)
    elif split.type == "stratify":
        require_column(table, split.column, "the stratify column", dataset_name)
        codes = stratified_split(table[split.column].fillna("").to_numpy(), split.probabilities, rng)
    elif split.type == "hash":
        require_column(table, split.column, "the hash split column", dataset_name)
        codes = hash_split(table[split.column], split.probabilities)
        notes.append(f"hash split on column '{split.column}': {table[split.column].nunique()} distinct values, "
                     "each value's rows all in one split (Ludwig's crc32 assignment, independent of the seed)")
    else:
        codes = random_split(len(table), split.probabilities, rng)
    if not (codes == 0).any():
        raise DataError(f"dataset {dataset_name}: the training split is empty "
                        f"({'no rows with split 0' if split.type == 'fixed' else 'split probabilities give it no rows'})")
    if not (codes == 1).any() and (codes == 0).sum() >= 10:
        if split.type == "hash" and not folder_splits:
            groups = table[split.column].fillna("\x00missing").to_numpy()
            codes, how = carve_validation_groups(codes, groups, rng), f"whole '{split.column}' values"
        else:
            codes, how = carve_validation(codes, label_index, rng), "stratified by label"
        notes.append(f"the dataset has no validation rows (split 1): {int((codes == 1).sum())} training rows "
                     f"({CARVED_VALIDATION_FRACTION:.0%}, {how}, seed {seed}) were set aside for "
                     "validation, so early stopping and best-epoch selection work")
    if not (codes == 2).any():
        notes.append("the dataset has no test rows (split 2): test metrics are skipped")
    return codes, notes


def assign_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """(N,) fold index per row; each class is dealt round-robin over the folds after a seeded shuffle."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        folds[members] = (np.arange(len(members)) + offset) % k  # offset keeps fold sizes even across classes
        offset += len(members)
    return folds


def fold_codes(folds: np.ndarray, fold: int, labels: np.ndarray, seed: int) -> np.ndarray:
    """Split codes of one k-fold round: the held-out fold is the test split, and the same stratified 10% carve
    as a single run sets validation rows aside from the rest (seeded per fold)."""
    codes = np.where(folds == fold, 2, 0)
    return carve_validation(codes, labels, np.random.default_rng(seed + fold))


def rows_of_split(config: ExperimentConfig, table: pd.DataFrame, split_name: str,
                  dataset_name: str) -> tuple[np.ndarray, str]:
    """predict/evaluate --split (Ludwig's): (N,) mask of the rows in that split by the model's own split, and a
    note.  Ludwig splits the table again with the model's preprocessing.split; a fixed or hash split gives the
    training run's rows back, a random or stratified one would be a new draw, so it is refused."""
    split = config.preprocessing.split
    code = CODE_OF_SPLIT[split_name]
    if split.type == "fixed":
        column = split.column or "split"
        require_column(table, column, f"the {split_name} split's column", dataset_name)
        codes, how = fixed_split(table, column, dataset_name), f"column '{column}' = {code}"
    elif split.type == "hash":
        require_column(table, split.column, f"the {split_name} split's hash column", dataset_name)
        codes, how = hash_split(table[split.column], split.probabilities), f"the hash split on '{split.column}'"
    else:
        raise DataError(f"split {split_name}: the model was trained with a {split.type} split, whose rows cannot "
                        "be found again from the table (Ludwig would draw a new split); choose split full and give "
                        f"a table of the {split_name} rows")
    mask = codes == code
    if not mask.any():
        raise DataError(f"dataset {dataset_name}: no row is in the {split_name} split ({how})")
    return mask, f"split {split_name}: {plural(int(mask.sum()), 'row')} of {len(table)} ({how})"
