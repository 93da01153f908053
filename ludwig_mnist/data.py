"""Data stage: dataset table → validated rows → splits → vocabulary → decoded image arrays.

The archive is extracted (safely) by archive.py and images are decoded by
images.py; this module decides *which* rows go where, following Ludwig:
labels are strings, rows with an empty label are dropped (drop_row), the
vocabulary is ordered by descending frequency, and split 0/1/2 means
training/validation/test.
"""

from __future__ import annotations

import csv
import difflib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import __version__
from .archive import ArchiveLimits, extract_archive, locate_images
from .config import ExperimentConfig
from .errors import DataError
from .folders import folder_table
from .images import ImageSpec, decode_images, infer_image_spec
from .results import SPLIT_NAMES, DatasetSummary
from .streaming import CACHE_NAME, decode_to_cache

SPLIT_CODES = {0: "training", 1: "validation", 2: "test"}
CARVED_VALIDATION_FRACTION = 0.1
LINE_COLUMN = "\x00csv_line"  # internal; a name no CSV header can collide with
MISSING_LABEL_VALUES = ["", "nan", "NaN", "NA", "null", "None"]
EXTRACTED_DIR = "raw_data"  # the archive is extracted to work_dir/EXTRACTED_DIR


@dataclass(frozen=True)
class Metadata:
    """What preprocessing learned from the training data; saved as training_set_metadata.json."""

    input_name: str
    input_column: str
    output_name: str
    output_column: str
    class_names: tuple[str, ...]  # idx2str
    class_frequencies: dict[str, int]
    image: ImageSpec
    resize_method: str

    def to_json(self) -> dict[str, Any]:
        """Ludwig's training_set_metadata layout (one entry per feature)."""
        return {
            self.input_name: {
                "column": self.input_column,
                "preprocessing": {"height": self.image.height, "width": self.image.width,
                                  "num_channels": self.image.num_channels, "resize_method": self.resize_method},
                "reshape": [self.image.height, self.image.width, self.image.num_channels],
            },
            self.output_name: {
                "column": self.output_column,
                "idx2str": list(self.class_names),
                "str2idx": {name: i for i, name in enumerate(self.class_names)},
                "str2freq": dict(self.class_frequencies),
                "vocab_size": len(self.class_names),
            },
            "ludwig_mnist_version": __version__,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], input_name: str, output_name: str) -> "Metadata":
        image, label = data[input_name], data[output_name]
        pre = image["preprocessing"]
        return cls(input_name=input_name, input_column=image.get("column", input_name),
                   output_name=output_name, output_column=label.get("column", output_name),
                   class_names=tuple(label["idx2str"]), class_frequencies=dict(label.get("str2freq", {})),
                   image=ImageSpec(int(pre["height"]), int(pre["width"]), int(pre["num_channels"])),
                   resize_method=pre.get("resize_method", "interpolate"))


@dataclass(frozen=True)
class SplitData:
    name: str
    images: np.ndarray  # (N, H, W, C) uint8; a streaming.DiskImages view of it when preprocessing.in_memory is false
    labels: np.ndarray  # (N,) int32 indices into Metadata.class_names
    sources: tuple[str, ...]  # image paths as written in the CSV


@dataclass(frozen=True)
class PreparedData:
    metadata: Metadata
    splits: dict[str, SplitData]  # only non-empty splits, in SPLIT_NAMES order
    summary: DatasetSummary
    timings: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- table


def read_table(path: Path, data_format: str = "auto") -> pd.DataFrame:
    """Read the dataset CSV/TSV with every column as strings (labels are class names, not numbers)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"dataset {path} does not exist")
    if data_format == "auto":
        with open(path, encoding="utf-8", errors="replace") as handle:
            first_line = handle.readline()
        data_format = "tsv" if "\t" in first_line and "," not in first_line else "csv"
    sep = "\t" if data_format in ("tsv", "tabular") else ","
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False,
                            na_values=MISSING_LABEL_VALUES, skipinitialspace=True, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataError(f"dataset {path.name} is empty: expected a header line such as 'image_path,label,split' "
                        "and one row per image") from None
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"dataset {path.name} is not a readable {data_format.upper()} file: "
                        f"{str(err).strip().splitlines()[-1]}") from None
    table.columns = [str(c).strip() for c in table.columns]
    if table.empty:
        raise DataError(f"dataset {path.name} has a header ({', '.join(table.columns)}) but no rows")
    return table


def require_column(table: pd.DataFrame, column: str, role: str, dataset_name: str) -> None:
    if column not in table.columns:
        present = [c for c in table.columns if c != LINE_COLUMN]
        close = difflib.get_close_matches(column, present, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise DataError(f"dataset {dataset_name} has no column '{column}' ({role} named in the config); "
                        f"columns present: {', '.join(present)}{hint}")


def drop_missing(table: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, int]:
    """Ludwig's drop_row strategy: rows with an empty value in a feature column are dropped and counted."""
    keep = table[columns].notna().all(axis=1) & (table[columns].apply(lambda c: c.str.strip() != "")).all(axis=1)
    return table[keep].reset_index(drop=True), int((~keep).sum())


def build_vocabulary(labels: pd.Series) -> tuple[tuple[str, ...], dict[str, int]]:
    """Classes by descending frequency (Ludwig's idx2str); ties by name so the order never depends on row order."""
    counts = labels.value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(name for name, _ in ordered), {name: int(n) for name, n in ordered}


# ---------------------------------------------------------------- splits


def fixed_split(table: pd.DataFrame, column: str, dataset_name: str) -> np.ndarray:
    """Split codes from the dataset's column: 0 train, 1 validation, 2 test."""
    raw = table[column].fillna("").str.strip()
    codes = pd.to_numeric(raw, errors="coerce")
    bad = ~codes.isin([0, 1, 2])
    if bad.any():
        lines = table[LINE_COLUMN].to_numpy() if LINE_COLUMN in table else np.arange(len(table)) + 2
        rows = [f"line {lines[i]} ({raw[i]!r})" for i in np.flatnonzero(bad.to_numpy())[:5]]
        raise DataError(f"dataset {dataset_name}: column '{column}' must hold 0 (training), 1 (validation) "
                        f"or 2 (test); {int(bad.sum())} rows do not, first: {', '.join(rows)}")
    return codes.to_numpy().astype(np.int64)


def random_split(n_rows: int, probabilities, rng: np.random.Generator) -> np.ndarray:
    order = rng.permutation(n_rows)
    bounds = np.round(np.cumsum(probabilities)[:2] * n_rows).astype(int)
    codes = np.empty(n_rows, dtype=np.int64)
    codes[order[: bounds[0]]], codes[order[bounds[0]: bounds[1]]], codes[order[bounds[1]:]] = 0, 1, 2
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
    else:
        codes = random_split(len(table), split.probabilities, rng)
    if not (codes == 0).any():
        raise DataError(f"dataset {dataset_name}: the training split is empty "
                        f"({'no rows with split 0' if split.type == 'fixed' else 'split probabilities give it no rows'})")
    if not (codes == 1).any() and (codes == 0).sum() >= 10:
        codes = carve_validation(codes, label_index, rng)
        notes.append(f"the dataset has no validation rows (split 1): {int((codes == 1).sum())} training rows "
                     f"({CARVED_VALIDATION_FRACTION:.0%}, stratified by label, seed {seed}) were set aside for "
                     "validation, so early stopping and best-epoch selection work")
    if not (codes == 2).any():
        notes.append("the dataset has no test rows (split 2): test metrics are skipped")
    return codes, notes


# ---------------------------------------------------------------- the whole stage


def _extract(archive_path: Path, work_dir: Path, limits: ArchiveLimits | None, log: Callable[[str], None]):
    start = time.perf_counter()
    extracted = extract_archive(Path(archive_path), Path(work_dir) / EXTRACTED_DIR,
                                limits if limits is not None else ArchiveLimits())
    seconds = time.perf_counter() - start
    log(f"extracted {extracted.file_count} files ({extracted.total_bytes / 1e6:.1f} MB) in {seconds:.1f} s")
    return extracted, seconds


def prepare_data(config: ExperimentConfig, dataset_path: Path | None, archive_path: Path, work_dir: Path, *,
                 seed: int, data_format: str = "auto", limits: ArchiveLimits | None = None,
                 max_image_pixels: int | None = None, num_workers: int = 1, labels_from: str = "folder",
                 like: Metadata | None = None, log: Callable[[str], None] = print) -> PreparedData:
    """dataset_path None: a folder-format archive (train/<class>/…), see folders.py.

    like: a saved model's metadata (fine-tuning, resuming): its class order and image size are kept, so the
    loaded weights mean the same classes and see the same input shape.
    """
    feature_in, feature_out = config.input_feature, config.output_feature
    image_column, label_column = feature_in.column_name, feature_out.column_name
    dataset_name = Path(dataset_path).name if dataset_path is not None else Path(archive_path).name
    timings: dict[str, float] = {}
    notes = []
    extracted, folder_splits = None, False

    start = time.perf_counter()
    if dataset_path is None:
        extracted, timings["extract"] = _extract(archive_path, work_dir, limits, log)
        notes += list(extracted.notes)
        table, folder_splits, folder_notes = folder_table(extracted.root, image_column, label_column, labels_from,
                                                          dataset_name)
        notes += folder_notes
        start = time.perf_counter()
    else:
        table = read_table(dataset_path, data_format)
    # CSV line of each row (header is line 1), so messages name the right line after rows are dropped
    line_numbers = pd.Series(np.arange(len(table)) + 2, name="line")
    table = table.assign(**{LINE_COLUMN: line_numbers})
    require_column(table, image_column, "the image input feature", dataset_name)
    require_column(table, label_column, "the output feature", dataset_name)
    table, dropped = drop_missing(table, [image_column, label_column])
    if dropped:
        notes.append(f"dropped {dropped} row{'s' if dropped != 1 else ''} with an empty {label_column} "
                     f"or {image_column} value (Ludwig's drop_row)")
    if table.empty:
        raise DataError(f"dataset {dataset_name}: every row has an empty '{label_column}' or '{image_column}'")
    if config.preprocessing.sample_ratio < 1.0:
        table = table.sample(frac=config.preprocessing.sample_ratio, random_state=seed).reset_index(drop=True)
        notes.append(f"sample_ratio {config.preprocessing.sample_ratio}: using {len(table)} rows")
    labels = table[label_column].str.strip()
    class_names, frequencies = build_vocabulary(labels)
    if like is not None:
        unknown = sorted(set(class_names) - set(like.class_names))
        if unknown:
            raise DataError(f"dataset {dataset_name}: classes {', '.join(map(repr, unknown[:5]))} are not among the "
                            f"loaded model's {len(like.class_names)} classes; train a new model for new classes")
        class_names = like.class_names
        frequencies = {name: frequencies.get(name, 0) for name in class_names}
    if len(class_names) < 2:
        raise DataError(f"dataset {dataset_name}: column '{label_column}' has a single class "
                        f"({class_names[0]!r}); a classifier needs at least two")
    str2idx = {name: i for i, name in enumerate(class_names)}
    label_index = labels.map(str2idx).to_numpy().astype(np.int32)
    codes, split_notes = assign_splits(config, table, label_index, seed, dataset_name, folder_splits)
    notes += split_notes
    timings["read_dataset"] = time.perf_counter() - start

    if extracted is None:
        extracted, timings["extract"] = _extract(archive_path, work_dir, limits, log)
        notes += list(extracted.notes)
    sources = tuple(table[image_column].str.strip())
    paths = locate_images(extracted, sources,
                          row_numbers=None if dataset_path is None else list(table[LINE_COLUMN]))

    start = time.perf_counter()
    pre = feature_in.preprocessing
    pixel_limit = {} if max_image_pixels is None else {"max_image_pixels": max_image_pixels}
    train_rows = np.flatnonzero(codes == 0)
    fixed = like.image if like is not None else None
    spec, spec_notes = infer_image_spec(
        [paths[i] for i in train_rows], height=fixed.height if fixed else pre.height,
        width=fixed.width if fixed else pre.width, num_channels=fixed.num_channels if fixed else pre.num_channels,
        sample_size=pre.infer_image_sample_size, max_height=pre.infer_image_max_height,
        max_width=pre.infer_image_max_width, sources=[sources[i] for i in train_rows], **pixel_limit)
    notes += list(spec_notes)
    # Decode in split order so that each split is a contiguous slice (a view, no copy) of one array.
    order = np.argsort(codes, kind="stable")
    if pre.in_memory:
        images, decode_notes = decode_images([paths[i] for i in order], spec, resize_method=pre.resize_method,
                                             num_workers=num_workers, sources=[sources[i] for i in order],
                                             **pixel_limit)
    else:
        # Streamed: decoded once, chunk by chunk, into a .npy cache next to the extracted files; the splits
        # are views of it and training reads the batches it needs (streaming.py).
        images, decode_notes = decode_to_cache([paths[i] for i in order], spec, Path(work_dir) / CACHE_NAME,
                                               resize_method=pre.resize_method, num_workers=num_workers,
                                               sources=[sources[i] for i in order], **pixel_limit)
    notes += list(decode_notes)
    timings["decode"] = time.perf_counter() - start
    log(f"decoded {len(paths)} images to {spec.height}x{spec.width}x{spec.num_channels} "
        f"{'' if pre.in_memory else 'into an on-disk cache (in_memory: false) '}"
        f"in {timings['decode']:.1f} s ({len(paths) / max(timings['decode'], 1e-9):.0f} images/s)")

    splits, offset = {}, 0
    for code, name in SPLIT_CODES.items():
        count = int((codes == code).sum())
        rows = order[offset: offset + count]
        if count:
            splits[name] = SplitData(name, images[offset: offset + count], label_index[rows],
                                     tuple(sources[i] for i in rows))
        offset += count
    metadata = Metadata(feature_in.name, image_column, feature_out.name, label_column,
                        class_names, frequencies, spec, pre.resize_method)
    summary = DatasetSummary(
        split_counts={name: (len(splits[name].labels) if name in splits else 0) for name in SPLIT_NAMES},
        class_names=class_names, class_frequencies=frequencies, image_height=spec.height,
        image_width=spec.width, num_channels=spec.num_channels, dataset_name=dataset_name,
        archive_name=Path(archive_path).name, dropped_rows=dropped, notes=tuple(notes))
    for note in notes:
        log(f"note: {note}")
    return PreparedData(metadata, splits, summary, timings)
