"""The `experiment` pipeline: data → model → train → evaluate → artifacts + report, published atomically.

    run_experiment(config, options)      stages the output, prepares the data, runs, publishes
    train_and_write(config, data, ...)   everything after the data stage, into a given directory; compare
                                         calls it once per grid point on data it prepared once

Each stage lives in its own module; this one only wires them together and times them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .. import runtime
from ..artifacts.installed import InstalledWeights, apply_installed, read_installed
from ..artifacts.model_dir import SavedModel, write_model_dir
from ..artifacts.staging import OutputStaging, write_json
from ..artifacts.tables import (
    description_json,
    predictions_frame,
    write_predictions,
    write_statistics,
)
from ..config.schema import ExperimentConfig
from ..data.prepare import PreparedData, discard_extracted, prepare_data
from ..data.splits import CODE_OF_SPLIT
from ..errors import ConfigError, ModelError, disk_full
from ..evaluate_binary import evaluate_feature, summary_line
from ..options import RunOptions
from ..report.examples import misclassified_examples, training_examples
from ..results import SPLIT_NAMES, ExperimentResult, shown_split

Log = Callable[[str], None]


def run_experiment(config: ExperimentConfig, options: RunOptions, log: Log = print) -> ExperimentResult:
    """One experiment into options.output_directory; nothing there looks like a result unless it succeeded."""
    wall_start = time.perf_counter()
    installed = None
    if options.installed_weights is not None:  # checked before any work: a wrong choice fails in a second
        if options.start_model is not None or options.encoder_from is not None:
            raise ConfigError("--installed_weights: a saved model (or its encoder) to start from was given too, and "
                              "its weights replace the backbone's; keep one of them")
        installed = read_installed(options.installed_weights)
        config = apply_installed(config, installed)
    for note in (*config.notes, *options.notes):  # upgraded spellings, keys without effect: before any work
        log(f"note: {note}")
    staging = OutputStaging(options.output_directory)
    deleting = None
    try:
        saved = None
        if options.start_model is not None:
            runtime.setup_process()  # before TensorFlow loads the saved model
            from ..artifacts.model_dir import load_model_dir

            saved = load_model_dir(Path(options.start_model))
        backbone = None
        if options.encoder_from is not None:  # transfer: another model's encoder, checked before the data stage
            runtime.setup_process()
            from ..artifacts.backbone import incompatibility, load_backbone

            backbone = load_backbone(options.encoder_from)
            if incompatibility(config, backbone):
                raise ConfigError(incompatibility(config, backbone))
        # The data stage needs no TensorFlow: bad input fails in about a second, before the slow import.
        data = prepare_data(config, options.data, staging.work, seed=options.random_seed,
                            num_workers=runtime.granted_cpu_threads(), like=saved.metadata if saved else None,
                            image_like=backbone.metadata.image if backbone else None, log=log)
        deleting = discard_extracted(staging.work)
        result = train_and_write(config, data, options, staging.staging, log=log, saved=saved,
                                 wall_start=wall_start, backbone=backbone, installed=installed)
        staging.publish()
        log(f"done in {time.perf_counter() - wall_start:.1f} s; results in {Path(options.output_directory)}")
        return result
    except OSError as err:  # a full disk while writing: one line with the figures; anything else is a bug
        if not disk_full(err):
            raise
        raise staging.out_of_space(err) from None
    finally:
        if deleting is not None:
            deleting.join()
        staging.cleanup()


def start_weights(model, saved: SavedModel, epochs: int, *, resume: bool, notes: list[str], log: Log) -> int:
    """Copy a saved model's weights into `model`; returns the epoch to start from (0 unless resuming)."""
    name = saved.path.name
    try:
        model.set_weights(saved.model.get_weights())
    except ValueError as err:
        raise ModelError(f"the config describes another network than the model in {name} "
                         f"({str(err).splitlines()[0]}); start from that model's model_hyperparameters.json and "
                         "change only trainer settings") from None
    initial_epoch = 0
    if resume:
        initial_epoch = saved.resume_epoch()
        if initial_epoch >= epochs:
            raise ConfigError(f"config key 'trainer.epochs': the model in {name} already ran "
                              f"{initial_epoch} epochs; set trainer.epochs above {initial_epoch} to resume")
        notes.append(f"resumed the model in {name} after its epoch {initial_epoch}: epochs "
                     f"{initial_epoch + 1}-{epochs} run now; the optimizer state starts afresh")
    else:
        notes.append(f"fine-tuned from the weights of the model in {name}")
    log(f"note: {notes[-1]}")
    return initial_epoch


def train_and_write(config: ExperimentConfig, data: PreparedData, options: RunOptions, out_dir: Path, *,
                    log: Log = print, saved: SavedModel | None = None,
                    wall_start: float | None = None, backbone: SavedModel | None = None,
                    installed: InstalledWeights | None = None) -> ExperimentResult:
    """Build, train and evaluate a model on prepared data; write experiment_run/ and the report into out_dir.

    installed: the data manager's entry that run_experiment has put into the config (artifacts/installed.py).
    """
    wall_start = time.perf_counter() if wall_start is None else wall_start
    out_dir = Path(out_dir)
    seed, eval_split = options.random_seed, options.evaluated_split
    timings: dict[str, float] = {}
    start = time.perf_counter()
    environment = runtime.configure(seed)
    from ..artifacts.weights import (
        load_pretrained_weights,  # these import TensorFlow (seconds, once)
    )
    from ..model.build import build_model, format_summary, input_adaptation, layer_rows
    from ..training.inference import predict_probabilities, resolve_eval_batch_size
    from ..training.train import train_model
    timings["startup"] = time.perf_counter() - start
    log(f"ludwig-mnist {environment.versions['ludwig_mnist']} on {environment.device}, "
        f"TensorFlow {environment.versions['tensorflow']}, seed {seed}")
    timings.update(data.timings)
    notes = list(config.notes) + list(options.notes) + list(data.summary.notes)
    if eval_split not in data.splits:
        notes.append(f"the {eval_split} split is empty: test_statistics.json and predictions.csv are not "
                     "written; metrics are reported for the other splits")
        log(f"note: {notes[-1]}")

    start = time.perf_counter()
    image = data.metadata.image
    image_shape = (image.height, image.width, image.num_channels)
    model = build_model(config, image_shape, len(data.metadata.class_names))
    weights = None
    if backbone is not None:  # --encoder_from: its encoder's weights, a new head (artifacts/backbone.py)
        from ..artifacts.backbone import copy_encoder

        notes.append(copy_encoder(model, config, backbone).note)
        log(f"note: {notes[-1]}")
    elif saved is None:  # a saved model's weights replace the backbone's anyway: no ImageNet file is needed
        weights = load_pretrained_weights(model, config, installed)
        log(f"weights: {weights.describe()}")
    for note in input_adaptation(config, image_shape)[1]:
        notes.append(f"model input: {note}")
        log(f"note: {notes[-1]}")
    initial_epoch = 0
    if saved is not None:
        initial_epoch = start_weights(model, saved, config.trainer.epochs,
                                      resume=options.model_resume_path is not None, notes=notes, log=log)
    if options.explain is not None:  # an impossible method (Grad-CAM without a conv layer) fails before training
        from ..explain.run import check_method

        check_method(model, image_shape, options.explain)
    layers = layer_rows(model)
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    total = int(model.count_params())
    log(format_summary(layers, trainable, total))
    timings["build_model"] = time.perf_counter() - start

    start = time.perf_counter()
    kept: dict[str, np.ndarray] = {}  # {split: (N, C)} the kept weights predicted after their epoch
    training = train_model(model, config, data.metadata, data.splits, seed, log,
                           tensorboard_dir=out_dir / "tensorboard" if options.tensorboard else None,
                           initial_epoch=initial_epoch, kept_probabilities=kept)
    timings["train"] = time.perf_counter() - start
    for epoch in training.epochs:
        timings[f"epoch {epoch.epoch}"] = epoch.seconds + epoch.eval_seconds

    start = time.perf_counter()
    evaluations, probabilities = {}, {}
    for name in SPLIT_NAMES:
        if name in data.splits:
            split = data.splits[name]
            # The kept epoch's predictions are those of the final weights: reused, not predicted again.
            probabilities[name] = kept[name] if name in kept else predict_probabilities(
                model, split.images, resolve_eval_batch_size(config))
            evaluations[name] = evaluate_feature(config.output_feature, name, split.labels, probabilities[name],
                                                 data.metadata.class_names)
    timings["evaluate"] = time.perf_counter() - start
    if kept:
        log(f"final statistics: {' and '.join(n for n in SPLIT_NAMES if n in kept)} reuse the predictions of epoch "
            f"{training.best_epoch}; predicted now: {', '.join(n for n in probabilities if n not in kept) or 'nothing'}")
    for evaluation in evaluations.values():
        log(summary_line(config.output_feature, evaluation))

    shown = data.splits[shown_split(eval_split, evaluations)]
    explanations = None
    if options.explain is not None:
        start = time.perf_counter()
        from ..explain.outputs import write_explanations
        from ..explain.run import explain_rows

        explanations = explain_rows(model, shown.images, shown.sources, shown.labels, probabilities[shown.name],
                                    data.metadata.class_names, options.explain, shown.name,
                                    options.data.dataset_name, log=log)
        write_explanations(explanations, out_dir)
        timings["explain"] = time.perf_counter() - start
    train = data.splits["training"]
    result = ExperimentResult(
        resolved_config=config.to_dict(), random_seed=seed, dataset=options.data.labelled(data.summary),
        training=training,
        evaluations=evaluations, eval_split=eval_split, model_layers=layers, total_params=total,
        trainable_params=trainable, environment=environment, timings=dict(timings),
        wall_seconds=time.perf_counter() - wall_start,
        misclassified=misclassified_examples(shown.images, shown.sources, evaluations[shown.name]),
        training_samples=training_examples(train.images, train.labels, train.sources, data.metadata.class_names),
        notes=tuple(notes), weights=weights, explanations=explanations)

    start = time.perf_counter()
    run_dir = out_dir / "experiment_run"
    write_model_dir(run_dir / "model", model, config, data.metadata, result)
    write_statistics(run_dir, result, config.output_feature.name)
    if eval_split in data.splits:
        split = data.splits[eval_split]
        frame = predictions_frame(config.input_feature.column_name, config.output_feature.name,
                                  config.output_feature.column_name, split.sources,
                                  [data.metadata.class_names[i] for i in split.labels],
                                  [CODE_OF_SPLIT[eval_split]] * len(split.labels), probabilities[eval_split],
                                  data.metadata.class_names, getattr(config.output_feature, "threshold", None))
        write_predictions(run_dir / "predictions.csv", frame)
    timings["write_artifacts"] = time.perf_counter() - start

    start = time.perf_counter()
    from ..report.experiment import write_experiment_report
    write_experiment_report(result, out_dir)
    timings["report"] = time.perf_counter() - start
    data_options = options.data
    write_json(run_dir / "description.json",
               description_json(result, options.command or tuple(sys.argv),
                                data_options.dataset_name if data_options.dataset or data_options.split_sets
                                else "(folders of the archive)", data_options.archive_name)
               | {"timings_seconds": {k: round(v, 3) for k, v in timings.items()}})
    return result
