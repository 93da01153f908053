"""Figures of the classifier analyses (analysis.py values in, PNG bytes out), in Ludwig visualize's spirit.

Same rules as plots.py: pure, Agg canvas only, user labels made safe, the colour-blind-safe
Okabe-Ito palette.  Class order is the caller's: reports pass classes in natural order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..analysis import BinaryCurves, Calibration, ConfidenceThresholding
from .plots import OKABE_ITO, new_figure, safe_label, to_png

MARKERS = "os^DvPX*h<"
CALIBRATION_LEGEND_MAX = 10  # above this many classes the one-vs-all curves are grey, only the top label coloured


def calibration_png(cal: Calibration, class_names: Sequence[str], order: Sequence[int]) -> bytes:
    """Reliability diagram: observed frequency against mean predicted probability per bin, one-vs-all per
    class plus the top-label confidence; the diagonal is perfect calibration."""
    fig = new_figure(7.5, 6.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1, label="perfectly calibrated")
    many = len(order) > CALIBRATION_LEGEND_MAX
    for k, c in enumerate(order):
        r = cal.per_class[c]
        if many:
            ax.plot(r.mean_predicted, r.observed, color="#8c8c8c", alpha=0.35, linewidth=0.7)
        else:
            # 8 colours, 10 markers: no two of the first 40 classes share both
            ax.plot(r.mean_predicted, r.observed, marker=MARKERS[k % len(MARKERS)], markersize=4, linewidth=1.2,
                    color=OKABE_ITO[k % len(OKABE_ITO)],
                    label=f"{safe_label(class_names[c])} (ECE {r.ece:.3f})")
    top = cal.top_label
    ax.plot(top.mean_predicted, top.observed, color="black", marker="o", linewidth=2,
            label=f"top label (ECE {top.ece:.3f})")
    ax.set_title(f"Calibration, one-vs-all (Brier {cal.brier:.4f}, ECE {cal.ece:.4f})", fontsize=10)
    ax.set_xlabel("mean predicted probability (bin)")
    ax.set_ylabel("observed frequency")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=7)
    return to_png(fig)


def confidence_thresholding_png(ct: ConfidenceThresholding) -> bytes:
    """Accuracy of the kept rows and the fraction kept (coverage) against the confidence threshold."""
    fig = new_figure(7.0, 4.5)
    ax = fig.add_subplot()
    ax.plot(ct.thresholds, ct.accuracy, marker="o", markersize=3, color=OKABE_ITO[0], label="accuracy")
    ax.plot(ct.thresholds, ct.coverage, marker="s", markersize=3, color=OKABE_ITO[1], linestyle="--",
            label="data coverage")
    ax.set_xlabel("confidence threshold (top probability)")
    ax.set_ylabel("fraction")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title("Confidence thresholding", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return to_png(fig)


def _class_axis(ax, labels: Sequence[str]) -> None:
    n = len(labels)
    step = max(1, int(np.ceil(n / 50)))
    ticks = np.arange(0, n, step)
    ax.set_xticks(ticks, [safe_label(labels[i]) for i in ticks], rotation=45 if n > 6 else 0,
                  ha="right" if n > 6 else "center", fontsize=9 if n <= 20 else 6)


def frequency_vs_f1_png(rows: Sequence[tuple[str, int, float]]) -> bytes:
    """F1 bars of the classes sorted by descending frequency, the frequency as a line on a second axis."""
    fig = new_figure(min(14.0, max(6.5, 1.5 + 0.3 * len(rows))), 4.2)
    ax = fig.add_subplot()
    x = np.arange(len(rows))
    ax.bar(x, [r[2] for r in rows], color=OKABE_ITO[0], width=0.8, label="F1")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1")
    _class_axis(ax, [r[0] for r in rows])
    ax2 = ax.twinx()
    ax2.plot(x, [r[1] for r in rows], color=OKABE_ITO[1], marker="o", markersize=3, label="frequency")
    ax2.set_ylabel("rows per class")
    ax2.set_ylim(0, max(1, max(r[1] for r in rows)) * 1.1)
    ax.set_title("F1 per class, classes by descending frequency", fontsize=10)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, ["F1", "frequency"], loc="lower left", fontsize=8)
    return to_png(fig)


def confusion_entropy_png(entropy: np.ndarray, class_names: Sequence[str], order: Sequence[int]) -> bytes:
    """Bars of the entropy (bits) of each true class's predictions; the dotted line is log2(C)."""
    fig = new_figure(min(14.0, max(6.0, 1.5 + 0.25 * len(order))), 3.8)
    ax = fig.add_subplot()
    ax.bar(np.arange(len(order)), [entropy[c] for c in order], color=OKABE_ITO[4], width=0.8)
    ax.axhline(np.log2(max(2, len(order))), color="#999999", linestyle=":", linewidth=1,
               label=f"maximum log2({len(order)})")
    _class_axis(ax, [class_names[c] for c in order])
    ax.set_ylabel("entropy (bits)")
    ax.set_title("Entropy of each class's row of the confusion matrix", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return to_png(fig)


def top_k_png(accuracy_at_k: np.ndarray) -> bytes:
    """Accuracy at k (true class among the k most probable) for k = 1..C."""
    fig = new_figure(6.5, 4.0)
    ax = fig.add_subplot()
    k = np.arange(1, len(accuracy_at_k) + 1)
    ax.plot(k, accuracy_at_k, marker="o", color=OKABE_ITO[0])
    for kk, v in zip(k[:5], accuracy_at_k[:5]):
        ax.annotate(f"{v:.3f}", (kk, v), textcoords="offset points", xytext=(4, -12), fontsize=7)
    ax.set_xlabel("k")
    ax.set_ylabel("top-k accuracy")
    ax.set_ylim(min(0.95, float(np.min(accuracy_at_k))) - 0.05, 1.02)
    ax.set_xticks(k if len(k) <= 20 else k[:: int(np.ceil(len(k) / 20))])
    ax.set_title("Top-k accuracy", fontsize=10)
    ax.grid(True, alpha=0.3)
    return to_png(fig)


def binary_roc_png(b: BinaryCurves, name: str = "") -> bytes:
    fig = new_figure(6.0, 5.5)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1, label="chance")
    ax.plot(b.fpr, b.tpr, color=OKABE_ITO[0], linewidth=2, label=f"ROC (AUC {b.roc_auc:.4f})")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC curve {safe_label(name)}".strip(), fontsize=10)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return to_png(fig)


def binary_pr_png(b: BinaryCurves, name: str = "") -> bytes:
    fig = new_figure(6.0, 5.5)
    ax = fig.add_subplot()
    ax.step(b.recall, b.precision, where="post", color=OKABE_ITO[2], linewidth=2,
            label=f"precision-recall (AP {b.average_precision:.4f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Precision-recall curve {safe_label(name)}".strip(), fontsize=10)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return to_png(fig)


def binary_threshold_png(b: BinaryCurves, name: str = "") -> bytes:
    fig = new_figure(7.0, 4.5)
    ax = fig.add_subplot()
    for k, (metric, values) in enumerate(b.metrics.items()):
        ax.plot(b.thresholds, values, color=OKABE_ITO[k % len(OKABE_ITO)], linewidth=1.6, label=metric)
    ax.axvline(b.threshold, color="black", linestyle="--", linewidth=1, label=f"threshold used ({b.threshold:g})")
    ax.set_xlabel("decision threshold")
    ax.set_ylabel("metric")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Metrics against the decision threshold {safe_label(name)}".strip(), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower center", fontsize=8, ncols=3)
    return to_png(fig)
