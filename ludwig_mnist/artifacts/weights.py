"""Pretrained backbone weights put into a freshly built network (the builders themselves do no I/O).

Two sources, in this order:
- ``encoder.pretrained_weights``: a local weights file of the backbone without its top (this tool's key);
- ``encoder.use_pretrained`` (Ludwig's, default true for its torchvision families): Keras's ImageNet weights,
  the file keras.applications itself uses, from Keras's cache (``model_cache_dir``, else $KERAS_HOME or
  ~/.keras, under models/), downloaded there once by ``keras.utils.get_file`` with Keras's hash when absent.
The weights go into the backbone sub-model (named e.g. resnet50); the heads Ludwig adds stay as built.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..config.schema import ExperimentConfig
from ..errors import ConfigError

KEY = "input_features.0.encoder"


@dataclass(frozen=True)
class LoadedWeights:
    """Which weights went into the backbone: for the log, the report and description.json."""

    backbone: str  # e.g. resnet50
    source: str  # "pretrained_weights" or "keras imagenet"
    path: str
    sha256: str


def keras_cache_dir(encoder) -> Path:
    """Where Keras caches application weights: model_cache_dir, else $KERAS_HOME, else ~/.keras (Keras's rule)."""
    if encoder.model_cache_dir:
        return Path(encoder.model_cache_dir)
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


def imagenet_weights_file(encoder) -> Path:
    """Keras's ImageNet weights without top for the encoder: the cached file, downloaded once when absent."""
    import keras

    from ..model.families import FAMILIES

    weights = FAMILIES[encoder.type].weights[encoder.variant]
    cache = keras_cache_dir(encoder)
    cached = cache / "models" / weights.file_name
    if cached.is_file():
        return cached
    try:
        return Path(keras.utils.get_file(weights.file_name, weights.origin, cache_subdir="models",
                                         cache_dir=str(cache), file_hash=weights.md5))
    except Exception as err:  # noqa: BLE001 - get_file raises a bare Exception on URL and HTTP errors
        raise ConfigError(
            f"config key '{KEY}.use_pretrained': the ImageNet weights of {encoder.type} {encoder.variant} are not "
            f"in the Keras cache and cannot be downloaded ({str(err).splitlines()[0][:120]}); put "
            f"{weights.origin} at {cached} (or name that file as '{KEY}.pretrained_weights', or set "
            "use_pretrained: false)") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_pretrained_weights(model, config: ExperimentConfig) -> LoadedWeights | None:
    """Load the config's backbone weights into ``model``; None when the encoder uses none."""
    import keras

    encoder = config.input_feature.encoder
    path = getattr(encoder, "pretrained_weights", None)
    if path:
        source, key = "pretrained_weights", f"{KEY}.pretrained_weights"
    elif getattr(encoder, "use_pretrained", False) and hasattr(encoder, "model_cache_dir"):
        source, key = "keras imagenet", f"{KEY}.use_pretrained"
        path = imagenet_weights_file(encoder)
    else:
        return None
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))  # the named backbone
    try:
        backbone.load_weights(str(path))
    except (OSError, ValueError) as err:
        raise ConfigError(f"config key '{key}': cannot load {path} into {backbone.name} without top: "
                          f"{str(err).splitlines()[0]}") from None
    return LoadedWeights(backbone.name, source, str(path), _sha256(Path(path)))
