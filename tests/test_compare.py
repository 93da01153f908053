"""`compare`: grids and Ludwig hyperopt sections expand into validated configurations; the best is picked."""

import json

import pytest
import yaml
from synthetic import TINY_CONFIG, make_dataset, write_config

from ludwig_mnist.config.hyperopt import (
    Selection,
    combinations,
    grid_from_hyperopt,
    set_path,
)
from ludwig_mnist.errors import ConfigError


def base():
    return yaml.safe_load(TINY_CONFIG)


def test_set_path_indexes_lists_and_copies():
    raw = base()
    changed = set_path(raw, "input_features.0.encoder.type", "mlp")
    assert changed["input_features"][0]["encoder"]["type"] == "mlp"
    assert raw["input_features"][0]["encoder"]["type"] == "stacked_cnn"
    with pytest.raises(ConfigError, match="not an index"):
        set_path(raw, "input_features.3.encoder.type", "mlp")


def test_grid_expands_every_combination_and_switches_encoders_cleanly():
    combos = combinations(base(), {"trainer.learning_rate": [0.01, 0.001],
                                   "input_features.0.encoder.type": ["stacked_cnn", "mlp"]})
    assert [c.parameters for c in combos] == [
        {"trainer.learning_rate": 0.01, "input_features.0.encoder.type": "stacked_cnn"},
        {"trainer.learning_rate": 0.01, "input_features.0.encoder.type": "mlp"},
        {"trainer.learning_rate": 0.001, "input_features.0.encoder.type": "stacked_cnn"},
        {"trainer.learning_rate": 0.001, "input_features.0.encoder.type": "mlp"}]
    mlp_encoder = combos[1].raw["input_features"][0]["encoder"]
    assert combos[1].config.input_feature.encoder.type == "mlp"
    assert "conv_layers" not in mlp_encoder  # the CNN's layers do not leak into the MLP


def test_bad_combination_names_itself():
    with pytest.raises(ConfigError, match=r"grid combination \(trainer.epochs=-1\).*'trainer.epochs'"):
        combinations(base(), {"trainer.epochs": [2, -1]})


def test_ludwig_hyperopt_section_is_a_grid():
    grid, selection = grid_from_hyperopt({
        "goal": "maximize", "metric": "accuracy", "split": "validation",
        "parameters": {"trainer.learning_rate": {"space": "choice", "categories": [0.1, 0.01]},
                       "image_path.encoder.type": {"space": "grid_search", "values": ["stacked_cnn", "mlp"]}}})
    assert grid == {"trainer.learning_rate": [0.1, 0.01], "image_path.encoder.type": ["stacked_cnn", "mlp"]}
    assert selection == Selection("accuracy", "validation", "maximize")
    combos = combinations(base(), grid)  # feature names map to input_features.N
    assert combos[1].raw["input_features"][0]["encoder"]["type"] == "mlp"
    with pytest.raises(ConfigError, match="only 'space: choice'"):
        grid_from_hyperopt({"parameters": {"trainer.learning_rate": {"space": "loguniform", "lower": 1e-4}}})


def test_compare_runs_the_grid_and_keeps_the_best_model(tmp_path):
    from ludwig_mnist.cli import main

    csv_path, zip_path = make_dataset(tmp_path / "in", train_per_class=10, test_per_class=4)
    config = write_config(tmp_path / "in", TINY_CONFIG.replace("epochs: 2", "epochs: 1"))
    grid = tmp_path / "grid.yaml"
    grid.write_text("trainer.learning_rate: [0.01, 0.0001]\n")
    out = tmp_path / "out"
    assert main(["compare", "--config", str(config), "--grid", str(grid), "--dataset", str(csv_path),
                 "--raw_data", str(zip_path), "--output_directory", str(out), "--metric", "accuracy_micro",
                 "--goal", "maximize"]) == 0
    rows = (out / "comparison.tsv").read_text().splitlines()
    assert rows[0].startswith("rank\tconfiguration\ttrainer.learning_rate\tvalidation_accuracy_micro")
    assert len(rows) == 3 and sum(line.endswith("\tyes") for line in rows[1:]) == 1
    for name in ("01", "02"):
        assert (out / "runs" / name / "experiment_run" / "test_statistics.json").is_file()
    assert sorted(p.name for p in (out / "best_model").iterdir()) == sorted(
        ["model_hyperparameters.json", "model_weights", "training_set_metadata.json", "training_progress.json"])
    html = (out / "ludwig_compare_report.html").read_text()
    assert "trainer.learning_rate" in html and "(best)" in html
    assert (out / "comparison_plots" / "comparison_learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_command_line_choices_override_one_field_at_a_time():
    from ludwig_mnist.config.hyperopt import resolve_selection

    config_choice = Selection("accuracy", "test", "maximize")
    assert resolve_selection(config_choice, None, "validation", None) == Selection("accuracy", "validation", "maximize")
    assert resolve_selection(config_choice, "loss", None, None) == Selection("loss", "test", "minimize")
    assert resolve_selection(Selection(), None, None, None) == Selection("loss", "validation", "minimize")


def test_compare_prepares_the_data_once_per_preprocessing(tmp_path, capsys):
    from ludwig_mnist.cli import main

    csv_path, zip_path = make_dataset(tmp_path / "in", train_per_class=6, test_per_class=2)
    # Ludwig refuses a height without a width, so the config fixes the width and the grid varies the height
    config = write_config(tmp_path / "in", TINY_CONFIG.replace("epochs: 2", "epochs: 1").replace(
        "    type: image\n", "    type: image\n    preprocessing: {width: 12}\n"))
    grid = tmp_path / "grid.yaml"
    # 2 learning rates x 2 image heights: each height needs its own decode, the rates share it
    grid.write_text("trainer.learning_rate: [0.01, 0.001]\ninput_features.0.preprocessing.height: [12, 10]\n")
    assert main(["compare", "--config", str(config), "--grid", str(grid), "--dataset", str(csv_path),
                 "--raw_data", str(zip_path), "--output_directory", str(tmp_path / "out")]) == 0
    log = capsys.readouterr().out
    assert log.count("\narchive: ") + log.startswith("archive: ") == 2
    assert log.count("decoded 24 images to 12x12x1") == 1 and log.count("decoded 24 images to 10x12x1") == 1
    assert log.count("prepared for an earlier configuration") == 2
    shapes = {json.loads((tmp_path / "out/runs" / name / "experiment_run/model/training_set_metadata.json")
                         .read_text())["image_path"]["preprocessing"]["height"] for name in ("01", "02", "03", "04")}
    assert shapes == {12, 10}
    assert not [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
