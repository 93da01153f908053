"""The package layout stays honest: the data and config stages import no TensorFlow/Keras, modules stay
small, and every registered encoder parses from a config and builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ludwig_mnist.model.encoders import ENCODER_SHORTHANDS, ENCODERS

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = REPO_ROOT / "ludwig_mnist"
MAX_MODULE_LINES = 420
HEAVY = ("tensorflow", "keras", "tf_keras")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_under(*folders: str) -> list[str]:
    return sorted(module_name(p) for folder in folders for p in (PACKAGE / folder).rglob("*.py"))


# ---------------------------------------------------------------- no TensorFlow in the data and config stages

KERAS_FREE = [*modules_under("data", "config"), "ludwig_mnist.options",
              "ludwig_mnist.model.encoders"]  # encoders: its docstring promises the config stage no Keras

IMPORT_EACH_FIRST = """
import importlib, json, sys, traceback
HEAVY = {heavy!r}
results = {{}}
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "ludwig_mnist" or m.startswith("ludwig_mnist.")]:
        del sys.modules[loaded]  # each module is imported as the first of the package, as a fresh process would
    try:
        importlib.import_module(name)
        error = None
    except Exception as err:
        error = traceback.format_exception_only(type(err), err)[-1].strip()
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
    results[name] = {{"error": error, "heavy": heavy[:5], "loaded": name in sys.modules}}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def keras_free_imports() -> dict[str, dict]:
    """Import every KERAS_FREE module, each first, in one fresh interpreter; what each import pulled in."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", IMPORT_EACH_FIRST.format(heavy=HEAVY), *KERAS_FREE], env=env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_keras_free_list_covers_the_data_and_config_stages():
    assert {"ludwig_mnist.data", "ludwig_mnist.data.prepare", "ludwig_mnist.data.images", "ludwig_mnist.config",
            "ludwig_mnist.config.schema", "ludwig_mnist.config.load"} <= set(KERAS_FREE)


@pytest.mark.parametrize("module", KERAS_FREE)
def test_module_imports_without_tensorflow_or_keras(keras_free_imports, module):
    result = keras_free_imports[module]
    assert result["error"] is None, f"importing {module} first fails: {result['error']}"
    assert result["loaded"]
    assert result["heavy"] == [], f"importing {module} imports {', '.join(result['heavy'])}"


# ---------------------------------------------------------------- module size

MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", [pytest.param(p, id=str(p.relative_to(PACKAGE))) for p in MODULES])
def test_module_is_small(path):
    """The layout issue: every module under ~400 lines, so no module grows back into a catch-all."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(REPO_ROOT)} has {lines} lines (limit {MAX_MODULE_LINES})"


def test_the_size_check_sees_the_whole_package():
    names = {str(p.relative_to(PACKAGE)) for p in MODULES}
    assert {"cli.py", "runtime.py", "training/train.py", "model/encoders.py", "data/prepare.py"} <= names
    assert len(MODULES) >= 40


# ---------------------------------------------------------------- every registered encoder parses and builds

# keras.applications networks and the 4096-wide VGG heads: seconds per build (tests/test_encoders.py builds
# every variant of Ludwig's torchvision families, the big ones marked slow)
FAST_FAMILY_CASES = {"resnet18", "vgg11", "mobilenetv3", "efficientnet"}
# each type with its default variant, then the numbered variants by their Ludwig shorthand (vgg19 = vgg, 19)
ENCODER_CASES = [*ENCODERS, *(name for name in ENCODER_SHORTHANDS
                              if ENCODER_SHORTHANDS[name][1] != ENCODERS[ENCODER_SHORTHANDS[name][0]].variants[0])]


def _kind(name):
    return name if name in ENCODERS else ENCODER_SHORTHANDS[name][0]


def _case(name):
    slow = ENCODERS[_kind(name)].variants and name not in FAST_FAMILY_CASES
    return pytest.param(name, marks=pytest.mark.slow) if slow else name


@pytest.mark.parametrize("name", [_case(n) for n in ENCODER_CASES])
def test_every_encoder_parses_and_builds(name):
    from ludwig_mnist.config.load import parse_config
    from ludwig_mnist.model.build import build_model, layer_rows
    from ludwig_mnist.model.families import backbone_name

    from ludwig_mnist.errors import ConfigError
    from ludwig_mnist.model.families import FAMILIES

    kind = _kind(name)
    encoder = {"type": name}
    if ENCODERS[kind].variants:
        encoder["use_pretrained"] = False  # Ludwig's default true would need ImageNet weights
    if name in ENCODER_SHORTHANDS and kind in FAMILIES and ENCODER_SHORTHANDS[name][1] not in FAMILIES[kind].built:
        with pytest.raises(ConfigError, match="is a Ludwig variant that is not available here"):  # e.g. densenet161
            parse_config({"input_features": [{"name": "image_path", "type": "image", "encoder": encoder}],
                          "output_features": [{"name": "label", "type": "category"}]})
        return
    config = parse_config({"input_features": [{"name": "image_path", "type": "image", "encoder": encoder}],
                           "output_features": [{"name": "label", "type": "category"}]})
    encoder = config.input_feature.encoder
    assert encoder.type == kind and type(encoder) is ENCODERS[kind].schema
    model = build_model(config, (32, 32, 1), 3)
    assert model.input_shape == (None, 32, 32, 1)
    assert model.output_shape == (None, 3)
    names = [row.name for row in layer_rows(model)]
    if ENCODERS[kind].variants:
        variant = ENCODER_SHORTHANDS[name][1] if name in ENCODER_SHORTHANDS else ENCODERS[kind].variants[0]
        assert encoder.variant == variant
        assert backbone_name(kind, variant) in names  # the backbone of that family and variant
        assert "gray_to_rgb" in names  # these expect RGB input
    else:
        assert "gray_to_rgb" not in names and "upsample_input" not in names and "pad_input" not in names


def test_encoder_cases_cover_the_registry_and_every_variant():
    assert set(ENCODERS) <= set(ENCODER_CASES)
    assert {"vgg19", "resnet18", "resnet101", "resnet152", "densenet201"} <= set(ENCODER_CASES)
    numbered = sum(isinstance(v, int) for e in ENCODERS.values() for v in e.variants[1:])
    assert len(ENCODER_CASES) == len(ENCODERS) + numbered
