"""The predict report: ludwig_predict_report.html, plots/<name>.png and metrics.tsv, from one SplitEvaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..results import ImageExample, SplitEvaluation
from . import sections
from .explanations import explanations_view, with_section
from .common import (
    EVALUATION_FIGURES,
    EVALUATION_SECTIONS,
    PREDICT_HTML,
    ReportFiles,
    as_yaml,
    evaluation_figures,
    evaluation_metrics_row,
    evaluation_view,
    figure_uris,
    gallery,
    require_curves,
    template_environment,
    unique_notes,
    write_report_files,
)


def _analysis(evaluation: SplitEvaluation) -> dict:
    """The analyses of the predicted rows; "frequency" in frequency vs F1 is each class's support here."""
    support = require_curves(evaluation).confusion.sum(axis=1)
    frequencies = {name: int(support[i]) for i, name in enumerate(evaluation.class_names)}
    return sections.category_analysis(evaluation, frequencies)


def render_evaluation_report(evaluation: SplitEvaluation, figures: Mapping[str, bytes], *,
                             title: str, model_description: Mapping[str, Any],
                             misclassified: Sequence[ImageExample], notes: Sequence[str],
                             explanations=None) -> str:
    """The predict report's HTML text."""
    uris = figure_uris(figures, EVALUATION_FIGURES)
    all_notes = unique_notes(notes)
    if evaluation.unseen_label_count:
        all_notes.append(f"{evaluation.unseen_label_count} row(s) have a label unseen at training "
                         "time; they count as errors and are not in the confusion matrix.")
    description = [(str(k), as_yaml(v).strip() if isinstance(v, (Mapping, list, tuple)) else str(v))
                   for k, v in model_description.items()]
    context = {
        "title": title,
        "dataset_name": str(model_description.get("dataset", "")),  # the user's name of the table (--dataset_label)
        "sections": with_section(EVALUATION_SECTIONS, explanations),
        "explanations": explanations_view(explanations),
        "notes": all_notes,
        "model_description": description,
        "eval": evaluation_view(evaluation, uris),
        "gallery": gallery(misclassified, evaluation.class_names),
        "binary": (sections.binary_of(evaluation) or (None, None))[1],
        "analysis": sections.category_view(evaluation, _analysis(evaluation), uris),
    }
    return template_environment().get_template("predict_report.html.j2").render(context)


def write_evaluation_report(evaluation: SplitEvaluation, output_dir: Path, *, title: str,
                            model_description: dict, misclassified: Sequence[ImageExample],
                            notes: Sequence[str], explanations=None) -> ReportFiles:
    """The predict command's short report: ludwig_predict_report.html, plots/, metrics.tsv."""
    figures = evaluation_figures(evaluation)
    figures.update(sections.category_figures(evaluation, _analysis(evaluation)))
    binary = sections.binary_of(evaluation)
    if binary is not None:  # ROC, PR and threshold plots of a binary output
        figures.update(binary[0])
    html = render_evaluation_report(evaluation, figures, title=title,
                                    model_description=model_description,
                                    misclassified=misclassified, notes=notes, explanations=explanations)
    return write_report_files(output_dir, PREDICT_HTML, html, figures, [evaluation_metrics_row(evaluation)])
