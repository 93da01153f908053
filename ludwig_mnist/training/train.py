"""Training stage: compile, fit with per-epoch evaluation, early stopping on the validation metric.

Returns a TrainingSummary (no file I/O).  One log line per epoch, because
Galaxy shows the job's stdout to the user while it runs and per-batch
progress bars would make that log megabytes long.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import keras
import numpy as np
from keras import ops

from ..config.schema import ExperimentConfig
from ..data.cache import is_streamed
from ..data.prepare import Metadata, SplitData
from ..errors import UserInputError
from ..evaluate import epoch_metrics
from ..results import EpochStats, TrainingSummary
from ..wording import plural
from .batch_norm import PreciseBatchNorm
from .batches import ImageBatches
from .binary import binary_accumulated_metrics, binary_metrics_fn, binary_training_metrics, bwcew_loss
from .inference import predict_probabilities, resolve_eval_batch_size
from .metrics import accumulated_training_metrics, training_metrics
from .optimizers import make_optimizer
from .schedules import LudwigLearningRate, ReduceOnPlateau, is_scheduled

CPU_AUTO_BATCH_SIZE = 128  # measured fastest on 2 CPU cores (256 was slower); see docs/benchmarks.md


class TrainingDiverged(UserInputError):
    """The loss became NaN or infinite (usually a learning rate that is too high)."""


def resolve_batch_size(trainer) -> int:
    """Ludwig on CPU tunes `auto` up to MAX_CPU_BATCH_SIZE (128), never past max_batch_size; 128 is the fastest here."""
    if trainer.batch_size == "auto":
        return min(CPU_AUTO_BATCH_SIZE, trainer.max_batch_size)
    return int(trainer.batch_size)


def class_weight_map(config: ExperimentConfig, metadata: Metadata) -> dict[int, float] | None:
    """Ludwig's loss.class_weights (a list in vocabulary order, or {class: weight}) → Keras class_weight."""
    weights = getattr(config.output_feature.loss, "class_weights", None)  # a binary loss has none
    if weights is None:
        return None
    names = metadata.class_names
    if isinstance(weights, dict):
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise UserInputError(f"config key 'output_features.0.loss.class_weights': unknown classes "
                                 f"{', '.join(map(repr, unknown))}; classes are {', '.join(map(repr, names))}")
        return {i: float(weights.get(name, 1.0)) for i, name in enumerate(names)}
    if len(weights) != len(names):
        raise UserInputError(f"config key 'output_features.0.loss.class_weights': {len(weights)} weights for "
                             f"{len(names)} classes (in vocabulary order {', '.join(map(repr, names))})")
    return {i: float(w) for i, w in enumerate(weights)}


def make_loss(config: ExperimentConfig, num_classes: int):
    """softmax_cross_entropy on integer labels, or (deeplay's comparison) MSE of sigmoid outputs vs one-hot;
    times loss.weight (Ludwig's weight of this output in the combined loss); a binary output's
    binary_weighted_cross_entropy (training/binary.py)."""
    if config.output_feature.type == "binary":
        return bwcew_loss(config)
    loss_config = config.output_feature.loss
    if loss_config.type == "softmax_cross_entropy":
        if loss_config.weight == 1.0:
            return "sparse_categorical_crossentropy"
        base = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    else:
        def base(y_true, y_pred):  # y_true (B,) or (B, 1) int, y_pred (B, C)
            targets = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), num_classes)
            return ops.mean(ops.square(targets - y_pred), axis=-1)

    def weighted_loss(y_true, y_pred):  # (B,) per-image losses; Keras averages them
        return loss_config.weight * base(y_true, y_pred)

    return weighted_loss


def _format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _metrics_fn(config: ExperimentConfig) -> Callable:
    """(labels (N,), probabilities (N, C)) → the per-epoch metrics of the config's output type."""
    feature = config.output_feature
    if feature.type == "binary":
        return binary_metrics_fn(feature)
    return lambda y_true, probabilities: epoch_metrics(y_true, probabilities, feature.top_k)


class EpochMonitor(keras.callbacks.Callback):
    """Per epoch: evaluate, log one line, keep the best weights, stop early (Ludwig's early_stop rounds)."""

    def __init__(self, eval_splits: dict[str, SplitData], metrics_fn: Callable, eval_batch_size: int, epochs: int,
                 train_images: int, validation_metric: str, patience: int, log: Callable[[str], None],
                 accumulate_training: bool = True, accumulated: Callable = accumulated_training_metrics):
        super().__init__()
        # Ludwig's evaluate_training_set: false → the training metrics are the epoch's running values.
        self.accumulate_training = accumulate_training
        self.eval_splits, self.metrics_fn, self.eval_batch_size = eval_splits, metrics_fn, eval_batch_size
        self.accumulated = accumulated  # Keras epoch logs → Ludwig's training metric names
        self.total_epochs, self.train_images, self.log = epochs, train_images, log
        self.validation_metric, self.patience = validation_metric, patience
        self.maximize = validation_metric != "loss"
        self.history: list[EpochStats] = []
        self.best_value: float | None = None
        self.best_epoch = 0
        self.best_weights = None
        # {split: (N, C) float32} predicted after the kept epoch: the final statistics reuse them
        self.kept_probabilities: dict[str, np.ndarray] = {}
        self._probabilities: dict[str, np.ndarray] = {}
        self.patience_from = 0  # the unfreeze epoch: the unfrozen phase gets its own early_stop rounds
        self.stop_reason = ""
        self._epoch_start = 0.0
        self._fit_start = 0.0

    def on_train_begin(self, logs=None):
        if not self.history:  # a second fit (the unfrozen phase) continues the first one's clock
            self._fit_start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        train_seconds = time.perf_counter() - self._epoch_start
        if not math.isfinite(float((logs or {}).get("loss", 0.0))):
            raise TrainingDiverged(f"training diverged in epoch {epoch + 1}: the loss is {logs.get('loss')}; "
                                   "try a lower trainer.learning_rate")
        eval_start = time.perf_counter()
        metrics = {"training": self.accumulated(logs)} if self.accumulate_training else {}
        self._probabilities = {}
        for name, split in self.eval_splits.items():
            probabilities = predict_probabilities(self.model, split.images, self.eval_batch_size)
            self._probabilities[name] = probabilities
            if not np.all(np.isfinite(probabilities)):
                raise TrainingDiverged(f"training diverged in epoch {epoch + 1}: the model outputs NaN; "
                                       "try a lower trainer.learning_rate")
            metrics[name] = self.metrics_fn(split.labels, probabilities)
        eval_seconds = time.perf_counter() - eval_start
        learning_rate = float(f"{float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)):.8g}")
        stats = EpochStats(epoch + 1, train_seconds, metrics, learning_rate, eval_seconds)
        if logs is not None:  # the TensorBoard callback, after this one, logs what we measured
            for split, prefix in (("validation", "val_"), ("test", "test_")):
                for key, value in metrics.get(split, {}).items():
                    logs[prefix + key] = value
        self.history.append(stats)
        improved = self._track_best(stats)
        self._log_epoch(stats, improved)

    def _track_best(self, stats: EpochStats) -> bool:
        if "validation" not in stats.metrics:  # no validation set: the last epoch is the model
            self.best_epoch, self.best_weights, self.kept_probabilities = stats.epoch, None, self._probabilities
            return False
        value = stats.metrics["validation"][self.validation_metric]
        better = self.best_value is None or (value > self.best_value if self.maximize else value < self.best_value)
        if better:
            self.best_value, self.best_epoch = value, stats.epoch
            self.best_weights = self.model.get_weights()  # a host copy: later epochs don't overwrite it
            self.kept_probabilities = self._probabilities
        elif self.patience >= 0 and stats.epoch - max(self.best_epoch, self.patience_from) >= self.patience:
            self.stop_reason = (f"early stopping: validation {self.validation_metric} did not improve for "
                                f"{plural(self.patience, 'epoch')} after epoch "
                                f"{max(self.best_epoch, self.patience_from)}")
            self.model.stop_training = True
        return better

    def _log_epoch(self, stats: EpochStats, improved: bool) -> None:
        parts = [f"epoch {stats.epoch}/{self.total_epochs}"]
        for name in ("training", "validation", "test"):
            if name in stats.metrics:
                m = stats.metrics[name]
                parts.append(f"{name} loss {m['loss']:.4f} acc {m.get('accuracy_micro', m['accuracy']):.4f}")
        elapsed = time.perf_counter() - self._fit_start
        remaining = elapsed / len(self.history) * (self.total_epochs - stats.epoch)
        speed = self.train_images / stats.seconds if stats.seconds > 0 else 0.0
        parts.append(f"{stats.seconds:.1f}s train + {stats.eval_seconds:.1f}s eval ({speed:,.0f} img/s)")
        parts.append(f"elapsed {_format_duration(elapsed)}, ETA {_format_duration(remaining)}")
        self.log(" | ".join(parts) + (" *best" if improved else ""))


def train_model(model: keras.Model, config: ExperimentConfig, metadata: Metadata, splits: dict[str, SplitData],
                seed: int, log: Callable[[str], None] = print, tensorboard_dir=None,
                initial_epoch: int = 0, kept_probabilities: dict | None = None) -> TrainingSummary:
    """Fit `model` in place; on return it holds the best epoch's weights.

    initial_epoch > 0 resumes: epochs initial_epoch+1 .. trainer.epochs are run.
    kept_probabilities: filled with {split: (N, C) float32} that the kept weights predicted after their epoch
    (validation, test; training with evaluate_training_set), so that they are not predicted again.
    """
    trainer = config.trainer
    train = splits["training"]
    num_classes = len(metadata.class_names)
    binary = config.output_feature.type == "binary"
    batch_size = resolve_batch_size(trainer)
    learning_rate = trainer.learning_rate
    schedule = None
    if is_scheduled(trainer.learning_rate_scheduler):
        steps_per_epoch = math.ceil(len(train.labels) / batch_size)
        schedule = learning_rate = LudwigLearningRate(trainer.learning_rate, trainer.learning_rate_scheduler,
                                                      steps_per_epoch * trainer.epochs, steps_per_epoch)

    def compile_at(rate) -> None:  # a fresh optimizer: its slots must cover the trainable weights of now
        model.compile(optimizer=make_optimizer(trainer.optimizer, rate, trainer.gradient_clipping),
                      loss=make_loss(config, num_classes),
                      metrics=binary_training_metrics(config.output_feature) if binary
                      else training_metrics(num_classes, config.output_feature.top_k))

    compile_at(learning_rate)
    # evaluate_training_set: true is Ludwig's separate pass over the whole training set after each epoch.
    eval_splits = {"training": train} if trainer.evaluate_training_set else {}
    eval_splits.update({name: splits[name] for name in ("validation", "test") if name in splits})
    patience = trainer.early_stop if "validation" in splits else -1
    monitor = EpochMonitor(eval_splits, _metrics_fn(config), resolve_eval_batch_size(config),
                           trainer.epochs, len(train.labels), trainer.validation_metric, patience, log,
                           accumulate_training=not trainer.evaluate_training_set,
                           accumulated=binary_accumulated_metrics if binary else accumulated_training_metrics)
    # batch-norm statistics re-estimated with each epoch's final weights before the monitor evaluates them
    callbacks: list[keras.callbacks.Callback] = [PreciseBatchNorm(train.images, batch_size, seed), monitor]
    if schedule is not None and trainer.learning_rate_scheduler.reduce_on_plateau > 0:
        plateau = trainer.learning_rate_scheduler
        split = plateau.reduce_eval_split if plateau.reduce_eval_split in splits else "training"
        if split != plateau.reduce_eval_split:
            log(f"note: reduce_eval_split {plateau.reduce_eval_split} is empty; reduce on plateau watches training")
        callbacks.append(ReduceOnPlateau(
            schedule, lambda: monitor.history[-1].metrics[split][plateau.reduce_eval_metric] if monitor.history else None,
            maximize=plateau.reduce_eval_metric != "loss", log=log))
    if tensorboard_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir), write_graph=False,
                                                     update_freq="epoch"))
    log(f"training on {len(train.labels)} images for up to {trainer.epochs} epochs, batch size {batch_size}"
        f"{' (auto)' if trainer.batch_size == 'auto' else ''}, {trainer.optimizer.type} "
        f"learning rate {trainer.learning_rate}, gradients clipped "
        + (f"to global norm {trainer.gradient_clipping.global_norm}" if trainer.gradient_clipping.global_norm
           else f"to value {trainer.gradient_clipping.clipvalue}" if trainer.gradient_clipping.clipvalue else "never"))
    if trainer.use_mixed_precision:
        log("note: use_mixed_precision: not applied; Ludwig uses it on CUDA GPUs only, and training here runs "
            "in float32")
    def fit(first: int, last: int) -> None:  # epochs first+1 .. last
        if is_streamed(train.images):
            # Batches read from the on-disk cache; ImageBatches shuffles (seeded, per epoch), so fit must not.
            model.fit(ImageBatches(train.images, train.labels, batch_size, shuffle=trainer.should_shuffle, seed=seed),
                      epochs=last, initial_epoch=first, shuffle=False,
                      class_weight=class_weight_map(config, metadata), callbacks=callbacks, verbose=0)
        else:
            model.fit(train.images, train.labels, batch_size=batch_size, epochs=last,
                      initial_epoch=first, shuffle=trainer.should_shuffle,
                      class_weight=class_weight_map(config, metadata), callbacks=callbacks, verbose=0)

    # This tool's unfreeze schedule: the encoder frozen up to epoch `after`, then trainable with every other layer
    # at unfreeze_encoder_learning_rate: a second fit with a fresh optimizer (config/load.py refuses a scheduler).
    after = trainer.unfreeze_encoder_after_epochs
    if after is None:
        fit(initial_epoch, trainer.epochs)
    else:
        if initial_epoch < after:
            fit(initial_epoch, after)
        if monitor.stop_reason:
            monitor.stop_reason += f"; the encoder stayed frozen (unfreeze_encoder_after_epochs {after})"
        else:
            from ..model.parts import set_encoder_trainable

            set_encoder_trainable(model, True)
            monitor.patience_from = max(after, initial_epoch)
            rate = trainer.unfreeze_encoder_learning_rate
            compile_at(rate)
            log(f"epoch {max(after, initial_epoch) + 1} on: the encoder is trainable, every layer at learning rate "
                f"{rate} (unfreeze_encoder_after_epochs {after})")
            fit(max(after, initial_epoch), trainer.epochs)
    if monitor.best_weights is not None:
        model.set_weights(monitor.best_weights)
    if kept_probabilities is not None:
        kept_probabilities.update(monitor.kept_probabilities)
    stop_reason = monitor.stop_reason or f"completed {plural(len(monitor.history), 'epoch')}"
    if "validation" in splits:
        stop_reason += f"; kept the weights of epoch {monitor.best_epoch} (best validation {trainer.validation_metric})"
    else:
        stop_reason += "; no validation set, so the last epoch's weights are kept"
    log(stop_reason)
    return TrainingSummary(epochs=tuple(monitor.history), best_epoch=monitor.best_epoch, stop_reason=stop_reason,
                           batch_size=batch_size, train_images=len(train.labels))
