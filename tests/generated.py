"""Shared pieces of the generated-input (Hypothesis) tests: the contract every generated case must meet.

Contract: the stage returns, or raises a UserInputError whose message is one line naming the culprit;
any other exception is a bug (the CLI would print a traceback).  Cases are seeded (derandomize) so a
failure replays, and sized so each property runs in seconds on a 2-core machine.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import yaml
from hypothesis import HealthCheck, settings
from PIL import Image
from synthetic import TINY_CONFIG, class_image, png_bytes

from ludwig_mnist.config.load import parse_config
from ludwig_mnist.errors import UserInputError


# derandomize: the same cases on every run and machine, so a failure in CI replays locally.
def generated(max_examples: int) -> settings:
    """Hypothesis settings of every generated-input property: seeded, no deadline (2 busy cores), no database."""
    return settings(derandomize=True, deadline=None, database=None, print_blob=True, max_examples=max_examples,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CLASSES = ("a", "b", "c")


def tiny_config():
    return parse_config(yaml.safe_load(TINY_CONFIG))


def good_members(per_class: int = 4, size: int = 8) -> dict[str, bytes]:
    """{member name: PNG bytes}: per_class training images of each class."""
    rng = np.random.default_rng(0)
    return {f"img/{label}/{n}.png": png_bytes(class_image(i, len(CLASSES), size, rng))
            for i, label in enumerate(CLASSES) for n in range(per_class)}


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def encoded(image: Image.Image, fmt: str, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def check_refusal(err: UserInputError, *culprits: str) -> str:
    """A refusal's message: one line, and it names one of the culprits (a file, member, column, line)."""
    message = str(err)
    assert message and "\n" not in message and "\r" not in message, f"multi-line message: {message!r}"
    assert len(message) < 1000, f"message of {len(message)} characters (a value was quoted unclipped)"
    if culprits:
        assert any(c in message for c in culprits), f"message names none of {culprits}: {message}"
    return message


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height but holds almost no data (a 'huge header')."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
