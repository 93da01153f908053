"""`ludwig-mnist predict` on a model trained once per module: same predictions as the experiment, labels
optional, unseen labels counted, other image sizes converted, bad models and datasets → exit 2."""

import json
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from synthetic import TINY_CONFIG, class_image, make_dataset, write_config

from ludwig_mnist.cli import main

pytestmark = pytest.mark.slow
CLASSES = ["T-shirt/top", "cat", "dog"]  # vocabulary order
BANDS = ["cat", "dog", "T-shirt/top"]  # make_dataset's default classes: class k is bright in band k
# Long enough to classify the stripes right, so that a preprocessing mistake shows as a wrong class.
CONFIG = TINY_CONFIG.replace("epochs: 2", "epochs: 12\n  learning_rate: 0.01")
PROBABILITY_COLUMNS = [f"label_probabilities_{name}" for name in CLASSES]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train the tiny model once; returns (inputs directory, experiment output directory)."""
    directory = tmp_path_factory.mktemp("predict")
    csv_path, zip_path = make_dataset(directory / "inputs", train_per_class=20, test_per_class=5)
    config = write_config(directory / "inputs", CONFIG)
    out = directory / "experiment"
    assert main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(zip_path),
                 "--output_directory", str(out)]) == 0
    return directory / "inputs", out


@pytest.fixture
def model_dir(trained):
    return trained[1] / "experiment_run" / "model"


@pytest.fixture
def test_rows(trained):
    """The experiment's test rows (image_path, label, split), as strings."""
    table = pd.read_csv(trained[0] / "dataset.csv", dtype=str)
    return table[table["split"] == "2"].reset_index(drop=True)


def predict(model_dir, dataset, out, *extra):
    return main(["predict", "--model_path", str(model_dir), "--dataset", str(dataset),
                 "--output_directory", str(out), *map(str, extra)])


def read_predictions(out):
    return pd.read_csv(out / "predictions.csv", dtype=str, keep_default_na=False)


def error_lines(captured):
    return [line for line in captured.err.splitlines() if line.startswith("error:")]


def test_predictions_and_statistics_equal_the_experiments(trained, model_dir, test_rows, tmp_path, capsys):
    inputs, experiment = trained
    dataset = tmp_path / "test_rows.csv"
    test_rows.to_csv(dataset, index=False)
    out = tmp_path / "out"
    # hyphenated aliases, like the experiment subcommand
    assert main(["predict", "--model-path", str(model_dir), "--dataset", str(dataset),
                 "--raw-data", str(inputs / "images.zip"), "--output-directory", str(out),
                 "--batch-size", "4"]) == 0
    log = capsys.readouterr().out
    assert "images/s, batch size 4" in log

    ours, theirs = read_predictions(out), read_predictions(experiment / "experiment_run")
    assert list(ours.columns) == list(theirs.columns)
    assert list(ours.columns[:5]) == ["image_path", "label", "split", "label_predictions", "label_probability"]
    text_columns = ["image_path", "label", "split", "label_predictions"]
    pd.testing.assert_frame_equal(ours[text_columns], theirs[text_columns])
    probabilities = ["label_probability", *PROBABILITY_COLUMNS]
    np.testing.assert_allclose(ours[probabilities].astype(float), theirs[probabilities].astype(float), atol=2e-6)

    ours = json.loads((out / "test_statistics.json").read_text())
    theirs = json.loads((experiment / "experiment_run/test_statistics.json").read_text())
    assert ours["label"]["confusion_matrix"] == theirs["label"]["confusion_matrix"]
    assert sum(map(sum, ours["label"]["confusion_matrix"])) == 15
    for key in ("accuracy", "accuracy_micro", "hits_at_k", "loss", "roc_auc"):
        assert ours["label"][key] == pytest.approx(theirs["label"][key], abs=1e-5), key
    assert ours["combined"]["loss"] == ours["label"]["loss"]

    html = (out / "ludwig_predict_report.html").read_text()
    assert "Confusion matrix" in html and "T-shirt/top" in html
    assert (out / "metrics.tsv").read_text().splitlines()[1].startswith("labelled\t")
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no staging/work leftovers


def test_unlabelled_csv_next_to_its_images(trained, model_dir, test_rows, tmp_path, capsys):
    """Only the image column; no --raw_data, so paths are relative to the CSV's folder."""
    folder = tmp_path / "data"
    with zipfile.ZipFile(trained[0] / "images.zip") as archive:
        archive.extractall(folder)
    test_rows[["image_path"]].to_csv(folder / "unlabelled.csv", index=False)
    out = tmp_path / "out"
    assert predict(model_dir, folder / "unlabelled.csv", out) == 0

    predictions = read_predictions(out)
    assert list(predictions.columns) == ["image_path", "label_predictions", "label_probability",
                                         *PROBABILITY_COLUMNS]
    expected = read_predictions(trained[1] / "experiment_run")
    assert list(predictions["label_predictions"]) == list(expected["label_predictions"])
    assert sorted(p.name for p in out.iterdir()) == ["predictions.csv"]  # no statistics, no report


def test_unseen_and_empty_labels(trained, model_dir, test_rows, tmp_path, capsys):
    table = test_rows.copy()
    table.loc[[0, 6], "label"] = "bird"
    table.loc[3, "label"] = ""
    dataset = tmp_path / "odd_labels.csv"
    table.to_csv(dataset, index=False)
    out = tmp_path / "out"
    assert predict(model_dir, dataset, out, "--raw_data", trained[0] / "images.zip") == 0
    log = capsys.readouterr().out

    assert len(read_predictions(out)) == 15  # every row is predicted, labelled or not
    label = json.loads((out / "test_statistics.json").read_text())["label"]
    assert label["overall_stats"]["unseen_label_count"] == 2
    assert sum(map(sum, label["confusion_matrix"])) == 12  # 14 labelled rows, 2 of them unseen
    assert label["accuracy_micro"] <= 12 / 14
    assert "note: 2 rows have a 'label' the model never saw in training: 'bird' (2)" in log
    assert "note: 1 row with an empty 'label' is predicted but left out of the statistics" in log
    html = (out / "ludwig_predict_report.html").read_text()
    assert "&#39;bird&#39; (2)" in html or "'bird' (2)" in html


def test_label_column_empty_everywhere_means_unlabelled(trained, model_dir, test_rows, tmp_path, capsys):
    table = test_rows.assign(label="")
    table.to_csv(tmp_path / "blank.csv", index=False)
    out = tmp_path / "out"
    assert predict(model_dir, tmp_path / "blank.csv", out, "--raw_data", trained[0] / "images.zip") == 0
    assert "column 'label' is empty in every row" in capsys.readouterr().out
    assert not (out / "test_statistics.json").exists() and not (out / "ludwig_predict_report.html").exists()
    assert list(read_predictions(out).columns[:3]) == ["image_path", "label", "split"]


def test_other_size_and_channels_are_converted_with_a_note(model_dir, tmp_path, capsys):
    """RGB 20x20 images for a 12x12 grayscale model."""
    rng = np.random.default_rng(5)
    rows = []
    for index, name in enumerate(BANDS):
        gray = Image.fromarray(class_image(index, len(BANDS), 12, rng)).resize((20, 20), Image.Resampling.NEAREST)
        path = tmp_path / "rgb" / f"{index}.png"
        path.parent.mkdir(exist_ok=True)
        gray.convert("RGB").save(path)
        rows.append((f"rgb/{index}.png", name))
    pd.DataFrame(rows, columns=["image_path", "label"]).to_csv(tmp_path / "rgb.csv", index=False)
    out = tmp_path / "out"
    assert predict(model_dir, tmp_path / "rgb.csv", out) == 0
    log = capsys.readouterr().out
    assert "note: converted 3 images from RGB to L" in log
    assert "note: resized 3 of 3 images to 12x12 (interpolate)" in log
    predictions = read_predictions(out)
    assert list(predictions["label_predictions"]) == BANDS  # the conversion kept what the model looks at
    assert "resized 3 of 3 images" in (out / "ludwig_predict_report.html").read_text()


@pytest.mark.parametrize("part", ["training_set_metadata.json", "model_weights"])
def test_model_dir_missing_a_part(model_dir, test_rows, tmp_path, capsys, part):
    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    (broken / part).unlink()
    test_rows.to_csv(tmp_path / "rows.csv", index=False)
    assert predict(broken, tmp_path / "rows.csv", tmp_path / "out") == 2
    lines = error_lines(capsys.readouterr())
    assert len(lines) == 1 and f"missing {part}" in lines[0]
    assert not (tmp_path / "out").exists()


def test_model_from_another_format_version(model_dir, test_rows, tmp_path, capsys):
    other = tmp_path / "model"
    shutil.copytree(model_dir, other)
    hyper = json.loads((other / "model_hyperparameters.json").read_text())
    hyper["ludwig_mnist_model_format"] = 99
    (other / "model_hyperparameters.json").write_text(json.dumps(hyper))
    test_rows.to_csv(tmp_path / "rows.csv", index=False)
    assert predict(other, tmp_path / "rows.csv", tmp_path / "out") == 2
    (line,) = error_lines(capsys.readouterr())
    assert "model format 99" in line and "Retrain the model" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content", ["", "image_path,label,split\n"], ids=["empty", "header_only"])
def test_empty_csv(model_dir, tmp_path, capsys, content):
    (tmp_path / "empty.csv").write_text(content)
    assert predict(model_dir, tmp_path / "empty.csv", tmp_path / "out") == 2
    (line,) = error_lines(capsys.readouterr())
    assert "empty.csv" in line and ("is empty" in line or "no rows" in line)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad_path", ["/etc/passwd", "../secret.png", "rgb/../../secret.png"])
def test_image_paths_must_stay_inside_the_csv_folder(model_dir, tmp_path, capsys, bad_path):
    (tmp_path / "secret.png").write_bytes(b"")
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame({"image_path": [bad_path]}).to_csv(folder / "rows.csv", index=False)
    out = tmp_path / "out"
    assert predict(model_dir, folder / "rows.csv", out) == 2
    (line,) = error_lines(capsys.readouterr())
    assert repr(bad_path) in line and ("absolute" in line or "outside" in line)
    assert list(out.iterdir()) == []


def test_missing_image_column_and_missing_image(model_dir, test_rows, tmp_path, capsys):
    test_rows.rename(columns={"image_path": "image"}).to_csv(tmp_path / "renamed.csv", index=False)
    assert predict(model_dir, tmp_path / "renamed.csv", tmp_path / "out") == 2
    (line,) = error_lines(capsys.readouterr())
    assert "no column 'image_path'" in line and "did you mean 'image'?" in line

    test_rows.to_csv(tmp_path / "rows.csv", index=False)  # paths relative to the zip, but no --raw_data given
    assert predict(model_dir, tmp_path / "rows.csv", tmp_path / "out2") == 2
    (line,) = error_lines(capsys.readouterr())
    assert "15 of 15 image paths in rows.csv do not exist" in line and "--raw_data" in line
    assert list((tmp_path / "out2").iterdir()) == []


def test_predict_streams_when_the_model_says_in_memory_false(trained, model_dir, test_rows, tmp_path, capsys):
    """The model's own preprocessing is applied, in_memory included: the images go through the disk cache."""
    inputs, _ = trained
    streamed_model = tmp_path / "model"
    shutil.copytree(model_dir, streamed_model)
    hyper_path = streamed_model / "model_hyperparameters.json"
    hyper = json.loads(hyper_path.read_text())
    hyper["input_features"][0]["preprocessing"]["in_memory"] = False
    hyper_path.write_text(json.dumps(hyper))
    dataset = tmp_path / "test_rows.csv"
    test_rows.to_csv(dataset, index=False)
    assert predict(model_dir, dataset, tmp_path / "memory", "--raw_data", inputs / "images.zip") == 0
    assert "on-disk cache" not in capsys.readouterr().out
    assert predict(streamed_model, dataset, tmp_path / "streamed", "--raw_data", inputs / "images.zip") == 0
    assert "into an on-disk cache (in_memory: false)" in capsys.readouterr().out
    pd.testing.assert_frame_equal(read_predictions(tmp_path / "streamed"), read_predictions(tmp_path / "memory"))
    assert (tmp_path / "streamed/ludwig_predict_report.html").is_file()
    assert not [p.name for p in (tmp_path / "streamed").iterdir() if p.name.startswith(".")]
