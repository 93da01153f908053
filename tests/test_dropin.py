"""Galaxy-Ludwig drop-in: Ludwig's pre-split tables and training_set_metadata, eval_split full, no archive,
and the tools' Galaxy-Ludwig parameter and output names.  No training here (the data stage and the CLI's
refusals, which exit before TensorFlow is imported); the Galaxy tool tests train."""

from __future__ import annotations

import json
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
import yaml
from synthetic import TINY_CONFIG, make_dataset

from ludwig_mnist.cli import main
from ludwig_mnist.config.load import parse_config
from ludwig_mnist.data.prepare import prepare_data
from ludwig_mnist.errors import DataError
from ludwig_mnist.options import DataOptions, RunOptions

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS = REPO_ROOT / "tools"
TUTORIAL = REPO_ROOT / "workflows" / "galaxy-ludwig-tutorial"


def config(split_type: str = "fixed"):
    raw = yaml.safe_load(TINY_CONFIG)
    raw["preprocessing"]["split"] = {"type": split_type} if split_type != "fixed" else {"type": "fixed",
                                                                                         "column": "split"}
    return parse_config(raw)


@pytest.fixture
def sets(tmp_path):
    """(training.csv, validation.csv, test.csv, images.zip): 36 / 6 / 12 rows of 3 classes; the training table's
    own split column says 2 everywhere, which the sets must override (as Ludwig's concatenate_files does)."""
    csv_path, zip_path = make_dataset(tmp_path / "d", train_per_class=12, validation_per_class=2, test_per_class=4)
    table = pd.read_csv(csv_path, dtype=str)
    paths = []
    for code, name in ((0, "training"), (1, "validation"), (2, "test")):
        part = table[table.split == str(code)].copy()
        part["split"] = "2"
        path = tmp_path / f"{name}.csv"
        part.to_csv(path, index=False)
        paths.append(path)
    return (*paths, zip_path)


def test_split_sets_give_each_row_the_split_of_its_table(sets, tmp_path):
    training, validation, test, zip_path = sets
    # a random split in the config: the sets replace it, as in Ludwig
    data = prepare_data(config("random"), DataOptions(raw_data=zip_path, split_sets=(training, validation, test)),
                        tmp_path / "work", seed=0)
    assert {name: len(split.labels) for name, split in data.splits.items()} == {
        "training": 36, "validation": 6, "test": 12}
    assert all(source.startswith("test/") for source in data.splits["test"].sources)
    assert all(source.startswith("validation/") for source in data.splits["validation"].sources)
    assert data.summary.dataset_name == "training.csv + validation.csv + test.csv"
    assert any("replace the config's preprocessing.split" in note for note in data.summary.notes)


def test_a_missing_image_names_the_set_it_is_in(sets, tmp_path):
    training, _, test, zip_path = sets
    table = pd.read_csv(test, dtype=str)
    table.loc[1, "image_path"] = "test/cat/missing.png"
    table.to_csv(test, index=False)
    with pytest.raises(DataError, match=r"^test_set test\.csv: 1 of 12 image paths .* line 3: 'test/cat/missing\.png'"):
        prepare_data(config(), DataOptions(raw_data=zip_path, split_sets=(training, None, test)), tmp_path / "w",
                     seed=0)


def test_training_set_metadata_fixes_the_class_order_and_image_size(sets, tmp_path):
    training, _, test, zip_path = sets
    metadata = {"image_path": {"preprocessing": {"height": 10, "width": 9, "num_channels": 3}},
                "label": {"idx2str": ["dog", "T-shirt/top", "cat", "bird"]}}
    path = tmp_path / "training_set_metadata.json"
    path.write_text(json.dumps(metadata))
    data = prepare_data(config(), DataOptions(raw_data=zip_path, split_sets=(training, None, test),
                                              training_set_metadata=path), tmp_path / "work", seed=0)
    # the file's vocabulary, in its order (a class the data lacks included), and its image size
    assert data.metadata.class_names == ("dog", "T-shirt/top", "cat", "bird")
    assert data.splits["training"].images.shape[1:] == (10, 9, 3)
    assert data.metadata.to_json()["label"]["str2idx"]["cat"] == 2


def test_training_set_metadata_without_the_configs_features_is_one_line(sets, tmp_path):
    training, _, _, zip_path = sets
    path = tmp_path / "meta.json"
    path.write_text(json.dumps({"digit": {"idx2str": ["0", "1"]}}))
    with pytest.raises(DataError, match="meta.json has no entry for the feature 'image_path' of the config "
                                        r"\(it holds digit\)"):
        prepare_data(config(), DataOptions(raw_data=zip_path, split_sets=(training, None, None),
                                           training_set_metadata=path), tmp_path / "work", seed=0)


def test_without_an_archive_images_are_read_beside_the_table(sets, tmp_path):
    training, _, _, zip_path = sets
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    table = folder / "dataset.csv"
    pd.read_csv(training, dtype=str).assign(split="0").to_csv(table, index=False)
    data = prepare_data(config(), DataOptions(raw_data=None, dataset=table), tmp_path / "work", seed=0)
    assert len(data.splits["training"].labels) + len(data.splits["validation"].labels) == 36
    assert data.summary.archive_name.startswith("(no archive")
    (folder / "training" / "cat" / "0.png").unlink()
    with pytest.raises(DataError, match=r"1 of 36 image paths in dataset\.csv do not exist relative to the folder "
                                        r"of dataset\.csv \(or give the images as --raw_data\)"):
        prepare_data(config(), DataOptions(raw_data=None, dataset=table), tmp_path / "work2", seed=0)


def test_eval_split_full_evaluates_validation_as_ludwig_does():
    options = RunOptions(data=DataOptions(raw_data=None), eval_split="full")
    assert options.evaluated_split == "validation"
    assert RunOptions(data=DataOptions(raw_data=None)).evaluated_split == "test"
    with pytest.raises(ValueError):
        RunOptions(data=DataOptions(raw_data=None), eval_split="all")


@pytest.mark.parametrize("extra, message", [
    (["--dataset", "{d}", "--training_set", "{d}"], "give --dataset or --training_set, not both"),
    (["--test_set", "{d}"], "--test_set without --training_set: give the training rows as --training_set"),
    ([], "no data: give --dataset (or --training_set), or a folder-format --raw_data archive"),
    (["--training_set", "{d}", "--k_fold", "2"], "--k_fold cannot be combined with --training_set"),
    (["--training_set", "{d}", "--training_set_metadata", "{d}", "--model_load_path", "{d}"],
     "--training_set_metadata cannot be combined with --model_load_path"),
])
def test_cli_refuses_conflicting_data_arguments_with_one_line(tmp_path, capsys, extra, message):
    csv_path, _ = make_dataset(tmp_path / "d")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(TINY_CONFIG)
    out = tmp_path / "out"
    code = main(["experiment", "--config", str(config_path), "--output_directory", str(out),
                 *[arg.format(d=csv_path) for arg in extra]])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: ") and message in err[-1]
    assert not out.exists()


# ---------------------------------------------------------------- the tools keep Galaxy-Ludwig's names

def _top_level(tool: str) -> tuple[dict[str, ET.Element], set[str]]:
    root = ET.parse(TOOLS / f"{tool}.xml").getroot()
    inputs = root.find("inputs")
    params = {p.get("name") or p.get("argument").lstrip("-"): p for p in inputs.findall("param")}
    params.update({e.get("macro"): e for e in inputs.findall("expand")})
    outputs = {o.get("name") for o in root.find("outputs")}
    return params, outputs


def test_experiment_tool_has_galaxy_ludwigs_parameters_and_outputs_at_the_top_level():
    params, outputs = _top_level("ludwig_experiment")
    for name in ("config", "dataset", "training_set", "validation_set", "test_set", "training_set_metadata",
                 "model_load_path", "model_resume_path", "eval_split", "k_fold", "disable_parallel_threads"):
        assert name in params, name
    for name in ("config", "dataset", "training_set", "validation_set", "test_set", "training_set_metadata",
                 "k_fold"):
        assert params[name].get("optional") == "true", name
    assert params["raw_data_param"].get("optional") == "true"
    assert {o.get("value") for o in params["eval_split"].findall("option")} == {"training", "validation", "test",
                                                                                 "full"}
    assert {"output_model", "output_report", "output_pred_csv"} <= outputs


@pytest.mark.parametrize("tool, collection", [("ludwig_predict", "output_csv"), ("ludwig_evaluate", "output_pred_csv")])
def test_predict_and_evaluate_have_galaxy_ludwigs_names(tool, collection):
    params, outputs = _top_level(tool)
    assert {"model_path", "dataset", "split", "batch_size", "disable_parallel_threads"} <= set(params)
    assert params["raw_data_param"].get("optional") == "true"
    assert collection in outputs
    if tool == "ludwig_evaluate":
        assert "output_report" in outputs


def test_tutorial_workflow_test_uses_only_files_in_its_folder():
    tests = yaml.safe_load((TUTORIAL / "main_workflow-tests.yml").read_text())
    for case in tests:
        for value in case["job"].values():
            path = (TUTORIAL / value["path"]).resolve()
            assert path.is_relative_to(TUTORIAL.resolve()) and path.is_file(), value["path"]
    workflow = json.loads((TUTORIAL / "main_workflow.ga").read_text())
    tools = [step for step in workflow["steps"].values() if step["type"] == "tool"]
    assert [step["tool_id"] for step in tools] == ["ludwig_experiment"]
    assert set(tools[0]["input_connections"]) == {"config", "dataset", "raw_data"}
    dockstore = yaml.safe_load((TUTORIAL / ".dockstore.yml").read_text())
    assert dockstore["workflows"][0]["primaryDescriptorPath"] == "/main_workflow.ga"
    assert dockstore["workflows"][0]["testParameterFiles"] == ["/main_workflow-tests.yml"]


# ---------------------------------------------------------------- predict/evaluate --split (Ludwig's)

def test_predict_split_keeps_the_rows_of_the_models_own_split():
    from ludwig_mnist.data.splits import rows_of_split

    table = pd.DataFrame({"image_path": list("abcde"), "label": list("xyxyx"), "split": ["0", "2", "1", "2", "0"]})
    mask, note = rows_of_split(config(), table, "test", "d.csv")
    assert mask.tolist() == [False, True, False, True, False]
    assert note == "split test: 2 rows of 5 (column 'split' = 2)"
    assert rows_of_split(config(), table, "training", "d.csv")[0].tolist() == [True, False, False, False, True]
    with pytest.raises(DataError, match=r"d.csv has no column 'split' \(the test split's column"):
        rows_of_split(config(), table.drop(columns="split"), "test", "d.csv")
    with pytest.raises(DataError, match="trained with a random split, whose rows cannot be found again"):
        rows_of_split(config("random"), table, "test", "d.csv")
    only_training = table.assign(split="0")
    with pytest.raises(DataError, match="no row is in the validation split"):
        rows_of_split(config(), only_training, "validation", "d.csv")


def test_api_passes_training_set_metadata_and_eval_split_full_to_the_pipeline(sets, tmp_path, monkeypatch):
    """LudwigModel.experiment(training_set_metadata=dict, eval_split="full"), as in Ludwig: the run options carry
    the metadata as a file and the full split (evaluated as validation); the pipeline itself is stubbed."""
    from ludwig_mnist import api
    from ludwig_mnist.pipelines import experiment

    seen = {}

    def stub(config, options, log):
        seen["metadata"] = json.loads(Path(options.data.training_set_metadata).read_text())
        seen["split"] = (options.eval_split, options.evaluated_split)
        raise DataError("stopped by the test")

    monkeypatch.setattr(experiment, "run_experiment", stub)
    with zipfile.ZipFile(sets[3]) as archive:  # the API reads images beside the table
        archive.extractall(tmp_path)
    metadata = {"label": {"idx2str": ["dog", "cat", "T-shirt/top"]}}
    model = api.LudwigModel(yaml.safe_load(TINY_CONFIG))
    with pytest.raises(DataError, match="stopped by the test"):
        model.experiment(training_set=str(sets[0]), training_set_metadata=metadata, eval_split="full",
                         output_directory=str(tmp_path / "results"))
    assert seen == {"metadata": metadata, "split": ("full", "validation")}
