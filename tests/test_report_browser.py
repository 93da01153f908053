"""The experiment report in a real headless Chromium: no request leaves the file, every image shows.

Needs Debian's chromium and tests/browser/node_modules/playwright-core, which
scripts/setup_browser.sh installs; without them the test is skipped, saying so.
Screenshots land in tests/browser/artifacts/ (ignored by git).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ludwig_mnist.report import common as report_common
from ludwig_mnist.report import experiment as experiment_report

BROWSER_DIR = Path(__file__).resolve().parent / "browser"
SCRIPT = BROWSER_DIR / "check_report.mjs"
ARTIFACTS = BROWSER_DIR / "artifacts"

pytestmark = pytest.mark.browser


def _fake_result():
    # The hand-made result of test_report.py, loaded by path (tests/ is not a package).
    spec = importlib.util.spec_from_file_location("_report_fakes", Path(__file__).with_name("test_report.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_fake_result()


def _requirements() -> tuple[str, str]:
    chromium = shutil.which("chromium")
    node = shutil.which("node")
    missing = []
    if chromium is None:
        missing.append("chromium is not on PATH")
    if node is None:
        missing.append("node is not on PATH")
    if not (BROWSER_DIR / "node_modules" / "playwright-core" / "package.json").is_file():
        missing.append("tests/browser/node_modules/playwright-core is not installed")
    if missing:
        pytest.skip("; ".join(missing) + " (run scripts/setup_browser.sh)")
    return chromium, node


def test_report_in_headless_chromium(tmp_path):
    chromium, node = _requirements()
    files = experiment_report.write_experiment_report(_fake_result(), tmp_path / "out")
    proc = subprocess.run(
        [node, str(SCRIPT), str(files.html), str(ARTIFACTS)],
        cwd=BROWSER_DIR, env={**os.environ, "CHROMIUM_PATH": chromium},
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, f"check_report.mjs failed:\n{proc.stderr[-4000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])

    assert result["externalRequests"] == []
    assert result["consoleErrors"] == []
    assert result["brokenImages"] == []
    assert result["imageCount"] > 0
    assert result["imageCount"] == files.html.read_text(encoding="utf-8").count("<img ")
    assert result["scripts"] == 0
    assert result["brokenTocLinks"] == []
    assert [sid for sid, _ in report_common.EXPERIMENT_SECTIONS] == result["sectionIds"]
    assert result["phoneOverflowPx"] <= 0
    # user data is shown as text, never as markup
    assert "<b>x</b>" in result["text"] and "T-shirt/top" in result["text"]
    assert (ARTIFACTS / "report_top.png").read_bytes().startswith(b"\x89PNG")
