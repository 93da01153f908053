"""Explanations: the eager trace equals the model, integrated gradients is complete, attributions land on the
evidence of a synthetic patch dataset and depend on the trained weights (Adebayo et al. 2018), and the
`explain` command and `--explain` write overlays, attributions.npz and the report section."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from conftest import REPO_ROOT
from ludwig_mnist.cli import main
from ludwig_mnist.explain.choose import patch_share, rank_correlation, sampled_rows

TEST_DATA = REPO_ROOT / "test-data"


def _benchmark():
    spec = importlib.util.spec_from_file_location("explain_patch", REPO_ROOT / "benchmarks" / "explain_patch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def patch():
    """(benchmark module, trained model, re-initialised model, held-out images, labels)."""
    bench = _benchmark()
    model, randomised = bench.trained_and_random("pool", train=300, epochs=6)
    images, labels = bench.patch_dataset(24, seed=99)
    return bench, model, randomised, images, labels


# ---------------------------------------------------------------- pure parts


def test_sampled_rows_alternate_correct_and_misclassified_per_class():
    y_true = np.array([0, 0, 0, 1, 1, 1])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.95, 0.05], [0.1, 0.9]])
    # class 0: correct 0 (0.9), 2 (0.6); wrong 1.  class 1: correct 5 (0.9), 3 (0.7); wrong 4.
    assert sampled_rows(y_true, probabilities, 6).tolist() == [0, 5, 1, 4, 2, 3]
    assert sampled_rows(y_true, probabilities, 3).tolist() == [0, 5, 1]
    assert sampled_rows(None, probabilities, 2).tolist() == [4, 5]  # unlabelled: by predicted class


def test_patch_share_and_rank_correlation():
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True
    maps = np.stack([mask.astype(float), np.ones((4, 4)), np.zeros((4, 4))])
    share = patch_share(maps, mask)
    assert share[:2].tolist() == [1.0, 0.25] and np.isnan(share[2])
    ramp = np.arange(16.0).reshape(1, 4, 4)
    assert rank_correlation(ramp, ramp ** 2)[0] == pytest.approx(1.0)
    assert rank_correlation(ramp, -ramp)[0] == pytest.approx(-1.0)


# ---------------------------------------------------------------- the methods on a trained network


def test_trace_reproduces_the_model_and_ig_is_complete(patch):
    import tensorflow as tf

    from ludwig_mnist.explain.graph import class_scores, trace_model
    from ludwig_mnist.explain.methods import gradcam_layer, integrated_gradients

    _, model, _, images, labels = patch
    outputs, trace = trace_model(model, tf.constant(images[:8], tf.float32))
    np.testing.assert_allclose(outputs.numpy(), model.predict(images[:8], verbose=0), atol=1e-5)
    maps = dict(trace.maps)  # the global max pool's output is 1x1: Grad-CAM takes the 16x16 map before it
    assert tuple(maps["conv_1_pool"].shape[1:3]) == (1, 1)
    assert tuple(maps[gradcam_layer(model, images.shape[1:])].shape[1:3]) == (16, 16)
    # completeness: the attributions add up to logit(x) - logit(black image)
    ig = integrated_gradients(model, images[:4].astype(np.float32), labels[:4], steps=64)
    _, at_x = trace_model(model, tf.constant(images[:4], tf.float32))
    _, at_0 = trace_model(model, tf.zeros((4, *images.shape[1:])))
    gap = (class_scores(at_x.logits, labels[:4]) - class_scores(at_0.logits, labels[:4])).numpy()
    np.testing.assert_allclose(ig.raw.reshape(4, -1).sum(axis=1), gap, rtol=0.1, atol=0.05 * np.abs(gap).max())


@pytest.mark.parametrize("method", ["gradcam", "integrated_gradients"])
def test_attribution_falls_on_the_patch_and_needs_the_trained_weights(patch, method):
    from ludwig_mnist.explain.methods import attribute

    bench, model, randomised, images, labels = patch
    assert (model.predict(images, verbose=0).argmax(1) == labels).mean() >= 0.95  # it learned the patch
    trained = attribute(model, images, labels, method)
    random = attribute(randomised, images, labels, method)
    assert trained.heatmaps.shape == (len(images), bench.SIZE, bench.SIZE)
    area = bench.patch_mask().mean()  # 0.0625: the share a uniform map would give
    trained_share = np.nanmean(patch_share(trained.heatmaps, bench.patch_mask()))
    random_share = np.nanmean(patch_share(random.heatmaps, bench.patch_mask()))
    assert trained_share > 0.4, f"{method}: only {trained_share:.2f} of the mass on the patch ({area:.4f} of the area)"
    assert trained_share > 3 * random_share, f"{method}: randomised weights give {random_share:.2f}"
    # the sanity check: maps of the randomised network do not rank pixels as the trained one does
    assert np.nanmean(rank_correlation(trained.heatmaps, random.heatmaps)) < 0.5


def test_gradcam_reaches_into_a_nested_backbone():
    """resnet18 is a nested sub-model; on a 32x32 input layer4 is 1x1, so Grad-CAM takes layer3's 2x2 map
    (not a zero-padded copy of a 1x1 map), and the eager trace still equals predict."""
    import tensorflow as tf

    from ludwig_mnist.config.load import parse_config
    from ludwig_mnist.explain.graph import trace_model
    from ludwig_mnist.explain.methods import attribute, gradcam_layer
    from ludwig_mnist.model.build import build_model

    config = parse_config({"input_features": [{"name": "image_path", "type": "image", "encoder": {
        "type": "resnet", "model_variant": 18, "use_pretrained": False}}],
        "output_features": [{"name": "label", "type": "category"}]})
    model = build_model(config, (32, 32, 1), 3)
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 1)).astype(np.uint8)
    assert gradcam_layer(model, (32, 32, 1)) == "resnet18/layer3_1_out"
    outputs, _ = trace_model(model, tf.constant(images, tf.float32))
    np.testing.assert_allclose(outputs.numpy(), model.predict(images, verbose=0), atol=1e-5)
    attribution = attribute(model, images, np.array([0, 2]), "gradcam")
    assert attribution.raw.shape == (2, 2, 2) and attribution.heatmaps.shape == (2, 32, 32)


def test_gradcam_refuses_an_encoder_without_convolutions():
    from ludwig_mnist.config.load import parse_config
    from ludwig_mnist.errors import ModelError
    from ludwig_mnist.explain.methods import gradcam_layer
    from ludwig_mnist.model.build import build_model

    config = parse_config({"input_features": [{"name": "image_path", "type": "image", "encoder": {"type": "mlp"}}],
                           "output_features": [{"name": "label", "type": "category"}]})
    with pytest.raises(ModelError, match="integrated_gradients"):
        gradcam_layer(build_model(config, (8, 8, 1), 3), (8, 8, 1))


# ---------------------------------------------------------------- the commands


def test_explain_command_on_chosen_rows(tmp_path, capsys):
    out = tmp_path / "out"
    wanted = ["test/4/27.png", "test/5/53.png"]
    assert main(["explain", "--model_path", str(TEST_DATA / "predict_model"), "--dataset",
                 str(TEST_DATA / "predict_labelled.csv"), "--raw_data", str(TEST_DATA / "mnist_images.zip"),
                 "--output_directory", str(out), "--method", "integrated_gradients",
                 "--explain_images", *wanted]) == 0
    with np.load(out / "explanations" / "attributions.npz") as npz:
        assert npz["image_paths"].tolist() == wanted
        assert npz["true_labels"].tolist() == ["4", "5"]
        assert str(npz["method"]) == "integrated_gradients"
        assert npz["heatmaps"].shape == (2, 28, 28) and npz["raw"].shape == (2, 28, 28, 1)
        assert float(npz["heatmaps"].max()) == pytest.approx(1.0)
    overlays = sorted(p.name for p in (out / "explanations" / "overlays").iterdir())
    assert overlays == ["000_4_27.png", "001_5_53.png"]
    html = (out / "ludwig_predict_report.html").read_text(encoding="utf-8")
    assert "What the model looks at" in html and 'href="#explanations"' in html and "test/5/53.png" in html
    assert (out / "predictions.csv").is_file()


def test_explain_names_a_path_that_is_not_in_the_table(tmp_path, capsys):
    code = main(["explain", "--model_path", str(TEST_DATA / "predict_model"), "--dataset",
                 str(TEST_DATA / "predict_labelled.csv"), "--raw_data", str(TEST_DATA / "mnist_images.zip"),
                 "--output_directory", str(tmp_path / "out"), "--explain_images", "test/4/nope.png"])
    assert code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "'test/4/nope.png'" in lines[0]
    assert not (tmp_path / "out" / "explanations").exists()


def test_experiment_with_explain(tmp_path, capsys):
    out = tmp_path / "out"
    lines = (TEST_DATA / "mnist_dataset.csv").read_text(encoding="utf-8").splitlines()
    train = [line for line in lines[1:] if line.endswith(",0")][:100]
    test = [line for line in lines[1:] if line.endswith(",2")][:40]
    dataset = tmp_path / "small.csv"  # 100 training and 40 test rows of the tutorial data: seconds to train
    dataset.write_text("\n".join([lines[0], *train, *test]) + "\n", encoding="utf-8")
    assert main(["experiment", "--config", str(TEST_DATA / "config_tiny.yaml"), "--dataset",
                 str(dataset), "--raw_data", str(TEST_DATA / "mnist_images.zip"),
                 "--output_directory", str(out), "--explain", "gradcam", "--num_images", "10"]) == 0
    with np.load(out / "explanations" / "attributions.npz") as npz:
        paths = npz["image_paths"].tolist()
        assert len(paths) == 10 and all(p.startswith("test/") for p in paths)  # the shown (test) split
        assert str(npz["layer"]) and npz["heatmaps"].shape == (10, 28, 28)
    assert len(list((out / "explanations" / "overlays").glob("*.png"))) == 10
    html = (out / "ludwig_experiment_report.html").read_text(encoding="utf-8")
    assert "What the model looks at" in html and "Grad-CAM" in html
    description = json.loads((out / "experiment_run" / "description.json").read_text())
    assert "explain" in description["timings_seconds"]


def test_explain_options_need_a_method(tmp_path, capsys):
    code = main(["predict", "--model_path", str(TEST_DATA / "predict_model"), "--dataset",
                 str(TEST_DATA / "predict_labelled.csv"), "--output_directory", str(tmp_path / "o"),
                 "--num_images", "3"])
    assert code == 2 and "--explain" in capsys.readouterr().err
