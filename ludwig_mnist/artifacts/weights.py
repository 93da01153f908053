"""Pretrained backbone weights put into a freshly built network (the builders themselves do no I/O).

Three sources, in this order:
- installed weights (``--installed_weights DIR``, the Galaxy select): an entry the data manager
  (weights_install.py) registered; artifacts/installed.py has already named its file as pretrained_weights;
- ``encoder.pretrained_weights``: a local weights file of the backbone without its top (this tool's key);
- ``encoder.use_pretrained`` (Ludwig's, default true for its torchvision families): Keras's ImageNet weights,
  the file keras.applications itself uses, from Keras's cache (``model_cache_dir``, else $KERAS_HOME or
  ~/.keras, under models/), downloaded there once by ``keras.utils.get_file`` with Keras's hash when absent.
The weights go into the backbone sub-model (named e.g. resnet50); the heads Ludwig adds stay as built.
What went in is a WeightsProvenance, for the log, the report and description.json.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..config.schema import ExperimentConfig
from ..errors import ConfigError
from .installed import file_sha256

KEY = "input_features.0.encoder"


# source → how the log and the report say it
SOURCES = {"keras-download": "Keras's ImageNet weights (its download and cache)",
           "file": "a local weights file (pretrained_weights)",
           "installed": "installed by the Galaxy data manager",
           "none": "none: the encoder starts from random initialisation"}


@dataclass(frozen=True)
class WeightsProvenance:
    """Which weights the encoder started from: family and variant of the backbone, source, file, sha256."""

    family: str  # the encoder type, e.g. resnet, mobilenetv3, stacked_cnn
    variant: str | None  # Ludwig's model_variant as text ("50", "small"); None for encoders without variants
    source: str  # a key of SOURCES
    path: str | None = None  # the weights file (None for source none)
    sha256: str | None = None  # of that file, computed when it was loaded
    name: str | None = None  # installed: the data table entry's name

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"weights source must be one of {sorted(SOURCES)}, not {self.source!r}")

    @property
    def backbone(self) -> str:
        return f"{self.family} {self.variant}" if self.variant is not None else self.family

    def describe(self) -> str:
        """One line: 'mobilenetv3 small: installed by the Galaxy data manager ('...'), FILE (sha256 ...)'."""
        if self.source == "none":
            return f"{self.backbone}: {SOURCES['none']}"
        entry = f" ({self.name!r})" if self.name else ""
        return f"{self.backbone}: {SOURCES[self.source]}{entry}, {Path(self.path).name} (sha256 {self.sha256})"

    def to_dict(self) -> dict:
        return {"family": self.family, "variant": self.variant, "source": self.source, "path": self.path,
                "sha256": self.sha256, "name": self.name}


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


def load_pretrained_weights(model, config: ExperimentConfig, installed=None) -> WeightsProvenance:
    """Load the config's backbone weights into ``model``; what went in (source none when nothing did).

    installed: the InstalledWeights whose file artifacts/installed.py put into the config as pretrained_weights.
    """
    import keras

    encoder = config.input_feature.encoder
    variant = getattr(encoder, "variant", None)
    family, variant = encoder.type, (None if variant is None else str(variant))
    path = getattr(encoder, "pretrained_weights", None)
    if installed is not None and path == str(installed.path):
        source, where = "installed", f"--installed_weights {installed.directory}"
    elif path:
        source, where = "file", f"config key '{KEY}.pretrained_weights'"
    elif getattr(encoder, "use_pretrained", False) and hasattr(encoder, "model_cache_dir"):
        source, where = "keras-download", f"config key '{KEY}.use_pretrained'"
        path = imagenet_weights_file(encoder)
    else:
        return WeightsProvenance(family, variant, "none")
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))  # the named backbone
    try:
        backbone.load_weights(str(path))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{where}: cannot load {path} into {backbone.name} without top: "
                          f"{str(err).splitlines()[0]}") from None
    if source == "installed":  # read_installed has just checked the file against its entry's sha256
        return WeightsProvenance(family, variant, source, str(path), installed.sha256, installed.name)
    return WeightsProvenance(family, variant, source, str(path), file_sha256(Path(path)))
