"""The Galaxy data manager's logic (`ludwig-mnist install-weights`) and the provenance of installed weights.

Nothing downloads: the weights are a MobileNetV3 small backbone without top that the test writes itself (seeded
random weights, about 4 MB), fetched from a path and from a file:// URL; Keras's URL is replaced by a stub.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import h5py
import numpy as np
import pytest

from ludwig_mnist import weights_install
from ludwig_mnist.artifacts.installed import COLUMNS, ENTRY_FILE, apply_installed, file_sha256, read_installed
from ludwig_mnist.cli import main
from ludwig_mnist.config.load import parse_config
from ludwig_mnist.errors import ConfigError, UserInputError
from ludwig_mnist.model.families import FAMILIES
from tests.synthetic import make_dataset

DONOR = {}


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """mobilenetv3 small without top, as Keras ships its files (legacy HDF5); its weights kept in DONOR."""
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(3)
    donor = keras.applications.MobileNetV3Small(include_top=False, weights=None, input_shape=(32, 32, 3),
                                                pooling="avg")
    DONOR["weights"] = [np.asarray(w) for w in donor.weights]
    path = tmp_path_factory.mktemp("donor") / "mobilenetv3_small_notop.h5"
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, donor)
    return path


def install(capsys, *args):
    """Run `ludwig-mnist install-weights ARGS`: (exit status, stdout, stderr)."""
    status = main(["install-weights", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_hash_mismatch_is_one_line_exit_2_and_leaves_nothing(tmp_path, capsys):
    file = tmp_path / "weights.h5"
    file.write_bytes(b"not the weights")
    out_dir = tmp_path / "out"
    status, _, err = install(capsys, "--family", "mobilenetv3", "--variant", "small", "--file", file,
                             "--sha256", "0" * 64, "--output_directory", out_dir, "--galaxy_json", tmp_path / "o.json")
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert file_sha256(file) in lines[0] and "0" * 64 in lines[0] and "sha256 given" in lines[0]
    assert list(out_dir.iterdir()) == [] and not (tmp_path / "o.json").exists()


def test_file_source_installs_an_entry_and_the_galaxy_json(weights_file, tmp_path, capsys):
    digest = file_sha256(weights_file)
    out_dir, galaxy = tmp_path / "extra_files", tmp_path / "out_file.json"
    status, out, err = install(capsys, "--family", "mobilenetv3", "--variant", "small", "--file", weights_file,
                               "--sha256", digest.upper(), "--value", "mnv3_small_test", "--name", "test backbone",
                               "--output_directory", out_dir, "--galaxy_json", galaxy)
    assert status == 0, err
    # Galaxy's data manager JSON: one row of the table, every column, path relative to extra_files_path
    rows = json.loads(galaxy.read_text())["data_tables"]["ludwig_mnist_weights"]
    assert rows == [{"value": "mnv3_small_test", "name": "test backbone", "family": "mobilenetv3",
                     "variant": "small", "sha256": digest, "path": "mnv3_small_test"}]
    assert tuple(rows[0]) == COLUMNS
    entry = out_dir / "mnv3_small_test"
    assert sorted(p.name for p in entry.iterdir()) == sorted([ENTRY_FILE, weights_file.name])
    installed = read_installed(entry)
    assert (installed.family, installed.variant, installed.sha256) == ("mobilenetv3", "small", digest)
    assert installed.origin == str(weights_file) and file_sha256(installed.path) == digest
    assert "checked: sha256 matches the sha256 given" in out
    assert "row of the ludwig_mnist_weights table" not in out  # Galaxy writes the row, with the moved path


def test_without_galaxy_the_loc_row_is_printed_for_the_admin(weights_file, tmp_path, capsys):
    digest = file_sha256(weights_file)
    status, out, err = install(capsys, "--family", "mobilenetv3", "--variant", "small", "--file", weights_file,
                               "--value", "by_hand", "--name", "by hand", "--output_directory", tmp_path)
    assert status == 0, err
    assert "not checked against a hash (none given" in out  # a local file needs no sha256
    assert f"by_hand\tby hand\tmobilenetv3\tsmall\t{digest}\t{(tmp_path / 'by_hand').resolve()}" in out


def test_file_url_source_needs_and_checks_the_sha256(weights_file, tmp_path, capsys):
    url = weights_file.as_uri()
    status, _, err = install(capsys, "--family", "mobilenetv3", "--variant", "small", "--url", url,
                             "--output_directory", tmp_path / "a")
    assert status == 2 and "--sha256: a URL other than Keras's needs the file's sha256" in err
    status, _, err = install(capsys, "--family", "mobilenetv3", "--variant", "small", "--url", url,
                             "--sha256", file_sha256(weights_file), "--output_directory", tmp_path / "b")
    assert status == 0, err
    value = f"mobilenetv3_small_{file_sha256(weights_file)[:12]}"  # the default id of a non-Keras source
    assert read_installed(tmp_path / "b" / value).origin == url


def test_weights_of_another_variant_are_refused(weights_file, tmp_path, capsys):
    status, _, err = install(capsys, "--family", "mobilenetv3", "--variant", "large", "--file", weights_file,
                             "--output_directory", tmp_path / "out")
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "is not the weights of mobilenetv3 large without its top" in err
    assert list((tmp_path / "out").iterdir()) == []


def test_keras_source_checks_keras_own_hash(tmp_path, monkeypatch):
    fetched = []

    def fake_fetch(source, destination):  # Keras's URL is never fetched in tests
        fetched.append(source)
        destination.write_bytes(b"tampered")
        return {"sha256": "a" * 64, "md5": "b" * 32}

    monkeypatch.setattr(weights_install, "_fetch", fake_fetch)
    request = weights_install.InstallRequest("resnet", "50", tmp_path)
    with pytest.raises(UserInputError, match="md5 b{32} is not 4d473c1dd8becc155b73f8504c6f6626 "
                                             r"\(Keras's own hash of its file\)"):
        weights_install.install_weights(request, log=lambda _: None, check_fits=lambda *a: None)
    assert fetched == [FAMILIES["resnet"].weights[50].origin]


def test_keras_source_without_keras_weights_and_unknown_variant(tmp_path):
    with pytest.raises(UserInputError, match="Keras has no ImageNet weights for resnet 18.*--url or --file"):
        weights_install.install_weights(weights_install.InstallRequest("resnet", "18", tmp_path))
    with pytest.raises(UserInputError, match="--variant: resnet comes in variants 50, 18, 34, 101, 152"):
        weights_install.resolve_variant("resnet", "77")
    with pytest.raises(UserInputError, match="--family: 'nosuch'"):
        weights_install.resolve_variant("nosuch", "base")


def test_install_weights_runs_as_its_own_process_for_galaxy(tmp_path):
    """The data manager's command line: the console script's entry point, exit 2 and one line."""
    file = tmp_path / "w.h5"
    file.write_bytes(b"x")
    done = subprocess.run([sys.executable, "-m", "ludwig_mnist.cli", "install-weights", "--family", "vgg",
                           "--variant", "16", "--file", str(file), "--sha256", "1" * 64, "--output_directory",
                           str(tmp_path / "o")], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].startswith("error: ")


def _installed(weights_file, tmp_path):
    request = weights_install.InstallRequest("mobilenetv3", "small", tmp_path / "tool-data", file=weights_file,
                                             name="MobileNetV3 small (test)", value="mnv3")
    return weights_install.install_weights(request, log=lambda _: None, check_fits=lambda *a: None)


def test_installed_weights_must_match_the_encoder_and_be_unchanged(weights_file, tmp_path):
    installed = _installed(weights_file, tmp_path)
    resnet = parse_config({"input_features": [{"name": "image_path", "type": "image", "encoder": {"type": "resnet"}}],
                           "output_features": [{"name": "label", "type": "category"}]})
    with pytest.raises(ConfigError, match="are for mobilenetv3 small, the config's encoder is resnet 50; set type: "
                                          "mobilenetv3 and model_variant: small"):
        apply_installed(resnet, installed)
    with open(installed.path, "r+b") as handle:  # the file changes after installation
        handle.seek(-1, 2)
        last = handle.read(1)[0]
        handle.seek(-1, 2)
        handle.write(bytes([last ^ 0xFF]))
    with pytest.raises(UserInputError, match="not the .* it was installed with"):
        read_installed(installed.directory)


def test_experiment_with_installed_weights_records_their_provenance(weights_file, tmp_path, capsys):
    installed = _installed(weights_file, tmp_path)
    csv_path, zip_path = make_dataset(tmp_path / "data", classes=("a", "b"), train_per_class=6, test_per_class=2,
                                      size=16)
    config = tmp_path / "config.yaml"
    config.write_text("input_features:\n  - name: image_path\n    type: image\n    encoder:\n      type: mobilenetv3\n"
                      "      model_variant: small\n      trainable: false\noutput_features:\n  - name: label\n"
                      "    type: category\ntrainer:\n  epochs: 1\n  batch_size: 8\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    status = main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(zip_path),
                   "--output_directory", str(out_dir), "--installed_weights", str(installed.directory)])
    out, err = capsys.readouterr()
    assert status == 0, err
    weights = json.loads((out_dir / "experiment_run" / "description.json").read_text())["weights"]
    assert weights == {"family": "mobilenetv3", "variant": "small", "source": "installed",
                       "path": str(installed.path), "sha256": installed.sha256, "name": "MobileNetV3 small (test)"}
    assert f"weights: mobilenetv3 small: installed by the Galaxy data manager ('MobileNetV3 small (test)'), " \
           f"{weights_file.name} (sha256 {installed.sha256})" in out
    report = (out_dir / "ludwig_experiment_report.html").read_text()
    assert installed.sha256 in report and "installed by the Galaxy data manager" in report
    # trainable: false keeps the backbone as loaded: the saved model's backbone holds the installed weights
    import keras

    from ludwig_mnist.artifacts.model_dir import load_model_dir

    saved = load_model_dir(out_dir / "experiment_run" / "model").model
    backbone = next(layer for layer in saved.layers if isinstance(layer, keras.Model))
    assert backbone.name == "mobilenetv3small" and len(backbone.weights) == len(DONOR["weights"])
    assert all(np.array_equal(np.asarray(w), d) for w, d in zip(backbone.weights, DONOR["weights"]))


REPO = Path(__file__).resolve().parent.parent
DM = REPO / "data_managers" / "data_manager_ludwig_mnist_weights"


def test_the_data_manager_offers_every_family_and_built_variant():
    tool = ET.parse(DM / "data_manager" / "ludwig_mnist_weights_fetcher.xml").getroot()
    assert tool.get("tool_type") == "manage_data"
    backbone = next(c for c in tool.iter("conditional") if c.get("name") == "backbone")
    offered = {when.get("value"): [o.get("value") for o in when.iter("option")] for when in backbone.iter("when")}
    assert set(offered) == set(FAMILIES)  # every family built here, Keras weights or not
    for family, variants in offered.items():
        assert variants == [str(v) for v in FAMILIES[family].variants if v in FAMILIES[family].built], family


def test_data_manager_conf_and_table_samples_name_the_table_columns():
    conf = ET.parse(DM / "data_manager_conf.xml").getroot()
    manager = conf.find("data_manager")
    tool = ET.parse(DM / manager.get("tool_file")).getroot()
    assert manager.get("id") == tool.get("id")
    table = manager.find("data_table")
    assert table.get("name") == "ludwig_mnist_weights"
    assert tuple(c.get("name") for c in table.find("output").findall("column")) == COLUMNS
    for sample in (DM / "tool_data_table_conf.xml.sample", REPO / "tools" / "tool_data_table_conf.xml.sample"):
        declared = ET.parse(sample).getroot().find("table")
        assert declared.get("name") == "ludwig_mnist_weights"
        assert tuple(c.strip() for c in declared.findtext("columns").split(",")) == COLUMNS
        loc = declared.find("file").get("path")
        assert (sample.parent / f"{loc}.sample").is_file()
    experiment = ET.parse(REPO / "tools" / "ludwig_experiment.xml").getroot()
    select = next(p for p in experiment.iter("param") if p.get("argument") == "--installed_weights")
    assert select.find("options").get("from_data_table") == "ludwig_mnist_weights"


def test_k_fold_starts_every_fold_from_the_pretrained_weights(weights_file, tmp_path, capsys):
    csv_path, zip_path = make_dataset(tmp_path / "data", classes=("a", "b"), train_per_class=4, test_per_class=0,
                                      size=16)
    config = tmp_path / "config.yaml"
    config.write_text("input_features:\n  - name: image_path\n    type: image\n    encoder:\n      type: mobilenetv3\n"
                      f"      model_variant: small\n      pretrained_weights: {weights_file}\n      trainable: false\n"
                      "output_features:\n  - name: label\n    type: category\ntrainer:\n  epochs: 1\n  batch_size: 8\n",
                      encoding="utf-8")
    status = main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(zip_path),
                   "--output_directory", str(tmp_path / "out"), "--k_fold", "2"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert f"weights: mobilenetv3 small: a local weights file (pretrained_weights), {weights_file.name} " \
           f"(sha256 {file_sha256(weights_file)})" in out
