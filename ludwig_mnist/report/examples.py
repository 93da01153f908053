"""Which images the reports show: the most confident mistakes per class, and a few training images per class.

Pure numpy over a split and its evaluation; the galleries' caps live here and nowhere else.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..results import ImageExample, SplitEvaluation

GALLERY_PER_CLASS = 4  # misclassified examples kept and shown per true class
GALLERY_MAX = 200  # and shown in all
TRAINING_SAMPLES_PER_CLASS = 2


def misclassified_examples(images, sources: Sequence[str], evaluation: SplitEvaluation,
                           per_class: int = GALLERY_PER_CLASS) -> tuple[ImageExample, ...]:
    """The most confident mistakes, up to ``per_class`` for each true class, in vocabulary order.

    images: (N, H, W, C) uint8 (an array or DiskImages: only the shown rows are read), aligned with
    evaluation.y_true.  Rows whose label was unseen at training (-1) have no class to file them under.
    """
    predicted = evaluation.y_pred
    confidence = evaluation.probabilities[np.arange(len(predicted)), predicted]
    wrong = np.flatnonzero((predicted != evaluation.y_true) & (evaluation.y_true >= 0))
    examples, taken = [], {}
    for row in wrong[np.argsort(-confidence[wrong], kind="stable")]:
        true_index = int(evaluation.y_true[row])
        if taken.get(true_index, 0) < per_class:
            taken[true_index] = taken.get(true_index, 0) + 1
            examples.append(ImageExample(images[int(row)], evaluation.class_names[true_index], sources[row],
                                         evaluation.class_names[predicted[row]], float(confidence[row])))
    return tuple(sorted(examples, key=lambda e: evaluation.class_names.index(e.true_label)))


def training_examples(images, labels: np.ndarray, sources: Sequence[str], class_names: Sequence[str],
                      per_class: int = TRAINING_SAMPLES_PER_CLASS) -> tuple[ImageExample, ...]:
    """The first ``per_class`` training images of each class, in vocabulary order."""
    examples = []
    for index, name in enumerate(class_names):
        for row in np.flatnonzero(labels == index)[:per_class]:
            examples.append(ImageExample(images[int(row)], name, sources[row]))
    return tuple(examples)
