"""Build the Galaxy tutorial's MNIST dataset: ``mnist_images.zip`` + ``mnist_dataset.csv``.

Layout (as in the Galaxy Ludwig tutorial)::

    mnist_images.zip   training/<label>/<index>.png   (split 0)
                       test/<label>/<index>.png       (split 2)
    mnist_dataset.csv  image_path,label,split

``<index>`` is the image's index in the original IDX array, so every PNG can be
traced back to MNIST.  The zip is byte-reproducible: fixed timestamps and
permissions, entries in CSV order, PNGs stored (they are already deflated;
deflating them again made the zip larger).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import DataError, OutputError, one_line

ZIP_NAME = "mnist_images.zip"
CSV_NAME = "mnist_dataset.csv"
CSV_HEADER = ("image_path", "label", "split")
TRAIN_SPLIT, TEST_SPLIT = 0, 2  # Ludwig's fixed split codes: 0 train, 1 validation, 2 test

# The four canonical file names; the ".gz" form is tried first.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

# IDX type byte -> big-endian numpy dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date zip can store: no build time leaks in
_PNG_COMPRESS_LEVEL = 6  # fixed so the bytes do not depend on Pillow's default
_ENCODE_CHUNK = 2048


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw, told apart by magic bytes).

    Header: two zero bytes, a type byte (0x08 = uint8, ...), the number of
    dimensions n, then n big-endian uint32 sizes, then the data.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise DataError(f"{path}: IDX file not found") from None
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: is not a readable gzip-compressed IDX file ({one_line(error)})") from None
    if len(raw) < 4 or raw[0:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES or not 1 <= raw[3] <= 8:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'none'})")
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path}: IDX header is truncated")
    shape = tuple(int(size) for size in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_size != expected:
        raise DataError(
            f"{path}: IDX header declares shape {shape} ({expected:,} bytes of data) "
            f"but the file holds {len(raw) - header_size:,}; the file is truncated or corrupt"
        )
    # Native byte order so downstream code never sees a big-endian array.
    return np.frombuffer(raw, dtype, offset=header_size).reshape(shape).astype(dtype.newbyteorder("="))


def _find_idx(idx_dir: Path, stem: str) -> Path:
    for candidate in (idx_dir / f"{stem}.gz", idx_dir / stem):
        if candidate.is_file():
            return candidate
    raise DataError(f"{idx_dir / (stem + '.gz')}: IDX file not found (nor the uncompressed {stem})")


def load_mnist(idx_dir: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``x_train (60000, 28, 28) uint8, y_train (60000,), x_test (10000, 28, 28), y_test (10000,)``.

    ``idx_dir`` None downloads through ``keras.datasets.mnist`` (online users
    only; Galaxy jobs and tests pass the directory of the four IDX files).
    """
    if idx_dir is None:
        import keras  # heavy import, and only this path needs it

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        return x_train, y_train, x_test, y_test
    idx_dir = Path(idx_dir)
    if not idx_dir.is_dir():
        raise DataError(f"{idx_dir}: IDX directory not found")
    arrays = {key: read_idx(_find_idx(idx_dir, stem)) for key, stem in IDX_FILES.items()}
    for images, labels in (("x_train", "y_train"), ("x_test", "y_test")):
        image_array, label_array = arrays[images], arrays[labels]
        if image_array.ndim != 3 or label_array.ndim != 1 or len(image_array) != len(label_array):
            raise DataError(
                f"{idx_dir}: {IDX_FILES[images]} has shape {image_array.shape} and {IDX_FILES[labels]} "
                f"has shape {label_array.shape}; expected (N, H, W) images and N labels"
            )
    return (
        arrays["x_train"].astype(np.uint8),
        arrays["y_train"].astype(np.int64),
        arrays["x_test"].astype(np.uint8),
        arrays["y_test"].astype(np.int64),
    )


def balanced_subset(labels: np.ndarray, count: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``count`` rows with class counts as equal as possible.

    Quotas are filled like water: every class gets an equal share, a class that
    runs out passes its remainder to the others, and leftover single rows go to
    the smallest labels.  ``count`` None means all rows.
    """
    if count is None or count == len(labels):
        return np.arange(len(labels))
    classes, available = np.unique(labels, return_counts=True)
    quota = np.zeros(len(classes), np.int64)
    remaining = count
    while remaining > 0:
        open_classes = np.flatnonzero(quota < available)
        share = remaining // len(open_classes)
        if share == 0:
            quota[open_classes[:remaining]] += 1
            break
        grant = np.minimum(share, available[open_classes] - quota[open_classes])
        quota[open_classes] += grant
        remaining -= int(grant.sum())
    chosen = [
        rng.choice(np.flatnonzero(labels == label), size=int(take), replace=False)
        for label, take in zip(classes, quota)
        if take
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], np.int64)


def mnist_subset_arrays(idx_dir, train: int | None, test: int | None, seed: int):
    """(x_train, y_train, x_test, y_test) of class-balanced subsets of the IDX files in ``idx_dir``; images
    (N, 28, 28, 1) uint8, labels (N,).  The benchmarks' common start."""
    x_train, y_train, x_test, y_test = load_mnist(idx_dir)
    rng = np.random.default_rng(seed)
    train_rows, test_rows = balanced_subset(y_train, train, rng), balanced_subset(y_test, test, rng)
    return x_train[train_rows][..., None], y_train[train_rows], x_test[test_rows][..., None], y_test[test_rows]


def _encode_png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image, "L").save(buffer, "PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def _encode_all(images: np.ndarray, num_workers: int) -> list[bytes]:
    """PNG-encode (N, 28, 28) uint8 images, in order; zlib releases the GIL so threads help a little."""
    chunks = [images[start : start + _ENCODE_CHUNK] for start in range(0, len(images), _ENCODE_CHUNK)]

    def encode_chunk(chunk: np.ndarray) -> list[bytes]:
        return [_encode_png(image) for image in chunk]

    if num_workers <= 1:
        encoded = map(encode_chunk, chunks)
    else:
        with ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="png") as pool:
            encoded = list(pool.map(encode_chunk, chunks))
    return [png for chunk in encoded for png in chunk]


def _zip_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.create_system = 3  # unix, whatever the building platform: fixes the external_attr meaning
    info.external_attr = 0o100644 << 16  # regular file, rw-r--r--
    info.compress_type = zipfile.ZIP_STORED
    return info


def _check_count(option: str, requested: int | None, available: int) -> None:
    if requested is not None and not 0 <= requested <= available:
        raise DataError(f"{option} {requested}: must be between 0 and the {available:,} images available")


def build_mnist_dataset(
    output_dir: Path,
    idx_dir: Path | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    num_workers: int = 1,
) -> tuple[Path, Path]:
    """Write ``output_dir/mnist_images.zip`` and ``output_dir/mnist_dataset.csv``; return their paths.

    ``n_train``/``n_test`` pick class-balanced subsets deterministically from
    ``seed`` (None = all).  Both files are written under temporary names and
    renamed at the end, so a failure leaves no half-written output.
    """
    x_train, y_train, x_test, y_test = load_mnist(idx_dir)
    _check_count("--train", n_train, len(y_train))
    _check_count("--test", n_test, len(y_test))
    # One independent stream per split: the test subset does not change with --train.
    train_rows = balanced_subset(y_train, n_train, np.random.default_rng([seed, TRAIN_SPLIT]))
    test_rows = balanced_subset(y_test, n_test, np.random.default_rng([seed, TEST_SPLIT]))

    entries: list[tuple[str, int, int]] = []  # (image_path, label, split) in CSV order
    splits = (("training", TRAIN_SPLIT, y_train, train_rows), ("test", TEST_SPLIT, y_test, test_rows))
    for folder, split, labels, rows in splits:
        entries.extend((f"{folder}/{int(labels[i])}/{int(i)}.png", int(labels[i]), split) for i in rows)
    images = np.concatenate([x_train[train_rows], x_test[test_rows]])  # (N, 28, 28) in CSV order
    pngs = _encode_all(images, num_workers)

    output_dir = Path(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{output_dir}: cannot create the output directory ({error.strerror})") from None
    zip_path, csv_path = output_dir / ZIP_NAME, output_dir / CSV_NAME
    temporaries: list[Path] = []
    try:
        zip_tmp = _temporary(output_dir, ZIP_NAME, temporaries)
        with zipfile.ZipFile(zip_tmp, "w") as bundle:
            for (image_path, _, _), png in zip(entries, pngs):
                bundle.writestr(_zip_entry(image_path), png)
        csv_tmp = _temporary(output_dir, CSV_NAME, temporaries)
        with open(csv_tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(CSV_HEADER)
            writer.writerows(entries)
        os.replace(zip_tmp, zip_path)
        os.replace(csv_tmp, csv_path)
    except OSError as error:
        raise OutputError(f"{output_dir}: cannot write the dataset ({error.strerror or error})") from None
    finally:
        for leftover in temporaries:
            leftover.unlink(missing_ok=True)
    return zip_path, csv_path


def _temporary(directory: Path, final_name: str, registry: list[Path]) -> Path:
    """A fresh hidden file next to the final one (same filesystem, so the rename is atomic)."""
    handle, name = tempfile.mkstemp(prefix=f".{final_name}.", suffix=".tmp", dir=directory)
    os.close(handle)
    os.chmod(name, 0o644)  # mkstemp creates 0600; the published files are ordinary data
    registry.append(Path(name))
    return Path(name)
