"""Process runtime: CPU threads from GALAXY_SLOTS, the once-per-process setup, and per-run seeding
(two seeds in one process = the same two seeds in two processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from synthetic import make_dataset, write_config

from ludwig_mnist import runtime

REPO_ROOT = Path(__file__).resolve().parent.parent


def subprocess_env(**extra: str) -> dict[str, str]:
    """This interpreter's environment, importing ludwig_mnist from this checkout, TensorFlow quiet."""
    env = {k: v for k, v in os.environ.items() if k != "GALAXY_SLOTS"}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
               TF_CPP_MIN_LOG_LEVEL="3", **extra)
    return env


# ---------------------------------------------------------------- granted_cpu_threads


@pytest.fixture
def five_cores(monkeypatch):
    """This process may use 5 cores (an affinity mask unlike any real default, so a fallback shows)."""
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4}, raising=False)


@pytest.mark.parametrize("slots, threads", [("3", 3), (" 4\n", 4), ("1", 1), ("64", 64)])
def test_threads_from_galaxy_slots(monkeypatch, five_cores, slots, threads):
    monkeypatch.setenv("GALAXY_SLOTS", slots)
    assert runtime.granted_cpu_threads() == threads


@pytest.mark.parametrize("slots", ["", "0", "abc", "-2", "2.5", "  "])
def test_unusable_galaxy_slots_fall_back_to_the_affinity_mask(monkeypatch, five_cores, slots):
    monkeypatch.setenv("GALAXY_SLOTS", slots)
    assert runtime.granted_cpu_threads() == 5


def test_without_galaxy_slots_the_affinity_mask_counts(monkeypatch, five_cores):
    monkeypatch.delenv("GALAXY_SLOTS", raising=False)
    assert runtime.granted_cpu_threads() == 5


def test_without_sched_getaffinity_cpu_count_is_used(monkeypatch):
    """Not Linux: os.cpu_count(), or 1 when even that is unknown."""
    monkeypatch.delenv("GALAXY_SLOTS", raising=False)
    monkeypatch.delattr(runtime.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(runtime.os, "cpu_count", lambda: 7)
    assert runtime.granted_cpu_threads() == 7
    monkeypatch.setattr(runtime.os, "cpu_count", lambda: None)
    assert runtime.granted_cpu_threads() == 1


# ---------------------------------------------------------------- setup_process (fresh interpreter)

SETUP_SCRIPT = """
import json, os, random
import keras, numpy as np, tensorflow as tf
from ludwig_mnist import runtime

first = runtime.setup_process()
os.environ["GALAXY_SLOTS"] = "1"  # a second run asking for other threads gets the first setup
second = runtime.setup_process()

def draws():
    return [random.random(), float(np.random.rand()), float(keras.random.uniform((1,)).numpy()[0])]

third = runtime.configure(5)  # the setup (once) and the seed (every time)
seed5 = draws()
runtime.seed_run(6)
seed6 = draws()
runtime.seed_run(5)
print(json.dumps({"same": first is second is third, "threads": first.threads, "device": first.device,
                  "intra": tf.config.threading.get_intra_op_parallelism_threads(),
                  "inter": tf.config.threading.get_inter_op_parallelism_threads(),
                  "versions": sorted(first.versions), "seed5": seed5, "seed6": seed6, "seed5_again": draws()}))
"""


def test_setup_process_applies_galaxy_slots_once_and_seed_run_reseeds():
    """In a fresh interpreter: GALAXY_SLOTS=3 sizes TensorFlow's thread pools; a second setup_process (or
    configure) returns the first setup; seed_run reseeds Python, NumPy and Keras every time."""
    done = subprocess.run([sys.executable, "-c", SETUP_SCRIPT], env=subprocess_env(GALAXY_SLOTS="3"),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["same"] is True
    assert result["threads"] == 3
    assert result["intra"] == 3 and result["inter"] == 2  # two inter-op threads, at most the granted ones
    assert result["device"] == "CPU (3 threads)" or result["device"].startswith("GPU: ")
    assert {"ludwig_mnist", "tensorflow", "keras", "numpy", "python"} <= set(result["versions"])
    assert result["seed5_again"] == result["seed5"]
    assert all(a != b for a, b in zip(result["seed5"], result["seed6"], strict=True))


# ---------------------------------------------------------------- two seeds, one process or two


RUNS_SCRIPT = """
import sys
from ludwig_mnist.cli import main
config, dataset, images, out = sys.argv[1:5]
for seed in sys.argv[5:]:
    code = main(["experiment", "--config", config, "--dataset", dataset, "--raw_data", images,
                 "--output_directory", f"{out}/seed{seed}", "--random_seed", seed])
    assert code == 0, f"seed {seed}: exit status {code}"
"""

COMPARED = ("test_statistics.json", "training_statistics.json", "predictions.csv")  # no timings in these


@pytest.mark.slow
def test_two_seeds_in_one_process_equal_two_processes(tmp_path):
    csv_path, zip_path = make_dataset(tmp_path / "data", train_per_class=8, validation_per_class=3,
                                      test_per_class=4, size=8)
    config = write_config(tmp_path)  # TINY_CONFIG: 2 epochs, batch size 16
    base = [sys.executable, "-c", RUNS_SCRIPT, str(config), str(csv_path), str(zip_path)]
    env = subprocess_env(GALAXY_SLOTS="1")  # the same threads everywhere (and no oversubscription)
    # One interpreter runs seeds 1 then 2, two others one seed each; as many at once as there are cores.
    jobs = {"together": ("1", "2"), "alone1": ("1",), "alone2": ("2",)}

    def run(name):
        return subprocess.run(base + [str(tmp_path / name), *jobs[name]], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300, check=False)

    with ThreadPoolExecutor(max_workers=min(len(jobs), runtime.granted_cpu_threads())) as pool:
        for name, done in zip(jobs, pool.map(run, jobs)):
            assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"

    def run_dir(name, seed):
        return tmp_path / name / f"seed{seed}" / "experiment_run"

    for seed in ("1", "2"):
        for file in COMPARED:
            together, alone = run_dir("together", seed) / file, run_dir(f"alone{seed}", seed) / file
            assert together.read_bytes() == alone.read_bytes(), f"seed {seed}: {file} differs"
        description = json.loads((run_dir("together", seed) / "description.json").read_text())
        assert description["compute"]["threads"] == 1  # GALAXY_SLOTS reached the run
    # the seeds matter, so equal files above are not equal by accident
    assert (run_dir("together", "1") / "predictions.csv").read_bytes() != \
        (run_dir("together", "2") / "predictions.csv").read_bytes()
