"""The conda recipe (conda/ludwig-mnist/meta.yaml) says what pyproject.toml and the tools say.

No conda linter installs offline (conda-build, conda-smithy and bioconda-utils come from conda
channels), so this renders the recipe's Jinja as conda-build would, parses it, and checks its
version, requirements and entry point against the package (docs/galaxy_admin.md)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import jinja2
import pytest
import yaml

import ludwig_mnist

REPO_ROOT = Path(__file__).resolve().parent.parent
RECIPE = REPO_ROOT / "conda" / "ludwig-mnist" / "meta.yaml"
# pyproject.toml's distribution names that conda-forge spells otherwise
CONDA_NAMES = {"matplotlib": "matplotlib-base"}


def requirement(spec: str) -> tuple[str, str]:
    """'tensorflow>=2.16,<3' or 'tensorflow >=2.16,<3' -> ('tensorflow', '>=2.16,<3')."""
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec.split("#")[0])
    assert match, spec
    return match.group(1).lower(), match.group(2).replace(" ", "")


@pytest.fixture(scope="module")
def recipe() -> dict:
    # conda-build's Jinja context: PYTHON is the build's interpreter, pin_subpackage a run_exports pin.
    text = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(RECIPE.read_text()).render(
        PYTHON="$PYTHON", pin_subpackage=lambda name, max_pin=None: f"{name} (pinned to {max_pin})")
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def test_the_recipe_version_is_the_package_and_requirement_version(recipe):
    assert recipe["package"] == {"name": "ludwig-mnist", "version": ludwig_mnist.__version__}
    macros = (REPO_ROOT / "tools" / "macros.xml").read_text()
    assert f'<token name="@TOOL_VERSION@">{ludwig_mnist.__version__}</token>' in macros


def test_the_run_requirements_are_pyprojects_dependencies(recipe, pyproject):
    wanted = {CONDA_NAMES.get(name, name): bounds
              for name, bounds in map(requirement, pyproject["project"]["dependencies"])}
    run = dict(map(requirement, recipe["requirements"]["run"]))
    assert run.pop("python") == pyproject["project"]["requires-python"]
    assert run == wanted


def test_the_entry_point_and_build_are_pyprojects(recipe, pyproject):
    (script, target), = pyproject["project"]["scripts"].items()
    assert recipe["build"]["entry_points"] == [f"{script} = {target}"]
    assert recipe["build"]["noarch"] == "python"
    assert "pip install ." in recipe["build"]["script"]
    assert recipe["build"]["run_exports"] == ["ludwig-mnist (pinned to x.x)"]  # bioconda requires one
    assert f"{script} --version" in recipe["test"]["commands"]
    assert recipe["about"]["license"] == pyproject["project"]["license"]["text"]
