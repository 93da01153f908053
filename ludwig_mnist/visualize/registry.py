"""The one registry of `visualize` names (Ludwig 0.10's) -> the function drawing it.

Each function takes the parsed `Request` and returns {file stem: PNG bytes}; the CLI writes them as
<output_directory>/<stem>.<png|pdf>.  LUDWIG_VISUALIZATIONS is Ludwig 0.10's whole list, so a name
Ludwig has and this tool does not gets one line saying so, instead of argparse's "invalid choice".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import analysis
from ..report import analysis_plots, plots
from ..wording import plural
from . import figures, readers
from .names import LUDWIG_VISUALIZATIONS, SUPPORTED  # noqa: F401  (re-exported)
from .readers import VisualizeError


@dataclass(frozen=True)
class Request:
    training_statistics: tuple[Path, ...] = ()
    test_statistics: tuple[Path, ...] = ()
    probabilities: tuple[Path, ...] = ()
    ground_truth: Path | None = None
    ground_truth_metadata: Path | None = None
    ground_truth_split: str | None = "2"
    output_feature_name: str | None = None
    model_names: tuple[str, ...] = ()
    top_k: int = 3
    positive_label: int = 1
    threshold: float = 0.5
    metrics: tuple[str, ...] = ("f1",)
    normalize: bool = False


def names_for(request: Request, count: int) -> list[str]:
    if request.model_names and len(request.model_names) != count:
        raise VisualizeError(f"--model_names has {len(request.model_names)} names for {count} models")
    names = list(request.model_names) or [f"model {i + 1}" for i in range(count)]
    if len(set(names)) != len(names):
        raise VisualizeError(f"--model_names are not unique: {', '.join(names)}")
    return names


def file_stem(text: str) -> str:
    """A model name as part of a file name: letters, digits, '.', '-' and '_' only (names are user data)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text).strip(".") or "model"


def _need(files: tuple[Path, ...], flag: str, visualization: str, at_least: int = 1) -> None:
    if len(files) < at_least:
        raise VisualizeError(f"{visualization} needs {at_least} or more {flag} files, got {len(files)}")


def _models(request: Request, visualization: str, rowwise: bool = False, exactly: int | None = None):
    _need(request.probabilities, "--probabilities", visualization, exactly or 1)
    if exactly is not None and len(request.probabilities) != exactly:
        raise VisualizeError(f"{visualization} compares exactly {exactly} models, got {plural(len(request.probabilities), 'file')}")
    feature = request.output_feature_name
    classes = None
    if request.ground_truth_metadata is not None and feature:
        classes = readers.metadata_classes(request.ground_truth_metadata, feature)[0]
    truth = readers.ground_truth(request.ground_truth, feature, request.ground_truth_split)
    models = [readers.probabilities(p, feature, truth, classes) for p in request.probabilities]
    for m in models:
        if m.y_true is None:
            raise VisualizeError(f"{m.path} has no {m.feature} column with the true labels; give --ground_truth")
    return readers.aligned(models, rowwise), names_for(request, len(models))


# --------------------------------------------------------------------------- from statistics


def learning_curves(r: Request) -> dict[str, bytes]:
    _need(r.training_statistics, "--training_statistics", "learning_curves")
    runs = [readers.training_statistics(p, r.output_feature_name) for p in r.training_statistics]
    names = names_for(r, len(runs))
    feature = runs[0][0]
    metrics = sorted({m for _, splits in runs for c in splits.values() for m in c},
                     key=lambda m: (list(plots.METRIC_TITLES).index(m) if m in plots.METRIC_TITLES else 99, m))
    out = {}
    for metric in metrics:
        curves = {}
        for name, (_, splits) in zip(names, runs):
            for split in ("training", "validation"):
                values = splits.get(split, {}).get(metric)
                if values:
                    curves[f"{name} {split}"] = (np.arange(1, len(values) + 1), values)
        out[f"learning_curves_{feature}_{metric}"] = figures.lines_png(
            curves, title=f"Learning curves: {plots.METRIC_TITLES.get(metric, metric)} of {feature}",
            xlabel="epoch", ylabel=metric)
    return out


SCALAR_METRICS = ("accuracy", "accuracy_micro", "hits_at_k", "roc_auc", "loss")


def performance_table(r: Request) -> tuple[str, list[str], dict[str, list[float]]]:
    """(feature, metrics, {model: values}) of the test statistics, the metrics every file has."""
    _need(r.test_statistics, "--test_statistics", "compare_performance")
    stats = [readers.test_statistics(p, r.output_feature_name) for p in r.test_statistics]
    names = names_for(r, len(stats))
    metrics = [m for m in SCALAR_METRICS if all(isinstance(s.get(m), (int, float)) for _, s in stats)]
    return stats[0][0], metrics, {n: [float(s[m]) for m in metrics] for n, (_, s) in zip(names, stats)}


def compare_performance(r: Request) -> dict[str, bytes]:
    feature, metrics, series = performance_table(r)
    high = max(max(v) for v in series.values())
    return {f"compare_performance_{feature}": figures.grouped_bars_png(
        metrics, series, title=f"Test statistics of {feature}", ylabel="value",
        ylim=(0.0, 1.05) if high <= 1 else None)}


def _classes_of(stats: dict, feature: str, r: Request) -> list[str]:
    idx2str, _ = readers.metadata_classes(r.ground_truth_metadata, feature)
    names = idx2str or list(stats.get("per_class_stats", {}))
    n = len(stats.get("confusion_matrix", []))
    if len(names) != n:
        raise VisualizeError(f"the confusion matrix has {n} classes but the class names are {len(names)}; "
                             "give the run's training_set_metadata.json as --ground_truth_metadata")
    return names


def confusion_matrix(r: Request) -> dict[str, bytes]:
    _need(r.test_statistics, "--test_statistics", "confusion_matrix")
    out = {}
    for name, path in zip(names_for(r, len(r.test_statistics)), r.test_statistics):
        feature, stats = readers.test_statistics(path, r.output_feature_name)
        classes = _classes_of(stats, feature, r)
        order = analysis.natural_order(classes)
        cm = np.asarray(stats["confusion_matrix"], dtype=np.int64)
        stem = file_stem(f"confusion_matrix_{feature}_{name}")
        out[stem] = plots.confusion_matrix_png(cm[np.ix_(order, order)], [classes[i] for i in order],
                                               normalize=r.normalize, title=f"Confusion matrix of {name}")
        out[stem + "_entropy"] = analysis_plots.confusion_entropy_png(analysis.confusion_entropy(cm), classes, order)
    return out


def frequency_vs_f1(r: Request) -> dict[str, bytes]:
    _need(r.test_statistics, "--test_statistics", "frequency_vs_f1")
    out = {}
    for name, path in zip(names_for(r, len(r.test_statistics)), r.test_statistics):
        feature, stats = readers.test_statistics(path, r.output_feature_name)
        classes = _classes_of(stats, feature, r)
        _, freq = readers.metadata_classes(r.ground_truth_metadata, feature)
        if not freq:  # without the metadata: the rows of each class in the evaluated split
            freq = dict(zip(classes, np.asarray(stats["confusion_matrix"]).sum(axis=1).tolist()))
        rows = analysis.frequency_vs_f1(classes, freq, stats.get("per_class_stats", {}))
        out[file_stem(f"frequency_vs_f1_{feature}_{name}")] = analysis_plots.frequency_vs_f1_png(rows)
    return out


# --------------------------------------------------------------------------- from probabilities


def from_prob(r: Request) -> dict[str, bytes]:
    models, names = _models(r, "compare_classifiers_performance_from_prob")
    series = {}
    for name, m in zip(names, models):
        top = analysis.top_k_accuracy(m.y_true, m.probabilities)
        order = np.argsort(-m.probabilities, axis=1, kind="stable")
        rank = np.array([np.flatnonzero(row == y)[0] + 1 if y >= 0 else np.inf for row, y in zip(order, m.y_true)])
        series[name] = [float(top[0]), float(top[min(r.top_k, len(top)) - 1]), float(np.mean(1.0 / rank))]
    return {f"compare_classifiers_performance_from_prob_{models[0].feature}": figures.grouped_bars_png(
        ["accuracy", f"hits at {r.top_k}", "mean reciprocal rank"], series,
        title=f"Performance of {models[0].feature} from the probabilities", ylabel="value")}


def changing_k(r: Request) -> dict[str, bytes]:
    models, names = _models(r, "compare_classifiers_performance_changing_k")
    curves = {n: (np.arange(1, m.probabilities.shape[1] + 1), analysis.top_k_accuracy(m.y_true, m.probabilities))
              for n, m in zip(names, models)}
    return {f"compare_classifiers_performance_changing_k_{models[0].feature}": figures.lines_png(
        curves, title="Top-k accuracy against k", xlabel="k", ylabel="accuracy")}


def agreement(models, names) -> dict[str, int]:
    """Row counts of who is right, for two models on the same rows."""
    a, b = models
    pa, pb = a.probabilities.argmax(1), b.probabilities.argmax(1)
    ra, rb = pa == a.y_true, pb == b.y_true
    return {"both right": int(np.sum(ra & rb)), f"only {names[0]} right": int(np.sum(ra & ~rb)),
            f"only {names[1]} right": int(np.sum(~ra & rb)),
            "both wrong, same prediction": int(np.sum(~ra & ~rb & (pa == pb))),
            "both wrong, different predictions": int(np.sum(~ra & ~rb & (pa != pb)))}


def compare_predictions(r: Request) -> dict[str, bytes]:
    models, names = _models(r, "compare_classifiers_predictions", rowwise=True, exactly=2)
    return {f"compare_classifiers_predictions_{models[0].feature}": figures.agreement_png(
        agreement(models, names), (names[0], names[1]))}


def _positive(r: Request, models) -> tuple[int, str]:
    classes = models[0].class_names
    if not 0 <= r.positive_label < len(classes):
        raise VisualizeError(f"--positive_label {r.positive_label} is not a class index 0..{len(classes) - 1} "
                             f"of {models[0].feature} ({', '.join(classes[:10])})")
    return r.positive_label, classes[r.positive_label]


def roc_curves(r: Request) -> dict[str, bytes]:
    models, names = _models(r, "roc_curves")
    c, label = _positive(r, models)
    curves = {}
    for n, m in zip(names, models):
        b = analysis.binary_curves(m.y_true == c, m.probabilities[:, c], r.threshold)
        curves[f"{n} (AUC {b.roc_auc:.4f})"] = (b.fpr, b.tpr)
    return {f"roc_curves_{models[0].feature}": figures.lines_png(
        curves, title=f"ROC of class {label} against the rest", xlabel="false positive rate",
        ylabel="true positive rate", diagonal=True, square=True)}


def precision_recall_curves(r: Request) -> dict[str, bytes]:
    models, names = _models(r, "precision_recall_curves")
    c, label = _positive(r, models)
    curves = {}
    for n, m in zip(names, models):
        b = analysis.binary_curves(m.y_true == c, m.probabilities[:, c], r.threshold)
        curves[f"{n} (AP {b.average_precision:.4f})"] = (b.recall, b.precision)
    return {f"precision_recall_curves_{models[0].feature}": figures.lines_png(
        curves, title=f"Precision-recall of class {label} against the rest", xlabel="recall",
        ylabel="precision", square=True)}


def binary_threshold_vs_metric(r: Request) -> dict[str, bytes]:
    models, names = _models(r, "binary_threshold_vs_metric")
    c, label = _positive(r, models)
    known = ("accuracy", "precision", "recall", "f1", "specificity")
    bad = [m for m in r.metrics if m not in known]
    if bad:
        raise VisualizeError(f"--metrics {', '.join(bad)}: binary_threshold_vs_metric draws {', '.join(known)}")
    curves = {}
    for n, m in zip(names, models):
        b = analysis.binary_curves(m.y_true == c, m.probabilities[:, c], r.threshold)
        for metric in r.metrics:
            curves[f"{n} {metric}"] = (b.thresholds, b.metrics[metric])
    return {f"binary_threshold_vs_metric_{models[0].feature}": figures.lines_png(
        curves, title=f"Metrics of class {label} against the decision threshold", xlabel="decision threshold",
        ylabel="metric")}


def calibration_1_vs_all(r: Request) -> dict[str, bytes]:
    models, names = _models(r, "calibration_1_vs_all")
    cals = [analysis.calibration(m.y_true, m.probabilities) for m in models]
    classes = models[0].class_names
    return {f"calibration_1_vs_all_{models[0].feature}_{i}": figures.reliability_png(
        {n: cal.per_class[c] for n, cal in zip(names, cals)}, f"Calibration of class {classes[c]} against the rest")
        for i, c in enumerate(analysis.natural_order(classes))}


def calibration_multiclass(r: Request) -> dict[str, bytes]:
    models, names = _models(r, "calibration_multiclass")
    curves = {}
    for n, m in zip(names, models):
        onehot = m.y_true[:, None] == np.arange(m.probabilities.shape[1])[None, :]
        curves[n] = analysis.reliability(m.probabilities.ravel(), onehot.ravel())
    return {f"calibration_multiclass_{models[0].feature}": figures.reliability_png(
        curves, "Calibration of every (row, class) probability")}


def confidence_thresholding(r: Request) -> dict[str, bytes]:
    models, names = _models(r, "confidence_thresholding")
    curves = {}
    for n, m in zip(names, models):
        ct = analysis.confidence_thresholding(m.y_true, m.probabilities)
        curves[f"{n} accuracy"] = (ct.thresholds, ct.accuracy)
        curves[f"{n} data coverage"] = (ct.thresholds, ct.coverage)
    return {f"confidence_thresholding_{models[0].feature}": figures.lines_png(
        curves, title="Confidence thresholding", xlabel="confidence threshold", ylabel="fraction")}


VISUALIZATIONS: dict[str, Callable[[Request], dict[str, bytes]]] = {
    "learning_curves": learning_curves,
    "compare_performance": compare_performance,
    "confusion_matrix": confusion_matrix,
    "frequency_vs_f1": frequency_vs_f1,
    "compare_classifiers_performance_from_prob": from_prob,
    "compare_classifiers_performance_changing_k": changing_k,
    "compare_classifiers_predictions": compare_predictions,
    "roc_curves": roc_curves,
    "precision_recall_curves": precision_recall_curves,
    "binary_threshold_vs_metric": binary_threshold_vs_metric,
    "calibration_1_vs_all": calibration_1_vs_all,
    "calibration_multiclass": calibration_multiclass,
    "confidence_thresholding": confidence_thresholding,
}

if tuple(VISUALIZATIONS) != SUPPORTED:  # names.py lists them for the CLI without importing matplotlib
    raise RuntimeError("visualize/names.py SUPPORTED differs from registry.VISUALIZATIONS")
