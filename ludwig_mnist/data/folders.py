"""Folder-format archives (the MLSteam layout): the dataset table read from the archive's folders.

    train/<class>/<file>   → split 0      (also training/)
    val/<class>/<file>     → split 1      (also valid/, validation/)
    test/<class>/<file>    → split 2      (also testing/)

With labels_from="filename" (deeplay's layout, ``train/0_000000.png``) files sit
directly in the split folders and the label is the part of the file name before
the first underscore.  An archive of bare ``<class>/<file>`` folders has no split
folders; then the config's split (random by default) applies.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataError

SPLIT_FOLDERS = {"train": 0, "training": 0, "val": 1, "valid": 1, "validation": 1, "test": 2, "testing": 2}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
LABEL_SOURCES = ("folder", "filename")


def _images_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _content_root(root: Path) -> Path:
    """The archive root, or its single top-level folder when everything is wrapped in one."""
    entries = [e for e in root.iterdir() if not e.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and entries[0].name.lower() not in SPLIT_FOLDERS:
        return entries[0]
    return root


def _label_of(path: Path, split_folder: Path | None, content: Path, labels_from: str) -> str:
    if labels_from == "filename":
        stem = path.stem
        if "_" not in stem:
            raise DataError(f"image {path.relative_to(content).as_posix()}: with labels from file names, a name must "
                            "start with its label and an underscore (e.g. 7_000123.png)")
        return stem.split("_", 1)[0]
    relative = path.relative_to(split_folder or content)
    if len(relative.parts) < 2:
        raise DataError(f"image {path.relative_to(content).as_posix()} is not inside a class folder; expected "
                        f"{(split_folder.name + '/') if split_folder else ''}<class>/<file> "
                        "(or use labels from file names)")
    return relative.parts[0]


def folder_table(root: Path, image_column: str, label_column: str, labels_from: str = "folder",
                 archive_name: str = "archive") -> tuple[pd.DataFrame, bool, list[str]]:
    """(table with image/label[/split] columns, whether splits came from folders, notes)."""
    content = _content_root(root)
    split_folders = {entry: SPLIT_FOLDERS[entry.name.lower()] for entry in content.iterdir()
                     if entry.is_dir() and entry.name.lower() in SPLIT_FOLDERS}
    rows = []
    if split_folders:
        for folder, code in sorted(split_folders.items(), key=lambda item: (item[1], item[0].name)):
            for path in _images_under(folder):
                rows.append((path.relative_to(root).as_posix(), _label_of(path, folder, content, labels_from), code))
    else:
        for path in _images_under(content):
            rows.append((path.relative_to(root).as_posix(), _label_of(path, None, content, labels_from), None))
    if not rows:
        raise DataError(f"{archive_name} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in the folder layout "
                        "train/<class>/…, test/<class>/… (optionally val/<class>/…); give a CSV with --dataset instead")
    table = pd.DataFrame(rows, columns=[image_column, label_column, "split"])
    notes = [f"no CSV given: read {len(table)} images from the archive's folders "
             f"({', '.join(sorted({f.name + '/' for f in split_folders}) or ['class folders'])}), "
             f"labels from {'file names' if labels_from == 'filename' else 'folder names'}"]
    if not split_folders:
        table = table.drop(columns="split")
        notes.append("the archive has no train/val/test folders: the config's split applies")
    return table, bool(split_folders), notes
