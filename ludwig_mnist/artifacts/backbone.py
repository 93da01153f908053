"""Transfer between experiments: the encoder of a saved model as the backbone of a new experiment.

    ludwig-mnist experiment --encoder_from MODEL_DIR ...

    incompatibility(config, saved)    the first encoder key that differs from the saved model's, as one line
    copy_encoder(model, saved)        the saved encoder's weights into the new network's encoder layers

Only the encoder is taken: the combiner and the decoder (the head) are built afresh for the new dataset's
classes, so the new experiment may have other classes and another class count.  The images are decoded at
the saved model's size and channel count (the encoder's weights were trained on that shape).  Freezing is
the encoder's ``trainable: false``; ``trainer.unfreeze_encoder_after_epochs`` unfreezes it later
(training/train.py), both applied by the model and training stages, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config.schema import ExperimentConfig
from ..errors import ModelError
from ..wording import plural
from .model_dir import SavedModel

# Keys that change neither the encoder's weights nor what they compute: they may differ from the saved model's.
FREE_KEYS = {"trainable", "model_cache_dir", "pretrained_weights", "saved_weights_in_checkpoint"}
# Preprocessing keys that change what the encoder's input means (the image size is taken from the model).
INPUT_KEYS = ("standardize_image",)
ENCODER_PATH = "input_features.0.encoder"


def _free(key: str) -> bool:
    return key in FREE_KEYS or key.endswith("dropout")  # dropout acts in training only; the weights are the same


def _first_difference(new: Any, old: Any, path: str) -> tuple[str, Any, Any] | None:
    """(key path, new value, old value) of the first differing leaf of two resolved config sections."""
    if isinstance(new, dict) and isinstance(old, dict):
        for key in list(new) + [k for k in old if k not in new]:
            if _free(key):
                continue
            found = _first_difference(new.get(key), old.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(new, (list, tuple)) and isinstance(old, (list, tuple)):
        if len(new) != len(old):
            return path, f"{len(new)} entries", f"{len(old)} entries"
        for index, (a, b) in enumerate(zip(new, old)):
            found = _first_difference(a, b, f"{path}.{index}")
            if found:
                return found
        return None
    return None if new == old else (path, new, old)


def incompatibility(config: ExperimentConfig, saved: SavedModel) -> str | None:
    """One line naming the first key whose value makes the saved encoder unusable here, or None."""
    new_feature = config.to_dict()["input_features"][0]
    old_feature = saved.config.to_dict()["input_features"][0]
    found = _first_difference(new_feature["encoder"], old_feature["encoder"], ENCODER_PATH)
    if found is None:
        for key in INPUT_KEYS:
            found = _first_difference(new_feature["preprocessing"].get(key), old_feature["preprocessing"].get(key),
                                      f"input_features.0.preprocessing.{key}")
            if found:
                break
    if found is None:
        return None
    key, new, old = found
    return (f"config key '{key}' is {new!r} here but {old!r} in the encoder of the model in {saved.path.name}; "
            f"--encoder_from needs the same encoder: copy input_features[0].encoder from its "
            "model_hyperparameters.json (only trainable and the dropouts may differ)")


@dataclass(frozen=True)
class CopiedEncoder:
    """What copy_encoder did, for the log and the report."""

    source: str  # the model directory's name
    layers: int  # encoder layers whose weights were copied
    values: int  # weight values copied (trainable and not, e.g. batch-norm statistics)
    note: str


def copy_encoder(model, config: ExperimentConfig, saved: SavedModel) -> CopiedEncoder:
    """Copy the encoder's weights of `saved.model` into `model` (built from `config`, which passed incompatibility)."""
    import numpy as np

    from ..model.parts import encoder_layers

    message = incompatibility(config, saved)
    if message:
        raise ModelError(message)
    name = saved.path.name
    new_layers, old_layers = encoder_layers(model), encoder_layers(saved.model)
    if len(new_layers) != len(old_layers):  # the same encoder config builds the same layers; never seen
        raise ModelError(f"the encoder of the model in {name} has {len(old_layers)} layers, this config builds "
                         f"{len(new_layers)}; start from that model's model_hyperparameters.json")
    copied_layers, values = 0, 0
    for new, old in zip(new_layers, old_layers):
        weights = old.get_weights()
        shapes = [tuple(w.shape) for w in new.get_weights()]
        if shapes != [tuple(w.shape) for w in weights]:
            raise ModelError(f"encoder layer {new.name} has weights of shapes {shapes}, the model in {name} "
                             f"{[tuple(w.shape) for w in weights]}; are the images the same size?")
        if weights:
            new.set_weights(weights)
            copied_layers += 1
            values += int(sum(np.prod(w.shape) for w in weights))
    encoder = config.input_feature.encoder
    after = config.trainer.unfreeze_encoder_after_epochs
    if getattr(encoder, "trainable", True):
        how = "trained further with the head"
    elif after is None:
        how = "frozen (trainable: false)"
    else:
        how = (f"frozen for {plural(after, 'epoch')}, then trained at learning rate "
               f"{config.trainer.unfreeze_encoder_learning_rate}")
    note = (f"encoder ({encoder.type}) taken from the model in {name}: {plural(copied_layers, 'layer')}, {values:,} weights "
            f"copied, {how}; the head is new, for {model.output_shape[-1]} outputs")
    return CopiedEncoder(name, copied_layers, values, note)


def load_backbone(path: Path) -> SavedModel:
    """The saved model whose encoder is reused (all of it is loaded; only the encoder is kept)."""
    from .model_dir import load_model_dir

    return load_model_dir(Path(path))
