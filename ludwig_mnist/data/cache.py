"""Streamed images for ``preprocessing.in_memory: false``: decode once into an on-disk cache, read batches back.

    image files ──decode, one bounded chunk at a time──▶ images.npy (N, H, W, C) uint8 in the run's work dir
    images.npy ──os.pread of the rows a batch needs──▶ training.batches.ImageBatches ──▶ fit / predict

Memory is bounded by one decode chunk (DECODE_CHUNK_BYTES) and the batches in
flight, not by N.  Rows are read with ``os.pread`` rather than memory-mapped,
so the process's resident set does not grow with the file: the kernel's page
cache may keep the file, and gives it back under memory pressure.  The cache
is a standard ``.npy`` file (``np.load(path, mmap_mode="r")`` opens it).

ImageBatches (training/batches.py) feeds these views to Keras; nothing here imports it.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DataError, OutputError, disk_full, write_failed
from .images import DEFAULT_MAX_IMAGE_PIXELS, DecodeCounts, ImageSpec, decode_images

CACHE_NAME = "images.npy"
# Decoded pixels held in memory at once while the cache is written: 16 MiB is ~21k MNIST
# images or ~110 images of 224x224x3, enough to amortise decode_images' per-call setup.
DECODE_CHUNK_BYTES = 16 * 1024**2


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
    """Some rows of an image cache, in a given order; stands in for the (N, H, W, C) uint8 array in memory.

    ``x[i]`` → (H, W, C) array, ``x[a:b]`` → a DiskImages view (nothing read), ``x[rows]`` (ints, a boolean
    mask or a stepped slice) → (k, H, W, C) array, ``x.take(rows)`` → a view of those rows (nothing read;
    k-fold's folds).  ``np.asarray(x)`` reads every row, for code that needs a real array.
    """

    def __init__(self, path: Path | str, rows: np.ndarray | None = None, *, _cache: _CacheFile | None = None):
        self._cache = _cache or _CacheFile(Path(path))
        # (n,) absolute row numbers in the cache file; consecutive runs are read with a single pread
        self.rows = np.arange(self._cache.rows, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)

    @property
    def path(self) -> Path:
        return self._cache.path

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self._cache.row_shape)

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __len__(self) -> int:
        return len(self.rows)

    def _view(self, rows: np.ndarray) -> "DiskImages":
        return DiskImages(self.path, rows, _cache=self._cache)

    def take(self, positions) -> "DiskImages":
        """A view of the rows at these positions (ints or a boolean mask), read only when used."""
        return self._view(self.rows[self._positions(positions)])

    def _positions(self, key) -> np.ndarray:
        n = len(self)
        positions = np.asarray(key)
        if positions.dtype == bool:
            if positions.shape != (n,):
                raise IndexError(f"boolean mask of shape {positions.shape} for {n} images")
            return np.flatnonzero(positions)
        positions = positions.astype(np.int64).reshape(-1)
        if len(positions) and (positions.min() < -n or positions.max() >= n):
            raise IndexError(f"rows out of range for {n} images")
        return np.where(positions < 0, positions + n, positions)

    def __getitem__(self, key):
        n = len(self)
        if isinstance(key, (int, np.integer)):
            index = int(key) + n if key < 0 else int(key)
            if not 0 <= index < n:
                raise IndexError(f"row {key} is out of range for {n} images")
            return self._cache.read(self.rows[index: index + 1])[0]
        if isinstance(key, slice):
            if key.indices(n)[2] != 1:  # rows spread out: read them now
                return self._cache.read(self.rows[key])
            return self._view(self.rows[key])
        return self._cache.read(self.rows[self._positions(key)])

    def __array__(self, dtype=None, copy=None):
        array = self._cache.read(self.rows)
        return array if dtype is None else array.astype(dtype)

    def __repr__(self) -> str:
        return f"DiskImages({self.path.name}, {len(self)} rows, shape {self.shape})"


def take_rows(images, positions):
    """Rows of an image array (a copy) or of DiskImages (a view, nothing read); positions: ints or a mask."""
    return images.take(positions) if isinstance(images, DiskImages) else images[positions]


def decode_to_cache(paths: Sequence[Path], spec: ImageSpec, cache_path: Path, *, resize_method: str = "interpolate",
                    num_workers: int = 1, sources: Sequence[str] | None = None,
                    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
                    chunk_bytes: int = DECODE_CHUNK_BYTES) -> tuple[DiskImages, DecodeCounts]:
    """Decode ``paths`` into ``cache_path`` (an (N, H, W, C) uint8 .npy) chunk by chunk; same pixels and counts as
    ``decode_images``, without ever holding more than ``chunk_bytes`` of them."""
    cache_path = Path(cache_path)
    shape = (len(paths), spec.height, spec.width, spec.num_channels)
    row_bytes = math.prod(shape[1:])
    needed = len(paths) * row_bytes
    free = shutil.disk_usage(cache_path.parent).free
    if needed > free:  # the file is sparse until written: without this check the disk fills half-way through
        raise OutputError(f"no space left for the image cache {cache_path}: {len(paths):,} images of "
                          f"{spec.height}x{spec.width}x{spec.num_channels} need {needed:,} bytes, {free:,} bytes are "
                          "free; free some space, give the job a larger working directory, or set in_memory: true "
                          "if the decoded images fit in memory")
    try:
        return _write_cache(paths, spec, cache_path, shape, resize_method, num_workers, sources, max_image_pixels,
                            chunk_bytes)
    except OSError as error:
        if not disk_full(error):
            raise
        raise write_failed(cache_path, error, needed, "the image cache") from None


def _write_cache(paths, spec, cache_path, shape, resize_method, num_workers, sources, max_image_pixels,
                 chunk_bytes) -> tuple[DiskImages, DecodeCounts]:
    # open_memmap writes the .npy header and sizes the file; rows then go in with plain writes (no mapping,
    # so written pages count against the page cache, not this process).
    header = np.lib.format.open_memmap(cache_path, mode="w+", dtype=np.uint8, shape=shape)
    offset = header.offset
    del header
    row_bytes = math.prod(shape[1:])
    chunk_rows = max(1, chunk_bytes // row_bytes)
    counts = DecodeCounts(0, {}, 0, f"{spec.height}x{spec.width} ({resize_method})")
    with open(cache_path, "r+b") as handle:
        for start in range(0, len(paths), chunk_rows):
            stop = min(start + chunk_rows, len(paths))
            pixels, chunk_counts = decode_images(paths[start:stop], spec, resize_method=resize_method,
                                                num_workers=num_workers,
                                                sources=sources[start:stop] if sources is not None else None,
                                                max_image_pixels=max_image_pixels)  # (stop - start, H, W, C)
            handle.seek(offset + start * row_bytes)
            handle.write(np.ascontiguousarray(pixels).data)
            counts = counts.merged(chunk_counts)
    return DiskImages(cache_path), counts


def is_streamed(images) -> bool:
    return isinstance(images, DiskImages)
