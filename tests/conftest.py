"""Shared fixtures: tiny generated images, archives and IDX files (no files read from the CWD)."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent


def image_bytes(size: tuple[int, int] = (8, 8), mode: str = "L", fmt: str = "PNG", seed: int = 0) -> bytes:
    """Encode a random image of ``size`` (width, height) in ``mode`` as ``fmt`` bytes."""
    rng = np.random.default_rng(seed)
    width, height = size
    if mode in ("I;16", "I"):
        pixels = rng.integers(0, 65536, (height, width)).astype(np.uint16 if mode == "I;16" else np.int32)
        image = Image.fromarray(pixels)  # uint16 → "I;16", int32 → "I"
    elif mode == "P":
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB").quantize(16)
    else:
        bands = len(Image.new(mode, (1, 1)).getbands())
        shape = (height, width) if bands == 1 else (height, width, bands)
        image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8).squeeze(), mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_image("a/b.png", size=(w, h), mode="RGBA", fmt="PNG")`` → path under tmp_path."""

    def make(relative: str, size: tuple[int, int] = (8, 8), mode: str = "L", fmt: str = "PNG", seed: int = 0) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image_bytes(size, mode, fmt, seed))
        return path

    return make


@pytest.fixture
def make_zip(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_zip("x.zip", {"name": bytes, ...}, compression=ZIP_DEFLATED)`` → path under tmp_path."""

    def make(relative: str, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression) as bundle:
            for name, data in members.items():
                bundle.writestr(name, data)
        return path

    return make


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format: 0, 0, type 0x08, ndim, big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


@pytest.fixture
def fake_mnist_idx(tmp_path: Path) -> Path:
    """A directory with the four MNIST IDX files (gzip), 50 training and 20 test 28x28 images.

    Labels cycle 0..9 (training 5 per class, test 2 per class); pixel values
    encode the index so round-trips can be checked.
    """
    directory = tmp_path / "idx"
    directory.mkdir()
    rng = np.random.default_rng(1)
    for prefix, count in (("train", 50), ("t10k", 20)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = np.arange(count)  # top-left pixel = index in the IDX array
        labels = (np.arange(count) % 10).astype(np.uint8)
        (directory / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images), mtime=0))
        (directory / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels), mtime=0))
    return directory
