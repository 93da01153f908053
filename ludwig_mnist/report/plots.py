"""Figures of the experiment report, as PNG bytes.

Every public ``*_png`` function is pure: arrays in, PNG bytes out, nothing
written and nothing left open.  Figures are built with ``matplotlib.figure.Figure``
and rendered by the Agg canvas, never through pyplot, so no window can open and
no figure is registered anywhere to leak.  PNG metadata carries no matplotlib
version, so the same inputs give the same bytes.

Class names are user data: they are shortened for tick labels and their ``$``
escaped, so a label like ``$5`` is drawn as text instead of parsed as mathtext.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless, whatever MPLBACKEND says; this module never imports pyplot

import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..results import EpochStats  # noqa: E402

DPI = 100
ANNOTATE_MAX_CLASSES = 30  # above this, confusion-matrix cells carry no numbers
TICK_LABELS_MAX = 50  # above this many classes, only every k-th class is labelled
ROC_LEGEND_MAX_CLASSES = 10  # above this, only the worst classes get a legend entry
LABEL_MAX_CHARS = 24

# Okabe & Ito's colour-blind-safe palette (blue, orange, bluish green, vermillion, reddish purple, sky blue,
# yellow, black); every line also differs by marker or legend entry, never by colour alone.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
SPLIT_COLORS = {"training": OKABE_ITO[0], "validation": OKABE_ITO[1], "test": OKABE_ITO[2]}


# --------------------------------------------------------------------------- helpers


def safe_label(text: str, max_chars: int = LABEL_MAX_CHARS) -> str:
    """A user string safe to draw: shortened, and no mathtext."""
    text = str(text)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "\u2026"
    return text.replace("$", r"\$")


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure) -> bytes:
    try:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
        return buf.getvalue()
    finally:
        fig.clear()


def _tick_step(n: int) -> int:
    return max(1, math.ceil(n / TICK_LABELS_MAX))


# --------------------------------------------------------------------------- learning curves


# Per-epoch metric keys (evaluate.epoch_metrics, Ludwig's names) and what a reader calls them.
METRIC_TITLES = {
    "loss": "loss",
    "accuracy_micro": "accuracy",
    "accuracy": "balanced (macro) accuracy",
    "hits_at_k": "hits at k",
    "roc_auc": "ROC AUC (macro)",
}


def _metric_names(epochs: Sequence[EpochStats]) -> list[str]:
    names: set[str] = set()
    for e in epochs:
        for values in e.metrics.values():
            names.update(values)
    known = [m for m in METRIC_TITLES if m in names]
    return known + sorted(names - set(known))


def learning_curves_png(epochs: Sequence[EpochStats], best_epoch: int | None = None) -> bytes:
    """One panel per metric (loss, accuracy, ...), one line per split, the best epoch dashed."""
    metrics = _metric_names(epochs)
    if not metrics:
        raise ValueError("no per-epoch metrics were recorded")
    cols = 2 if len(metrics) <= 4 else 3
    cols = min(cols, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig = new_figure(5.0 * cols, 3.3 * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    splits = [s for s in SPLIT_COLORS if any(s in e.metrics for e in epochs)]
    splits += sorted({s for e in epochs for s in e.metrics} - set(splits))
    marker = "o" if len(epochs) <= 30 else None
    last_epoch = max(e.epoch for e in epochs)
    for ax, metric in zip(axes, metrics):
        for split in splits:
            points = [(e.epoch, e.metrics[split][metric]) for e in epochs
                      if metric in e.metrics.get(split, {})]
            if points:
                x, y = zip(*points)
                ax.plot(x, y, marker=marker, markersize=4, linewidth=1.8,
                        color=SPLIT_COLORS.get(split), label=safe_label(split))
        if best_epoch is not None:
            ax.axvline(best_epoch, color="#555555", linestyle="--", linewidth=1,
                       label=f"best epoch ({best_epoch})")
        ax.set_title(safe_label(METRIC_TITLES.get(metric, metric.replace("_", " ")), 40))
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, last_epoch + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(True, alpha=0.3)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), frameon=False)
    return to_png(fig)


# --------------------------------------------------------------------------- confusion matrices


def confusion_matrix_png(matrix: np.ndarray, class_names: Sequence[str], *,
                         normalize: bool = False, title: str = "") -> bytes:
    """Heatmap of a (C, C) matrix, rows = true class, columns = predicted class.

    normalize=True divides each row by its total (recall on the diagonal); a row
    without examples stays zero.  Cells carry their value up to
    ANNOTATE_MAX_CLASSES classes, with the font shrinking as classes grow.
    """
    counts = np.asarray(matrix, dtype=np.float64)
    n = len(class_names)
    if counts.shape != (n, n):
        raise ValueError(f"matrix shape {counts.shape} does not match {n} classes")
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    else:
        values = counts

    side = min(14.0, max(5.0, 2.8 + 0.32 * n))
    fig = new_figure(side + 1.2, side)
    ax = fig.add_subplot()
    vmax = 1.0 if normalize else max(1.0, float(values.max(initial=0.0)))
    image = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of true class" if normalize else "count")

    step = _tick_step(n)
    ticks = np.arange(0, n, step)
    tick_font = 9 if n <= 15 else 7 if n <= 30 else 5
    labels = [safe_label(class_names[i]) for i in ticks]
    ax.set_xticks(ticks, labels, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center",
                  fontsize=tick_font)
    ax.set_yticks(ticks, labels, fontsize=tick_font)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(safe_label(title, 80))

    if n <= ANNOTATE_MAX_CLASSES:
        cell_font = 10 if n <= 10 else 8 if n <= 20 else 6
        for i in range(n):
            for j in range(n):
                v = values[i, j]
                text = f"{v:.2f}" if normalize else f"{int(round(v))}"
                if normalize and v == 0:
                    text = "0"
                color = "white" if v > 0.5 * vmax else "#222222"
                ax.text(j, i, text, ha="center", va="center", fontsize=cell_font, color=color)
    return to_png(fig)


# --------------------------------------------------------------------------- ROC


def roc_curves_png(curves: Mapping[int, tuple[np.ndarray, np.ndarray, float]],
                   class_names: Sequence[str],
                   micro: tuple[np.ndarray, np.ndarray, float] | None = None) -> bytes:
    """One-vs-rest curves as given by evaluate.roc_curves ({class index: (fpr, tpr, auc)}),
    plus an optional micro-average; AUC in the legend (only the 5 lowest above 10 classes)."""
    fig = new_figure(7.5, 6.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1, label="chance")
    many = len(class_names) > ROC_LEGEND_MAX_CLASSES
    by_auc = sorted(curves, key=lambda c: (curves[c][2], c))
    named = by_auc[:5] if many else sorted(curves)
    if many:  # the crowd in grey, the worst classes in colour on top
        for c in curves:
            if c not in named:
                ax.plot(curves[c][0], curves[c][1], linewidth=0.6, alpha=0.3, color="#8c8c8c")
    for k, c in enumerate(named):
        fpr, tpr, auc = curves[c]
        ax.plot(fpr, tpr, linewidth=1.8, color=OKABE_ITO[k % len(OKABE_ITO)],
                linestyle="-" if k < len(OKABE_ITO) else "--",  # 8 colours: the 9th and 10th class dashed
                label=f"{safe_label(class_names[c])} (AUC {auc:.4f})")
    if micro is not None:
        ax.plot(micro[0], micro[1], color="black", linestyle="--", linewidth=1.6,
                label=f"micro-average (AUC {micro[2]:.4f})")
    title = "One-vs-rest ROC curves"
    if curves:
        title += f" (macro AUC {np.mean([v[2] for v in curves.values()]):.4f})"
    if many:
        title += f"\n{len(curves)} classes; legend: the 5 lowest AUC"
    missing = len(class_names) - len(curves)
    if missing:
        title += f"\n{missing} class(es) without positives or negatives have no curve"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return to_png(fig)


# --------------------------------------------------------------------------- dataset


def class_distribution_png(class_names: Sequence[str], frequencies: Mapping[str, int]) -> bytes:
    """Bar chart of rows per class, in the order of class_names (reports pass the natural order)."""
    n = len(class_names)
    counts = [int(frequencies.get(name, 0)) for name in class_names]
    fig = new_figure(min(14.0, max(6.0, 1.5 + 0.25 * n)), 3.6)
    ax = fig.add_subplot()
    ax.bar(np.arange(n), counts, color=OKABE_ITO[0], width=0.8)
    step = _tick_step(n)
    ticks = np.arange(0, n, step)
    ax.set_xticks(ticks, [safe_label(class_names[i]) for i in ticks],
                  rotation=45 if n > 6 else 0, ha="right" if n > 6 else "center",
                  fontsize=9 if n <= 20 else 6)
    ax.set_ylabel("rows")
    ax.set_title("Rows per class (all splits)", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    return to_png(fig)


def overlaid_learning_curves_png(named_epochs: Sequence[tuple[str, Sequence[EpochStats]]]) -> bytes:
    """Validation (else training) loss and accuracy per epoch, one line per named run (compare, k-fold)."""
    fig = new_figure(11, 4.2)
    axes = fig.subplots(1, 2)
    markers = "os^Dvx+*"
    for k, (name, epochs) in enumerate(named_epochs):
        split = "validation" if all("validation" in e.metrics for e in epochs) else "training"
        for ax, key in zip(axes, ("loss", "accuracy_micro")):
            ax.plot([e.epoch for e in epochs], [e.metrics[split][key] for e in epochs],
                    marker=markers[k % len(markers)], color=OKABE_ITO[k % len(OKABE_ITO)],
                    label=f"{safe_label(name)} ({split})")
    for ax, title in zip(axes, ("loss", "accuracy")):
        ax.set_title(f"{title} per epoch")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    return to_png(fig)


def grouped_class_bars_png(class_names: Sequence[str], groups: Sequence[tuple[str, Sequence[float]]], *,
                           ylabel: str, legend_title: str) -> bytes:
    """Grouped bars in [0, 1]: one value per class for each named group (e.g. per-class F1 of several runs)."""
    fig = new_figure(max(6.0, 0.5 * len(class_names) * len(groups)), 4.0)
    ax = fig.subplots()
    width = 0.8 / len(groups)
    positions = np.arange(len(class_names))
    for offset, (name, values) in enumerate(groups):
        ax.bar(positions + offset * width, values, width, label=name, color=OKABE_ITO[offset % len(OKABE_ITO)])
    ax.set_xticks(positions + width * (len(groups) - 1) / 2, [safe_label(c) for c in class_names], rotation=45,
                  ha="right")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.05)
    ax.legend(title=legend_title, fontsize=8)
    return to_png(fig)
