"""Model stage: the pure builder follows Ludwig's layer order and the config's sizes."""

import pytest
import yaml

from ludwig_mnist.config import parse_config
from ludwig_mnist.errors import ConfigError
from ludwig_mnist.model import build_model, layer_rows
from test_config import TUTORIAL


def test_tutorial_network_shapes_and_parameters():
    model = build_model(parse_config(yaml.safe_load(TUTORIAL)), (28, 28, 1), 10)
    rows = {row.name: row for row in layer_rows(model)}
    assert rows["conv_0"].output_shape == "(None, 26, 26, 32)"
    assert rows["conv_1"].output_shape == "(None, 11, 11, 64)"  # 64 filters: the config is honoured
    assert rows["conv_1_pool"].output_shape == "(None, 5, 5, 64)"
    assert rows["encoder_fc_0"].params == 1600 * 128 + 128
    assert rows["label"].output_shape == "(None, 10)"
    assert model.count_params() == 225_034
    # conv → norm → activation → dropout → pool inside a layer
    names = [row.name for row in layer_rows(model)]
    assert names.index("conv_1") < names.index("conv_1_relu") < names.index("conv_1_dropout") < names.index("conv_1_pool")


def test_builder_is_pure():
    config = parse_config(yaml.safe_load(TUTORIAL))
    first, second = build_model(config, (28, 28, 1), 10), build_model(config, (28, 28, 1), 10)
    assert [r for r in layer_rows(first)] == [r for r in layer_rows(second)]


def test_norms_and_rgb_input():
    raw = yaml.safe_load(TUTORIAL)
    raw["input_features"][0]["encoder"]["conv_layers"][0]["norm"] = "batch"
    model = build_model(parse_config(raw), (32, 32, 3), 4)
    types = [row.layer_type for row in layer_rows(model)]
    assert "BatchNormalization" in types and model.input_shape == (None, 32, 32, 3)


def test_too_many_layers_for_the_image_is_a_config_error():
    raw = yaml.safe_load(TUTORIAL)
    raw["input_features"][0]["encoder"]["conv_layers"] *= 3
    with pytest.raises(ConfigError, match="does not fit"):
        build_model(parse_config(raw), (28, 28, 1), 10)
