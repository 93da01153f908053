"""Static checks of the Galaxy tool wrapper (tools/*.xml); no Galaxy needed.

The real-Galaxy run is scripts/galaxy_tests.sh; these tests catch the wrapper
mistakes that would let tool tests pass while checking nothing (a CSV column
count without sep=","), or that break in Galaxy only (unquoted Cheetah
variables, a version that drifted from the package).
"""

from __future__ import annotations

import json
import re
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

import ludwig_mnist

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / "tools"
TEST_DATA = REPO / "test-data"
WORKFLOWS = sorted((REPO / "workflows").glob("*/*.ga"))
MACROS = TOOLS / "macros.xml"
TOOL_FILES = sorted(p for p in TOOLS.glob("*.xml") if ET.parse(p).getroot().tag == "tool")


def tokens() -> dict[str, str]:
    return {f"@{el.get('name').strip('@')}@": (el.text or "").strip() for el in ET.parse(MACROS).getroot().iter("token")}


def expand_tokens(text: str) -> str:
    for name, value in tokens().items():
        text = text.replace(name, value)
    return text


def expand_macros(element: ET.Element) -> ET.Element:
    """`element` with every <expand macro="..."/> replaced by the macro's children (from macros.xml), recursively."""
    macros = {m.get("name"): m for m in ET.parse(MACROS).getroot().findall("xml")}
    for parent in list(element.iter()):
        for index, child in reversed(list(enumerate(parent))):
            if child.tag == "expand":
                parent.remove(child)
                for offset, replacement in enumerate(macros[child.get("macro")]):
                    parent.insert(index + offset, expand_macros(ET.fromstring(ET.tostring(replacement))))
    return element


@pytest.fixture(params=TOOL_FILES, ids=lambda p: p.name)
def tool_file(request) -> Path:
    return request.param


@pytest.fixture
def tool(tool_file) -> ET.Element:
    """The tool with its XML macros expanded (tokens are left as they are)."""
    return expand_macros(ET.parse(tool_file).getroot())


def test_there_are_tools():
    assert TOOL_FILES, f"no tool XML under {TOOLS}"


def test_tool_version_is_the_package_version():
    assert tokens()["@TOOL_VERSION@"] == ludwig_mnist.__version__
    assert tokens()["@VERSION_SUFFIX@"].isdigit()
    assert re.fullmatch(r"\d+\.\d+", tokens()["@PROFILE@"])


def test_version_and_profile_come_from_the_macros(tool_file):
    tool = ET.parse(tool_file).getroot()
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
    """Shell lines of the command, macro tokens expanded: Cheetah comments (##) and directives (#if, #set, ...) removed."""
    lines = []
    for line in expand_tokens(tool.find("command").text).splitlines():
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


def test_command_tokens_exist(tool):
    used = set(re.findall(r"@[A-Z_]+@", tool.find("command").text))
    assert used <= set(tokens()), f"unknown tokens {sorted(used - set(tokens()))}"
    assert not re.findall(r"@[A-Z_]+@", expand_tokens(tool.find("command").text)), "a token expands to another token"


def test_command_hides_no_errors(tool):
    command = expand_tokens(tool.find("command").text)
    assert "|| true" not in command
    assert "2>/dev/null" not in command.replace(" ", "")
    # the only echo allowed: a form-level error, on stderr, failing the job with exit 2
    for line in re.findall(r"^\s*echo\b.*$", command, re.MULTILINE):
        assert re.fullmatch(r'\s*echo "error: [^"]+" >&2 && exit 2( &&|;)', line), line


def _param_name(param: ET.Element) -> str:
    return param.get("name") or param.get("argument").lstrip("-")


def _default(param: ET.Element):
    kind = param.get("type")
    if kind == "boolean":
        return param.get("checked", "false") == "true"
    if kind == "select":
        options = param.findall("option")
        chosen = [o for o in options if o.get("selected") == "true"]
        if chosen:
            return chosen[0].get("value")
        return None if param.get("optional") == "true" else options[0].get("value")
    if kind == "data":
        return None
    return param.get("value")


def _test_value(param: ET.Element, given: ET.Element):
    value = given.get("value")
    if param.get("type") == "boolean":
        return value == "true"
    return value if value is not None else "dataset"  # a data input given by composite_data


def tool_state(inputs: ET.Element, given: ET.Element | None) -> dict:
    """Parameter values as Galaxy's output filters see them: defaults, overridden by a test's values."""
    state = {}
    for child in inputs:
        if child.tag == "param":
            name = _param_name(child)
            match = None if given is None else given.find(f"param[@name='{name}']")
            state[name] = _default(child) if match is None else _test_value(child, match)
        elif child.tag == "section":
            match = None if given is None else given.find(f"section[@name='{child.get('name')}']")
            state[child.get("name")] = tool_state(child, match)
        elif child.tag == "conditional":
            match = None if given is None else given.find(f"conditional[@name='{child.get('name')}']")
            selector = child.find("param")
            chosen = tool_state(_only(selector), match)
            case = chosen[_param_name(selector)]
            when = child.find(f"when[@value='{case}']")
            assert when is not None, f"conditional {child.get('name')}: no <when value='{case}'>"
            state[child.get("name")] = chosen | tool_state(when, match)
    return state


def _only(param: ET.Element) -> ET.Element:
    wrapper = ET.Element("inputs")
    wrapper.append(param)
    return wrapper


def created_outputs(tool: ET.Element, test: ET.Element) -> list[str]:
    """Names of the outputs whose <filter> expressions hold for this test (what Galaxy creates)."""
    state = tool_state(tool.find("inputs"), test)
    return [output.get("name") for output in tool.find("outputs")
            if all(eval(f.text.strip(), {}, dict(state)) for f in output.findall("filter"))]  # noqa: S307 - our own XML


def test_state_follows_filters():
    tool = expand_macros(ET.parse(TOOLS / "ludwig_experiment.xml").getroot())
    default = ET.Element("test")
    assert "output_model" in created_outputs(tool, default)
    assert "output_kfold_report" not in created_outputs(tool, default)
    assert "output_tensorboard" not in created_outputs(tool, default)


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
            created = created_outputs(tool, test)
            assert int(test.get("expect_num_outputs")) == len(created), f"test {index}: outputs created: {created}"
            checked = [o.get("name") for o in test.findall("output") + test.findall("output_collection")]
            assert checked, f"test {index} checks no output"
            assert set(checked) <= set(created), f"test {index} checks outputs its parameters filter out"


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
    if any("csv" in formats for formats in declared_formats(tool).values()):
        assert counted, "no CSV output has its column count checked"


def test_test_data_files_exist(tool):
    names = set()
    for test in tool.findall("tests/test"):
        for param in test.iter("param"):
            if param.get("value") and param.get("ftype"):
                names.update(param.get("value").split(","))  # a multiple="true" data param takes a,b
        for composite in test.iter("composite_data"):
            names.add(composite.get("value"))
    missing = sorted(n for n in names if not (TEST_DATA / n).is_file())
    assert not missing, f"missing from test-data/: {missing}"


def test_sections_are_collapsed_and_params_name_their_flag(tool):
    # Galaxy-Ludwig's parameters are at the top level (drop-in names); this tool's own extras, if any,
    # are in a collapsed section
    for section in tool.find("inputs").iter("section"):
        assert section.get("expanded") == "false", section.get("name")
    # split: Galaxy-Ludwig's name, with its one value honoured here ("full": every row), so no flag;
    # skip_collect_predictions filters an output
    no_flag = {"ludwig_predict": {"split"}, "ludwig_evaluate": {"split", "skip_collect_predictions"}}.get(tool.get("id"), set())
    selectors = {c.find("param") for c in tool.find("inputs").iter("conditional")}
    # the experiment form's config fields go into its <configfile> (a Ludwig YAML), not onto the command line
    form = {p for c in tool.find("inputs").iter("conditional") if c.get("name") == "config_form" for p in c.iter("param")}
    for param in tool.find("inputs").iter("param"):  # also those inside sections and conditionals
        if param not in selectors | form and param.get("name") not in no_flag:  # a select choosing a form is no flag
            assert param.get("argument"), f"parameter {param.get('name')} has no argument="


def test_shed_yml_includes_every_tool():
    shed = yaml.safe_load((TOOLS / ".shed.yml").read_text())
    assert shed["name"] and shed["owner"] and shed["categories"]
    includes = {i if isinstance(i, str) else i["source"] for i in shed["include"]}
    for tool_file in TOOL_FILES:
        assert tool_file.name in includes
    assert "macros.xml" in includes
    # planemo's include globs do not descend into folders: each test-data subfolder is listed itself
    for folder in (p for p in TEST_DATA.iterdir() if p.is_dir()):
        assert f"../test-data/{folder.name}/*" in includes, f"test-data/{folder.name}/ is not in the shed repository"


def test_derived_test_data_matches_the_mnist_subset():
    """The tool tests' extra tables are cut from mnist_dataset.csv; keep them in step when it is regenerated."""
    csv_text = (TEST_DATA / "mnist_dataset.csv").read_text()
    assert (TEST_DATA / "mnist_dataset.tsv").read_text() == csv_text.replace(",", "\t")
    assert (TEST_DATA / "dataset_as_archive.csv").read_text() == "".join(csv_text.splitlines(True)[:6])
    rows = set(csv_text.splitlines()[1:])
    missing_rows = (TEST_DATA / "dataset_missing_image.csv").read_text().splitlines()
    assert missing_rows[0] == csv_text.splitlines()[0]
    assert [r for r in missing_rows[1:] if r not in rows] == ["training/0/missing.png,0,0"]


def test_predict_tables_are_cut_from_the_mnist_subset():
    rows = {line.split(",")[0]: line.split(",")[1] for line in (TEST_DATA / "mnist_dataset.csv").read_text().splitlines()[1:]}
    labelled = (TEST_DATA / "predict_labelled.csv").read_text().splitlines()
    assert labelled[0] == "image_path,label"
    assert all(rows[path] == label for path, label in (line.split(",") for line in labelled[1:]))
    unlabelled = (TEST_DATA / "predict_unlabelled.csv").read_text().splitlines()
    assert unlabelled[0] == "image_path" and all(path in rows for path in unlabelled[1:])


def test_folder_archive_holds_mnist_subset_images():
    """mnist_folders.tar.gz: train/<label>/<n>.png and test/<label>/<n>.png, byte-equal to mnist_images.zip's."""
    with zipfile.ZipFile(TEST_DATA / "mnist_images.zip") as images, tarfile.open(TEST_DATA / "mnist_folders.tar.gz") as tar:
        members = tar.getmembers()
        counts: dict[str, int] = {}
        for member in members:
            split, label, name = member.name.split("/")
            source = {"train": "training", "test": "test"}[split]
            assert tar.extractfile(member).read() == images.read(f"{source}/{label}/{name}"), member.name
            counts[split] = counts.get(split, 0) + 1
    assert counts == {"train": 100, "test": 50}


def test_predict_model_is_small_and_complete():
    parts = {p.name for p in (TEST_DATA / "predict_model").iterdir()}
    assert parts == {"model_hyperparameters.json", "model_weights", "training_set_metadata.json", "training_progress.json"}
    assert (TEST_DATA / "predict_model" / "model_weights").stat().st_size < 300_000
    assert sum(p.stat().st_size for p in TEST_DATA.rglob("*") if p.is_file()) < 1_000_000, "test-data/ over 1 MB"


# ---------------------------------------------------------------- workflows


def tool_inputs_flat(inputs: ET.Element, prefix: str = "") -> set[str]:
    """Galaxy's flat names of the data inputs (section|conditional|name), as in a workflow's input_connections."""
    names = set()
    for child in inputs:
        if child.tag == "param" and child.get("type") == "data":
            names.add(prefix + _param_name(child))
        elif child.tag in ("section", "conditional"):
            for nested in [child] + child.findall("when"):
                names |= tool_inputs_flat(nested, prefix + child.get("name") + "|")
    return names


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_steps_match_the_tools(workflow):
    tools = {tool.get("id"): tool for tool in (expand_macros(ET.parse(p).getroot()) for p in TOOL_FILES)}
    version = expand_tokens("@TOOL_VERSION@+galaxy@VERSION_SUFFIX@")
    ga = json.loads(workflow.read_text())
    assert ga["format-version"] == "0.1" and ga["release"] and ga["license"] and ga["creator"]
    changelog = (workflow.parent / "CHANGELOG.md").read_text()
    assert f"## [{ga['release']}]" in changelog, "the release must head CHANGELOG.md"
    assert (workflow.parent / "README.md").is_file()
    tests = workflow.with_name(workflow.stem + "-tests.yml")
    labels = {step["label"] for step in ga["steps"].values()} | {
        out["label"] for step in ga["steps"].values() for out in step.get("workflow_outputs", [])}
    for case in yaml.safe_load(tests.read_text()):
        assert set(case["job"]) | set(case["outputs"]) <= labels
        for job_input in case["job"].values():
            if isinstance(job_input, dict) and "path" in job_input:
                assert (tests.parent / job_input["path"]).resolve().is_file(), job_input["path"]
    for step in ga["steps"].values():
        if step["type"] != "tool":
            continue
        tool = tools[step["tool_id"]]
        assert step["tool_version"] == version, f"step {step['id']}: tool version"
        assert set(step["input_connections"]) <= tool_inputs_flat(tool.find("inputs")), f"step {step['id']}"
        outputs = {o.get("name") for o in tool.find("outputs")}
        assert {o["output_name"] for o in step["workflow_outputs"]} <= outputs
        assert {o["name"] for o in step["outputs"]} <= outputs


def test_every_cheetah_template_compiles(tool):
    """Galaxy compiles the command and each <configfile> with Cheetah when a job is made; an unclosed #if (a merge
    once dropped one) fails every job of the tool, and no other static check sees it."""
    from Cheetah.Template import Template

    templates = [("command", tool.find("command").text)]
    templates += [(f"configfile {c.get('name')}", c.text) for c in tool.iter("configfile")]
    for name, text in templates:
        try:
            Template.compile(source=expand_tokens(text or ""))
        except Exception as error:  # Cheetah's ParseError names the line
            pytest.fail(f"{name}: {error}")


def _state_names(inputs: ET.Element) -> set[str]:
    """The top-level names a saved tool_state holds, with a section's own names as 'section|name'."""
    names = set()
    for child in inputs:
        if child.tag == "param":
            names.add(_param_name(child))
        elif child.tag == "conditional":
            names.add(child.get("name"))
        elif child.tag == "section":
            names.add(child.get("name"))
            names |= {f"{child.get('name')}|{n}" for n in _state_names(child) if "|" not in n}
    return names


# The Galaxy tutorial's workflow keeps upstream's tool_state on purpose (only its tool id is ours): Galaxy fills
# the parameters it lacks with their defaults when it runs through the API, as its workflow test does.
UPSTREAM_WORKFLOWS = {"main_workflow.ga"}


@pytest.mark.parametrize("workflow", [w for w in WORKFLOWS if w.name not in UPSTREAM_WORKFLOWS], ids=lambda p: p.name)
def test_workflow_tool_states_hold_every_parameter(workflow):
    """A tool_state that lacks a parameter of the tool makes Galaxy's run form say the workflow 'may contain tools
    which have changed' and show no inputs (the browser test once failed so): save every parameter."""
    tools = {tool.get("id"): tool for tool in (expand_macros(ET.parse(p).getroot()) for p in TOOL_FILES)}
    for step in json.loads(workflow.read_text())["steps"].values():
        if step["type"] != "tool":
            continue
        state = json.loads(step["tool_state"])
        saved = set(state) | {f"{k}|{n}" for k, v in state.items() if isinstance(v, dict) for n in v}
        missing = _state_names(tools[step["tool_id"]].find("inputs")) - saved
        assert not missing, f"step {step['id']} ({step['tool_id']}): tool_state lacks {sorted(missing)}"
