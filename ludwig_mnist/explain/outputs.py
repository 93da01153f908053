"""The explanations of one run as a value the reports render, and as files (no TensorFlow here).

    OUT/explanations/attributions.npz    method, image_paths (N,), true_labels (N,), predicted_labels (N,),
                                         explained_class (N,) index, probability (N,), heatmaps (N, H, W) in
                                         [0, 1], raw (Grad-CAM (N, h, w) on its feature map; integrated
                                         gradients (N, H, W, C) signed), layer (Grad-CAM's feature map or "")
    OUT/explanations/overlays/NNN_<class>_<name>.png    one heatmap overlay per explained image, rows in order
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .overlay import overlay_png

EXPLANATIONS_DIR = "explanations"
NPZ_NAME = "attributions.npz"
OVERLAYS_DIR = "overlays"


@dataclass(frozen=True)
class ExplainedImage:
    source: str  # the image path as written in the table
    true_label: str | None  # None when the rows are unlabelled
    predicted_label: str
    probability: float  # of the predicted (= explained) class
    overlay: bytes  # PNG
    blank: bool  # the heatmap is zero everywhere (Grad-CAM's ReLU removed every positive contribution)

    @property
    def correct(self) -> bool | None:
        return None if self.true_label is None else self.true_label == self.predicted_label


@dataclass(frozen=True)
class Explanations:
    method: str  # a key of methods.METHODS
    title: str  # how the report names it
    split: str  # the rows explained: a split name, or "labelled" / "predicted" for predict
    layer: str | None  # Grad-CAM's feature map
    images: tuple[ExplainedImage, ...]
    class_names: tuple[str, ...]
    heatmaps: np.ndarray  # (N, H, W) float32
    raw: np.ndarray
    explained_class: np.ndarray  # (N,) int

    def by_class(self) -> list[tuple[str, list[ExplainedImage], list[ExplainedImage]]]:
        """(class, correct, misclassified) per class in vocabulary order; unlabelled rows go under their
        predicted class, as "correct" is unknown there (listed in the first list)."""
        rows = []
        for name in self.class_names:
            mine = [e for e in self.images if (e.true_label if e.true_label is not None else e.predicted_label) == name]
            if mine:
                rows.append((name, [e for e in mine if e.correct is not False], [e for e in mine if e.correct is False]))
        return rows


def build_explanations(method: str, title: str, split: str, layer: str | None, images: np.ndarray,
                       sources: Sequence[str], true_labels: Sequence[str] | None, explained_class: np.ndarray,
                       probability: np.ndarray, class_names: Sequence[str], heatmaps: np.ndarray,
                       raw: np.ndarray) -> Explanations:
    """images (N, H, W, C) uint8 of the explained rows, heatmaps (N, H, W); the rest (N,) aligned with them."""
    names = tuple(class_names)
    label_of = (lambda i: names[i]) if len(names) > 1 else (lambda i: str(i))
    explained = tuple(
        ExplainedImage(source=sources[i], true_label=None if true_labels is None else true_labels[i],
                       predicted_label=label_of(int(explained_class[i])), probability=float(probability[i]),
                       overlay=overlay_png(images[i], heatmaps[i]), blank=not bool(heatmaps[i].max() > 0))
        for i in range(len(sources)))
    return Explanations(method, title, split, layer, explained, names, heatmaps, raw,
                        np.asarray(explained_class, dtype=np.int64))


def _file_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:60] or "image"


def explanation_files(explanations: Explanations) -> dict[str, bytes]:
    """Relative path under OUT/explanations → bytes: the npz and one overlay per image."""
    images = explanations.images
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, method=np.array(explanations.method), layer=np.array(explanations.layer or ""),
        image_paths=np.array([e.source for e in images], dtype=str),
        true_labels=np.array(["" if e.true_label is None else e.true_label for e in images], dtype=str),
        predicted_labels=np.array([e.predicted_label for e in images], dtype=str),
        explained_class=explanations.explained_class,
        probability=np.array([e.probability for e in images], dtype=np.float32),
        heatmaps=explanations.heatmaps, raw=explanations.raw)
    files = {NPZ_NAME: buffer.getvalue()}
    for index, image in enumerate(images):
        files[f"{OVERLAYS_DIR}/{index:03d}_{_file_part(image.true_label or image.predicted_label)}_"
              f"{_file_part(Path(image.source).stem)}.png"] = image.overlay
    return files


def write_explanations(explanations: Explanations, out_dir: Path) -> Path:
    """Writes OUT/explanations/ (out_dir is the staging directory: published with the rest or not at all)."""
    root = Path(out_dir) / EXPLANATIONS_DIR
    for relative, data in explanation_files(explanations).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root
