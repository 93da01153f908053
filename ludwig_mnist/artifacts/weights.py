"""Local pretrained weights put into a freshly built network (the builders themselves do no I/O).

``encoder.pretrained_weights`` names a weights file of the same keras.applications network without its
top (e.g. vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5); it is loaded into the backbone sub-model.
"""

from __future__ import annotations

from ..config.schema import ExperimentConfig
from ..errors import ConfigError


def load_pretrained_weights(model, config: ExperimentConfig) -> bool:
    """Load the config's local backbone weights into ``model``; False when the config names none."""
    import keras

    encoder = config.input_feature.encoder
    path = getattr(encoder, "pretrained_weights", None)
    if not path:
        return False
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))  # the keras.applications net
    try:
        backbone.load_weights(path)
    except (OSError, ValueError) as err:
        raise ConfigError(f"config key 'input_features.0.encoder.pretrained_weights': cannot load "
                          f"{path} into {encoder.type}{encoder.variant} without top: "
                          f"{str(err).splitlines()[0]}") from None
    return True
