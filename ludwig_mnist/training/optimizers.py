"""Ludwig's optimizers on Keras: the torch optimizer each config names, with torch's defaults and clipping."""

from __future__ import annotations

import keras


def make_optimizer(optimizer, learning_rate, clipping) -> keras.optimizers.Optimizer:
    """Ludwig's torch optimizer as its Keras equivalent, with torch's defaults and Ludwig's gradient clipping.

    clipglobalnorm and clipnorm are both global-norm clipping in Ludwig (clip_grad_norm_ over all gradients),
    so the smaller one is Keras's global_clipnorm.  weight_decay: Keras decays weights directly (decoupled).
    """
    clip = {"global_clipnorm": clipping.global_norm} if clipping.global_norm else {}
    if clipping.clipvalue:
        clip = {"clipvalue": clipping.clipvalue}
    decay = {"weight_decay": optimizer.weight_decay or None}
    kind = optimizer.type
    if kind in ("adam", "adamw", "adamax", "nadam"):
        beta_1, beta_2 = optimizer.betas
        common = dict(beta_1=beta_1, beta_2=beta_2, epsilon=optimizer.eps, **clip)
        if kind == "adamw":  # an explicit weight_decay: 0 stays 0 (Keras's AdamW would make it 0.004)
            return keras.optimizers.AdamW(learning_rate, weight_decay=optimizer.weight_decay,
                                          amsgrad=optimizer.amsgrad, **common)
        if kind == "adam":
            return keras.optimizers.Adam(learning_rate, amsgrad=optimizer.amsgrad, **common, **decay)
        constructor = keras.optimizers.Adamax if kind == "adamax" else keras.optimizers.Nadam
        return constructor(learning_rate, **common, **decay)
    if kind == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=optimizer.momentum, nesterov=optimizer.nesterov,
                                    **clip, **decay)
    if kind == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, rho=optimizer.alpha, momentum=optimizer.momentum,
                                        epsilon=optimizer.eps, centered=optimizer.centered, **clip, **decay)
    if kind == "adagrad":
        return keras.optimizers.Adagrad(learning_rate, initial_accumulator_value=optimizer.initial_accumulator_value,
                                        epsilon=optimizer.eps, **clip, **decay)
    return keras.optimizers.Adadelta(learning_rate, rho=optimizer.rho, epsilon=optimizer.eps, **clip, **decay)
