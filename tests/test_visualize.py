"""`ludwig-mnist visualize` on the files of real tiny runs, on Ludwig-0.10-shaped files, and on bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from synthetic import make_dataset, write_config

from ludwig_mnist.cli import main
from ludwig_mnist.visualize import names, readers, registry


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two tiny experiments with different seeds on the same rows, and a predict run with labels."""
    d = tmp_path_factory.mktemp("vis")
    csv_path, zip_path = make_dataset(d, train_per_class=20, test_per_class=5)
    config = write_config(d)
    outs = []
    for seed in (1, 2):
        out = d / f"run{seed}"
        assert main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(zip_path),
                     "--output_directory", str(out), "--random_seed", str(seed),
                     "--dataset_label", "My <digits> table", "--raw_data_label", "images of May"]) == 0
        outs.append(out / "experiment_run")
    pred = d / "pred"
    assert main(["predict", "--model_path", str(outs[0] / "model"), "--dataset", str(csv_path), "--raw_data",
                 str(zip_path), "--output_directory", str(pred), "--dataset_label", "held-out rows"]) == 0
    return d, outs, pred


def vis(out, *args):
    return main(["visualize", "--output_directory", str(out), *map(str, args)])


def test_dataset_labels_replace_the_file_names_in_the_report_headers(runs):
    _, outs, pred = runs
    html = (outs[0].parent / "ludwig_experiment_report.html").read_text()
    header = html[html.index("<header"):html.index("</header>")]
    assert "My &lt;digits&gt; table" in header and "images of May" in header
    assert "My <digits>" not in html
    html = (pred / "ludwig_predict_report.html").read_text()
    assert "held-out rows" in html[html.index("<header"):html.index("</header>")]


def test_every_supported_name_draws_from_a_real_run(runs, tmp_path):
    _, outs, _ = runs
    args = {"--training_statistics": [o / "training_statistics.json" for o in outs],
            "--test_statistics": [o / "test_statistics.json" for o in outs],
            "--probabilities": [o / "predictions.csv" for o in outs]}
    flat = [x for k, v in args.items() for x in (k, *v)]
    for name in names.SUPPORTED:
        out = tmp_path / name
        assert vis(out, "--visualization", name, *flat, "--model_names", "a", "b",
                   "--ground_truth_metadata", outs[0] / "model/training_set_metadata.json") == 0, name
        files = sorted(out.iterdir())
        assert files and all(f.name.startswith(name) and f.suffix == ".png" for f in files), name
        for f in files:
            with Image.open(f) as im:
                im.verify()
    assert len(list((tmp_path / "calibration_1_vs_all").iterdir())) == 3  # one per class


def test_compare_performance_of_a_run_with_itself_has_identical_bars(runs):
    _, outs, _ = runs
    stats = outs[0] / "test_statistics.json"
    feature, metrics, series = registry.performance_table(registry.Request(test_statistics=(stats, stats)))
    assert feature == "label" and metrics == ["accuracy", "accuracy_micro", "hits_at_k", "roc_auc", "loss"]
    assert series["model 1"] == series["model 2"]
    saved = json.loads(stats.read_text())["label"]
    assert series["model 1"] == [saved[m] for m in metrics]


def test_agreement_counts_of_two_runs_add_up_and_match_the_predictions(runs):
    _, outs, _ = runs
    req = registry.Request(probabilities=tuple(o / "predictions.csv" for o in outs), model_names=("a", "b"))
    models, model_names = registry._models(req, "compare_classifiers_predictions", rowwise=True, exactly=2)
    counts = registry.agreement(models, model_names)
    frames = [pd.read_csv(o / "predictions.csv", dtype=str) for o in outs]
    right = [f["label"] == f["label_predictions"] for f in frames]
    assert sum(counts.values()) == len(frames[0])
    assert counts["both right"] == int((right[0] & right[1]).sum())
    assert counts["only a right"] == int((right[0] & ~right[1]).sum())


def test_ludwig_shaped_files_with_ground_truth_and_metadata(tmp_path):
    # Ludwig 0.10 writes probabilities without the label column; the labels come from --ground_truth's test rows
    classes = ["7", "1", "10"]
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=12)
    pd.DataFrame({f"digit_probabilities_{c}": p[:, i] for i, c in enumerate(classes)}
                 | {"digit_predictions": [classes[i] for i in p.argmax(1)]}).to_csv(tmp_path / "pred.csv", index=False)
    truth = [classes[i] for i in rng.integers(0, 3, 12)]
    pd.DataFrame({"image": [f"{i}.png" for i in range(20)], "digit": truth + ["1"] * 8,
                  "split": [2] * 12 + [0] * 8}).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "meta.json").write_text(json.dumps({"digit": {"idx2str": classes, "str2freq": {"7": 5, "1": 4, "10": 3}}}))
    req = registry.Request(probabilities=(tmp_path / "pred.csv",), ground_truth=tmp_path / "data.csv",
                           ground_truth_metadata=tmp_path / "meta.json", output_feature_name="digit")
    (m,), _ = registry._models(req, "confidence_thresholding")
    assert m.class_names == tuple(classes)
    assert [classes[i] for i in m.y_true] == truth
    assert vis(tmp_path / "o", "--visualization", "confidence_thresholding", "--probabilities", tmp_path / "pred.csv",
               "--ground_truth", tmp_path / "data.csv", "--ground_truth_metadata", tmp_path / "meta.json",
               "--output_feature_name", "digit", "--file_format", "pdf") == 0
    assert (tmp_path / "o/confidence_thresholding_digit.pdf").read_bytes().startswith(b"%PDF")


def test_different_class_sets_are_refused(runs, tmp_path, capsys):
    _, outs, _ = runs
    frame = pd.read_csv(outs[1] / "predictions.csv", dtype=str)
    frame = frame.rename(columns={"label_probabilities_cat": "label_probabilities_lion"})
    frame.to_csv(tmp_path / "other.csv", index=False)
    assert vis(tmp_path / "o", "--visualization", "roc_curves", "--probabilities",
               outs[0] / "predictions.csv", tmp_path / "other.csv") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "predict different classes" in err[0] and "lion" in err[0]
    assert not (tmp_path / "o").exists()


def test_different_rows_are_refused_for_a_row_wise_comparison(runs, tmp_path, capsys):
    _, outs, _ = runs
    frame = pd.read_csv(outs[1] / "predictions.csv", dtype=str).iloc[::-1]
    frame.to_csv(tmp_path / "shuffled.csv", index=False)
    code = vis(tmp_path / "o", "--visualization", "compare_classifiers_predictions", "--probabilities",
               outs[0] / "predictions.csv", tmp_path / "shuffled.csv")
    assert code == 2 and "disagree on the true label of row" in capsys.readouterr().err


def test_a_ludwig_name_not_supported_gets_one_line(tmp_path, capsys):
    assert vis(tmp_path, "--visualization", "hyperopt_report") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and "hyperopt_report is Ludwig's but not supported" in err[0]


def test_names_registry_and_ludwig_list_agree():
    assert set(names.SUPPORTED) <= set(names.LUDWIG_VISUALIZATIONS)
    assert len(names.LUDWIG_VISUALIZATIONS) == 26
    assert tuple(registry.VISUALIZATIONS) == names.SUPPORTED


def test_two_features_need_a_name(tmp_path):
    (tmp_path / "t.json").write_text(json.dumps({"a": {"accuracy": 1}, "b": {"accuracy": 1}, "combined": {}}))
    with pytest.raises(readers.VisualizeError, match="name one with --output_feature_name"):
        readers.test_statistics(tmp_path / "t.json", None)


def test_compare_experiments_report(runs, tmp_path):
    _, outs, _ = runs
    out = tmp_path / "cmp"
    assert vis(out, "--visualization", "compare_experiments", "--model_names", "seed <1>", "seed 2",
               "--test_statistics", *[o / "test_statistics.json" for o in outs],
               "--training_statistics", *[o / "training_statistics.json" for o in outs],
               "--probabilities", *[o / "predictions.csv" for o in outs]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "compare_experiments_accuracy.png", "compare_experiments_loss.png", "compare_experiments_per_class_f1.png",
        "compare_experiments_report.html"]
    html = (out / "compare_experiments_report.html").read_text()
    assert "seed &lt;1&gt;" in html and "seed <1>" not in html
    stats = [json.loads((o / "test_statistics.json").read_text())["label"] for o in outs]
    best = max(s["accuracy_micro"] for s in stats)
    assert f"<strong>{best:.4f} ★</strong>" in html
    frames = [pd.read_csv(o / "predictions.csv", dtype=str) for o in outs]
    same = (frames[0]["label_predictions"] == frames[1]["label_predictions"]).mean()
    assert f"{100 * same:.1f} %" in html
    assert html.count("<img ") == 3 and html.count('alt=""') == 0


def test_compare_experiments_of_one_run_with_itself_marks_every_column_best(runs, tmp_path):
    from ludwig_mnist.visualize.experiments import metrics_rows, row_agreement

    _, outs, _ = runs
    s = json.loads((outs[0] / "test_statistics.json").read_text())["label"]
    _, rows = metrics_rows(["a", "b"], [s, s])
    assert [c["value"] for c in rows[0]["cells"]] == [c["value"] for c in rows[1]["cells"]]
    assert all(c["best"] for r in rows for c in r["cells"] if c["value"] is not None)
    req = registry.Request(probabilities=(outs[0] / "predictions.csv",) * 2)
    models, _ = registry._models(req, "x", rowwise=True)
    agree = row_agreement(models, ["a", "b"])
    assert agree["pairs"] == [("a", "b", 1.0)] and [n for _, n, _ in agree["alone"]] == [0, 0]


def test_compare_experiments_needs_one_file_per_experiment(runs, tmp_path, capsys):
    _, outs, _ = runs
    assert vis(tmp_path / "o", "--visualization", "compare_experiments",
               "--test_statistics", *[o / "test_statistics.json" for o in outs],
               "--probabilities", outs[0] / "predictions.csv") == 2
    assert "--probabilities has 1 file for 2 experiments" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_labels_unlike_the_probability_columns_are_refused(tmp_path):
    pd.DataFrame({"is_cat": ["1", "0"], "is_cat_probabilities_False": [0.2, 0.9],
                  "is_cat_probabilities_True": [0.8, 0.1]}).to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(readers.VisualizeError, match="none of the true labels"):
        readers.probabilities(tmp_path / "p.csv", None, None, None)
    pd.DataFrame({"is_cat": ["True", "False"], "is_cat_probabilities_False": [0.2, 0.9],
                  "is_cat_probabilities_True": [0.8, 0.1]}).to_csv(tmp_path / "b.csv", index=False)
    m = readers.probabilities(tmp_path / "b.csv", None, None, None)  # a binary output: classes False, True
    assert m.class_names == ("False", "True") and m.y_true.tolist() == [1, 0]


def test_dataset_label_reaches_the_k_fold_report(tmp_path):
    csv_path, zip_path = make_dataset(tmp_path, train_per_class=6, test_per_class=2)
    out = tmp_path / "kfold"
    assert main(["experiment", "--config", str(write_config(tmp_path)), "--dataset", str(csv_path), "--raw_data",
                 str(zip_path), "--output_directory", str(out), "--k_fold", "2", "--dataset_label", "folds of May"]) == 0
    (html,) = out.glob("*.html")
    text = html.read_text()
    assert "folds of May" in text[text.index("<header"):text.index("</header>")]
