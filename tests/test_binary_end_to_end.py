"""A binary output end to end on tiny generated images: it learns, Ludwig's files and columns, predict."""

import csv
import json
import subprocess
import sys

import pandas as pd
import pytest
from synthetic import TINY_CONFIG, make_dataset, write_config

from ludwig_mnist.cli import main

BINARY_CONFIG = (TINY_CONFIG.replace("type: category", "type: binary\n    threshold: 0.5")
                 .replace("epochs: 2", "epochs: 12\n  learning_rate: 0.01\n  validation_metric: loss"))
EPOCH_KEYS = ["accuracy", "binary_weighted_cross_entropy", "loss", "precision", "recall", "roc_auc", "specificity"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    directory = tmp_path_factory.mktemp("binary")
    csv_path, zip_path = make_dataset(directory, classes=("no", "yes"), train_per_class=30, test_per_class=10,
                                      validation_per_class=5)
    config = write_config(directory, BINARY_CONFIG)
    out = directory / "out"
    assert main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(zip_path),
                 "--output_directory", str(out)]) == 0
    return directory, csv_path, zip_path, out


def test_binary_model_learns_and_writes_ludwigs_statistics(trained):
    _, _, _, out = trained
    stats = json.loads((out / "experiment_run/test_statistics.json").read_text())["label"]
    assert stats["accuracy"] >= 0.9 and stats["roc_auc"] >= 0.95
    assert len(stats["confusion_matrix"]) == 2 and sum(map(sum, stats["confusion_matrix"])) == 20
    assert set(stats["per_class_stats"]) == {"False", "True"}
    curve = stats["roc_curve"]
    assert len(curve["false_positive_rate"]) == len(curve["true_positive_rate"]) >= 3
    assert stats["precision_recall_curve"]["recalls"][-1] == 0.0
    for key in ("roc_auc_macro", "roc_auc_micro", "average_precision_macro", "average_precision_micro",
                "average_precision_samples", "overall_stats", "specificity", "precision", "recall"):
        assert key in stats, key
    assert "hits_at_k" not in stats and "accuracy_micro" not in stats
    training = json.loads((out / "experiment_run/training_statistics.json").read_text())
    epochs = len(training["training"]["label"]["loss"])
    assert list(training["validation"]["label"]) == EPOCH_KEYS
    assert training["training"]["label"]["loss"][-1] < training["training"]["label"]["loss"][0]
    assert all(len(v) == epochs for v in training["test"]["label"].values())
    metadata = json.loads((out / "experiment_run/model/training_set_metadata.json").read_text())["label"]
    assert metadata["str2bool"] == {"no": False, "yes": True} and metadata["bool2str"] == ["no", "yes"]
    hyper = json.loads((out / "experiment_run/model/model_hyperparameters.json").read_text())
    assert hyper["output_features"][0]["type"] == "binary" and hyper["trainer"]["validation_metric"] == "loss"
    tsv = (out / "metrics.tsv").read_text().splitlines()
    assert tsv[0].split("\t")[:4] == ["split", "accuracy", "loss", "roc_auc"]
    html = (out / "ludwig_experiment_report.html").read_text()
    assert "ROC AUC" in html and "specificity" in html and "Binary output binary" in html  # issue-16 plots
    assert (out / "plots/binary_roc_curve.png").is_file()


def test_binary_predictions_columns(trained):
    _, _, _, out = trained
    frame = pd.read_csv(out / "experiment_run/predictions.csv", dtype=str)
    assert list(frame.columns) == ["image_path", "label", "split", "label_predictions", "label_probability",
                                   "label_probabilities_no", "label_probabilities_yes"]
    p_true = frame["label_probabilities_yes"].astype(float)
    assert ((p_true + frame["label_probabilities_no"].astype(float)) - 1).abs().max() < 1e-5
    assert (frame["label_predictions"] == p_true.ge(0.5).map({True: "yes", False: "no"})).all()
    assert (frame["label_probability"].astype(float) - p_true.where(p_true > 0.5, 1 - p_true)).abs().max() < 1e-5


def test_predict_with_a_binary_model_evaluates_labelled_rows(trained, tmp_path):
    directory, csv_path, zip_path, out = trained
    assert main(["predict", "--model_path", str(out / "experiment_run/model"), "--dataset", str(csv_path),
                 "--raw_data", str(zip_path), "--output_directory", str(tmp_path / "pred")]) == 0
    stats = json.loads((tmp_path / "pred/test_statistics.json").read_text())["label"]
    assert stats["accuracy"] >= 0.9 and sum(map(sum, stats["confusion_matrix"])) == 90  # every row
    frame = pd.read_csv(tmp_path / "pred/predictions.csv", dtype=str)
    assert {"label_predictions", "label_probabilities_no", "label_probabilities_yes"} <= set(frame.columns)


def test_numeric_labels_give_true_false_columns(tmp_path):
    csv_path, zip_path = make_dataset(tmp_path, classes=("0", "1"), train_per_class=10, test_per_class=3)
    config = write_config(tmp_path, TINY_CONFIG.replace("type: category", "type: binary").replace(
        "epochs: 2", "epochs: 1"))
    assert main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(zip_path),
                 "--output_directory", str(tmp_path / "out")]) == 0
    frame = pd.read_csv(tmp_path / "out/experiment_run/predictions.csv", dtype=str)
    assert {"label_probabilities_False", "label_probabilities_True"} <= set(frame.columns)
    assert set(frame["label_predictions"]) <= {"True", "False"}
    metadata = json.loads((tmp_path / "out/experiment_run/model/training_set_metadata.json").read_text())
    assert metadata["label"] == {"column": "label"}  # Ludwig writes no str2bool for a numeric column


def test_cli_three_labels_for_binary_exit_2_and_write_nothing(tmp_path):
    csv_path, zip_path = make_dataset(tmp_path, classes=("a", "b", "c"), train_per_class=4, test_per_class=1)
    config = write_config(tmp_path, TINY_CONFIG.replace("type: category", "type: binary"))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "ludwig_mnist.cli", "experiment", "--config", str(config),
                             "--dataset", str(csv_path), "--raw_data", str(zip_path), "--output_directory",
                             str(out)], capture_output=True, text=True)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "3 distinct values" in lines[0]
    assert not out.exists() or not any(out.iterdir())
    with open(csv_path, newline="") as handle:  # the input is untouched
        assert next(csv.reader(handle)) == ["image_path", "label", "split"]
