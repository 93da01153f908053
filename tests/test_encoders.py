"""Ludwig 0.10's torchvision encoder families built in Keras: schema, sizes, pretrained weights, refusals."""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest

from ludwig_mnist.config.load import parse_config
from ludwig_mnist.errors import ConfigError
from ludwig_mnist.model.families import FAMILIES, NOT_BUILT

# Families/variants cheap enough to build on 2 shared cores; the big ones are marked slow.
FAST = {("resnet", 18), ("resnet", 34), ("resnet", 50), ("densenet", 121), ("efficientnet", "b0"),
        ("mobilenetv2", "base"), ("mobilenetv3", "small"), ("mobilenetv3", "large"), ("convnext", "tiny"),
        ("inceptionv3", "base"), ("vgg", 11), ("vgg", "11_bn")}
# the families written in torchvision's layout after resnet/vgg are covered by tests/test_families.py (sizes of
# representative variants) and tests/test_layout.py (each default builds): building all their 36 variants here,
# up to regnet y_128gf's 645M weights, would cost CI minutes
TEST_FAMILIES = {"alexnet", "googlenet", "squeezenet", "shufflenet_v2", "mnasnet", "resnext", "wide_resnet", "regnet"}
BUILT = [(family, variant) for family, entry in FAMILIES.items() for variant in entry.variants
         if variant in entry.built and family not in TEST_FAMILIES]


def config_of(encoder: dict):
    return parse_config({"input_features": [{"name": "image_path", "type": "image", "encoder": encoder}],
                         "output_features": [{"name": "label", "type": "category"}]})


def backbone_of(model):
    import keras

    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def trainable_count(model) -> int:
    """torch's parameter count: Keras's batch-norm moving statistics are buffers in torch, not parameters."""
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_ludwig_defaults_and_variant_lists():
    assert FAMILIES["vgg"].variants == (11, "11_bn", 13, "13_bn", 16, "16_bn", 19, "19_bn")
    assert set(FAMILIES["resnet"].variants) == {18, 34, 50, 101, 152}
    encoder = config_of({"type": "resnet", "use_pretrained": False}).input_feature.encoder
    assert (encoder.variant, encoder.trainable, encoder.model_cache_dir) == (50, True, None)
    vgg = config_of({"type": "vgg", "use_pretrained": False}).input_feature.encoder
    assert vgg.variant == 11
    # Ludwig's default is use_pretrained: true (ResNet50 has Keras ImageNet weights, so it is accepted)
    assert config_of({"type": "resnet"}).input_feature.encoder.use_pretrained is True
    assert config_of({"type": "efficientnet", "use_pretrained": False}).input_feature.encoder.variant == "b0"
    assert config_of({"type": "convnext", "use_pretrained": False}).input_feature.encoder.variant == "base"


@pytest.mark.parametrize("family,variant", [pytest.param(f, v, marks=[] if (f, v) in FAST else [pytest.mark.slow])
                                            for f, v in BUILT])
def test_every_built_variant_builds_on_small_gray_inputs(family, variant):
    from ludwig_mnist.model.build import build_model
    from ludwig_mnist.model.families import backbone_name

    model = build_model(config_of({"type": family, "model_variant": variant, "use_pretrained": False}),
                        (28, 28, 1), 3)
    assert model.output_shape == (None, 3)
    assert backbone_of(model).name == backbone_name(family, variant)
    names = [layer.name for layer in model.layers]
    assert "gray_to_rgb" in names and "upsample_input" in names


@pytest.mark.parametrize("encoder,expected", [
    # torchvision's resnet18 (11,689,512) and resnet34 (21,797,672) less fc 512*1000+1000 (Ludwig's Identity)
    ({"type": "resnet", "model_variant": 18}, 11_689_512 - 513_000),
    ({"type": "resnet", "model_variant": 34}, 21_797_672 - 513_000),
    # torchvision's vgg11 (132,863,336) less its last Linear 4096*1000+1000
    ({"type": "vgg", "model_variant": 11}, 132_863_336 - 4_097_000),
])
def test_parameter_counts_equal_torchvision_with_ludwig_head(encoder, expected):
    from ludwig_mnist.model.build import build_model

    model = build_model(config_of({**encoder, "use_pretrained": False}), (32, 32, 3), 10)
    decoder = model.get_layer("label").count_params()  # 512*10+10 or 4096*10+10
    assert trainable_count(model) - decoder == expected


def test_batch_norm_is_torch_s_in_every_family():
    import keras

    from ludwig_mnist.model.build import build_model

    for encoder in ({"type": "resnet", "model_variant": 18}, {"type": "resnet", "model_variant": 50},
                    {"type": "vgg", "model_variant": "11_bn"}):
        model = build_model(config_of({**encoder, "use_pretrained": False}), (32, 32, 3), 2)
        norms = [layer for layer in backbone_of(model)._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
        assert norms and {n.momentum for n in norms} == {0.9}
    assert {n.epsilon for n in norms} == {1e-5}  # the hand-built ones have torch's eps too


def test_adaptive_pool_matches_torch_bins():
    from ludwig_mnist.model.vgg import AdaptiveAveragePooling2D

    x = np.arange(2 * 3 * 3 * 1, dtype="float32").reshape(2, 3, 3, 1)
    out = np.asarray(AdaptiveAveragePooling2D(2)(x))
    # torch: bins [0, 2) and [1, 3) on each axis
    assert out[0, 0, 0, 0] == pytest.approx(np.mean(x[0, 0:2, 0:2, 0]))
    assert out[1, 1, 1, 0] == pytest.approx(np.mean(x[1, 1:3, 1:3, 0]))
    one = np.asarray(AdaptiveAveragePooling2D(7)(np.ones((1, 1, 1, 2), "float32") * 3))
    assert one.shape == (1, 7, 7, 2) and np.all(one == 3)


def _keras_weights_file(path, network):
    """A weights file as Keras ships them (legacy HDF5), from a freshly built network."""
    from keras.src.legacy.saving import legacy_h5_format

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, network)


def test_use_pretrained_loads_keras_imagenet_file_from_the_cache(tmp_path, monkeypatch):
    import keras

    from ludwig_mnist.artifacts.weights import load_pretrained_weights
    from ludwig_mnist.model.build import build_model

    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: pytest.fail("nothing may download"))
    config = config_of({"type": "mobilenetv3", "model_variant": "small", "model_cache_dir": str(tmp_path)})
    model = build_model(config, (32, 32, 3), 2)
    donor = keras.applications.MobileNetV3Small(include_top=False, weights=None, input_shape=(32, 32, 3),
                                                pooling="avg")
    for weight in donor.weights:
        weight.assign(np.full(weight.shape, 0.25, weight.dtype))
    file = tmp_path / "models" / FAMILIES["mobilenetv3"].weights["small"].file_name
    _keras_weights_file(file, donor)
    loaded = load_pretrained_weights(model, config)
    assert loaded.source == "keras-download" and loaded.path == str(file) and len(loaded.sha256) == 64
    assert (loaded.family, loaded.variant) == ("mobilenetv3", "small")
    assert all(np.all(np.asarray(w) == 0.25) for w in backbone_of(model).weights)
    assert "to_pixels" in [layer.name for layer in model.layers]  # fed the 0-255 pixels its weights expect


def test_pretrained_caffe_family_gets_its_preprocess_input():
    from ludwig_mnist.model.build import build_model

    scratch = build_model(config_of({"type": "resnet", "model_variant": 50, "use_pretrained": False}), (32, 32, 3), 2)
    pretrained = build_model(config_of({"type": "resnet", "model_variant": 50}), (32, 32, 3), 2)
    assert "to_pixels" not in [layer.name for layer in scratch.layers]
    assert "to_pixels" in [layer.name for layer in pretrained.layers]


def test_offline_without_cached_weights_is_one_line_naming_the_file(tmp_path, monkeypatch):
    import keras

    from ludwig_mnist.artifacts.weights import load_pretrained_weights
    from ludwig_mnist.model.build import build_model

    def offline(*args, **kwargs):
        raise Exception(  # noqa: TRY002 - what get_file raises
            "URL fetch failure on https://storage.googleapis.com/...: None -- no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    config = config_of({"type": "mobilenetv3", "model_variant": "small", "model_cache_dir": str(tmp_path)})
    with pytest.raises(ConfigError) as err:
        load_pretrained_weights(build_model(config, (32, 32, 3), 2), config)
    message = str(err.value)
    assert "\n" not in message and "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5" in message
    assert str(tmp_path / "models") in message and "use_pretrained: false" in message


def test_local_pretrained_weights_file_still_works(tmp_path):
    from ludwig_mnist.artifacts.weights import load_pretrained_weights
    from ludwig_mnist.model.build import build_model

    donor_model = build_model(config_of({"type": "resnet", "model_variant": 18, "use_pretrained": False}),
                              (32, 32, 3), 2)
    donor = backbone_of(donor_model)
    for weight in donor.weights:
        weight.assign(np.full(weight.shape, 0.5, weight.dtype))
    file = tmp_path / "resnet18_notop.h5"
    _keras_weights_file(file, donor)
    config = config_of({"type": "resnet", "model_variant": 18, "pretrained_weights": str(file)})
    model = build_model(config, (32, 32, 3), 2)
    loaded = load_pretrained_weights(model, config)
    assert (loaded.family, loaded.variant, loaded.source, loaded.path) == ("resnet", "18", "file", str(file))
    assert loaded.sha256 == hashlib.sha256(file.read_bytes()).hexdigest()
    assert all(np.all(np.asarray(w) == 0.5) for w in backbone_of(model).weights)


def test_hand_built_variants_have_no_keras_imagenet_weights():
    with pytest.raises(ConfigError, match="Keras has no ImageNet weights for resnet 18.*pretrained_weights"):
        config_of({"type": "resnet", "model_variant": 18})


@pytest.mark.parametrize("family", sorted(NOT_BUILT))
def test_families_keras_lacks_are_refused_naming_the_closest(family):
    with pytest.raises(ConfigError) as err:
        config_of({"type": family})
    message = str(err.value)
    assert "\n" not in message and "not available here" in message and NOT_BUILT[family][1] in message
    assert "did you mean" not in message  # no spelling guesses: googlenet must not be offered 'lenet'


def test_googlenet_is_built_here_not_taken_for_lenet():
    with pytest.raises(ConfigError, match="Keras has no ImageNet weights for googlenet base") as err:
        config_of({"type": "googlenet"})  # Ludwig's default use_pretrained: true
    assert "lenet" not in str(err.value).replace("googlenet", "")
    assert config_of({"type": "googlenet", "use_pretrained": False}).input_feature.encoder.type == "googlenet"


def test_ludwig_variant_keras_lacks_names_the_available_ones():
    with pytest.raises(ConfigError, match="densenet 161 is a Ludwig variant.*densenet 121, 169 or 201"):
        config_of({"type": "densenet", "model_variant": 161, "use_pretrained": False})
    with pytest.raises(ConfigError, match="vgg comes in variants 11, 11_bn, 13.*not 12"):
        config_of({"type": "vgg", "model_variant": 12})


def test_saved_weights_in_checkpoint_is_accepted_with_a_note():
    config = config_of({"type": "resnet", "model_variant": 18, "use_pretrained": False,
                        "saved_weights_in_checkpoint": True})
    assert any("saved_weights_in_checkpoint" in note for note in config.notes)


def test_an_encoder_without_pretrained_weights_has_provenance_none():
    from ludwig_mnist.artifacts.weights import load_pretrained_weights
    from ludwig_mnist.model.build import build_model

    for encoder, variant in (({"type": "stacked_cnn"}, None), ({"type": "resnet", "model_variant": 18,
                                                                  "use_pretrained": False}, "18")):
        config = config_of(encoder)
        weights = load_pretrained_weights(build_model(config, (32, 32, 1), 2), config)
        assert (weights.family, weights.variant, weights.source, weights.path) == (encoder["type"], variant, "none",
                                                                                   None)
        assert weights.describe().endswith("none: the encoder starts from random initialisation")
