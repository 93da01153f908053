"""Tiny generated image datasets for the pipeline tests (no MNIST, no downloads).

Each class has its own bright stripe position, so a small CNN learns it in a
couple of epochs: (size, size) grayscale PNGs, class k bright in row band k.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

TINY_CONFIG = """
input_features:
  - name: image_path
    type: image
    encoder:
      type: stacked_cnn
      conv_layers:
        - num_filters: 4
          filter_size: 3
          pool_size: 2
      fc_layers:
        - output_size: 8
preprocessing:
  split:
    type: fixed
    column: split
output_features:
  - name: label
    type: category
trainer:
  epochs: 2
  batch_size: 16
  # with a handful of validation rows, accuracy ties across epochs and a tie keeps the earlier epoch
  validation_metric: loss
"""


def class_image(index: int, n_classes: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size) uint8: noise plus a bright horizontal band whose position encodes the class."""
    pixels = rng.integers(0, 60, size=(size, size), dtype=np.uint8)
    band = size // n_classes
    pixels[index * band:(index + 1) * band, :] = 230
    return pixels


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def make_dataset(directory: Path, classes=("cat", "dog", "T-shirt/top"), train_per_class=12, test_per_class=4,
                 validation_per_class=0, size=12, seed=0) -> tuple[Path, Path]:
    """Write directory/images.zip and directory/dataset.csv (image_path,label,split); returns (csv, zip)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    zip_path, csv_path = directory / "images.zip", directory / "dataset.csv"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for split_code, split_dir, count in ((0, "training", train_per_class), (1, "validation", validation_per_class),
                                             (2, "test", test_per_class)):
            for index, name in enumerate(classes):
                safe = name.replace("/", "_")
                for n in range(count):
                    member = f"{split_dir}/{safe}/{n}.png"
                    archive.writestr(member, png_bytes(class_image(index, len(classes), size, rng)))
                    rows.append((member, name, split_code))
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_path", "label", "split"])
        writer.writerows(rows)
    return csv_path, zip_path


def write_config(directory: Path, text: str = TINY_CONFIG) -> Path:
    path = directory / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run_experiment_with(directory: Path, data, edit, *flags) -> tuple[int, Path]:
    """`ludwig-mnist experiment` on ``data`` (table, archive) with TINY_CONFIG changed in place by ``edit(raw)``;
    (exit code, output directory).  The caller's config goes to ``directory``."""
    import yaml

    from ludwig_mnist.cli import main

    raw = yaml.safe_load(TINY_CONFIG)
    edit(raw)
    directory.mkdir(parents=True, exist_ok=True)
    config = write_config(directory, yaml.safe_dump(raw))
    out = directory / "out"
    code = main(["experiment", "--config", str(config), "--dataset", str(data[0]), "--raw_data", str(data[1]),
                 "--output_directory", str(out), *flags])
    return code, out
