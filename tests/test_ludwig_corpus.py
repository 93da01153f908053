"""The corpus of real Ludwig configs (tests/ludwig_configs/, sources in SOURCES.md): each in-scope config is
accepted (or refused for the reason expected.yaml allows), each out-of-scope one refused with one line, none
crashes; where expected.yaml records what Ludwig 0.10 builds, the network built here has its parameter count.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ludwig_mnist.config.load import load_config
from ludwig_mnist.errors import UserInputError

CORPUS = Path(__file__).resolve().parent / "ludwig_configs"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
CONFIGS = sorted(p.name for p in CORPUS.glob("*.yaml") if p.name != "expected.yaml")


@pytest.mark.parametrize("name", CONFIGS)
def test_corpus_config_is_handled_as_expected(name):
    entry = EXPECTED[name]
    try:
        load_config(CORPUS / name)
    except UserInputError as err:
        assert "\n" not in str(err)
        assert entry["scope"] == "out" or entry.get("refusal_ok"), f"{name} refused: {err}"
        return
    assert entry["scope"] == "in", f"{name} is out of scope ({entry.get('reason')}) but was accepted"


def _with_counts():
    for name in CONFIGS:
        for key, counts in EXPECTED[name].items():
            match = re.fullmatch(r"parameters_(\d+)_classes", key)
            if match and "total" in counts:
                yield name, int(match.group(1)), counts["total"]


@pytest.mark.parametrize("name, classes, ludwig_total", list(_with_counts()))
def test_network_has_ludwigs_parameter_count(name, classes, ludwig_total):
    from ludwig_mnist.model.build import build_model

    try:
        config = load_config(CORPUS / name)
    except UserInputError:
        pytest.skip("refused for an allowed reason (see expected.yaml)")
    pre = EXPECTED[name].get("preprocessing", {})
    shape = (pre.get("height", 28), pre.get("width", 28), pre.get("num_channels", 1))
    total = build_model(config, shape, classes).count_params()
    if any("TensorFlow-era 'num_filters'" in note for note in config.notes):
        # On purpose: Ludwig 0.10 drops num_filters (both layers get 32 channels); this tool honours it, and says so.
        assert total != ludwig_total
    else:
        assert total == ludwig_total
