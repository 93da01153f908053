"""Config stage: real Ludwig configs parse verbatim; bad keys and values name the key path."""

from pathlib import Path

import pytest
import yaml

from ludwig_mnist.config.load import load_config, parse_config
from ludwig_mnist.config.schema import ExperimentConfig
from ludwig_mnist.errors import ConfigError

TEST_DATA = Path(__file__).resolve().parents[1] / "test-data"

TUTORIAL = """
input_features:
  - name: image_path
    type: image
    encoder:
      type: stacked_cnn
      conv_layers:
        - num_filters: 32
          filter_size: 3
          pool_size: 2
          pool_stride: 2
        - num_filters: 64
          filter_size: 3
          pool_size: 2
          pool_stride: 2
          dropout: 0.4
      fc_layers:
        - output_size: 128
          dropout: 0.4
preprocessing:
  split:
    type: fixed
    column: split
output_features:
  - name: label
    type: category
trainer:
  epochs: 5
"""


def minimal(**overrides):
    raw = {"input_features": [{"name": "image_path", "type": "image"}],
           "output_features": [{"name": "label", "type": "category"}]}
    raw.update(overrides)
    return raw


def test_tutorial_config_honours_tensorflow_era_names():
    config = parse_config(yaml.safe_load(TUTORIAL))
    conv = config.input_feature.encoder.resolved_conv_layers()
    assert [c.out_channels for c in conv] == [32, 64]  # real Ludwig silently trains 32→32 here
    assert [c.kernel_size for c in conv] == [3, 3]
    assert [c.pool_kernel_size for c in conv] == [2, 2]
    assert conv[1].dropout == 0.4 and conv[0].dropout == 0.0
    assert [f.output_size for f in config.input_feature.encoder.resolved_fc_layers()] == [128]
    assert config.trainer.epochs == 5
    assert config.preprocessing.split.type == "fixed" and config.preprocessing.split.column == "split"


def test_new_spelling_gives_the_same_network():
    raw = yaml.safe_load(TUTORIAL.replace("num_filters", "out_channels").replace("filter_size", "kernel_size")
                         .replace("pool_size", "pool_kernel_size"))
    assert parse_config(raw) == parse_config(yaml.safe_load(TUTORIAL))


def test_old_unnested_encoder_and_training_section():
    raw = minimal(training={"epochs": 3, "batch_size": 64})
    raw["input_features"][0].update({"encoder": "stacked_cnn", "conv_layers": [{"num_filters": 16}], "fc_size": 64})
    config = parse_config(raw)
    assert config.trainer.epochs == 3 and config.trainer.batch_size == 64
    assert config.input_feature.encoder.resolved_conv_layers()[0].out_channels == 16
    assert config.input_feature.encoder.resolved_fc_layers()[0].output_size == 64


def test_ludwig_defaults_are_applied():
    config = parse_config(minimal())
    encoder = config.input_feature.encoder
    assert [c.out_channels for c in encoder.resolved_conv_layers()] == [32, 64]  # Conv2DStack's default
    assert [f.output_size for f in encoder.resolved_fc_layers()] == [128]
    assert config.trainer.epochs == 100 and config.trainer.learning_rate == 0.001
    assert config.trainer.batch_size == "auto" and config.trainer.early_stop == 5
    assert config.output_feature.top_k == 3
    assert config.preprocessing.split.type == "random"
    assert config.preprocessing.split.probabilities == (0.7, 0.1, 0.2)
    assert config.input_feature.preprocessing.infer_image_max_height == 256


def test_defaults_section_merges_into_features():
    config = parse_config(minimal(defaults={"image": {"preprocessing": {"height": 32, "width": 32}}}))
    assert config.input_feature.preprocessing.height == 32


def test_resolved_config_round_trips():
    config = parse_config(yaml.safe_load(TUTORIAL))
    assert isinstance(config, ExperimentConfig)
    assert parse_config(config.to_dict()) == config


@pytest.mark.parametrize("raw, expected", [
    (minimal(trainer={"learnin_rate": 0.1}), "trainer.learnin_rate'; did you mean 'learning_rate'"),
    (minimal(trainer={"epochs": -1}), "'trainer.epochs': expected an integer >= 1, got -1"),
    (minimal(trainer={"epochs": "five"}), "'trainer.epochs': expected an integer"),
    (minimal(trainer={"optimizer": {"type": "adamm"}}), "did you mean 'adam'"),
    (minimal(input_features=[{"name": "x", "type": "text"}]), "feature type 'text' is not supported"),
    (minimal(input_features=[{"name": "x", "encoder": {"type": "vit"}}]), "'input_features.0.encoder.type': 'vit'"),
    (minimal(input_features=[{"name": "x", "encoder": {"conv_layers": [{"num_filters": "a"}]}}]),
     "input_features.0.encoder.conv_layers.0.out_channels"),
    (minimal(trainer={"epochs": 1}, triner={}), "unknown config key 'triner'; did you mean 'trainer'"),
    (minimal(output_features=[]), "exactly one feature"),
    (minimal(preprocessing={"split": {"type": "random", "probabilities": [0.5, 0.5, 0.5]}}), "must sum to 1"),
    ({"output_features": [{"name": "label"}]}, "'input_features' is required"),
])
def test_bad_configs_name_the_key(raw, expected):
    with pytest.raises(ConfigError, match=None) as caught:
        parse_config(raw)
    assert expected in str(caught.value)


def test_invalid_yaml_gives_line_and_column(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("input_features:\n  - name: x\n    type: [image\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "config.yaml is not valid YAML at line" in str(caught.value)
    assert "column" in str(caught.value)


def test_embedded_tutorial_config_loads():
    config = load_config(TEST_DATA / "config.yaml")
    assert config.output_feature.name == "label"
