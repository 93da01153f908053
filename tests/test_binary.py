"""The binary output: Ludwig's label → bool rules, its statistics by hand, and its config."""

import math

import numpy as np
import pandas as pd
import pytest

from ludwig_mnist.config.binary import BinaryLoss
from ludwig_mnist.config.load import parse_config
from ludwig_mnist.data.binary import BOOL_NAMES, binary_index, binary_vocabulary, str2bool
from ludwig_mnist.errors import ConfigError, DataError
from ludwig_mnist.evaluate_binary import binary_epoch_metrics, evaluate_binary


def vocab(values, fallback=None):
    return binary_vocabulary(pd.Series(values), fallback, "label", "d.csv")


@pytest.mark.parametrize("value, expected", [
    ("yes", True), ("Y", True), ("TRUE", True), ("t", True), ("1", True), ("1.0", True),
    ("no", False), ("N", False), ("False", False), ("f", False), ("0", False), ("0.0", False), ("-1", False),
    ("-1.0", False)])
def test_str2bool_conventional_strings(value, expected):
    assert str2bool(value) is expected


def test_str2bool_fallback():
    with pytest.raises(ValueError):
        str2bool("cat")
    assert str2bool("cat", "cat") is True and str2bool("dog", "cat") is False
    assert str2bool("yes", "dog") is True  # the lists win over the fallback label


def test_numbers_and_true_false_columns_are_plain_booleans():
    assert vocab(["0", "1", "1"]) == (BOOL_NAMES, None, None)
    # Ludwig casts a numeric column float → bool: every non-zero number is True, -1 included
    assert list(binary_index(pd.Series(["0", "2", "-1", "0.0"]), None, "label", "d.csv")) == [0, 1, 1, 0]
    assert vocab(["True", "false"]) == (BOOL_NAMES, None, None)
    assert list(binary_index(pd.Series(["True", "false", "TRUE"]), None, "label", "d.csv")) == [1, 0, 1]


def test_conventional_strings_keep_their_names():
    names, mapping, fallback = vocab(["yes", "no", "yes"])
    assert names == ("no", "yes") and mapping == {"yes": True, "no": False}
    assert fallback == "no"  # Ludwig records sorted(values)[0] as fallback_true_label even when unused
    assert list(binary_index(pd.Series(["no", "yes"]), mapping, "label", "d.csv")) == [0, 1]


def test_two_arbitrary_strings_use_the_fallback_label():
    names, mapping, fallback = vocab(["dog", "cat", "dog"])
    assert fallback == "cat" and mapping == {"dog": False, "cat": True}  # alphabetically first is True
    assert names == ("dog", "cat")  # bool2str: [false label, true label]
    names, mapping, _ = vocab(["dog", "cat"], fallback="dog")
    assert names == ("cat", "dog") and mapping["dog"] is True


def test_bad_binary_columns_are_refused():
    with pytest.raises(DataError, match="3 distinct values"):
        vocab(["a", "b", "c"])
    with pytest.raises(DataError, match="both a true and a false"):
        vocab(["yes", "y"])
    with pytest.raises(DataError, match="'maybe'"):
        binary_index(pd.Series(["yes", "maybe"]), {"yes": True, "no": False}, "label", "d.csv")


Y = np.array([0, 0, 1, 1])
P_TRUE = np.array([0.1, 0.6, 0.4, 0.9])
PROBS = np.column_stack([1 - P_TRUE, P_TRUE])


def test_epoch_metrics_by_hand():
    m = binary_epoch_metrics(Y, PROBS, 0.5, BinaryLoss())
    assert list(m) == ["accuracy", "binary_weighted_cross_entropy", "loss", "precision", "recall", "roc_auc",
                       "specificity"]
    expected_loss = -(math.log(0.9) + math.log(0.4) + math.log(0.4) + math.log(0.9)) / 4
    assert m["loss"] == pytest.approx(expected_loss) and m["binary_weighted_cross_entropy"] == m["loss"]
    assert (m["accuracy"], m["precision"], m["recall"], m["specificity"]) == (0.5, 0.5, 0.5, 0.5)
    assert m["roc_auc"] == pytest.approx(0.75)  # 3 of the 4 (positive, negative) pairs ordered right
    # the feature's threshold moves accuracy only; precision/recall/specificity stay at Ludwig's 0.5
    low = binary_epoch_metrics(Y, PROBS, 0.35, BinaryLoss())
    assert low["accuracy"] == 0.75 and low["precision"] == 0.5 and low["specificity"] == 0.5


def test_loss_options():
    weighted = binary_epoch_metrics(Y, PROBS, 0.5, BinaryLoss(positive_class_weight=2.0))
    assert weighted["loss"] == pytest.approx(-(math.log(0.9) + math.log(0.4) + 2 * math.log(0.4)
                                               + 2 * math.log(0.9)) / 4)
    plain = binary_epoch_metrics(Y, PROBS, 0.5, BinaryLoss())["loss"]
    robust = binary_epoch_metrics(Y, PROBS, 0.5, BinaryLoss(robust_lambda=1))["loss"]
    assert robust == pytest.approx(0.5) and plain != robust  # (1 - 1) loss + 1 / 2
    penalised = binary_epoch_metrics(Y, PROBS, 0.5, BinaryLoss(confidence_penalty=1.0))["loss"]
    entropy = max(-p * math.log(p) for p in P_TRUE)  # Ludwig's mean_confidence_penalty for a (B,) input
    assert penalised == pytest.approx(plain + (math.log(2) - entropy) / math.log(2))


def test_test_statistics_by_hand():
    ev = evaluate_binary("test", Y, PROBS, ("no", "yes"), 0.5, BinaryLoss())
    s = ev.statistics
    assert s["confusion_matrix"] == [[1, 1], [1, 1]]
    assert list(s["per_class_stats"]) == ["False", "True"]  # Ludwig's ConfusionMatrix labels
    assert s["per_class_stats"]["True"]["true_positives"] == 1
    # scikit-learn's roc_curve / precision_recall_curve on these four rows
    assert s["roc_curve"] == {"false_positive_rate": [0.0, 0.0, 0.5, 0.5, 1.0],
                              "true_positive_rate": [0.0, 0.5, 0.5, 1.0, 1.0]}
    assert s["precision_recall_curve"]["recalls"] == [1.0, 1.0, 0.5, 0.5, 0.0]
    assert s["precision_recall_curve"]["precisions"] == pytest.approx([0.5, 2 / 3, 0.5, 1.0, 1.0])
    assert s["average_precision_macro"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert s["roc_auc_macro"] == s["roc_auc_micro"] == pytest.approx(0.75)
    assert ev.accuracy == 0.5 and list(ev.y_pred) == [0, 1, 0, 1]


def _binary(**feature):
    return parse_config({"input_features": [{"name": "image_path", "type": "image"}],
                         "output_features": [{"name": "label", "type": "binary", **feature}]})


def test_binary_config_defaults_and_refusals():
    config = _binary()
    feature = config.output_feature
    assert (feature.threshold, feature.loss.type, feature.decoder.type) == (0.5, "binary_weighted_cross_entropy",
                                                                           "regressor")
    assert config.trainer.validation_metric == "roc_auc"  # Ludwig's default_validation_metric for binary
    explicit = parse_config({**config.to_dict(), "trainer": {"validation_metric": "loss"}})
    assert explicit.trainer.validation_metric == "loss"
    assert parse_config(config.to_dict()) == config  # the resolved config feeds back in
    with pytest.raises(ConfigError, match="threshold"):
        _binary(threshold=1.5)
    with pytest.raises(ConfigError, match="class_weights"):
        _binary(loss={"class_weights": [1, 2]})
    with pytest.raises(ConfigError, match="missing_value_strategy"):
        _binary(preprocessing={"missing_value_strategy": "fill_with_false"})
    with pytest.raises(ConfigError, match="top_k"):
        _binary(top_k=3)
