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

from pathlib import Path, PurePosixPath

import pandas as pd

from ..errors import DataError
from .members import ArchiveMembers

SPLIT_FOLDERS = {"train": 0, "training": 0, "val": 1, "valid": 1, "validation": 1, "test": 2, "testing": 2}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
LABEL_SOURCES = ("folder", "filename")


def _listing(source: Path | ArchiveMembers) -> tuple[list[PurePosixPath], set[PurePosixPath]]:
    """(files, folders) as paths relative to the root, of an extracted folder or an archive read in place."""
    if isinstance(source, ArchiveMembers):
        files = [PurePosixPath(name) for name in source.names()]
        folders = {PurePosixPath(name) for name in source.folders()}
    else:
        entries = list(Path(source).rglob("*"))
        files = [PurePosixPath(p.relative_to(source).as_posix()) for p in entries if p.is_file()]
        folders = {PurePosixPath(p.relative_to(source).as_posix()) for p in entries if p.is_dir()}
    return files, folders | {parent for f in files for parent in f.parents if parent != PurePosixPath(".")}


def _images_under(files: list[PurePosixPath], folder: PurePosixPath) -> list[PurePosixPath]:
    return sorted((p for p in files if p.suffix.lower() in IMAGE_SUFFIXES and (folder in p.parents or
                                                                             folder == PurePosixPath("."))),
                  key=lambda p: p.parts)


def _content_root(files: list[PurePosixPath], folders: set[PurePosixPath]) -> PurePosixPath:
    """The archive root, or its single top-level folder when everything is wrapped in one."""
    entries = {p.parts[0] for p in files} | {p.parts[0] for p in folders}
    entries = sorted(e for e in entries if not e.startswith("."))
    if len(entries) == 1 and PurePosixPath(entries[0]) in folders and entries[0].lower() not in SPLIT_FOLDERS:
        return PurePosixPath(entries[0])
    return PurePosixPath(".")


def _label_of(path: PurePosixPath, split_folder: PurePosixPath | None, content: PurePosixPath, labels_from: str) -> str:
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


def folder_table(root: Path | ArchiveMembers, image_column: str, label_column: str, labels_from: str = "folder",
                 archive_name: str = "archive") -> tuple[pd.DataFrame, bool, list[str]]:
    """(table with image/label[/split] columns, whether splits came from folders, notes); ``root`` is an extracted
    folder or an archive read in place (data/members.py)."""
    files, folders = _listing(root)
    content = _content_root(files, folders)
    split_folders = {entry: SPLIT_FOLDERS[entry.name.lower()] for entry in folders
                     if entry.parent == content and entry.name.lower() in SPLIT_FOLDERS}
    rows = []
    if split_folders:
        for folder, code in sorted(split_folders.items(), key=lambda item: (item[1], item[0].name)):
            for path in _images_under(files, folder):
                rows.append((path.as_posix(), _label_of(path, folder, content, labels_from), code))
    else:
        for path in _images_under(files, content):
            rows.append((path.as_posix(), _label_of(path, None, content, labels_from), None))
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
