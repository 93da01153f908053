"""The experiment report: ludwig_experiment_report.html, plots/<name>.png and metrics.tsv, from an ExperimentResult."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..analysis import natural_order
from ..artifacts.weights import SOURCES
from ..results import SPLIT_NAMES, ExperimentResult
from . import plots, sections
from .explanations import explanations_view, with_section
from .common import (
    EXPERIMENT_FIGURES,
    EXPERIMENT_HTML,
    EXPERIMENT_SECTIONS,
    TRAINING_SAMPLES_MAX,
    ReportFiles,
    as_yaml,
    draw_figure,
    evaluation_figures,
    evaluation_metrics_row,
    evaluation_view,
    figure_uris,
    gallery,
    image_view,
    metrics_table_rows,
    round_robin,
    template_environment,
    unique_notes,
    write_report_files,
)


def experiment_figures(result: ExperimentResult) -> dict[str, bytes]:
    """Every figure of the experiment report, keyed by its plots/<name>.png name."""
    ds = result.dataset
    figures = {
        "class_distribution": draw_figure("class_distribution", plots.class_distribution_png,
                                    [ds.class_names[i] for i in natural_order(ds.class_names)],
                                    ds.class_frequencies),
        "learning_curves": draw_figure("learning_curves", plots.learning_curves_png,
                                 result.training.epochs, result.training.best_epoch),
    }
    figures.update(evaluation_figures(result.shown_evaluation))
    figures.update(sections.category_figures(result.shown_evaluation, _analysis(result)))
    binary = sections.binary_of(result.shown_evaluation)
    if binary is not None:  # ROC, PR and threshold plots of a binary output
        figures.update(binary[0])
    return figures


def _analysis(result: ExperimentResult) -> dict:
    return sections.category_analysis(result.shown_evaluation, result.dataset.class_frequencies)


def timing_rows(result: ExperimentResult) -> tuple[list[dict], float]:
    """(rows, total) of the timings table: the phases in pipeline order, each epoch a sub-row inside the
    train phase (its seconds are part of train's, so they are not added again), and an "other" row for
    the wall time no phase measured, so the phase rows add up to the wall time."""
    epochs = {k: v for k, v in result.timings.items() if k.startswith("epoch ")}
    rows: list[dict] = []
    for phase, seconds in result.timings.items():
        if phase in epochs:
            continue
        rows.append({"phase": phase, "seconds": seconds, "sub": False})
        if phase == "train":
            rows += [{"phase": name, "seconds": s, "sub": True} for name, s in epochs.items()]
    total = sum(r["seconds"] for r in rows if not r["sub"])
    if result.wall_seconds - total > 0.005:
        rows.append({"phase": "other (not timed by a phase)", "seconds": result.wall_seconds - total, "sub": False})
        total = result.wall_seconds
    return rows, total


def render_experiment_report(result: ExperimentResult, figures: Mapping[str, bytes]) -> str:
    """The experiment report's HTML text (pure: no file is read but the templates)."""
    uris = figure_uris(figures, EXPERIMENT_FIGURES)
    evaluation = result.shown_evaluation
    ds = result.dataset
    training = result.training
    notes = unique_notes([*result.notes, *ds.notes])
    for split, ev in result.evaluations.items():
        if ev.unseen_label_count:
            notes.append(f"{ev.unseen_label_count} {split} row(s) have a label unseen at training "
                         "time; they count as errors and are not in the confusion matrix.")
    ips = training.images_per_second
    context = {
        "title": "Ludwig Experiment report",
        "sections": with_section(EXPERIMENT_SECTIONS, result.explanations),
        "explanations": explanations_view(result.explanations),
        "result": result,
        "dataset": ds,
        "training": training,
        "choices": trainer_choices(result.resolved_config.get("trainer", {})),
        "notes": notes,
        "headline": evaluation_metrics_row(evaluation),
        "eval": evaluation_view(evaluation, uris),
        "metrics_rows": metrics_table_rows(result),
        "epoch_metric_columns": _epoch_columns(result),
        "epochs": [{"stats": e, "images_per_second": ips[i]} for i, e in enumerate(training.epochs)],
        "figures": uris,
        "config_yaml": as_yaml(result.resolved_config),
        "gallery": gallery(result.misclassified, evaluation.class_names),
        "samples": [image_view(ex) for ex in round_robin(result.training_samples, TRAINING_SAMPLES_MAX)],
        "samples_total": len(result.training_samples),
        "timing_rows": timing_rows(result)[0],
        "timings_total": timing_rows(result)[1],
        "binary": (sections.binary_of(result.shown_evaluation) or (None, None))[1],
        "analysis": sections.category_view(evaluation, _analysis(result), uris),
        "class_order": [ds.class_names[i] for i in natural_order(ds.class_names)],
        "version": result.environment.versions.get("ludwig_mnist", ""),
        "weights": result.weights,
        "weights_source": SOURCES.get(getattr(result.weights, "source", ""), ""),
    }
    return template_environment().get_template("experiment_report.html.j2").render(context)


def _epoch_columns(result: ExperimentResult) -> list[tuple[str, str, str]]:
    """(split, metric key, header) of the per-epoch table, metrics in plots.METRIC_TITLES order."""
    seen: dict[tuple[str, str], None] = {}
    for e in result.training.epochs:
        for split, values in e.metrics.items():
            for metric in values:
                seen[(split, metric)] = None
    split_rank = {s: i for i, s in enumerate(SPLIT_NAMES)}
    metric_rank = {m: i for i, m in enumerate(plots.METRIC_TITLES)}
    ordered = sorted(seen, key=lambda sm: (metric_rank.get(sm[1], len(metric_rank)), sm[1],
                                           split_rank.get(sm[0], len(split_rank)), sm[0]))
    return [(split, metric, f"{split} {plots.METRIC_TITLES.get(metric, metric)}")
            for split, metric in ordered]


def write_experiment_report(result: ExperimentResult, output_dir: Path) -> ReportFiles:
    """Writes ludwig_experiment_report.html, plots/<name>.png and metrics.tsv into output_dir."""
    figures = experiment_figures(result)
    html = render_experiment_report(result, figures)
    return write_report_files(output_dir, EXPERIMENT_HTML, html, figures, metrics_table_rows(result))


def trainer_choices(trainer: dict) -> dict:
    """What the resolved trainer chose that a reader should see: learning rate, clipping, training metrics."""
    rows = []
    if "learning_rate" in trainer:
        rows.append(("learning rate", str(trainer["learning_rate"])))
    clip = trainer.get("gradient_clipping") or {}
    if clip:
        norms = [n for n in (clip.get("clipglobalnorm"), clip.get("clipnorm")) if n]
        rows.append(("gradient clipping", f"by value {clip['clipvalue']}" if clip.get("clipvalue")
                     else f"global norm {min(norms)}" if norms else "none"))
    if "evaluate_training_set" in trainer:
        rows.append(("training metrics", "a pass over the training set after each epoch"
                     if trainer["evaluate_training_set"] else "accumulated during each epoch (Ludwig's default)"))
    return {"batch_auto": trainer.get("batch_size") == "auto", "rows": rows}
