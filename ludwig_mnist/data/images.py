"""Image spec inference and parallel decoding to ``(N, H, W, C) uint8``.

Ludwig semantics: explicit ``height``/``width``/``num_channels`` win, anything
left unset is inferred from a sample of the images.  Decoding converts every
image to the spec's channel count and size, and reports what it changed as
aggregated notes ("resized 3 of 800 images ...") rather than one line per image.

Alpha is dropped, not composited: the stored colour under a transparent pixel
is kept.  That is what Ludwig does (torchvision/libpng strip alpha), so a model
trained here sees the same pixels as one trained by Ludwig.
"""

from __future__ import annotations

import io
import os
import re
import struct
import threading
import time
import warnings
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import DataError, one_line
from ..wording import plural
from .sniff import describe_format, sniff_format

DEFAULT_MAX_IMAGE_PIXELS = 89_478_485  # Pillow's own default: 1024 * 1024 * 1024 // 4 // 3
MAX_PIXELS_FLAG = "--max_image_pixels"

_TARGET_MODE = {1: "L", 3: "RGB", 4: "RGBA"}
_GRAYSCALE_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
_SIXTEEN_BIT_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N"}
# Threads only pay off when Pillow's C decoder (which releases the GIL) does
# most of the work.  MNIST-sized images take ~50 us each, mostly Python-side
# header parsing under the GIL; there a second thread only adds contention
# (70k 28x28 PNGs on a busy 2-core box: 3.8 s on 1 thread, 7 s on 2).  Faster
# images are decoded on the calling thread whatever num_workers says.
PARALLEL_MIN_SECONDS_PER_IMAGE = 2e-4
# Work is split into about 4 chunks per thread (balances uneven images), each
# between these sizes (amortises scheduling; a few hundred images still split).
_MIN_CHUNK, _MAX_CHUNK = 16, 1024
# Errors Pillow raises for damaged files (PNG chunk errors are SyntaxError).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError)


# An image file's path, or an archive member read in place (anything with read_bytes(): data/members.py).
ImageSource = Union[Path, str, Any]


@dataclass(frozen=True)
class ImageSpec:
    height: int
    width: int
    num_channels: int


@contextmanager
def _pixel_limit(max_image_pixels: int) -> Iterator[None]:
    """Make Pillow's decompression-bomb guard use our limit for the duration.

    Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; turning the
    warning into an exception makes both mean "over our limit".  Pillow's
    setting is process-global, so it is restored afterwards.
    """
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_image_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def _too_big(name: str, pixels: int | Exception, max_image_pixels: int) -> DataError:
    """The over-limit error; ``pixels`` may be Pillow's bomb exception, whose message holds the count."""
    if isinstance(pixels, Exception):
        found = re.search(r"\((\d+) pixels\)", str(pixels))
        pixels = int(found.group(1)) if found else 0
    size = f"has {pixels:,} pixels, " if pixels else "is "
    return DataError(
        f"{name}: image {size}over the limit of {max_image_pixels:,} pixels "
        f"(a possible decompression bomb); raise it with {MAX_PIXELS_FLAG} if the image is genuine"
    )


def _unreadable(name: str, data: bytes | None, error: Exception) -> DataError:
    """``data``: the image's bytes, to name what they are when Pillow cannot identify them."""
    if isinstance(error, FileNotFoundError):
        return DataError(f"{name}: image file not found")
    if isinstance(error, UnidentifiedImageError) and data is not None:
        # Name what the file is instead ("a text file"), with the archive sniffer.
        found = sniff_format(data)
        if found.endswith("image"):
            return DataError(f"{name}: corrupt or truncated {found} (Pillow cannot identify it)")
        return DataError(f"{name}: is not an image, it is {describe_format(found)}")
    return DataError(f"{name}: corrupt or truncated image ({one_line(error)})")


def _read(source: ImageSource) -> bytes:
    """A file's bytes in one call (Pillow's many small reads cost more than decoding MNIST-sized images), or an
    archive member's (data.members.Member.read_bytes: the archive's checks raise ArchiveError there)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            return handle.read()
    return source.read_bytes()


@contextmanager
def _open_checked(source: ImageSource, name: str, max_image_pixels: int) -> Iterator[Image.Image]:
    """Open an image and check its declared size before any pixel is decoded."""
    data = None
    try:
        data = _read(source)
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_big(name, error, max_image_pixels) from None
    except _DECODE_ERRORS as error:
        raise _unreadable(name, data, error) from None
    with image:
        width, height = image.size
        if width * height > max_image_pixels:
            raise _too_big(name, width * height, max_image_pixels)
        yield image


# ---------------------------------------------------------------------------
# Inference


def _channels_of_mode(mode: str) -> int:
    """Channels an image of this mode gets by default: grayscale(+alpha) → 1, colour → 3."""
    return 1 if mode in _GRAYSCALE_MODES else 3


def _ludwig_channels(mode: str) -> int:
    """The channel count torchvision reads for a mode (what Ludwig's inference counts): gray 1, gray+alpha 2,
    colour 3, colour+alpha 4."""
    if mode in ("LA", "La", "PA"):
        return 2
    if mode in ("RGBA", "RGBa"):
        return 4
    return 1 if mode in _GRAYSCALE_MODES else 3


def infer_image_spec(
    paths: Sequence[Path],
    *,
    height: int | None = None,
    width: int | None = None,
    num_channels: int | None = None,
    infer: bool = True,
    sample_size: int = 100,
    max_height: int = 256,
    max_width: int = 256,
    requires_equal_dimensions: bool = False,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    sources: Sequence[str] | None = None,
) -> tuple[ImageSpec, tuple[str, ...]]:
    """Ludwig 0.10's rule (features/image_feature._finalize_preprocessing_parameters), on ``paths`` in table order:

    the first ``sample_size`` images (only the first one when ``infer`` is false or everything is set) give
    the size as the rounded mean height and width, capped at max_height/max_width; the channels are the
    majority count if more than half the sample has it, else 3; requires_equal_dimensions makes a square of
    the smaller side.  Only headers are read.
    """
    # height, width and num_channels were checked by the config stage (both or neither of height and width)
    notes: list[str] = []
    if height is not None and num_channels is not None and not requires_equal_dimensions:
        return ImageSpec(height, width, num_channels), (f"image size {height}x{width}x{num_channels} from the config",)
    if not paths:
        raise DataError("no images to infer the image size from")
    count = min(len(paths), sample_size) if infer and (height is None or num_channels is None) else 1
    heights, widths, channels = [], [], Counter()
    with _pixel_limit(max_image_pixels):
        for index in range(count):
            name = sources[index] if sources is not None else str(paths[index])
            with _open_checked(paths[index], name, max_image_pixels) as image:
                heights.append(image.size[1])
                widths.append(image.size[0])
                channels[_ludwig_channels(image.mode)] += 1
    sampled = plural(count, "image") if count > 1 else "the first image"
    if height is None:
        mean_height, mean_width = int(round(sum(heights) / count)), int(round(sum(widths) / count))
        height, width = min(mean_height, max_height), min(mean_width, max_width)
        notes.append(f"inferred image size {height}x{width} from {sampled} (mean {mean_height}x{mean_width}"
                     f"{', capped by infer_image_max_height/width' if (height, width) != (mean_height, mean_width) else ''})")
    if requires_equal_dimensions and height != width:
        notes.append(f"requires_equal_dimensions: {height}x{width} made square at {min(height, width)}")
        height = width = min(height, width)
    if num_channels is None:
        majority = [c for c in (1, 2, 4) if channels[c] > count / 2]
        num_channels = majority[0] if majority else 3
        counted = ", ".join(f"{n} with {c}" for c, n in sorted(channels.items()))
        notes.append(f"inferred {num_channels} channel{'s' if num_channels > 1 else ''} from {sampled} "
                     f"(channels: {counted})")
        if num_channels == 2:
            num_channels = 1
            notes.append("gray+alpha images are read as 1 channel here (Ludwig keeps 2): the alpha is dropped")
    return ImageSpec(height, width, num_channels), tuple(notes)


# ---------------------------------------------------------------------------
# Conversion of one decoded image


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """16/32-bit integer or float grayscale → "L".  Integers are taken as 16-bit (0..65535)."""
    values = np.asarray(image)
    if image.mode == "F":
        scaled = np.clip(values, 0, 255).round()
    else:
        scaled = (np.clip(values.astype(np.int64), 0, 65535) * 255 + 32767) // 65535
    return Image.fromarray(scaled.astype(np.uint8), "L")


def _convert_mode(image: Image.Image, target: str) -> tuple[Image.Image, str | None]:
    """Convert to "L", "RGB" or "RGBA"; returns the image and what changed (for notes)."""
    mode = image.mode
    if mode == target:
        return image, None
    change = f"{mode} to {target}"
    had_alpha = mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in image.info)
    if mode in _SIXTEEN_BIT_MODES or mode == "F":
        image = _to_eight_bit(image)
        change = f"{mode} (scaled to 8 bits) to {target}"
    elif mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # avoids Pillow's warning about palette transparency
    elif mode not in ("1", "L", "LA", "RGB", "RGBA"):
        image = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, P, ...: through RGB
    if had_alpha and target != "RGBA":
        change += " (alpha dropped)"
    return image.convert(target), change


def _resize(image: Image.Image, spec: ImageSpec, method: str) -> np.ndarray:
    """An image of size (w, h) → (H, W, C) by bilinear interpolation or centred crop/zero padding."""
    if method == "interpolate":
        resized = image.resize((spec.width, spec.height), Image.Resampling.BILINEAR)
        return np.asarray(resized).reshape(spec.height, spec.width, spec.num_channels)
    # crop_or_pad follows torchvision's center_crop (used by Ludwig): pad left by
    # (W - w) // 2, crop left by round((w - W) / 2).
    width, height = image.size
    pixels = np.asarray(image).reshape(height, width, spec.num_channels)
    out = np.zeros((spec.height, spec.width, spec.num_channels), np.uint8)
    src_top = max(0, int(round((height - spec.height) / 2)))
    src_left = max(0, int(round((width - spec.width) / 2)))
    dst_top = max(0, (spec.height - height) // 2)
    dst_left = max(0, (spec.width - width) // 2)
    rows = min(height, spec.height)
    cols = min(width, spec.width)
    window = pixels[src_top : src_top + rows, src_left : src_left + cols]
    out[dst_top : dst_top + rows, dst_left : dst_left + cols] = window
    return out


# ---------------------------------------------------------------------------
# Decoding


@dataclass(frozen=True)
class DecodeCounts:
    """What decoding changed, as counts (merged across chunks by the streamed cache), rendered as notes once."""

    images: int
    conversions: dict[str, int]  # "RGBA to L (alpha dropped)" → images converted so
    resized: int  # images whose size differed from the target
    target: str  # "28x28 (interpolate)"
    # (decoded bytes, bytes granted, where the grant comes from) when in_memory was true but the decoded images
    # would not fit in the job's memory, so they were streamed from the on-disk cache instead
    streamed_for_memory: tuple[int, int, str] | None = None

    def merged(self, other: "DecodeCounts") -> "DecodeCounts":
        conversions = Counter(self.conversions)
        conversions.update(other.conversions)
        return DecodeCounts(self.images + other.images, dict(conversions), self.resized + other.resized,
                            self.target or other.target)

    def notes(self) -> tuple[str, ...]:
        notes = [f"converted {plural(count, 'image')} from {change}"
                 for change, count in sorted(self.conversions.items())]
        if self.resized:
            notes.append(f"resized {self.resized} of {self.images} images to {self.target}")
        if self.streamed_for_memory:
            needed, granted, source = self.streamed_for_memory
            notes.append(f"the decoded images need {needed / 2**20:,.1f} MiB, more than half of the "
                         f"{granted / 2**20:,.0f} MiB this job may use ({source}); they were decoded into the "
                         "on-disk cache and are streamed from it, as with in_memory: false")
        return tuple(notes)


class _ChunkDecoder:
    """Decodes index ranges into a shared preallocated array; one instance per call."""

    def __init__(
        self,
        paths: Sequence[Path | str],
        spec: ImageSpec,
        resize_method: str,
        max_image_pixels: int,
        sources: Sequence[str] | None,
        out: np.ndarray,
    ) -> None:
        self.paths = paths
        self.spec = spec
        self.resize_method = resize_method
        self.max_image_pixels = max_image_pixels
        self.sources = sources
        self.out = out  # (N, H, W, C) uint8, each index written by exactly one thread
        self.failed = threading.Event()  # lets other threads stop early after an error

    def decode_range(self, start: int, stop: int) -> tuple[Counter, int]:
        conversions: Counter[str] = Counter()
        resized = 0
        target = _TARGET_MODE[self.spec.num_channels]
        expected = (self.spec.width, self.spec.height)
        try:
            for index in range(start, stop):
                if self.failed.is_set():
                    break
                path = self.paths[index]  # str or Path; open() takes either
                name = self.sources[index] if self.sources is not None else str(path)
                with _open_checked(path, name, self.max_image_pixels) as image:
                    try:
                        image.load()
                    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
                        raise _too_big(name, error, self.max_image_pixels) from None
                    except _DECODE_ERRORS as error:
                        raise _unreadable(name, None, error) from None
                    try:
                        converted, change = _convert_mode(image, target)
                    except ValueError as error:
                        raise DataError(f"{name}: image mode {image.mode} cannot be converted ({one_line(error)})") from None
                    if change:
                        conversions[change] += 1
                    if converted.size == expected:
                        # Fast path (all of MNIST): (H, W) or (H, W, C) → (H, W, C) in place.
                        self.out[index] = np.asarray(converted).reshape(self.out.shape[1:])
                    else:
                        self.out[index] = _resize(converted, self.spec, self.resize_method)
                        resized += 1
        except BaseException:
            self.failed.set()
            raise
        return conversions, resized


def decode_images(
    paths: Sequence[Path],
    spec: ImageSpec,
    *,
    resize_method: str = "interpolate",
    num_workers: int = 1,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    sources: Sequence[str] | None = None,
) -> tuple[np.ndarray, DecodeCounts]:
    """Decode images into one ``(N, H, W, C) uint8`` array in ``paths`` order, and count what was changed.

    ``spec`` and ``resize_method`` come from the validated config (config/schema.py checks them).

    ``sources`` are the names used in errors (the CSV's image paths); defaults
    to the file paths.  Up to ``num_workers`` threads decode chunks in
    parallel when images are slow enough to gain from it (see
    PARALLEL_MIN_SECONDS_PER_IMAGE).
    """
    if sources is not None and len(sources) != len(paths):
        raise ValueError(f"sources has {len(sources)} names for {len(paths)} paths")
    out = np.empty((len(paths), spec.height, spec.width, spec.num_channels), np.uint8)
    decoder = _ChunkDecoder(paths, spec, resize_method, max_image_pixels, sources, out)
    chunk = min(_MAX_CHUNK, max(_MIN_CHUNK, -(-len(paths) // (4 * max(1, num_workers)))))
    ranges = [(start, min(start + chunk, len(paths))) for start in range(0, len(paths), chunk)]

    with _pixel_limit(max_image_pixels):
        # The first chunk is timed on this thread to decide whether threads can help.
        started = time.perf_counter()
        results = [decoder.decode_range(start, stop) for start, stop in ranges[:1]]
        seconds_per_image = (time.perf_counter() - started) / chunk
        if num_workers <= 1 or seconds_per_image < PARALLEL_MIN_SECONDS_PER_IMAGE:
            results += [decoder.decode_range(start, stop) for start, stop in ranges[1:]]
        else:
            pool = ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="decode")
            try:
                futures = [pool.submit(decoder.decode_range, start, stop) for start, stop in ranges[1:]]
                # result() re-raises a worker's DataError here, in the caller's thread.
                results += [future.result() for future in futures]
            finally:
                # On an error or a signal (SIGTERM from Galaxy, Ctrl-C), drop the queued chunks instead of
                # decoding them all before the exception can leave: a cancelled job stops within a chunk.
                pool.shutdown(wait=True, cancel_futures=True)

    conversions: Counter[str] = Counter()
    resized = 0
    for chunk_conversions, chunk_resized in results:
        conversions.update(chunk_conversions)
        resized += chunk_resized
    return out, DecodeCounts(len(paths), dict(conversions), resized, f"{spec.height}x{spec.width} ({resize_method})")
