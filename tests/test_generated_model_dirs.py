"""Generated model directories through load_model_dir: a part missing, truncated weights, JSON of the wrong
shape (every JSON type in place of each part and of each key), a model from another program or version.
Every directory loads or is refused with one ModelError line naming the directory or the part."""

from __future__ import annotations

import json

from generated import check_refusal, generated, tiny_config
from hypothesis import event, given
from hypothesis import strategies as st

from ludwig_mnist.artifacts.model_dir import (
    MODEL_FORMAT,
    hyperparameters_json,
    load_model_dir,
)
from ludwig_mnist.errors import UserInputError

json_values = st.recursive(st.none() | st.booleans() | st.integers(-2, 2**40) | st.floats(allow_nan=False)
                           | st.text(max_size=6), lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)
HYPER = hyperparameters_json(tiny_config())
META = {"image_path": {"column": "image_path", "preprocessing": {"height": 8, "width": 8, "num_channels": 1,
                                                                 "resize_method": "interpolate"}},
        "label": {"column": "label", "idx2str": ["a", "b", "c"], "str2freq": {"a": 1, "b": 1, "c": 1}}}


def mutate(draw, document):
    """The document with one value (at a generated key path) replaced by a generated JSON value, or removed."""
    if draw(st.integers(0, 3)) == 0:
        return draw(json_values)  # the whole part of the wrong shape
    node = document
    while isinstance(node, dict) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node)))
        if not isinstance(node[key], dict):
            break
        node = node[key]
    if isinstance(node, dict) and node:
        key = draw(st.sampled_from(sorted(node)))
        if draw(st.booleans()):
            del node[key]
        else:
            node[key] = draw(json_values)
    return document


@st.composite
def model_dirs(draw) -> dict[str, bytes | None]:
    hyper, meta = json.loads(json.dumps(HYPER)), json.loads(json.dumps(META))
    target = draw(st.sampled_from(["hyper", "meta", "version", "weights", "missing"]))
    parts = {"model_weights": b"\x89HDF\r\n\x1a\n" + bytes(64), "training_progress.json": b'{"epoch": 1}'}
    if target == "hyper":
        hyper = mutate(draw, hyper)
    elif target == "meta":
        meta = mutate(draw, meta)
    elif target == "version":
        hyper["ludwig_mnist_model_format"] = draw(st.sampled_from([None, 0, MODEL_FORMAT + 1, "1", [1]]))
        if draw(st.booleans()):
            hyper.pop("ludwig_mnist_version", None)
    parts["model_hyperparameters.json"] = json.dumps(hyper).encode()
    parts["training_set_metadata.json"] = json.dumps(meta).encode()
    if target == "weights":
        parts["model_weights"] = draw(st.binary(max_size=32))
    if target == "missing":
        parts[draw(st.sampled_from(sorted(parts)))] = None
    if draw(st.integers(0, 5)) == 0:
        name = draw(st.sampled_from(["model_hyperparameters.json", "training_set_metadata.json"]))
        parts[name] = (parts[name] or b"")[: draw(st.integers(0, 10))]  # truncated JSON
    return parts


@generated(max_examples=80)
@given(parts=model_dirs())
def test_generated_model_dirs_load_or_refuse(tmp_path_factory, parts):
    model_dir = tmp_path_factory.mktemp("model")
    for name, data in parts.items():
        if data is not None:
            (model_dir / name).write_bytes(data)
    try:
        load_model_dir(model_dir)
    except UserInputError as err:
        message = check_refusal(err, model_dir.name, "model_weights", ".json")
        event(f"refused: {message[:45]}")
        return
    raise AssertionError("a model directory with placeholder weights was accepted")
