"""One short end-to-end run of the CLI, reproducibility, and bad input → one line, exit 2, no results."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from synthetic import make_dataset, write_config

from ludwig_mnist.cli import main

RESULT_FILES = ("experiment_run/description.json", "experiment_run/training_statistics.json",
                "experiment_run/test_statistics.json", "experiment_run/predictions.csv",
                "experiment_run/model/model_hyperparameters.json", "experiment_run/model/model_weights",
                "experiment_run/model/training_set_metadata.json", "experiment_run/model/training_progress.json",
                "ludwig_experiment_report.html", "metrics.tsv")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("inputs")
    csv_path, zip_path = make_dataset(directory, train_per_class=20, test_per_class=5)
    return write_config(directory), csv_path, zip_path


def run(inputs, out, *extra):
    config, csv_path, zip_path = inputs
    return main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(zip_path),
                 "--output_directory", str(out), *extra])


def test_experiment_end_to_end_and_reproducible(inputs, tmp_path):
    assert run(inputs, tmp_path / "a", "--random_seed", "7") == 0
    out = tmp_path / "a"
    for name in RESULT_FILES:
        assert (out / name).is_file(), name
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no staging/work leftovers

    predictions = pd.read_csv(out / "experiment_run/predictions.csv", dtype=str)
    assert list(predictions.columns[:5]) == ["image_path", "label", "split", "label_predictions", "label_probability"]
    assert sorted(c for c in predictions.columns if c.startswith("label_probabilities_")) == [
        "label_probabilities_T-shirt/top", "label_probabilities_cat", "label_probabilities_dog"]
    assert len(predictions) == 15 and set(predictions["split"]) == {"2"}

    stats = json.loads((out / "experiment_run/test_statistics.json").read_text())
    label = stats["label"]
    assert len(label["confusion_matrix"]) == 3 and sum(map(sum, label["confusion_matrix"])) == 15
    assert set(label["per_class_stats"]) == {"T-shirt/top", "cat", "dog"}
    assert abs(label["accuracy_micro"] - (predictions["label"] == predictions["label_predictions"]).mean()) < 1e-9

    training = json.loads((out / "experiment_run/training_statistics.json").read_text())
    assert len(training["validation"]["label"]["accuracy"]) == 2  # one value per epoch
    metadata = json.loads((out / "experiment_run/model/training_set_metadata.json").read_text())
    assert metadata["label"]["idx2str"] == ["T-shirt/top", "cat", "dog"]
    assert metadata["image_path"]["preprocessing"] == {"height": 12, "width": 12, "num_channels": 1,
                                                       "resize_method": "interpolate"}
    description = json.loads((out / "experiment_run/description.json").read_text())
    assert description["random_seed"] == 7 and description["config"]["trainer"]["epochs"] == 2

    assert run(inputs, tmp_path / "b", "--random_seed", "7") == 0
    assert (tmp_path / "b/experiment_run/test_statistics.json").read_text() == \
        (out / "experiment_run/test_statistics.json").read_text()


def test_saved_weights_reload_to_the_same_predictions(inputs, tmp_path):
    from ludwig_mnist.artifacts.model_dir import load_model_dir
    from ludwig_mnist.data.archive import extract_archive
    from ludwig_mnist.data.images import ImageSpec, decode_images
    from ludwig_mnist.data.locate import locate_images

    assert run(inputs, tmp_path / "out") == 0
    saved = load_model_dir(tmp_path / "out/experiment_run/model")
    metadata, model = saved.metadata, saved.model
    predictions = pd.read_csv(tmp_path / "out/experiment_run/predictions.csv", dtype=str)
    extracted = extract_archive(inputs[2], tmp_path / "x")
    paths = locate_images(extracted, list(predictions["image_path"]))
    images, _ = decode_images(paths, ImageSpec(12, 12, 1))
    probabilities = model.predict(images, verbose=0)
    predicted = [metadata.class_names[i] for i in probabilities.argmax(axis=1)]
    assert predicted == list(predictions["label_predictions"])


def cli(*args):
    return subprocess.run([sys.executable, "-m", "ludwig_mnist.cli", *map(str, args)], capture_output=True, text=True)


def test_bad_config_key_exits_2_with_one_line_and_writes_nothing(inputs, tmp_path):
    config, csv_path, zip_path = inputs
    bad = tmp_path / "bad.yaml"
    bad.write_text(config.read_text().replace("batch_size", "batch_sise"))
    out = tmp_path / "out"
    result = cli("experiment", "--config", bad, "--dataset", csv_path, "--raw_data", zip_path,
                 "--output_directory", out)
    assert result.returncode == 2
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error_lines == ["error: bad.yaml: unknown config key 'trainer.batch_sise'; did you mean 'batch_size'?"]
    assert not out.exists()


def test_missing_image_fails_without_results(inputs, tmp_path):
    config, csv_path, zip_path = inputs
    broken = tmp_path / "broken.csv"
    table = pd.read_csv(csv_path)
    table.loc[3, "image_path"] = "training/cat/nope.png"
    table.to_csv(broken, index=False)
    out = tmp_path / "out"
    result = cli("experiment", "--config", config, "--dataset", broken, "--raw_data", zip_path,
                 "--output_directory", out)
    assert result.returncode == 2
    assert "training/cat/nope.png" in result.stderr
    assert list(out.iterdir()) == []  # nothing that looks like a result, no scratch left


def test_output_directory_not_writable(inputs, tmp_path):
    config, csv_path, zip_path = inputs
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = cli("experiment", "--config", config, "--dataset", csv_path, "--raw_data", zip_path,
                 "--output_directory", blocker / "out")
    assert result.returncode == 2 and "error: output directory" in result.stderr and "not writable" in result.stderr


def test_disable_parallel_threads_grants_one_core_before_the_pipeline_runs(inputs, tmp_path, monkeypatch):
    """Galaxy-Ludwig's --disable_parallel_threads: the pipeline starts with one granted core (GALAXY_SLOTS=1)."""
    import os

    from ludwig_mnist.pipelines import experiment

    seen = []
    monkeypatch.setenv("GALAXY_SLOTS", "4")
    monkeypatch.setattr(experiment, "run_experiment", lambda config, options, log: seen.append(os.environ["GALAXY_SLOTS"]))
    assert run(inputs, tmp_path / "out", "--disable_parallel_threads") == 0
    assert seen == ["1"]
    seen.clear()
    monkeypatch.setenv("GALAXY_SLOTS", "4")
    assert run(inputs, tmp_path / "out2") == 0
    assert seen == ["4"]
