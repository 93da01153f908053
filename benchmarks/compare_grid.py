"""A 4-point `compare` grid against the same four configurations run as four separate experiments.

    .venv/bin/python benchmarks/compare_grid.py [--repeats 3] [--workdir DIR] [--dataset CSV --raw_data ZIP]

Inputs: the embedded real-MNIST subset (test-data/mnist_dataset.csv + mnist_images.zip) and
test-data/config_small.yaml with a grid of 2 learning rates x 2 batch sizes.  Each measured command runs
in a fresh subprocess (`python -m ludwig_mnist.cli`), so the package imported is whichever one PYTHONPATH
or the venv gives: run it once with PYTHONPATH pointing at an older checkout to compare versions.  Reads
the medians: other work on the machine changes absolute times, not the ratio of the two, measured in the
same run.  `compare` prepares the data once and trains every combination on it; four separate experiments
extract and decode the archive four times, and start Python and TensorFlow four times.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "test-data"
GRID = {"training.learning_rate": [0.001, 0.0003], "training.batch_size": [32, 64]}  # config_small says training:


def cli(*args: str) -> float:
    """Seconds one `ludwig-mnist ARGS` subprocess takes; raises if it fails."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ludwig_mnist.cli", *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=os.environ | {"PYTHONHASHSEED": "0"})
    if done.returncode != 0:
        sys.exit(f"ludwig-mnist {args[0]} failed ({done.returncode}): {done.stderr.strip().splitlines()[-1]}")
    return time.perf_counter() - start


DATASET = [DATA / "mnist_dataset.csv", DATA / "mnist_images.zip"]  # --dataset/--raw_data replace them


def data_flags() -> list[str]:
    return ["--dataset", str(DATASET[0]), "--raw_data", str(DATASET[1])]


def run_compare(work: Path) -> float:
    grid = work / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID), encoding="utf-8")
    return cli("compare", "--config", str(DATA / "config_small.yaml"), "--grid", str(grid), *data_flags(),
               "--output_directory", str(work / "compare"))


def run_separately(work: Path) -> float:
    base = yaml.safe_load((DATA / "config_small.yaml").read_text(encoding="utf-8"))
    total = 0.0
    for index, (rate, batch) in enumerate(itertools.product(*GRID.values())):
        config = dict(base, training=dict(base["training"], learning_rate=rate, batch_size=batch))
        path = work / f"config_{index}.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        total += cli("experiment", "--config", str(path), *data_flags(), "--output_directory",
                     str(work / f"experiment_{index}"))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--dataset", type=Path, default=DATASET[0], help="a larger table, e.g. from mnist-dataset")
    parser.add_argument("--raw_data", type=Path, default=DATASET[1])
    args = parser.parse_args()
    DATASET[:] = [args.dataset.resolve(), args.raw_data.resolve()]
    times: dict[str, list[float]] = {"compare (4 points)": [], "4 separate experiments": []}
    for round_index in range(args.repeats):  # interleaved, so a slow spell of the machine hits both
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            times["compare (4 points)"].append(run_compare(Path(tmp)))
            times["4 separate experiments"].append(run_separately(Path(tmp)))
        print(f"round {round_index + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()), flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:<26} median {value:6.1f} s  (runs: {', '.join(f'{v:.1f}' for v in times[name])})")
    ratio = medians["compare (4 points)"] / medians["4 separate experiments"]
    print(f"compare / separate: {ratio:.2f}")
    print(json.dumps({"medians_seconds": medians, "runs_seconds": times, "ratio": ratio}))


if __name__ == "__main__":
    main()
