"""Hand-computed checks of ludwig_mnist.evaluate (no files, no working-directory assumptions)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ludwig_mnist import evaluate as ev
from ludwig_mnist.results import SplitEvaluation

# Imbalanced 3-class case, 8 rows.  Predictions (argmax) are
#   y_true = 0 0 0 0 0 1 1 2
#   y_pred = 0 0 0 1 2 1 0 2
# so the confusion matrix (rows true, columns predicted) is
#   [[3, 1, 1], [1, 1, 0], [0, 0, 1]]
Y = np.array([0, 0, 0, 0, 0, 1, 1, 2])
P = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.6, 0.3, 0.1],
        [0.5, 0.1, 0.4],
        [0.3, 0.6, 0.1],  # true 0 ranked 2nd
        [0.1, 0.2, 0.7],  # true 0 ranked 3rd
        [0.2, 0.7, 0.1],
        [0.5, 0.4, 0.1],  # true 1 ranked 2nd
        [0.1, 0.1, 0.8],
    ]
)
NAMES = ("a", "b", "c")


def _stats(**kw):
    return ev.evaluate_predictions("test", Y, P, NAMES, **kw).statistics


def _walk_plain(obj):
    """Assert obj is made only of plain JSON types (no numpy scalars) and finite floats."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert type(k) is str
            _walk_plain(v)
    elif isinstance(obj, list):
        for v in obj:
            _walk_plain(v)
    else:
        assert type(obj) in (int, float, str, bool), (obj, type(obj))
        if type(obj) is float:
            assert math.isfinite(obj)


def test_headline_metrics_by_hand():
    s = _stats()
    assert s["confusion_matrix"] == [[3, 1, 1], [1, 1, 0], [0, 0, 1]]
    assert s["accuracy_micro"] == pytest.approx(5 / 8)
    # macro accuracy = mean recall = (3/5 + 1/2 + 1/1) / 3, differs from plain accuracy
    assert s["accuracy"] == pytest.approx(0.7)
    assert s["accuracy"] != pytest.approx(s["accuracy_micro"])
    p_true = [0.7, 0.6, 0.5, 0.3, 0.1, 0.7, 0.4, 0.8]
    assert s["loss"] == pytest.approx(np.mean([-math.log(x) for x in p_true]))
    assert s["hits_at_k"] == 1.0  # default top_k=3 == C: every true class is in the top 3
    # roc: class a 11/15, class b 11/12, class c 1 (pair counts worked out in the comments of test_per_class_auc)
    assert s["roc_auc"] == pytest.approx((11 / 15 + 11 / 12 + 1.0) / 3)


def test_hits_at_k():
    assert _stats(top_k=1)["hits_at_k"] == pytest.approx(_stats()["accuracy_micro"])
    assert _stats(top_k=2)["hits_at_k"] == pytest.approx(7 / 8)  # only row 4 has its true class 3rd
    assert _stats(top_k=3)["hits_at_k"] == 1.0
    assert _stats(top_k=10)["hits_at_k"] == 1.0  # k capped at C
    with pytest.raises(ValueError):
        _stats(top_k=0)


def test_hits_at_1_equals_accuracy_with_ties():
    # Ties at the maximum: argmax and top-1 must agree (lowest index wins).
    y = np.array([0, 1, 1, 2])
    p = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [1 / 3] * 3, [0.25, 0.25, 0.5]])
    m = ev.epoch_metrics(y, p, top_k=1)
    assert m["accuracy_micro"] == pytest.approx(0.5)
    assert m["hits_at_k"] == pytest.approx(m["accuracy_micro"])


def test_overall_stats_by_hand():
    o = _stats()["overall_stats"]
    precision, recall = [3 / 4, 1 / 2, 1 / 2], [3 / 5, 1 / 2, 1.0]
    f1 = [2 / 3, 1 / 2, 2 / 3]
    support = [5, 2, 1]
    assert o["avg_precision_macro"] == pytest.approx(np.mean(precision))
    assert o["avg_recall_macro"] == pytest.approx(0.7)
    assert o["avg_f1_score_macro"] == pytest.approx(11 / 18)
    for key in ("avg_precision_micro", "avg_recall_micro", "avg_f1_score_micro", "overall_accuracy", "token_accuracy"):
        assert o[key] == pytest.approx(5 / 8), key
    assert o["avg_precision_weighted"] == pytest.approx(np.dot(support, precision) / 8)  # 0.65625
    assert o["avg_precision_weighted"] == pytest.approx(0.65625)
    assert o["avg_precision_weighted"] != pytest.approx(o["avg_precision_micro"])  # not Ludwig's bug
    assert o["avg_recall_weighted"] == pytest.approx(5 / 8)  # support-weighted recall == micro recall, always
    assert o["avg_f1_score_weighted"] == pytest.approx(np.dot(support, f1) / 8)
    # kappa: p_o = 5/8, p_e = (5*4 + 2*2 + 1*2) / 64 = 26/64 -> (40 - 26) / (64 - 26) = 7/19
    assert o["kappa_score"] == pytest.approx(7 / 19)
    assert o["unseen_label_count"] == 0


def test_weighted_differs_from_micro_for_f1():
    # 2 classes: true 0 0 0 1, pred 0 1 1 1 -> precision [1, 1/3], recall [1/3, 1], f1 [1/2, 1/2]
    y = np.array([0, 0, 0, 1])
    p = np.array([[0.9, 0.1], [0.4, 0.6], [0.4, 0.6], [0.2, 0.8]])
    o = ev.evaluate_predictions("test", y, p, ["x", "y"]).statistics["overall_stats"]
    assert o["avg_precision_weighted"] == pytest.approx((3 * 1 + 1 / 3) / 4)
    assert o["avg_f1_score_weighted"] == pytest.approx(0.5)
    assert o["avg_f1_score_micro"] == pytest.approx(0.5)
    assert o["avg_precision_micro"] == pytest.approx(0.5)
    assert o["avg_precision_weighted"] != pytest.approx(o["avg_precision_micro"])
    # kappa: p_o = 2/4, p_e = (3*1 + 1*3)/16 = 6/16 -> (8 - 6) / (16 - 6) = 0.2
    assert o["kappa_score"] == pytest.approx(0.2)


def test_per_class_stats_by_hand():
    pc = _stats()["per_class_stats"]
    assert list(pc) == list(NAMES)
    a, b, c = pc["a"], pc["b"], pc["c"]
    assert (a["true_positives"], a["false_positives"], a["false_negatives"], a["true_negatives"]) == (3, 1, 2, 2)
    assert (b["true_positives"], b["false_positives"], b["false_negatives"], b["true_negatives"]) == (1, 1, 1, 5)
    assert (c["true_positives"], c["false_positives"], c["false_negatives"], c["true_negatives"]) == (1, 1, 0, 6)
    assert [pc[n]["support"] for n in NAMES] == [5, 2, 1]
    assert a["precision"] == pytest.approx(0.75) and a["recall"] == pytest.approx(0.6)
    assert a["f1_score"] == pytest.approx(2 / 3)
    assert a["specificity"] == pytest.approx(2 / 3)
    assert a["accuracy"] == pytest.approx(5 / 8)
    assert a["matthews_correlation_coefficient"] == pytest.approx(4 / math.sqrt(240))
    assert b["matthews_correlation_coefficient"] == pytest.approx(1 / 3)
    assert c["matthews_correlation_coefficient"] == pytest.approx(6 / math.sqrt(84))
    assert c["recall"] == 1.0 and c["specificity"] == pytest.approx(6 / 7)
    assert a["false_negative_rate"] == pytest.approx(0.4)
    assert a["informedness"] == pytest.approx(0.6 + 2 / 3 - 1)
    assert type(a["true_positives"]) is int and type(a["precision"]) is float


def test_per_class_auc():
    pc = _stats()["per_class_stats"]
    # class a: positives .7 .6 .5 .3 .1 vs negatives .2 .5 .1 -> 3 + 3 + 2.5 + 2 + 0.5 = 11 of 15 pairs
    assert pc["a"]["roc_auc"] == pytest.approx(11 / 15)
    # class b: positives .7 .4 vs negatives .2 .3 .1 .6 .2 .1 -> 6 + 5 = 11 of 12
    assert pc["b"]["roc_auc"] == pytest.approx(11 / 12)
    assert pc["c"]["roc_auc"] == 1.0


def test_auc_perfect_constant_and_ties():
    y = np.array([0, 0, 1, 1, 2, 2])
    perfect = np.eye(3)[y] * 0.8 + 0.2 / 3
    assert ev.epoch_metrics(y, perfect)["roc_auc"] == 1.0
    constant = np.full((6, 3), 1 / 3)
    assert ev.epoch_metrics(y, constant)["roc_auc"] == pytest.approx(0.5)
    curves = ev.roc_curves(y, constant)
    for k in range(3):
        fpr, tpr, auc = curves[k]
        assert auc == pytest.approx(0.5)
        np.testing.assert_allclose(fpr, [0, 1])
        np.testing.assert_allclose(tpr, [0, 1])
    # ties: positives {0.5, 0.8}, negatives {0.5, 0.2} -> (0.5 + 1 + 1 + 1) / 4 = 0.875
    y2 = np.array([0, 0, 1, 1])
    p2 = np.array([[0.5, 0.5], [0.8, 0.2], [0.5, 0.5], [0.2, 0.8]])
    fpr, tpr, auc = ev.roc_curves(y2, p2)[0]
    assert auc == pytest.approx(0.875)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])


def test_auc_matches_brute_force_pairs_and_trapezoid():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=60)
    p = np.round(rng.dirichlet(np.ones(4), size=60), 1)  # rounding makes many ties
    p /= p.sum(axis=1, keepdims=True)
    curves = ev.roc_curves(y, p)
    for k in range(4):
        pos, neg = p[y == k, k], p[y != k, k]
        brute = np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg])
        fpr, tpr, auc = curves[k]
        assert auc == pytest.approx(brute)
        trapezoid = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
        assert trapezoid == pytest.approx(auc)
        assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert ev.epoch_metrics(y, p)["roc_auc"] == pytest.approx(np.mean([curves[k][2] for k in range(4)]))


def test_auc_skips_classes_without_positives():
    y = np.array([0, 0, 1, 1])  # class 2 never occurs
    p = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1]])
    ev_ = ev.evaluate_predictions("test", y, p, ["a", "b", "c"])
    assert set(ev.roc_curves(y, p)) == {0, 1}
    assert ev_.statistics["roc_auc"] == 1.0  # mean over a and b only
    assert ev_.statistics["per_class_stats"]["c"]["roc_auc"] == 0.0  # undefined -> 0.0, never NaN


def test_unseen_labels_are_errors_and_outside_matrix():
    y = np.array([0, 1, -1, -1])
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    e = ev.evaluate_predictions("test", y, p, ["a", "b"], top_k=2)
    s = e.statistics
    assert e.unseen_label_count == 2
    assert s["overall_stats"]["unseen_label_count"] == 2
    assert s["accuracy_micro"] == pytest.approx(0.5)
    assert s["accuracy"] == pytest.approx(2 / 3)  # recalls a=1, b=1, pooled unseen pseudo-class=0
    assert s["hits_at_k"] == pytest.approx(0.5)  # k = C still misses the unseen rows
    expected_loss = (-math.log(0.9) - math.log(0.8) - 2 * math.log(1e-7)) / 4
    assert s["loss"] == pytest.approx(expected_loss)
    assert s["confusion_matrix"] == [[1, 0], [0, 1]]
    assert sum(v["support"] for v in s["per_class_stats"].values()) == 2
    assert s["per_class_stats"]["a"]["false_positives"] == 0  # the unseen row predicted "a" is not counted
    assert s["overall_stats"]["overall_accuracy"] == pytest.approx(0.5)
    assert s["overall_stats"]["avg_recall_micro"] == 1.0  # matrix-derived stats cover seen rows only
    assert s["roc_auc"] == 1.0  # unseen rows are negatives for every class; here ranked below the positives
    assert ev.evaluate_predictions("test", y, p, ["a", "b"], unseen_label_count=5).unseen_label_count == 5


def test_all_rows_unseen_is_finite():
    y = np.array([-1, -1])
    p = np.array([[0.5, 0.5], [0.9, 0.1]])
    s = ev.evaluate_predictions("test", y, p, ["a", "b"]).statistics
    assert s["accuracy"] == 0.0 and s["accuracy_micro"] == 0.0 and s["roc_auc"] == 0.0
    assert s["confusion_matrix"] == [[0, 0], [0, 0]]
    json.dumps(s, allow_nan=False)


def test_zero_division_is_zero():
    # class "d" never occurs nor is predicted; class "c" is predicted but never true.
    y = np.array([0, 1, 1, 0])
    p = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1], [0.6, 0.2, 0.1, 0.1]])
    s = ev.evaluate_predictions("test", y, p, ["a", "b", "c", "d"]).statistics
    d, c = s["per_class_stats"]["d"], s["per_class_stats"]["c"]
    for key in ("precision", "recall", "f1_score", "matthews_correlation_coefficient", "false_negative_rate"):
        assert d[key] == 0.0, key
    assert d["specificity"] == 1.0 and d["support"] == 0
    assert c["precision"] == 0.0 and c["recall"] == 0.0 and c["f1_score"] == 0.0
    o = s["overall_stats"]
    # macro over a, b, c (d is absent everywhere): precision (1 + 1 + 0)/3, recall (1 + 1/2 + 0)/3
    assert o["avg_precision_macro"] == pytest.approx(2 / 3)
    assert o["avg_recall_macro"] == pytest.approx(0.5)
    assert s["accuracy"] == pytest.approx(0.75)  # macro accuracy: only classes with support (a=1, b=1/2)
    json.dumps(s, allow_nan=False)


def test_kappa_single_class_is_zero_not_nan():
    y = np.array([0, 0, 0])
    p = np.array([[0.9, 0.1]] * 3)
    o = ev.evaluate_predictions("test", y, p, ["a", "b"]).statistics["overall_stats"]
    assert o["kappa_score"] == 0.0  # p_e = 1 -> 0/0 -> 0.0


def test_json_serialisable_and_plain_types():
    e = ev.evaluate_predictions("validation", Y, P.astype(np.float32), list(NAMES))
    text = json.dumps(e.statistics, allow_nan=False)
    assert "NaN" not in text
    _walk_plain(e.statistics)
    expected_keys = {"accuracy", "accuracy_micro", "hits_at_k", "loss", "roc_auc",
                     "confusion_matrix", "overall_stats", "per_class_stats"}
    assert set(e.statistics) == expected_keys
    assert set(e.statistics["overall_stats"]) >= {
        "token_accuracy", "avg_precision_macro", "avg_recall_macro", "avg_f1_score_macro",
        "avg_precision_micro", "avg_recall_micro", "avg_f1_score_micro", "avg_precision_weighted",
        "avg_recall_weighted", "avg_f1_score_weighted", "kappa_score", "overall_accuracy", "unseen_label_count"}
    assert set(e.statistics["per_class_stats"]["a"]) >= {
        "true_positives", "false_positives", "true_negatives", "false_negatives", "support", "precision",
        "recall", "f1_score", "specificity", "accuracy", "matthews_correlation_coefficient", "roc_auc"}


def test_split_evaluation_fields():
    e = ev.evaluate_predictions("test", Y.tolist(), P, NAMES)
    assert isinstance(e, SplitEvaluation)
    assert e.split == "test" and e.class_names == NAMES
    assert e.probabilities.dtype == np.float32 and e.probabilities.shape == (8, 3)
    np.testing.assert_array_equal(e.y_true, Y)
    np.testing.assert_array_equal(e.y_pred, [0, 0, 0, 1, 2, 1, 0, 2])
    assert e.accuracy == pytest.approx(5 / 8) and e.loss == e.statistics["loss"]
    assert e.unseen_label_count == 0


def test_epoch_metrics_match_full_evaluation():
    m = ev.epoch_metrics(Y, P, top_k=2)
    s = _stats(top_k=2)
    assert set(m) == set(ev.EPOCH_METRIC_KEYS)
    for key in m:
        assert m[key] == pytest.approx(s[key]) and type(m[key]) is float


def test_test_statistics_json_layout():
    e = ev.evaluate_predictions("test", Y, P, NAMES)
    doc = ev.test_statistics_json(e, "label")
    assert set(doc) == {"combined", "label"}
    assert doc["combined"] == {"loss": e.statistics["loss"]}
    assert doc["label"] is e.statistics
    json.dumps(doc, allow_nan=False)
    with pytest.raises(ValueError):
        ev.test_statistics_json(e, "combined")


def test_training_statistics_entry():
    epochs = [ev.epoch_metrics(Y, P), ev.epoch_metrics(Y, np.eye(3)[Y] * 0.9 + 0.1 / 3)]
    entry = ev.training_statistics_entry(epochs, "label")
    assert entry["combined"]["loss"] == [epochs[0]["loss"], epochs[1]["loss"]]
    assert entry["label"]["accuracy_micro"] == [pytest.approx(5 / 8), 1.0]
    assert set(entry["label"]) == set(ev.EPOCH_METRIC_KEYS)
    json.dumps(entry, allow_nan=False)


@pytest.mark.parametrize(
    "y, p, names",
    [
        (np.array([], dtype=int), np.zeros((0, 3)), NAMES),  # N == 0
        (Y, P[:5], NAMES),  # row mismatch
        (Y, P, ("a", "b")),  # column / class-name mismatch
        (np.array([0, 3]), np.full((2, 3), 1 / 3), NAMES),  # label out of range
        (np.array([0, -2]), np.full((2, 3), 1 / 3), NAMES),
        (np.array([0.0, 1.0]), np.full((2, 3), 1 / 3), NAMES),  # float labels
        (np.array([0, 1]), np.array([[np.nan, 0.5, 0.5], [0.2, 0.3, 0.5]]), NAMES),
        (Y, P, ("a", "a", "c")),  # duplicate class names
    ],
)
def test_bad_inputs_raise_value_error(y, p, names):
    with pytest.raises(ValueError):
        ev.evaluate_predictions("test", y, p, names)


def test_cross_check_with_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    n, c = 200, 5
    y = rng.choice(c, size=n, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    logits = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pred = p.argmax(axis=1)
    s = ev.evaluate_predictions("test", y, p, [str(i) for i in range(c)], top_k=3).statistics
    o = s["overall_stats"]
    assert s["accuracy_micro"] == pytest.approx(metrics.accuracy_score(y, pred))
    assert s["accuracy"] == pytest.approx(metrics.balanced_accuracy_score(y, pred))
    assert s["loss"] == pytest.approx(metrics.log_loss(y, p, labels=list(range(c))))
    assert s["hits_at_k"] == pytest.approx(metrics.top_k_accuracy_score(y, p, k=3, labels=list(range(c))))
    assert s["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, p, multi_class="ovr", average="macro"))
    assert s["confusion_matrix"] == metrics.confusion_matrix(y, pred, labels=list(range(c))).tolist()
    for avg in ("macro", "micro", "weighted"):
        prec, rec, f1, _ = metrics.precision_recall_fscore_support(y, pred, average=avg, zero_division=0)
        assert o[f"avg_precision_{avg}"] == pytest.approx(prec)
        assert o[f"avg_recall_{avg}"] == pytest.approx(rec)
        assert o[f"avg_f1_score_{avg}"] == pytest.approx(f1)
    assert o["kappa_score"] == pytest.approx(metrics.cohen_kappa_score(y, pred))
    for k in range(c):
        assert s["per_class_stats"][str(k)]["matthews_correlation_coefficient"] == pytest.approx(
            metrics.matthews_corrcoef(y == k, pred == k))
