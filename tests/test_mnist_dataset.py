"""IDX reading and the tutorial-layout dataset builder, on tiny fake IDX files."""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import idx_bytes
from PIL import Image

from ludwig_mnist.data.mnist import (
    balanced_subset,
    build_mnist_dataset,
    load_mnist,
    read_idx,
)
from ludwig_mnist.errors import DataError, OutputError


def _real_mnist_dir() -> Path:
    configured = os.environ.get("MNIST_IDX_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared/data/mnist"


def _rows(csv_path: Path) -> list[dict[str, str]]:
    with open(csv_path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------------------
# read_idx


def test_read_idx_raw_and_gzip(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "raw").write_bytes(idx_bytes(array))
    (tmp_path / "packed.gz").write_bytes(gzip.compress(idx_bytes(array)))
    for name in ("raw", "packed.gz"):
        loaded = read_idx(tmp_path / name)
        assert loaded.dtype == np.uint8 and np.array_equal(loaded, array)


def test_read_idx_wide_types_are_native_order(tmp_path):
    values = np.array([1, -2, 70000], ">i4")
    (tmp_path / "ints").write_bytes(bytes([0, 0, 0x0C, 1]) + (3).to_bytes(4, "big") + values.tobytes())
    loaded = read_idx(tmp_path / "ints")
    assert loaded.tolist() == [1, -2, 70000] and loaded.dtype.isnative


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x02abc", "declares shape (2, 2)"),
        (b"PK\x03\x04....", "not an IDX file"),
        (b"\x00\x00\x08\x03\x00\x00", "header is truncated"),
        (b"\x1f\x8b\x08\x00garbage", "not a readable gzip"),
    ],
)
def test_read_idx_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"bad-idx: .*{re.escape(message)}"):
        read_idx(path)


def test_missing_idx_file_named(tmp_path, fake_mnist_idx):
    (fake_mnist_idx / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: IDX file not found"):
        load_mnist(fake_mnist_idx)
    with pytest.raises(DataError, match="IDX directory not found"):
        build_mnist_dataset(tmp_path / "out", tmp_path / "nowhere")


# ---------------------------------------------------------------------------
# Subsets


def test_balanced_subset_equalises_and_water_fills():
    labels = np.array([0] * 50 + [1] * 50 + [2] * 3)
    chosen = balanced_subset(labels, 31, np.random.default_rng(0))
    counts = Counter(labels[chosen].tolist())
    assert counts == {0: 14, 1: 14, 2: 3}  # class 2 runs out; 0 and 1 share the rest
    assert list(chosen) == sorted(chosen) and len(set(chosen)) == 31
    assert Counter(labels[balanced_subset(labels, 7, np.random.default_rng(0))].tolist()) == {0: 3, 1: 2, 2: 2}


# ---------------------------------------------------------------------------
# The builder


def test_build_writes_tutorial_layout(tmp_path, fake_mnist_idx):
    zip_path, csv_path = build_mnist_dataset(tmp_path / "out", fake_mnist_idx, n_train=20, n_test=10, seed=3)
    assert (zip_path.name, csv_path.name) == ("mnist_images.zip", "mnist_dataset.csv")
    assert csv_path.read_text().splitlines()[0] == "image_path,label,split"
    rows = _rows(csv_path)
    train = [row for row in rows if row["split"] == "0"]
    test = [row for row in rows if row["split"] == "2"]
    assert len(train) == 20 and len(test) == 10 and len(rows) == 30
    assert Counter(row["label"] for row in train) == {str(label): 2 for label in range(10)}
    assert Counter(row["label"] for row in test) == {str(label): 1 for label in range(10)}
    for row in rows:
        folder = "training" if row["split"] == "0" else "test"
        assert row["image_path"].startswith(f"{folder}/{row['label']}/")
    train_indices = [int(Path(row["image_path"]).stem) for row in train]
    assert train_indices == sorted(train_indices)

    x_train, y_train, x_test, _ = load_mnist(fake_mnist_idx)
    with zipfile.ZipFile(zip_path) as bundle:
        assert bundle.namelist() == [row["image_path"] for row in rows]
        for row in rows:
            index = int(Path(row["image_path"]).stem)
            source = x_train if row["split"] == "0" else x_test
            pixels = np.asarray(Image.open(io.BytesIO(bundle.read(row["image_path"]))))
            assert pixels.shape == (28, 28) and np.array_equal(pixels, source[index])  # lossless round-trip
            if row["split"] == "0":
                assert int(row["label"]) == y_train[index]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["mnist_dataset.csv", "mnist_images.zip"]


def test_build_is_byte_reproducible_and_seed_dependent(tmp_path, fake_mnist_idx):
    first = build_mnist_dataset(tmp_path / "a", fake_mnist_idx, n_train=20, n_test=10, seed=0, num_workers=1)
    second = build_mnist_dataset(tmp_path / "b", fake_mnist_idx, n_train=20, n_test=10, seed=0, num_workers=2)
    other = build_mnist_dataset(tmp_path / "c", fake_mnist_idx, n_train=20, n_test=10, seed=1)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert first[1].read_bytes() != other[1].read_bytes()
    with zipfile.ZipFile(first[0]) as bundle:  # no build time or umask leaks into the bytes
        assert {(info.date_time, info.external_attr >> 16) for info in bundle.infolist()} == {
            ((1980, 1, 1, 0, 0, 0), 0o100644)
        }


def test_build_all_and_counts_checked(tmp_path, fake_mnist_idx):
    _, csv_path = build_mnist_dataset(tmp_path / "all", fake_mnist_idx)
    assert len(_rows(csv_path)) == 70
    with pytest.raises(DataError, match="--train 51: must be between 0 and the 50 images available"):
        build_mnist_dataset(tmp_path / "over", fake_mnist_idx, n_train=51)
    assert not (tmp_path / "over" / "mnist_images.zip").exists()


class _DiskFullWriter:
    """Stands in for csv.writer: the header goes through, the rows hit a full disk."""

    def writerow(self, row):
        pass

    def writerows(self, rows):
        raise OSError(28, "No space left on device")


def test_failed_write_leaves_no_partial_files(tmp_path, fake_mnist_idx, monkeypatch):
    monkeypatch.setattr("ludwig_mnist.data.mnist.csv.writer", lambda *args, **kwargs: _DiskFullWriter())
    with pytest.raises(OutputError, match="cannot write the dataset .*No space left on device"):
        build_mnist_dataset(tmp_path / "out", fake_mnist_idx, n_train=10, n_test=10)
    assert list((tmp_path / "out").iterdir()) == []  # no zip, no csv, no temporaries


# ---------------------------------------------------------------------------
# The real MNIST files (skipped when absent)


def test_real_mnist_headers():
    directory = _real_mnist_dir()
    if not (directory / "train-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"real MNIST IDX files not found in {directory} (set MNIST_IDX_DIR)")
    train_labels = read_idx(directory / "train-labels-idx1-ubyte.gz")
    test_labels = read_idx(directory / "t10k-labels-idx1-ubyte.gz")
    assert train_labels.shape == (60000,) and test_labels.shape == (10000,)
    assert train_labels[0] == 5 and test_labels[0] == 7
    assert np.bincount(train_labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert read_idx(directory / "t10k-images-idx3-ubyte.gz").shape == (10000, 28, 28)
