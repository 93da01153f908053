"""The analysis sections the experiment and predict reports share: calibration, confidence thresholding,
top-k accuracy, frequency vs F1 and confusion entropy of a category output; ROC, precision-recall and
metrics against the threshold of a binary one.

Figures are keyed by their plots/<name>.png name; each key has one sentence saying what it shows and how
to read it (FIGURE_TEXT), which the templates print under the figure and use as the alt text's tail.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import analysis
from ..results import SplitEvaluation
from . import analysis_plots
from .common import CATEGORY_FIGURES, draw_figure, require_curves

BINARY_FIGURES = ("roc_curve", "precision_recall_curve", "binary_threshold_vs_metric")

FIGURE_TEXT = {
    "calibration_1_vs_all": "Reliability diagram: for each bin of predicted probability, how often the class "
                            "really was the true one; a well calibrated model lies on the dotted diagonal, "
                            "points below it are over-confident.",
    "confidence_thresholding": "Keeping only the rows whose top probability reaches the threshold: accuracy on "
                               "the kept rows (solid) and the fraction of rows kept (dashed); at threshold 0 "
                               "all rows are kept and the accuracy is the plain accuracy.",
    "compare_classifiers_performance_changing_k": "Fraction of rows whose true class is among the k most "
                                                  "probable classes; k = 1 is the plain accuracy, and a curve "
                                                  "that climbs fast means the right class is usually a close "
                                                  "second.",
    "frequency_vs_f1": "F1 of each class (bars), classes sorted by how many rows they have (line); F1 falling "
                       "towards the right means the rare classes are the badly learned ones.",
    "confusion_matrix_entropy": "Entropy of the predictions for the rows of each true class: 0 bits means all "
                                "its rows get one prediction, the dotted line is predictions spread evenly "
                                "over every class; high bars are the classes the model is confused about.",
    "roc_curve": "True positive rate against false positive rate as the decision threshold moves; the area "
                 "under the curve (AUC) is the chance that a random positive scores above a random negative.",
    "precision_recall_curve": "Precision against recall as the decision threshold moves; average precision "
                              "(AP) summarises it, and the chance level is the share of positives.",
    "binary_threshold_vs_metric": "Accuracy, precision, recall, F1 and specificity at every decision threshold; "
                                  "the dashed line is the threshold the model uses.",
}


def category_analysis(evaluation: SplitEvaluation, frequencies: Mapping[str, int]) -> dict[str, Any]:
    """The analyses of one split: calibration, thresholding, top-k, frequency vs F1, entropy (analysis.py)."""
    y, p = evaluation.y_true, evaluation.probabilities
    names = evaluation.class_names
    return {
        "order": analysis.natural_order(names),
        "calibration": analysis.calibration(y, p),
        "thresholding": analysis.confidence_thresholding(y, p),
        "top_k": analysis.top_k_accuracy(y, p),
        "frequency_vs_f1": analysis.frequency_vs_f1(names, frequencies,
                                                    evaluation.statistics.get("per_class_stats", {})),
        "entropy": analysis.confusion_entropy(require_curves(evaluation).confusion),
    }


def category_figures(evaluation: SplitEvaluation, values: Mapping[str, Any]) -> dict[str, bytes]:
    names, order = evaluation.class_names, values["order"]
    return {
        "calibration_1_vs_all": draw_figure("calibration_1_vs_all", analysis_plots.calibration_png,
                                            values["calibration"], names, order),
        "confidence_thresholding": draw_figure("confidence_thresholding", analysis_plots.confidence_thresholding_png,
                                               values["thresholding"]),
        "compare_classifiers_performance_changing_k": draw_figure(
            "compare_classifiers_performance_changing_k", analysis_plots.top_k_png, values["top_k"]),
        "frequency_vs_f1": draw_figure("frequency_vs_f1", analysis_plots.frequency_vs_f1_png,
                                       values["frequency_vs_f1"]),
        "confusion_matrix_entropy": draw_figure("confusion_matrix_entropy", analysis_plots.confusion_entropy_png,
                                                values["entropy"], names, order),
    }


def category_view(evaluation: SplitEvaluation, values: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
    """What the template shows: the figures (uris from the report's figures) with their sentences, and the
    headline numbers of the analyses."""
    cal = values["calibration"]
    ct = values["thresholding"]
    top_k = values["top_k"]
    return {
        "split": evaluation.split,
        "figures": [(name, uris[name], FIGURE_TEXT[name]) for name in CATEGORY_FIGURES],
        "brier": cal.brier,
        "ece": cal.ece,
        "top_k": [(k + 1, float(v)) for k, v in enumerate(top_k[:5])],
        "coverage_at_90": _coverage_at(ct, 0.9),
        "entropy_rows": [(evaluation.class_names[c], float(values["entropy"][c])) for c in values["order"]],
    }


def _coverage_at(ct: analysis.ConfidenceThresholding, threshold: float) -> tuple[float, float | None]:
    i = int(np.argmin(np.abs(ct.thresholds - threshold)))
    acc = ct.accuracy[i]
    return float(ct.coverage[i]), None if np.isnan(acc) else float(acc)


def binary_section(y_true: Sequence[bool] | np.ndarray, p_true: Sequence[float] | np.ndarray,
                   threshold: float, name: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    """(figures, view) of a binary output `name`: ROC and PR curves with their AUCs, metrics against the
    decision threshold with `threshold` marked.  Figures are keyed <name>_roc_curve etc.; render the view
    with the template macro m.binary_section(view)."""
    curves = analysis.binary_curves(y_true, p_true, threshold)
    drawn = {
        "roc_curve": draw_figure("roc_curve", analysis_plots.binary_roc_png, curves, name),
        "precision_recall_curve": draw_figure("precision_recall_curve", analysis_plots.binary_pr_png, curves, name),
        "binary_threshold_vs_metric": draw_figure("binary_threshold_vs_metric",
                                                  analysis_plots.binary_threshold_png, curves, name),
    }
    figures = {f"{name}_{key}": png for key, png in drawn.items()}
    at = int(np.argmin(np.abs(curves.thresholds - threshold)))
    view = {
        "name": name,
        "roc_auc": curves.roc_auc,
        "average_precision": curves.average_precision,
        "threshold": curves.threshold,
        "at_threshold": {m: float(v[at]) for m, v in curves.metrics.items()},
        "figures": [(key, "data:image/png;base64," + _b64(png), FIGURE_TEXT[key]) for key, png in drawn.items()],
    }
    return figures, view


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def binary_of(evaluation) -> tuple[dict[str, bytes], dict[str, Any]] | None:
    """binary_section of a binary output's evaluation (evaluate_binary.py: threshold set), else None."""
    if evaluation.threshold is None:
        return None
    return binary_section(np.asarray(evaluation.y_true) == 1, np.asarray(evaluation.probabilities)[:, 1],
                          evaluation.threshold, "binary")
