"""Transfer between experiments (--encoder_from): the encoder's weights are copied, the head is new,
trainable: false keeps them fixed, the unfreeze schedule trains them from epoch N+1 at the lower rate, and
an incompatible encoder is refused with one line naming the key."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from synthetic import TINY_CONFIG, make_dataset
from synthetic import run_experiment_with as run

from ludwig_mnist.config.load import parse_config
from ludwig_mnist.errors import ConfigError


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A model trained on three classes of 12x12 images: the backbone every test reuses."""
    root = tmp_path_factory.mktemp("source")
    data = make_dataset(root / "data", classes=("cat", "dog", "T-shirt/top"), train_per_class=12, size=12)
    code, out = run(root / "run", data, lambda raw: None)
    assert code == 0
    return out / "experiment_run/model"


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """Another dataset: two other classes, 16x16 images (decoded to the backbone's 12x12)."""
    return make_dataset(tmp_path_factory.mktemp("target"), classes=("left", "right"), train_per_class=10,
                        test_per_class=3, size=16, seed=1)


def frozen(raw):
    raw["input_features"][0]["encoder"]["trainable"] = False


def encoder_arrays(model) -> dict[str, list[np.ndarray]]:
    from ludwig_mnist.model.parts import encoder_layers

    return {layer.name: layer.get_weights() for layer in encoder_layers(model) if layer.get_weights()}


def load(model_dir):
    from ludwig_mnist.artifacts.model_dir import load_model_dir

    return load_model_dir(model_dir)


def test_copy_encoder_copies_the_arrays_and_builds_a_new_head(source):
    from ludwig_mnist.artifacts.backbone import copy_encoder
    from ludwig_mnist.model.build import build_model

    saved = load(source)
    model = build_model(saved.config, (12, 12, 1), 5)  # five classes where the source had three
    before, expected = encoder_arrays(model), encoder_arrays(saved.model)
    assert set(expected) == {"conv_0", "encoder_fc_0"}  # the encoder's layers with weights, no head layer
    assert not np.allclose(before["conv_0"][0], expected["conv_0"][0])  # fresh weights differ at first
    copied = copy_encoder(model, saved.config, saved)
    after = encoder_arrays(model)
    for name, arrays in expected.items():
        assert len(after[name]) == len(arrays)
        for new, old in zip(after[name], arrays):
            np.testing.assert_array_equal(new, old)
    assert model.get_layer("label").get_weights()[0].shape == (8, 5)  # the head: 8 encoder outputs → 5 classes
    assert copied.layers == 2 and copied.values == sum(a.size for arrays in expected.values() for a in arrays)


def test_frozen_encoder_is_unchanged_by_training_and_the_head_has_the_new_classes(tmp_path, source, target):
    code, out = run(tmp_path, target, frozen, "--encoder_from", str(source))
    assert code == 0
    tuned = load(out / "experiment_run/model")
    assert tuned.metadata.class_names == ("left", "right")
    assert (tuned.metadata.image.height, tuned.metadata.image.width) == (12, 12)  # the backbone's size
    assert tuned.model.output_shape == (None, 2)
    original = encoder_arrays(load(source).model)
    for name, arrays in encoder_arrays(tuned.model).items():
        for new, old in zip(arrays, original[name]):
            np.testing.assert_array_equal(new, old)  # two epochs of training left the frozen encoder as it was
    head = tuned.model.get_layer("label").get_weights()[0]
    assert head.shape == (8, 2)
    description = json.loads((out / "experiment_run/description.json").read_text())
    note = next(n for n in description["data"]["notes"] if n.startswith("encoder (stacked_cnn) taken from"))
    assert "2 layers" in note and "frozen (trainable: false)" in note and "for 2 outputs" in note


def test_trainable_encoder_is_trained_further(tmp_path, source, target):
    code, out = run(tmp_path, target, lambda raw: None, "--encoder_from", str(source))
    assert code == 0
    original = encoder_arrays(load(source).model)
    tuned = encoder_arrays(load(out / "experiment_run/model").model)
    assert not np.allclose(tuned["conv_0"][0], original["conv_0"][0])


def test_unfreeze_after_n_epochs_at_the_lower_learning_rate(source):
    """train_model with no validation split keeps the last epoch, so the unfrozen epoch's change stays."""
    from ludwig_mnist.artifacts.backbone import copy_encoder
    from ludwig_mnist.data.images import ImageSpec
    from ludwig_mnist.data.prepare import Metadata, SplitData
    from ludwig_mnist.model.build import build_model
    from ludwig_mnist.training.train import train_model

    saved = load(source)
    raw = yaml.safe_load(TINY_CONFIG)
    frozen(raw)
    raw["trainer"].update({"epochs": 3, "learning_rate": 0.002, "unfreeze_encoder_after_epochs": 2})
    config = parse_config(raw)
    assert config.trainer.unfreeze_encoder_learning_rate == 0.0002  # a tenth, by default
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(32, 12, 12, 1), dtype=np.uint8)
    labels = rng.integers(0, 2, size=32).astype(np.int32)
    metadata = Metadata("image_path", "image_path", "label", "label", ("a", "b"), {"a": 16, "b": 16},
                        ImageSpec(12, 12, 1), "interpolate")
    model = build_model(config, (12, 12, 1), 2)
    copy_encoder(model, config, saved)
    lines = []
    summary = train_model(model, config, metadata, {"training": SplitData("training", images, labels, ("x",) * 32)},
                          seed=0, log=lines.append)
    assert [epoch.learning_rate for epoch in summary.epochs] == pytest.approx([0.002, 0.002, 0.0002], rel=1e-6)
    assert "epoch 3 on: the encoder is trainable, every layer at learning rate 0.0002" in "\n".join(lines)
    original = encoder_arrays(saved.model)
    now = encoder_arrays(model)
    assert not np.allclose(now["conv_0"][0], original["conv_0"][0])  # epoch 3 trained the encoder
    assert all(layer.trainable for layer in model.layers)


def test_incompatible_encoder_is_one_line_naming_the_key(tmp_path, source, target, capsys):
    def wider(raw):
        raw["input_features"][0]["encoder"]["conv_layers"][0]["num_filters"] = 6
    code, out = run(tmp_path, target, wider, "--encoder_from", str(source))
    assert code == 2 and not (out / "experiment_run").exists()
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert errors[0].startswith("error: config key 'input_features.0.encoder.conv_layers.0.out_channels' is 6 here "
                                "but 4 in the encoder of the model in model")


def test_encoder_from_excludes_model_load_path(tmp_path, source, target):
    with pytest.raises(SystemExit) as exited:
        run(tmp_path, target, lambda raw: None, "--encoder_from", str(source), "--model_load_path", str(source))
    assert exited.value.code == 2


@pytest.mark.parametrize("trainer, encoder, message", [
    ({"unfreeze_encoder_after_epochs": 1}, {}, "needs a frozen encoder: set input_features.0.encoder.trainable"),
    ({"unfreeze_encoder_after_epochs": 2}, {"trainable": False}, "2 is not below trainer.epochs 2"),
    ({"unfreeze_encoder_learning_rate": 0.1}, {"trainable": False}, "needs trainer.unfreeze_encoder_after_epochs"),
    ({"unfreeze_encoder_after_epochs": 1, "learning_rate_scheduler": {"decay": "linear"}}, {"trainable": False},
     "cannot be combined with a learning_rate_scheduler"),
])
def test_unfreeze_schedule_is_checked(trainer, encoder, message):
    raw = yaml.safe_load(TINY_CONFIG)
    raw["trainer"].update(trainer)
    raw["input_features"][0]["encoder"].update(encoder)
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


def test_the_new_keys_are_listed_as_this_tools_own():
    from ludwig_mnist.config.keys import key_rows

    rows = {row.path: row for row in key_rows()}
    for path in ("trainer.unfreeze_encoder_after_epochs", "trainer.unfreeze_encoder_learning_rate",
                 "input_features[].encoder(stacked_cnn).trainable"):
        assert rows[path].policy == "this tool's"
    assert rows["input_features[].encoder(resnet).trainable"].policy == "honoured"  # Ludwig's own key there


def test_api_experiment_takes_encoder_from(tmp_path, source, target):
    import zipfile

    from ludwig_mnist.api import LudwigModel

    csv_path, zip_path = target
    with zipfile.ZipFile(zip_path) as archive:  # the API reads image files beside the CSV, as Ludwig does
        archive.extractall(csv_path.parent)
    raw = yaml.safe_load(TINY_CONFIG)
    frozen(raw)
    test_stats, _, _, run_dir = LudwigModel(raw).experiment(dataset=str(csv_path), encoder_from=source,
                                                            output_directory=str(tmp_path))
    assert set(test_stats["label"]["per_class_stats"]) == {"left", "right"}
    tuned = load(Path(run_dir) / "model")
    original = encoder_arrays(load(source).model)
    np.testing.assert_array_equal(encoder_arrays(tuned.model)["conv_0"][0], original["conv_0"][0])


def test_k_fold_refuses_encoder_from(tmp_path, source, target, capsys):
    code, _ = run(tmp_path, target, lambda raw: None, "--encoder_from", str(source), "--k_fold", "2")
    assert code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert errors == ["error: --k_fold cannot be combined with --encoder_from: cross-validation trains a fresh "
                      "model per fold and evaluates each on its held-out fold"]
