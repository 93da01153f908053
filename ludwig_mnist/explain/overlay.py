"""A heatmap laid over its image, as PNG bytes: the image in gray (or colour), the map through matplotlib's
'jet' colormap, blended with an alpha that grows with the map so that unattributed pixels show the image."""

from __future__ import annotations

import io

import numpy as np
from matplotlib import colormaps
from PIL import Image

MIN_SIDE = 112  # small images (MNIST's 28x28) are enlarged by an integer factor, pixels kept square
MAX_ALPHA = 0.6


def overlay_png(image: np.ndarray, heatmap: np.ndarray) -> bytes:
    """image (H, W, C) uint8 with C in {1, 3, 4}, heatmap (H, W) in [0, 1] → PNG bytes of (H', W', 3)."""
    pixels = np.asarray(image)
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    base = pixels[:, :, :3].astype(np.float32) / 255.0  # (H, W, 3)
    heat = np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, 1.0)
    colour = colormaps["jet"](heat)[:, :, :3]  # (H, W, 3)
    alpha = (MAX_ALPHA * heat)[:, :, None]
    blended = (base * (1 - alpha) + colour * alpha) * 255.0
    picture = Image.fromarray(np.round(blended).astype(np.uint8), mode="RGB")
    scale = max(1, -(-MIN_SIDE // max(pixels.shape[:2])))
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
