"""The builder of Ludwig's torchvision families: a named backbone sub-model, Ludwig's kept head, the inputs.

    x (B, H, W, 3) in [0, 1] → [pretrained: the family's preprocess_input on 0-255 pixels]
        → backbone (a nested keras.Model named e.g. resnet18, vgg16, efficientnetb0) → Ludwig's kept head
        → (B, F)

Pretrained weights are put into the backbone afterwards by artifacts/weights.py; this builder does no I/O.
Batch norm runs with torch's momentum (0.1, Keras 0.9) in every family: keras.applications' 0.99 keeps the
evaluation statistics near their initial values for hundreds of steps, which held ResNet50 at chance.
"""

from __future__ import annotations

from .families import FAMILIES, backbone_name

KERAS_MODULES = {"ResNet": "resnet", "VGG": "vgg16", "DenseNet": "densenet", "MobileNetV2": "mobilenet_v2",
                 "InceptionV3": "inception_v3"}


def uses_pretrained(encoder) -> bool:
    return bool(encoder.use_pretrained or encoder.pretrained_weights)


def _preprocess(x, family: str, constructor: str, pretrained: bool):
    """What the backbone's weights expect: 0-255 pixels through the family's own preprocess_input."""
    import keras

    mode = FAMILIES[family].preprocess
    if mode == "builtin":  # EfficientNet, MobileNetV3, ConvNeXt rescale 0-255 pixels themselves
        return keras.layers.Rescaling(255.0, name="to_pixels")(x)
    if not pretrained:
        return x  # from scratch: the [0, 1] input as every other encoder gets it
    x = keras.layers.Rescaling(255.0, name="to_pixels")(x)
    if constructor == "hand":  # weights converted from torchvision expect its ImageNet standardisation
        return keras.applications.imagenet_utils.preprocess_input(x, mode="torch")
    module = next(m for prefix, m in KERAS_MODULES.items() if constructor.startswith(prefix))
    return getattr(keras.applications, module).preprocess_input(x)


def _hand_built(family: str, variant, shape, name: str):
    """The networks written here, in torchvision's layout: (B, H, W, 3) → (B, F) (vgg: its conv features)."""
    from . import classic, googlenet, mobile, regnet, resnext
    from .resnet import resnet_basic
    from .vgg import vgg_features

    if family == "resnet":
        return resnet_basic(shape, variant, name)
    if family == "vgg":
        return vgg_features(shape, int(str(variant).split("_")[0]), str(variant).endswith("_bn"), name)
    if family in ("resnext", "wide_resnet"):
        return resnext.bottleneck_resnet(shape, family, variant, name)
    builders = {"alexnet": classic.alexnet, "squeezenet": classic.squeezenet, "googlenet": googlenet.googlenet,
                "shufflenet_v2": mobile.shufflenet_v2, "mnasnet": mobile.mnasnet, "regnet": regnet.regnet}
    return builders[family](shape, variant, name)


def _torch_batch_norm_momentum(model) -> None:
    import keras

    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9


def build_family(x, encoder, regularizer=None):
    """(B, H, W, 3) → (B, F) for encoder.type in FAMILIES at encoder.variant."""
    import keras
    from keras import layers

    from .vgg import vgg_head

    family, variant = encoder.type, encoder.variant
    constructor = FAMILIES[family].built[variant]
    name = backbone_name(family, variant)
    x = _preprocess(x, family, constructor, uses_pretrained(encoder))
    shape = tuple(x.shape[1:])
    if constructor == "hand":
        base = _hand_built(family, variant, shape, name)
    else:
        kwargs = {"include_top": False, "weights": None, "input_shape": shape}
        if family != "vgg":
            kwargs["pooling"] = "avg"
        base = getattr(keras.applications, constructor)(**kwargs)
        base.name = name  # not the name argument: EfficientNetV2 looks its block table up by that name
    _torch_batch_norm_momentum(base)
    base.trainable = encoder.trainable
    x = base(x)
    if family == "vgg":
        x = vgg_head(x, regularizer, encoder.trainable)  # (B, 4096), Ludwig keeps both 4096 fc layers
    elif family == "mobilenetv3":  # Ludwig keeps classifier[0..2]: Linear → Hardswish → Dropout 0.2
        x = layers.Dense(1024 if variant == "small" else 1280, kernel_regularizer=regularizer,
                         name="mobilenetv3_fc", trainable=encoder.trainable)(x)
        x = layers.Activation("hard_swish", name="mobilenetv3_hardswish")(x)
        x = layers.Dropout(0.2, name="mobilenetv3_dropout")(x)
    elif family == "convnext":  # Ludwig keeps the head's LayerNorm2d (eps 1e-6) on the pooled features
        x = layers.LayerNormalization(epsilon=1e-6, name="convnext_head_norm", trainable=encoder.trainable)(x)
    return x
