"""Model stage: the pure builder follows Ludwig's layer order and the config's sizes."""

import pytest
import yaml

from ludwig_mnist.config import parse_config
from ludwig_mnist.errors import ConfigError
from ludwig_mnist.model.build import build_model, layer_rows
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


def with_encoder(encoder, **extra):
    raw = {"input_features": [{"name": "image_path", "type": "image", "encoder": encoder, **extra}],
           "output_features": [{"name": "label", "type": "category"}]}
    return parse_config(raw)


@pytest.mark.parametrize("encoder, params", [
    ({"type": "mlp"}, 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10),  # the Keras tutorials' MLP
    ({"type": "mlp", "fc_layers": [{"output_size": 32, "activation": "sigmoid"}] * 2}, 784 * 32 + 32 + 32 * 32 + 32 + 330),
    ({"type": "lenet"}, 61_706),  # LeNet-5 with 10 outputs
])
def test_small_encoders_have_the_textbook_sizes(encoder, params):
    assert build_model(with_encoder(encoder), (28, 28, 1), 10).count_params() == params


def test_keras_applications_adapt_small_gray_inputs():
    from ludwig_mnist.model.build import input_adaptation

    config = with_encoder({"type": "vgg16"})
    shape, notes = input_adaptation(config, (28, 28, 1))
    assert shape == (32, 32, 3) and any("upsampled" in n for n in notes) and any("grayscale" in n for n in notes)
    model = build_model(config, (28, 28, 1), 10)
    assert model.output_shape == (None, 10)
    assert "vgg16" in [row.name for row in layer_rows(model)]


def test_pretrained_without_a_local_file_is_refused():
    with pytest.raises(ConfigError, match="never downloads weights"):
        with_encoder({"type": "resnet50", "use_pretrained": True})


def test_augmentation_is_training_only():
    import numpy as np

    config = with_encoder({"type": "mlp", "num_fc_layers": 1}, augmentation=True)
    model = build_model(config, (8, 8, 1), 3)
    assert [r.layer_type for r in layer_rows(model)][2:4] == ["RandomFlip", "RandomRotation"]
    images = np.random.default_rng(0).integers(0, 255, (4, 8, 8, 1), dtype=np.uint8)
    assert np.allclose(model(images, training=False), model(images, training=False))


def test_mlsteam_augmentation_names_map_to_ludwig_ops():
    config = with_encoder({"type": "mlp"}, augmentation="color_distortion")
    assert [op.type for op in config.input_feature.augmentation] == ["random_brightness", "random_contrast"]
    with pytest.raises(ConfigError, match="did you mean 'both'"):
        with_encoder({"type": "mlp"}, augmentation="bothh")
