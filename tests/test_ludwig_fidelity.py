"""A Ludwig 0.10 config means here what it means in Ludwig: inheritance, defaults, upgrades, key policy.

Expected values come from Ludwig 0.10.4's source (modules/convolutional_modules.Conv2DStack,
fully_connected_modules.FCStack, utils/backward_compatibility.py, schema/*), cited per test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ludwig_mnist.config.checks import INHERIT
from ludwig_mnist.config.load import parse_config
from ludwig_mnist.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def config_with(encoder=None, output=None, trainer=None, **top):
    raw = {"input_features": [{"name": "image", "type": "image", "encoder": encoder or {"type": "stacked_cnn"}}],
           "output_features": [{"name": "label", "type": "category", **(output or {})}]}
    if trainer is not None:
        raw["trainer"] = trainer
    raw.update(top)
    return parse_config(raw)


# ---------------------------------------------------------------- inheritance and default stacks


def test_layer_entries_inherit_every_encoder_level_key():
    encoder = config_with({
        "type": "stacked_cnn", "conv_activation": "tanh", "kernel_size": 5, "conv_dropout": 0.2, "conv_norm": "batch",
        "pool_kernel_size": 3, "fc_dropout": 0.3, "fc_activation": "elu", "output_size": 64, "stride": 1,
        "conv_layers": [{"out_channels": 8}, {"out_channels": 16, "activation": "relu", "norm": None}],
        "fc_layers": [{}, {"output_size": 10}],
    }).input_feature.encoder
    first, second = encoder.resolved_conv_layers()
    assert (first.out_channels, first.kernel_size, first.activation, first.dropout, first.norm,
            first.pool_kernel_size, first.pool_stride) == (8, 5, "tanh", 0.2, "batch", 3, 3)
    # keys the entry gives win, and an explicit null stays null (Conv2DStack: `if "norm" not in layer`)
    assert (second.activation, second.norm, second.kernel_size) == ("relu", None, 5)
    fc_first, fc_second = encoder.resolved_fc_layers()
    assert (fc_first.output_size, fc_first.activation, fc_first.dropout) == (64, "elu", 0.3)
    assert (fc_second.output_size, fc_second.dropout) == (10, 0.3)


def test_default_stack_is_32_then_64_and_num_conv_layers_repeats_the_defaults():
    encoder = config_with().input_feature.encoder
    assert [c.out_channels for c in encoder.resolved_conv_layers()] == [32, 64]
    repeated = config_with({"type": "stacked_cnn", "num_conv_layers": 3, "out_channels": 16,
                            "kernel_size": 5}).input_feature.encoder.resolved_conv_layers()
    assert [(c.out_channels, c.kernel_size) for c in repeated] == [(16, 5)] * 3
    assert config_with({"type": "stacked_cnn", "num_conv_layers": 0}).input_feature.encoder.resolved_conv_layers() == ()


def test_a_layer_entry_keeps_only_what_the_user_wrote():
    encoder = config_with({"type": "stacked_cnn", "conv_layers": [{"out_channels": 8}]}).input_feature.encoder
    assert encoder.conv_layers[0].kernel_size is INHERIT
    rendered = config_with({"type": "stacked_cnn", "conv_layers": [{"out_channels": 8}]}).to_dict()
    assert rendered["input_features"][0]["encoder"]["conv_layers"] == [{"out_channels": 8}]  # as Ludwig stores it


def test_default_network_has_ludwigs_parameter_count():
    """Ludwig's default stacked_cnn on 28x28x1, 10 classes: conv 3x3x1x32 (320) → 13x13 → conv 3x3x32x64 (18,496)
    → 5x5x64 = 1600 → fc 128 (204,928) → 10 (1,290): 225,034 parameters."""
    from ludwig_mnist.model.build import build_model

    model = build_model(config_with(), (28, 28, 1), 10)
    assert model.count_params() == 320 + 18_496 + 204_928 + 1_290


def test_norms_use_torchs_defaults_and_axes():
    from keras import layers

    from ludwig_mnist.model.build import build_model

    config = config_with({"type": "stacked_cnn", "conv_layers": [{"out_channels": 4, "norm": "layer"},
                                                                  {"out_channels": 4, "norm": "batch",
                                                                   "norm_params": {"momentum": 0.2, "eps": 0.01}}]})
    model = build_model(config, (12, 12, 1), 3)
    layer_norm = next(x for x in model.layers if isinstance(x, layers.LayerNormalization))
    batch_norm = next(x for x in model.layers if isinstance(x, layers.BatchNormalization))
    assert list(layer_norm.axis) == [1, 2] and layer_norm.epsilon == pytest.approx(1e-5)  # nn.LayerNorm((H, W))
    assert batch_norm.momentum == pytest.approx(0.8) and batch_norm.epsilon == pytest.approx(0.01)


def test_fc_stack_applies_its_default_dropout_to_its_input_too():
    from keras import layers

    from ludwig_mnist.model.build import build_model

    model = build_model(config_with({"type": "stacked_cnn", "num_conv_layers": 1, "fc_dropout": 0.5}), (8, 8, 1), 2)
    assert any(isinstance(x, layers.Dropout) and x.name == "encoder_fc_input_dropout" for x in model.layers)


def test_integer_padding_pairs_and_groups_build_torchs_shapes():
    from ludwig_mnist.model.build import build_model

    config = config_with({"type": "stacked_cnn", "conv_layers": [
        {"out_channels": 4, "kernel_size": [3, 5], "padding": 1, "pool_kernel_size": None},
        {"out_channels": 4, "groups": 2, "padding": "same", "pool_kernel_size": [2, 1]}], "num_fc_layers": 0})
    model = build_model(config, (10, 10, 1), 2)
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}
    assert shapes["conv_0"] == (10, 8, 4)  # (10 + 2 - 3) + 1, (10 + 2 - 5) + 1
    # pool_stride inherits the encoder-level default, pool_stride or pool_kernel_size = 2 (Conv2DStack), not [2, 1]
    assert shapes["conv_1_pool"] == (5, 4, 4)


# ---------------------------------------------------------------- upgrades of old spellings (backward_compatibility.py)


@pytest.mark.parametrize("raw_update, check, upgraded", [
    ({"training": {"epochs": 3}}, lambda c: c.trainer.epochs == 3, "'training' is now 'trainer'"),
    ({"trainer": {"decay": True}}, lambda c: c.trainer.learning_rate_scheduler.decay == "exponential",
     "'trainer.decay' is now 'trainer.learning_rate_scheduler.decay'"),
    ({"trainer": {"reduce_learning_rate_on_plateau": 2}},
     lambda c: c.trainer.learning_rate_scheduler.reduce_on_plateau == 2, "reduce_on_plateau"),
    ({"trainer": {"learning_rate_warmup_epochs": 1}},
     lambda c: c.trainer.learning_rate_scheduler.warmup_evaluations == 1, "warmup_evaluations"),
    ({"trainer": {"type": "trainer"}}, lambda c: True, "'trainer.type' is removed"),
    ({"trainer": {"eval_batch_size": 0}}, lambda c: c.trainer.eval_batch_size is None, "eval_batch_size: 0"),
    ({"preprocessing": {"split_probabilities": [0.8, 0.1, 0.1]}},
     lambda c: c.preprocessing.split.probabilities == (0.8, 0.1, 0.1), "split.probabilities"),
    ({"preprocessing": {"stratify": "label"}},
     lambda c: (c.preprocessing.split.type, c.preprocessing.split.column) == ("stratify", "label"), "stratify"),
    ({"preprocessing": {"force_split": True}}, lambda c: c.preprocessing.split.type == "random", "force_split"),
    ({"preprocessing": {"image": {"height": 20, "width": 20}}},
     lambda c: c.input_feature.preprocessing.height == 20, "'preprocessing.image' is now 'defaults.image"),
])
def test_old_spellings_are_upgraded_once_and_reported(raw_update, check, upgraded):
    raw = {"input_features": [{"name": "image", "type": "image"}],
           "output_features": [{"name": "label", "type": "category"}], **raw_update}
    config = parse_config(raw)
    assert check(config)
    assert any(note.startswith("upgraded: ") and upgraded in note for note in config.notes), config.notes


def test_old_feature_level_spellings_move_into_encoder_and_decoder():
    config = parse_config({
        "input_features": [{"name": "image", "type": "image", "encoder": "stacked_cnn", "conv_bias": False,
                            "num_conv_layers": 1}],
        "output_features": [{"name": "label", "type": "category", "decoder": "classifier", "num_fc_layers": 2,
                             "dropout": 0.1, "preprocessing": {"missing_value_strategy": "backfill"}}]})
    encoder, decoder = config.input_feature.encoder, config.output_feature.decoder
    assert (encoder.conv_use_bias, encoder.num_conv_layers) == (False, 1)
    assert (decoder.num_fc_layers, decoder.fc_dropout) == (2, 0.1)
    assert config.output_feature.preprocessing.missing_value_strategy == "bfill"
    assert sum(note.startswith("upgraded: ") for note in config.notes) >= 5


# ---------------------------------------------------------------- one rule per key


def test_keys_without_effect_are_accepted_and_noted():
    config = config_with(backend={"type": "local"}, ludwig_version="0.10.4",
                         output={"reduce_input": "mean", "proc_column": "label_abc"},
                         trainer={"compile": True, "learning_rate_scaling": "sqrt"})
    notes = "\n".join(config.notes)
    for key in ("backend", "ludwig_version", "output_features.0.reduce_input", "trainer.compile",
                "trainer.learning_rate_scaling", "output_features.0.proc_column"):
        assert f"ignored: {key} " in notes, key
    assert "ignored: backend {'type': 'local'} (training runs in this process" in notes


def test_values_ludwig_accepts_that_this_tool_cannot_reproduce_are_refused_with_the_reason():
    with pytest.raises(ConfigError, match=r"'trainer.train_steps': 100 is not available here \(training runs whole"):
        config_with(trainer={"train_steps": 100})
    with pytest.raises(ConfigError, match="temperature scaling is not available here"):
        config_with(output={"calibration": True})
    with pytest.raises(ConfigError, match="Keras pooling has no dilation"):
        config_with({"type": "stacked_cnn", "conv_layers": [{"pool_dilation": 2}]})


def test_real_config_values_that_used_to_be_refused_are_accepted():
    config = config_with({"type": "stacked_cnn", "padding": "same", "fc_weights_initializer": "kaiming_normal",
                          "conv_norm": "batch", "conv_norm_params": {"momentum": 0.1},
                          "conv_layers": [{"pool_kernel_size": [2, 2], "bias": False}]},
                         output={"dependencies": [], "calibration": False},
                         trainer={"regularization_type": None, "learning_rate": "auto"})
    assert config.input_feature.encoder.conv_layers[0].use_bias is False  # `bias` upgraded to use_bias
    assert config.trainer.learning_rate == 0.0001  # Ludwig's heuristic for an image input trained from scratch
    assert any("learning_rate auto: 0.0001" in note for note in config.notes)


@pytest.mark.parametrize("raw, culprit", [
    ({"defaults": {"image": None}}, None),
    ({"input_features": [{"name": "i", "type": "image", "encoder": {"type": {"nested": "stacked_cnn"}}}]},
     "input_features.0.encoder.type"),
    ({"input_features": [{"name": "i", "type": "image", "encoder": ["stacked_cnn"]}]}, "input_features.0.encoder"),
    ({"trainer": [1, 2]}, "trainer"),
    ({"trainer": {"optimizer": {"type": ["adam"]}}}, "trainer.optimizer.type"),
])
def test_wrong_shapes_get_a_config_error_naming_the_key(raw, culprit):
    base = {"input_features": [{"name": "image", "type": "image"}],
            "output_features": [{"name": "label", "type": "category"}]}
    if culprit is None:
        parse_config({**base, **raw})  # `defaults: {image: }` is an empty mapping, as in Ludwig
        return
    with pytest.raises(ConfigError, match=f"'{culprit}'"):
        parse_config({**base, **raw})


def test_did_you_mean_only_when_close():
    with pytest.raises(ConfigError) as far:
        config_with({"type": "googlenet"})
    assert "did you mean" not in str(far.value)
    with pytest.raises(ConfigError, match="did you mean 'stacked_cnn'"):
        config_with({"type": "stacked_cnm"})


def test_height_without_width_is_refused_as_in_ludwig():
    with pytest.raises(ConfigError, match="set both height and width"):
        parse_config({"input_features": [{"name": "image", "type": "image", "preprocessing": {"height": 20}}],
                      "output_features": [{"name": "label", "type": "category"}]})


def test_validation_field_and_metric_resolve_like_ludwig():
    trainer = config_with().trainer
    assert (trainer.validation_field, trainer.validation_metric) == ("label", "accuracy")
    combined = config_with(trainer={"validation_field": "combined"}).trainer
    assert combined.validation_metric == "loss"
    with pytest.raises(ConfigError, match="must be loss when validation_field is combined"):
        config_with(trainer={"validation_field": "combined", "validation_metric": "accuracy"})


# ---------------------------------------------------------------- resolved configs and the key table


def test_a_resolved_config_is_accepted_verbatim_and_means_the_same(tmp_path):
    config = config_with({"type": "stacked_cnn", "conv_layers": [{"out_channels": 8}], "conv_activation": "tanh"})
    path = tmp_path / "model_hyperparameters.json"
    path.write_text(json.dumps(config.to_dict()))
    again = parse_config(json.loads(path.read_text()))
    assert again == config
    assert not [n for n in again.notes if n.startswith("ignored")]  # defaults of no-effect keys are not noise


def test_render_config_writes_the_resolved_yaml_and_fails_cleanly(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("input_features: [{name: image, type: image}]\noutput_features: [{name: y, type: category}]\n")
    out = tmp_path / "resolved.yaml"
    done = subprocess.run([sys.executable, "-m", "ludwig_mnist.cli", "render-config", str(config), "-o", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(out.read_text())
    assert resolved["trainer"]["gradient_clipping"] == {"clipglobalnorm": 0.5, "clipnorm": None, "clipvalue": None}
    assert resolved["trainer"]["optimizer"]["type"] == "adam"
    assert parse_config(resolved) == parse_config(yaml.safe_load(config.read_text()))
    config.write_text("input_features: [{name: image, type: image}]\noutput_features: [{name: y, type: categori}]\n")
    bad = subprocess.run([sys.executable, "-m", "ludwig_mnist.cli", "render-config", str(config), "-o",
                          str(tmp_path / "bad.yaml")], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error: c.yaml: ")
    assert not (tmp_path / "bad.yaml").exists()


def test_the_key_table_in_docs_is_generated_from_the_schema():
    from ludwig_mnist.config.keys import key_rows, markdown_table, readme_with_summary

    assert (ROOT / "docs" / "config_keys.md").read_text(encoding="utf-8") == markdown_table(), \
        "docs/config_keys.md is stale: run scripts/config_keys.py"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_with_summary(readme) == readme, "the README's config-key summary is stale: run scripts/config_keys.py"
    rows = {row.path: row for row in key_rows()}
    assert rows["backend"].policy == "no effect"
    assert rows["trainer.train_steps"].policy == "limited"
    assert rows["trainer.gradient_clipping.clipglobalnorm"].default == "0.5"
