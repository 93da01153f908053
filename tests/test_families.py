"""The families written here in torchvision's layout (alexnet, googlenet, squeezenet, shufflenet_v2, mnasnet,
resnext, wide_resnet, regnet): sizes equal torchvision's, refusals name the closest, and a batch-norm network
trained from scratch is evaluated with statistics of its own weights."""

from __future__ import annotations

import numpy as np
import pytest

from ludwig_mnist.config.load import parse_config
from ludwig_mnist.errors import ConfigError
from ludwig_mnist.model.families import FAMILIES, NOT_BUILT, backbone_name

WRITTEN_HERE = ("alexnet", "googlenet", "squeezenet", "shufflenet_v2", "mnasnet", "resnext", "wide_resnet", "regnet")


def config_of(encoder: dict):
    return parse_config({"input_features": [{"name": "image_path", "type": "image", "encoder": encoder}],
                         "output_features": [{"name": "label", "type": "category"}]})


def trainable_count(model) -> int:
    """torch's parameter count (Keras's batch-norm moving statistics are buffers in torch)."""
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def backbone(family, variant, shape=(28, 28, 1), classes=3):
    from ludwig_mnist.model.build import build_model

    model = build_model(config_of({"type": family, "model_variant": variant, "use_pretrained": False}), shape, classes)
    return model, model.get_layer(backbone_name(family, variant))


def test_every_ludwig_family_is_built_or_refused_and_the_variant_lists_are_ludwig_s():
    ludwig = {"alexnet", "convnext", "densenet", "efficientnet", "googlenet", "inceptionv3", "maxvit", "mnasnet",
              "mobilenetv2", "mobilenetv3", "regnet", "resnet", "resnext", "shufflenet_v2", "squeezenet",
              "swin_transformer", "vit", "vgg", "wide_resnet"}
    assert ludwig <= set(FAMILIES) | set(NOT_BUILT)
    assert set(WRITTEN_HERE) <= set(FAMILIES) and not set(WRITTEN_HERE) & set(NOT_BUILT)
    assert FAMILIES["mnasnet"].variants == ("0_5", "0_75", "1_0", "1_3")
    assert FAMILIES["shufflenet_v2"].variants == ("x0_5", "x1_0", "x1_5", "x2_0")
    assert FAMILIES["resnext"].variants == ("50_32x4d", "101_32x8d", "101_64x4d")
    assert FAMILIES["regnet"].variants[0] == "x_1_6gf" and len(FAMILIES["regnet"].variants) == 15
    # Ludwig's defaults (its schema's model_variant default)
    for family, default in (("alexnet", "base"), ("squeezenet", "1_0"), ("wide_resnet", "50_2"), ("regnet", "x_1_6gf")):
        assert config_of({"type": family, "use_pretrained": False}).input_feature.encoder.variant == default


@pytest.mark.parametrize("family,variant,features,torchvision_params,removed", [
    # torchvision's num_params less what Ludwig replaces by Identity (in_features*1000 + 1000)
    ("squeezenet", "1_0", 1000, 1_248_424, 0),  # Ludwig removes nothing: the output is the 1000-way conv, pooled
    ("squeezenet", "1_1", 1000, 1_235_496, 0),
    ("shufflenet_v2", "x0_5", 1024, 1_366_792, 1_025_000),
    ("mnasnet", "0_5", 1280, 2_218_512, 1_281_000),
    ("googlenet", "base", 1024, 6_624_904, 1_025_000),
    ("regnet", "x_400mf", 400, 5_495_976, 401_000),
    ("regnet", "y_400mf", 440, 4_344_144, 441_000),
])
def test_parameter_counts_equal_torchvision_less_ludwig_s_identity(family, variant, features, torchvision_params,
                                                                   removed):
    model, base = backbone(family, variant)
    assert model.output_shape == (None, 3)
    assert base.output_shape == (None, features)
    assert trainable_count(base) == torchvision_params - removed


@pytest.mark.slow
@pytest.mark.parametrize("family,variant,torchvision_params,removed", [
    ("alexnet", "base", 61_100_840, 4_097_000),
    ("resnext", "50_32x4d", 25_028_904, 2_049_000),
])
def test_parameter_counts_of_the_larger_ones(family, variant, torchvision_params, removed):
    _, base = backbone(family, variant)
    assert trainable_count(base) == torchvision_params - removed


def test_small_gray_inputs_are_adapted_to_each_family_s_minimum():
    from ludwig_mnist.model.build import input_adaptation

    (height, width, channels), notes = input_adaptation(
        config_of({"type": "alexnet", "use_pretrained": False}), (28, 28, 1))
    assert (height, width, channels) == (63, 63, 3)  # torch's AlexNet needs 63x63 too
    assert any("63x63" in note for note in notes) and any("grayscale" in note for note in notes)
    model, base = backbone("shufflenet_v2", "x0_5", (16, 16, 1))
    assert base.input_shape == (None, 32, 32, 3)


@pytest.mark.parametrize("encoder,expected", [
    ({"type": "regnet", "model_variant": "y_400"}, "did you mean 'y_400mf'?"),
    ({"type": "resnet", "model_variant": 51}, "did you mean 50?"),
    ({"type": "shufflenet_v2", "model_variant": "x1"}, "x0_5, x1_0, x1_5, x2_0"),
    ({"type": "densenet", "model_variant": 161}, "closest available: densenet 121, 169 or 201"),
    ({"type": "vit"}, "closest available: convnext"),
])
def test_unknown_or_unbuilt_variants_fail_in_one_line_naming_the_closest(encoder, expected):
    with pytest.raises(ConfigError) as caught:
        config_of({**encoder, "use_pretrained": False})
    message = str(caught.value)
    assert expected in message and "\n" not in message and "input_features.0.encoder" in message


def test_written_here_families_have_no_keras_imagenet_weights_and_say_so():
    with pytest.raises(ConfigError, match="Keras has no ImageNet weights for mnasnet 0_5"):
        config_of({"type": "mnasnet"})  # Ludwig's default use_pretrained: true


def test_channel_shuffle_is_torchvision_s():
    from ludwig_mnist.model.mobile import ChannelShuffle

    x = np.arange(6, dtype="float32").reshape(1, 1, 1, 6)  # channels [a0 a1 a2 | b0 b1 b2]
    assert np.asarray(ChannelShuffle(2)(x)).ravel().tolist() == [0, 3, 1, 4, 2, 5]


def test_every_batch_norm_runs_with_torch_s_momentum():
    import keras

    _, base = backbone("mnasnet", "0_5")  # torchvision's own MNASNet momentum would be 0.0003 (Keras 0.9997)
    norms = [layer for layer in base._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and {layer.momentum for layer in norms} == {0.9}
