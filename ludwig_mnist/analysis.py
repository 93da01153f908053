"""Analyses Ludwig's `visualize` draws for a classifier, as pure numpy values (no I/O, no plotting).

Inputs follow evaluate.py: y_true (N,) int class indices with -1 for a label unseen at training time
(always wrong, a negative for every class), probabilities (N, C).  Everything here derives new
quantities from those arrays (calibration, confidence thresholding, top-k curve, confusion entropy) or
from the statistics already computed (frequency vs F1); nothing recomputes a metric of evaluate.py.

Binary outputs (y_true bool, p_true float, threshold) get ROC, precision-recall and metrics-vs-threshold
curves in the same style.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CALIBRATION_BINS = 10
THRESHOLD_STEPS = 21  # confidence thresholds 0.00, 0.05, ..., 1.00 as in Ludwig's confidence_thresholding


def natural_order(names: Sequence[str]) -> list[int]:
    """Indices of names in the order people read them: numeric names by value when every name is a
    number ("2" before "10"), otherwise alphabetically (case-insensitive, ties by the exact name)."""
    values: list[float] = []
    for name in names:
        try:
            value = float(str(name))
        except ValueError:
            break
        if math.isnan(value):
            break
        values.append(value)
    else:
        return sorted(range(len(names)), key=lambda i: (values[i], str(names[i])))
    return sorted(range(len(names)), key=lambda i: (str(names[i]).casefold(), str(names[i])))


def _inputs(y_true, probabilities) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).astype(np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or y.shape != (p.shape[0],) or len(y) == 0:
        raise ValueError(f"need y_true (N,) and probabilities (N, C) with N > 0, got {y.shape} and {p.shape}")
    return y, p


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class Reliability:
    """One reliability curve: per non-empty bin, the mean predicted probability, the observed frequency
    of the positive outcome and the row count (arrays (B,), B <= bins)."""

    mean_predicted: np.ndarray
    observed: np.ndarray
    counts: np.ndarray
    brier: float  # mean (p - outcome)^2
    ece: float  # sum over bins of count/N * |observed - mean_predicted|


def reliability(scores: np.ndarray, outcome: np.ndarray, bins: int = CALIBRATION_BINS) -> Reliability:
    """Reliability of probabilities `scores` (N,) for boolean outcomes (N,), equal-width bins on [0, 1]
    (the last bin includes 1.0)."""
    scores = np.asarray(scores, dtype=np.float64)
    outcome = np.asarray(outcome, dtype=np.float64)
    which = np.clip((scores * bins).astype(np.int64), 0, bins - 1)  # (N,) bin of each score
    counts = np.bincount(which, minlength=bins)
    sum_p = np.bincount(which, weights=scores, minlength=bins)
    sum_o = np.bincount(which, weights=outcome, minlength=bins)
    used = counts > 0
    mean_p = sum_p[used] / counts[used]
    observed = sum_o[used] / counts[used]
    ece = float(np.sum(counts[used] / len(scores) * np.abs(observed - mean_p)))
    brier = float(np.mean((scores - outcome) ** 2))
    return Reliability(mean_p, observed, counts[used], brier, ece)


@dataclass(frozen=True)
class Calibration:
    per_class: dict[int, Reliability]  # one-vs-all: class index -> reliability of p[:, c] for y == c
    top_label: Reliability  # confidence = max probability, outcome = the prediction is right
    brier: float  # multiclass Brier score: mean over rows of sum over classes (p_c - onehot_c)^2, in [0, 2]
    ece: float  # expected calibration error of the top label (the usual single number)


def calibration(y_true, probabilities, bins: int = CALIBRATION_BINS) -> Calibration:
    y, p = _inputs(y_true, probabilities)
    onehot = y[:, None] == np.arange(p.shape[1])[None, :]  # (N, C); an unseen row (-1) is all False
    per_class = {c: reliability(p[:, c], onehot[:, c], bins) for c in range(p.shape[1])}
    correct = (p.argmax(axis=1) == y) & (y >= 0)
    top = reliability(p.max(axis=1), correct, bins)
    brier = float(np.mean(np.sum((p - onehot) ** 2, axis=1)))
    return Calibration(per_class, top, brier, top.ece)


# --------------------------------------------------------------------------- confidence and top-k


@dataclass(frozen=True)
class ConfidenceThresholding:
    thresholds: np.ndarray  # (T,)
    accuracy: np.ndarray  # (T,) accuracy over the rows whose top probability >= threshold; NaN when none
    coverage: np.ndarray  # (T,) fraction of rows kept


def confidence_thresholding(y_true, probabilities, thresholds: Sequence[float] | None = None
                            ) -> ConfidenceThresholding:
    """Ludwig's confidence_thresholding: keep the rows the model is at least t sure of."""
    y, p = _inputs(y_true, probabilities)
    t = np.linspace(0.0, 1.0, THRESHOLD_STEPS) if thresholds is None else np.asarray(thresholds, float)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y) & (y >= 0)
    kept = confidence[None, :] >= t[:, None]  # (T, N)
    n_kept = kept.sum(axis=1)
    hits = (kept & correct[None, :]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(n_kept > 0, hits / np.maximum(n_kept, 1), np.nan)
    return ConfidenceThresholding(t, accuracy, n_kept / len(y))


def top_k_accuracy(y_true, probabilities) -> np.ndarray:
    """(C,) fraction of rows whose true class is among the k most probable, k = 1..C.  Ties rank the
    lower class index first (a stable sort, as evaluate.py's hits_at_k), so entry 0 is plain accuracy."""
    y, p = _inputs(y_true, probabilities)
    order = np.argsort(-p, axis=1, kind="stable")  # (N, C)
    rank = np.full(len(y), p.shape[1])  # unseen labels never hit
    rows, cols = np.nonzero(order == y[:, None])
    rank[rows] = cols
    return np.array([(rank < k).mean() for k in range(1, p.shape[1] + 1)])


# --------------------------------------------------------------------------- confusion


def confusion_entropy(confusion: np.ndarray) -> np.ndarray:
    """(C,) entropy in bits of each true class's row of predictions: 0 when a class is always predicted as
    one class (right or wrong), log2(C) when spread evenly; 0 for a class without rows.  Ludwig's
    confusion_matrix visualization draws the same per-row entropy (in nats)."""
    cm = np.asarray(confusion, dtype=np.float64)
    totals = cm.sum(axis=1, keepdims=True)
    q = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    logs = np.log2(q, out=np.zeros_like(q), where=q > 0)
    return -np.sum(q * logs, axis=1) + 0.0


def frequency_vs_f1(class_names: Sequence[str], frequencies: Mapping[str, int],
                    per_class_stats: Mapping[str, Mapping[str, float]]) -> list[tuple[str, int, float]]:
    """(class, frequency, F1) sorted by descending frequency (ties by natural order): Ludwig's
    frequency_vs_f1 reads whether rare classes are the badly learned ones."""
    order = {i: r for r, i in enumerate(natural_order(class_names))}
    rows = [(name, int(frequencies.get(name, 0)), float(per_class_stats.get(name, {}).get("f1_score", 0.0)))
            for name in class_names]
    ranked = sorted(range(len(rows)), key=lambda i: (-rows[i][1], order[i]))
    return [rows[i] for i in ranked]


# --------------------------------------------------------------------------- binary outputs


@dataclass(frozen=True)
class BinaryCurves:
    fpr: np.ndarray  # ROC, thresholds descending, starting at (0, 0)
    tpr: np.ndarray
    roc_auc: float
    recall: np.ndarray  # precision-recall, starting at recall 0
    precision: np.ndarray
    average_precision: float  # area under the step PR curve: sum (R_k - R_{k-1}) P_k
    thresholds: np.ndarray  # (T,) decision thresholds 0..1
    metrics: dict[str, np.ndarray]  # accuracy, precision, recall, f1, specificity at each threshold
    threshold: float  # the decision threshold the model uses


def binary_curves(y_true, p_true, threshold: float = 0.5, steps: int = 101) -> BinaryCurves:
    """ROC and PR curves (AUC, average precision) and metrics against the decision threshold of a binary
    output; y_true (N,) bool, p_true (N,) probability of True.  Undefined ratios are 0.0."""
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(p_true, dtype=np.float64)
    if y.ndim != 1 or s.shape != y.shape or len(y) == 0:
        raise ValueError(f"need y_true (N,) and p_true (N,) with N > 0, got {y.shape} and {s.shape}")
    pos, neg = int(y.sum()), int((~y).sum())
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), len(s) - 1]  # end of each tied score run
    tp = np.cumsum(y_sorted)[last].astype(np.float64)
    fp = (last + 1) - tp
    tpr = np.r_[0.0, tp / pos] if pos else np.r_[0.0, np.zeros_like(tp)]
    fpr = np.r_[0.0, fp / neg] if neg else np.r_[0.0, np.zeros_like(fp)]
    roc_auc = float(np.trapezoid(tpr, fpr)) if pos and neg else float("nan")
    precision = np.r_[1.0, tp / (tp + fp)]
    recall = tpr
    ap = float(np.sum(np.diff(recall) * precision[1:])) if pos else float("nan")

    t = np.linspace(0.0, 1.0, steps)
    predicted = s[None, :] >= t[:, None]  # (T, N), Ludwig predicts True at p >= threshold
    tp_t = (predicted & y).sum(axis=1).astype(np.float64)
    fp_t = (predicted & ~y).sum(axis=1).astype(np.float64)
    fn_t = pos - tp_t
    tn_t = neg - fp_t

    def div(a, b):
        return np.divide(a, b, out=np.zeros_like(a), where=b > 0)

    prec, rec = div(tp_t, tp_t + fp_t), div(tp_t, tp_t + fn_t)
    metrics = {"accuracy": (tp_t + tn_t) / len(y), "precision": prec, "recall": rec,
               "f1": div(2 * prec * rec, prec + rec), "specificity": div(tn_t, tn_t + fp_t)}
    return BinaryCurves(fpr, tpr, roc_auc, recall, precision, ap, t, metrics, float(threshold))
