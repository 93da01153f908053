"""Ludwig 0.10's torchvision image encoder families: their variants, defaults, and what this tool builds of them.

Keras-free (the config stage reads it).  Variant lists and defaults are Ludwig 0.10.4's
(ludwig/schema/encoders/image/torchvision.py); ``variants`` lists the default first.  What Ludwig keeps of
each torchvision network (its ``_remove_softmax_layer``) decides the encoder's output:

    resnet: fc → Identity (512 features for 18/34, 2048 for 50/101/152)
    vgg: classifier[-1] → Identity (avgpool 7x7 → fc 4096 → relu → dropout → fc 4096 → relu → dropout)
    densenet: classifier → Identity (1024/1664/1920)     efficientnet: classifier[-1] → Identity (1280 for v2)
    mobilenetv2: 1280                                     mobilenetv3: keeps fc 1024 (small) / 1280 (large)
    convnext: keeps the LayerNorm of its head (768/768/1024/1536)   inceptionv3: fc → Identity (2048)
    alexnet: classifier[-1] → Identity (4096)             googlenet: fc → Identity, aux heads removed (1024)
    squeezenet: nothing removed (its 1000-channel final conv, pooled: 1000)
    shufflenet_v2: fc → Identity (1024, 2048 for x2_0)    mnasnet: classifier[-1] → Identity (1280)
    resnext, wide_resnet: fc → Identity (2048)            regnet: fc → Identity (the last stage's width)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Weights:
    """Keras's ImageNet weights of a network without its top: its cache file name under models/, URL, md5."""

    file_name: str
    origin: str
    md5: str | None = None  # Keras's own file_hash where it gives one


@dataclass(frozen=True)
class Family:
    """One Ludwig family: Ludwig's variants (default first), the ones built here and how."""

    variants: tuple
    # variant → "hand" (written here: model/resnet.py, vgg.py, resnext.py, classic.py, googlenet.py, mobile.py,
    # regnet.py) or the keras.applications constructor name
    built: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)  # variant → Weights (Keras has ImageNet weights for it)
    # how Keras's pretrained weights expect their input: "caffe"/"torch"/"tf" (the family's preprocess_input
    # on 0-255 pixels) or "builtin" (the network rescales 0-255 itself)
    preprocess: str = "torch"
    min_input_size: int = 32  # keras.applications refuse smaller inputs; InceptionV3 needs 75, AlexNet 63
    closest: str = ""  # for variants not built: what to use instead


def _resnet_weights(depth):
    name = f"resnet{depth}_weights_tf_dim_ordering_tf_kernels_notop.h5"
    md5 = {50: "4d473c1dd8becc155b73f8504c6f6626", 101: "88cf7a10940856eca736dc7b7e228a21",
           152: "ee4c566cf9a93f14d82f913c2dc6dd0c"}[depth]
    return Weights(name, f"{KERAS_URL}resnet/{name}", md5)


def _densenet_weights(depth):
    name = f"densenet{depth}_weights_tf_dim_ordering_tf_kernels_notop.h5"
    md5 = {121: "30ee3e1110167f948a6b9946edeeb738", 169: "b8c4d4c20dd625c148057b9ff1c1176b",
           201: "c13680b51ded0fb44dff2d8f86ac8bb1"}[depth]
    return Weights(name, f"{KERAS_URL}densenet/{name}", md5)


EFFICIENTNET_MD5 = {"b0": "50bc09e76180e00e4465e1a485ddc09d", "b1": "74c4e6b3e1f6a1eea24c589628592432",
                    "b2": "111f8e2ac8aa800a7a99e3239f7bfb39", "b3": "af6d107764bb5b1abb91932881670226",
                    "b4": "ebc24e6d6c33eaebbd558eafbeedf1ba", "b5": "38879255a25d3c92d5e44e04ae6cec6f",
                    "b6": "9ecce42647a20130c1f39a5d4cb75743", "b7": "cbcfe4450ddf6f3ad90b1b398090fe4a"}

VGG_VARIANTS = (11, "11_bn", 13, "13_bn", 16, "16_bn", 19, "19_bn")
SHUFFLENET_VARIANTS = ("x0_5", "x1_0", "x1_5", "x2_0")
MNASNET_VARIANTS = ("0_5", "0_75", "1_0", "1_3")
RESNEXT_VARIANTS = ("50_32x4d", "101_32x8d", "101_64x4d")
# Ludwig's order, its default x_1_6gf first
REGNET_VARIANTS = ("x_1_6gf", "x_16gf", "x_32gf", "x_3_2gf", "x_400mf", "x_800mf", "x_8gf", "y_128gf", "y_16gf",
                   "y_1_6gf", "y_32gf", "y_3_2gf", "y_400mf", "y_800mf", "y_8gf")

FAMILIES: dict[str, Family] = {
    "resnet": Family((50, 18, 34, 101, 152),
                     built={18: "hand", 34: "hand", 50: "ResNet50", 101: "ResNet101", 152: "ResNet152"},
                     weights={d: _resnet_weights(d) for d in (50, 101, 152)}, preprocess="caffe"),
    "vgg": Family(VGG_VARIANTS, built={v: "hand" for v in VGG_VARIANTS} | {16: "VGG16", 19: "VGG19"},
                  weights={d: Weights(f"vgg{d}_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                      f"{KERAS_URL}vgg{d}/vgg{d}_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                      {16: "6d6bbae143d832006294945121d1f1fc",
                                       19: "253f8cb515780f3b799900260a226db6"}[d]) for d in (16, 19)},
                  preprocess="caffe"),
    "densenet": Family((121, 161, 169, 201), built={121: "DenseNet121", 169: "DenseNet169", 201: "DenseNet201"},
                       weights={d: _densenet_weights(d) for d in (121, 169, 201)}, preprocess="torch",
                       closest="densenet 121, 169 or 201 (161 is 169's depth with 48 growth; Keras's DenseNet "
                               "fixes the growth at 32)"),
    "efficientnet": Family(("b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "v2_s", "v2_m", "v2_l"),
                           built={**{f"b{i}": f"EfficientNetB{i}" for i in range(8)},
                                  "v2_s": "EfficientNetV2S", "v2_m": "EfficientNetV2M", "v2_l": "EfficientNetV2L"},
                           weights={**{v: Weights(f"efficientnet{v}_notop.h5",
                                                  f"https://storage.googleapis.com/keras-applications/"
                                                  f"efficientnet{v}_notop.h5", md5)
                                       for v, md5 in EFFICIENTNET_MD5.items()},
                                    **{f"v2_{s}": Weights(f"efficientnetv2-{s}_notop.h5",
                                                          f"{KERAS_URL}efficientnet_v2/efficientnetv2-{s}_notop.h5")
                                       for s in "sml"}},
                           preprocess="builtin"),
    "mobilenetv2": Family(("base",), built={"base": "MobileNetV2"}, preprocess="tf",
                          weights={"base": Weights(
                              "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
                              f"{KERAS_URL}mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5")}),
    "mobilenetv3": Family(("small", "large"), built={"small": "MobileNetV3Small", "large": "MobileNetV3Large"},
                          weights={s: Weights(f"weights_mobilenet_v3_{s}_224_1.0_float_no_top_v2.h5",
                                              f"{KERAS_URL}mobilenet_v3/weights_mobilenet_v3_{s}_224_1.0_float_no_top_v2.h5")
                                   for s in ("small", "large")}, preprocess="builtin"),
    "convnext": Family(("base", "tiny", "small", "large"),
                       built={s: f"ConvNeXt{s.capitalize()}" for s in ("tiny", "small", "base", "large")},
                       weights={s: Weights(f"convnext_{s}_notop.h5", f"{KERAS_URL}convnext/convnext_{s}_notop.h5")
                                for s in ("tiny", "small", "base", "large")}, preprocess="builtin"),
    # written here in torchvision's layout (keras.applications has none of these; no Keras ImageNet weights)
    "alexnet": Family(("base",), built={"base": "hand"}, min_input_size=63),  # torch's smallest too
    "googlenet": Family(("base",), built={"base": "hand"}),
    "squeezenet": Family(("1_0", "1_1"), built={"1_0": "hand", "1_1": "hand"}),
    "shufflenet_v2": Family(SHUFFLENET_VARIANTS, built={v: "hand" for v in SHUFFLENET_VARIANTS}),
    "mnasnet": Family(MNASNET_VARIANTS, built={v: "hand" for v in MNASNET_VARIANTS}),
    "resnext": Family(RESNEXT_VARIANTS, built={v: "hand" for v in RESNEXT_VARIANTS}),
    "wide_resnet": Family(("50_2", "101_2"), built={"50_2": "hand", "101_2": "hand"}),
    "regnet": Family(REGNET_VARIANTS, built={v: "hand" for v in REGNET_VARIANTS}),
    "inceptionv3": Family(("base",), built={"base": "InceptionV3"}, preprocess="tf", min_input_size=75,
                          weights={"base": Weights(
                              "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                              f"{KERAS_URL}inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                              "bcbd6486424b2319ff4ef7d526e38f63")}),
}

# Ludwig 0.10 families neither keras.applications has nor this tool writes, with their Ludwig variants and the
# closest families built here (chosen by architecture, not by spelling: mlp_mixer is no mlp).
NOT_BUILT: dict[str, tuple[tuple, str]] = {
    "swin_transformer": (("t", "s", "b"), "convnext tiny, small or base (designed to match Swin)"),
    "vit": (("b_16", "b_32", "l_16", "l_32", "h_14"), "convnext"),
    "maxvit": (("t",), "convnext tiny or efficientnet"),
    "mlp_mixer": ((), "mlp or convnext"),
    "_resnet_legacy": ((), "resnet (torchvision's layout, Ludwig's current resnet)"),
    "_vit_legacy": ((), "convnext"),
}


def not_built_message(family: str, path: str) -> str:
    """The one line for a Ludwig family this tool does not build."""
    return (f"config key '{path}.type': {family!r} (a Ludwig 0.10 encoder) is not available here: Keras has no "
            f"{family} network and this tool does not write one; the closest available: {NOT_BUILT[family][1]}")


def variant_message(family: str, variant, path: str) -> str | None:
    """None when ``family`` builds ``variant``; else the one line naming the closest available variants."""
    entry = FAMILIES[family]
    if variant in entry.built:
        return None
    available = ", ".join(map(str, (v for v in entry.variants if v in entry.built)))
    if variant in entry.variants:  # Ludwig has it, Keras and this tool do not
        return (f"config key '{path}.model_variant': {family} {variant} is a Ludwig variant that is not available "
                f"here (keras.applications has no such network); the closest available: {entry.closest or available}")
    return (f"config key '{path}.model_variant': {family} comes in variants {available} "
            f"(Ludwig's list), not {variant!r}{_did_you_mean(entry, variant)}")


def _did_you_mean(entry: Family, variant) -> str:
    """'; did you mean X?' for the nearest built variant: by value for numbers, by spelling for names."""
    built = [v for v in entry.variants if v in entry.built]
    if isinstance(variant, (int, float)) and not isinstance(variant, bool):
        numbers = [v for v in built if isinstance(v, int)]
        if numbers:
            return f"; did you mean {min(numbers, key=lambda v: (abs(v - variant), v))}?"
        return ""
    close = difflib.get_close_matches(str(variant), [str(v) for v in built], n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def backbone_name(family: str, variant) -> str:
    """The layer name of the built backbone: vgg11_bn, resnet18, efficientnetb0, mobilenetv3small, convnext_tiny,
    and torchvision's names for the families written here (resnext50_32x4d, shufflenet_v2_x0_5, regnet_y_400mf)."""
    if variant == "base" and len(FAMILIES[family].variants) == 1:
        return family
    joiner = "_" if family in ("convnext", "shufflenet_v2", "regnet") else ""
    return f"{family}{joiner}{variant}"
