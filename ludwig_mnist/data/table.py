"""The dataset table: read a CSV/TSV with every column as strings, check columns, drop empty rows, vocabulary."""

from __future__ import annotations

import csv
import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, one_line, shown

LINE_COLUMN = "\x00csv_line"  # internal; a name no CSV header can collide with
MISSING_LABEL_VALUES = ["", "nan", "NaN", "NA", "null", "None"]


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
    except UnicodeDecodeError as err:
        raise DataError(f"dataset {path.name} is not UTF-8 text{_encoding_hint(path)} (byte 0x{err.object[err.start]:02x} "
                        f"at position {err.start:,}); save it as UTF-8 (CSV UTF-8 in Excel)") from None
    except (pd.errors.ParserError, csv.Error) as err:
        raise DataError(f"dataset {path.name} is not a readable {data_format.upper()} file: "
                        f"{one_line(str(err).strip().splitlines()[-1])}") from None
    table.columns = [str(c).strip() for c in table.columns]
    _check_delimiter(table, path.name, sep)
    if table.empty:
        raise DataError(f"dataset {path.name} has a header ({one_line(', '.join(table.columns))}) but no rows")
    return table


def _encoding_hint(path: Path) -> str:
    """', it is UTF-16' when the file starts with a UTF-16 byte-order mark (Excel's "Unicode text")."""
    with open(path, "rb") as handle:
        start = handle.read(2)
    return ", it is UTF-16" if start in (b"\xff\xfe", b"\xfe\xff") else ""


def _check_delimiter(table: pd.DataFrame, name: str, sep: str) -> None:
    """A single column whose name holds another delimiter: the table is ';'- or '|'-separated, or read as the
    wrong format; say so instead of 'no column image_path'."""
    if len(table.columns) != 1:
        return
    header = table.columns[0]
    for other, label in ((",", "comma"), ("\t", "tab"), (";", "semicolon"), ("|", "pipe")):
        if other != sep and other in header:
            fix = ("give --data_format csv" if other == "," else "give --data_format tsv" if other == "\t"
                   else "save it with commas or tabs between the columns")
            raise DataError(f"dataset {name}: the header {shown(header)} is one column when read with "
                            f"{'tabs' if sep == chr(9) else 'commas'} between the columns, but it holds {label}s; "
                            f"{fix}")


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


def fill_missing(table: pd.DataFrame, column: str, strategy: str, fill_value: str | None) -> tuple[pd.DataFrame, int]:
    """Ludwig's missing_value_strategy on one column: (table with the empty values filled, how many were filled).

    bfill/ffill take the next/previous row's value, fill_with_mode the most frequent one, fill_with_const
    ``fill_value``; drop_row leaves them (drop_missing drops them, and any a fill could not reach).
    """
    values = table[column].where(table[column].notna() & (table[column].fillna("").str.strip() != ""))
    missing = int(values.isna().sum())
    if strategy == "drop_row" or missing == 0:
        return table, 0
    if strategy == "bfill":
        filled = values.bfill()
    elif strategy == "ffill":
        filled = values.ffill()
    elif strategy == "fill_with_mode":
        filled = values.fillna(values.mode().sort_values().iloc[0]) if values.notna().any() else values
    else:  # fill_with_const
        filled = values.fillna(fill_value)
    return table.assign(**{column: filled}), missing - int(filled.isna().sum())


def build_vocabulary(labels: pd.Series) -> tuple[tuple[str, ...], dict[str, int]]:
    """Classes by descending frequency (Ludwig's idx2str); ties by name so the order never depends on row order."""
    counts = labels.value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(name for name, _ in ordered), {name: int(n) for name, n in ordered}


def line_numbers(table: pd.DataFrame) -> np.ndarray:
    """(N,) the CSV line of each row (header is line 1), kept through drops so messages name the right line."""
    return table[LINE_COLUMN].to_numpy() if LINE_COLUMN in table else np.arange(len(table)) + 2
