"""The `predict` pipeline: saved model + CSV (+ images) → predictions.csv, and statistics when labels are given.

The model directory is the one `experiment` writes (Galaxy's ludwig_model:
model_hyperparameters.json, model_weights, training_set_metadata.json and the
optional training_progress.json).  Images get the training-time preprocessing
recorded in training_set_metadata.json, so an image of another size or colour
mode is converted exactly as a training image would have been (and the log
says so).

Rows and labels:
- every row with an image path is predicted; a split column, if any, is only
  echoed into predictions.csv (Ludwig's `predict --split full`);
- rows with an empty image path are dropped (Ludwig's drop_row), with a note;
- with a label column, the labelled rows are evaluated: test_statistics.json and
  the short HTML report.  Rows with an empty label are still predicted but left
  out of the metrics; a label the model never saw counts as an error (y_true = -1).
  A label column that is empty in every row means "unlabelled".

Outputs are staged and published only when everything succeeded.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from . import runtime
from .archive import ArchiveLimits, extract_archive, locate_images
from .artifacts import OutputStaging, predictions_frame, write_json, write_predictions
from .data import SplitData, read_table, require_column
from .errors import DataError
from .evaluate import UNSEEN_LABEL, evaluate_predictions, test_statistics_json
from .experiment import misclassified_examples
from .images import DEFAULT_MAX_IMAGE_PIXELS, decode_images
from .results import SplitEvaluation

PREDICTIONS_CSV = "predictions.csv"
TEST_STATISTICS_JSON = "test_statistics.json"
EVALUATED_SPLIT = "labelled"  # name of the evaluated rows in the report and metrics.tsv
SEED = 42  # inference is deterministic; the seed only makes runtime.configure() reusable across runs
MISCLASSIFIED_PER_CLASS = 4
_MAX_LISTED = 5


@dataclass(frozen=True)
class PredictResult:
    rows: int  # rows predicted (= lines of predictions.csv)
    evaluation: SplitEvaluation | None  # None without labels
    notes: tuple[str, ...]
    images_per_second: float  # model inference only (decoding excluded)
    batch_size: int


# ---------------------------------------------------------------- images without an archive


def locate_in_directory(root: Path, relative_paths: Sequence[str], row_numbers: Sequence[int],
                        dataset_name: str) -> list[Path]:
    """Map CSV image paths to files under `root` (the CSV's folder), with the archive's safety rules.

    Absolute paths and `..` are refused, and so is a link that leads outside `root`.
    """
    root = Path(root).resolve()
    located: list[Path] = []
    missing: list[str] = []
    where = f"relative to the folder of {dataset_name} (or give the images as --raw_data)"
    for raw, line in zip(relative_paths, row_numbers):
        text = str(raw).replace("\\", "/")
        if text.startswith("/") or re.match(r"[A-Za-z]:", text):
            raise DataError(f"{dataset_name} line {line}: image path {raw!r} is absolute; paths must be {where}")
        parts = [part for part in text.split("/") if part not in ("", ".")]
        if ".." in parts or not parts:
            raise DataError(f"{dataset_name} line {line}: image path {raw!r} points outside the folder of "
                            f"{dataset_name}; paths must be {where}")
        relative = "/".join(parts)
        variants = dict.fromkeys([relative, unicodedata.normalize("NFC", relative),
                                  unicodedata.normalize("NFD", relative)])
        found = next((root / v for v in variants if (root / v).is_file()), None)
        if found is None:
            missing.append(f"line {line}: {raw!r}")
            continue
        if not found.resolve().is_relative_to(root):
            raise DataError(f"{dataset_name} line {line}: image path {raw!r} is a link to a file outside the "
                            f"folder of {dataset_name}; refusing to read it")
        located.append(found)
    if missing:
        raise DataError(f"{len(missing)} of {len(relative_paths)} image paths in {dataset_name} do not exist "
                        f"{where} (first: {'; '.join(missing[:_MAX_LISTED])})")
    return located


# ---------------------------------------------------------------- labels


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


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
        notes.append(f"{_plural(empty, 'row')} with an empty '{column}' {'is' if empty == 1 else 'are'} "
                     "predicted but left out of the statistics")
    str2idx = {name: i for i, name in enumerate(class_names)}
    given = text[labelled]
    y_true = given.map(str2idx).fillna(UNSEEN_LABEL).to_numpy().astype(np.int64)
    unseen = Counter(given[y_true == UNSEEN_LABEL])
    if unseen:
        listed = ", ".join(f"{name!r} ({n})" for name, n in unseen.most_common(_MAX_LISTED))
        more = f", and {len(unseen) - _MAX_LISTED} more" if len(unseen) > _MAX_LISTED else ""
        count = sum(unseen.values())
        notes.append(f"{_plural(count, 'row')} {'has' if count == 1 else 'have'} a '{column}' the model never "
                     f"saw in training: "
                     f"{listed}{more}; they count as errors and are left out of the confusion matrix "
                     f"(the model knows {', '.join(map(repr, class_names))})")
    return y_true, labelled, notes


# ---------------------------------------------------------------- the pipeline


def run_predict(model_path: Path, dataset_path: Path, raw_data_path: Path | None, output_dir: Path, *,
                batch_size: int | None = None, data_format: str = "auto", limits: ArchiveLimits | None = None,
                max_image_pixels: int | None = None, log: Callable[[str], None] = print) -> PredictResult:
    wall_start = time.perf_counter()
    # Everything that can be checked without the images is checked before the output directory is touched.
    dataset_name = Path(dataset_path).name
    table = read_table(dataset_path, data_format)  # first: an empty CSV fails before TensorFlow loads
    environment = runtime.configure(SEED)  # before TensorFlow runs its first op
    from .artifacts import load_model_dir
    from .train import predict_probabilities, resolve_eval_batch_size

    config, metadata, model = load_model_dir(model_path)
    batch_size = batch_size or resolve_eval_batch_size(config)
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
        notes.append(f"dropped {_plural(int((~keep).sum()), 'row')} with an empty '{image_column}' "
                     "(Ludwig's drop_row)")
    if table.empty:
        raise DataError(f"dataset {dataset_name}: every row has an empty '{image_column}'")
    sources = tuple(table[image_column].str.strip())
    split = config.preprocessing.split
    split_column = (split.column or "split") if split.type == "fixed" else "split"
    split_values = list(table[split_column].fillna("").str.strip()) if split_column in table.columns else None
    y_true, labelled = None, np.zeros(len(table), bool)
    if label_column in table.columns:
        y_true, labelled, label_notes = label_indices(table[label_column], metadata.class_names, label_column)
        notes += label_notes

    staging = OutputStaging(output_dir)
    try:
        start = time.perf_counter()
        if raw_data_path is not None:
            extracted = extract_archive(Path(raw_data_path), staging.work / "raw_data",
                                        limits if limits is not None else ArchiveLimits())
            notes += list(extracted.notes)
            paths = locate_images(extracted, sources, list(lines))
        else:
            paths = locate_in_directory(Path(dataset_path).absolute().parent, sources, list(lines),
                                        dataset_name)
        images, decode_notes = decode_images(
            paths, image, resize_method=metadata.resize_method, num_workers=environment.threads, sources=sources,
            max_image_pixels=max_image_pixels or DEFAULT_MAX_IMAGE_PIXELS)  # (N, H, W, C) uint8
        notes += list(decode_notes)
        seconds = time.perf_counter() - start
        log(f"read {len(paths)} images as {image.height}x{image.width}x{image.num_channels} "
            f"({metadata.resize_method}) in {seconds:.1f} s ({len(paths) / max(seconds, 1e-9):.0f} images/s)")
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
                                  split_values, probabilities, metadata.class_names)
        write_predictions(staging.staging / PREDICTIONS_CSV, frame)

        evaluation = None
        if y_true is not None:
            evaluation = evaluate_predictions(EVALUATED_SPLIT, y_true, probabilities[labelled],
                                              metadata.class_names, config.output_feature.top_k)
            log(f"{int(labelled.sum())} labelled rows: accuracy {evaluation.accuracy:.4f}, "
                f"loss {evaluation.loss:.4f}, hits_at_{config.output_feature.top_k} "
                f"{evaluation.statistics['hits_at_k']:.4f}")
            write_json(staging.staging / TEST_STATISTICS_JSON,
                       test_statistics_json(evaluation, config.output_feature.name))
            _write_report(evaluation, staging.staging, images[labelled], sources, labelled, notes,
                          model_path=Path(model_path), dataset_name=dataset_name, raw_data_path=raw_data_path,
                          config=config, metadata=metadata, rows=len(images))
        staging.publish()
        log(f"done in {time.perf_counter() - wall_start:.1f} s; results in {Path(output_dir)}")
        return PredictResult(len(images), evaluation, tuple(notes), images_per_second, batch_size)
    finally:
        staging.cleanup()


def _write_report(evaluation: SplitEvaluation, out: Path, labelled_images: np.ndarray, sources: Sequence[str],
                  labelled: np.ndarray, notes: Sequence[str], *, model_path: Path, dataset_name: str,
                  raw_data_path: Path | None, config, metadata, rows: int) -> None:
    from .report import write_evaluation_report

    # The gallery shows known classes only: a row with an unseen label has no class to file it under.
    seen = evaluation.y_true != UNSEEN_LABEL
    labelled_sources = [s for s, keep in zip(sources, labelled) if keep]
    shown = SplitData(EVALUATED_SPLIT, labelled_images[seen], evaluation.y_true[seen].astype(np.int32),
                      tuple(s for s, keep in zip(labelled_sources, seen) if keep))
    shown_evaluation = SplitEvaluation(evaluation.split, evaluation.class_names, evaluation.y_true[seen],
                                       evaluation.probabilities[seen], evaluation.statistics)
    misclassified = misclassified_examples(shown, shown_evaluation, MISCLASSIFIED_PER_CLASS) if seen.any() else ()
    image = metadata.image
    names = metadata.class_names
    description = {
        "model": model_path.name,
        "encoder": config.input_feature.encoder.type,
        "input": f"{metadata.input_column}: {image.height}x{image.width}x{image.num_channels} images "
                 f"({metadata.resize_method})",
        "output": f"{metadata.output_column}: {len(names)} classes ({', '.join(names[:20])}"
                  f"{', ...' if len(names) > 20 else ''})",
        "dataset": dataset_name,
        "images": Path(raw_data_path).name if raw_data_path is not None else f"the folder of {dataset_name}",
        "rows predicted": f"{rows:,}",
        "rows evaluated": f"{len(evaluation.y_true):,}",
    }
    write_evaluation_report(evaluation, out, title="Ludwig predict report", model_description=description,
                            misclassified=misclassified, notes=notes)
