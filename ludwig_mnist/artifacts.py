"""Artifacts stage: the model directory, statistics JSON and predictions CSV, written atomically.

Everything is written into a staging directory inside the output directory
and moved into place only when the whole run has succeeded, so a failed run
never leaves a file that looks like a finished result.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import __version__
from .config import ExperimentConfig, parse_config
from .data import Metadata
from .errors import ConfigError, ModelError, OutputError
from .evaluate import test_statistics_json, training_statistics_entry
from .results import ExperimentResult

MODEL_FORMAT = 1  # bump when a saved model can no longer be read by build_model + load_weights
MODEL_PARTS = ("model_hyperparameters.json", "model_weights", "training_set_metadata.json", "training_progress.json")
REQUIRED_MODEL_PARTS = MODEL_PARTS[:3]  # training_progress.json is optional in Galaxy's ludwig_model


class OutputStaging:
    """A scratch and a staging directory inside `output_dir`; publish() moves staged results into place."""

    def __init__(self, output_dir: Path):
        self.output_dir = Path(output_dir)
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.output_dir))
            self.work = Path(tempfile.mkdtemp(prefix=".work-", dir=self.output_dir))
        except OSError as err:
            raise OutputError(f"output directory {self.output_dir} is not writable: {err.strerror}") from None

    def publish(self) -> None:
        for entry in sorted(self.staging.iterdir()):
            target = self.output_dir / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            os.replace(entry, target)
        self.staging.rmdir()

    def cleanup(self) -> None:
        """Remove the scratch data and anything staged but not published."""
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- model directory


def hyperparameters_json(config: ExperimentConfig) -> dict[str, Any]:
    return {**config.to_dict(), "ludwig_mnist_version": __version__, "ludwig_mnist_model_format": MODEL_FORMAT}


def training_progress_json(result: ExperimentResult) -> dict[str, Any]:
    training = result.training
    per_split = {name: [epoch.metrics.get(name) for epoch in training.epochs]
                 for name in ("training", "validation", "test")}
    metric = result.resolved_config["trainer"]["validation_metric"]
    best = next((e for e in training.epochs if e.epoch == training.best_epoch), None)
    return {
        "epoch": training.epochs[-1].epoch,  # the last epoch's number (a resumed run starts after 1)
        "epochs_in_this_run": training.epochs_run,
        "best_eval_metric_epoch": training.best_epoch,
        "validation_metric": metric,
        "best_eval_metric_value": best.metrics.get("validation", {}).get(metric) if best else None,
        "stop_reason": training.stop_reason,
        "batch_size": training.batch_size,
        "learning_rate": [epoch.learning_rate for epoch in training.epochs],
        "epoch_seconds": [round(epoch.seconds, 3) for epoch in training.epochs],
        "train_metrics": per_split["training"],
        "validation_metrics": per_split["validation"] if any(per_split["validation"]) else [],
        "test_metrics": per_split["test"] if any(per_split["test"]) else [],
    }


def write_model_dir(model_dir: Path, model, config: ExperimentConfig, metadata: Metadata,
                    result: ExperimentResult) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    write_json(model_dir / "model_hyperparameters.json", hyperparameters_json(config))
    write_json(model_dir / "training_set_metadata.json", metadata.to_json())
    write_json(model_dir / "training_progress.json", training_progress_json(result))
    # Keras 3 insists on the .weights.h5 suffix; Galaxy's ludwig_model part is named model_weights.
    weights = model_dir / "model.weights.h5"
    model.save_weights(weights)
    weights.rename(model_dir / "model_weights")


def load_model_dir(model_dir: Path):
    """Read a model written by `experiment` → (config, metadata, keras model with weights)."""
    from .model import build_model

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelError(f"model directory {model_dir} does not exist")
    missing = [part for part in REQUIRED_MODEL_PARTS if not (model_dir / part).is_file()]
    if missing:
        raise ModelError(f"model directory {model_dir.name} is missing {', '.join(missing)}; a ludwig_model holds "
                         f"{', '.join(MODEL_PARTS)} (the last is optional)")
    try:
        hyper = json.loads((model_dir / "model_hyperparameters.json").read_text(encoding="utf-8"))
        meta_json = json.loads((model_dir / "training_set_metadata.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelError(f"model directory {model_dir.name}: a JSON part is unreadable ({err})") from None
    version = hyper.pop("ludwig_mnist_version", None)
    model_format = hyper.pop("ludwig_mnist_model_format", None)
    if model_format != MODEL_FORMAT:
        written_by = f"ludwig_mnist {version}" if version else "another program (no ludwig_mnist_version recorded)"
        raise ModelError(f"model in {model_dir.name} was written by {written_by} in model format {model_format}; "
                         f"this is ludwig_mnist {__version__}, which reads model format {MODEL_FORMAT}. "
                         "Retrain the model with this version, or predict with the version that trained it")
    try:
        config = parse_config(hyper)
    except ConfigError as err:
        raise ModelError(f"model_hyperparameters.json of {model_dir.name}: {err}") from None
    try:
        metadata = Metadata.from_json(meta_json, config.input_feature.name, config.output_feature.name)
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(f"training_set_metadata.json of {model_dir.name} lacks {err}") from None
    image = metadata.image
    model = build_model(config, (image.height, image.width, image.num_channels), len(metadata.class_names))
    with tempfile.TemporaryDirectory() as scratch:
        weights = Path(scratch) / "model.weights.h5"
        shutil.copyfile(model_dir / "model_weights", weights)
        try:
            model.load_weights(weights)
        except (ValueError, OSError) as err:
            raise ModelError(f"model_weights of {model_dir.name} do not fit the architecture in "
                             f"model_hyperparameters.json: {str(err).splitlines()[0]}") from None
    return config, metadata, model


# ---------------------------------------------------------------- statistics and predictions


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
    }


def predictions_frame(input_column: str, output_name: str, output_column: str, sources: Sequence[str],
                      true_labels: Sequence[str] | None, split_codes: Sequence[int] | None,
                      probabilities: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """Ludwig's prediction columns: <out>_predictions, <out>_probability, <out>_probabilities_<class>."""
    columns: dict[str, Any] = {input_column: list(sources)}
    if true_labels is not None:
        columns[output_column] = list(true_labels)
    if split_codes is not None:
        columns["split"] = list(split_codes)
    predicted = np.argmax(probabilities, axis=1)
    columns[f"{output_name}_predictions"] = [class_names[i] for i in predicted]
    columns[f"{output_name}_probability"] = probabilities[np.arange(len(predicted)), predicted]
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
