"""What the four reports share: metrics rows, figures, image embedding, Jinja2, and atomic writing.

The reports (experiment.py, evaluation.py for predict, compare.py, kfold.py) share one look and the
same building blocks (templates/_macros.html.j2), and render from result objects only.

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

from ..analysis import natural_order
from ..errors import OutputError
from ..results import (
    SPLIT_NAMES,
    ExperimentResult,
    ImageExample,
    SplitEvaluation,
    plain,
)
from . import plots
from .examples import GALLERY_MAX, GALLERY_PER_CLASS

EXPERIMENT_HTML = "ludwig_experiment_report.html"
PREDICT_HTML = "ludwig_predict_report.html"
METRICS_TSV = "metrics.tsv"
PLOTS_DIR = "plots"

# metrics.tsv columns after "split", in this order; "examples" was added at the end.
METRIC_COLUMNS = ("accuracy", "accuracy_macro", "loss", "hits_at_k", "f1_macro", "f1_weighted", "kappa")
# a binary output's rows (evaluate_binary.py): Ludwig's binary metrics in place of the category ones
BINARY_METRIC_COLUMNS = ("accuracy", "loss", "roc_auc", "precision", "recall", "specificity", "average_precision",
                         "threshold")
EXTRA_COLUMNS = ("examples",)

# The category analyses of report/sections.py, named after Ludwig's visualizations.
CATEGORY_FIGURES = ("calibration_1_vs_all", "confidence_thresholding", "compare_classifiers_performance_changing_k",
                    "frequency_vs_f1", "confusion_matrix_entropy")
EXPERIMENT_FIGURES = ("class_distribution", "learning_curves", "confusion_matrix",
                      "confusion_matrix_normalized", "roc_curves", *CATEGORY_FIGURES)
EVALUATION_FIGURES = ("confusion_matrix", "confusion_matrix_normalized", "roc_curves", *CATEGORY_FIGURES)

EXPERIMENT_SECTIONS = (
    ("summary", "Summary"),
    ("setup", "Setup"),
    ("metrics", "Metrics"),
    ("learning-curves", "Learning curves"),
    ("confusion-matrix", "Confusion matrix"),
    ("per-class", "Per-class metrics"),
    ("calibration", "Calibration and confidence"),
    ("class-analysis", "Frequency and confusion entropy"),
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
    ("calibration", "Calibration and confidence"),
    ("class-analysis", "Frequency and confusion entropy"),
    ("misclassified", "Misclassified examples"),
)

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
    if evaluation.threshold is not None:  # binary
        return {"split": evaluation.split, "binary": True,
                **{key: _stat(s, key) for key in BINARY_METRIC_COLUMNS[:-2]},
                "average_precision": _stat(s, "average_precision_macro"), "threshold": evaluation.threshold,
                "examples": int(len(evaluation.y_true))}
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
    binary = bool(rows) and rows[0].get("binary", False)
    columns = ("split", *(BINARY_METRIC_COLUMNS if binary else METRIC_COLUMNS), *EXTRA_COLUMNS)

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


def require_curves(evaluation: SplitEvaluation) -> SplitEvaluation:
    """The evaluation, checked to carry what evaluate.evaluate_predictions computes (the report recomputes nothing)."""
    if evaluation.confusion is None or evaluation.roc is None:
        raise ValueError(f"the {evaluation.split} evaluation has no confusion matrix or ROC curves; "
                         "make it with evaluate.evaluate_predictions")
    return evaluation


def evaluation_figures(evaluation: SplitEvaluation) -> dict[str, bytes]:
    """Confusion matrices (counts, row-normalised) and ROC curves of one split, classes in natural order
    (numbers by value, names alphabetically); the JSON keeps Ludwig's vocabulary order."""
    order = natural_order(evaluation.class_names)
    names = [evaluation.class_names[i] for i in order]
    split = evaluation.split
    counts = require_curves(evaluation).confusion[np.ix_(order, order)]
    roc = {rank: evaluation.roc[c] for rank, c in enumerate(order) if c in evaluation.roc}
    return {
        "confusion_matrix": draw_figure("confusion_matrix", plots.confusion_matrix_png, counts, names,
                                  normalize=False, title=f"Confusion matrix ({split})"),
        "confusion_matrix_normalized": draw_figure(
            "confusion_matrix_normalized", plots.confusion_matrix_png, counts, names,
            normalize=True, title=f"Confusion matrix, row-normalised ({split})"),
        "roc_curves": draw_figure("roc_curves", plots.roc_curves_png, roc, names, evaluation.micro_roc),
    }


# --------------------------------------------------------------------------- view helpers


def unique_notes(notes) -> list[str]:
    """Each note once, in first-seen order (the dataset's notes reach a result by more than one path)."""
    return list(dict.fromkeys(notes))


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_uris(figures: Mapping[str, bytes], names: Sequence[str]) -> dict[str, str]:
    missing = [n for n in names if n not in figures]
    if missing:
        raise ValueError(f"figures missing from the report: {', '.join(missing)}")
    return {n: _png_uri(figures[n]) for n in names}


def image_view(example: ImageExample) -> dict[str, Any]:
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


def gallery(examples: Sequence[ImageExample], class_names: Sequence[str]) -> dict[str, Any]:
    """Up to GALLERY_PER_CLASS misclassified examples per true class (GALLERY_MAX in all),
    true classes in natural order."""
    order = {class_names[i]: rank for rank, i in enumerate(natural_order(class_names))}
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
    return {"items": [image_view(ex) for ex in shown], "total": len(examples),
            "per_class": GALLERY_PER_CLASS}


def round_robin(examples: Sequence[ImageExample], limit: int) -> list[ImageExample]:
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
    support = require_curves(evaluation).confusion.sum(axis=1)
    aucs = {c: auc for c, (_, _, auc) in evaluation.roc.items()}
    rows = []
    for i in natural_order(evaluation.class_names):
        name = evaluation.class_names[i]
        # a binary output's per_class_stats are keyed "False"/"True" (Ludwig), whatever its labels are
        stats = per_class.get(name) or per_class.get(("False", "True")[i] if evaluation.threshold is not None
                                                     else name, {})
        rows.append({
            "name": name,
            "precision": _stat(stats, "precision"),
            "recall": _stat(stats, "recall"),
            "f1": _stat(stats, "f1_score"),
            "specificity": _stat(stats, "specificity"),
            "mcc": _stat(stats, "matthews_correlation_coefficient"),
            "support": int(support[i]),
            "auc": aucs.get(i),
        })
    return rows


def evaluation_view(evaluation: SplitEvaluation, uris: Mapping[str, str]) -> dict[str, Any]:
    return {
        "split": evaluation.split,
        "examples": int(len(evaluation.y_true)),
        "unseen": int(evaluation.unseen_label_count),
        "metrics": evaluation_metrics_row(evaluation),
        "per_class": _per_class_rows(evaluation),
        "figures": uris,
    }


def as_yaml(value: Any) -> str:
    return yaml.safe_dump(plain(value), sort_keys=False, default_flow_style=False,
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
    env.filters.update(f4=_f4, num=_num, secs=_secs, yaml=as_yaml)
    return env


# --------------------------------------------------------------------------- rendering


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


def write_report_files(output_dir: Path, html_name: str, html: str, figures: Mapping[str, bytes],
           rows: Sequence[Mapping[str, Any]]) -> ReportFiles:
    output_dir = Path(output_dir)
    plot_paths = {output_dir / PLOTS_DIR / f"{name}.png": png for name, png in figures.items()}
    tsv = output_dir / METRICS_TSV
    html_path = output_dir / html_name
    # dict order is rename order: the HTML goes last, so once it exists the rest is in place
    publish_files({**plot_paths, tsv: metrics_tsv_text(rows).encode("utf-8"),
              html_path: html.encode("utf-8")})
    return ReportFiles(html=html_path, plots=tuple(plot_paths), metrics_tsv=tsv)


