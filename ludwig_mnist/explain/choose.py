"""Which rows are explained (pure numpy; no TensorFlow).

Sampled: round-robin over the true classes in vocabulary order, each class offering its most confident
correct prediction, then its most confident mistake, then the next of each, until ``num_images`` are taken
(or every row is).  Without labels (predict on unlabelled rows) the predicted class stands in for the true
one and there is no correct/misclassified split.  Chosen: the rows whose image path is given, in that order.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import DataError

DEFAULT_NUM_IMAGES = 20


def sampled_rows(y_true: np.ndarray | None, probabilities: np.ndarray, num_images: int) -> np.ndarray:
    """y_true (N,) int or None (unlabelled; -1 = label unseen in training, never chosen), probabilities (N, K)
    → row indices, class by class, alternating correct and misclassified, most confident first."""
    predicted = predicted_classes(probabilities)
    confidence = probabilities[np.arange(len(predicted)), predicted] if probabilities.shape[1] > 1 \
        else np.where(predicted == 1, probabilities[:, 0], 1 - probabilities[:, 0])
    truth = predicted if y_true is None else np.asarray(y_true)
    queues = []
    for label in range(max(probabilities.shape[1], 2)):
        rows = np.flatnonzero(truth == label)
        rows = rows[np.argsort(-confidence[rows], kind="stable")]
        right, wrong = rows[predicted[rows] == label], rows[predicted[rows] != label]
        queue = [r for pair in zip(right, wrong) for r in pair]  # correct, mistake, correct, mistake, ...
        queue += [int(r) for r in (right if len(right) > len(wrong) else wrong)[min(len(right), len(wrong)):]]
        queues.append(queue)
    chosen: list[int] = []
    depth = 0
    while len(chosen) < num_images and any(depth < len(q) for q in queues):
        chosen += [int(q[depth]) for q in queues if depth < len(q)][:num_images - len(chosen)]
        depth += 1
    return np.asarray(chosen, dtype=np.int64)


def chosen_rows(sources: Sequence[str], wanted: Sequence[str], dataset_name: str) -> np.ndarray:
    """The row of each wanted image path (the first row when a path repeats), or one DataError naming those
    that are not in the table."""
    first: dict[str, int] = {}
    for row, source in enumerate(sources):
        first.setdefault(source, row)
    missing = [path for path in wanted if path not in first]
    if missing:
        example = sources[0] if len(sources) else ""
        raise DataError(f"--explain_images: {len(missing)} path(s) are not image paths of {dataset_name}'s "
                        f"explained rows: {', '.join(map(repr, missing[:5]))} (paths are written as in the "
                        f"table, e.g. {example!r})")
    return np.asarray([first[path] for path in wanted], dtype=np.int64)


def predicted_classes(probabilities: np.ndarray) -> np.ndarray:
    """(N, K) → (N,) class index; a one-column (binary) output is class 1 when p >= 0.5."""
    if probabilities.shape[1] == 1:
        return (probabilities[:, 0] >= 0.5).astype(np.int64)
    return probabilities.argmax(axis=1)


def patch_share(heatmaps: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """heatmaps (N, H, W) non-negative, mask (H, W) bool → (N,) the fraction of each map's mass inside the
    mask (NaN for an all-zero map)."""
    total = heatmaps.reshape(len(heatmaps), -1).sum(axis=1)
    inside = heatmaps[:, mask].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / np.where(total > 0, total, 1), np.nan)


def rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, H, W) twice → (N,) Spearman rank correlation of each pair of maps (Adebayo et al. 2018's measure
    of how much a map depends on the trained weights)."""
    from scipy.stats import spearmanr

    return np.asarray([spearmanr(x.ravel(), y.ravel()).statistic for x, y in zip(a, b)], dtype=np.float64)
