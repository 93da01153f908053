"""The HTML reports, plots and metrics.tsv, from a hand-made ExperimentResult (no training)."""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import stat
from collections import Counter
from html import escape
from pathlib import Path

import numpy as np
import pytest

from ludwig_mnist import evaluate as ev_module
from ludwig_mnist.report import common as report_common
from ludwig_mnist.report import evaluation as evaluation_report
from ludwig_mnist.report import experiment as experiment_report
from ludwig_mnist.report import plots
from ludwig_mnist.results import (
    DatasetSummary,
    EpochStats,
    ExperimentResult,
    ImageExample,
    LayerRow,
    RunEnvironment,
    SplitEvaluation,
    TrainingSummary,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLASS_NAMES = ("T-shirt/top", "<b>x</b>", "7")
SECTION_IDS = ("summary", "setup", "metrics", "learning-curves", "confusion-matrix", "per-class",
               "calibration", "class-analysis", "misclassified", "training-samples", "model", "timings")


# --------------------------------------------------------------------------- fake results


def fake_statistics(y_true: np.ndarray, probabilities: np.ndarray, names) -> dict:
    """Ludwig-format statistics, computed plainly (not by evaluate.py)."""
    n = len(names)
    y_pred = probabilities.argmax(axis=1)
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    tp = np.diag(cm).astype(float)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros(n), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(n), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(n),
                   where=precision + recall > 0)
    total = cm.sum()
    p_o = tp.sum() / total
    p_e = float((support * predicted).sum()) / total**2
    loss = float(-np.mean(np.log(probabilities[np.arange(len(y_true)), y_true])))
    return {
        "accuracy": float(recall.mean()),
        "accuracy_micro": float(p_o),
        "hits_at_k": 1.0,
        "loss": loss,
        "confusion_matrix": cm.tolist(),
        "overall_stats": {
            "avg_f1_score_macro": float(f1.mean()),
            "avg_f1_score_weighted": float((f1 * support).sum() / total),
            "kappa_score": float((p_o - p_e) / (1 - p_e)),
        },
        "per_class_stats": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]),
                   "f1_score": float(f1[i]), "true_positives": int(tp[i]),
                   "false_negatives": int(support[i] - tp[i])}
            for i, name in enumerate(names)
        },
    }


def fake_evaluation(split: str, rows: int, rng: np.random.Generator, names=CLASS_NAMES) -> SplitEvaluation:
    # imbalanced on purpose, so plain accuracy and balanced (macro) accuracy differ
    weights = np.arange(len(names), 0, -1, dtype=float)
    y_true = rng.choice(len(names), size=rows, p=weights / weights.sum())
    y_true[: len(names)] = np.arange(len(names))  # every class present
    logits = rng.normal(size=(rows, len(names))) + 1.5 * np.eye(len(names))[y_true]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probabilities = probabilities.astype(np.float32)
    # statistics written by hand (independent of evaluate.py); the curves the report draws come from evaluate.py
    return dataclasses.replace(ev_module.evaluate_predictions(split, y_true, probabilities, names),
                               statistics=fake_statistics(y_true, probabilities, names))


def fake_image(rng: np.random.Generator, channels: int = 1) -> np.ndarray:
    return rng.integers(0, 256, size=(28, 28, channels), dtype=np.uint8)


def misclassified_of(evaluation: SplitEvaluation, rng: np.random.Generator) -> tuple[ImageExample, ...]:
    wrong = np.flatnonzero(evaluation.y_pred != evaluation.y_true)
    names = evaluation.class_names
    return tuple(
        ImageExample(image=fake_image(rng), true_label=names[evaluation.y_true[i]],
                     source=f"test/{i}.png", predicted_label=names[evaluation.y_pred[i]],
                     probability=float(evaluation.probabilities[i].max()))
        for i in wrong
    )


def make_fake_result(seed: int = 0) -> ExperimentResult:
    rng = np.random.default_rng(seed)
    evaluations = {split: fake_evaluation(split, rows, rng)
                   for split, rows in (("training", 120), ("validation", 30), ("test", 60))}
    epochs = tuple(
        EpochStats(epoch=e, seconds=2.0 + 0.1 * e, learning_rate=0.001,
                   eval_seconds=0.25,
                   metrics={"training": {"loss": 1.0 / e, "accuracy": 0.5 + 0.1 * e, "accuracy_micro": 0.52 + 0.1 * e},
                            "validation": {"loss": 1.1 / e + 0.02 * e, "accuracy": 0.45 + 0.09 * e,
                                           "accuracy_micro": 0.46 + 0.09 * e}})
        for e in range(1, 5)
    )
    dataset = DatasetSummary(
        split_counts={"training": 120, "validation": 30, "test": 60},
        class_names=CLASS_NAMES,
        class_frequencies={name: 70 for name in CLASS_NAMES},
        image_height=28, image_width=28, num_channels=1,
        dataset_name="mnist_dataset.csv", archive_name="mnist_images.zip", dropped_rows=2,
        notes=("carved 20% validation from training",),
    )
    layers = (
        LayerRow("image_path", "InputLayer", "(None, 28, 28, 1)", 0),
        LayerRow("conv2d", "Conv2D", "(None, 26, 26, 32)", 320),
        LayerRow("flatten", "Flatten", "(None, 21632)", 0),
        LayerRow("label", "Dense", "(None, 3)", 64899),
    )
    return ExperimentResult(
        resolved_config={
            "input_features": [{"name": "image_path", "type": "image",
                                "encoder": {"type": "stacked_cnn", "conv_layers": ({"filter_size": 3},)}}],
            "output_features": [{"name": "label", "type": "category"}],
            "trainer": {"epochs": 4, "batch_size": 32, "learning_rate": np.float64(0.001)},
        },
        random_seed=42,
        dataset=dataset,
        training=TrainingSummary(epochs=epochs, best_epoch=3, stop_reason="completed 4 epochs",
                                 batch_size=32, train_images=120),
        evaluations=evaluations,
        eval_split="test",
        model_layers=layers,
        total_params=65219,
        trainable_params=65219,
        environment=RunEnvironment(versions={"ludwig_mnist": "0.1.0", "tensorflow": "2.20.0",
                                             "python": "3.11.7"},
                                   device="CPU (2 threads)", threads=2),
        # as the pipeline records them: the epochs beside the train phase that contains them
        timings={"extract": 0.5, "decode": 1.25, "train": 9.0, **{f"epoch {e.epoch}": e.seconds + e.eval_seconds
                                                                  for e in epochs}, "evaluate": 0.75},
        wall_seconds=12.5,
        misclassified=misclassified_of(evaluations["test"], rng),
        training_samples=tuple(ImageExample(image=fake_image(rng, 3 if i % 2 else 1),
                                            true_label=CLASS_NAMES[i % 3], source=f"train/{i}.png")
                               for i in range(9)),
        notes=("resized 3 images to 28x28", "carved 20% validation from training"),  # the dataset's note again
    )


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    return make_fake_result()


@pytest.fixture(scope="module")
def figures(result) -> dict[str, bytes]:
    return experiment_report.experiment_figures(result)


@pytest.fixture(scope="module")
def written(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = experiment_report.write_experiment_report(result, out)
    return out, files, files.html.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the experiment report


def test_every_section_has_an_id_and_a_toc_link(written):
    _, _, html = written
    for sid in SECTION_IDS:
        assert f'<section id="{sid}">' in html
        assert f'<a href="#{sid}">' in html


def test_class_names_are_escaped(written):
    _, _, html = written
    assert "T-shirt/top" in html
    assert escape("<b>x</b>") in html
    assert "<b>x</b>" not in html


def test_no_external_reference_and_no_script(written):
    _, _, html = written
    outside_data = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    for needle in ("http://", "https://", 'src="//', "href=\"//", "url(", "@import", "<script", "<link"):
        assert needle not in outside_data.lower()


def test_every_image_is_an_embedded_png(written, result):
    _, _, html = written
    sources = re.findall(r'<img\b[^>]*\bsrc="([^"]*)"', html)
    assert len(sources) == len(re.findall(r"<img\b", html))
    per_class = Counter(ex.true_label for ex in result.misclassified)
    assert max(per_class.values()) > report_common.GALLERY_PER_CLASS  # the cap is exercised
    shown = sum(min(n, report_common.GALLERY_PER_CLASS) for n in per_class.values())
    expected = len(report_common.EXPERIMENT_FIGURES) + len(result.training_samples) + shown
    assert len(sources) == expected
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG_MAGIC)


def test_metric_values_match_the_statistics(written, result):
    _, _, html = written
    for split, ev in result.evaluations.items():
        s = ev.statistics
        assert f"<td>{split}</td>" in html
        for value in (s["accuracy_micro"], s["accuracy"], s["loss"],
                      s["overall_stats"]["avg_f1_score_macro"], s["overall_stats"]["avg_f1_score_weighted"],
                      s["overall_stats"]["kappa_score"]):
            assert f'<td class="num">{value:.4f}</td>' in html
    test = result.evaluations["test"].statistics
    assert f"{test['accuracy_micro']:.4f}" != f"{test['accuracy']:.4f}"
    cards = re.findall(r'<div class="label">([^<]*)</div><div class="value">([^<]*)</div>', html)
    assert ("accuracy (test)", f"{test['accuracy_micro']:.4f}") in cards  # plain, the headline
    assert ("balanced (macro) accuracy", f"{test['accuracy']:.4f}") in cards
    for name, stats in test["per_class_stats"].items():
        assert f'<td class="num">{stats["recall"]:.4f}</td>' in html


def test_summary_tells_why_training_stopped_and_the_notes(written):
    _, _, html = written
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    for text in ("completed 4 epochs", "carved 20% validation from training", "resized 3 images to 28x28",
                 "balanced (macro) accuracy", "mnist_dataset.csv", "mnist_images.zip", "12.50 s"):
        assert text in summary


def test_setup_shows_the_config_as_yaml(written):
    _, _, html = written
    setup = html.split('<section id="setup">')[1].split("</section>")[0]
    assert "input_features:\n- name: image_path" in setup
    assert "learning_rate: 0.001" in setup
    assert "CPU (2 threads)" in setup and "tensorflow" in setup


def test_plot_files_and_metrics_tsv(written, result):
    out, files, _ = written
    names = sorted(p.name for p in files.plots)
    assert names == sorted(f"{n}.png" for n in report_common.EXPERIMENT_FIGURES)
    for path in files.plots:
        assert path.parent == out / "plots"
        assert path.read_bytes().startswith(PNG_MAGIC)
    assert files.html == out / "ludwig_experiment_report.html"
    lines = files.metrics_tsv.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("split\taccuracy\taccuracy_macro\tloss\thits_at_k\tf1_macro\tf1_weighted\tkappa")
    assert [line.split("\t")[0] for line in lines[1:]] == ["training", "validation", "test"]
    header = lines[0].split("\t")
    test_row = dict(zip(header, lines[3].split("\t")))
    assert float(test_row["accuracy"]) == result.evaluations["test"].statistics["accuracy_micro"]
    assert int(test_row["examples"]) == 60
    assert not list(out.rglob("*.tmp"))


def test_embedded_plots_are_the_written_files(written):
    _, files, html = written
    for path in files.plots:
        assert base64.b64encode(path.read_bytes()).decode() in html


def test_metrics_table_rows(result):
    rows = report_common.metrics_table_rows(result)
    assert [r["split"] for r in rows] == ["training", "validation", "test"]
    assert rows[2]["accuracy_macro"] == result.evaluations["test"].statistics["accuracy"]
    assert list(rows[0])[:8] == ["split", *report_common.METRIC_COLUMNS]


def test_render_is_pure_and_deterministic(result, figures):
    assert experiment_report.render_experiment_report(result, figures) == experiment_report.render_experiment_report(result, figures)
    assert experiment_report.experiment_figures(result) == figures  # same inputs, same PNG bytes


def test_missing_figure_is_an_error(result, figures):
    figures = {k: v for k, v in figures.items() if k != "roc_curves"}
    with pytest.raises(ValueError, match="roc_curves"):
        experiment_report.render_experiment_report(result, figures)


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize("function, name", [
    ("roc_curves_png", "roc_curves"),
    ("learning_curves_png", "learning_curves"),
    ("confusion_matrix_png", "confusion_matrix"),
])
def test_a_failing_plot_fails_the_report_and_writes_nothing(result, tmp_path, monkeypatch, function, name):
    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(plots, function, broken)
    with pytest.raises(RuntimeError, match=rf"could not draw the {name} plot: boom"):
        experiment_report.write_experiment_report(result, tmp_path / "out")
    assert not (tmp_path / "out" / "ludwig_experiment_report.html").exists()
    assert not list(tmp_path.rglob("*.html")) and not list(tmp_path.rglob("*.png"))


# --------------------------------------------------------------------------- the predict report


def test_predict_report(result, tmp_path):
    evaluation = result.evaluations["test"]
    files = evaluation_report.write_evaluation_report(
        evaluation, tmp_path, title="Ludwig predictions <on> new data",
        model_description={"model": "stacked_cnn", "input": {"height": 28, "width": 28}},
        misclassified=result.misclassified, notes=["3 rows had no label"])
    assert files.html == tmp_path / "ludwig_predict_report.html"
    html = files.html.read_text(encoding="utf-8")
    for sid in ("summary", "metrics", "confusion-matrix", "per-class", "misclassified"):
        assert f'<section id="{sid}">' in html
    assert "Ludwig predictions &lt;on&gt; new data" in html
    assert escape("<b>x</b>") in html and "<b>x</b>" not in html
    assert "3 rows had no label" in html and "height: 28" in html
    assert f'{evaluation.statistics["accuracy_micro"]:.4f}' in html
    assert sorted(p.name for p in files.plots) == sorted(f"{n}.png" for n in report_common.EVALUATION_FIGURES)
    lines = files.metrics_tsv.read_text().splitlines()
    assert len(lines) == 2 and lines[1].startswith("test\t")
    for src in re.findall(r'<img\b[^>]*\bsrc="([^"]*)"', html):
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)


# --------------------------------------------------------------------------- plots


def test_micro_average_roc_is_the_pooled_rank_statistic(result):
    evaluation = result.evaluations["test"]
    fpr, tpr, auc = ev_module.micro_average_roc(evaluation.y_true, evaluation.probabilities)
    y = evaluation.y_true
    probs = evaluation.probabilities.astype(np.float64)
    is_true = y[:, None] == np.arange(probs.shape[1])[None, :]
    pos, neg = probs[is_true], probs[~is_true]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert auc == pytest.approx(pairs)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1


def test_per_class_auc_is_na_for_a_class_without_rows(result):
    evaluation = result.evaluations["test"]
    keep = evaluation.y_true != 2
    names = evaluation.class_names
    partial = ev_module.evaluate_predictions("test", evaluation.y_true[keep], evaluation.probabilities[keep], names)
    rows = {r["name"]: r for r in report_common._per_class_rows(partial)}
    assert rows[names[2]]["auc"] is None and rows[names[2]]["support"] == 0
    assert rows[names[0]]["auc"] is not None


def test_training_samples_are_capped_round_robin_over_classes(result, figures, monkeypatch):
    monkeypatch.setattr(experiment_report, "TRAINING_SAMPLES_MAX", 4)
    html = experiment_report.render_experiment_report(result, figures)
    samples = html.split('<section id="training-samples">')[1].split("</section>")[0]
    assert samples.count("<img ") == 4
    for name in CLASS_NAMES:
        assert f'<div class="true">{escape(name)}</div>' in samples


def test_many_classes_and_odd_labels_draw():
    rng = np.random.default_rng(1)
    names = [f"class ${i}$ with a very long name number {i}" for i in range(100)]
    evaluation = fake_evaluation("test", 300, rng, names)
    figures = report_common.evaluation_figures(evaluation)
    assert all(png.startswith(PNG_MAGIC) for png in figures.values())
    assert plots.class_distribution_png(names, {n: 5 for n in names}).startswith(PNG_MAGIC)
    one_epoch = [EpochStats(1, 1.0, {"training": {"loss": 1.0}, "te$t": {"loss": 2.0, "x_y": 0.5}})]
    assert plots.learning_curves_png(one_epoch, 1).startswith(PNG_MAGIC)


def test_per_epoch_table_names_the_metrics(written):
    _, _, html = written
    curves = html.split('<section id="learning-curves">')[1].split("</section>")[0]
    assert "<th class=\"num\">training accuracy</th>" in curves
    assert "<th class=\"num\">validation balanced (macro) accuracy</th>" in curves
    assert '<td class="num">0.7200</td>' in curves  # training accuracy_micro of epoch 2


def test_plots_leave_no_pyplot_figure(result):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    experiment_report.experiment_figures(result)
    assert plt.get_fignums() == before


def test_written_files_honour_the_umask(result, tmp_path):
    old = os.umask(0o022)
    try:
        files = experiment_report.write_experiment_report(result, tmp_path)
    finally:
        os.umask(old)
    for path in (files.html, files.metrics_tsv, *files.plots):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_unwritable_output_is_an_output_error(result, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(report_common.OutputError):
        experiment_report.write_experiment_report(result, blocker / "out")


def test_images_must_be_uint8(result, figures):
    bad = ImageExample(image=np.zeros((4, 4, 1), dtype=np.float32), true_label="7", source="x.png")
    with pytest.raises(ValueError, match="x.png"):
        experiment_report.render_experiment_report(
            dataclasses.replace(result, training_samples=(bad,)), figures)


def test_fixture_paths_do_not_depend_on_the_working_directory(result, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = experiment_report.write_experiment_report(result, tmp_path / "elsewhere")
    assert files.html.is_file()
    assert Path(report_common.__file__).with_name("templates").is_dir()


def test_each_note_is_shown_once(written):
    html = written[2]
    assert html.count("carved 20% validation from training") == 1
    assert html.count("resized 3 images to 28x28") == 1


def test_timing_rows_add_up_to_the_wall_time(result, written):
    rows, total = experiment_report.timing_rows(result)
    top = [r for r in rows if not r["sub"]]
    assert [r["phase"] for r in top] == ["extract", "decode", "train", "evaluate", "other (not timed by a phase)"]
    assert sum(r["seconds"] for r in top) == pytest.approx(result.wall_seconds) == pytest.approx(total)
    assert top[-1]["seconds"] == pytest.approx(12.5 - 11.5)
    subs = [r["phase"] for r in rows if r["sub"]]
    assert subs == ["epoch 1", "epoch 2", "epoch 3", "epoch 4"]
    assert [r["phase"] for r in rows].index("epoch 1") == [r["phase"] for r in rows].index("train") + 1
    html = written[2]
    assert "of which epoch 1" in html
    assert re.search(r"phases total[^<]*</th><th class=\"num\">12\.50<", html)


def test_per_class_table_shows_mcc_and_specificity(written, result):
    html = written[2]
    assert "<th class=\"num\">MCC</th>" in html and "<th class=\"num\">specificity</th>" in html


def test_classes_in_natural_order_in_the_tables(written):
    # CLASS_NAMES = ("T-shirt/top", "<b>x</b>", "7"): alphabetically "7" < "<b>x</b>" < "T-shirt/top"
    html = written[2]
    section = html[html.index('id="per-class"'):html.index('id="calibration"')]
    positions = [section.index(f"<td>{escape(n)}</td>") for n in ("7", "<b>x</b>", "T-shirt/top")]
    assert positions == sorted(positions)


def test_every_img_has_alt_text(written):
    for tag in re.findall(r"<img [^>]*>", written[2]):
        alt = re.search(r'alt="([^"]*)"', tag)
        assert alt and alt.group(1).strip(), tag[:120]


def test_new_analysis_sections_state_their_numbers(written, result):
    html = written[2]
    ev = result.shown_evaluation
    from ludwig_mnist import analysis
    cal = analysis.calibration(ev.y_true, ev.probabilities)
    assert f"Brier score {cal.brier:.4f}" in html
    assert f"expected calibration error {cal.ece:.4f}" in html
    assert f"k=1 {ev.statistics['accuracy_micro']:.4f}" in html
