"""The model directory (Galaxy's ``ludwig_model`` composite): written after training, read by predict,
fine-tuning and resuming.

    model_hyperparameters.json   the fully resolved config, plus the writer's version and model format
    model_weights                Keras .weights.h5 content (not Ludwig's PyTorch weights)
    training_set_metadata.json   Ludwig's layout: class vocabulary, image size and resize method
    training_progress.json       epochs run, best epoch, per-epoch metrics (optional when reading)
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..config.load import parse_config
from ..config.schema import ExperimentConfig
from ..data.prepare import Metadata
from ..errors import ConfigError, ModelError, one_line
from ..results import ExperimentResult
from .staging import write_json

MODEL_FORMAT = 2  # bump when a saved model can no longer be read by build_model + load_weights
# 2: Ludwig 0.10 semantics (layer inheritance, the 32→64 default stack, one schema per optimizer)
MODEL_PARTS = ("model_hyperparameters.json", "model_weights", "training_set_metadata.json", "training_progress.json")
REQUIRED_MODEL_PARTS = MODEL_PARTS[:3]  # training_progress.json is optional in Galaxy's ludwig_model


def hyperparameters_json(config: ExperimentConfig) -> dict[str, Any]:
    return {**config.to_dict(), "ludwig_mnist_version": __version__, "ludwig_mnist_model_format": MODEL_FORMAT}


def _trainer_metrics(result: ExperimentResult, split: str, steps_per_epoch: int) -> dict[str, Any]:
    """Ludwig's {feature: {metric: [[epoch, step, value], ...]}, "combined": {"loss": [...]}} (TrainerMetric)."""
    feature = result.resolved_config["output_features"][0]["name"]
    by_metric: dict[str, list] = {}
    for epoch in result.training.epochs:
        for metric, value in (epoch.metrics.get(split) or {}).items():
            by_metric.setdefault(metric, []).append([epoch.epoch, epoch.epoch * steps_per_epoch, value])
    if not by_metric:
        return {}
    return {feature: by_metric, "combined": {"loss": by_metric.get("loss", [])}}


def training_progress_json(result: ExperimentResult) -> dict[str, Any]:
    """Ludwig 0.10's ProgressTracker keys (utils/trainer_utils.py) with their shapes: `epoch`, `steps`,
    `batch_size` and `learning_rate` are scalars (Galaxy-Ludwig's report reads these three), metrics are
    TrainerMetric triples; this tool's extras follow, under names Ludwig does not use."""
    training = result.training
    steps_per_epoch = max(1, -(-training.train_images // max(training.batch_size, 1)))
    metric = result.resolved_config["trainer"]["validation_metric"]
    best = next((e for e in training.epochs if e.epoch == training.best_epoch), None)
    last = training.epochs[-1]
    best_metrics = {split: {result.resolved_config["output_features"][0]["name"]: best.metrics[split]}
                    for split in ("training", "validation", "test") if best and split in best.metrics}
    return {
        "epoch": last.epoch,  # the last epoch's number (a resumed run starts after 1)
        "steps": last.epoch * steps_per_epoch,
        "batch_size": training.batch_size,
        "learning_rate": last.learning_rate,
        "checkpoint_number": last.epoch,
        "best_eval_metric_epoch": training.best_epoch,
        "best_eval_metric_steps": training.best_epoch * steps_per_epoch,
        "best_eval_metric_checkpoint_number": training.best_epoch,
        "best_eval_metric_value": best.metrics.get("validation", {}).get(metric) if best else None,
        "best_eval_train_metrics": best_metrics.get("training", {}),
        "best_eval_validation_metrics": best_metrics.get("validation", {}),
        "best_eval_test_metrics": best_metrics.get("test", {}),
        "last_improvement_steps": training.best_epoch * steps_per_epoch,
        "num_increases_batch_size": 0,  # the batch size never changes here
        "checkpoint_to_epoch": {str(e.epoch): e.epoch for e in training.epochs},
        "checkpoint_to_step": {str(e.epoch): e.epoch * steps_per_epoch for e in training.epochs},
        "train_metrics": _trainer_metrics(result, "training", steps_per_epoch),
        "validation_metrics": _trainer_metrics(result, "validation", steps_per_epoch),
        "test_metrics": _trainer_metrics(result, "test", steps_per_epoch),
        # this tool's extras
        "epochs_in_this_run": training.epochs_run,
        "validation_metric": metric,
        "stop_reason": training.stop_reason,
        "learning_rate_per_epoch": [epoch.learning_rate for epoch in training.epochs],
        "epoch_seconds": [round(epoch.seconds, 3) for epoch in training.epochs],
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


@dataclass(frozen=True)
class SavedModel:
    """A model directory read back: its config, metadata and the Keras model with its weights."""

    path: Path
    config: ExperimentConfig
    metadata: Metadata
    model: Any  # keras.Model

    def resume_epoch(self) -> int:
        """The last epoch recorded in training_progress.json (resuming continues after it)."""
        progress_file = self.path / "training_progress.json"
        if not progress_file.is_file():
            raise ModelError(f"model {self.path.name} has no training_progress.json to resume from; "
                             "use --model_load_path to fine-tune it instead")
        try:
            return int(json.loads(progress_file.read_text(encoding="utf-8"))["epoch"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
            raise ModelError(f"training_progress.json of {self.path.name} has no readable epoch ({one_line(err)})") from None


def load_model_dir(model_dir: Path) -> SavedModel:
    """Read a model written by `experiment`; builds the network (imports Keras)."""
    from ..model.build import build_model

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
        raise ModelError(f"model directory {model_dir.name}: a JSON part is unreadable ({one_line(err)})") from None
    for part, document in (("model_hyperparameters.json", hyper), ("training_set_metadata.json", meta_json)):
        if not isinstance(document, dict):
            raise ModelError(f"{part} of {model_dir.name} holds a JSON {type(document).__name__}, not the mapping a "
                             "ludwig_model writes; was another file uploaded as this part?")
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
    except KeyError as err:
        raise ModelError(f"training_set_metadata.json of {model_dir.name} lacks {one_line(err)}") from None
    except (TypeError, ValueError, AttributeError) as err:
        raise ModelError(f"training_set_metadata.json of {model_dir.name} is not in the layout a ludwig_model writes "
                         f"({one_line(err)})") from None
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
    return SavedModel(model_dir, config, metadata, model)
