"""A sample of the generated tables and archives through the real CLI (`main`): exit 0, or exit 2 with one
`error:` line; no traceback; nothing written outside the output directory; no result after a failure.
The bulk of the cases run against the stage functions (test_generated_*.py); these few pay for training."""

from __future__ import annotations

import zipfile

import pytest
from generated import generated, write_zip
from hypothesis import event, given
from hypothesis import strategies as st
from synthetic import TINY_CONFIG
from test_generated_archives import archives
from test_generated_tables import MEMBERS, tables

from ludwig_mnist.cli import main

RESULT_NAMES = {"experiment_run", "ludwig_experiment_report.html", "metrics.tsv", "plots"}
pytestmark = pytest.mark.slow


def snapshot(root):
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@generated(max_examples=16)
@given(table=st.one_of(st.none(), tables()), archive=st.one_of(st.none(), archives()))
def test_generated_inputs_through_the_cli(tmp_path_factory, capsys, table, archive):
    top = tmp_path_factory.mktemp("cli")
    good = "image_path,label,split\n" + "".join(f"{p},{p.split('/')[1]},{2 if p.endswith('3.png') else 0}\n"
                                                 for p in sorted(MEMBERS))
    (top / "dataset.csv").write_bytes(table if table is not None else good.encode())
    (top / "config.yaml").write_text(TINY_CONFIG.replace("epochs: 2", "epochs: 1"), encoding="utf-8")
    if archive is None:
        write_zip(top / "images.zip", MEMBERS)
    else:
        (top / "images.zip").write_bytes(archive[0])
    before = snapshot(top)
    out = top / "out"
    code = main(["experiment", "--config", str(top / "config.yaml"), "--dataset", str(top / "dataset.csv"),
                 "--raw_data", str(top / "images.zip"), "--output_directory", str(out)])
    err = capsys.readouterr().err
    outside = sorted(p for p in snapshot(top) - before if p != "out" and not p.startswith("out/"))
    assert outside == [], f"written outside the output directory: {outside}"
    assert "Traceback" not in err
    if code == 0:
        event("exit 0")
        assert RESULT_NAMES <= {p.name for p in out.iterdir()}
        assert zipfile.is_zipfile(top / "images.zip") or archive is not None
    else:
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        event(f"exit {code}: {errors[0][7:40] if errors else '?'}")
        assert code == 2 and len(errors) == 1, err
        assert not (out.exists() and RESULT_NAMES & {p.name for p in out.iterdir()}), "a failed run left results"
        assert not (out.exists() and [p for p in out.iterdir() if p.name.startswith((".staging-", ".work-"))])
