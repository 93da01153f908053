"""The HTML reports, their plots and metrics.tsv, from result objects only.

Two reports share one look and the same building blocks (templates/_macros.html.j2):

* ``write_experiment_report``: the full page of the ``experiment`` command;
* ``write_evaluation_report``: the short page of the ``predict`` command.

Each is ONE self-contained HTML file: inline CSS, no JavaScript, images as
``data:image/png;base64`` URIs, and a Content-Security-Policy that forbids any
other load, so opening it makes no network request.  Jinja2 autoescapes every
value: class names and paths are user data.

Everything is drawn and rendered in memory first; files are written to temporary
names and renamed only when all of them are ready, so a failing plot leaves no
report behind.  A plot that fails raises ``RuntimeError("could not draw the
<name> plot: ...")``; no section is ever dropped silently.
"""

from __future__ import annotations

import base64
import io
import math
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import yaml
from PIL import Image

from ludwig_mnist import evaluate, plots
from ludwig_mnist.errors import OutputError
from ludwig_mnist.results import SPLIT_NAMES, ExperimentResult, ImageExample, SplitEvaluation

EXPERIMENT_HTML = "ludwig_experiment_report.html"
PREDICT_HTML = "ludwig_predict_report.html"
METRICS_TSV = "metrics.tsv"
PLOTS_DIR = "plots"

# metrics.tsv columns after "split", in this order; "examples" was added at the end.
METRIC_COLUMNS = ("accuracy", "accuracy_macro", "loss", "hits_at_k", "f1_macro", "f1_weighted", "kappa")
EXTRA_COLUMNS = ("examples",)

EXPERIMENT_FIGURES = ("class_distribution", "learning_curves", "confusion_matrix",
                      "confusion_matrix_normalized", "roc_curves")
EVALUATION_FIGURES = ("confusion_matrix", "confusion_matrix_normalized", "roc_curves")

EXPERIMENT_SECTIONS = (
    ("summary", "Summary"),
    ("setup", "Setup"),
    ("metrics", "Metrics"),
    ("learning-curves", "Learning curves"),
    ("confusion-matrix", "Confusion matrix"),
    ("per-class", "Per-class metrics"),
    ("misclassified", "Misclassified examples"),
    ("training-samples", "Training samples"),
    ("model", "Model"),
    ("timings", "Timings"),
)
EVALUATION_SECTIONS = (
    ("summary", "Summary"),
    ("metrics", "Metrics"),
    ("confusion-matrix", "Confusion matrix"),
    ("per-class", "Per-class metrics"),
    ("misclassified", "Misclassified examples"),
)

GALLERY_PER_CLASS = 4  # misclassified examples shown per true class
GALLERY_MAX = 200  # and in all
TRAINING_SAMPLES_MAX = 100  # taken round-robin over classes, so every class shows when capped
THUMB_DISPLAY = 84  # CSS pixels of a small image's longer side
THUMB_MAX = 128  # larger images are downscaled to this before embedding


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    plots: tuple[Path, ...]
    metrics_tsv: Path


# --------------------------------------------------------------------------- metrics


def _stat(statistics: Mapping[str, Any], *path: str) -> float | None:
    value: Any = statistics
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def evaluation_metrics_row(evaluation: SplitEvaluation) -> dict[str, Any]:
    """One metrics.tsv row; a metric missing from the statistics is None."""
    s = evaluation.statistics
    return {
        "split": evaluation.split,
        "accuracy": _stat(s, "accuracy_micro"),  # plain fraction correct
        "accuracy_macro": _stat(s, "accuracy"),  # Ludwig's `accuracy` is the class-balanced one
        "loss": _stat(s, "loss"),
        "hits_at_k": _stat(s, "hits_at_k"),
        "f1_macro": _stat(s, "overall_stats", "avg_f1_score_macro"),
        "f1_weighted": _stat(s, "overall_stats", "avg_f1_score_weighted"),
        "kappa": _stat(s, "overall_stats", "kappa_score"),
        "examples": int(len(evaluation.y_true)),
    }


def metrics_table_rows(result: ExperimentResult) -> list[dict[str, Any]]:
    """The rows of metrics.tsv: one per evaluated split, in SPLIT_NAMES order."""
    splits = [s for s in SPLIT_NAMES if s in result.evaluations]
    splits += [s for s in result.evaluations if s not in SPLIT_NAMES]
    return [evaluation_metrics_row(result.evaluations[s]) for s in splits]


def metrics_tsv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    columns = ("split", *METRIC_COLUMNS, *EXTRA_COLUMNS)

    def cell(value: Any) -> str:
        if value is None:
            return "NA"
        if isinstance(value, float):
            return "NA" if math.isnan(value) else repr(value)
        return str(value)

    lines = ["\t".join(columns)]
    lines += ["\t".join(cell(row[c]) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- figures


def draw_figure(name: str, fn: Callable[..., bytes], *args: Any, **kwargs: Any) -> bytes:
    try:
        png = fn(*args, **kwargs)
        if not isinstance(png, bytes) or not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise TypeError(f"{getattr(fn, '__name__', fn)} returned no PNG")
        return png
    except Exception as err:
        raise RuntimeError(f"could not draw the {name} plot: {err}") from err


def confusion_counts(evaluation: SplitEvaluation) -> np.ndarray:
    """(C, C) int64 counts, rows = true class; rows with unseen labels (-1) are left out."""
    n = len(evaluation.class_names)
    y_true = np.asarray(evaluation.y_true, dtype=np.int64)
    y_pred = np.asarray(evaluation.y_pred, dtype=np.int64)
    seen = (y_true >= 0) & (y_true < n)
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (y_true[seen], y_pred[seen]), 1)
    return matrix


def evaluation_figures(evaluation: SplitEvaluation) -> dict[str, bytes]:
    """Confusion matrices (counts, row-normalised) and ROC curves of one split."""
    names = evaluation.class_names
    split = evaluation.split
    counts = confusion_counts(evaluation)
    return {
        "confusion_matrix": draw_figure("confusion_matrix", plots.confusion_matrix_png, counts, names,
                                  normalize=False, title=f"Confusion matrix ({split})"),
        "confusion_matrix_normalized": draw_figure(
            "confusion_matrix_normalized", plots.confusion_matrix_png, counts, names,
            normalize=True, title=f"Confusion matrix, row-normalised ({split})"),
        "roc_curves": draw_figure("roc_curves", lambda: plots.roc_curves_png(
            evaluate.roc_curves(evaluation.y_true, evaluation.probabilities), names,
            micro_average_roc(evaluation))),
    }


def micro_average_roc(evaluation: SplitEvaluation) -> tuple[np.ndarray, np.ndarray, float] | None:
    """ROC of all (row, class) pairs pooled as one binary problem; None when undefined."""
    probabilities = np.asarray(evaluation.probabilities, dtype=np.float64)
    classes = np.arange(probabilities.shape[1])
    positive = (np.asarray(evaluation.y_true)[:, None] == classes[None, :]).ravel().astype(np.int64)
    scores = probabilities.ravel()
    # class 1 of the two-column problem [1 - score, score] is "this pair is the true class"
    return evaluate.roc_curves(positive, np.column_stack([1.0 - scores, scores])).get(1)


def experiment_figures(result: ExperimentResult) -> dict[str, bytes]:
    """Every figure of the experiment report, keyed by its plots/<name>.png name."""
    ds = result.dataset
    figures = {
        "class_distribution": draw_figure("class_distribution", plots.class_distribution_png,
                                    ds.class_names, ds.class_frequencies),
        "learning_curves": draw_figure("learning_curves", plots.learning_curves_png,
                                 result.training.epochs, result.training.best_epoch),
    }
    figures.update(evaluation_figures(_eval_split(result)))
    return figures


# --------------------------------------------------------------------------- view helpers


def _eval_split(result: ExperimentResult) -> SplitEvaluation:
    """The evaluation split, or (when that split is empty: the run's notes say so) the last split evaluated."""
    if result.eval_split in result.evaluations:
        return result.evaluations[result.eval_split]
    if not result.evaluations:
        raise ValueError("the result has no evaluated split to report")
    return result.evaluations[[s for s in SPLIT_NAMES if s in result.evaluations][-1]]


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_uris(figures: Mapping[str, bytes], names: Sequence[str]) -> dict[str, str]:
    missing = [n for n in names if n not in figures]
    if missing:
        raise ValueError(f"figures missing from the report: {', '.join(missing)}")
    return {n: _png_uri(figures[n]) for n in names}


def _image_view(example: ImageExample) -> dict[str, Any]:
    """An example as an embedded PNG; small images are scaled up pixelated by CSS."""
    pixels = np.asarray(example.image)
    if pixels.dtype != np.uint8:
        raise ValueError(f"image {example.source!r} has dtype {pixels.dtype}, expected uint8")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (3, 4)):
        raise ValueError(f"image {example.source!r} has shape {example.image.shape}, "
                         "expected (H, W, C) with C in 1, 3, 4")
    image = Image.fromarray(pixels)
    height, width = pixels.shape[:2]
    pixelated = max(height, width) <= THUMB_DISPLAY // 2
    if pixelated:
        scale = THUMB_DISPLAY // max(height, width)
        shown = (width * scale, height * scale)
    else:
        image.thumbnail((THUMB_MAX, THUMB_MAX))
        shown = image.size
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return {
        "uri": _png_uri(buf.getvalue()),
        "width": shown[0],
        "height": shown[1],
        "pixelated": pixelated,
        "true_label": example.true_label,
        "predicted_label": example.predicted_label,
        "probability": example.probability,
        "source": example.source,
    }


def _gallery(examples: Sequence[ImageExample], class_names: Sequence[str]) -> dict[str, Any]:
    """Up to GALLERY_PER_CLASS misclassified examples per true class (GALLERY_MAX in all),
    in vocabulary order."""
    order = {name: i for i, name in enumerate(class_names)}
    ranked = sorted(enumerate(examples),
                    key=lambda ie: (order.get(ie[1].true_label, len(order)), ie[0]))
    shown: list[ImageExample] = []
    per_class: dict[str, int] = {}
    for _, ex in ranked:
        if len(shown) == GALLERY_MAX:
            break
        if per_class.get(ex.true_label, 0) < GALLERY_PER_CLASS:
            per_class[ex.true_label] = per_class.get(ex.true_label, 0) + 1
            shown.append(ex)
    return {"items": [_image_view(ex) for ex in shown], "total": len(examples),
            "per_class": GALLERY_PER_CLASS}


def _round_robin(examples: Sequence[ImageExample], limit: int) -> list[ImageExample]:
    """At most `limit` examples, one per label in turn; the input order when under the limit."""
    if len(examples) <= limit:
        return list(examples)
    queues: dict[str, list[ImageExample]] = {}
    for ex in examples:
        queues.setdefault(ex.true_label, []).append(ex)
    picked: list[ImageExample] = []
    depth = 0
    while len(picked) < limit:
        picked += [q[depth] for q in queues.values() if depth < len(q)][: limit - len(picked)]
        depth += 1
    return picked


def _per_class_rows(evaluation: SplitEvaluation) -> list[dict[str, Any]]:
    per_class = evaluation.statistics.get("per_class_stats", {}) or {}
    support = confusion_counts(evaluation).sum(axis=1)
    aucs = {c: auc for c, (_, _, auc) in
            evaluate.roc_curves(evaluation.y_true, evaluation.probabilities).items()}
    rows = []
    for i, name in enumerate(evaluation.class_names):
        stats = per_class.get(name, {})
        rows.append({
            "name": name,
            "precision": _stat(stats, "precision"),
            "recall": _stat(stats, "recall"),
            "f1": _stat(stats, "f1_score"),
            "support": int(support[i]),
            "auc": aucs.get(i),
        })
    return rows


def _evaluation_view(evaluation: SplitEvaluation, uris: Mapping[str, str]) -> dict[str, Any]:
    return {
        "split": evaluation.split,
        "examples": int(len(evaluation.y_true)),
        "unseen": int(evaluation.unseen_label_count),
        "metrics": evaluation_metrics_row(evaluation),
        "per_class": _per_class_rows(evaluation),
        "figures": uris,
    }


def _plain(value: Any) -> Any:
    """Config values as plain YAML types (tuples, numpy scalars and paths are not)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _yaml(value: Any) -> str:
    return yaml.safe_dump(_plain(value), sort_keys=False, default_flow_style=False,
                          allow_unicode=True, width=100)


# --------------------------------------------------------------------------- Jinja2


def _f4(value: Any) -> str:
    if value is None:
        return "n/a"
    value = float(value)
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def _num(value: Any) -> str:
    return f"{int(value):,}"


def _secs(value: Any) -> str:
    s = float(value)
    if s < 60:
        return f"{s:.2f} s"
    if s < 3600:
        return f"{int(s // 60)} min {s % 60:04.1f} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


@lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,  # class names, paths and config values are user data
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(f4=_f4, num=_num, secs=_secs, yaml=_yaml)
    return env


# --------------------------------------------------------------------------- rendering


def render_experiment_report(result: ExperimentResult, figures: Mapping[str, bytes]) -> str:
    """The experiment report's HTML text (pure: no file is read but the templates)."""
    uris = figure_uris(figures, EXPERIMENT_FIGURES)
    evaluation = _eval_split(result)
    ds = result.dataset
    training = result.training
    notes = [*result.notes, *ds.notes]
    for split, ev in result.evaluations.items():
        if ev.unseen_label_count:
            notes.append(f"{ev.unseen_label_count} {split} row(s) have a label unseen at training "
                         "time; they count as errors and are not in the confusion matrix.")
    ips = training.images_per_second
    context = {
        "title": "Ludwig experiment report",
        "sections": EXPERIMENT_SECTIONS,
        "result": result,
        "dataset": ds,
        "training": training,
        "notes": notes,
        "headline": evaluation_metrics_row(evaluation),
        "eval": _evaluation_view(evaluation, uris),
        "metrics_rows": metrics_table_rows(result),
        "epoch_metric_columns": _epoch_columns(result),
        "epochs": [{"stats": e, "images_per_second": ips[i]} for i, e in enumerate(training.epochs)],
        "figures": uris,
        "config_yaml": _yaml(result.resolved_config),
        "gallery": _gallery(result.misclassified, evaluation.class_names),
        "samples": [_image_view(ex) for ex in _round_robin(result.training_samples, TRAINING_SAMPLES_MAX)],
        "samples_total": len(result.training_samples),
        "timings_total": sum(result.timings.values()),
        "version": result.environment.versions.get("ludwig_mnist", ""),
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


def render_evaluation_report(evaluation: SplitEvaluation, figures: Mapping[str, bytes], *,
                             title: str, model_description: Mapping[str, Any],
                             misclassified: Sequence[ImageExample], notes: Sequence[str]) -> str:
    """The predict report's HTML text."""
    uris = figure_uris(figures, EVALUATION_FIGURES)
    all_notes = list(notes)
    if evaluation.unseen_label_count:
        all_notes.append(f"{evaluation.unseen_label_count} row(s) have a label unseen at training "
                         "time; they count as errors and are not in the confusion matrix.")
    description = [(str(k), _yaml(v).strip() if isinstance(v, (Mapping, list, tuple)) else str(v))
                   for k, v in model_description.items()]
    context = {
        "title": title,
        "sections": EVALUATION_SECTIONS,
        "notes": all_notes,
        "model_description": description,
        "eval": _evaluation_view(evaluation, uris),
        "gallery": _gallery(misclassified, evaluation.class_names),
    }
    return template_environment().get_template("predict_report.html.j2").render(context)


# --------------------------------------------------------------------------- writing


def publish_files(files: Mapping[Path, bytes]) -> None:
    """Write every file under a temporary name, then rename them all (the last one last)."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            # os.open with 0o666 honours the umask (mkstemp's 0600 would hide results from Galaxy)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError as err:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write the report to {err.filename or ''}: {err.strerror or err}") from err


def _write(output_dir: Path, html_name: str, html: str, figures: Mapping[str, bytes],
           rows: Sequence[Mapping[str, Any]]) -> ReportFiles:
    output_dir = Path(output_dir)
    plot_paths = {output_dir / PLOTS_DIR / f"{name}.png": png for name, png in figures.items()}
    tsv = output_dir / METRICS_TSV
    html_path = output_dir / html_name
    # dict order is rename order: the HTML goes last, so once it exists the rest is in place
    publish_files({**plot_paths, tsv: metrics_tsv_text(rows).encode("utf-8"),
              html_path: html.encode("utf-8")})
    return ReportFiles(html=html_path, plots=tuple(plot_paths), metrics_tsv=tsv)


def write_experiment_report(result: ExperimentResult, output_dir: Path) -> ReportFiles:
    """Writes ludwig_experiment_report.html, plots/<name>.png and metrics.tsv into output_dir."""
    figures = experiment_figures(result)
    html = render_experiment_report(result, figures)
    return _write(output_dir, EXPERIMENT_HTML, html, figures, metrics_table_rows(result))


def write_evaluation_report(evaluation: SplitEvaluation, output_dir: Path, *, title: str,
                            model_description: dict, misclassified: Sequence[ImageExample],
                            notes: Sequence[str]) -> ReportFiles:
    """The predict command's short report: ludwig_predict_report.html, plots/, metrics.tsv."""
    figures = evaluation_figures(evaluation)
    html = render_evaluation_report(evaluation, figures, title=title,
                                    model_description=model_description,
                                    misclassified=misclassified, notes=notes)
    return _write(output_dir, PREDICT_HTML, html, figures, [evaluation_metrics_row(evaluation)])
