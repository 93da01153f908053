"""The API's datasets → what the pipelines read: a CSV/TSV path, a DataFrame or a dict of columns becomes
scratch/dataset.csv plus scratch/images.zip (the referenced images, uncompressed), as DataOptions.

Image paths are absolute, or relative to the CSV's folder (a path) or to the working directory (a DataFrame),
as Ludwig resolves them.  Relative paths keep their name inside the zip, so predictions.csv and the report
show the user's paths; absolute ones go under files/<their path>.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from .data.archive import ArchiveLimits
from .errors import DataError, UserInputError
from .options import DataOptions


def as_frame(dataset: Any, data_format: str | None, what: str) -> tuple[pd.DataFrame, Path | None, str]:
    """(table as strings, folder that relative image paths start from or None for the CWD, name for messages)."""
    if data_format not in (None, "auto", "csv", "tsv", "df", "dict"):
        raise UserInputError(f"data_format {data_format!r} is not supported; use 'csv', 'tsv', a DataFrame or "
                             "a dict of columns")
    if isinstance(dataset, dict):
        dataset = pd.DataFrame(dataset)
    if isinstance(dataset, pd.DataFrame):
        return dataset.astype(object).where(dataset.notna(), "").astype(str), None, f"the {what} DataFrame"
    if isinstance(dataset, (str, os.PathLike)):
        path = Path(dataset)
        if not path.is_file():
            raise DataError(f"{what} {path} does not exist")
        from .data.table import read_table

        fmt = {None: "auto", "df": "auto", "dict": "auto"}.get(data_format, data_format)
        return read_table(path, fmt), path.absolute().parent, path.name
    raise UserInputError(f"{what} must be a CSV/TSV path, a pandas DataFrame or a dict of columns, "
                         f"not {type(dataset).__name__}")


class StagedData:
    """The images a table refers to, packed into scratch/images.zip, and the table rewritten to point into it."""

    def __init__(self, scratch: Path, image_column: str):
        self.scratch, self.image_column = scratch, image_column
        self.members: dict[Path, str] = {}  # resolved file → member name

    def member(self, raw: str, base: Path | None, where: str) -> str:
        if raw.strip() == "":
            return ""  # the pipeline drops the row (Ludwig's drop_row) and says so
        given = Path(raw.strip())
        path = (given if given.is_absolute() else (base or Path.cwd()) / given).resolve()
        if not path.is_file():
            start = "the working directory" if base is None else f"the folder {base}"
            raise DataError(f"{where}: image {raw!r} does not exist (relative paths start from {start})")
        if path not in self.members:
            plain = not given.is_absolute() and ".." not in given.parts
            # Relative paths keep their name, so predictions.csv and the report show the user's path.
            name = PurePosixPath(*given.parts) if plain else PurePosixPath("files", *path.parts[1:])
            self.members[path] = str(name)
        return self.members[path]

    def table(self, frame: pd.DataFrame, base: Path | None, name: str) -> pd.DataFrame:
        """frame with its image column rewritten to member names; base None: a DataFrame (rows counted from 0)."""
        if self.image_column not in frame.columns:
            raise DataError(f"{name} has no column '{self.image_column}' (the image input feature); it has "
                            f"{', '.join(map(str, frame.columns[:10]))}")
        frame = frame.copy()
        where = [f"{name} row {index}" for index in frame.index] if base is None else \
            [f"{name} line {i + 2}" for i in range(len(frame))]  # a CSV's line numbers (one header line)
        frame[self.image_column] = [self.member(raw, base, at) for raw, at in zip(frame[self.image_column], where)]
        return frame

    def write(self, frame: pd.DataFrame) -> DataOptions:
        csv_path, zip_path = self.scratch / "dataset.csv", self.scratch / "images.zip"
        frame.to_csv(csv_path, index=False)
        total = 0
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as archive:
            for path, name in self.members.items():
                archive.write(path, name)
                total += path.stat().st_size
        # The archive is the user's own files, packed here: the upload limits meant for Galaxy do not apply.
        limits = ArchiveLimits(max_total_bytes=total + 1, max_members=2 * len(self.members) + 10,
                               max_ratio=max(ArchiveLimits().max_ratio, 10.0))
        return DataOptions(raw_data=zip_path, dataset=csv_path, data_format="csv", limits=limits)
