"""The experiment tool's form mode: its <configfile> (Cheetah, as Galaxy renders it) writes a Ludwig config that
this engine accepts and that means what the form says, for every network the form offers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import yaml
from Cheetah.Template import Template

from ludwig_mnist.config.load import parse_config
from test_tool_xml import TOOLS, expand_macros, expand_tokens

TOOL = expand_macros(ET.parse(TOOLS / "ludwig_experiment.xml").getroot())
FORM_YAML = expand_tokens(next(c for c in TOOL.iter("configfile") if c.get("name") == "form_yaml").text)
ENCODER_CHOICES = [o.get("value") for p in TOOL.iter("param") if p.get("name") == "encoder" for o in p.iter("option")]


class Choice:
    """A form value as Cheetah sees Galaxy's wrappers: attributes, and str() of the selected value."""

    def __init__(self, value: str = "", **fields):
        self.value = value
        self.__dict__.update(fields)

    def __str__(self) -> str:
        return self.value


def render(encoder="stacked_cnn", use_pretrained=False, learning_rate="0.001", split=None) -> dict:
    form = Choice("yes", build="yes", image_column="image_path", label_column="label", height="", width="",
                  augmentation="", encoder=encoder, use_pretrained=use_pretrained, epochs="3", batch_size="32",
                  learning_rate=learning_rate, optimizer="adam", early_stop="5",
                  split=split or Choice("fixed", type="fixed", column="split"))
    return yaml.safe_load(str(Template(FORM_YAML, searchList=[{"config_form": form}])))


def test_the_form_offers_ludwigs_families():
    assert {"stacked_cnn", "resnet:18", "vgg:11_bn", "efficientnet:b0", "shufflenet_v2:x1_0", "regnet:y_400mf"} <= set(
        ENCODER_CHOICES)


@pytest.mark.parametrize("choice", ENCODER_CHOICES)
def test_every_network_of_the_form_writes_a_config_the_engine_accepts(choice):
    raw = render(encoder=choice)
    encoder = raw["input_features"][0]["encoder"]
    family, _, variant = choice.partition(":")
    assert encoder["type"] == family
    if variant and variant != "base":
        assert str(encoder["model_variant"]) == variant
    if variant:
        assert encoder["use_pretrained"] is False  # Ludwig's default is true: the form must say it
    parse_config(raw)


def test_pretrained_and_learning_rate_auto_reach_the_config():
    raw = render(encoder="mobilenetv3:small", use_pretrained=True, learning_rate="auto")
    assert raw["input_features"][0]["encoder"] == {"type": "mobilenetv3", "model_variant": "small",
                                                   "use_pretrained": True}
    assert raw["trainer"]["learning_rate"] == "auto"
    assert render(learning_rate="1e-3")["trainer"]["learning_rate"] == pytest.approx(0.001)


@pytest.mark.parametrize("kind", ["hash", "stratify", "random"])
def test_the_split_choices_are_ludwigs(kind):
    column = {"hash": "image_path", "stratify": "label"}.get(kind)
    split = Choice(kind, type=kind, column=column or "", train="0.6", validation="0.2", test="0.2")
    raw = render(split=split)
    expected = {"type": kind, "probabilities": [0.6, 0.2, 0.2]} | ({"column": column} if column else {})
    assert raw["preprocessing"]["split"] == expected
    parse_config(raw)
