"""Ludwig 0.10 statistics of a binary output from (y_true, probabilities); pure numpy like evaluate.py.

y_true: (N,) int, 1 = True, 0 = False (no unseen labels: data/binary.py refuses values it cannot map).
probabilities: (N, 2) [P(False), P(True)] as training/inference.py returns for a sigmoid output.

Ludwig's binary metrics (features/binary_feature.py, modules/metric_modules.py):
- accuracy: on the predictions, P(True) >= threshold (the feature's ``threshold``);
- precision, recall, specificity: torchmetrics' binary metrics on the probabilities with their own default
  threshold 0.5 (P(True) > 0.5), whatever the feature's threshold, exactly as Ludwig computes them;
- roc_auc: the Mann-Whitney AUC of P(True) (0.0 when a class is absent, this package's convention);
- loss and binary_weighted_cross_entropy: the BWCEW loss (positive_class_weight, robust_lambda,
  confidence_penalty) on P(True) clipped to [1e-7, 1 - 1e-7], unweighted by loss.weight;
- and, in test statistics, calculate_overall_stats: confusion_matrix over labels [False, True],
  overall_stats, per_class_stats keyed "False"/"True", roc_curve, roc_auc_macro/micro,
  precision_recall_curve, average_precision_macro/micro/samples (scikit-learn's definitions).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .evaluate import PROBABILITY_EPSILON, _binary_auc, _confusion_stats
from .results import SplitEvaluation

LUDWIG_BINARY_LABELS = ("False", "True")  # Ludwig's ConfusionMatrix labels for every binary output
TORCHMETRICS_THRESHOLD = 0.5


def _check(y_true: Any, probabilities: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    p = np.asarray(probabilities, dtype=np.float64)
    if y.ndim != 1 or len(y) == 0 or p.shape != (len(y), 2):
        raise ValueError(f"expected y_true (N,) and probabilities (N, 2), got {y.shape} and {p.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("binary y_true must hold only 0 and 1")
    return y.astype(np.int64), p[:, 1]


def bwcew_loss(y: np.ndarray, p_true: np.ndarray, loss) -> float:
    """Ludwig's BWCEWLoss: mean BCE (positive rows weighted by positive_class_weight), robust lambda,
    then + confidence_penalty x (ln 2 - max over rows of -p ln p) / ln 2 (loss_utils.mean_confidence_penalty)."""
    p = np.clip(p_true, PROBABILITY_EPSILON, 1.0 - PROBABILITY_EPSILON)
    weight = loss.positive_class_weight or 1.0
    per_row = -(weight * y * np.log(p) + (1 - y) * np.log(1.0 - p))
    if loss.robust_lambda > 0:
        per_row = (1 - loss.robust_lambda) * per_row + loss.robust_lambda / 2
    value = float(np.mean(per_row))
    if loss.confidence_penalty > 0:
        entropy = float(np.max(-p_true * np.log(np.clip(p_true, 1e-10, 1.0))))
        value += loss.confidence_penalty * (math.log(2) - entropy) / math.log(2)
    return value


def binary_epoch_metrics(y_true: np.ndarray, probabilities: np.ndarray, threshold: float, loss) -> dict[str, float]:
    """The per-epoch metrics Ludwig records for a binary output, in its (alphabetical) order."""
    y, p = _check(y_true, probabilities)
    predicted = p > TORCHMETRICS_THRESHOLD
    tp, fp = int(np.sum(predicted & (y == 1))), int(np.sum(predicted & (y == 0)))
    fn, tn = int(np.sum(~predicted & (y == 1))), int(np.sum(~predicted & (y == 0)))
    value = bwcew_loss(y, p, loss)
    auc = _binary_auc(p, y == 1)
    return {
        "accuracy": float(np.mean((p >= threshold) == (y == 1))),
        "binary_weighted_cross_entropy": value,
        "loss": value,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "roc_auc": auc if auc is not None else 0.0,
        "specificity": tn / (tn + fp) if tn + fp else 0.0,
    }


def _clf_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's _binary_clf_curve: (fps, tps, thresholds) at each distinct score, descending."""
    order = np.argsort(-p, kind="mergesort")
    scores, pos = p[order], y[order]
    last = np.flatnonzero(np.r_[scores[1:] != scores[:-1], True])
    tps = np.cumsum(pos)[last].astype(np.float64)
    return (last + 1) - tps, tps, scores[last]


def roc_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's roc_curve (drop_intermediate=True): (fpr, tpr) from (0, 0), collinear points dropped."""
    fps, tps, _ = _clf_curve(y, p)
    if len(fps) > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps = fps[keep], tps[keep]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full_like(fps, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full_like(tps, np.nan)
    return fpr, tpr


def precision_recall_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's precision_recall_curve: recall falling to 0, precision ending at 1."""
    fps, tps, _ = _clf_curve(y, p)
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted > 0)
    recall = tps / tps[-1] if tps[-1] > 0 else np.ones_like(tps)
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0]


def _finite(values: np.ndarray) -> list[float]:
    return [float(v) if np.isfinite(v) else 0.0 for v in values]


def evaluate_binary(split: str, y_true: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str],
                    threshold: float, loss) -> SplitEvaluation:
    """Ludwig 0.10-format statistics of one split of a binary output (see the module docstring)."""
    names = tuple(str(n) for n in class_names)
    y, p = _check(y_true, probabilities)
    headline = binary_epoch_metrics(y, probabilities, threshold, loss)
    predicted = (p >= threshold).astype(np.int64)
    cm = np.zeros((2, 2), dtype=np.int64)
    np.add.at(cm, (y, predicted), 1)  # rows true, columns predicted, [False, True]
    overall, per_class = _confusion_stats(cm)
    accuracy = float(np.mean(predicted == y))
    per_class_stats = {
        label: {key: int(v[k]) if np.issubdtype(v.dtype, np.integer) else float(v[k]) for key, v in per_class.items()}
        for k, label in enumerate(LUDWIG_BINARY_LABELS)}
    fpr, tpr = roc_curve(y, p)
    precisions, recalls = precision_recall_curve(y, p)
    average_precision = float(-np.sum(np.diff(recalls) * precisions[:-1])) if y.any() else 0.0
    auc = headline["roc_auc"]
    statistics = {
        **headline,
        "confusion_matrix": cm.tolist(),
        "overall_stats": {"token_accuracy": accuracy, **overall, "overall_accuracy": accuracy},
        "per_class_stats": per_class_stats,
        "roc_curve": {"false_positive_rate": _finite(fpr), "true_positive_rate": _finite(tpr)},
        "roc_auc_macro": auc,
        "roc_auc_micro": auc,  # for one binary column scikit-learn's macro and micro AUC are the same number
        "precision_recall_curve": {"precisions": _finite(precisions), "recalls": _finite(recalls)},
        "average_precision_macro": average_precision,
        "average_precision_micro": average_precision,
        "average_precision_samples": average_precision,
    }
    roc = {1: (fpr, tpr, auc)} if 0 < y.sum() < len(y) else {}  # the True class's curve, for the report
    return SplitEvaluation(split, names, y, np.asarray(probabilities, dtype=np.float32), statistics, 0,
                           confusion=cm, roc=roc, micro_roc=None, threshold=threshold)


def evaluate_feature(feature, split: str, y_true: np.ndarray, probabilities: np.ndarray,
                     class_names: Sequence[str], unseen_label_count: int | None = None) -> SplitEvaluation:
    """The output feature's statistics: evaluate_binary for a binary output, else evaluate_predictions."""
    if feature.type == "binary":
        return evaluate_binary(split, y_true, probabilities, class_names, feature.threshold, feature.loss)
    from .evaluate import evaluate_predictions
    return evaluate_predictions(split, y_true, probabilities, class_names, feature.top_k, unseen_label_count)


def summary_line(feature, evaluation: SplitEvaluation, name: str | None = None) -> str:
    """The log line of one evaluated split (named `name`, else the split's name)."""
    s = evaluation.statistics
    name = evaluation.split if name is None else name
    if feature.type == "binary":
        return (f"{name}: accuracy {s['accuracy']:.4f}, loss {s['loss']:.4f}, roc_auc {s['roc_auc']:.4f}, "
                f"precision {s['precision']:.4f}, recall {s['recall']:.4f}, specificity {s['specificity']:.4f}")
    return (f"{name}: accuracy {evaluation.accuracy:.4f}, loss {evaluation.loss:.4f}, "
            f"hits_at_{feature.top_k} {s['hits_at_k']:.4f}")
