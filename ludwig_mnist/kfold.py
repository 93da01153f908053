"""k-fold cross-validation (`experiment --k_fold N`, as Ludwig's and the Galaxy-Ludwig tool's).

All usable rows are pooled (the split column is ignored, as Ludwig's kfold does),
assigned to k folds stratified by label with the run's seed, and for each fold a
fresh model trains on the other k-1 folds (10% of them set aside, stratified,
for early stopping) and is evaluated on the held-out fold.  Outputs: per-fold and
mean ± std statistics, the fold assignment, a TSV and an HTML report.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import runtime
from .artifacts import OutputStaging, write_json
from .config import load_config
from .data import CARVED_VALIDATION_FRACTION, SplitData, prepare_data
from .errors import DataError
from .evaluate import evaluate_predictions, test_statistics_json, training_statistics_entry

SUMMARY_METRICS = (("accuracy_micro", ("accuracy_micro",)), ("accuracy", ("accuracy",)), ("loss", ("loss",)),
                   ("hits_at_k", ("hits_at_k",)), ("roc_auc", ("roc_auc",)),
                   ("f1_macro", ("overall_stats", "avg_f1_score_macro")),
                   ("f1_weighted", ("overall_stats", "avg_f1_score_weighted")),
                   ("kappa", ("overall_stats", "kappa_score")))


def assign_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """(N,) fold index per row; each class is dealt round-robin over the folds after a seeded shuffle."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        folds[members] = (np.arange(len(members)) + offset) % k  # offset keeps fold sizes even across classes
        offset += len(members)
    return folds


def _subset(name: str, pool: SplitData, rows: np.ndarray) -> SplitData:
    return SplitData(name, pool.images[rows], pool.labels[rows], tuple(pool.sources[i] for i in rows))


def _validation_rows(train_rows: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    chosen = []
    for label in np.unique(labels[train_rows]):
        members = train_rows[labels[train_rows] == label]
        count = int(round(len(members) * CARVED_VALIDATION_FRACTION))
        if len(members) > 1 and count > 0:
            chosen.append(rng.choice(members, size=count, replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)


def _value(statistics: dict, path: tuple[str, ...]) -> float:
    for key in path:
        statistics = statistics[key]
    return float(statistics)


def summarize(fold_statistics: list[dict]) -> dict[str, dict[str, float]]:
    """{metric: {mean, std, per_fold}} over the folds' test statistics (std: population, ddof 0)."""
    summary = {}
    for name, path in SUMMARY_METRICS:
        values = np.array([_value(stats, path) for stats in fold_statistics])
        summary[name] = {"mean": float(values.mean()), "std": float(values.std()), "per_fold": values.tolist()}
    return summary


def run_kfold(config_path: Path, dataset_path: Path | None, raw_data_path: Path, output_dir: Path, *, k: int,
              random_seed: int = 42, data_format: str = "auto", limits=None, max_image_pixels: int | None = None,
              labels_from: str = "folder", log: Callable[[str], None] = print) -> dict[str, Any]:
    from .kfold_report import write_kfold_report

    if k < 2:
        raise DataError(f"--k_fold {k}: cross-validation needs at least 2 folds")
    wall_start = time.perf_counter()
    config = load_config(config_path)
    staging = OutputStaging(output_dir)
    try:
        environment = runtime.configure(random_seed)
        from .model import build_model
        from .train import predict_probabilities, resolve_eval_batch_size, train_model

        data = prepare_data(config, dataset_path, raw_data_path, staging.work, seed=random_seed,
                            data_format=data_format, limits=limits, max_image_pixels=max_image_pixels,
                            num_workers=environment.threads, labels_from=labels_from, log=log)
        splits = list(data.splits.values())
        pool = SplitData("pool", np.concatenate([s.images for s in splits]), np.concatenate([s.labels for s in splits]),
                         tuple(src for s in splits for src in s.sources))
        smallest = int(np.bincount(pool.labels).min())
        if smallest < k:
            raise DataError(f"--k_fold {k}: the rarest class has only {smallest} rows; every fold needs one of each "
                            f"class, so use at most {smallest} folds")
        folds = assign_folds(pool.labels, k, random_seed)
        image, names = data.metadata.image, data.metadata.class_names
        fold_results, indices = [], {}
        for fold in range(k):
            log(f"=== fold {fold + 1}/{k}")
            runtime.reseed(random_seed)
            test_rows = np.flatnonzero(folds == fold)
            train_rows = np.flatnonzero(folds != fold)
            validation_rows = _validation_rows(train_rows, pool.labels, np.random.default_rng(random_seed + fold))
            train_rows = np.setdiff1d(train_rows, validation_rows)
            fold_splits = {"training": _subset("training", pool, train_rows), "test": _subset("test", pool, test_rows)}
            if len(validation_rows):
                fold_splits["validation"] = _subset("validation", pool, validation_rows)
            model = build_model(config, (image.height, image.width, image.num_channels), len(names))
            training = train_model(model, config, data.metadata, fold_splits, random_seed, log)
            probabilities = predict_probabilities(model, fold_splits["test"].images, resolve_eval_batch_size(config))
            evaluation = evaluate_predictions("test", fold_splits["test"].labels, probabilities, names,
                                              config.output_feature.top_k)
            log(f"fold {fold + 1}: test accuracy {evaluation.accuracy:.4f}, loss {evaluation.loss:.4f}")
            fold_results.append((training, evaluation))
            validation = fold_splits.get("validation")
            indices[f"fold_{fold + 1}"] = {"test_images": list(fold_splits["test"].sources),
                                           "validation_images": list(validation.sources) if validation else []}
        output = config.output_feature.name
        summary = summarize([evaluation.statistics for _, evaluation in fold_results])
        statistics = {f"fold_{i + 1}": {
            "training_statistics": {split: training_statistics_entry(
                [e.metrics[split] for e in training.epochs if split in e.metrics], output)
                for split in ("training", "validation") if any(split in e.metrics for e in training.epochs)},
            "test_statistics": test_statistics_json(evaluation, output)}
            for i, (training, evaluation) in enumerate(fold_results)}
        statistics["overall"] = {output: {f"{name}_{stat}": values[stat] for name, values in summary.items()
                                          for stat in ("mean", "std")}}
        write_json(staging.staging / "kfold_training_statistics.json", statistics)
        write_json(staging.staging / "kfold_split_indices.json", indices)
        write_kfold_report(fold_results, summary, k, data.summary, config.to_dict(), random_seed,
                           time.perf_counter() - wall_start, staging.staging)
        staging.publish()
        log("k-fold: " + ", ".join(f"{name} {v['mean']:.4f} ± {v['std']:.4f}" for name, v in summary.items()
                                   if name in ("accuracy_micro", "loss", "f1_macro")))
        return statistics
    finally:
        staging.cleanup()
