"""Figures comparing several models (Ludwig's compare_* visualizations), as PNG bytes; pure like report/plots.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..analysis import Reliability
from ..report.plots import OKABE_ITO, new_figure, safe_label, to_png

MARKERS = "os^Dvx+*"


def grouped_bars_png(groups: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str,
                     ylabel: str, ylim: tuple[float, float] | None = (0.0, 1.05)) -> bytes:
    """One group of bars per entry of `groups` (a metric), one bar per series (a model), values printed on top."""
    fig = new_figure(max(6.5, 1.2 + 0.45 * len(groups) * max(1, len(series))), 4.5)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for k, (name, values) in enumerate(series.items()):
        bars = ax.bar(x + k * width, values, width, label=safe_label(name), color=OKABE_ITO[k % len(OKABE_ITO)])
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
    ax.set_xticks(x + width * (len(series) - 1) / 2, [safe_label(g, 30) for g in groups],
                  rotation=30 if len(groups) > 4 else 0, ha="right" if len(groups) > 4 else "center")
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_title(safe_label(title, 90), fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return to_png(fig)


def lines_png(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, title: str, xlabel: str,
              ylabel: str, diagonal: bool = False, square: bool = False) -> bytes:
    """One line per named (x, y) curve; `diagonal` adds the dotted y = x reference."""
    fig = new_figure(6.5 if square else 7.5, 6.0 if square else 4.5)
    ax = fig.add_subplot()
    if diagonal:
        ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1, label="reference (y = x)")
    for k, (name, (x, y)) in enumerate(curves.items()):
        ax.plot(x, y, marker=MARKERS[k % len(MARKERS)], markersize=3, linewidth=1.6,
                color=OKABE_ITO[k % len(OKABE_ITO)], label=safe_label(name, 60))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if square:
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_aspect("equal")
    ax.set_title(safe_label(title, 90), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return to_png(fig)


def reliability_png(curves: Mapping[str, Reliability], title: str) -> bytes:
    return lines_png({f"{name} (Brier {r.brier:.4f}, ECE {r.ece:.4f})": (r.mean_predicted, r.observed)
                      for name, r in curves.items()},
                     title=title, xlabel="mean predicted probability (bin)", ylabel="observed frequency",
                     diagonal=True, square=True)


def agreement_png(counts: Mapping[str, int], names: tuple[str, str]) -> bytes:
    """Rows by who gets them right: both, only the first, only the second, both wrong the same, both wrong apart."""
    fig = new_figure(8.0, 4.0)
    ax = fig.add_subplot()
    labels = list(counts)
    values = [counts[k] for k in labels]
    total = max(1, sum(values))
    bars = ax.barh(np.arange(len(labels)), values, color=[OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(labels))])
    ax.bar_label(bars, labels=[f"{v} ({100 * v / total:.1f} %)" for v in values], fontsize=8, padding=2)
    ax.set_yticks(np.arange(len(labels)), [safe_label(lb, 60) for lb in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("rows")
    ax.set_xlim(0, max(values + [1]) * 1.25)
    ax.set_title(safe_label(f"Predictions of {names[0]} and {names[1]} on the same rows", 90), fontsize=10)
    return to_png(fig)
