"""The compare-experiments report: runs made separately (their statistics JSON and, optionally, predictions)
side by side in one HTML page plus PNGs (`visualize --visualization compare_experiments`).

Inputs are aligned by class name; different class sets are refused, and the row-wise part (agreement,
rows only one model gets right) needs predictions of the same rows in the same order, else it is refused
too: nothing is compared silently misaligned.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np

from .. import analysis
from ..report.common import publish_files, template_environment
from ..report.plots import grouped_class_bars_png
from ..wording import plural
from . import figures, readers
from .readers import VisualizeError
from .registry import Request, names_for

REPORT_HTML = "compare_experiments_report.html"
# (statistics key path, header, higher is better)
COLUMNS = (
    (("accuracy_micro",), "accuracy", True),
    (("accuracy",), "balanced (macro) accuracy", True),
    (("hits_at_k",), "hits at k", True),
    (("roc_auc",), "ROC AUC (macro)", True),
    (("overall_stats", "avg_f1_score_macro"), "macro F1", True),
    (("overall_stats", "kappa_score"), "Cohen's kappa", True),
    (("loss",), "loss", False),
)
SECTIONS = (("metrics", "Metrics"), ("learning-curves", "Learning curves"), ("per-class", "Per-class F1"),
            ("agreement", "Agreement"))


def _get(stats: dict, path: tuple[str, ...]) -> float | None:
    value: Any = stats
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, (int, float)) else None


def metrics_rows(names: list[str], stats: list[dict]) -> tuple[list[str], list[dict]]:
    """(headers, rows): one row per model, each cell {value, best}; best = the column's max (min for loss)."""
    rows = [{"name": n, "cells": [{"value": _get(s, path), "best": False} for path, _, _ in COLUMNS]}
            for n, s in zip(names, stats)]
    for j, (_, _, higher) in enumerate(COLUMNS):
        values = [r["cells"][j]["value"] for r in rows if r["cells"][j]["value"] is not None]
        if len(values) > 1:
            best = max(values) if higher else min(values)
            for r in rows:
                r["cells"][j]["best"] = r["cells"][j]["value"] == best
    return [h for _, h, _ in COLUMNS], rows


def per_class_f1(names: list[str], stats: list[dict], paths) -> tuple[list[str], list[tuple[str, list[float]]]]:
    classes = [list(s.get("per_class_stats", {})) for s in stats]
    for c, path in zip(classes[1:], paths[1:]):
        if set(c) != set(classes[0]):
            raise VisualizeError(f"{path} and {paths[0]} have different classes "
                                 f"({', '.join(sorted(set(c) ^ set(classes[0]))[:10])} differ); "
                                 "experiments of different classes cannot be compared")
    order = [classes[0][i] for i in analysis.natural_order(classes[0])]
    return order, [(n, [float(s["per_class_stats"][c].get("f1_score", 0.0)) for c in order])
                   for n, s in zip(names, stats)]


def row_agreement(models, names: list[str]) -> dict[str, Any]:
    """Share of rows each pair predicts alike, and the rows each model alone gets right."""
    preds = [m.probabilities.argmax(1) for m in models]
    right = [p == m.y_true for p, m in zip(preds, models)]
    pairs = [(names[i], names[j], float(np.mean(preds[i] == preds[j])))
             for i in range(len(models)) for j in range(i + 1, len(models))]
    alone = []
    for i, n in enumerate(names):
        others = np.zeros(len(right[i]), bool)
        for j in range(len(models)):
            if j != i:
                others |= right[j]
        rows = np.flatnonzero(right[i] & ~others)
        alone.append((n, len(rows), [int(r) + 1 for r in rows[:20]]))
    return {"rows": len(preds[0]), "pairs": pairs, "alone": alone,
            "all_right": int(np.sum(np.logical_and.reduce(right))),
            "all_wrong": int(np.sum(~np.logical_or.reduce(right)))}


def compare_experiments(request: Request, output_directory: Path, file_format: str = "png") -> list[Path]:
    from .run import as_format

    if len(request.test_statistics) < 2:
        raise VisualizeError("compare_experiments needs the --test_statistics of 2 or more experiments")
    n = len(request.test_statistics)
    names = names_for(request, n)
    for flag, files in (("--training_statistics", request.training_statistics),
                        ("--probabilities", request.probabilities)):
        if files and len(files) != n:
            raise VisualizeError(f"{flag} has {plural(len(files), 'file')} for {n} experiments: give one per experiment, "
                                 "in the order of --test_statistics")
    loaded = [readers.test_statistics(p, request.output_feature_name) for p in request.test_statistics]
    feature = loaded[0][0]
    stats = [s for _, s in loaded]
    headers, rows = metrics_rows(names, stats)
    classes, f1 = per_class_f1(names, stats, list(request.test_statistics))
    pngs = {"compare_experiments_per_class_f1": grouped_class_bars_png(classes, f1, ylabel="F1",
                                                                       legend_title="experiment")}
    if request.training_statistics:
        curves = {}
        runs = [readers.training_statistics(p, feature) for p in request.training_statistics]
        for metric in ("loss", "accuracy_micro"):
            lines = {}
            for name, (_, splits) in zip(names, runs):
                split = "validation" if metric in splits.get("validation", {}) else "training"
                values = splits.get(split, {}).get(metric)
                if values:
                    lines[f"{name} ({split})"] = (np.arange(1, len(values) + 1), values)
            curves[metric] = lines
        pngs["compare_experiments_loss"] = figures.lines_png(curves["loss"], title="Loss per epoch",
                                                             xlabel="epoch", ylabel="loss")
        pngs["compare_experiments_accuracy"] = figures.lines_png(curves["accuracy_micro"],
                                                                 title="Accuracy per epoch", xlabel="epoch",
                                                                 ylabel="accuracy")
    agreement = None
    if request.probabilities:
        from .registry import _models

        models, _ = _models(request, "compare_experiments", rowwise=True)
        agreement = row_agreement(models, names)
    uri = {k: "data:image/png;base64," + base64.b64encode(v).decode("ascii") for k, v in pngs.items()}
    html = template_environment().get_template("compare_experiments_report.html.j2").render({
        "title": "Ludwig experiments compared", "sections": SECTIONS, "feature": feature, "names": names,
        "headers": headers, "rows": rows, "figures": uri, "agreement": agreement, "classes": classes,
    })
    out = Path(output_directory)
    files = {out / f"{k}.{file_format}": as_format(v, file_format) for k, v in pngs.items()}
    files[out / REPORT_HTML] = html.encode("utf-8")  # last: once it exists, the plots are in place
    publish_files(files)
    return list(files)
