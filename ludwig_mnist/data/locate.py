"""The table's image paths → files of the extracted archive, with the one safe-path rule (paths.py)."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Sequence

from ..errors import DataError, shown
from ..wording import MAX_LISTED, listed
from .archive import ExtractedArchive
from .members import ArchiveMembers
from .paths import UnsafePath, safe_parts


def table_path(raw: str, where: str, outside: str, rule: str) -> str:
    """A table's image path as a normalised relative POSIX path; refuses escapes from its root.

    Messages: "{where}: image path 'x' is absolute; paths must be {rule}" and "... points outside {outside}; ...".
    """
    try:
        return "/".join(safe_parts(raw))  # = str(PurePosixPath(*parts)): parts hold no "/", "." or ""
    except UnsafePath as unsafe:
        problem = "is absolute" if unsafe.reason == "absolute" else f"points outside {outside}"
        raise DataError(f"{where}: image path {shown(raw)} {problem}; paths must be {rule}") from None


def _disk_lookup(root: Path):
    """(top-level (name, is folder) pairs, find(relative POSIX path) → Path or None) of an extracted folder."""
    top = sorted((entry.name, entry.is_dir()) for entry in root.iterdir())

    def find(relative: str) -> Path | None:
        return root / relative if os.path.isfile(os.path.join(root, relative)) else None
    return top, find


def locate_images(
    extracted: ExtractedArchive | ArchiveMembers, relative_paths: Sequence[str], row_numbers: Sequence[int] | None = None
) -> list:
    """Map CSV image paths to the archive's files, in order: Paths of an extracted folder, or the Members
    of an archive read in place (each has ``read_bytes()``).

    Each path is tried at the archive root, then inside the archive's single
    top-level folder if it has one (a zip of ``mnist_images/`` with CSV paths
    like ``training/0/1.png``).  ``row_numbers`` label rows in messages; the
    default ``index + 2`` is the line number in a CSV with one header line.
    """
    lines = list(row_numbers) if row_numbers is not None else range(2, len(relative_paths) + 2)
    if isinstance(extracted, ArchiveMembers):
        top, find = extracted.top_level(), extracted.member
    else:
        top, find = _disk_lookup(extracted.root)
    prefixes = [""] + ([top[0][0] + "/"] if len(top) == 1 and top[0][1] else [])
    located: list = []
    missing: list[str] = []
    for raw, line in zip(relative_paths, lines):
        relative = table_path(raw, f"CSV line {line}", "the image archive", "relative to the archive root")
        # NFC/NFD variants only on a miss: macOS zips store decomposed names, CSVs composed ones.
        variants = [relative]
        if not relative.isascii():
            variants += [unicodedata.normalize(form, relative) for form in ("NFC", "NFD")]
        found = next((item for v in variants for prefix in prefixes if (item := find(prefix + v)) is not None), None)
        if found is None:
            missing.append(f"line {line}: {shown(raw)}")
        else:
            located.append(found)
    if missing:
        top_names = sorted(name + ("/" if is_dir else "") for name, is_dir in top)
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
