"""Folder-format archives (no CSV): splits and labels from folders or from file names, zip or tar.gz."""

import io
import json
import tarfile
import zipfile

import numpy as np
import pytest
from synthetic import class_image, png_bytes, write_config

from ludwig_mnist.cli import main
from ludwig_mnist.data.folders import folder_table
from ludwig_mnist.errors import DataError

CLASSES = ("0", "1", "2")


def members(layout: str, per_class=(10, 3)):
    """{archive path: png bytes} in the MLSteam (folder) or deeplay (file name) layout."""
    rng = np.random.default_rng(0)
    out = {}
    for split, count in zip(("train", "test"), per_class):
        for index, label in enumerate(CLASSES):
            for n in range(count):
                name = f"{split}/{label}/{n}.png" if layout == "folder" else f"{split}/{label}_{split}{n:06d}.png"
                out[name] = png_bytes(class_image(index, len(CLASSES), 12, rng))
    return out


def write_zip(path, files, prefix=""):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(prefix + name, data)
    return path


def write_tgz(path, files):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_folder_table_reads_splits_and_classes(tmp_path):
    root = tmp_path / "root"
    for name, data in members("folder").items():
        (root / "wrapped" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "wrapped" / name).write_bytes(data)
    table, from_folders, notes = folder_table(root, "image_path", "label")
    assert from_folders and len(table) == 39
    assert sorted(table["split"].unique()) == [0, 2]
    assert table.iloc[0]["image_path"] == "wrapped/train/0/0.png" and table.iloc[0]["label"] == "0"
    assert "no CSV given" in notes[0]


def test_labels_from_file_names_need_an_underscore(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "nounderscore.png").write_bytes(png_bytes(np.zeros((4, 4), np.uint8)))
    with pytest.raises(DataError, match="must start with its label and an underscore"):
        folder_table(tmp_path, "image_path", "label", labels_from="filename")


@pytest.mark.parametrize("layout, kind", [("folder", "zip"), ("filename", "tgz")])
def test_experiment_without_csv(tmp_path, layout, kind):
    files = members(layout)
    archive = write_zip(tmp_path / "images.zip", files) if kind == "zip" else write_tgz(tmp_path / "images.tgz", files)
    config = write_config(tmp_path)
    out = tmp_path / "out"
    args = ["experiment", "--config", str(config), "--raw_data", str(archive), "--output_directory", str(out)]
    if layout == "filename":
        args += ["--labels_from", "filename"]
    assert main(args) == 0
    metadata = json.loads((out / "experiment_run/model/training_set_metadata.json").read_text())
    assert metadata["label"]["idx2str"] == list(CLASSES)
    stats = json.loads((out / "experiment_run/test_statistics.json").read_text())
    assert sum(map(sum, stats["label"]["confusion_matrix"])) == 9  # the 9 test/ images
