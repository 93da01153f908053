"""Ludwig's other ways of giving the data (``ludwig experiment --training_set ... --training_set_metadata ...``):

    read_split_sets      training_set / validation_set / test_set tables → one table whose "split" column is
                         0 / 1 / 2 by the table each row came from (Ludwig's concatenate_files), which replaces
                         the config's preprocessing.split, as in Ludwig
    read_metadata_file   a training_set_metadata.json of an earlier model → Metadata: its class vocabulary and
                         image size are used instead of being computed from the data (Ludwig's build_metadata
                         skips every feature the given metadata already holds)
    locate_rows          the rows' image paths → files: in the extracted archive, or (no archive) relative to
                         the folder of the table each row came from

No TensorFlow here: this is part of the data stage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from ..options import SET_NAMES, DataOptions
from .archive import ExtractedArchive
from .locate import locate_in_directory, locate_images
from .table import LINE_COLUMN, read_table, require_column

SPLIT_COLUMN = "split"  # Ludwig's SPLIT: concatenate_files writes it, the fixed split reads it
SET_COLUMN = "\x00set"  # internal: index into DataOptions.split_sets of the table a row came from


def read_split_sets(options: DataOptions, image_column: str, label_column: str) -> tuple[pd.DataFrame, str]:
    """(one table of every given set, with SPLIT_COLUMN 0/1/2 and per-file LINE_COLUMN; the note to show).

    Each table is checked on its own, so a missing column names its file.  A "split" column the tables
    already have is overwritten, as Ludwig's concatenate_files does.
    """
    parts, counts = [], []
    for index, (code, path) in enumerate(zip((0, 1, 2), options.split_sets)):
        if path is None:
            continue
        table = read_table(path, _format_of(Path(path), options.data_format))
        name = f"{SET_NAMES[index]} {Path(path).name}"
        require_column(table, image_column, "the image input feature", name)
        require_column(table, label_column, "the output feature", name)
        overwritten = SPLIT_COLUMN in table.columns
        table = table.assign(**{SPLIT_COLUMN: str(code), LINE_COLUMN: np.arange(len(table)) + 2,
                                SET_COLUMN: index})
        parts.append(table)
        counts.append(f"{SET_NAMES[index]} {len(table)}" + (" (its split column replaced)" if overwritten else ""))
    note = (f"training_set/validation_set/test_set given ({', '.join(counts)} rows): they replace the config's "
            "preprocessing.split, as Ludwig does (a fixed split by the table each row came from)")
    return pd.concat(parts, ignore_index=True), note


def _format_of(path: Path, data_format: str) -> str:
    """data_format, or (auto) the file's extension, as Ludwig's auto format does; else read_table sniffs."""
    if data_format != "auto":
        return data_format
    return {".csv": "csv", ".tsv": "tsv", ".tab": "tsv"}.get(path.suffix.lower(), "auto")


def read_metadata_file(path: Path, input_name: str, output_name: str):
    """The Metadata of a training_set_metadata.json (this tool's or Ludwig 0.10's), for the config's features."""
    from .prepare import Metadata  # prepare imports this module

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"training_set_metadata {path.name} is not a readable JSON file ({type(err).__name__}); "
                        "give the training_set_metadata.json of a trained model") from None
    missing = [name for name in (input_name, output_name) if not isinstance(data, dict) or name not in data]
    if missing:
        held = ", ".join(k for k in data if isinstance(data.get(k), dict)) if isinstance(data, dict) else "no features"
        raise DataError(f"training_set_metadata {path.name} has no entry for the feature "
                        f"'{missing[0]}' of the config (it holds {held or 'no features'}); the config's feature "
                        "names must be those of the model that wrote it")
    try:
        return Metadata.from_json(data, input_name, output_name)
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"training_set_metadata {path.name}: the entry of '{input_name}' or '{output_name}' lacks "
                        f"{err}; it needs the image preprocessing (height, width, num_channels) and the class "
                        "vocabulary (idx2str)") from None


def locate_rows(extracted: ExtractedArchive | None, table: pd.DataFrame, sources: Sequence[str],
                options: DataOptions) -> list:
    """The image file of every row, in table order; without an archive, relative to each row's own table."""
    lines = list(table[LINE_COLUMN])
    if extracted is not None and SET_COLUMN not in table.columns:
        return locate_images(extracted, sources, row_numbers=lines if options.dataset is not None else None)
    groups = table[SET_COLUMN].to_numpy() if SET_COLUMN in table.columns else np.zeros(len(table), dtype=int)
    paths: list = [None] * len(table)
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        table_path = options.dataset if SET_COLUMN not in table.columns else options.split_sets[group]
        name = Path(table_path).name
        group_sources = [sources[i] for i in rows]
        group_lines = [lines[i] for i in rows]
        try:
            if extracted is not None:
                found = locate_images(extracted, group_sources, row_numbers=group_lines)
            else:
                found = locate_in_directory(Path(table_path).absolute().parent, group_sources, group_lines, name)
        except DataError as err:
            if extracted is None:
                raise
            raise DataError(f"{SET_NAMES[group]} {name}: {err}") from None
        for row, path in zip(rows, found):
            paths[row] = path
    return paths
