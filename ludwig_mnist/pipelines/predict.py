"""The `predict` pipeline: saved model + CSV (+ images) → predictions.csv, and statistics when labels are given.

The model directory is the one `experiment` writes (Galaxy's ludwig_model:
model_hyperparameters.json, model_weights, training_set_metadata.json and the
optional training_progress.json).  Images get the training-time preprocessing
recorded in training_set_metadata.json, so an image of another size or colour
mode is converted exactly as a training image would have been (and the log
says so).

Rows and labels:
- every row with an image path is predicted; a split column, if any, is only
  echoed into predictions.csv (Ludwig's `predict --split full`); `--split test` (or
  training, validation) keeps the rows of that split by the model's fixed or hash split;
- rows with an empty image path are dropped (Ludwig's drop_row), with a note;
- with a label column, the labelled rows are evaluated: test_statistics.json and
  the short HTML report.  Rows with an empty label are still predicted but left
  out of the metrics; a label the model never saw counts as an error (y_true = -1).
  A label column that is empty in every row means "unlabelled".

Outputs are staged and published only when everything succeeded.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .. import runtime
from ..artifacts.staging import OutputStaging, write_json
from ..artifacts.tables import predictions_frame, write_predictions
from ..data.binary import binary_index
from ..data.cache import take_rows
from ..data.locate import locate_images, locate_in_directory
from ..data.prepare import close_raw_data, decode, open_raw_data
from ..data.splits import rows_of_split
from ..data.table import read_table, require_column
from ..errors import DataError, disk_full
from ..evaluate import UNSEEN_LABEL, test_statistics_json
from ..evaluate_binary import evaluate_feature, summary_line
from ..options import DataOptions, PredictOptions
from ..report.examples import misclassified_examples
from ..results import SplitEvaluation
from ..wording import MAX_LISTED, plural

PREDICTIONS_CSV = "predictions.csv"
TEST_STATISTICS_JSON = "test_statistics.json"
EVALUATED_SPLIT = "labelled"  # name of the evaluated rows in the report and metrics.tsv


@dataclass(frozen=True)
class PredictResult:
    rows: int  # rows predicted (= lines of predictions.csv)
    evaluation: SplitEvaluation | None  # None without labels
    notes: tuple[str, ...]
    images_per_second: float  # model inference only (decoding excluded)
    batch_size: int


# ---------------------------------------------------------------- labels


def label_indices(labels: pd.Series, class_names: Sequence[str], column: str
                  ) -> tuple[np.ndarray | None, np.ndarray, list[str]]:
    """(y_true of the labelled rows or None, mask of labelled rows, notes); unseen labels are -1."""
    text = labels.fillna("").astype(str).str.strip()
    labelled = (text != "").to_numpy()
    if not labelled.any():
        return None, labelled, [f"column '{column}' is empty in every row: predictions only, no statistics"]
    notes = []
    if not labelled.all():
        empty = int((~labelled).sum())
        notes.append(f"{plural(empty, 'row')} with an empty '{column}' {'is' if empty == 1 else 'are'} "
                     "predicted but left out of the statistics")
    str2idx = {name: i for i, name in enumerate(class_names)}
    given = text[labelled]
    y_true = given.map(str2idx).fillna(UNSEEN_LABEL).to_numpy().astype(np.int64)
    unseen = Counter(given[y_true == UNSEEN_LABEL])
    if unseen:
        listed = ", ".join(f"{name!r} ({n})" for name, n in unseen.most_common(MAX_LISTED))
        more = f", and {len(unseen) - MAX_LISTED} more" if len(unseen) > MAX_LISTED else ""
        count = sum(unseen.values())
        notes.append(f"{plural(count, 'row')} {'has' if count == 1 else 'have'} a '{column}' the model never "
                     f"saw in training: "
                     f"{listed}{more}; they count as errors and are left out of the confusion matrix "
                     f"(the model knows {', '.join(map(repr, class_names))})")
    return y_true, labelled, notes


def binary_label_indices(labels: pd.Series, metadata, dataset_name: str
                         ) -> tuple[np.ndarray | None, np.ndarray, list[str]]:
    """A binary model's labels: 0/1 by the model's own str2bool (data/binary.py); empty rows are left out."""
    column = metadata.output_column
    text = labels.fillna("").astype(str).str.strip()
    labelled = (text != "").to_numpy()
    if not labelled.any():
        return None, labelled, [f"column '{column}' is empty in every row: predictions only, no statistics"]
    notes = [] if labelled.all() else [f"{plural(int((~labelled).sum()), 'row')} with an empty '{column}' "
                                       "predicted but left out of the statistics"]
    return binary_index(text[labelled], metadata.str2bool, column, dataset_name).astype(np.int64), labelled, notes


# ---------------------------------------------------------------- the pipeline


def run_predict(options: PredictOptions, log: Callable[[str], None] = print) -> PredictResult:
    wall_start = time.perf_counter()
    # Everything that can be checked without the images is checked before the output directory is touched.
    data = options.data
    model_path = Path(options.model_path)
    dataset_name = Path(data.dataset).name
    table = read_table(data.dataset, data.data_format)  # first: an empty CSV fails before TensorFlow loads
    environment = runtime.setup_process()  # before TensorFlow runs its first op; inference needs no seed
    from ..artifacts.model_dir import load_model_dir
    from ..training.inference import predict_probabilities, resolve_eval_batch_size

    saved = load_model_dir(model_path)
    config, metadata, model = saved.config, saved.metadata, saved.model
    if options.explain is not None:  # an impossible method fails before any output is written
        from ..explain.run import check_method

        check_method(model, (metadata.image.height, metadata.image.width, metadata.image.num_channels),
                     options.explain)
    batch_size = options.batch_size or resolve_eval_batch_size(config)
    image = metadata.image
    log(f"ludwig-mnist {environment.versions['ludwig_mnist']} on {environment.device}, "
        f"TensorFlow {environment.versions['tensorflow']}; model {model_path}: "
        f"{image.height}x{image.width}x{image.num_channels} images, {len(metadata.class_names)} classes")
    image_column, label_column = metadata.input_column, metadata.output_column
    require_column(table, image_column, "the model's image input", dataset_name)
    lines = np.arange(len(table)) + 2  # CSV line numbers for messages (one header line)
    keep = (table[image_column].fillna("").str.strip() != "").to_numpy()
    table, lines = table[keep].reset_index(drop=True), lines[keep]
    notes: list[str] = []
    if not keep.all():
        notes.append(f"dropped {plural(int((~keep).sum()), 'row')} with an empty '{image_column}' "
                     "(Ludwig's drop_row)")
    if table.empty:
        raise DataError(f"dataset {dataset_name}: every row has an empty '{image_column}'")
    if options.split != "full":
        chosen, split_note = rows_of_split(config, table, options.split, dataset_name)
        table, lines = table[chosen].reset_index(drop=True), lines[chosen]
        notes.append(split_note)
    sources = tuple(table[image_column].str.strip())
    split = config.preprocessing.split
    split_column = (split.column or "split") if split.type == "fixed" else "split"
    split_values = list(table[split_column].fillna("").str.strip()) if split_column in table.columns else None
    y_true, labelled = None, np.zeros(len(table), bool)
    if label_column in table.columns and metadata.output_type == "binary":
        y_true, labelled, label_notes = binary_label_indices(table[label_column], metadata, dataset_name)
        notes += label_notes
    elif label_column in table.columns:
        y_true, labelled, label_notes = label_indices(table[label_column], metadata.class_names, label_column)
        notes += label_notes

    staging = OutputStaging(options.output_directory)
    try:
        start = time.perf_counter()
        extracted = None
        try:
            if data.raw_data is not None:
                extracted, _ = open_raw_data(data.raw_data, staging.work, data.limits, log)
                notes += list(extracted.notes)
                paths = locate_images(extracted, sources, list(lines))
            else:
                paths = locate_in_directory(Path(data.dataset).absolute().parent, sources, list(lines), dataset_name)
            # The model's own preprocessing, in_memory included: false streams the images through the disk cache.
            in_memory = config.input_feature.preprocessing.in_memory
            images, counts = decode(paths, image, in_memory=in_memory, resize_method=metadata.resize_method,
                                    work_dir=staging.work, sources=sources, num_workers=environment.threads,
                                    max_image_pixels=data.max_image_pixels)  # (N, H, W, C) uint8
        finally:
            close_raw_data(extracted)
        notes += list(counts.notes())
        seconds = time.perf_counter() - start
        log(f"read {len(paths)} images as {image.height}x{image.width}x{image.num_channels} "
            f"({metadata.resize_method}){'' if in_memory else ' into an on-disk cache (in_memory: false)'} "
            f"in {seconds:.1f} s ({len(paths) / max(seconds, 1e-9):.0f} images/s)")
        for note in notes:
            log(f"note: {note}")

        start = time.perf_counter()
        probabilities = predict_probabilities(model, images, batch_size)  # (N, C) float32
        seconds = time.perf_counter() - start
        images_per_second = len(images) / max(seconds, 1e-9)
        log(f"predicted {len(images)} images in {seconds:.2f} s ({images_per_second:.0f} images/s, "
            f"batch size {batch_size})")

        labels_out = list(table[label_column].fillna("")) if label_column in table.columns else None
        frame = predictions_frame(image_column, config.output_feature.name, label_column, sources, labels_out,
                                  split_values, probabilities, metadata.class_names,
                                  getattr(config.output_feature, "threshold", None))
        write_predictions(staging.staging / PREDICTIONS_CSV, frame)

        explanations = None
        if options.explain is not None:
            explanations = _explain(model, images, sources, y_true, labelled, probabilities, metadata,
                                    options, dataset_name, staging.staging, log)
        evaluation = None
        if y_true is not None:
            evaluation = evaluate_feature(config.output_feature, EVALUATED_SPLIT, y_true, probabilities[labelled],
                                          metadata.class_names)
            log(summary_line(config.output_feature, evaluation, f"{int(labelled.sum())} labelled rows"))
            write_json(staging.staging / TEST_STATISTICS_JSON,
                       test_statistics_json(evaluation, config.output_feature.name))
            _write_report(evaluation, staging.staging, images, sources, labelled, notes, model_path=model_path,
                          dataset_name=dataset_name, raw_data_path=data.raw_data, config=config,
                          metadata=metadata, rows=len(images), labels=data, explanations=explanations)
        staging.publish()
        log(f"done in {time.perf_counter() - wall_start:.1f} s; results in {Path(options.output_directory)}")
        return PredictResult(len(images), evaluation, tuple(notes), images_per_second, batch_size)
    except OSError as err:  # a full disk while writing: one line with the figures; anything else is a bug
        if not disk_full(err):
            raise
        raise staging.out_of_space(err) from None
    finally:
        staging.cleanup()


def _write_report(evaluation: SplitEvaluation, out: Path, images, sources: Sequence[str], labelled: np.ndarray,
                  notes: Sequence[str], *, model_path: Path, dataset_name: str, raw_data_path: Path | None,
                  config, metadata, rows: int, labels: DataOptions, explanations=None) -> None:
    """images: (N, H, W, C) of every predicted row (array or DiskImages); only the gallery's rows are read."""
    from ..report.evaluation import write_evaluation_report

    # The gallery shows known classes only: a row with an unseen label has no class to file it under.
    seen = evaluation.y_true != UNSEEN_LABEL
    shown_rows = np.flatnonzero(labelled)[seen]  # (k,) rows of `images`
    shown = SplitEvaluation(evaluation.split, evaluation.class_names, evaluation.y_true[seen],
                            evaluation.probabilities[seen], evaluation.statistics, threshold=evaluation.threshold)
    misclassified = misclassified_examples(take_rows(images, shown_rows), [sources[i] for i in shown_rows],
                                           shown) if seen.any() else ()
    image = metadata.image
    names = metadata.class_names
    shown = labels.shown_names(dataset_name, Path(raw_data_path).name if raw_data_path is not None
                               else f"the folder of {dataset_name}")
    description = {
        "model": model_path.name,
        "encoder": config.input_feature.encoder.type,
        "input": f"{metadata.input_column}: {image.height}x{image.width}x{image.num_channels} images "
                 f"({metadata.resize_method})",
        "output": f"{metadata.output_column}: {len(names)} classes ({', '.join(names[:20])}"
                  f"{', ...' if len(names) > 20 else ''})",
        "dataset": shown[0],
        "images": shown[1],
        "rows predicted": f"{rows:,}",
        "rows evaluated": f"{len(evaluation.y_true):,}",
    }
    write_evaluation_report(evaluation, out, title="Ludwig Predict and Evaluate report", model_description=description,
                            misclassified=misclassified, notes=notes, explanations=explanations)


def _explain(model, images, sources, y_true, labelled, probabilities, metadata, options, dataset_name, out, log):
    """Explanations of the labelled rows (all rows when none is labelled), written to OUT/explanations/."""
    from ..explain.outputs import write_explanations
    from ..explain.run import explain_rows

    if y_true is None:
        rows, truth, split = np.arange(len(sources)), None, "predicted"
    else:
        rows, truth, split = np.flatnonzero(labelled), y_true, EVALUATED_SPLIT
    explanations = explain_rows(model, take_rows(images, rows), [sources[i] for i in rows], truth,
                                probabilities[rows], metadata.class_names, options.explain, split, dataset_name,
                                log=log)
    write_explanations(explanations, out)
    return explanations
