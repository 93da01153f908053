"""Static checks of the Galaxy tool wrapper (tools/*.xml); no Galaxy needed.

The real-Galaxy run is scripts/galaxy_tests.sh; these tests catch the wrapper
mistakes that would let tool tests pass while checking nothing (a CSV column
count without sep=","), or that break in Galaxy only (unquoted Cheetah
variables, a version that drifted from the package).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

import ludwig_mnist

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / "tools"
TEST_DATA = REPO / "test-data"
MACROS = TOOLS / "macros.xml"
TOOL_FILES = sorted(p for p in TOOLS.glob("*.xml") if ET.parse(p).getroot().tag == "tool")


def tokens() -> dict[str, str]:
    return {f"@{el.get('name').strip('@')}@": (el.text or "").strip() for el in ET.parse(MACROS).getroot().iter("token")}


def expand_tokens(text: str) -> str:
    for name, value in tokens().items():
        text = text.replace(name, value)
    return text


@pytest.fixture(params=TOOL_FILES, ids=lambda p: p.name)
def tool(request) -> ET.Element:
    return ET.parse(request.param).getroot()


def test_there_are_tools():
    assert TOOL_FILES, f"no tool XML under {TOOLS}"


def test_tool_version_is_the_package_version():
    assert tokens()["@TOOL_VERSION@"] == ludwig_mnist.__version__
    assert tokens()["@VERSION_SUFFIX@"].isdigit()
    assert re.fullmatch(r"\d+\.\d+", tokens()["@PROFILE@"])


def test_version_and_profile_come_from_the_macros(tool):
    assert tool.get("version") == "@TOOL_VERSION@+galaxy@VERSION_SUFFIX@"
    assert tool.get("profile") == "@PROFILE@"
    assert tool.find("macros/import").text.strip() == "macros.xml"
    expanded = {m.get("macro") for m in tool.findall("expand")}
    assert {"requirements", "citations"} <= expanded


def test_requirement_pins_the_package_version():
    requirement = ET.parse(MACROS).getroot().find("xml[@name='requirements']/requirements/requirement")
    assert requirement.text.strip() == "ludwig-mnist"
    assert expand_tokens(requirement.get("version")) == ludwig_mnist.__version__


def test_command_detects_errors_by_exit_code(tool):
    assert tool.find("command").get("detect_errors") == "exit_code"


def command_lines(tool: ET.Element) -> list[str]:
    """Shell lines of the command: Cheetah comments (##) and directives (#if, #set, ...) removed."""
    lines = []
    for line in tool.find("command").text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            lines.append(stripped)
    return lines


def unquoted_variables(line: str) -> list[str]:
    """Cheetah $variables outside single quotes in one shell line."""
    found, quoted, i = [], False, 0
    while i < len(line):
        char = line[i]
        if char == "'":
            quoted = not quoted
        elif char == "\\":
            i += 1  # an escaped character, e.g. \$ for the shell
        elif char == "$" and not quoted:
            match = re.match(r"\$\{[^}]*\}|\$[A-Za-z_][\w.]*", line[i:])
            if match:
                found.append(match.group(0))
        i += 1
    return found


def test_unquoted_variable_scanner():
    assert unquoted_variables("cp '$a.b' x") == []
    assert unquoted_variables("cp $a.b x '${c}' ${d}") == ["$a.b", "${d}"]
    assert unquoted_variables(r"echo \$HOME") == []


def test_every_cheetah_variable_is_quoted(tool):
    offenders = {line: unquoted_variables(line) for line in command_lines(tool)}
    assert not {line: v for line, v in offenders.items() if v}, "quote every Cheetah variable: '$var'"


def test_command_hides_no_errors(tool):
    command = tool.find("command").text
    assert "|| true" not in command
    assert "2>/dev/null" not in command.replace(" ", "")
    assert not re.search(r"^\s*echo\b", command, re.MULTILINE)


def test_every_test_sets_outputs_or_exit_code(tool):
    tests = tool.findall("tests/test")
    assert tests
    for index, test in enumerate(tests, start=1):
        if test.get("expect_failure") == "true":
            # Galaxy's linter forbids expect_num_outputs on a failing test; pin the exit code instead.
            assert test.get("expect_num_outputs") is None, f"test {index}"
            assert test.get("expect_exit_code"), f"test {index}: a failing test must pin expect_exit_code"
            assert test.find("assert_stderr") is not None, f"test {index}: say which error is expected"
        else:
            assert test.get("expect_num_outputs"), f"test {index} has no expect_num_outputs"
            outputs = test.findall("output") + test.findall("output_collection")
            assert int(test.get("expect_num_outputs")) == len(tool.find("outputs")), f"test {index}"
            assert outputs, f"test {index} checks no output"


def test_there_is_a_failing_test(tool):
    assert any(t.get("expect_failure") == "true" for t in tool.findall("tests/test"))


def declared_formats(tool: ET.Element) -> dict[str, set[str]]:
    """Output name -> formats it can have (data format, or the formats its collection discovers)."""
    formats = {}
    for output in tool.find("outputs"):
        found = {output.get("format")} if output.get("format") else set()
        found |= {d.get("format") for d in output.iter("discover_datasets") if d.get("format")}
        found |= {d.get("format") for d in output.findall("data") if d.get("format")}
        formats[output.get("name")] = found
    return formats


def csv_checked_elements(tool: ET.Element):
    """(label, element) of every checked dataset that is CSV: by ftype, or by its output's only format."""
    formats = declared_formats(tool)
    for index, test in enumerate(tool.findall("tests/test"), start=1):
        for output in test.findall("output") + test.findall("output_collection"):
            name = output.get("name")
            checked = [output] if output.tag == "output" else list(output.iter("element"))
            for element in checked:
                ftype = element.get("ftype")
                is_csv = ftype == "csv" if ftype else formats.get(name) == {"csv"}
                if is_csv:
                    yield f"test {index}, {name}/{element.get('name', '')}", element


def test_csv_column_counts_name_the_separator(tool):
    counted = 0
    for label, element in csv_checked_elements(tool):
        for assertion in element.iter("has_n_columns"):
            assert assertion.get("sep") == ",", f"{label}: has_n_columns on CSV needs sep=','"
            counted += 1
    assert counted, "no CSV output has its column count checked"


def test_test_data_files_exist(tool):
    names = set()
    for test in tool.findall("tests/test"):
        for param in test.iter("param"):
            if param.get("value") and param.get("ftype"):
                names.add(param.get("value"))
        for composite in test.iter("composite_data"):
            names.add(composite.get("value"))
    missing = sorted(n for n in names if not (TEST_DATA / n).is_file())
    assert not missing, f"missing from test-data/: {missing}"


def test_advanced_options_are_in_a_collapsed_section(tool):
    section = tool.find("inputs/section")
    assert section is not None and section.get("expanded") == "false"
    for param in tool.find("inputs").iter("param"):  # also those inside the section
        assert param.get("argument"), f"parameter {param.get('name')} has no argument="


def test_shed_yml_includes_every_tool():
    shed = yaml.safe_load((TOOLS / ".shed.yml").read_text())
    assert shed["name"] and shed["owner"] and shed["categories"]
    includes = {i if isinstance(i, str) else i["source"] for i in shed["include"]}
    for tool_file in TOOL_FILES:
        assert tool_file.name in includes
    assert "macros.xml" in includes


def test_derived_test_data_matches_the_mnist_subset():
    """The tool tests' extra tables are cut from mnist_dataset.csv; keep them in step when it is regenerated."""
    csv_text = (TEST_DATA / "mnist_dataset.csv").read_text()
    assert (TEST_DATA / "mnist_dataset.tsv").read_text() == csv_text.replace(",", "\t")
    assert (TEST_DATA / "dataset_as_archive.csv").read_text() == "".join(csv_text.splitlines(True)[:6])
    rows = set(csv_text.splitlines()[1:])
    missing_rows = (TEST_DATA / "dataset_missing_image.csv").read_text().splitlines()
    assert missing_rows[0] == csv_text.splitlines()[0]
    assert [r for r in missing_rows[1:] if r not in rows] == ["training/0/missing.png,0,0"]
