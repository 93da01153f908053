"""The comparison report of `compare`: one row per configuration, the best highlighted,
overlaid learning curves, and per-class F1 of the best few side by side.

Built from the runs' result objects only (testable without training), with the
experiment report's look, helpers and atomic writing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..analysis import natural_order
from . import plots
from .common import draw_figure, figure_uris, publish_files, template_environment

COMPARE_HTML = "ludwig_compare_report.html"
COMPARE_TSV = "comparison.tsv"
SIDE_BY_SIDE = 3  # per-class F1 is shown for the best few configurations
SECTIONS = (("ranking", "Ranking"), ("curves", "Learning curves"), ("per-class", "Per-class F1"), ("runs", "Runs"))
SPLIT_METRICS = (("validation", "accuracy_micro"), ("validation", "loss"), ("test", "accuracy_micro"),
                 ("test", "loss"), ("test", "accuracy"))


def _value(run, split: str, key: str) -> float | None:
    return run.metric(split, key)


def comparison_rows(runs: Sequence, best, selection) -> list[dict[str, Any]]:
    ranked = sorted(runs, key=lambda r: (_value(r, selection.split, selection.metric) is None,
                                         (-1 if selection.goal == "maximize" else 1)
                                         * (_value(r, selection.split, selection.metric) or 0.0)))
    rows = []
    for rank, run in enumerate(ranked, start=1):
        row = {"rank": rank, "configuration": run.name, "best": run is best, "parameters": run.parameters,
               "epochs": run.result.training.epochs_run, "best_epoch": run.result.training.best_epoch,
               "wall_seconds": run.result.wall_seconds}
        for split, key in SPLIT_METRICS:
            row[f"{split}_{key}"] = _value(run, split, key)
        rows.append(row)
    return rows


def comparison_tsv(rows: Sequence[dict[str, Any]], parameter_keys: Sequence[str]) -> str:
    metric_columns = [f"{split}_{key}" for split, key in SPLIT_METRICS]
    header = ["rank", "configuration", *parameter_keys, *metric_columns, "epochs", "best_epoch", "wall_seconds", "best"]
    lines = ["\t".join(header)]
    for row in rows:
        cells = [row["rank"], row["configuration"], *(row["parameters"].get(k) for k in parameter_keys),
                 *(row[c] for c in metric_columns), row["epochs"], row["best_epoch"], round(row["wall_seconds"], 2),
                 "yes" if row["best"] else "no"]
        lines.append("\t".join("" if c is None else (f"{c:.6f}" if isinstance(c, float) else str(c)) for c in cells))
    return "\n".join(lines) + "\n"


def overlaid_curves_png(runs: Sequence) -> bytes:
    """Validation (or training) loss and accuracy per epoch, one line per configuration."""
    return plots.overlaid_learning_curves_png([(run.name, run.result.training.epochs) for run in runs])


def per_class_f1_png(runs: Sequence, split: str) -> bytes:
    """Grouped bars: per-class F1 on `split` for each of the given configurations."""
    vocabulary = runs[0].result.evaluations[split].class_names
    class_names = [vocabulary[i] for i in natural_order(vocabulary)]  # as people read them
    return plots.grouped_class_bars_png(
        class_names, [(run.name, [run.result.evaluations[split].statistics["per_class_stats"][c]["f1_score"]
                                  for c in class_names]) for run in runs],
        ylabel=f"F1 ({split})", legend_title="configuration")


def write_compare_report(runs: Sequence, best, selection, parameter_keys: Sequence[str], output_dir: Path,
                         wall_seconds: float) -> Path:
    rows = comparison_rows(runs, best, selection)
    order = {row["configuration"]: row["rank"] for row in rows}
    leaders = sorted(runs, key=lambda r: order[r.name])[:SIDE_BY_SIDE]
    f1_split = "test" if all("test" in r.result.evaluations for r in leaders) else selection.split
    figures = {"comparison_learning_curves": draw_figure("comparison learning curves", overlaid_curves_png, runs),
               "comparison_per_class_f1": draw_figure("per-class F1 comparison", per_class_f1_png, leaders, f1_split)}
    html = template_environment().get_template("compare_report.html.j2").render({
        "title": "Ludwig configuration comparison", "sections": SECTIONS, "rows": rows,
        "parameter_keys": list(parameter_keys), "selection": selection, "best": best,
        "figures": figure_uris(figures, tuple(figures)), "f1_split": f1_split, "leaders": [r.name for r in leaders],
        "wall_seconds": wall_seconds, "runs": runs,
    })
    output_dir = Path(output_dir)
    publish_files({**{output_dir / "comparison_plots" / f"{name}.png": png for name, png in figures.items()},
              output_dir / COMPARE_TSV: comparison_tsv(rows, parameter_keys).encode("utf-8"),
              output_dir / COMPARE_HTML: html.encode("utf-8")})
    return output_dir / COMPARE_HTML
