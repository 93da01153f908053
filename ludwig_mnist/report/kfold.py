"""The k-fold report: per-fold test metrics, mean ± std, and the folds' learning curves (from results only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from . import plots
from .common import (
    as_yaml,
    draw_figure,
    figure_uris,
    publish_files,
    template_environment,
)

KFOLD_HTML = "ludwig_kfold_report.html"
KFOLD_TSV = "kfold_metrics.tsv"
SECTIONS = (("summary", "Summary"), ("folds", "Per fold"), ("curves", "Learning curves"), ("setup", "Setup"))
COLUMNS = ("accuracy_micro", "accuracy", "loss", "hits_at_k", "roc_auc", "f1_macro", "f1_weighted", "kappa")


def kfold_tsv(summary: dict[str, dict[str, Any]], k: int) -> str:
    lines = ["\t".join(("fold", *COLUMNS))]
    for fold in range(k):
        lines.append("\t".join([str(fold + 1)] + [f"{summary[c]['per_fold'][fold]:.6f}" for c in COLUMNS]))
    for stat in ("mean", "std"):
        lines.append("\t".join([stat] + [f"{summary[c][stat]:.6f}" for c in COLUMNS]))
    return "\n".join(lines) + "\n"


def fold_curves_png(fold_results: Sequence) -> bytes:
    """Validation (else training) accuracy and loss per epoch, one line per fold."""
    return plots.overlaid_learning_curves_png([(f"fold {fold}", training.epochs)
                                               for fold, (training, _) in enumerate(fold_results, start=1)])


def write_kfold_report(fold_results: Sequence, summary: dict, k: int, dataset, resolved_config: dict, seed: int,
                       wall_seconds: float, output_dir: Path) -> Path:
    figures = {"kfold_learning_curves": draw_figure("k-fold learning curves", fold_curves_png, fold_results)}
    rows = [{"fold": fold + 1, **{c: summary[c]["per_fold"][fold] for c in COLUMNS},
             "epochs": fold_results[fold][0].epochs_run, "examples": len(fold_results[fold][1].y_true)}
            for fold in range(k)]
    html = template_environment().get_template("kfold_report.html.j2").render({
        "title": f"Ludwig {k}-fold cross-validation", "sections": SECTIONS, "summary": summary, "rows": rows,
        "columns": COLUMNS, "k": k, "dataset": dataset, "figures": figure_uris(figures, tuple(figures)),
        "config_yaml": as_yaml(resolved_config), "seed": seed, "wall_seconds": wall_seconds,
    })
    output_dir = Path(output_dir)
    publish_files({**{output_dir / "plots" / f"{name}.png": png for name, png in figures.items()},
              output_dir / KFOLD_TSV: kfold_tsv(summary, k).encode("utf-8"),
              output_dir / KFOLD_HTML: html.encode("utf-8")})
    return output_dir / KFOLD_HTML
