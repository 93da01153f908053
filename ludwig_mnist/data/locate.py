"""The table's image paths → files of the extracted archive, with the one safe-path rule (paths.py)."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Sequence

from ..errors import DataError, shown
from ..wording import MAX_LISTED, listed
from .archive import ExtractedArchive
from .paths import UnsafePath, safe_parts


def table_path(raw: str, where: str, outside: str, rule: str) -> str:
    """A table's image path as a normalised relative POSIX path; refuses escapes from its root.

    Messages: "{where}: image path 'x' is absolute; paths must be {rule}" and "... points outside {outside}; ...".
    """
    try:
        return str(PurePosixPath(*safe_parts(raw)))
    except UnsafePath as unsafe:
        problem = "is absolute" if unsafe.reason == "absolute" else f"points outside {outside}"
        raise DataError(f"{where}: image path {shown(raw)} {problem}; paths must be {rule}") from None


def locate_images(
    extracted: ExtractedArchive, relative_paths: Sequence[str], row_numbers: Sequence[int] | None = None
) -> list[Path]:
    """Map CSV image paths to extracted files, in order.

    Each path is tried at the archive root, then inside the archive's single
    top-level folder if it has one (a zip of ``mnist_images/`` with CSV paths
    like ``training/0/1.png``).  ``row_numbers`` label rows in messages; the
    default ``index + 2`` is the line number in a CSV with one header line.
    """
    lines = list(row_numbers) if row_numbers is not None else range(2, len(relative_paths) + 2)
    root = extracted.root
    top_entries = list(root.iterdir())
    bases = [root] + ([top_entries[0]] if len(top_entries) == 1 and top_entries[0].is_dir() else [])
    located: list[Path] = []
    missing: list[str] = []
    for raw, line in zip(relative_paths, lines):
        relative = table_path(raw, f"CSV line {line}", "the image archive", "relative to the archive root")
        # NFC/NFD variants only on a miss: macOS zips store decomposed names, CSVs composed ones.
        variants = [relative]
        if not relative.isascii():
            variants += [unicodedata.normalize(form, relative) for form in ("NFC", "NFD")]
        found = next((base / v for v in variants for base in bases if os.path.isfile(os.path.join(base, v))), None)
        if found is None:
            missing.append(f"line {line}: {shown(raw)}")
        else:
            located.append(found)
    if missing:
        top_names = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in top_entries)
        raise DataError(
            f"{len(missing)} of {len(relative_paths)} image paths in the CSV are not in the archive "
            f"(first: {'; '.join(missing[:MAX_LISTED])}); "
            f"the archive's top level holds {listed(top_names) or 'nothing'}"
        )
    return located


def locate_in_directory(root: Path, relative_paths: Sequence[str], row_numbers: Sequence[int],
                        dataset_name: str) -> list[Path]:
    """Map CSV image paths to files under `root` (the CSV's folder), with the archive's safety rules.

    Absolute paths and `..` are refused (data/paths.py), and so is a link that leads outside `root`.
    """
    root = Path(root).resolve()
    located: list[Path] = []
    missing: list[str] = []
    rule = f"relative to the folder of {dataset_name} (or give the images as --raw_data)"
    for raw, line in zip(relative_paths, row_numbers):
        relative = table_path(raw, f"{dataset_name} line {line}", f"the folder of {dataset_name}", rule)
        variants = dict.fromkeys([relative, unicodedata.normalize("NFC", relative),
                                  unicodedata.normalize("NFD", relative)])
        found = next((root / v for v in variants if (root / v).is_file()), None)
        if found is None:
            missing.append(f"line {line}: {raw!r}")
            continue
        if not found.resolve().is_relative_to(root):
            raise DataError(f"{dataset_name} line {line}: image path {raw!r} is a link to a file outside the "
                            f"folder of {dataset_name}; refusing to read it")
        located.append(found)
    if missing:
        raise DataError(f"{len(missing)} of {len(relative_paths)} image paths in {dataset_name} do not exist "
                        f"{rule} (first: {'; '.join(missing[:MAX_LISTED])})")
    return located
