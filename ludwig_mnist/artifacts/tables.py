"""Ludwig's result files: training_statistics.json, test_statistics.json, description.json, predictions.csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from ..evaluate import test_statistics_json, training_statistics_entry
from ..results import ExperimentResult
from .staging import write_json


def training_statistics_json(result: ExperimentResult, output_name: str) -> dict[str, Any]:
    stats: dict[str, Any] = {"evaluation_frequency": {"frequency": 1, "period": "epoch"}}
    for split in ("training", "validation", "test"):
        per_epoch = [epoch.metrics[split] for epoch in result.training.epochs if split in epoch.metrics]
        if per_epoch:
            stats[split] = training_statistics_entry(per_epoch, output_name)
    return stats


def description_json(result: ExperimentResult, command: Sequence[str], dataset: str, raw_data: str) -> dict:
    return {
        "command": " ".join(command),
        "config": result.resolved_config,
        "dataset": dataset,
        "data_format": "folders" if dataset.startswith("(") else Path(dataset).suffix.lstrip(".").lower(),
        "raw_data": raw_data,
        "random_seed": result.random_seed,
        "eval_split": result.eval_split,
        "ludwig_mnist_version": __version__,
        "versions": result.environment.versions,
        "compute": {"device": result.environment.device, "threads": result.environment.threads},
        "data": {"split_counts": result.dataset.split_counts, "classes": list(result.dataset.class_names),
                 "image_shape": [result.dataset.image_height, result.dataset.image_width, result.dataset.num_channels],
                 "notes": list(result.notes)},
        "training": {"epochs_run": result.training.epochs_run, "best_epoch": result.training.best_epoch,
                     "stop_reason": result.training.stop_reason, "batch_size": result.training.batch_size},
        "timings_seconds": {k: round(v, 3) for k, v in result.timings.items()},
    } | ({"weights": result.weights.to_dict()} if result.weights is not None else {})


def predictions_frame(input_column: str, output_name: str, output_column: str, sources: Sequence[str],
                      true_labels: Sequence[str] | None, split_codes: Sequence[int] | None,
                      probabilities: np.ndarray, class_names: Sequence[str],
                      threshold: float | None = None) -> pd.DataFrame:
    """Ludwig's prediction columns: <out>_predictions, <out>_probability, <out>_probabilities_<class>.

    threshold: a binary output (probabilities (N, 2) [P(False), P(True)]): the prediction is True where
    P(True) >= threshold, and <out>_probability is max(P(True), 1 - P(True)), as Ludwig's postprocessing writes.
    """
    columns: dict[str, Any] = {input_column: list(sources)}
    if true_labels is not None:
        columns[output_column] = list(true_labels)
    if split_codes is not None:
        columns["split"] = list(split_codes)
    if threshold is None:
        predicted = np.argmax(probabilities, axis=1)
        probability = probabilities[np.arange(len(predicted)), predicted]
    else:
        predicted = (probabilities[:, 1] >= threshold).astype(np.int64)
        probability = probabilities.max(axis=1)
    columns[f"{output_name}_predictions"] = [class_names[i] for i in predicted]
    columns[f"{output_name}_probability"] = probability
    for index, name in enumerate(class_names):
        columns[f"{output_name}_probabilities_{name}"] = probabilities[:, index]
    return pd.DataFrame(columns)


def write_predictions(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.6f")


def write_statistics(run_dir: Path, result: ExperimentResult, output_name: str) -> None:
    write_json(run_dir / "training_statistics.json", training_statistics_json(result, output_name))
    if result.eval_split in result.evaluations:
        write_json(run_dir / "test_statistics.json",
                   test_statistics_json(result.evaluations[result.eval_split], output_name))
