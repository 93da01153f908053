"""`explain_rows`: the one entry the experiment and predict pipelines call after predicting."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..options import ExplainOptions
from .choose import chosen_rows, predicted_classes, sampled_rows
from .methods import METHOD_TITLES, attribute, gradcam_layer
from .outputs import Explanations, build_explanations


def check_method(model, image_shape: tuple[int, int, int], options: ExplainOptions) -> None:
    """Fails early (before training's results are written, or predicting) when the method cannot apply."""
    if options.method == "gradcam":
        gradcam_layer(model, image_shape)


def explain_rows(model, images, sources: Sequence[str], y_true: np.ndarray | None, probabilities: np.ndarray,
                 class_names: Sequence[str], options: ExplainOptions, split: str, dataset_name: str,
                 log: Callable[[str], None] = print) -> Explanations:
    """images (N, H, W, C) uint8 (array or DiskImages), y_true (N,) int or None, probabilities (N, K).

    Each chosen row is explained for its predicted class."""
    if options.image_paths:
        rows = chosen_rows(sources, options.image_paths, dataset_name)
    else:
        rows = sampled_rows(y_true, probabilities, options.num_images)
    predicted = predicted_classes(probabilities)[rows]  # (n,)
    p = probabilities[rows]
    confidence = p[np.arange(len(rows)), predicted] if p.shape[1] > 1 else \
        np.where(predicted == 1, p[:, 0], 1 - p[:, 0])
    pixels = np.stack([np.asarray(images[int(r)]) for r in rows])  # (n, H, W, C) uint8; DiskImages reads n rows
    attribution = attribute(model, pixels, predicted, options.method)
    names = list(class_names)
    truth = None if y_true is None else [names[i] if i >= 0 else "(unseen)" for i in np.asarray(y_true)[rows]]
    result = build_explanations(options.method, METHOD_TITLES[options.method], split, attribution.layer, pixels,
                                [sources[i] for i in rows], truth, predicted, confidence, names,
                                attribution.heatmaps, attribution.raw)
    blank = sum(e.blank for e in result.images)
    log(f"explained {len(rows)} {split} images with {result.title}"
        f"{f' on {attribution.layer}' if attribution.layer else ''}"
        f"{f'; {blank} heatmap(s) are blank (no positive evidence on that feature map)' if blank else ''}")
    return result
