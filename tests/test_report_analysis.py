"""The classifier analyses (analysis.py) and their report sections: numbers, not presence."""

from __future__ import annotations

import re

import numpy as np
import pytest

from ludwig_mnist import analysis
from ludwig_mnist.evaluate import evaluate_predictions
from ludwig_mnist.report import plots, sections
from ludwig_mnist.report.common import (
    _per_class_rows,
    evaluation_figures,
    gallery,
    unique_notes,
)
from ludwig_mnist.results import ImageExample


def calibrated(n: int, c: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose label is drawn from their own probabilities: perfectly calibrated by construction."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(c, 0.5), size=n)
    y = np.array([rng.choice(c, p=row) for row in p])
    return y, p


def test_natural_order_numbers_by_value_names_alphabetically():
    assert analysis.natural_order(["10", "2", "1", "0.5"]) == [3, 2, 1, 0]
    assert analysis.natural_order(["b", "A", "c", "10"]) == [3, 1, 0, 2]
    assert analysis.natural_order(["nan", "1"]) == [1, 0]  # "nan" is not a number to a reader


def test_a_calibrated_predictor_lies_on_the_diagonal():
    y, p = calibrated(40000, 3)
    cal = analysis.calibration(y, p)
    for rel in cal.per_class.values():
        big = rel.counts > 500
        assert np.abs(rel.observed[big] - rel.mean_predicted[big]).max() < 0.03
        assert rel.ece < 0.01
    assert cal.ece < 0.01
    # Brier of a calibrated predictor = expected 1 - sum p^2 (the noise it cannot remove)
    assert cal.brier == pytest.approx(float(np.mean(1 - np.sum(p**2, axis=1))), abs=0.01)


def test_an_overconfident_predictor_has_the_gap_as_ece():
    # always 0.9 sure, right half the time: ECE of the top label is 0.4
    p = np.tile([0.9, 0.1], (100, 1))
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    cal = analysis.calibration(y, p)
    assert cal.ece == pytest.approx(0.4)
    assert cal.brier == pytest.approx(0.5 * (0.01 + 0.01) + 0.5 * (0.81 + 0.81))


def test_confidence_thresholding_at_zero_is_plain_accuracy_and_full_coverage():
    y, p = calibrated(500, 4, seed=1)
    ct = analysis.confidence_thresholding(y, p)
    assert ct.thresholds[0] == 0.0
    assert ct.coverage[0] == 1.0
    assert ct.accuracy[0] == pytest.approx(np.mean(p.argmax(1) == y))
    assert np.all(np.diff(ct.coverage) <= 0)
    kept = p.max(1) >= 0.5
    i = int(np.flatnonzero(np.isclose(ct.thresholds, 0.5))[0])
    assert ct.coverage[i] == pytest.approx(kept.mean())
    assert ct.accuracy[i] == pytest.approx(np.mean(p.argmax(1)[kept] == y[kept]))


def test_top_k_starts_at_accuracy_matches_hits_at_k_and_ends_at_one():
    y, p = calibrated(300, 5, seed=2)
    y[:3] = -1  # unseen labels never hit
    ev = evaluate_predictions("test", y, p, list("abcde"), top_k=3)
    curve = analysis.top_k_accuracy(y, p)
    assert curve[0] == pytest.approx(ev.statistics["accuracy_micro"])
    assert curve[2] == pytest.approx(ev.statistics["hits_at_k"])
    assert curve[-1] == pytest.approx(297 / 300)
    assert np.all(np.diff(curve) >= 0)


def test_confusion_entropy_is_zero_for_one_prediction_and_log2_for_an_even_spread():
    cm = np.array([[10, 0, 0, 0], [0, 0, 7, 0], [2, 2, 2, 2], [0, 0, 0, 0]])
    assert analysis.confusion_entropy(cm).tolist() == pytest.approx([0.0, 0.0, 2.0, 0.0])


def test_frequency_vs_f1_sorted_by_frequency_with_the_statistics_f1():
    stats = {"a": {"f1_score": 0.5}, "b": {"f1_score": 0.9}, "c": {"f1_score": 0.1}}
    rows = analysis.frequency_vs_f1(["a", "b", "c"], {"a": 5, "b": 50, "c": 5}, stats)
    assert rows == [("b", 50, 0.9), ("a", 5, 0.5), ("c", 5, 0.1)]


def test_binary_curves_of_a_perfect_and_a_random_scorer():
    y = np.r_[np.zeros(50, bool), np.ones(50, bool)]
    perfect = analysis.binary_curves(y, np.r_[np.full(50, 0.2), np.full(50, 0.8)], 0.5)
    assert perfect.roc_auc == pytest.approx(1.0)
    assert perfect.average_precision == pytest.approx(1.0)
    at = int(np.argmin(np.abs(perfect.thresholds - 0.5)))
    assert perfect.metrics["accuracy"][at] == 1.0 and perfect.metrics["f1"][at] == 1.0
    assert perfect.metrics["recall"][0] == 1.0 and perfect.metrics["specificity"][0] == 0.0
    tied = analysis.binary_curves(y, np.full(100, 0.5), 0.3)
    assert tied.roc_auc == pytest.approx(0.5)  # all tied: the chance diagonal, not a staircase
    assert tied.average_precision == pytest.approx(0.5)
    assert tied.threshold == 0.3
    rng = np.random.default_rng(3)
    s = rng.random(20000)
    yr = rng.random(20000) < s  # P(True | s) = s
    assert analysis.binary_curves(yr, s).roc_auc == pytest.approx(5 / 6, abs=0.01)  # AUC of this design


def test_binary_section_draws_three_figures_and_states_the_threshold():
    y = np.r_[np.zeros(30, bool), np.ones(30, bool)]
    s = np.r_[np.linspace(0, 0.6, 30), np.linspace(0.4, 1, 30)]
    figures, view = sections.binary_section(y, s, 0.5, "is_cat")
    assert set(figures) == {"is_cat_roc_curve", "is_cat_precision_recall_curve", "is_cat_binary_threshold_vs_metric"}
    assert all(png.startswith(b"\x89PNG") for png in figures.values())
    assert view["threshold"] == 0.5
    assert view["at_threshold"]["accuracy"] == pytest.approx(np.mean((s >= 0.5) == y))


@pytest.fixture
def digits_eval():
    names = ("1", "10", "2", "0")  # frequency order, as Ludwig's vocabulary
    y, p = calibrated(400, 4, seed=4)
    return evaluate_predictions("test", y, p, names)


def test_per_class_table_in_natural_order_with_mcc_and_specificity(digits_eval):
    rows = _per_class_rows(digits_eval)
    assert [r["name"] for r in rows] == ["0", "1", "2", "10"]
    stats = digits_eval.statistics["per_class_stats"]
    for r in rows:
        assert r["mcc"] == pytest.approx(stats[r["name"]]["matthews_correlation_coefficient"])
        assert r["specificity"] == pytest.approx(stats[r["name"]]["specificity"])
    cm = digits_eval.confusion  # vocabulary order: "0" is index 3
    tn = cm.sum() - cm[3].sum() - cm[:, 3].sum() + cm[3, 3]
    assert rows[0]["specificity"] == pytest.approx(tn / (cm.sum() - cm[3].sum()))
    assert rows[0]["support"] == cm[3].sum()


def test_confusion_matrix_plot_uses_natural_order(digits_eval, monkeypatch):
    seen = {}
    real = plots.confusion_matrix_png

    def spy(matrix, names, **kw):
        seen.setdefault("calls", []).append((np.array(matrix), list(names)))
        return real(matrix, names, **kw)

    monkeypatch.setattr(plots, "confusion_matrix_png", spy)
    evaluation_figures(digits_eval)
    matrix, names = seen["calls"][0]
    assert names == ["0", "1", "2", "10"]
    order = [3, 0, 2, 1]
    assert np.array_equal(matrix, digits_eval.confusion[np.ix_(order, order)])


def test_gallery_goes_by_natural_order_of_true_class():
    img = np.zeros((4, 4, 1), np.uint8)
    examples = [ImageExample(img, label, f"{label}.png", "x", 0.5) for label in ("10", "2", "1")]
    shown = gallery(examples, ("10", "2", "1"))["items"]
    assert [t["true_label"] for t in shown] == ["1", "2", "10"]


def test_notes_are_kept_once_in_order():
    assert unique_notes(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_category_view_numbers(digits_eval):
    freqs = {"1": 10, "10": 3, "2": 7, "0": 1}
    values = sections.category_analysis(digits_eval, freqs)
    uris = {n: "data:," for n in sections.CATEGORY_FIGURES}
    view = sections.category_view(digits_eval, values, uris)
    assert view["top_k"][0][1] == pytest.approx(digits_eval.statistics["accuracy_micro"])
    assert [name for name, _ in view["entropy_rows"]] == ["0", "1", "2", "10"]
    assert len(view["figures"]) == 5 and all(re.search(r"\.", text) for _, _, text in view["figures"])


def test_binary_section_macro_renders_the_view(tmp_path):
    from ludwig_mnist.report.common import template_environment

    y = np.r_[np.zeros(20, bool), np.ones(20, bool)]
    s = np.r_[np.linspace(0, 0.7, 20), np.linspace(0.3, 1, 20)]
    _, view = sections.binary_section(y, s, 0.4, "is_<cat>")
    html = template_environment().from_string(
        '{% import "_macros.html.j2" as m %}{{ m.binary_section(b, "binary-is-cat") }}').render(b=view)
    assert 'id="binary-is-cat"' in html and "is_&lt;cat&gt;" in html
    assert f"ROC AUC {view['roc_auc']:.4f}" in html and "threshold used (0.4)" in html
    assert html.count("<img ") == 3 and 'alt=""' not in html
