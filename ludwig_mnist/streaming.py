"""Streamed images for ``preprocessing.in_memory: false``: decode once into an on-disk cache, read batches back.

    image files ──decode, one bounded chunk at a time──▶ images.npy (N, H, W, C) uint8 in the run's work dir
    images.npy ──os.pread of the rows a batch needs──▶ ImageBatches (a keras PyDataset) ──▶ fit / predict

Memory is bounded by one decode chunk (DECODE_CHUNK_BYTES) and the batches in
flight, not by N.  Rows are read with ``os.pread`` rather than memory-mapped,
so the process's resident set does not grow with the file: the kernel's page
cache may keep the file, and gives it back under memory pressure.  The cache
is a standard ``.npy`` file (``np.load(path, mmap_mode="r")`` opens it).

Keras is imported only when ImageBatches is first used (by train.py), not by the data stage.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import DataError
from .images import DEFAULT_MAX_IMAGE_PIXELS, ImageSpec, decode_images

CACHE_NAME = "images.npy"
# Decoded pixels held in memory at once while the cache is written: 16 MiB is ~21k MNIST
# images or ~110 images of 224x224x3, enough to amortise decode_images' per-call setup.
DECODE_CHUNK_BYTES = 16 * 1024**2

_CONVERTED = re.compile(r"converted (\d+) images? from (.+)")
_RESIZED = re.compile(r"resized (\d+) of \d+ images to (.+)")


class _CacheFile:
    """The open cache file, shared by every DiskImages view of it: data offset and row layout."""

    def __init__(self, path: Path):
        self.path = Path(path)
        with open(self.path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran_order, dtype = read_header(handle)
            self.offset = handle.tell()  # where row 0 starts
        if dtype != np.uint8 or fortran_order or len(shape) != 4:
            raise DataError(f"{self.path.name}: not an image cache (expected a C-order (N, H, W, C) uint8 array, "
                            f"found {dtype} {shape})")
        self.rows, self.row_shape = shape[0], tuple(shape[1:])
        self.row_bytes = math.prod(self.row_shape)
        self.fd = os.open(self.path, os.O_RDONLY)  # pread needs no seek, so views and threads can share it

    def __del__(self):
        if getattr(self, "fd", None) is not None:
            os.close(self.fd)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """rows: (k,) absolute row numbers → (k, H, W, C) uint8, one pread per run of consecutive rows."""
        out = np.empty((len(rows), *self.row_shape), np.uint8)
        flat = out.reshape(len(rows), self.row_bytes)
        starts = np.flatnonzero(np.diff(rows, prepend=-2) != 1)  # a sequential batch is a single read
        for first, stop in zip(starts, [*starts[1:], len(rows)]):
            data = os.pread(self.fd, int(stop - first) * self.row_bytes,
                            self.offset + int(rows[first]) * self.row_bytes)
            if len(data) != (stop - first) * self.row_bytes:
                raise DataError(f"{self.path}: image cache is truncated (row {int(rows[first])})")
            flat[first:stop] = np.frombuffer(data, np.uint8).reshape(-1, self.row_bytes)
        return out


class DiskImages:
    """Rows [start, stop) of an image cache; stands in for the (N, H, W, C) uint8 array of the in-memory path.

    ``x[i]`` → (H, W, C) array, ``x[a:b]`` → a DiskImages view (nothing read), ``x[rows]`` (ints, a boolean
    mask or a stepped slice) → (k, H, W, C) array.  ``np.asarray(x)`` reads every row, for code that needs
    a real array (k-fold pooling, for one).
    """

    def __init__(self, path: Path | str, start: int = 0, stop: int | None = None, *, _cache: _CacheFile | None = None):
        self._cache = _cache or _CacheFile(Path(path))
        self.start = start
        self.stop = self._cache.rows if stop is None else stop

    @property
    def path(self) -> Path:
        return self._cache.path

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self._cache.row_shape)

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, key):
        n = len(self)
        if isinstance(key, (int, np.integer)):
            index = int(key) + n if key < 0 else int(key)
            if not 0 <= index < n:
                raise IndexError(f"row {key} is out of range for {n} images")
            return self._cache.read(np.array([self.start + index]))[0]
        if isinstance(key, slice):
            first, stop, step = key.indices(n)
            if step != 1:  # rows spread out: read them now
                return self._cache.read(self.start + np.arange(first, stop, step))
            return DiskImages(self.path, self.start + first, self.start + max(first, stop), _cache=self._cache)
        rows = np.asarray(key)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise IndexError(f"boolean mask of shape {rows.shape} for {n} images")
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64).reshape(-1)
        if len(rows) and (rows.min() < -n or rows.max() >= n):
            raise IndexError(f"rows out of range for {n} images")
        return self._cache.read(self.start + np.where(rows < 0, rows + n, rows))

    def __array__(self, dtype=None, copy=None):
        array = self._cache.read(np.arange(self.start, self.stop))
        return array if dtype is None else array.astype(dtype)

    def __repr__(self) -> str:
        return f"DiskImages({self.path.name}, rows {self.start}:{self.stop}, shape {self.shape})"


def _merge_notes(notes: Counter, resized: Counter, other: dict, chunk_notes: Sequence[str]) -> None:
    """Add one chunk's decode notes ("converted 3 images from P", "resized 2 of 900 images to ...") to the totals."""
    for note in chunk_notes:
        if found := _CONVERTED.fullmatch(note):
            notes[found.group(2)] += int(found.group(1))
        elif found := _RESIZED.fullmatch(note):
            resized[found.group(2)] += int(found.group(1))
        else:
            other.setdefault(note)


def decode_to_cache(paths: Sequence[Path], spec: ImageSpec, cache_path: Path, *, resize_method: str = "interpolate",
                    num_workers: int = 1, sources: Sequence[str] | None = None,
                    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
                    chunk_bytes: int = DECODE_CHUNK_BYTES) -> tuple[DiskImages, tuple[str, ...]]:
    """Decode ``paths`` into ``cache_path`` (an (N, H, W, C) uint8 .npy) chunk by chunk; same pixels and notes as
    ``decode_images``, without ever holding more than ``chunk_bytes`` of them."""
    cache_path = Path(cache_path)
    shape = (len(paths), spec.height, spec.width, spec.num_channels)
    # open_memmap writes the .npy header and sizes the file; rows then go in with plain writes (no mapping,
    # so written pages count against the page cache, not this process).
    header = np.lib.format.open_memmap(cache_path, mode="w+", dtype=np.uint8, shape=shape)
    offset = header.offset
    del header
    row_bytes = math.prod(shape[1:])
    chunk_rows = max(1, chunk_bytes // row_bytes)
    conversions, resized, other = Counter(), Counter(), {}
    with open(cache_path, "r+b") as handle:
        for start in range(0, len(paths), chunk_rows):
            stop = min(start + chunk_rows, len(paths))
            pixels, chunk_notes = decode_images(paths[start:stop], spec, resize_method=resize_method,
                                                num_workers=num_workers,
                                                sources=sources[start:stop] if sources is not None else None,
                                                max_image_pixels=max_image_pixels)  # (stop - start, H, W, C)
            handle.seek(offset + start * row_bytes)
            handle.write(np.ascontiguousarray(pixels).data)
            _merge_notes(conversions, resized, other, chunk_notes)
    # The same sentences, in the same order, as one decode_images call over all paths would give.
    notes = [f"converted {count} image{'s' if count != 1 else ''} from {change}"
             for change, count in sorted(conversions.items())]
    notes += [f"resized {count} of {len(paths)} images to {target}" for target, count in resized.items()]
    return DiskImages(cache_path), tuple(notes + list(other))


def is_streamed(images) -> bool:
    return isinstance(images, DiskImages)


def __getattr__(name: str):
    """``ImageBatches`` is defined on first use: it subclasses keras.utils.PyDataset, and the data stage, which
    writes the cache, runs before TensorFlow is imported (bad input fails fast) and must not import Keras."""
    if name == "ImageBatches":
        globals()[name] = _define_image_batches()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _define_image_batches() -> type:
    import keras

    class ImageBatches(keras.utils.PyDataset):
        """Batches of (x (B, H, W, C) uint8, y (B,)) from DiskImages or an array, for ``fit``; only x when labels
        is None (``predict``).

        With shuffle, each epoch has its own permutation drawn from (seed, epoch): every row is seen once per
        epoch and a run is reproducible.  Pass ``shuffle=False`` to ``fit``: the order is decided here.
        """

        def __init__(self, images, labels: np.ndarray | None, batch_size: int, *, shuffle: bool = False,
                     seed: int = 0):
            super().__init__()  # one worker: a batch is ~100 preads, far cheaper than a training step
            self.images, self.labels, self.batch_size = images, labels, int(batch_size)
            self.shuffle, self.seed, self.epoch = shuffle, seed, 0
            self.order = self._permutation()

        def _permutation(self) -> np.ndarray:
            if not self.shuffle:
                return np.arange(len(self.images))
            return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.images))

        def __len__(self) -> int:
            return math.ceil(len(self.images) / self.batch_size)

        def __getitem__(self, index: int):
            rows = self.order[index * self.batch_size: (index + 1) * self.batch_size]
            if not self.shuffle:  # a contiguous slice: one read
                x = np.asarray(self.images[int(rows[0]): int(rows[-1]) + 1])
            else:
                x = self.images[rows]
            return x if self.labels is None else (x, self.labels[rows])

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self.order = self._permutation()

    return ImageBatches
