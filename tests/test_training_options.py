"""Training options end to end on tiny data: other networks, MSE/sigmoid output, augmentation,
learning-rate schedules, regularization, class weights and TensorBoard logs."""

import json

import pytest
from synthetic import make_dataset
from synthetic import run_experiment_with as run_with



@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("data"), train_per_class=12, test_per_class=4, size=12)


def encoder(spec):
    def edit(raw):
        raw["input_features"][0]["encoder"] = spec
    return edit


@pytest.mark.parametrize("spec", [{"type": "mlp", "num_fc_layers": 1, "output_size": 16},
                                  {"type": "lenet"}])
def test_other_networks_train(tmp_path, data, spec):
    code, out = run_with(tmp_path, data, encoder(spec))
    assert code == 0
    hyper = json.loads((out / "experiment_run/model/model_hyperparameters.json").read_text())
    assert hyper["input_features"][0]["encoder"]["type"] == spec["type"]
    if spec["type"] == "lenet":
        description = json.loads((out / "experiment_run/description.json").read_text())
        assert any("zero-padded the 12x12 images to 32x32" in n for n in description["data"]["notes"])
        assert "zero-padded" in (out / "ludwig_experiment_report.html").read_text()


def test_mse_with_sigmoid_outputs_gives_probabilities(tmp_path, data):
    def edit(raw):
        raw["output_features"][0]["loss"] = {"type": "mean_squared_error"}
    code, out = run_with(tmp_path, data, edit)
    assert code == 0
    import pandas as pd
    predictions = pd.read_csv(out / "experiment_run/predictions.csv")
    columns = [c for c in predictions.columns if c.startswith("label_probabilities_")]
    assert (predictions[columns].sum(axis=1) - 1).abs().max() < 1e-4


def test_schedule_regularization_augmentation_class_weights_and_tensorboard(tmp_path, data):
    def edit(raw):
        raw["trainer"].update({"epochs": 3, "learning_rate_scheduler": {"decay": "linear", "warmup_fraction": 0.2},
                               "regularization_lambda": 0.001, "regularization_type": "l2"})
        raw["input_features"][0]["augmentation"] = [{"type": "random_rotate", "degree": 10},
                                                    {"type": "random_contrast"}]
        raw["output_features"][0]["loss"] = {"class_weights": {"cat": 2.0}}
    code, out = run_with(tmp_path, data, edit, "--tensorboard")
    assert code == 0
    progress = json.loads((out / "experiment_run/model/training_progress.json").read_text())
    rates = progress["learning_rate_per_epoch"]
    assert progress["learning_rate"] == rates[-1] and progress["batch_size"] == 16  # Ludwig's scalars
    assert [triple[0] for triple in progress["validation_metrics"]["label"]["loss"]] == [1, 2, 3]
    assert len(rates) == 3 and rates[-1] < rates[0]  # linear decay after warmup (Ludwig's cosine restarts every epoch)
    events = list((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert {p.parent.name for p in events} >= {"train", "validation"}


def test_unknown_class_weight_is_named(tmp_path, data, capsys):
    def edit(raw):
        raw["output_features"][0]["loss"] = {"class_weights": {"horse": 2.0, "cat": 3.0}}
    code, out = run_with(tmp_path, data, edit)
    assert code == 2 and not (out / "experiment_run").exists()
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1  # one line naming the key, the unknown class and the classes there are
    assert errors[0].startswith("error: config key 'output_features.0.loss.class_weights': unknown classes 'horse';")
    assert "'cat'" not in errors[0].split(";")[0]  # a known class is not reported as unknown
    assert all(f"'{name}'" in errors[0].split("classes are", 1)[1] for name in ("cat", "dog", "T-shirt/top"))


def test_fine_tune_and_resume_from_a_saved_model(tmp_path, data):
    first_code, first = run_with(tmp_path / "a", data, lambda raw: None)
    assert first_code == 0
    model_dir = first / "experiment_run/model"

    def more_epochs(raw):
        raw["trainer"]["epochs"] = 4
    code, resumed = run_with(tmp_path / "b", data, more_epochs, "--model_resume_path", str(model_dir))
    assert code == 0
    progress = json.loads((resumed / "experiment_run/model/training_progress.json").read_text())
    assert progress["epoch"] == 4 and progress["epochs_in_this_run"] == 2  # epochs 3 and 4 ran
    code, tuned = run_with(tmp_path / "c", data, lambda raw: None, "--model_load_path", str(model_dir))
    assert code == 0
    description = json.loads((tuned / "experiment_run/description.json").read_text())
    assert any("fine-tuned from the weights" in note for note in description["data"]["notes"])

    code, _ = run_with(tmp_path / "d", data, encoder({"type": "mlp"}), "--model_load_path", str(model_dir))
    assert code == 2  # another network: refused
    code, _ = run_with(tmp_path / "e", data, lambda raw: None, "--model_resume_path", str(model_dir))
    assert code == 2  # already ran 2 of 2 epochs
