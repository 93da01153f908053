"""Cancelled and killed jobs: SIGTERM or SIGINT in each phase (the archive, decode, an epoch, evaluation, the
report) stops the CLI with a non-zero status and one error line, removes the staging area and leaves no
result; a SIGKILLed run leaves nothing a later run mistakes for a result, and that later run succeeds.

The signals are sent from the test to a real `python -m ludwig_mnist.cli` process, when its log or its
output directory shows that the phase has started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from synthetic import TINY_CONFIG, make_dataset, write_config

REPO = Path(__file__).resolve().parents[1]
RESULT_NAMES = {"experiment_run", "ludwig_experiment_report.html", "metrics.tsv", "plots"}
STREAMED = TINY_CONFIG.replace("    type: image\n", "    type: image\n    preprocessing:\n      in_memory: false\n", 1)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("signals")
    make_dataset(directory, train_per_class=300, test_per_class=30, size=16)  # 990 images, ~1 s to extract
    config = write_config(directory, TINY_CONFIG.replace("epochs: 2", "epochs: 4"))
    streamed = directory / "streamed.yaml"
    streamed.write_text(STREAMED.replace("epochs: 2", "epochs: 4"), encoding="utf-8")
    return directory, config, streamed


def start(inputs, out: Path, config: Path) -> subprocess.Popen:
    directory = inputs[0]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "ludwig_mnist.cli", "experiment", "--config", str(config),
         "--dataset", str(directory / "dataset.csv"), "--raw_data", str(directory / "images.zip"),
         "--output_directory", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(process: subprocess.Popen, out: Path, trigger: str, lines: list[str]) -> bool:
    """Read the log until ``trigger`` appears in a line or, for 'fs:NAME', NAME exists in a work area."""
    found = threading.Event()

    def reader():
        for line in process.stdout:
            lines.append(line)
            if not trigger.startswith("fs:") and trigger in line:
                found.set()
        found.set()  # the process ended

    threading.Thread(target=reader, daemon=True).start()
    while not found.is_set():
        if trigger.startswith("fs:") and any(out.glob(f".work-*/{trigger[3:]}")):
            return True
        found.wait(0.01)
    return process.poll() is None


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir()) if out.exists() else []


PHASES = [  # (phase, trigger, streamed config)
    ("archive", "archive: ", False),  # read in place, then the images are decoded from it
    ("decode", "fs:images.npy", True),
    ("epoch", "epoch 1/4", False),
    ("evaluation", "completed 4 epochs", False),
    ("report", "test: accuracy", False),
]
CASES = [(signal.SIGTERM, *phase) for phase in PHASES] + [(signal.SIGINT, *PHASES[0]), (signal.SIGINT, *PHASES[2])]


@pytest.mark.parametrize("signum, phase, trigger, streamed", CASES,
                         ids=[f"{signal.Signals(c[0]).name}-{c[1]}" for c in CASES])
def test_signal_in_each_phase_stops_cleanly(tmp_path, inputs, signum, phase, trigger, streamed):
    out = tmp_path / "out"
    process = start(inputs, out, inputs[2] if streamed else inputs[1])
    lines: list[str] = []
    try:
        assert wait_for(process, out, trigger, lines), f"the run ended before {phase}: {''.join(lines)[-500:]}"
        sent = time.monotonic()
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)  # a bound, not a timing assertion: a hang fails here
        stopped_after = time.monotonic() - sent
    finally:
        process.kill()
    print(f"{signal.Signals(signum).name} in {phase}: exit {process.returncode} after {stopped_after:.2f} s; "
          f"{err.strip().splitlines()[-1]}")
    assert process.returncode == 128 + signum, err
    assert err.strip().splitlines()[-1] == (f"error: stopped by {signal.Signals(signum).name}; nothing was "
                                            "published, partial files were removed")
    assert "Traceback" not in err
    assert leftovers(out) == [], f"left in the output directory: {leftovers(out)}"


def test_sigkilled_run_leaves_nothing_that_a_rerun_mistakes(tmp_path, inputs):
    out = tmp_path / "out"
    process = start(inputs, out, inputs[1])
    lines: list[str] = []
    try:
        assert wait_for(process, out, "epoch 1/4", lines)
        process.kill()
        process.wait(timeout=60)
    finally:
        process.kill()
    left = leftovers(out)
    assert not RESULT_NAMES & set(left), left
    assert left and all(name.startswith((".staging-", ".work-")) for name in left), left  # scratch, hidden

    rerun = start(inputs, out, inputs[1])
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    # The rerun published its results and removed the killed run's abandoned scratch areas.
    assert set(leftovers(out)) == RESULT_NAMES
    assert (out / "experiment_run" / "predictions.csv").read_text().count("\n") == 1 + 90
