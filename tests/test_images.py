"""Image spec inference and decoding: conversions, resizing, corrupt files, bombs, threads."""

from __future__ import annotations

import struct
import threading
import zlib

import numpy as np
import pytest
from PIL import Image

from ludwig_mnist.data import images as images_module
from ludwig_mnist.data.images import ImageSpec, decode_images, infer_image_spec
from ludwig_mnist.errors import ConfigError, DataError


def _save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path)
    return path


def _png_with_declared_size(width: int, height: int) -> bytes:
    """A tiny 1-bit PNG whose header claims width x height (the pixel data is a few bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


# ---------------------------------------------------------------------------
# Conversions


def test_rgba_to_grayscale_drops_alpha_keeps_colour(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = 200  # stored colour
    rgba[..., 3] = 0  # fully transparent: Ludwig keeps the stored colour, so do we
    path = _save(tmp_path / "a.png", rgba, "RGBA")
    images, notes = decode_images([path], ImageSpec(4, 4, 1))
    notes = notes.notes()
    assert images.shape == (1, 4, 4, 1) and images.dtype == np.uint8
    assert np.all(images == 200)
    assert notes == ("converted 1 image from RGBA to L (alpha dropped)",)


def test_la_palette_and_grayscale_to_rgb(tmp_path, make_image):
    paths = [make_image("la.png", mode="LA"), make_image("p.png", mode="P"), make_image("l.png", mode="L")]
    images, notes = decode_images(paths, ImageSpec(8, 8, 3))
    notes = notes.notes()
    assert images.shape == (3, 8, 8, 3)
    expected_gray = np.asarray(Image.open(paths[2]))
    assert np.array_equal(images[2, :, :, 1], expected_gray)  # L replicated into R, G and B
    palette_rgb = np.asarray(Image.open(paths[1]).convert("RGB"))
    assert np.array_equal(images[1], palette_rgb)
    assert set(notes) == {
        "converted 1 image from LA to RGB (alpha dropped)",
        "converted 1 image from P to RGB",
        "converted 1 image from L to RGB",
    }


def test_sixteen_bit_scaled_to_eight(tmp_path):
    values = np.array([[0, 257, 65535, 32896]], np.uint16)  # → 0, 1, 255, 128
    path = tmp_path / "deep.png"
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    image.save(path)
    images, notes = decode_images([path], ImageSpec(1, 4, 1))
    notes = notes.notes()
    assert images[0, 0, :, 0].tolist() == [0, 1, 255, 128]
    assert len(notes) == 1 and "scaled to 8 bits" in notes[0]


def test_jpeg_and_cmyk_decode(tmp_path, make_image):
    jpeg = make_image("x.jpg", size=(16, 12), mode="RGB", fmt="JPEG")
    cmyk = make_image("c.jpg", size=(16, 12), mode="CMYK", fmt="JPEG")
    images, notes = decode_images([jpeg, cmyk], ImageSpec(12, 16, 3))
    notes = notes.notes()
    assert images.shape == (2, 12, 16, 3)
    assert np.array_equal(images[0], np.asarray(Image.open(jpeg)))
    assert notes == ("converted 1 image from CMYK to RGB",)


# ---------------------------------------------------------------------------
# Resizing


def test_mixed_sizes_interpolate(tmp_path):
    same = _save(tmp_path / "same.png", np.full((6, 6), 10, np.uint8))
    small = _save(tmp_path / "small.png", np.full((3, 3), 90, np.uint8))
    wide = _save(tmp_path / "wide.png", np.full((6, 12), 50, np.uint8))
    images, notes = decode_images([same, small, wide], ImageSpec(6, 6, 1))
    notes = notes.notes()
    assert images.shape == (3, 6, 6, 1)
    assert np.all(images[1] == 90) and np.all(images[2] == 50)  # uniform images stay uniform
    assert notes == ("resized 2 of 3 images to 6x6 (interpolate)",)


def test_crop_or_pad_centres(tmp_path):
    big = np.arange(36, dtype=np.uint8).reshape(6, 6)
    small = np.full((2, 2), 255, np.uint8)
    paths = [_save(tmp_path / "big.png", big), _save(tmp_path / "small.png", small)]
    images, notes = decode_images(paths, ImageSpec(4, 4, 1), resize_method="crop_or_pad")
    notes = notes.notes()
    assert np.array_equal(images[0, :, :, 0], big[1:5, 1:5])  # centre crop
    padded = np.zeros((4, 4), np.uint8)
    padded[1:3, 1:3] = 255  # centred, zero padding
    assert np.array_equal(images[1, :, :, 0], padded)
    assert notes == ("resized 2 of 2 images to 4x4 (crop_or_pad)",)


def test_resize_method_and_channels_are_checked_once_by_the_config():
    # the image stage trusts the validated config; the config names the key and the choices
    import yaml
    from synthetic import TINY_CONFIG

    from ludwig_mnist.config.load import parse_config

    for key, value, shown in (("resize_method", "stretch", "'interpolate', 'crop_or_pad'"), ("num_channels", 2, "1, 3, 4")):
        raw = yaml.safe_load(TINY_CONFIG)
        raw["input_features"][0].setdefault("preprocessing", {})[key] = value
        with pytest.raises(ConfigError, match=rf"'input_features\.0\.preprocessing\.{key}'.*{shown}"):
            parse_config(raw)


# ---------------------------------------------------------------------------
# Bad files


def test_corrupt_truncated_and_non_image_named(tmp_path, make_image):
    good = make_image("good.png", size=(32, 32))
    data = good.read_bytes()
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(data[:60] + bytes(b ^ 0x55 for b in data[60:]))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    text = tmp_path / "x.png"
    text.write_text("this is not a picture\n")
    spec = ImageSpec(32, 32, 1)
    for path, pattern in (
        (corrupt, r"^training/corrupt.png: corrupt or truncated"),
        (truncated, r"^training/truncated.png: corrupt or truncated"),
        (text, r"^training/x.png: is not an image, it is a text file"),
    ):
        with pytest.raises(DataError, match=pattern):
            decode_images([good, path], spec, sources=["training/good.png", f"training/{path.name}"])


def test_error_names_path_without_sources(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=f"^{empty}: is not an image, it is an empty file"):
        decode_images([empty], ImageSpec(8, 8, 1))


def test_decompression_bomb_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_with_declared_size(20_000, 20_000))  # 400 M pixels, 60 bytes on disk
    assert bomb.stat().st_size < 100
    with pytest.raises(DataError, match=r"^bomb.png: image .*over the limit of 89,478,485 pixels.*--max_image_pixels"):
        decode_images([bomb], ImageSpec(8, 8, 1), sources=["bomb.png"])
    with pytest.raises(DataError, match="--max_image_pixels"):
        infer_image_spec([bomb])


def test_lower_pixel_limit_applies_and_is_restored(tmp_path, make_image):
    path = make_image("a.png", size=(20, 20))
    with pytest.raises(DataError, match="has 400 pixels, over the limit of 399 pixels"):
        decode_images([path], ImageSpec(20, 20, 1), max_image_pixels=399)
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's global setting is left as it was
    images, _ = decode_images([path], ImageSpec(20, 20, 1), max_image_pixels=400)
    assert images.shape == (1, 20, 20, 1)


# ---------------------------------------------------------------------------
# Inference


# Ludwig 0.10's rule (features/image_feature._finalize_preprocessing_parameters): the first N images of the
# table, their rounded mean height and width, capped; channels by majority (more than half), else 3.


def test_inference_takes_the_rounded_mean_of_the_first_images(tmp_path, make_image):
    paths = [make_image(f"{i}.png", size=(28, 28)) for i in range(5)] + [make_image("odd.png", size=(40, 30))]
    spec, notes = infer_image_spec(paths)
    # width (28*5 + 40) / 6 = 30, height (28*5 + 30) / 6 = 28.33 -> 28
    assert spec == ImageSpec(28, 30, 1)
    assert notes[0] == "inferred image size 28x30 from 6 images (mean 28x30)"
    assert notes[1] == "inferred 1 channel from 6 images (channels: 6 with 1)"


def test_inference_channels_by_majority_else_three(tmp_path, make_image):
    gray = [make_image(f"g{i}.png", size=(8, 8), mode="L") for i in range(2)]
    rgba = [make_image(f"a{i}.png", size=(8, 8), mode="RGBA") for i in range(3)]
    assert infer_image_spec(gray + rgba)[0].num_channels == 4  # 3 of 5 have 4 channels
    assert infer_image_spec(gray + rgba[:2])[0].num_channels == 3  # no majority: Ludwig's RGB default
    assert infer_image_spec(gray * 2 + rgba)[0].num_channels == 1


def test_inference_cap_square_and_explicit_values(tmp_path, make_image):
    paths = [make_image("a.png", size=(300, 20), mode="L"), make_image("b.png", size=(300, 20), mode="RGB")]
    spec, notes = infer_image_spec(paths, max_width=256)
    assert spec == ImageSpec(20, 256, 3)  # 1 of 2 gray is no majority; width capped
    assert "capped by infer_image_max_height/width" in notes[0]
    spec, notes = infer_image_spec(paths, max_width=256, requires_equal_dimensions=True)
    assert spec == ImageSpec(20, 20, 3) and "made square at 20" in notes[1]
    spec, _ = infer_image_spec(paths, height=10, width=256, num_channels=4)
    assert spec == ImageSpec(10, 256, 4)
    spec, notes = infer_image_spec([], height=5, width=6, num_channels=1)
    assert spec == ImageSpec(5, 6, 1) and notes == ("image size 5x6x1 from the config",)


def test_inference_reads_the_first_rows_only(tmp_path, make_image):
    paths = [make_image(f"s{i}.png", size=(8, 8)) for i in range(10)]
    paths += [make_image(f"l{i}.png", size=(16, 16)) for i in range(10)]
    spec, notes = infer_image_spec(paths, sample_size=4)  # Ludwig's column.head(4): small ones only
    assert spec.height == 8 and "from 4 images" in notes[0]
    spec, notes = infer_image_spec(paths, infer=False)  # infer_image_dimensions: false reads the first image
    assert spec.height == 8 and "from the first image" in notes[0]


# ---------------------------------------------------------------------------
# Threads


@pytest.fixture
def always_threads(monkeypatch):
    """Use the thread pool even for tiny images (normally decoded on one thread)."""
    monkeypatch.setattr(images_module, "PARALLEL_MIN_SECONDS_PER_IMAGE", 0.0)


def test_parallel_decode_equals_serial(tmp_path, make_image, always_threads, monkeypatch):
    distinct = [
        make_image(f"{i}.png", size=(8 + i % 3, 8), mode="RGB" if i % 5 == 0 else "L", seed=i) for i in range(15)
    ]
    paths = distinct * 20  # 300 images in many chunks, without writing 300 files
    serial, serial_notes = decode_images(paths, ImageSpec(8, 8, 1), num_workers=1)
    serial_notes = serial_notes.notes()
    threads = set()
    decode_range = images_module._ChunkDecoder.decode_range

    def recording_decode_range(self, start, stop):
        threads.add(threading.current_thread().name)
        return decode_range(self, start, stop)

    monkeypatch.setattr(images_module._ChunkDecoder, "decode_range", recording_decode_range)
    parallel, parallel_notes = decode_images(paths, ImageSpec(8, 8, 1), num_workers=3)
    parallel_notes = parallel_notes.notes()
    assert any(name.startswith("decode") for name in threads)  # the pool really ran
    assert np.array_equal(serial, parallel)
    assert not np.array_equal(serial[0], serial[1])  # distinct images really are distinct
    assert serial_notes == parallel_notes
    assert "resized 200 of 300 images to 8x8 (interpolate)" in serial_notes
    assert "converted 60 images from RGB to L" in serial_notes


def test_parallel_error_surfaces(tmp_path, make_image, always_threads):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    paths = [make_image("good.png")] * 300
    paths[210] = bad
    sources = [f"row{i}.png" for i in range(300)]
    with pytest.raises(DataError, match="^row210.png: is not an image"):
        decode_images(paths, ImageSpec(8, 8, 1), num_workers=2, sources=sources)


def test_tiny_images_stay_on_the_calling_thread(tmp_path, make_image, monkeypatch):
    monkeypatch.setattr(images_module, "PARALLEL_MIN_SECONDS_PER_IMAGE", 10.0)  # every image is "fast"

    def no_pool(*args, **kwargs):
        raise AssertionError("the thread pool must not start for fast images")

    monkeypatch.setattr(images_module, "ThreadPoolExecutor", no_pool)
    images, _ = decode_images([make_image("a.png")] * 100, ImageSpec(8, 8, 1), num_workers=2)
    assert images.shape == (100, 8, 8, 1)
