"""Data stage: CSV validation, drop_row, vocabulary order, splits, carved validation."""

import numpy as np
import pandas as pd
import pytest
import yaml
from synthetic import TINY_CONFIG, make_dataset

from ludwig_mnist.config.load import parse_config
from ludwig_mnist.data.prepare import prepare_data
from ludwig_mnist.data.splits import assign_splits
from ludwig_mnist.data.table import build_vocabulary, drop_missing, read_table
from ludwig_mnist.errors import DataError
from ludwig_mnist.options import DataOptions


def tiny_config(**split):
    raw = yaml.safe_load(TINY_CONFIG)
    if split:
        raw["preprocessing"]["split"] = split
    return parse_config(raw)


def test_vocabulary_is_by_descending_frequency_then_name():
    names, freq = build_vocabulary(pd.Series(["b", "a", "c", "c", "b", "c"]))
    assert names == ("c", "b", "a")
    assert freq == {"c": 3, "b": 2, "a": 1}
    assert build_vocabulary(pd.Series(["z", "y"]))[0] == ("y", "z")  # ties never depend on row order


def test_labels_stay_strings(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("image_path,label,split\na.png,007,0\nb.png,T-shirt/top,2\n")
    table = read_table(path)
    assert list(table["label"]) == ["007", "T-shirt/top"]


def test_tsv_is_detected(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("image_path\tlabel\tsplit\na.png\t1\t0\n")
    assert list(read_table(path).columns) == ["image_path", "label", "split"]


def test_empty_csv_and_header_only(tmp_path):
    empty, header = tmp_path / "empty.csv", tmp_path / "header.csv"
    empty.write_text("")
    header.write_text("image_path,label,split\n")
    with pytest.raises(DataError, match="empty.csv is empty"):
        read_table(empty)
    with pytest.raises(DataError, match="header.csv has a header .* but no rows"):
        read_table(header)


def test_drop_row_counts_empty_labels():
    table = pd.DataFrame({"image_path": ["a", "b", "c"], "label": ["1", None, " "]})
    kept, dropped = drop_missing(table, ["image_path", "label"])
    assert list(kept["image_path"]) == ["a"] and dropped == 2


def test_fixed_split_rejects_other_codes():
    table = pd.DataFrame({"image_path": ["a", "b"], "label": ["1", "2"], "split": ["0", "3"]})
    with pytest.raises(DataError, match=r"column 'split' must hold 0 .* line 3 \('3'\)"):
        assign_splits(tiny_config(), table, np.array([0, 1]), 0, "d.csv")


def test_carves_stratified_validation_when_absent():
    labels = np.repeat([0, 1], 50)
    table = pd.DataFrame({"image_path": [f"{i}.png" for i in range(100)], "label": labels.astype(str),
                          "split": ["0"] * 80 + ["2"] * 20})
    table.loc[40:49, "split"] = "2"
    codes, notes = assign_splits(tiny_config(), table, labels, 0, "d.csv")
    assert (codes == 1).sum() == 7 and "set aside for validation" in notes[0]
    assert set(labels[codes == 1]) == {0, 1}  # stratified
    again, _ = assign_splits(tiny_config(), table, labels, 0, "d.csv")
    assert np.array_equal(codes, again)  # seeded


def test_random_and_stratify_splits_follow_probabilities():
    labels = np.repeat([0, 1], 100)
    table = pd.DataFrame({"image_path": [f"{i}" for i in range(200)], "label": labels.astype(str)})
    codes, _ = assign_splits(tiny_config(type="random", probabilities=[0.7, 0.1, 0.2]), table, labels, 1, "d")
    assert np.bincount(codes).tolist() == [140, 20, 40]
    codes, _ = assign_splits(tiny_config(type="stratify", column="label", probabilities=[0.5, 0.25, 0.25]),
                             table, labels, 1, "d")
    assert (labels[codes == 1] == 0).sum() == 25 and (labels[codes == 1] == 1).sum() == 25


def test_empty_training_split_is_an_error():
    table = pd.DataFrame({"image_path": ["a", "b"], "label": ["1", "2"], "split": ["2", "1"]})
    with pytest.raises(DataError, match="training split is empty"):
        assign_splits(tiny_config(), table, np.array([0, 1]), 0, "d.csv")


def test_prepare_data_end_to_end(tmp_path):
    csv_path, zip_path = make_dataset(tmp_path / "in", train_per_class=10, test_per_class=3)
    data = prepare_data(tiny_config(), DataOptions(raw_data=zip_path, dataset=csv_path), tmp_path / "work", seed=0,
                     log=lambda m: None)
    assert data.summary.class_names == ("T-shirt/top", "cat", "dog")
    assert data.splits["training"].images.shape == (27, 12, 12, 1)
    assert data.splits["validation"].images.shape == (3, 12, 12, 1)
    assert data.splits["test"].images.dtype == np.uint8 and len(data.splits["test"].labels) == 9
    assert data.summary.split_counts == {"training": 27, "validation": 3, "test": 9}
    # every training image decodes to the right class's band
    test = data.splits["test"]
    assert all(test.sources[i].split("/")[1].replace("_", "/") == data.summary.class_names[label]
               for i, label in enumerate(test.labels))


def test_missing_column_names_columns_present(tmp_path):
    csv_path, zip_path = make_dataset(tmp_path / "in")
    pd.read_csv(csv_path).rename(columns={"label": "digit"}).to_csv(csv_path, index=False)
    with pytest.raises(DataError, match="no column 'label' .* columns present: image_path, digit, split"):
        prepare_data(tiny_config(), DataOptions(raw_data=zip_path, dataset=csv_path), tmp_path / "work", seed=0,
                     log=lambda m: None)


def test_single_class_is_an_error(tmp_path):
    csv_path, zip_path = make_dataset(tmp_path / "in", classes=("only",))
    with pytest.raises(DataError, match="single class"):
        prepare_data(tiny_config(), DataOptions(raw_data=zip_path, dataset=csv_path), tmp_path / "work", seed=0,
                     log=lambda m: None)
