"""Ludwig 0.10's hash split: same value → same split, independent of seed and row order, Ludwig's assignment."""

import base64
import hashlib
import json
import zlib

import numpy as np
import pandas as pd
import pytest

from ludwig_mnist.config.load import parse_config
from ludwig_mnist.data.splits import assign_splits, hash_code, hash_split
from ludwig_mnist.errors import ConfigError

PROBABILITIES = (0.7, 0.1, 0.2)


def ludwig_hash_split(value, probabilities):
    """Ludwig 0.10 ludwig/data/split.py HashSplitter.hash_column, restated line by line:
    hash_dict({"value": x}, max_length=None) = base64(md5(json.dumps(d, sort_keys=True, ensure_ascii=True)),
    altchars=b"__"), then crc32 compared with thresholds v * 2**32."""
    s = json.dumps({"value": value}, sort_keys=True, ensure_ascii=True)
    b = base64.b64encode(hashlib.md5(s.encode()).digest(), altchars=b"__")
    hash_value = zlib.crc32(b)
    thresholds = [v * 2 ** 32 for v in probabilities]
    if hash_value < thresholds[0]:
        return 0
    if hash_value < thresholds[0] + thresholds[1]:
        return 1
    return 2


# Worked out from the steps above (base64 text, its crc32, the split at 0.7/0.1/0.2, whose thresholds are
# 3006477107.2 and 3435973836.8), so a change of the recipe fails against fixed numbers too.
KNOWN = {
    "patient_1": (b"SCZfYBhCg9qEYFQ1ZUJsQw==", 3064514801, 1),
    "patient_2": (b"_3EX75hTWq3h1TUODUXirg==", 2831187269, 0),
    "sample-0007": (b"rQoJyCF_xyAcFXMRrYvQRg==", 263429409, 0),
    "42": (b"1oTsCaYigM2d0K6swrsbBQ==", 379387, 0),
    "\u00dcn\u00efcode id": (b"Sq2WtK49Eut2coDdah5Wbw==", 3622596339, 2),
}


def test_known_ids_get_ludwigs_split():
    for value, (text, crc, split) in KNOWN.items():
        s = json.dumps({"value": value}, sort_keys=True, ensure_ascii=True)
        assert base64.b64encode(hashlib.md5(s.encode()).digest(), altchars=b"__") == text
        assert zlib.crc32(text) == crc
        assert hash_code(value, PROBABILITIES) == ludwig_hash_split(value, PROBABILITIES) == split, value
    assert "\\u00dc" in json.dumps({"value": "\u00dc"}, ensure_ascii=True)  # non-ASCII ids hash by escapes


def test_thresholds_follow_the_probabilities():
    # an id whose crc32 is known: all-train and all-test probabilities put it there whatever its hash
    assert hash_code("x", (1.0, 0.0, 0.0)) == 0
    assert hash_code("x", (0.0, 0.0, 1.0)) == 2
    assert hash_code("x", (0.0, 1.0, 0.0)) == 1


def test_same_value_same_split_and_order_independent():
    ids = [f"subject_{i % 37}" for i in range(400)]  # 37 subjects, ~11 images each
    codes = hash_split(pd.Series(ids), PROBABILITIES)
    by_id = {}
    for value, code in zip(ids, codes):
        assert by_id.setdefault(value, code) == code
    shuffled = np.random.default_rng(3).permutation(len(ids))
    again = hash_split(pd.Series([ids[i] for i in shuffled]), PROBABILITIES)
    assert list(again) == [codes[i] for i in shuffled]


def test_proportions_on_many_ids():
    codes = hash_split(pd.Series([f"id{i}" for i in range(20000)]), PROBABILITIES)
    fractions = np.bincount(codes, minlength=3) / len(codes)
    assert np.allclose(fractions, PROBABILITIES, atol=0.015), fractions


def test_missing_values_land_together():
    codes = hash_split(pd.Series(["a", np.nan, "b", np.nan]), PROBABILITIES)
    assert codes[1] == codes[3] == ludwig_hash_split(float("nan"), PROBABILITIES)


def _config(split):
    return parse_config({"input_features": [{"name": "image_path", "type": "image"}],
                         "output_features": [{"name": "label", "type": "category"}],
                         "preprocessing": {"split": split}})


def test_assign_splits_hash_is_seed_independent_and_carves_whole_ids():
    ids = [f"p{i % 60}" for i in range(600)]
    table = pd.DataFrame({"image_path": [f"{i}.png" for i in range(600)], "label": ["a", "b"] * 300, "pid": ids})
    config = _config({"type": "hash", "column": "pid", "probabilities": [0.8, 0.0, 0.2]})
    labels = np.array([0, 1] * 300)
    first, notes = assign_splits(config, table, labels, 1, "d.csv")
    second, _ = assign_splits(config, table, labels, 2, "d.csv")
    assert (first == 2).sum() > 0 and np.array_equal(first == 2, second == 2)  # test rows: the hash alone
    assert (first == 1).any()  # the carved validation set
    for value in set(ids):
        assert len(set(first[np.array(ids) == value])) == 1, value  # carve keeps ids whole too
    assert any("hash split on column 'pid'" in n for n in notes)


def test_hash_needs_column_and_datetime_is_refused():
    with pytest.raises(ConfigError, match="required for a hash split"):
        _config({"type": "hash"})
    with pytest.raises(ConfigError, match="date column"):
        _config({"type": "datetime", "column": "date"})
    with pytest.raises(ConfigError, match="must sum to 1"):
        _config({"type": "hash", "column": "pid", "probabilities": [0.5, 0.1, 0.1]})


def test_prepare_data_reads_the_hash_column_from_the_table(tmp_path):
    """Through the data stage: an id column of the CSV decides the splits, and each id stays in one split."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from synthetic import make_dataset

    from ludwig_mnist.data.prepare import prepare_data
    from ludwig_mnist.options import DataOptions

    csv_path, zip_path = make_dataset(tmp_path, classes=("a", "b"), train_per_class=40, test_per_class=0)
    table = pd.read_csv(csv_path, dtype=str)
    table["sample_id"] = [f"s{i // 4}" for i in range(len(table))]  # 4 images per sample
    table.drop(columns="split").to_csv(csv_path, index=False)
    config = parse_config({"input_features": [{"name": "image_path", "type": "image"}],
                           "output_features": [{"name": "label", "type": "category"}],
                           "preprocessing": {"split": {"type": "hash", "column": "sample_id"}}})
    data = prepare_data(config, DataOptions(raw_data=zip_path, dataset=csv_path), tmp_path / "work", seed=0,
                        log=lambda _: None)
    where = {}
    for name, split in data.splits.items():
        for source in split.sources:
            sample = table.loc[table["image_path"] == source, "sample_id"].item()
            assert where.setdefault(sample, name) == name, sample
    expected = {s: ("training", "validation", "test")[ludwig_hash_split(s, PROBABILITIES)] for s in where}
    # Ludwig's assignment; with no validation id among these 20, the carve moved whole training ids there
    assert "validation" not in expected.values()
    assert {s for s, n in where.items() if n == "test"} == {s for s, n in expected.items() if n == "test"} != set()
    moved = {s for s, n in where.items() if n == "validation"}
    hashed_training = sum(1 for n in expected.values() if n == "training")
    assert all(expected[s] == "training" for s in moved) and len(moved) == round(0.1 * hashed_training) >= 1
