"""Training core on tiny in-memory arrays: early stopping and the best weights, divergence, optimizers,
class weights, batch sizes and the training sample.  No files, no CLI: train_model is called directly."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ludwig_mnist.config.load import parse_config
from ludwig_mnist.data.images import ImageSpec
from ludwig_mnist.data.prepare import Metadata, SplitData
from ludwig_mnist.errors import UserInputError
from ludwig_mnist.evaluate import epoch_metrics
from ludwig_mnist.model.build import build_model
from ludwig_mnist.training import train as train_module
from ludwig_mnist.training.inference import predict_probabilities
from ludwig_mnist.training.optimizers import make_optimizer
from ludwig_mnist.training.train import (
    CPU_AUTO_BATCH_SIZE,
    TrainingDiverged,
    class_weight_map,
    make_loss,
    resolve_batch_size,
    train_model,
)

CLASSES = ("a", "b", "c")
SHAPE = (8, 8, 1)
CLASS_WEIGHTS_KEY = "output_features.0.loss.class_weights"


def make_config(trainer=None, loss=None):
    output = {"name": "label", "type": "category"}
    if loss is not None:
        output["loss"] = loss
    return parse_config({
        "input_features": [{"name": "image", "type": "image",
                            "encoder": {"type": "mlp", "num_fc_layers": 1, "output_size": 8}}],
        "output_features": [output],
        "trainer": {"batch_size": 8, **(trainer or {})},
    })


def metadata(classes=CLASSES) -> Metadata:
    return Metadata("image", "image", "label", "label", tuple(classes), {c: 12 for c in classes},
                    ImageSpec(*SHAPE), "interpolate")


def images(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(count, 8, 8, 1) uint8 noise with a bright row band per class (learnable in one epoch), labels 0,1,2,…"""
    rng = np.random.default_rng(seed)
    labels = (np.arange(count) % len(CLASSES)).astype(np.int32)
    pixels = rng.integers(0, 60, (count, *SHAPE)).astype(np.uint8)
    for row, label in enumerate(labels):
        pixels[row, 2 * label:2 * label + 2] = 230
    return pixels, labels


def split(name: str, pixels: np.ndarray, labels: np.ndarray) -> SplitData:
    return SplitData(name, pixels, labels, tuple(f"{name}/{i}.png" for i in range(len(labels))))


def contradicting_splits() -> dict[str, SplitData]:
    """Validation = the training images with shifted labels: the better the model fits training, the worse
    its validation loss, so epoch 1 is the best one and every later epoch is worse."""
    pixels, labels = images(36)
    return {"training": split("training", pixels, labels),
            "validation": split("validation", pixels, (labels + 1) % len(CLASSES))}


def fresh_model(config, seed=0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return build_model(config, SHAPE, len(CLASSES))


# ---------------------------------------------------------------- early stopping and the best weights


@pytest.mark.parametrize("with_validation", [True, False])
def test_kept_probabilities_are_the_kept_weights_predictions(with_validation):
    """The final statistics reuse what the kept epoch predicted (validation, test): they equal a fresh prediction by
    the returned model, and come from the best epoch, not the last."""
    config = make_config({"epochs": 3, "learning_rate": 0.05, "early_stop": -1, "validation_metric": "loss"})
    splits = contradicting_splits() if with_validation else {"training": contradicting_splits()["training"]}
    splits["test"] = split("test", *images(12, seed=3))
    kept: dict = {}
    model = fresh_model(config)
    summary = train_model(model, config, metadata(), splits, seed=0, log=lambda _: None, kept_probabilities=kept)
    assert sorted(kept) == (["test", "validation"] if with_validation else ["test"])  # training is never predicted
    assert summary.best_epoch == (1 if with_validation else 3)
    for name, probabilities in kept.items():
        assert probabilities.shape == (len(splits[name].labels), len(CLASSES))
        np.testing.assert_allclose(probabilities, predict_probabilities(model, splits[name].images, 1024), atol=1e-6)
        loss = epoch_metrics(splits[name].labels, probabilities, 3)["loss"]
        assert loss == pytest.approx(summary.epochs[summary.best_epoch - 1].metrics[name]["loss"], rel=1e-6)



def test_early_stopping_keeps_the_best_epochs_weights():
    config = make_config({"epochs": 10, "learning_rate": 0.05, "early_stop": 2, "validation_metric": "loss"})
    splits = contradicting_splits()
    model, lines = fresh_model(config), []
    summary = train_model(model, config, metadata(), splits, seed=0, log=lines.append)

    losses = [epoch.metrics["validation"]["loss"] for epoch in summary.epochs]
    assert losses[1] > losses[0] and losses[2] > losses[0]  # the premise: later epochs are worse
    assert summary.epochs_run == 3  # epoch 1 best, then 2 epochs without improvement: stop
    assert summary.best_epoch == 1
    assert summary.stop_reason.startswith("early stopping: validation loss did not improve for 2 epochs after epoch 1")
    assert "kept the weights of epoch 1" in summary.stop_reason
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(" |")[0] for line in epoch_lines] == ["epoch 1/10", "epoch 2/10", "epoch 3/10"]
    assert [line.endswith("*best") for line in epoch_lines] == [True, False, False]

    # The returned model is epoch 1's: it scores on validation exactly what epoch 1 scored, not epoch 3.
    validation = splits["validation"]
    now = epoch_metrics(validation.labels, predict_probabilities(model, validation.images, 1024), 3)
    assert now["loss"] == pytest.approx(losses[0], rel=1e-5)
    assert now["loss"] < losses[-1] - 1.0


def test_patience_counts_from_the_last_improvement_and_ties_do_not_improve(monkeypatch):
    """Scripted validation accuracies: improvements reset the count, an equal value does not."""
    scripted = iter([0.5, 0.7, 0.6, 0.9, 0.9, 0.8, 0.95, 0.95])
    pixels, labels = images(36)
    splits = {"training": split("training", pixels, labels), "validation": split("validation", *images(12, seed=1))}
    validation = splits["validation"]
    snapshots = []  # the model's weights when each epoch's validation split is evaluated

    def recording_predict(model, batch_images, batch_size):
        if batch_images is validation.images:
            snapshots.append(model.get_weights())
        return predict_probabilities(model, batch_images, batch_size)

    def scripted_metrics(y_true, probabilities, top_k):
        metrics = epoch_metrics(y_true, probabilities, top_k)
        if y_true is validation.labels:
            metrics["accuracy"] = next(scripted)
        return metrics

    monkeypatch.setattr(train_module, "predict_probabilities", recording_predict)
    monkeypatch.setattr(train_module, "epoch_metrics", scripted_metrics)
    config = make_config({"epochs": 20, "learning_rate": 0.01, "early_stop": 2})
    model = fresh_model(config)
    summary = train_model(model, config, metadata(), splits, seed=0, log=lambda _: None)

    # best 0.5 (1), 0.7 (2), 0.6 (3: 1 epoch), 0.9 (4: the count restarts), 0.9 tie (5: 1), 0.8 (6: 2) → stop.
    # Counting every worse epoch would stop after 5; a tie as an improvement would make 5 best and run 7.
    assert summary.epochs_run == 6 and len(snapshots) == 6
    assert summary.best_epoch == 4
    assert "did not improve for 2 epochs after epoch 4" in summary.stop_reason
    final = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(final, snapshots[3], strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(final, snapshots[5], strict=True))


def test_early_stop_minus_one_runs_every_epoch_but_keeps_the_best():
    config = make_config({"epochs": 3, "learning_rate": 0.05, "early_stop": -1, "validation_metric": "loss"})
    summary = train_model(fresh_model(config), config, metadata(), contradicting_splits(), seed=0, log=lambda _: None)
    assert summary.epochs_run == 3  # epochs 2 and 3 are worse than 1, and early_stop 1 would have stopped after 2
    assert summary.best_epoch == 1
    assert summary.stop_reason == "completed 3 epochs; kept the weights of epoch 1 (best validation loss)"


def test_without_validation_every_epoch_runs_and_the_last_weights_are_kept(monkeypatch):
    pixels, labels = images(36)
    splits = {"training": split("training", pixels, labels)}
    snapshots = []

    def recording_predict(model, batch_images, batch_size):
        snapshots.append(model.get_weights())  # only the training set is evaluated: one call per epoch
        return predict_probabilities(model, batch_images, batch_size)

    monkeypatch.setattr(train_module, "predict_probabilities", recording_predict)
    config = make_config({"epochs": 2, "learning_rate": 0.05, "early_stop": 1, "evaluate_training_set": True})
    model = fresh_model(config)
    summary = train_model(model, config, metadata(), splits, seed=0, log=lambda _: None)
    assert summary.epochs_run == 2 and len(snapshots) == 2  # early_stop needs a validation set
    assert summary.best_epoch == 2
    assert summary.stop_reason == "completed 2 epochs; no validation set, so the last epoch's weights are kept"
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), snapshots[-1], strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(snapshots[0], snapshots[-1], strict=True))


# ---------------------------------------------------------------- divergence


def test_a_huge_learning_rate_raises_training_diverged():
    config = make_config({"epochs": 3, "learning_rate": 1e30, "optimizer": {"type": "sgd"}})
    with pytest.raises(TrainingDiverged) as caught:
        train_model(fresh_model(config), config, metadata(), contradicting_splits(), seed=0, log=lambda _: None)
    message = str(caught.value)
    assert message.startswith("training diverged in epoch 1: the loss is nan")
    assert message.endswith("try a lower trainer.learning_rate")
    assert isinstance(caught.value, UserInputError)  # the CLI reports it as one line, exit status 2


def test_nan_model_outputs_raise_training_diverged(monkeypatch):
    """A finite training loss but NaN predictions (the second check) also stops the run, in that epoch."""
    calls = []

    def nan_from_epoch_two(model, batch_images, batch_size):
        calls.append(1)
        probabilities = predict_probabilities(model, batch_images, batch_size)
        return probabilities if len(calls) <= 1 else np.full_like(probabilities, np.nan)  # validation only

    monkeypatch.setattr(train_module, "predict_probabilities", nan_from_epoch_two)
    config = make_config({"epochs": 3, "learning_rate": 0.01})
    with pytest.raises(TrainingDiverged, match=r"^training diverged in epoch 2: the model outputs NaN; "
                                               r"try a lower trainer\.learning_rate$"):
        train_model(fresh_model(config), config, metadata(), contradicting_splits(), seed=0, log=lambda _: None)


# ---------------------------------------------------------------- optimizers

# Ludwig 0.10's keys per optimizer (schema/optimizers.py) → the Keras settings they must become.
CASES = {
    "adam": ({"betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.02, "amsgrad": True}, keras.optimizers.Adam,
             {"beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-6, "weight_decay": 0.02, "amsgrad": True}),
    "adamw": ({"betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.02}, keras.optimizers.AdamW,
              {"beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-6, "weight_decay": 0.02}),
    "sgd": ({"momentum": 0.5, "nesterov": True, "weight_decay": 0.02}, keras.optimizers.SGD,
            {"momentum": 0.5, "nesterov": True, "weight_decay": 0.02}),
    "rmsprop": ({"momentum": 0.5, "alpha": 0.8, "eps": 1e-6, "centered": True, "weight_decay": 0.02},
                keras.optimizers.RMSprop, {"momentum": 0.5, "rho": 0.8, "epsilon": 1e-6, "centered": True,
                                           "weight_decay": 0.02}),
    "adagrad": ({"initial_accumulator_value": 0.2, "eps": 1e-6, "weight_decay": 0.02}, keras.optimizers.Adagrad,
                {"initial_accumulator_value": 0.2, "epsilon": 1e-6, "weight_decay": 0.02}),
    "adamax": ({"betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.02}, keras.optimizers.Adamax,
               {"beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-6, "weight_decay": 0.02}),
    "nadam": ({"betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.02}, keras.optimizers.Nadam,
              {"beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-6, "weight_decay": 0.02}),
    "adadelta": ({"rho": 0.8, "eps": 1e-5, "weight_decay": 0.02}, keras.optimizers.Adadelta,
                 {"rho": 0.8, "epsilon": 1e-5, "weight_decay": 0.02}),
}


def _optimizer(config):
    trainer = config.trainer
    return make_optimizer(trainer.optimizer, trainer.learning_rate, trainer.gradient_clipping)


def test_every_optimizer_in_the_schema_is_covered():
    """The schema's own list (from its error message): a new optimizer there needs an entry here."""
    import re

    from ludwig_mnist.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        make_config({"optimizer": {"type": "adamx"}})
    listed = re.search(r"choose one of (.*?)(;|$)", str(caught.value)).group(1)
    assert sorted(re.findall(r"'([a-z]+)'", listed)) == sorted(CASES)


def test_ludwig_optimizers_without_a_keras_twin_are_refused_by_name():
    from ludwig_mnist.errors import ConfigError

    with pytest.raises(ConfigError, match="'lion' optimizer is not available here"):
        make_config({"optimizer": {"type": "lion"}})
    with pytest.raises(ConfigError, match="unknown config key 'trainer.optimizer.momentum'"):
        make_config({"optimizer": {"type": "adam", "momentum": 0.9}})  # Ludwig's Adam has no momentum either


@pytest.mark.parametrize("name", sorted(CASES))
def test_optimizer_gets_the_configs_hyperparameters(name):
    given, cls, expected = CASES[name]
    config = make_config({"learning_rate": 0.003, "optimizer": {"type": name, **given}})
    optimizer = _optimizer(config)
    assert type(optimizer) is cls
    settings = optimizer.get_config()
    assert settings["learning_rate"] == pytest.approx(0.003, rel=1e-6)  # stored as float32
    assert settings["global_clipnorm"] == pytest.approx(0.5)  # Ludwig's default clipglobalnorm
    for key, value in expected.items():
        assert settings[key] == pytest.approx(value), key


@pytest.mark.parametrize("name, defaults", [  # torch's defaults, which Ludwig keeps, not Keras's
    ("adam", {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8, "weight_decay": None}),
    ("adamw", {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8, "weight_decay": 0.0}),  # 0 stays 0
    ("sgd", {"momentum": 0.0, "nesterov": False, "weight_decay": None}),
    ("rmsprop", {"momentum": 0.0, "rho": 0.99, "epsilon": 1e-8, "weight_decay": None}),
    ("adagrad", {"initial_accumulator_value": 0.0, "epsilon": 1e-10}),
    ("adadelta", {"rho": 0.9, "epsilon": 1e-6}),
])
def test_optimizer_defaults(name, defaults):
    settings = _optimizer(make_config({"optimizer": {"type": name}})).get_config()
    assert settings["learning_rate"] == pytest.approx(0.001, rel=1e-6)
    for key, value in defaults.items():
        assert settings[key] == (pytest.approx(value) if value is not None else None), key


def test_gradient_clipping_follows_ludwig():
    def clip(settings):
        return {k: v for k, v in _optimizer(make_config({"gradient_clipping": settings})).get_config().items()
                if k in ("clipnorm", "clipvalue", "global_clipnorm")}

    assert clip({}) == {"clipnorm": None, "clipvalue": None, "global_clipnorm": 0.5}
    # Ludwig clips to clipglobalnorm, then clipnorm, both over all gradients: the smaller one wins.
    assert clip({"clipnorm": 0.2}) == {"clipnorm": None, "clipvalue": None, "global_clipnorm": pytest.approx(0.2)}
    assert clip({"clipglobalnorm": None})["global_clipnorm"] is None
    assert clip({"clipglobalnorm": None, "clipvalue": 0.1})["clipvalue"] == pytest.approx(0.1)
    from ludwig_mnist.errors import ConfigError

    with pytest.raises(ConfigError, match="set clipglobalnorm: null"):
        make_config({"gradient_clipping": {"clipvalue": 0.1}})


def test_train_model_compiles_with_the_configured_optimizer_and_batch_size():
    config = make_config({"epochs": 1, "batch_size": 6, "learning_rate": 0.02,
                          "optimizer": {"type": "sgd", "momentum": 0.7}})
    pixels, labels = images(36)
    model, lines = fresh_model(config), []
    summary = train_model(model, config, metadata(), {"training": split("training", pixels, labels)}, seed=0,
                          log=lines.append)
    assert type(model.optimizer) is keras.optimizers.SGD
    assert model.optimizer.get_config()["momentum"] == pytest.approx(0.7)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.02, rel=1e-6)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 6  # 36 images / batch size 6
    assert summary.batch_size == 6 and summary.train_images == 36
    assert lines[0] == ("training on 36 images for up to 1 epochs, batch size 6, sgd learning rate 0.02, "
                        "gradients clipped to global norm 0.5")


# ---------------------------------------------------------------- class weights


@pytest.mark.parametrize("weights, expected", [
    ([1.0, 2.5, 0.0], {0: 1.0, 1: 2.5, 2: 0.0}),  # a list, in vocabulary order
    ({"b": 3.0}, {0: 1.0, 1: 3.0, 2: 1.0}),  # a mapping: classes not named weigh 1
    ({"c": 0.5, "a": 4.0}, {0: 4.0, 1: 1.0, 2: 0.5}),  # the mapping's order does not matter
])
def test_class_weights_to_keras_class_weight(weights, expected):
    result = class_weight_map(make_config(loss={"class_weights": weights}), metadata())
    assert result == expected
    assert all(type(k) is int and type(v) is float for k, v in result.items())


def test_class_weight_mapping_keys_from_yaml_numbers_match_numeric_class_names():
    import yaml

    raw = yaml.safe_load("class_weights: {1: 5, 7: 2.5}")  # YAML gives int keys; MNIST's classes are '0'..'9'
    result = class_weight_map(make_config(loss=raw), metadata(tuple(str(d) for d in range(10))))
    assert result == {**{i: 1.0 for i in range(10)}, 1: 5.0, 7: 2.5}


def test_no_class_weights_is_none():
    assert class_weight_map(make_config(), metadata()) is None


@pytest.mark.parametrize("weights, detail", [
    ([1.0, 2.0], "2 weights for 3 classes (in vocabulary order 'a', 'b', 'c')"),
    ([1.0, 2.0, 3.0, 4.0], "4 weights for 3 classes"),
    ({"horse": 2.0, "b": 1.0}, "unknown classes 'horse'; classes are 'a', 'b', 'c'"),
    ({"zebra": 1.0, "horse": 2.0}, "unknown classes 'horse', 'zebra'"),
])
def test_bad_class_weights_name_the_key(weights, detail):
    with pytest.raises(UserInputError) as caught:
        class_weight_map(make_config(loss={"class_weights": weights}), metadata())
    assert str(caught.value).startswith(f"config key '{CLASS_WEIGHTS_KEY}': ")
    assert detail in str(caught.value)


def test_bad_class_weights_fail_before_any_epoch():
    config = make_config({"epochs": 3}, loss={"class_weights": {"horse": 2.0}})
    pixels, labels = images(12)
    lines = []
    with pytest.raises(UserInputError, match=CLASS_WEIGHTS_KEY.replace(".", r"\.")):
        train_model(fresh_model(config), config, metadata(), {"training": split("training", pixels, labels)},
                    seed=0, log=lines.append)
    assert not any(line.startswith("epoch ") for line in lines)


def test_class_weights_reach_the_loss():
    """Weight 0 for classes a and b: only class c's rows pull on the model, so it predicts c everywhere;
    unweighted, the same training learns all three classes."""
    pixels, labels = images(36)
    splits = {"training": split("training", pixels, labels)}
    predictions = {}
    for name, weights in (("unweighted", None), ("only c", [0.0, 0.0, 1.0])):
        config = make_config({"epochs": 1, "learning_rate": 0.05}, loss={"class_weights": weights})
        model = fresh_model(config)
        train_model(model, config, metadata(), splits, seed=0, log=lambda _: None)
        predictions[name] = predict_probabilities(model, pixels, 64).argmax(axis=1)
    assert (predictions["unweighted"] == labels).mean() == 1.0
    assert (predictions["only c"] == 2).all()


# ---------------------------------------------------------------- loss, batch sizes, training sample


def test_make_loss():
    assert make_loss(make_config(), 3) == "sparse_categorical_crossentropy"
    mse = make_loss(make_config(loss={"type": "mean_squared_error"}), 3)
    y_true = np.array([0, 2], dtype=np.int32)
    y_pred = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5]], dtype=np.float32)
    # row 0 exact; row 1 vs one-hot [0, 0, 1]: (0.25 + 0.25 + 0.25) / 3
    assert np.allclose(keras.ops.convert_to_numpy(mse(y_true, y_pred)), [0.0, 0.25])
    assert np.allclose(keras.ops.convert_to_numpy(mse(y_true.reshape(-1, 1), y_pred)), [0.0, 0.25])


def test_resolve_batch_size():
    assert resolve_batch_size(make_config({"batch_size": "auto"}).trainer) == CPU_AUTO_BATCH_SIZE == 128
    # Ludwig's tuner never goes past max_batch_size
    assert resolve_batch_size(make_config({"batch_size": "auto", "max_batch_size": 64}).trainer) == 64
    assert resolve_batch_size(make_config({"batch_size": 16}).trainer) == 16


# ---------------------------------------------------------------- training metrics (evaluate_training_set)


def test_by_default_training_metrics_are_accumulated_not_a_second_pass(monkeypatch):
    calls = []
    monkeypatch.setattr(train_module, "predict_probabilities",
                        lambda model, batch_images, batch_size: calls.append(len(batch_images)) or
                        predict_probabilities(model, batch_images, batch_size))
    pixels, labels = images(36)
    config = make_config({"epochs": 2})
    summary = train_model(fresh_model(config), config, metadata(), {"training": split("training", pixels, labels)},
                          seed=0, log=lambda _: None)
    assert calls == []  # Ludwig's evaluate_training_set: false, no pass over the training images
    for epoch in summary.epochs:
        assert set(epoch.metrics["training"]) == {"loss", "accuracy", "accuracy_micro", "hits_at_k", "roc_auc"}
        assert epoch.metrics["training"]["loss"] > 0


def test_accumulated_metrics_equal_ludwigs_definitions():
    """Fed batch by batch, the Keras metrics give what evaluate.epoch_metrics computes on all rows at once."""
    from ludwig_mnist.training.metrics import training_metrics

    rng = np.random.default_rng(7)
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3] * 3, dtype=np.int32)
    probabilities = rng.dirichlet(np.ones(4), size=len(labels)).astype(np.float32)
    expected = epoch_metrics(labels, probabilities, top_k=2)
    metrics = {m.name: m for m in training_metrics(4, top_k=2)}
    for start in range(0, len(labels), 7):  # uneven batches
        for metric in metrics.values():
            metric.update_state(labels[start:start + 7], probabilities[start:start + 7])
    result = {name: float(keras.ops.convert_to_numpy(m.result())) for name, m in metrics.items()}
    assert result["accuracy_macro"] == pytest.approx(expected["accuracy"], abs=1e-6)
    assert result["accuracy_micro"] == pytest.approx(expected["accuracy_micro"], abs=1e-6)
    assert result["hits_at_k"] == pytest.approx(expected["hits_at_k"], abs=1e-6)
    assert result["roc_auc"] == pytest.approx(expected["roc_auc"], abs=5e-3)  # Keras interpolates thresholds
