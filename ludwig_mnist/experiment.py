"""The `experiment` pipeline: config → data → model → train → evaluate → artifacts + report.

Each stage lives in its own module; this one only wires them together, times
them, and publishes the outputs atomically when everything succeeded.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import runtime
from .archive import ArchiveLimits
from .artifacts import (OutputStaging, description_json, predictions_frame, write_json, write_model_dir,
                        write_predictions, write_statistics)
from .config import load_config
from .data import EXTRACTED_DIR, SPLIT_CODES, PreparedData, SplitData, prepare_data
from .evaluate import evaluate_predictions
from .results import SPLIT_NAMES, ExperimentResult, ImageExample, SplitEvaluation

MISCLASSIFIED_PER_CLASS = 3
TRAINING_SAMPLES_PER_CLASS = 2


def misclassified_examples(split: SplitData, evaluation: SplitEvaluation, per_class: int) -> tuple[ImageExample, ...]:
    """The most confident mistakes, up to `per_class` for each true class."""
    predicted = evaluation.y_pred
    confidence = evaluation.probabilities[np.arange(len(predicted)), predicted]
    # rows with a label unseen at training (-1) have no class to file them under: the gallery skips them
    wrong = np.flatnonzero((predicted != evaluation.y_true) & (evaluation.y_true >= 0))
    examples, taken = [], {}
    for row in wrong[np.argsort(-confidence[wrong], kind="stable")]:
        true_index = int(evaluation.y_true[row])
        if taken.get(true_index, 0) < per_class:
            taken[true_index] = taken.get(true_index, 0) + 1
            examples.append(ImageExample(split.images[row], evaluation.class_names[true_index], split.sources[row],
                                         evaluation.class_names[predicted[row]], float(confidence[row])))
    return tuple(sorted(examples, key=lambda e: evaluation.class_names.index(e.true_label)))


def training_examples(split: SplitData, class_names: Sequence[str], per_class: int) -> tuple[ImageExample, ...]:
    examples = []
    for index, name in enumerate(class_names):
        for row in np.flatnonzero(split.labels == index)[:per_class]:
            examples.append(ImageExample(split.images[row], name, split.sources[row]))
    return tuple(examples)


def start_weights(model, saved_model, model_dir: Path, epochs: int, *, resume: bool, notes: list[str],
                  log: Callable[[str], None]) -> int:
    """Copy a saved model's weights into `model`; returns the epoch to start from (0 unless resuming)."""
    import json

    from .errors import ConfigError, ModelError

    try:
        model.set_weights(saved_model.get_weights())
    except ValueError as err:
        raise ModelError(f"the config describes another network than the model in {model_dir.name} "
                         f"({str(err).splitlines()[0]}); start from that model's model_hyperparameters.json and "
                         "change only trainer settings") from None
    initial_epoch = 0
    if resume:
        progress_file = model_dir / "training_progress.json"
        if not progress_file.is_file():
            raise ModelError(f"model {model_dir.name} has no training_progress.json to resume from; "
                             "use --model_load_path to fine-tune it instead")
        initial_epoch = int(json.loads(progress_file.read_text(encoding="utf-8"))["epoch"])
        if initial_epoch >= epochs:
            raise ConfigError(f"config key 'trainer.epochs': the model in {model_dir.name} already ran "
                              f"{initial_epoch} epochs; set trainer.epochs above {initial_epoch} to resume")
        notes.append(f"resumed the model in {model_dir.name} after its epoch {initial_epoch}: epochs "
                     f"{initial_epoch + 1}-{epochs} run now; the optimizer state starts afresh")
    else:
        notes.append(f"fine-tuned from the weights of the model in {model_dir.name}")
    log(f"note: {notes[-1]}")
    return initial_epoch


def run_experiment(config_path: Path, dataset_path: Path | None, raw_data_path: Path, output_dir: Path, *,
                   random_seed: int = 42, eval_split: str = "test", data_format: str = "auto",
                   limits: ArchiveLimits | None = None, max_image_pixels: int | None = None,
                   command: Sequence[str] | None = None, log: Callable[[str], None] = print,
                   tensorboard: bool = False, labels_from: str = "folder", model_load_path: Path | None = None,
                   model_resume_path: Path | None = None) -> ExperimentResult:
    """dataset_path None reads a folder-format archive (train/<class>/…); labels_from picks folder or file names.

    model_load_path: start from a saved model's weights (fine-tuning); model_resume_path: also continue its
    epoch count up to trainer.epochs.  The config must describe the same network.
    """
    wall_start = time.perf_counter()
    config = load_config(config_path)  # before touching the output directory: a bad config writes nothing
    staging = OutputStaging(output_dir)
    deleting: threading.Thread | None = None
    try:
        timings: dict[str, float] = {}
        start_from = model_resume_path or model_load_path
        saved_model, saved_metadata = None, None
        if start_from is not None:
            runtime.configure(random_seed)  # before TensorFlow loads the saved model
            from .artifacts import load_model_dir
            _, saved_metadata, saved_model = load_model_dir(Path(start_from))

        # The data stage needs no TensorFlow: bad input fails in about a second, before the slow import.
        data: PreparedData = prepare_data(
            config, dataset_path, raw_data_path, staging.work, seed=random_seed, data_format=data_format,
            labels_from=labels_from, like=saved_metadata, limits=limits, max_image_pixels=max_image_pixels,
            num_workers=runtime.granted_cpu_threads(), log=log)

        start = time.perf_counter()
        environment = runtime.configure(random_seed)
        runtime.reseed(random_seed)
        from .model import build_model, format_summary, input_adaptation, layer_rows  # imports TensorFlow (seconds)
        from .train import predict_probabilities, resolve_eval_batch_size, train_model
        timings["startup"] = time.perf_counter() - start
        log(f"ludwig-mnist {environment.versions['ludwig_mnist']} on {environment.device}, "
            f"TensorFlow {environment.versions['tensorflow']}, seed {random_seed}")
        timings.update(data.timings)
        # The extracted image files are not read again.  Unlinking them (70k MNIST files: 4-80 s on a busy
        # local disk, longer on network storage) overlaps training on this thread instead of ending the job.
        deleting = threading.Thread(target=shutil.rmtree, args=(staging.work / EXTRACTED_DIR, True),
                                    name="delete-extracted-images", daemon=True)
        deleting.start()
        notes = list(data.summary.notes)
        if eval_split not in data.splits:
            notes.append(f"the {eval_split} split is empty: test_statistics.json and predictions.csv are not "
                         "written; metrics are reported for the other splits")
            log(f"note: {notes[-1]}")

        start = time.perf_counter()
        image = data.metadata.image
        model = build_model(config, (image.height, image.width, image.num_channels), len(data.metadata.class_names))
        for note in input_adaptation(config, (image.height, image.width, image.num_channels))[1]:
            notes.append(f"model input: {note}")
            log(f"note: {notes[-1]}")
        initial_epoch = 0
        if saved_model is not None:
            initial_epoch = start_weights(model, saved_model, Path(start_from), config.trainer.epochs,
                                          resume=model_resume_path is not None, notes=notes, log=log)
        layers = layer_rows(model)
        trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
        total = int(model.count_params())
        log(format_summary(layers, trainable, total))
        timings["build_model"] = time.perf_counter() - start

        start = time.perf_counter()
        training = train_model(model, config, data.metadata, data.splits, random_seed, log,
                               tensorboard_dir=staging.staging / "tensorboard" if tensorboard else None,
                               initial_epoch=initial_epoch)
        timings["train"] = time.perf_counter() - start
        for epoch in training.epochs:
            timings[f"epoch {epoch.epoch}"] = epoch.seconds + epoch.eval_seconds

        start = time.perf_counter()
        evaluations, probabilities = {}, {}
        for name in SPLIT_NAMES:
            if name in data.splits:
                split = data.splits[name]
                probabilities[name] = predict_probabilities(model, split.images, resolve_eval_batch_size(config))
                evaluations[name] = evaluate_predictions(name, split.labels, probabilities[name],
                                                         data.metadata.class_names, config.output_feature.top_k)
        timings["evaluate"] = time.perf_counter() - start
        for name, evaluation in evaluations.items():
            log(f"{name}: accuracy {evaluation.accuracy:.4f}, loss {evaluation.loss:.4f}, "
                f"hits_at_{config.output_feature.top_k} {evaluation.statistics['hits_at_k']:.4f}")

        shown_split = eval_split if eval_split in evaluations else list(evaluations)[-1]
        result = ExperimentResult(
            resolved_config=config.to_dict(), random_seed=random_seed, dataset=data.summary, training=training,
            evaluations=evaluations, eval_split=eval_split, model_layers=layers, total_params=total,
            trainable_params=trainable, environment=environment, timings=dict(timings),
            wall_seconds=time.perf_counter() - wall_start,
            misclassified=misclassified_examples(data.splits[shown_split], evaluations[shown_split],
                                                 MISCLASSIFIED_PER_CLASS),
            training_samples=training_examples(data.splits["training"], data.metadata.class_names,
                                               TRAINING_SAMPLES_PER_CLASS),
            notes=tuple(notes))

        start = time.perf_counter()
        run_dir = staging.staging / "experiment_run"
        write_model_dir(run_dir / "model", model, config, data.metadata, result)
        write_statistics(run_dir, result, config.output_feature.name)
        if eval_split in data.splits:
            split = data.splits[eval_split]
            code = {v: k for k, v in SPLIT_CODES.items()}[eval_split]
            frame = predictions_frame(config.input_feature.column_name, config.output_feature.name,
                                      config.output_feature.column_name, split.sources,
                                      [data.metadata.class_names[i] for i in split.labels],
                                      [code] * len(split.labels), probabilities[eval_split],
                                      data.metadata.class_names)
            write_predictions(run_dir / "predictions.csv", frame)
        timings["write_artifacts"] = time.perf_counter() - start

        start = time.perf_counter()
        from .report import write_experiment_report
        write_experiment_report(result, staging.staging)
        timings["report"] = time.perf_counter() - start
        write_json(run_dir / "description.json",
                   description_json(result, command or sys.argv,
                                    Path(dataset_path).name if dataset_path else "(folders of the archive)",
                                    Path(raw_data_path).name)
                   | {"timings_seconds": {k: round(v, 3) for k, v in timings.items()}})
        staging.publish()
        log(f"done in {time.perf_counter() - wall_start:.1f} s; results in {Path(output_dir)}")
        return result
    finally:
        if deleting is not None:
            deleting.join()
        staging.cleanup()
