"""Model stage: the pure builder follows Ludwig's layer order and the config's sizes."""

import pytest
import yaml
from test_config import TUTORIAL

from ludwig_mnist.config.load import parse_config
from ludwig_mnist.errors import ConfigError
from ludwig_mnist.model.build import build_model, layer_rows


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

    config = with_encoder({"type": "vgg16", "use_pretrained": False})
    shape, notes = input_adaptation(config, (28, 28, 1))
    assert shape == (32, 32, 3) and any("upsampled" in n for n in notes) and any("grayscale" in n for n in notes)
    model = build_model(config, (28, 28, 1), 10)
    assert model.output_shape == (None, 10)
    assert "vgg16" in [row.name for row in layer_rows(model)]


def test_pretrained_without_keras_weights_or_a_local_file_is_refused():
    with pytest.raises(ConfigError, match="Keras has no ImageNet weights for vgg 11_bn"):
        with_encoder({"type": "vgg", "model_variant": "11_bn", "use_pretrained": True})


def test_augmentation_is_training_only():
    """In the built model, augmentation changes every training batch and is the identity at inference."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    config = with_encoder({"type": "mlp", "num_fc_layers": 1}, augmentation=True)
    model = build_model(config, (8, 8, 1), 3)
    assert [r.layer_type for r in layer_rows(model)][2:4] == ["RandomFlip", "RandomRotation"]
    images = np.random.default_rng(0).integers(0, 255, (16, 8, 8, 1), dtype=np.uint8)
    scaled = keras.Model(model.input, model.get_layer("scale_to_unit").output)  # pixels / 255, before augmenting
    augmented = keras.Model(model.input, model.get_layer("augment_1_random_rotate").output)
    clean = np.asarray(scaled(images, training=False))
    assert np.array_equal(np.asarray(augmented(images, training=False)), clean)  # inference: untouched
    assert np.array_equal(model.predict(images, verbose=0), np.asarray(model(images, training=False)))
    in_training = np.asarray(augmented(images, training=True))
    assert all(not np.allclose(in_training[i], clean[i], atol=1e-3) for i in range(len(images)))  # every image
    # The MLP has no dropout: only augmentation makes training-mode outputs differ from inference.
    assert not np.allclose(np.asarray(model(images, training=True)), np.asarray(model(images, training=False)),
                           atol=1e-4)
    plain = build_model(with_encoder({"type": "mlp", "num_fc_layers": 1}), (8, 8, 1), 3)
    assert np.allclose(np.asarray(plain(images, training=True)), np.asarray(plain(images, training=False)))


def _noise(shape=(8, 12, 12, 1), seed=0):
    import numpy as np

    return np.random.default_rng(seed).uniform(0.0, 1.0, shape).astype("float32")


@pytest.mark.parametrize("kind", ["random_horizontal_flip", "random_vertical_flip", "random_rotate", "random_blur",
                                  "random_brightness", "random_contrast"])
def test_each_augmentation_changes_training_batches_and_not_inference(kind):
    import keras
    import numpy as np

    from ludwig_mnist.config.schema import AUGMENTATION_TYPES, AugmentationOp
    from ludwig_mnist.model.augment import augmentation_layers

    assert kind in AUGMENTATION_TYPES
    keras.utils.set_random_seed(0)
    (layer,) = augmentation_layers((AugmentationOp(type=kind),))
    assert layer.name == f"augment_0_{kind}"
    images = _noise()
    assert np.array_equal(np.asarray(layer(images, training=False)), images)
    out = np.asarray(layer(images, training=True))
    assert out.shape == images.shape and out.min() >= 0.0 and out.max() <= 1.0
    changed = [not np.allclose(out[i], images[i], atol=1e-4) for i in range(len(images))]
    assert sum(changed) >= 2
    if kind.endswith("flip"):  # each image is left as it is or mirrored, along the right axis
        axis = 1 if kind == "random_horizontal_flip" else 0
        assert all(np.array_equal(out[i], np.flip(images[i], axis)) for i in range(len(images)) if changed[i])


def test_augmentation_layers_take_the_configs_ranges():
    from ludwig_mnist.config.schema import AugmentationOp
    from ludwig_mnist.model.augment import RandomIntensityScale, augmentation_layers

    rotate, brightness, contrast = augmentation_layers((
        AugmentationOp(type="random_rotate", degree=36.0),
        AugmentationOp(type="random_brightness", min=0.7, max=1.3),
        AugmentationOp(type="random_contrast")))
    assert rotate.get_config()["factor"] == pytest.approx((-0.1, 0.1))  # a fraction of a turn: 36° = 0.1
    assert isinstance(brightness, RandomIntensityScale) and isinstance(contrast, RandomIntensityScale)
    assert (brightness.low, brightness.high, brightness.mode) == (0.7, 1.3, "brightness")
    assert (contrast.low, contrast.high, contrast.mode) == (0.5, 2.0, "contrast")  # Ludwig's defaults


def test_random_intensity_scale_brightness_draws_one_factor_per_image_in_its_range():
    import numpy as np

    from ludwig_mnist.model.augment import RandomIntensityScale

    layer = RandomIntensityScale(0.5, 2.0, "brightness", seed=1)
    images = np.full((64, 4, 4, 2), 0.25, dtype="float32")  # 0.25 * 2 = 0.5: nothing is clipped
    factors = np.asarray(layer(images, training=True)) / 0.25
    per_image = factors.reshape(64, -1)
    assert np.allclose(per_image, per_image[:, :1], rtol=1e-6)  # one factor per image, all pixels and channels
    drawn = per_image[:, 0]
    assert drawn.min() >= 0.5 - 1e-6 and drawn.max() <= 2.0 + 1e-6
    assert drawn.min() < 0.7 and drawn.max() > 1.8  # spread over the range, not one value
    assert len(np.unique(drawn.round(6))) > 50
    again = np.asarray(layer(images, training=True)) / 0.25
    assert not np.allclose(again, factors)  # a new draw per batch


def test_random_intensity_scale_contrast_scales_around_each_images_mean():
    import numpy as np

    from ludwig_mnist.model.augment import RandomIntensityScale

    layer = RandomIntensityScale(0.5, 2.0, "contrast", seed=2)
    images = (0.4 + 0.2 * _noise((32, 6, 6, 3), seed=3)).astype("float32")  # (x - mean) * 2 stays inside [0, 1]
    out = np.asarray(layer(images, training=True))
    mean = images.mean(axis=(1, 2), keepdims=True)  # per image and channel
    assert np.allclose(out.mean(axis=(1, 2), keepdims=True), mean, atol=1e-5)  # the mean is kept
    ratio = ((out - mean) / (images - mean)).reshape(32, -1)
    factor = np.median(ratio, axis=1)
    assert np.allclose(out, (images - mean) * factor[:, None, None, None] + mean, atol=1e-5)  # one factor per image
    assert factor.min() >= 0.5 - 1e-4 and factor.max() <= 2.0 + 1e-4 and factor.max() - factor.min() > 0.75


def test_random_intensity_scale_clips_to_the_unit_range_and_is_identity_at_inference():
    import keras
    import numpy as np

    from ludwig_mnist.model.augment import RandomIntensityScale

    images = np.array([0.0, 0.3, 0.8, 1.0], dtype="float32").reshape(1, 2, 2, 1)
    doubled = RandomIntensityScale(2.0, 2.0, "brightness")(images, training=True)
    assert np.allclose(np.asarray(doubled).ravel(), [0.0, 0.6, 1.0, 1.0])
    tripled = RandomIntensityScale(3.0, 3.0, "contrast")(images, training=True)  # mean 0.525
    assert np.allclose(np.asarray(tripled).ravel(), np.clip((images.ravel() - 0.525) * 3 + 0.525, 0, 1))
    for mode in ("brightness", "contrast"):
        layer = RandomIntensityScale(0.5, 2.0, mode)
        assert np.array_equal(np.asarray(layer(images, training=False)), images)
        assert np.array_equal(np.asarray(layer(images)), images)  # training unset: inference
        model = keras.Sequential([keras.Input((2, 2, 1)), layer])
        assert np.array_equal(model.predict(images, verbose=0), images)
        assert layer.compute_output_shape((None, 2, 2, 1)) == (None, 2, 2, 1)


def test_mlsteam_augmentation_names_map_to_ludwig_ops():
    config = with_encoder({"type": "mlp"}, augmentation="color_distortion")
    assert [op.type for op in config.input_feature.augmentation] == ["random_brightness", "random_contrast"]
    with pytest.raises(ConfigError, match="did you mean 'both'"):
        with_encoder({"type": "mlp"}, augmentation="bothh")
