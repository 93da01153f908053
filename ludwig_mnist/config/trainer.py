"""The ``trainer`` section: Ludwig 0.10's ECD trainer keys, optimizers, gradient clipping and LR schedule.

Every key has Ludwig 0.10's default (schema/trainer.py, schema/optimizers.py, schema/lr_scheduler.py).  Keys
that only change speed or where work runs are accepted with a note; keys whose effect this tool cannot
reproduce are accepted at their default only, and refused otherwise with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .checks import (
    a_bool,
    a_float,
    a_str,
    an_int,
    anything,
    build,
    either,
    fail,
    list_of,
    one_of,
    only,
    opt,
    optional,
    section,
)

NO_EFFECT = "it changes speed or memory only, not the results"
BETAS = list_of(a_float(0.0, 0.999999), length=2)
EPS = a_float(0.0)
DECAY = a_float(0.0)


@dataclass(frozen=True)
class SGD:
    type: str = opt("sgd", one_of("sgd"))
    momentum: float = opt(0.0, a_float(0.0, 1.0))
    weight_decay: float = opt(0.0, DECAY)
    dampening: float = opt(0.0, only(0.0, 0, reason="Keras's SGD has no dampening"))
    nesterov: bool = opt(False, a_bool)


@dataclass(frozen=True)
class Adam:
    type: str = opt("adam", one_of("adam", "adamw"))
    betas: tuple[float, float] = opt([0.9, 0.999], BETAS)
    eps: float = opt(1e-8, EPS)
    weight_decay: float = opt(0.0, DECAY)
    amsgrad: bool = opt(False, a_bool)


@dataclass(frozen=True)
class Adamax:
    type: str = opt("adamax", one_of("adamax"))
    betas: tuple[float, float] = opt([0.9, 0.999], BETAS)
    eps: float = opt(1e-8, EPS)
    weight_decay: float = opt(0.0, DECAY)


@dataclass(frozen=True)
class Nadam:
    type: str = opt("nadam", one_of("nadam"))
    betas: tuple[float, float] = opt([0.9, 0.999], BETAS)
    eps: float = opt(1e-8, EPS)
    weight_decay: float = opt(0.0, DECAY)
    # Keras's Nadam has torch's momentum schedule with this constant built in.
    momentum_decay: float = opt(0.004, only(0.004, reason="Keras's Nadam fixes the momentum decay at 0.004"))


@dataclass(frozen=True)
class RMSprop:
    type: str = opt("rmsprop", one_of("rmsprop"))
    momentum: float = opt(0.0, a_float(0.0, 1.0))
    alpha: float = opt(0.99, a_float(0.0, 1.0))  # torch's smoothing constant = Keras's rho
    eps: float = opt(1e-8, EPS)
    centered: bool = opt(False, a_bool)
    weight_decay: float = opt(0.0, DECAY)


@dataclass(frozen=True)
class Adagrad:
    type: str = opt("adagrad", one_of("adagrad"))
    initial_accumulator_value: float = opt(0.0, a_float(0.0))
    lr_decay: float = opt(0.0, only(0.0, 0, reason="Keras's Adagrad has no lr_decay; use learning_rate_scheduler"))
    weight_decay: float = opt(0.0, DECAY)
    eps: float = opt(1e-10, EPS)


@dataclass(frozen=True)
class Adadelta:
    type: str = opt("adadelta", one_of("adadelta"))
    rho: float = opt(0.9, a_float(0.0, 1.0))
    eps: float = opt(1e-6, EPS)
    weight_decay: float = opt(0.0, DECAY)


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": Adam, "adamax": Adamax, "nadam": Nadam, "rmsprop": RMSprop,
              "adagrad": Adagrad, "adadelta": Adadelta}
# Ludwig 0.10 optimizers that need bitsandbytes (CUDA) or a closure-based step; none exists in Keras here.
UNAVAILABLE_OPTIMIZERS = ("sgd_8bit", "adam_8bit", "adamw_8bit", "paged_adam", "paged_adam_8bit", "paged_adamw",
                          "paged_adamw_8bit", "adagrad_8bit", "rmsprop_8bit", "lamb", "lamb_8bit", "lars",
                          "lars_8bit", "lion", "lion_8bit", "paged_lion", "paged_lion_8bit", "lbfgs", "ftrl")


def parse_optimizer(value, path):
    if value is None:
        value = {}
    if not isinstance(value, dict):
        fail(path, value, "a mapping with a 'type' key")
    kind = value.get("type", "adam")
    if isinstance(kind, str) and kind in UNAVAILABLE_OPTIMIZERS:
        raise ConfigError(f"config key '{path}.type': Ludwig's {kind!r} optimizer is not available here (it needs "
                          f"bitsandbytes/CUDA or a closure step); choose one of {', '.join(map(repr, OPTIMIZERS))}")
    one_of(*OPTIMIZERS)(kind, f"{path}.type")
    return build(OPTIMIZERS[kind], {**value, "type": kind}, path)


@dataclass(frozen=True)
class GradientClipping:
    """torch.nn.utils.clip_grad_norm_ over all gradients (clipglobalnorm, then clipnorm: both global in Ludwig),
    then clip_grad_value_."""

    clipglobalnorm: float | None = opt(0.5, optional(a_float(0.0, strict_min=True)))
    clipnorm: float | None = opt(None, optional(a_float(0.0, strict_min=True)))
    clipvalue: float | None = opt(None, optional(a_float(0.0, strict_min=True)))

    @property
    def global_norm(self) -> float | None:
        """Clipping to a then to b is clipping to min(a, b)."""
        norms = [n for n in (self.clipglobalnorm, self.clipnorm) if n]
        return min(norms) if norms else None


@dataclass(frozen=True)
class LearningRateScheduler:
    """Ludwig's learning_rate_scheduler (training/schedules.py has the formulas)."""

    decay: str | None = opt(None, one_of(None, "linear", "exponential", "cosine"))
    decay_rate: float = opt(0.96, a_float(0.0, 1.0, strict_min=True))
    decay_steps: int = opt(10000, an_int(1))
    staircase: bool = opt(False, a_bool)
    reduce_on_plateau: int = opt(0, an_int(0))  # how many times the rate may be reduced
    reduce_on_plateau_patience: int = opt(10, an_int(1))
    reduce_on_plateau_rate: float = opt(0.1, a_float(0.0, 1.0, strict_min=True))
    warmup_evaluations: float = opt(0.0, a_float(0.0))  # in epochs (one evaluation per epoch here)
    warmup_fraction: float = opt(0.0, a_float(0.0, 1.0))
    reduce_eval_metric: str = opt("loss", one_of("loss", "accuracy", "hits_at_k"))
    reduce_eval_split: str = opt("training", one_of("training", "validation", "test"))
    t_0: int | None = opt(None, optional(an_int(1)))
    t_mult: int = opt(1, an_int(1))
    eta_min: float = opt(0.0, a_float(0.0))


POSITIVE_OR_AUTO = either(an_int(1), one_of("auto"), expected="a positive integer or 'auto'")
ONE_EVALUATION = "this tool evaluates once per epoch, on whole splits"


@dataclass(frozen=True)
class TrainerConfig:
    epochs: int = opt(100, an_int(1))
    learning_rate: float | str = opt(0.001, either(a_float(0.0, strict_min=True), one_of("auto"),
                                                   expected="a positive number or 'auto'"))
    learning_rate_scheduler: LearningRateScheduler = opt(LearningRateScheduler(), section(LearningRateScheduler))
    batch_size: int | str = opt("auto", POSITIVE_OR_AUTO)
    max_batch_size: int = opt(1099511627776, an_int(1))  # Ludwig's MAX_POSSIBLE_BATCH_SIZE
    eval_batch_size: int | str | None = opt(None, optional(POSITIVE_OR_AUTO))
    effective_batch_size: int | str = opt("auto", only("auto", reason="gradient accumulation is not available here; "
                                                       "set batch_size instead"))
    gradient_accumulation_steps: int | str = opt("auto", only("auto", 1, reason="gradient accumulation is not "
                                                              "available here"))
    early_stop: int = opt(5, an_int(-1))
    evaluate_training_set: bool = opt(False, a_bool)
    validation_field: str | None = opt(None, optional(a_str))
    validation_metric: str | None = opt(None, optional(one_of("loss", "accuracy", "hits_at_k", "accuracy_micro",
                                                              "roc_auc", "precision", "recall", "specificity")))
    optimizer: Any = opt(Adam(), parse_optimizer)
    regularization_type: str | None = opt("l2", one_of("l1", "l2", "l1_l2", None))
    regularization_lambda: float = opt(0.0, a_float(0.0))
    should_shuffle: bool = opt(True, a_bool)
    gradient_clipping: GradientClipping = opt(GradientClipping(), optional(section(GradientClipping)))
    checkpoints_per_epoch: int = opt(0, only(0, 1, reason=ONE_EVALUATION))
    steps_per_checkpoint: int = opt(0, only(0, reason=ONE_EVALUATION))
    train_steps: int | None = opt(None, only(None, reason="training runs whole epochs here; set epochs"))
    eval_steps: int | None = opt(None, only(None, reason=ONE_EVALUATION))
    skip_all_evaluation: bool = opt(False, only(False, reason="early stopping and the kept epoch need evaluation"))
    increase_batch_size_on_plateau: int = opt(0, only(0, reason="the batch size stays fixed here"))
    increase_batch_size_on_plateau_patience: int = opt(5, an_int(0), ignored="used only with "
                                                       "increase_batch_size_on_plateau, which is 0")
    increase_batch_size_on_plateau_rate: float = opt(2.0, a_float(0.0), ignored="used only with "
                                                     "increase_batch_size_on_plateau, which is 0")
    increase_batch_size_eval_metric: str = opt("loss", a_str, ignored="used only with "
                                               "increase_batch_size_on_plateau, which is 0")
    increase_batch_size_eval_split: str = opt("training", a_str, ignored="used only with "
                                              "increase_batch_size_on_plateau, which is 0")
    learning_rate_scaling: str = opt("linear", one_of("constant", "sqrt", "linear"),
                                     ignored="it scales the rate by the number of workers, which is 1 here")
    bucketing_field: str | None = opt(None, only(None, reason="bucketing groups sequences by length; "
                                                 "images have none"))
    use_mixed_precision: bool = opt(False, a_bool)
    compile: bool = opt(False, a_bool, ignored="torch.compile; " + NO_EFFECT)
    enable_gradient_checkpointing: bool = opt(False, a_bool, ignored=NO_EFFECT)
    layers_to_freeze_regex: str | None = opt(None, only(None, reason="PyTorch layer names do not exist in the "
                                                        "Keras network; use the encoder's trainable: false"))
    enable_profiling: bool = opt(False, a_bool, ignored="the PyTorch profiler; " + NO_EFFECT)
    profiler: dict = opt({}, anything, ignored="the PyTorch profiler; " + NO_EFFECT)
    # This tool's own keys (not Ludwig's): the second phase of transfer learning (artifacts/backbone.py).
    unfreeze_encoder_after_epochs: int | None = opt(None, optional(an_int(1)), own=(
        "with the encoder's trainable: false, the encoder becomes trainable after this many epochs (null: never)"))
    unfreeze_encoder_learning_rate: float | None = opt(None, optional(a_float(0.0, strict_min=True)), own=(
        "the learning rate of every layer once the encoder is unfrozen (null: trainer.learning_rate / 10)"))

