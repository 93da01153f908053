"""Ludwig-format statistics for a category output from (y_true, probabilities).

Pure numpy (no TensorFlow, no scikit-learn) so that the statistics can be
tested by hand and recomputed from a predictions file without a model.

Conventions used throughout (each documented where it matters):
- y_true is (N,) int; -1 marks a label the model never saw in training.  Such a
  row is always wrong: it counts as an error in accuracy, accuracy_micro,
  hits_at_k and loss (its probability is the epsilon 1e-7), it is a negative for
  every class in ROC AUC, and it is left out of the confusion matrix and of
  everything derived from it (per-class counts, precision/recall/F1, kappa).
- Any 0/0 (precision of a class never predicted, an undefined MCC, ...) is 0.0,
  as in Ludwig's ConfusionMatrix and scikit-learn's zero_division=0, so the JSON
  never contains NaN.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .results import SplitEvaluation

PROBABILITY_EPSILON = 1e-7  # clip for -log(p), the probability an unseen label gets
UNSEEN_LABEL = -1
EPOCH_METRIC_KEYS = ("accuracy", "accuracy_micro", "hits_at_k", "loss", "roc_auc")


def _check_inputs(y_true: Any, probabilities: Any, n_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return (y (N,) int64, p (N, C) float64).  Errors here are caller bugs: ValueError."""
    y = np.asarray(y_true)
    p = np.asarray(probabilities, dtype=np.float64)
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or y.size == 0):
        raise ValueError(f"y_true must be a 1-D integer array, got shape {y.shape} dtype {y.dtype}")
    if p.ndim != 2 or p.shape[0] != y.shape[0]:
        raise ValueError(f"probabilities must be (N, C) with N = len(y_true) = {y.shape[0]}, got {p.shape}")
    if y.shape[0] == 0:
        raise ValueError("cannot evaluate zero rows")
    if p.shape[1] == 0 or (n_classes is not None and p.shape[1] != n_classes):
        raise ValueError(f"probabilities have {p.shape[1]} columns, expected {n_classes} classes")
    if y.min() < UNSEEN_LABEL or y.max() >= p.shape[1]:
        raise ValueError(f"y_true values must lie in [-1, {p.shape[1] - 1}], got [{y.min()}, {y.max()}]")
    if not np.all(np.isfinite(p)):
        # A diverged model; writing NaN statistics would break every consumer.
        raise ValueError("probabilities contain NaN or infinity")
    return y.astype(np.int64), p


def _div(num: Any, den: Any) -> np.ndarray:
    """Elementwise num / den with 0/0 (any x/0) defined as 0.0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def _average_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks of scores (n,), tied scores sharing the mean of their ranks."""
    order = np.argsort(scores, kind="mergesort")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # first position of each tie run
    ends = np.r_[starts[1:], len(scores)]  # exclusive end of each run
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.repeat((starts + 1 + ends) / 2.0, ends - starts)  # mean of ranks starts+1..ends
    return ranks


def _binary_auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """Mann-Whitney AUC = P(score of a positive > score of a negative), ties count 1/2.

    None when there are no positives or no negatives (AUC undefined).
    """
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    rank_sum = _average_ranks(scores)[positive].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _per_class_auc(y: np.ndarray, p: np.ndarray) -> list[float | None]:
    """One-vs-rest AUC of each column of p (N, C); unseen rows (-1) are negatives for every class."""
    return [_binary_auc(p[:, k], y == k) for k in range(p.shape[1])]


def roc_curves(y_true: np.ndarray, probabilities: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray, float]]:
    """One-vs-rest ROC curve of every class that has both positives and negatives.

    Returns {class_index: (fpr, tpr, auc)}; fpr and tpr are float64 arrays of
    equal length starting at (0, 0) and ending at (1, 1), one point per distinct
    score (tied rows move together, giving a diagonal step), so the trapezoid
    area under them equals auc.  Classes lacking positives or negatives are left
    out.  Rows with y_true == -1 are negatives for every class.
    """
    y, p = _check_inputs(y_true, probabilities)
    curves: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
    for k, auc in enumerate(_per_class_auc(y, p)):
        if auc is None:
            continue
        positive = y == k
        order = np.argsort(-p[:, k], kind="mergesort")  # descending score = falling threshold
        scores, pos = p[order, k], positive[order]
        last = np.flatnonzero(np.r_[scores[1:] != scores[:-1], True])  # last row of each tie run
        tps = np.cumsum(pos)[last]
        fps = (last + 1) - tps
        tpr = np.r_[0.0, tps / positive.sum()]
        fpr = np.r_[0.0, fps / (len(positive) - positive.sum())]
        curves[k] = (fpr, tpr, auc)
    return curves


def _headline(y: np.ndarray, p: np.ndarray, top_k: int) -> dict[str, float]:
    """The five per-epoch metrics; y (N,), p (N, C) already validated."""
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    n, c = p.shape
    seen = y != UNSEEN_LABEL
    correct = seen & (p.argmax(axis=1) == y)  # argmax takes the first maximum on ties

    # Cross-entropy on p[true]; an unseen label has probability epsilon (maximal loss).
    p_true = np.full(n, PROBABILITY_EPSILON)
    p_true[seen] = p[np.flatnonzero(seen), y[seen]]
    loss = float(np.mean(-np.log(np.clip(p_true, PROBABILITY_EPSILON, 1.0))))

    # Top-k by a stable sort of -p: among equal probabilities the lower index
    # ranks first, exactly like argmax, so hits_at_k with k=1 == accuracy_micro.
    k = min(top_k, c)
    top = np.argsort(-p, axis=1, kind="stable")[:, :k]  # (N, k)
    hits = (top == y[:, None]).any(axis=1)  # y == -1 never matches

    # Macro accuracy = mean recall over classes with support (torchmetrics'
    # multiclass default, what Ludwig writes as `accuracy`).  All unseen rows
    # form one extra pseudo-class whose recall is necessarily 0.
    support = np.bincount(y[seen], minlength=c)  # (C,)
    hit_count = np.bincount(y[correct], minlength=c)  # (C,)
    recalls = list(hit_count[support > 0] / support[support > 0])
    if not seen.all():
        recalls.append(0.0)

    aucs = [a for a in _per_class_auc(y, p) if a is not None]
    return {
        "accuracy": float(np.mean(recalls)),
        "accuracy_micro": float(correct.mean()),
        "hits_at_k": float(hits.mean()),
        "loss": loss,
        "roc_auc": float(np.mean(aucs)) if aucs else 0.0,  # macro over classes where AUC is defined
    }


def epoch_metrics(y_true: np.ndarray, probabilities: np.ndarray, top_k: int = 3) -> dict[str, float]:
    """Cheap metrics for one split after one epoch: {loss, accuracy, accuracy_micro, hits_at_k, roc_auc}.

    Same definitions as evaluate_predictions (accuracy is macro, accuracy_micro
    is plain accuracy); plain floats, for training_statistics.json.
    """
    y, p = _check_inputs(y_true, probabilities)
    return _headline(y, p, top_k)


def _confusion_stats(cm: np.ndarray) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Overall and per-class statistics of a (C, C) confusion matrix, rows = true, columns = predicted."""
    cm = cm.astype(np.int64)
    tp = np.diag(cm)  # (C,)
    support = cm.sum(axis=1)  # true count per class
    predicted = cm.sum(axis=0)  # predicted count per class
    total = int(cm.sum())
    fp, fn = predicted - tp, support - tp
    tn = total - tp - fp - fn
    precision, recall = _div(tp, tp + fp), _div(tp, tp + fn)
    f1 = _div(2 * precision * recall, precision + recall)
    specificity, npv = _div(tn, tn + fp), _div(tn, tn + fn)
    tpf, tnf, fpf, fnf = (x.astype(np.float64) for x in (tp, tn, fp, fn))  # floats: the products overflow int64 sooner
    mcc = _div(tpf * tnf - fpf * fnf, np.sqrt((tpf + fpf) * (tpf + fnf) * (tnf + fpf) * (tnf + fnf)))
    per_class = {
        "true_positives": tp, "false_positives": fp, "true_negatives": tn, "false_negatives": fn,
        "support": support,
        "precision": precision, "recall": recall, "f1_score": f1, "specificity": specificity,
        "accuracy": _div(tp + tn, total),
        "matthews_correlation_coefficient": mcc,
        # Ludwig's aliases and complements; each computed as its own ratio so
        # 0/0 stays 0.0 (Ludwig's 1 - rate would turn it into 1.0).
        "true_positive_rate": recall, "true_negative_rate": specificity,
        "positive_predictive_value": precision, "negative_predictive_value": npv,
        "false_negative_rate": _div(fn, tp + fn), "false_positive_rate": _div(fp, fp + tn),
        "false_discovery_rate": _div(fp, tp + fp), "false_omission_rate": _div(fn, fn + tn),
        "sensitivity": recall, "hit_rate": recall, "miss_rate": _div(fn, tp + fn), "fall_out": _div(fp, fp + tn),
        "informedness": recall + specificity - 1.0, "markedness": precision + npv - 1.0,
    }

    # Macro averages over the classes that occur as truth or prediction
    # (scikit-learn's default label set; torchmetrics likewise ignores classes
    # absent from both), so an unused vocabulary entry does not drag them down.
    active = (support + predicted) > 0
    def macro(x: np.ndarray) -> float:
        return float(x[active].mean()) if active.any() else 0.0
    def weighted(x: np.ndarray) -> float:  # by support: the real weighted average, not Ludwig's micro copy
        return float(_div(np.sum(support * x), support.sum()))
    micro_p = float(_div(tp.sum(), tp.sum() + fp.sum()))
    micro_r = float(_div(tp.sum(), tp.sum() + fn.sum()))
    # Cohen's kappa = (p_o - p_e) / (1 - p_e), multiplied by total^2 and done
    # in Python ints so that a p_e of exactly 1 is caught (0/0 -> 0.0).
    chance = int(np.dot(support.astype(object), predicted.astype(object)))
    overall = {
        "avg_precision_macro": macro(precision), "avg_recall_macro": macro(recall), "avg_f1_score_macro": macro(f1),
        "avg_precision_micro": micro_p, "avg_recall_micro": micro_r,
        "avg_f1_score_micro": float(_div(2 * micro_p * micro_r, micro_p + micro_r)),
        "avg_precision_weighted": weighted(precision), "avg_recall_weighted": weighted(recall),
        "avg_f1_score_weighted": weighted(f1),
        "kappa_score": float(_div(total * int(tp.sum()) - chance, total * total - chance)),
    }
    return overall, per_class


def evaluate_predictions(
    split: str,
    y_true: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    top_k: int = 3,
    unseen_label_count: int | None = None,
) -> SplitEvaluation:
    """Ludwig 0.10-format statistics of one split of a category output.

    y_true: (N,) int indices into class_names, -1 for a label unseen in
    training; probabilities: (N, C) with C == len(class_names), rows summing to 1.
    N == 0 raises ValueError.

    statistics (JSON-serialisable, plain Python numbers, never NaN):
    - accuracy: MACRO accuracy, the mean per-class recall over classes with
      support (torchmetrics' multiclass default, which real Ludwig writes under
      `accuracy`); unseen labels form one extra class with recall 0.
    - accuracy_micro: plain accuracy, the fraction of rows predicted right.
    - hits_at_k: fraction of rows whose true class is among the top min(top_k, C).
    - loss: mean of -log(clip(p[true], 1e-7, 1)); unseen labels contribute -log(1e-7).
    - roc_auc: macro one-vs-rest AUC over classes with positives and negatives (0.0 if none).
    - confusion_matrix: C x C, rows = true, columns = predicted, class_names order; unseen rows excluded.
    - overall_stats: macro/micro/weighted precision, recall and F1 and kappa_score
      from the confusion matrix (so over seen rows); overall_accuracy and
      token_accuracy equal accuracy_micro (over all rows); unseen_label_count.
    - per_class_stats: {class_name: counts, support, precision, recall, f1_score,
      specificity, accuracy, matthews_correlation_coefficient, roc_auc (0.0 when
      undefined), and Ludwig's other rates}.  Any 0/0 is 0.0.
    unseen_label_count defaults to the number of -1 labels and is recorded as given.
    """
    names = tuple(str(n) for n in class_names)
    if len(set(names)) != len(names):
        raise ValueError(f"class names are not unique: {names}")
    y, p = _check_inputs(y_true, probabilities, n_classes=len(names))
    if unseen_label_count is None:
        unseen_label_count = int(np.sum(y == UNSEEN_LABEL))
    if unseen_label_count < 0:
        raise ValueError(f"unseen_label_count must be >= 0, got {unseen_label_count}")
    c = len(names)

    headline = _headline(y, p, top_k)
    seen = y != UNSEEN_LABEL
    cm = np.zeros((c, c), dtype=np.int64)
    np.add.at(cm, (y[seen], p[seen].argmax(axis=1)), 1)
    overall, per_class = _confusion_stats(cm)
    aucs = _per_class_auc(y, p)

    overall_stats: dict[str, Any] = {
        "token_accuracy": headline["accuracy_micro"],
        **overall,
        "overall_accuracy": headline["accuracy_micro"],
        "unseen_label_count": int(unseen_label_count),
    }
    per_class_stats: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(names):
        entry: dict[str, Any] = {}
        for key, values in per_class.items():
            v = values[k]
            entry[key] = int(v) if np.issubdtype(values.dtype, np.integer) else float(v)
        entry["roc_auc"] = aucs[k] if aucs[k] is not None else 0.0
        per_class_stats[name] = entry

    statistics = {
        **headline,
        "confusion_matrix": cm.tolist(),
        "overall_stats": overall_stats,
        "per_class_stats": per_class_stats,
    }
    return SplitEvaluation(split, names, y, p.astype(np.float32), statistics, int(unseen_label_count),
                           confusion=cm, roc=roc_curves(y, p), micro_roc=micro_average_roc(y, p))


def micro_average_roc(y_true: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """ROC of all (row, class) pairs pooled as one binary problem; None when undefined."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    classes = np.arange(probabilities.shape[1])
    positive = (np.asarray(y_true)[:, None] == classes[None, :]).ravel().astype(np.int64)
    scores = probabilities.ravel()
    # class 1 of the two-column problem [1 - score, score] is "this pair is the true class"
    return roc_curves(positive, np.column_stack([1.0 - scores, scores])).get(1)


def test_statistics_json(evaluation: SplitEvaluation, output_feature_name: str) -> dict[str, Any]:
    """test_statistics.json layout: {"combined": {"loss"}, <output name>: statistics}.

    With a single output feature of weight 1, the combined loss is its loss.
    """
    if output_feature_name == "combined":
        raise ValueError("an output feature cannot be named 'combined' (Ludwig reserves it)")
    return {"combined": {"loss": evaluation.statistics["loss"]}, output_feature_name: evaluation.statistics}


test_statistics_json.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name


def training_statistics_entry(per_epoch: Sequence[Mapping[str, float]], output_feature_name: str) -> dict[str, Any]:
    """One split of training_statistics.json from a list of epoch_metrics() dicts (epoch order).

    Returns {"combined": {"loss": [...]}, <output name>: {metric: [one value per epoch]}}.
    """
    return {
        "combined": {"loss": [float(m["loss"]) for m in per_epoch]},
        # a binary output's metrics (evaluate_binary.binary_epoch_metrics) are its own keys, already in order
        output_feature_name: {key: [float(m[key]) for m in per_epoch]
                              for key in (EPOCH_METRIC_KEYS if "hits_at_k" in per_epoch[0] else per_epoch[0])},
    }
