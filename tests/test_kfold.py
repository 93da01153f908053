"""k-fold cross-validation: stratified folds, per-fold and mean ± std statistics, report."""

import json

import numpy as np
from synthetic import TINY_CONFIG, make_dataset, write_config

from ludwig_mnist.cli import main
from ludwig_mnist.data.splits import assign_folds
from ludwig_mnist.pipelines.kfold import summarize


def test_folds_are_stratified_balanced_and_seeded():
    labels = np.repeat([0, 1, 2], [30, 20, 10])
    folds = assign_folds(labels, 5, seed=3)
    assert np.bincount(folds).tolist() == [12] * 5
    for label, count in ((0, 6), (1, 4), (2, 2)):
        assert np.bincount(folds[labels == label]).tolist() == [count] * 5
    assert np.array_equal(folds, assign_folds(labels, 5, seed=3))


def test_summary_mean_and_std():
    stats = [{"accuracy_micro": a, "accuracy": a, "loss": 1 - a, "hits_at_k": 1.0, "roc_auc": 0.9,
              "overall_stats": {"avg_f1_score_macro": a, "avg_f1_score_weighted": a, "kappa_score": a}}
             for a in (0.6, 0.8)]
    summary = summarize(stats)
    assert summary["accuracy_micro"]["mean"] == 0.7
    assert abs(summary["accuracy_micro"]["std"] - 0.1) < 1e-12
    assert summary["loss"]["per_fold"] == [0.4, 0.19999999999999996]


def test_kfold_cli(tmp_path):
    csv_path, zip_path = make_dataset(tmp_path / "in", train_per_class=8, test_per_class=2)
    config = write_config(tmp_path / "in")
    out = tmp_path / "out"
    assert main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(zip_path),
                 "--output_directory", str(out), "--k_fold", "3"]) == 0
    stats = json.loads((out / "kfold_training_statistics.json").read_text())
    assert sorted(stats) == ["fold_1", "fold_2", "fold_3", "overall"]
    assert "accuracy_micro_mean" in stats["overall"]["label"] and "accuracy_micro_std" in stats["overall"]["label"]
    held_out = sum(sum(map(sum, stats[f"fold_{i}"]["test_statistics"]["label"]["confusion_matrix"])) for i in (1, 2, 3))
    assert held_out == 30  # every row held out exactly once
    indices = json.loads((out / "kfold_split_indices.json").read_text())
    tested = [p for fold in indices.values() for p in fold["test_images"]]
    assert len(tested) == len(set(tested)) == 30
    tsv = (out / "kfold_metrics.tsv").read_text().splitlines()
    assert tsv[0].startswith("fold\taccuracy_micro") and [line.split("\t")[0] for line in tsv[1:]] == ["1", "2", "3", "mean", "std"]
    assert "3-fold cross-validation" in (out / "ludwig_kfold_report.html").read_text()


def test_kfold_refuses_options_it_cannot_honour(tmp_path, capsys):
    csv_path, zip_path = make_dataset(tmp_path / "in", train_per_class=4, test_per_class=1)
    config = write_config(tmp_path / "in")
    code = main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(zip_path),
                 "--output_directory", str(tmp_path / "out"), "--k_fold", "2", "--tensorboard"])
    assert code == 2 and "--k_fold cannot be combined with --tensorboard" in capsys.readouterr().err


def test_kfold_needs_no_split_column_and_keeps_streamed_folds_on_disk(tmp_path, monkeypatch):
    import pandas as pd

    from ludwig_mnist.data.cache import DiskImages
    from ludwig_mnist.training import train as train_module

    csv_path, zip_path = make_dataset(tmp_path / "in", train_per_class=10, test_per_class=2)  # 12 per class
    pd.read_csv(csv_path).drop(columns=["split"]).to_csv(csv_path, index=False)  # no split column at all
    config = write_config(tmp_path / "in", TINY_CONFIG.replace(
        "    type: image\n", "    type: image\n    preprocessing:\n      in_memory: false\n"))
    seen = []
    real_train = train_module.train_model

    def spy(model, config, metadata, splits, *args, **kwargs):
        seen.append({name: type(split.images) for name, split in splits.items()})
        return real_train(model, config, metadata, splits, *args, **kwargs)

    monkeypatch.setattr(train_module, "train_model", spy)
    out = tmp_path / "out"
    assert main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(zip_path),
                 "--output_directory", str(out), "--k_fold", "2"]) == 0
    assert len(seen) == 2 and all(kinds == {"training": DiskImages, "validation": DiskImages, "test": DiskImages}
                                  for kinds in seen)
    indices = json.loads((out / "kfold_split_indices.json").read_text())
    assert sum(len(fold["test_images"]) for fold in indices.values()) == 36
    assert all(len(fold["validation_images"]) == 3 for fold in indices.values())  # 10% of 6 per class, carved
