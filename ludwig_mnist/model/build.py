"""Model stage: a pure builder from the typed config and the training metadata.

    uint8 image (B, H, W, C) → /255 → [augmentation, training only] → [imagenet standardisation]
        → [input adaptation: upsample or pad to the encoder's minimum, gray → RGB] → encoder (registry)
        → combiner fc → decoder fc → softmax (or sigmoid) (B, num_classes)

``build_model`` does no I/O and no training; the same config and metadata always give the same
architecture, which is how saved weights are reloaded (artifacts/model_dir.py) and local pretrained
weights are put in (artifacts/weights.py).
"""

from __future__ import annotations

import keras
from keras import layers

from ..config.schema import ExperimentConfig
from ..results import LayerRow
from .augment import augmentation_layers
from .blocks import fc_stack
from .blocks import keras_initializer as initializer
from .encoders import ENCODERS, TorchvisionEncoder
from .parts import mark_encoder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def make_regularizer(config: ExperimentConfig):
    """Ludwig's trainer.regularization_type/lambda as a Keras kernel regularizer (None when lambda is 0)."""
    strength = config.trainer.regularization_lambda
    if strength <= 0:
        return None
    kind = config.trainer.regularization_type
    if kind == "l1":
        return keras.regularizers.L1(strength)
    if kind == "l2":
        return keras.regularizers.L2(strength)
    return keras.regularizers.L1L2(l1=strength, l2=strength)


def input_adaptation(config: ExperimentConfig, image_shape: tuple[int, int, int]) -> tuple[tuple[int, int, int], list[str]]:
    """What the encoder needs from a (H, W, C) input: (adapted shape, notes for the log and report)."""
    encoder = config.input_feature.encoder
    entry = ENCODERS[encoder.type]
    height, width, channels = image_shape
    notes = []
    minimum = entry.min_input_size
    if height < minimum or width < minimum:
        how = "zero-padded" if entry.input_fit == "pad" else "upsampled (bilinear)"
        new_h, new_w = max(height, minimum), max(width, minimum)
        notes.append(f"{how} the {height}x{width} images to {new_h}x{new_w}, the smallest input {encoder.type} accepts")
        height, width = new_h, new_w
    if entry.rgb_only and channels == 1:
        notes.append(f"repeated the grayscale channel 3 times: {encoder.type} expects RGB input")
        channels = 3
    return (height, width, channels), notes


def build_model(config: ExperimentConfig, image_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """image_shape: (H, W, C) of the uint8 input; returns an uncompiled model with softmax output."""
    feature_in, feature_out = config.input_feature, config.output_feature
    regularizer = make_regularizer(config)
    inputs = keras.Input(shape=image_shape, dtype="uint8", name=feature_in.name)
    x = layers.Rescaling(1.0 / 255, name="scale_to_unit")(inputs)  # pixels are uint8, divided by 255 at the input
    for layer in augmentation_layers(feature_in.augmentation):  # identity at inference
        x = layer(x)
    if feature_in.preprocessing.standardize_image == "imagenet1k":
        channels = image_shape[2]
        x = layers.Normalization(mean=IMAGENET_MEAN[:channels] if channels == 3 else sum(IMAGENET_MEAN) / 3,
                                 variance=[s * s for s in IMAGENET_STD][:channels] if channels == 3
                                 else (sum(IMAGENET_STD) / 3) ** 2, name="imagenet_standardize")(x)
    (height, width, channels), _ = input_adaptation(config, image_shape)
    if (height, width) != image_shape[:2]:
        if ENCODERS[feature_in.encoder.type].input_fit == "pad":
            pad_h, pad_w = height - image_shape[0], width - image_shape[1]
            x = layers.ZeroPadding2D(((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)),
                                     name="pad_input")(x)
        else:
            x = layers.Resizing(height, width, interpolation="bilinear", name="upsample_input")(x)
    if channels != image_shape[2]:
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])  # (B, H, W, 1) → (B, H, W, 3)
    encoder_input = x
    x = ENCODERS[feature_in.encoder.type].build(x, feature_in.encoder, regularizer)
    encoder_layers = mark_encoder(encoder_input, x)  # what --encoder_from copies (model/parts.py)
    if not getattr(feature_in.encoder, "trainable", True) and ENCODERS[feature_in.encoder.type].schema \
            is not TorchvisionEncoder:  # the torchvision builder freezes Ludwig's part of its network itself
        for layer in encoder_layers:
            layer.trainable = False
    x = fc_stack(x, config.combiner.fc_stack(), "combiner_fc", regularizer, residual=config.combiner.residual)
    decoder = feature_out.decoder
    x = fc_stack(x, decoder.fc_stack(), "decoder_fc", regularizer)
    if feature_out.type == "binary":  # Ludwig's regressor decoder: one logit, then the sigmoid → (B, 1)
        outputs = layers.Dense(1, activation="sigmoid", use_bias=decoder.use_bias,
                               kernel_initializer=initializer(decoder.weights_initializer),
                               bias_initializer=initializer(decoder.bias_initializer), kernel_regularizer=regularizer,
                               name=feature_out.name)(x)  # (B, 1)
        return keras.Model(inputs, outputs, name="ludwig_mnist_classifier")
    # mean_squared_error (deeplay's comparison) fits independent sigmoid outputs to one-hot targets.
    activation = "sigmoid" if feature_out.loss.type == "mean_squared_error" else "softmax"
    outputs = layers.Dense(num_classes, activation=activation, use_bias=decoder.use_bias,
                           kernel_initializer=initializer(decoder.weights_initializer),
                           bias_initializer=initializer(decoder.bias_initializer), kernel_regularizer=regularizer,
                           name=feature_out.name)(x)  # (B, num_classes)
    return keras.Model(inputs, outputs, name="ludwig_mnist_classifier")


def layer_rows(model: keras.Model) -> tuple[LayerRow, ...]:
    """(name, type, output shape, parameter count) per layer, for the log and the report."""
    rows = []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = str(tuple(shape.shape)) if shape is not None else ""
        rows.append(LayerRow(layer.name, type(layer).__name__, shape.replace("None", "None"), int(layer.count_params())))
    return tuple(rows)


def format_summary(rows: tuple[LayerRow, ...], trainable: int, total: int) -> str:
    width = max(len(r.name) for r in rows) + 2
    lines = [f"{'layer':<{width}}{'type':<22}{'output shape':<24}{'params':>10}"]
    lines += [f"{r.name:<{width}}{r.layer_type:<22}{r.output_shape:<24}{r.params:>10,}" for r in rows]
    lines.append(f"total parameters: {total:,} (trainable {trainable:,})")
    return "\n".join(lines)
