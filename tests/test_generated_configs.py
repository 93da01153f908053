"""Generated hostile configs: every key of the resolved schema given values of every YAML shape, keys renamed,
removed and nested.  Parsing either succeeds or raises the one-line ConfigError; nothing else escapes.

Seeded (derandomize) so a failure replays; the bound on examples keeps the run to seconds.
"""

from __future__ import annotations

import copy
import math

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ludwig_mnist.config.load import load_config, parse_config
from ludwig_mnist.errors import ConfigError, UserInputError

TUTORIAL = {
    "input_features": [{"name": "image_path", "type": "image", "encoder": {
        "type": "stacked_cnn", "conv_layers": [{"num_filters": 32, "filter_size": 3, "pool_size": 2}],
        "fc_layers": [{"output_size": 128, "dropout": 0.4}]}}],
    "preprocessing": {"split": {"type": "fixed", "column": "split"}},
    "output_features": [{"name": "label", "type": "category"}],
    "trainer": {"epochs": 5},
}
RESOLVED = parse_config(TUTORIAL).to_dict()


def _paths(node, prefix=()):
    """Every key path of a nested mapping/list (lists by index)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


PATHS = sorted(set(_paths(RESOLVED)) | set(_paths(TUTORIAL)), key=str)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["auto", "relu", "batch", "stacked_cnn", "1e-3", "", "null", "categori"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=6)


def _parent(raw, path):
    node = raw
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated(draw):
    base = copy.deepcopy(draw(st.sampled_from([TUTORIAL, RESOLVED])))
    for _ in range(draw(st.integers(1, 3))):
        present = [p for p in PATHS if _exists(base, p)]
        path = draw(st.sampled_from(present))
        parent, key = _parent(base, path), path[-1]
        action = draw(st.sampled_from(["value", "value", "rename", "remove", "nest"]))
        if action == "value":
            parent[key] = draw(VALUES)
        elif action == "rename" and isinstance(parent, dict):
            parent[str(key) + draw(st.sampled_from(["_", "s", "X"]))] = parent.pop(key)
        elif action == "remove" and isinstance(parent, dict):
            del parent[key]
        elif action == "nest":
            parent[key] = {"nested": parent[key]} if draw(st.booleans()) else [parent[key]]
    return base


def _exists(raw, path):
    node = raw
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return True


@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_config_parses_or_fails_with_one_config_error(raw):
    try:
        config = parse_config(raw)
    except ConfigError as err:
        message = str(err)
        assert message and "\n" not in message and "Traceback" not in message
        return
    # accepted: it must be fully resolved and mean the same after a round trip
    again = parse_config(config.to_dict())
    assert again == config
    for value in (config.trainer.learning_rate, config.trainer.regularization_lambda):
        assert isinstance(value, float) and math.isfinite(value)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.text(alphabet="{}[]:,-? \n\tab1'\"&*!|>%@`", max_size=80))
def test_any_yaml_text_loads_or_fails_with_one_line(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("yaml") / "config.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except UserInputError as err:
        assert "\n" not in str(err) and "config.yaml" in str(err)


def test_a_deeply_nested_document_is_a_config_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    try:
        load_config(path)
    except ConfigError as err:
        assert "deep.yaml" in str(err)
    else:
        raise AssertionError("a 5000-deep document was accepted")


def test_yaml_anchors_cannot_blow_up(tmp_path):
    """The billion-laughs shape: anchors referencing anchors; safe_load expands them lazily, the parser must not."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    lines += ["input_features: *a8", "output_features: [{name: label, type: category}]"]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    try:
        load_config(path)
    except ConfigError as err:
        assert "laughs.yaml" in str(err)
    yaml.safe_load(path.read_text())  # the document itself is valid YAML
