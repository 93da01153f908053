"""Generated images through infer_image_spec and decode_images (and the on-disk cache): truncated, wrong
extension, zero-size, 1x1, animated, CMYK, 16-bit, 32-bit float, huge declared headers, every Pillow format
we can write.  Every image decodes to the spec's (H, W, C) uint8 or is refused naming its file."""

from __future__ import annotations

import numpy as np
from generated import check_refusal, encoded, generated, png_declaring
from hypothesis import event, given
from hypothesis import strategies as st
from PIL import Image

from ludwig_mnist.data.cache import decode_to_cache
from ludwig_mnist.data.images import decode_images, infer_image_spec
from ludwig_mnist.errors import UserInputError

MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F", "YCbCr", "LAB", "HSV"]
FORMATS = ["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM", "ICO"]


@st.composite
def image_files(draw) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["encoded", "encoded", "encoded", "animated", "huge", "empty", "junk"]))
    if kind == "huge":
        side = draw(st.sampled_from([0, 1, 70_000, 2**31 - 1]))
        return png_declaring(side, draw(st.sampled_from([1, side]))), f"huge {side}"
    if kind == "empty":
        return b"", "empty"
    if kind == "junk":
        return draw(st.binary(max_size=64)), "junk"
    mode, fmt = draw(st.sampled_from(MODES)), draw(st.sampled_from(FORMATS))
    width, height = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    rng = np.random.default_rng(draw(st.integers(0, 9)))
    base = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")
    try:
        image = base.convert(mode) if mode not in ("I;16", "I", "F") else base.convert("L").convert(mode)
        frames = [image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)] if kind == "animated" else [image]
        data = encoded(frames[0], fmt, save_all=len(frames) > 1, append_images=frames[1:])
    except (OSError, ValueError, KeyError, TypeError):
        data = encoded(base, fmt if fmt != "JPEG" else "PNG")  # Pillow cannot write this mode in this format
    if draw(st.integers(0, 3)) == 0:
        data = data[:draw(st.integers(0, len(data)))]  # truncated
    return data, f"{kind} {mode} {fmt}"


@generated(max_examples=150)
@given(files=st.lists(image_files(), min_size=1, max_size=4), spec=st.sampled_from([None, (8, 8, 1), (6, 10, 3)]),
       resize=st.sampled_from(["interpolate", "crop_or_pad"]), cached=st.booleans(),
       extension=st.sampled_from([".png", ".jpg", ".dat"]))
def test_generated_images_decode_or_refuse(tmp_path_factory, files, spec, resize, cached, extension):
    directory = tmp_path_factory.mktemp("images")
    paths = []
    for index, (data, _) in enumerate(files):
        paths.append(directory / f"{index}{extension}")  # the extension never decides the format
        paths[-1].write_bytes(data)
    names = [f"img/{p.name}" for p in paths]
    try:
        height, width, channels = spec if spec else (None, None, None)
        image_spec, _ = infer_image_spec(paths, height=height, width=width, num_channels=channels, sources=names,
                                         max_image_pixels=1_000_000)
        if cached:
            pixels, counts = decode_to_cache(paths, image_spec, directory / "images.npy", resize_method=resize,
                                             sources=names, max_image_pixels=1_000_000)
            pixels = np.asarray(pixels)
        else:
            pixels, counts = decode_images(paths, image_spec, resize_method=resize, sources=names,
                                           max_image_pixels=1_000_000)
    except UserInputError as err:
        message = check_refusal(err, *names, "infer the image size")
        event(f"refused: {message[6:50]}")
        return
    event(f"accepted ({'+'.join(sorted({label.split()[0] for _, label in files}))})")
    assert pixels.dtype == np.uint8
    assert pixels.shape == (len(paths), image_spec.height, image_spec.width, image_spec.num_channels)
    assert counts.images == len(paths)
