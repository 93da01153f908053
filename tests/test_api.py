"""The Ludwig-shaped Python API: experiment/train/predict/evaluate/load/save return what Ludwig's return, on
tiny generated images; bad arguments are refused with a UserInputError before anything is written."""

import json
import logging
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import yaml
from synthetic import TINY_CONFIG, make_dataset

from ludwig_mnist.api import LudwigModel, TrainingStats
from ludwig_mnist.errors import DataError, ModelError, UserInputError

CLASSES = ["T-shirt/top", "cat", "dog"]  # Ludwig's vocabulary order (equal frequencies: alphabetical)
CONFIG = yaml.safe_load(TINY_CONFIG.replace("epochs: 2", "epochs: 10\n  learning_rate: 0.01"))
PREDICTION_COLUMNS = (["label_predictions", "label_probabilities", "label_probability"]
                      + [f"label_probabilities_{name}" for name in CLASSES])


def image_folder(directory):
    """dataset.csv with image paths relative to its folder, the images extracted beside it (Ludwig's layout)."""
    csv_path, zip_path = make_dataset(directory, train_per_class=20, test_per_class=5)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(directory)
    zip_path.unlink()
    return csv_path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One experiment for the module: (model, its return value, dataset CSV, output parent)."""
    directory = tmp_path_factory.mktemp("api")
    csv_path = image_folder(directory / "inputs")
    model = LudwigModel(CONFIG)
    returned = model.experiment(dataset=str(csv_path), output_directory=str(directory / "results"))
    return model, returned, csv_path, directory / "results"


@pytest.mark.slow
def test_experiment_returns_ludwigs_four_values(trained):
    model, (test_stats, train_stats, preprocessed, output_directory), _, results = trained
    assert output_directory == str(results / "experiment_run")  # Ludwig's <experiment_name>_<model_name>
    run = results / "experiment_run"
    assert test_stats == json.loads((run / "test_statistics.json").read_text())
    assert set(test_stats) == {"combined", "label"}
    assert test_stats["label"]["accuracy"] == 1.0  # the stripes are learnt
    assert isinstance(train_stats, TrainingStats)
    assert len(train_stats.training["label"]["loss"]) == 10  # one value per epoch
    assert train_stats["test"]["combined"]["loss"] == train_stats.test["combined"]["loss"]
    assert preprocessed.training_set_metadata["label"]["idx2str"] == CLASSES
    assert {p.name for p in run.iterdir()} >= {"model", "description.json", "training_statistics.json",
                                                "predictions.csv", "ludwig_experiment_report.html", "plots"}
    assert not [p for p in results.iterdir() if p.name.startswith(".")]  # no scratch left behind
    assert model.config["trainer"]["epochs"] == 10  # the resolved config, defaults explicit
    assert "optimizer" in model.config["trainer"]


@pytest.mark.slow
def test_predict_dataframe_of_absolute_paths(trained, tmp_path):
    model, _, csv_path, _ = trained
    frame = pd.read_csv(csv_path, dtype=str)
    test = frame[frame["split"] == "2"].reset_index(drop=True)
    given = pd.DataFrame({"image_path": [str(csv_path.parent / p) for p in test["image_path"]]})
    predictions, _ = model.predict(dataset=given, output_directory=str(tmp_path / "p"))
    assert list(predictions.columns) == PREDICTION_COLUMNS
    assert len(predictions) == len(test) == 15
    assert list(predictions["label_predictions"]) == list(test["label"])
    probabilities = np.stack(predictions["label_probabilities"])  # (15, 3), one row per image
    assert probabilities.shape == (15, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(predictions["label_probability"], probabilities.max(axis=1))
    assert not (tmp_path / "p" / "predictions.csv").exists()  # skip_save_predictions=True, Ludwig's default
    model.predict(dataset=given, output_directory=str(tmp_path / "p"), skip_save_predictions=False)
    assert len(pd.read_csv(tmp_path / "p" / "predictions.csv")) == 15


@pytest.mark.slow
def test_evaluate_collects_as_ludwig(trained, tmp_path):
    model, (test_stats, *_), csv_path, _ = trained
    frame = pd.read_csv(csv_path, dtype=str)
    test = frame[frame["split"] == "2"]
    test = test.assign(image_path=[str(csv_path.parent / p) for p in test["image_path"]])
    stats, predictions, _ = model.evaluate(dataset=test, output_directory=str(tmp_path / "e"))
    assert predictions == {}  # Ludwig returns no predictions unless collected
    assert "confusion_matrix" not in stats["label"]
    assert stats["label"]["accuracy"] == test_stats["label"]["accuracy"]
    stats, predictions, _ = model.evaluate(dataset=test, collect_predictions=True, collect_overall_stats=True,
                                           output_directory=str(tmp_path / "e"))
    assert np.trace(np.array(stats["label"]["confusion_matrix"])) == 15
    assert list(predictions.columns) == PREDICTION_COLUMNS
    assert not (tmp_path / "e" / "test_statistics.json").exists()  # skip_save_eval_stats=True by default
    with pytest.raises(DataError, match="no labels in column 'label'; use predict"):
        model.evaluate(dataset=test.drop(columns="label"), output_directory=str(tmp_path / "e"))
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == []  # nothing kept, scratch removed


@pytest.mark.slow
def test_load_and_save_round_trip(trained, tmp_path):
    model, _, csv_path, _ = trained
    first, _ = model.predict(dataset=str(csv_path), output_directory=str(tmp_path / "a"))
    model.save(tmp_path / "saved")
    loaded = LudwigModel.load(tmp_path / "saved")
    again, _ = loaded.predict(dataset=str(csv_path), output_directory=str(tmp_path / "b"))
    pd.testing.assert_frame_equal(first.drop(columns="label_probabilities"),
                                  again.drop(columns="label_probabilities"))
    assert loaded.config == model.config


@pytest.mark.slow
def test_resume_from_a_run_folder(trained, tmp_path):
    _, (*_, output_directory), csv_path, _ = trained
    config = {**CONFIG, "trainer": {**CONFIG["trainer"], "epochs": 11}}
    LudwigModel(config).train(dataset=str(csv_path), model_resume_path=output_directory,  # Ludwig's run folder
                              output_directory=str(tmp_path))
    notes = json.loads((tmp_path / "api_experiment_run" / "description.json").read_text())["data"]["notes"]
    assert any("resumed the model in model after its epoch 10" in note for note in notes)


@pytest.mark.slow
def test_train_on_given_sets_and_suffixed_directory(tmp_path):
    csv_path = image_folder(tmp_path / "inputs")
    frame = pd.read_csv(csv_path, dtype=str)
    frame["image_path"] = [str(csv_path.parent / p) for p in frame["image_path"]]
    sets = {"training_set": frame[frame["split"] == "0"].drop(columns="split"),
            "test_set": frame[frame["split"] == "2"].drop(columns="split")}
    config = {**CONFIG, "preprocessing": {"split": {"type": "random", "probabilities": [0.5, 0.25, 0.25]}}}
    results = tmp_path / "results"
    (results / "api_experiment_run").mkdir(parents=True)  # taken: Ludwig adds a suffix
    *_, output_directory = LudwigModel(config).train(**sets, output_directory=str(results),
                                                     skip_save_training_statistics=True)
    assert output_directory == str(results / "api_experiment_run_0")
    assert not (results / "api_experiment_run_0" / "training_statistics.json").exists()  # honoured
    description = json.loads((results / "api_experiment_run_0" / "description.json").read_text())
    # the given sets replace the config's random split: 60 training rows (10% carved for validation), 15 test
    assert description["data"]["split_counts"]["test"] == 15
    assert sum(description["data"]["split_counts"].values()) == 75


def test_bad_arguments_are_refused_with_a_reason(tmp_path):
    with pytest.raises(UserInputError, match="backend 'ray' is not supported"):
        LudwigModel(CONFIG, backend="ray")
    with pytest.raises(UserInputError, match="CUDA_VISIBLE_DEVICES"):
        LudwigModel(CONFIG, gpus=[0])
    with pytest.raises(UserInputError, match="callbacks"):
        LudwigModel(CONFIG, callbacks=[object()])
    model = LudwigModel(CONFIG, backend={"type": "local"})
    with pytest.raises(UserInputError, match="unsupported argument.*learning_rate"):
        model.train(dataset="x.csv", learning_rate=0.1)
    with pytest.raises(UserInputError, match="skip_save_model=True"):
        model.train(dataset="x.csv", skip_save_model=True)
    with pytest.raises(UserInputError, match="eval_split 'all': choose training, validation, test or full"):
        model.experiment(dataset="x.csv", eval_split="all")
    with pytest.raises(UserInputError, match="either dataset or training_set"):
        model.train(dataset="x.csv", training_set="y.csv")
    with pytest.raises(ModelError, match="no trained model"):
        model.predict(dataset="x.csv")
    assert not any(tmp_path.iterdir())


def test_missing_image_names_its_row(tmp_path):
    frame = pd.DataFrame({"image_path": ["a.png", "missing.png"], "label": ["x", "y"], "split": ["0", "2"]})
    (tmp_path / "a.png").write_bytes(b"")
    frame.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match=r"d.csv line 3: image 'missing.png' does not exist .*folder"):
        LudwigModel(CONFIG).train(dataset=str(tmp_path / "d.csv"), output_directory=str(tmp_path / "r"))
    assert [p.name for p in (tmp_path / "r").iterdir()] == []  # the scratch folder is gone


def test_config_errors_surface_at_construction(tmp_path):
    with pytest.raises(UserInputError, match="trainer"):
        LudwigModel({**CONFIG, "trainer": {"epochz": 3}})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    assert LudwigModel(str(path)).config == LudwigModel(CONFIG).config


def test_no_effect_arguments_are_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="ludwig_mnist"):
        LudwigModel(CONFIG, allow_parallel_threads=False, logging_level=logging.WARNING)
    assert "allow_parallel_threads=False has no effect" in caplog.text


def test_import_stays_light():
    code = ("import sys, ludwig_mnist, ludwig_mnist.api; assert ludwig_mnist.LudwigModel is ludwig_mnist.api."
            "LudwigModel; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
