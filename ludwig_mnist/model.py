"""Model stage: a pure builder from the typed config and the training metadata.

    uint8 image (B, H, W, C) → /255 → [augmentation, training only] → [input adaptation]
        → encoder → combiner fc → decoder fc → softmax (or sigmoid) (B, num_classes)

Encoders live in a small registry keyed by the config's ``encoder.type``.
``build_model`` does no I/O and no training; the same config and metadata
always give the same architecture, which is how saved weights are reloaded.
"""

from __future__ import annotations

from typing import Callable

import keras
from keras import layers

from .augment import augmentation_layers
from .config import (ConvLayer, ExperimentConfig, FCLayer, KerasApplicationEncoder, LeNetEncoder, MLPEncoder,
                     StackedCNNEncoder)
from .errors import ConfigError
from .results import LayerRow

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# keras.applications refuse inputs smaller than 32x32; LeNet-5 was designed for 32x32 (MNIST padded by 2).
MIN_INPUT_SIZE = {"lenet": 32, "vgg": 32, "resnet": 32}

ACTIVATION_NAMES = {"leakyRelu": "leaky_relu", "linear": None}


def _activation(name: str | None) -> str | None:
    return ACTIVATION_NAMES.get(name, name) if name else None


def _norm(kind: str | None, name: str) -> layers.Layer | None:
    if kind == "batch":
        return layers.BatchNormalization(name=name)
    if kind == "layer":
        return layers.LayerNormalization(name=name)
    return None


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


def _norm_activation_dropout(x, layer: ConvLayer | FCLayer, prefix: str):
    """The part Ludwig's conv and fc layers share, in its order: norm → activation → dropout."""
    norm = _norm(layer.norm, f"{prefix}_norm")
    if norm is not None:
        x = norm(x)
    if layer.activation:
        x = layers.Activation(_activation(layer.activation), name=f"{prefix}_{layer.activation}")(x)
    if layer.dropout > 0:
        x = layers.Dropout(layer.dropout, name=f"{prefix}_dropout")(x)
    return x


def _conv_block(x, layer: ConvLayer, index: int, regularizer=None):
    """Ludwig's order inside a conv layer: conv → norm → activation → dropout → pool."""
    prefix = f"conv_{index}"
    x = layers.Conv2D(layer.out_channels, layer.kernel_size, strides=layer.stride, padding=layer.padding,
                      dilation_rate=layer.dilation, use_bias=layer.use_bias, kernel_regularizer=regularizer,
                      name=prefix)(x)
    x = _norm_activation_dropout(x, layer, prefix)
    if layer.pool_kernel_size:
        pool = layers.MaxPooling2D if layer.pool_function == "max" else layers.AveragePooling2D
        x = pool(pool_size=layer.pool_kernel_size, strides=layer.pool_stride or layer.pool_kernel_size,
                 padding=layer.pool_padding, name=f"{prefix}_pool")(x)
    return x


def fc_stack(x, fc_layers: tuple[FCLayer, ...], prefix: str, regularizer=None):
    for index, layer in enumerate(fc_layers):
        name = f"{prefix}_{index}"
        x = layers.Dense(layer.output_size, use_bias=layer.use_bias, kernel_regularizer=regularizer, name=name)(x)
        x = _norm_activation_dropout(x, layer, name)
    return x


def stacked_cnn(x, encoder: StackedCNNEncoder, regularizer=None):
    for index, conv in enumerate(encoder.resolved_conv_layers()):
        height, width = x.shape[1], x.shape[2]
        smallest = conv.kernel_size + (conv.kernel_size - 1) * (conv.dilation - 1) if conv.padding == "valid" else 1
        if height < smallest or width < smallest:
            raise ConfigError(f"config key 'input_features.0.encoder.conv_layers.{index}': its {conv.kernel_size}x"
                              f"{conv.kernel_size} kernel does not fit the {height}x{width} feature map left by the "
                              "layers before it; use fewer conv layers, padding: same, or larger images")
        x = _conv_block(x, conv, index, regularizer)
        if x.shape[1] < 1 or x.shape[2] < 1:
            raise ConfigError(f"config key 'input_features.0.encoder.conv_layers.{index}': pooling shrinks the "
                              "feature map to nothing; use a smaller pool_kernel_size or fewer layers")
    x = layers.Flatten(name="flatten")(x)
    return fc_stack(x, encoder.resolved_fc_layers(), "encoder_fc", regularizer)


def mlp(x, encoder: MLPEncoder, regularizer=None):
    x = layers.Flatten(name="flatten")(x)  # (B, H*W*C)
    return fc_stack(x, encoder.resolved_fc_layers(), "encoder_fc", regularizer)


def lenet(x, encoder: LeNetEncoder, regularizer=None):
    """LeNet-5 (LeCun et al. 1998) on a 32x32 input: (B,32,32,C) → 6@28x28 → 14x14 → 16@10x10 → 5x5 → 120 → 84."""
    for index, filters in enumerate((6, 16)):
        conv = ConvLayer(out_channels=filters, kernel_size=5, activation=encoder.activation,
                         pool_function=encoder.pool_function, pool_kernel_size=2)
        x = _conv_block(x, conv, index, regularizer)
    x = layers.Flatten(name="flatten")(x)
    return fc_stack(x, tuple(FCLayer(output_size=size, activation=encoder.activation, dropout=encoder.dropout)
                             for size in (120, 84)), "encoder_fc", regularizer)


def keras_application(x, encoder: KerasApplicationEncoder, regularizer=None):
    """VGG16/19 or ResNet50/101/152 without its top, weights=None (no download), global average pooled."""
    constructors = {("vgg", 16): keras.applications.VGG16, ("vgg", 19): keras.applications.VGG19,
                    ("resnet", 50): keras.applications.ResNet50, ("resnet", 101): keras.applications.ResNet101,
                    ("resnet", 152): keras.applications.ResNet152}
    base = constructors[(encoder.type, encoder.variant)](include_top=False, weights=None, input_shape=tuple(x.shape[1:]),
                                                         pooling="avg")
    if encoder.pretrained_weights:
        try:
            base.load_weights(encoder.pretrained_weights)
        except (OSError, ValueError) as err:
            raise ConfigError(f"config key 'input_features.0.encoder.pretrained_weights': cannot load "
                              f"{encoder.pretrained_weights} into {encoder.type}{encoder.variant} without top: "
                              f"{str(err).splitlines()[0]}") from None
    base.trainable = encoder.trainable
    x = base(x)  # (B, features)
    return fc_stack(x, tuple(FCLayer(output_size=encoder.output_size, dropout=encoder.dropout)
                             for _ in range(encoder.num_fc_layers)), "encoder_fc", regularizer)


ENCODERS: dict[str, Callable] = {"stacked_cnn": stacked_cnn, "mlp": mlp, "lenet": lenet,
                                 "vgg": keras_application, "resnet": keras_application}


def input_adaptation(config: ExperimentConfig, image_shape: tuple[int, int, int]) -> tuple[tuple[int, int, int], list[str]]:
    """What the encoder needs from a (H, W, C) input: (adapted shape, notes for the log and report)."""
    encoder = config.input_feature.encoder
    height, width, channels = image_shape
    notes = []
    minimum = MIN_INPUT_SIZE.get(encoder.type, 1)
    if height < minimum or width < minimum:
        how = "zero-padded" if encoder.type == "lenet" else "upsampled (bilinear)"
        new_h, new_w = max(height, minimum), max(width, minimum)
        notes.append(f"{how} the {height}x{width} images to {new_h}x{new_w}, the smallest input {encoder.type} accepts")
        height, width = new_h, new_w
    if isinstance(encoder, KerasApplicationEncoder) and channels == 1:
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
        if feature_in.encoder.type == "lenet":
            pad_h, pad_w = height - image_shape[0], width - image_shape[1]
            x = layers.ZeroPadding2D(((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)),
                                     name="pad_input")(x)
        else:
            x = layers.Resizing(height, width, interpolation="bilinear", name="upsample_input")(x)
    if channels != image_shape[2]:
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])  # (B, H, W, 1) → (B, H, W, 3)
    x = ENCODERS[feature_in.encoder.type](x, feature_in.encoder, regularizer)
    combiner = config.combiner
    x = fc_stack(x, tuple(FCLayer(output_size=combiner.output_size, activation=combiner.activation,
                                  dropout=combiner.dropout, norm=combiner.norm)
                          for _ in range(combiner.num_fc_layers)), "combiner_fc", regularizer)
    decoder = feature_out.decoder
    x = fc_stack(x, tuple(FCLayer(output_size=decoder.fc_output_size, activation=decoder.fc_activation,
                                  dropout=decoder.fc_dropout) for _ in range(decoder.num_fc_layers)), "decoder_fc",
                 regularizer)
    # mean_squared_error (deeplay's comparison) fits independent sigmoid outputs to one-hot targets.
    activation = "sigmoid" if feature_out.loss.type == "mean_squared_error" else "softmax"
    outputs = layers.Dense(num_classes, activation=activation, kernel_regularizer=regularizer,
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
