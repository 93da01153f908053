"""Plain result objects passed between the pipeline stages.

train.py and evaluate.py return these; artifacts.py and report.py consume them.
Nothing here does I/O, so a report can be rendered from hand-made results in a
test without training anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SPLIT_NAMES = ("training", "validation", "test")


@dataclass(frozen=True)
class DatasetSummary:
    """What the data stage found."""

    split_counts: dict[str, int]  # {"training": n, "validation": n, "test": n}
    class_names: tuple[str, ...]  # vocabulary order (Ludwig idx2str: by descending frequency)
    class_frequencies: dict[str, int]  # label -> row count over all used rows
    image_height: int
    image_width: int
    num_channels: int
    dataset_name: str = ""  # file name of the CSV as the user gave it
    archive_name: str = ""  # file name of the image archive
    dropped_rows: int = 0  # rows dropped for an empty/NaN label (Ludwig's drop_row)
    notes: tuple[str, ...] = ()  # human sentences: "carved 10% validation from training", "resized 3 images", ...


@dataclass(frozen=True)
class EpochStats:
    """One epoch of training. metrics: {"training": {"loss": .., "accuracy": ..}, "validation": {...}}."""

    epoch: int  # 1-based
    seconds: float  # the training pass only (what images/s is measured on)
    metrics: dict[str, dict[str, float]]
    learning_rate: float | None = None
    eval_seconds: float = 0.0  # end-of-epoch evaluation of validation/test/training sample


@dataclass(frozen=True)
class TrainingSummary:
    epochs: tuple[EpochStats, ...]
    best_epoch: int  # 1-based epoch whose weights were kept
    stop_reason: str  # e.g. "completed 5 epochs", "early stopping: validation accuracy did not improve for 5 epochs"
    batch_size: int
    train_images: int

    @property
    def epochs_run(self) -> int:
        return len(self.epochs)

    @property
    def images_per_second(self) -> list[float]:
        return [self.train_images / e.seconds if e.seconds > 0 else 0.0 for e in self.epochs]


@dataclass(frozen=True)
class SplitEvaluation:
    """Predictions and metrics of the model on one split.

    y_true: (N,) int class indices into class_names; -1 marks a label unseen at
    training time (always counted as an error).  probabilities: (N, C) float32.
    statistics: the Ludwig-format dict for the output feature (accuracy,
    accuracy_micro, hits_at_k, loss, roc_auc, confusion_matrix, overall_stats,
    per_class_stats, ...), exactly what goes into test_statistics.json.
    """

    split: str
    class_names: tuple[str, ...]
    y_true: np.ndarray
    probabilities: np.ndarray
    statistics: dict[str, Any]
    unseen_label_count: int = 0
    # Computed once by evaluate.evaluate_predictions; the report draws from them and recomputes nothing.
    confusion: np.ndarray | None = None  # (C, C) int64 counts, rows = true class; unseen labels left out
    roc: dict[int, tuple[np.ndarray, np.ndarray, float]] | None = None  # class → (fpr, tpr, auc), one-vs-rest
    micro_roc: tuple[np.ndarray, np.ndarray, float] | None = None  # all (row, class) pairs as one problem
    threshold: float | None = None  # a binary output: True where P(True) >= threshold (evaluate_binary.py)

    @property
    def y_pred(self) -> np.ndarray:
        if self.threshold is not None:
            return (self.probabilities[:, 1] >= self.threshold).astype(np.int64)
        return np.argmax(self.probabilities, axis=1)

    @property
    def accuracy(self) -> float:
        """Plain accuracy (fraction of rows predicted right): Ludwig's accuracy_micro, or a binary's accuracy."""
        return float(self.statistics["accuracy" if self.threshold is not None else "accuracy_micro"])

    @property
    def loss(self) -> float:
        return float(self.statistics["loss"])


@dataclass(frozen=True)
class LayerRow:
    name: str
    layer_type: str
    output_shape: str  # e.g. "(None, 13, 13, 32)"
    params: int


@dataclass(frozen=True)
class ImageExample:
    """An image shown in the report. image: (H, W, C) uint8 with C in {1, 3, 4}."""

    image: np.ndarray
    true_label: str
    source: str  # image path as written in the CSV
    predicted_label: str | None = None
    probability: float | None = None  # probability of predicted_label


@dataclass(frozen=True)
class RunEnvironment:
    versions: dict[str, str]  # {"ludwig_mnist": .., "tensorflow": .., "keras": .., "python": .., ...}
    device: str  # "CPU (2 threads)" or "GPU: NVIDIA A100 ..."
    threads: int


@dataclass(frozen=True)
class ExperimentResult:
    """Everything the report and the artifacts need about one experiment."""

    resolved_config: dict[str, Any]  # every default made explicit
    random_seed: int
    dataset: DatasetSummary
    training: TrainingSummary
    evaluations: dict[str, SplitEvaluation]  # subset of SPLIT_NAMES, in that order
    eval_split: str  # the split whose statistics go to test_statistics.json
    model_layers: tuple[LayerRow, ...]
    total_params: int
    trainable_params: int
    environment: RunEnvironment
    timings: dict[str, float]  # phase -> seconds, in pipeline order ("extract", "decode", "train", "evaluate", ...)
    wall_seconds: float
    misclassified: tuple[ImageExample, ...] = ()
    training_samples: tuple[ImageExample, ...] = ()
    notes: tuple[str, ...] = field(default=())
    # artifacts/weights.WeightsProvenance: what the encoder started from; None when a saved model's weights did
    weights: Any = None
    explanations: Any = None  # explain.outputs.Explanations of the shown split, when --explain was given

    @property
    def shown_split(self) -> str:
        """The split the report and gallery show: eval_split, or (when that split is empty, which the run's
        notes say) the last split evaluated, in SPLIT_NAMES order."""
        return shown_split(self.eval_split, self.evaluations)

    @property
    def shown_evaluation(self) -> SplitEvaluation:
        return self.evaluations[self.shown_split]


def shown_split(eval_split: str, evaluated) -> str:
    """eval_split if it was evaluated, else the last evaluated split in SPLIT_NAMES order."""
    if eval_split in evaluated:
        return eval_split
    present = [s for s in SPLIT_NAMES if s in evaluated]
    if not present:
        raise ValueError("no split was evaluated")
    return present[-1]


def plain(value: Any) -> Any:
    """Config values as plain YAML types (tuples, numpy scalars and paths are not)."""
    if isinstance(value, Mapping):  # a layer entry's keys left to inherit (config.checks.INHERIT) are left out
        return {str(k): plain(v) for k, v in value.items() if repr(v) != "INHERIT"}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
