"""k-fold cross-validation (`experiment --k_fold N`, as Ludwig's and the Galaxy-Ludwig tool's).

All usable rows are pooled (the config's split and the split column are not used, as in Ludwig's kfold),
assigned to k folds stratified by label with the run's seed (data/splits.py), and for each fold a fresh
model trains on the other k-1 folds, with the same stratified 10% validation carve as a single run, and
is evaluated on the held-out fold.  Streamed images (in_memory: false) stay in the on-disk cache: a
fold is a view of its rows.  Outputs: per-fold and mean ± std statistics, the fold assignment, a TSV and
an HTML report.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from .. import runtime
from ..artifacts.staging import OutputStaging, write_json
from ..config.schema import ExperimentConfig
from ..data.cache import take_rows
from ..data.prepare import POOLED_SPLIT, SplitData, discard_extracted, prepare_data
from ..data.splits import SPLIT_CODES, assign_folds, fold_codes
from ..errors import ConfigError, DataError, disk_full
from ..evaluate import (
    evaluate_predictions,
    test_statistics_json,
    training_statistics_entry,
)
from ..options import RunOptions

SUMMARY_METRICS = (("accuracy_micro", ("accuracy_micro",)), ("accuracy", ("accuracy",)), ("loss", ("loss",)),
                   ("hits_at_k", ("hits_at_k",)), ("roc_auc", ("roc_auc",)),
                   ("f1_macro", ("overall_stats", "avg_f1_score_macro")),
                   ("f1_weighted", ("overall_stats", "avg_f1_score_weighted")),
                   ("kappa", ("overall_stats", "kappa_score")))


def _subset(name: str, pool: SplitData, rows: np.ndarray) -> SplitData:
    return SplitData(name, take_rows(pool.images, rows), pool.labels[rows], tuple(pool.sources[i] for i in rows))


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


def run_kfold(config: ExperimentConfig, options: RunOptions, k: int,
              log: Callable[[str], None] = print) -> dict[str, Any]:
    from ..report.kfold import write_kfold_report

    if k < 2:
        raise DataError(f"--k_fold {k}: cross-validation needs at least 2 folds")
    if config.output_feature.type == "binary":  # its summary and report are written for category statistics
        raise ConfigError("--k_fold with a binary output feature is not supported yet; run experiment without "
                          "--k_fold, or use type: category for the two classes")
    wall_start = time.perf_counter()
    seed = options.random_seed
    for note in config.notes:
        log(f"note: {note}")
    staging = OutputStaging(options.output_directory)
    deleting = None
    try:
        # The data stage first: bad input fails before TensorFlow is imported.
        data = prepare_data(config, options.data, staging.work, seed=seed,
                            num_workers=runtime.granted_cpu_threads(), pooled=True, log=log)
        deleting = discard_extracted(staging.work)
        pool = data.splits[POOLED_SPLIT]
        smallest = int(np.bincount(pool.labels).min())
        if smallest < k:
            raise DataError(f"--k_fold {k}: the rarest class has only {smallest} rows; every fold needs one of each "
                            f"class, so use at most {smallest} folds")
        runtime.setup_process()
        from ..artifacts.weights import load_pretrained_weights
        from ..model.build import build_model
        from ..training.inference import predict_probabilities, resolve_eval_batch_size
        from ..training.train import train_model

        folds = assign_folds(pool.labels, k, seed)
        image, names = data.metadata.image, data.metadata.class_names
        fold_results, indices = [], {}
        for fold in range(k):
            log(f"=== fold {fold + 1}/{k}")
            runtime.seed_run(seed)
            codes = fold_codes(folds, fold, pool.labels, seed)
            fold_splits = {name: _subset(name, pool, np.flatnonzero(codes == code))
                           for code, name in SPLIT_CODES.items() if (codes == code).any()}
            model = build_model(config, (image.height, image.width, image.num_channels), len(names))
            weights = load_pretrained_weights(model, config)  # every fold starts from the same weights
            if fold == 0:
                log(f"weights: {weights.describe()}")
            training = train_model(model, config, data.metadata, fold_splits, seed, log)
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
        write_kfold_report(fold_results, summary, k, options.data.labelled(data.summary), config.to_dict(),
                           seed, time.perf_counter() - wall_start, staging.staging)
        staging.publish()
        log("k-fold: " + ", ".join(f"{name} {v['mean']:.4f} ± {v['std']:.4f}" for name, v in summary.items()
                                   if name in ("accuracy_micro", "loss", "f1_macro")))
        return statistics
    except OSError as err:  # a full disk while writing: one line with the figures; anything else is a bug
        if not disk_full(err):
            raise
        raise staging.out_of_space(err) from None
    finally:
        if deleting is not None:
            deleting.join()
        staging.cleanup()
