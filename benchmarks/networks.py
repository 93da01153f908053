"""Test accuracy and epoch time of each network on an MNIST subset, with and without augmentation.

    .venv/bin/python benchmarks/networks.py --idx_dir ../shared/data/mnist [--train 10000 --test 2000]

Builds the subset with `ludwig-mnist mnist-dataset`, runs `ludwig-mnist experiment` once per network
(as a user would), and prints one table from each run's description.json / training_progress.json.
The large keras.applications networks are slow on CPU, so they get their own, smaller subset
(--big_train/--big_test) and fewer epochs; the table says which subset each row used.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = yaml.safe_load((REPO / "test-data" / "config.yaml").read_text())


def config_with(encoder: dict | None, epochs: int, augmentation=None, learning_rate=None) -> dict:
    config = yaml.safe_load(yaml.safe_dump(TUTORIAL))
    if learning_rate is not None:
        config["trainer"]["learning_rate"] = learning_rate
    if encoder is not None:
        config["input_features"][0]["encoder"] = encoder
    if augmentation is not None:
        config["input_features"][0]["augmentation"] = augmentation
    config["trainer"]["epochs"] = epochs
    return config


# VGG16 (no batch norm) trained from scratch stays at chance with Adam at 1e-3; 1e-4 trains.
LEARNING_RATES = {"vgg": 1e-4, "resnet": 1e-4}
RUNS = [  # (name, encoder or None for the tutorial CNN, augmentation, small or big subset)
    ("tutorial stacked_cnn", None, None, "small"),
    ("tutorial stacked_cnn + augmentation", None, [{"type": "random_rotate", "degree": 10},
                                                   {"type": "random_contrast", "min": 0.7, "max": 1.3}], "small"),
    ("mlp 512-512 relu (Keras tutorial)", {"type": "mlp"}, None, "small"),
    ("mlp 32-32 sigmoid (deeplay)", {"type": "mlp", "fc_layers": [{"output_size": 32, "activation": "sigmoid"}] * 2},
     None, "small"),
    ("lenet-5", {"type": "lenet"}, None, "small"),
    ("vgg16 (weights=None)", {"type": "vgg16", "use_pretrained": False}, None, "big"),
    ("resnet50 (weights=None)", {"type": "resnet50", "use_pretrained": False}, None, "big"),
]


def build(out: Path, idx_dir: Path, train: int, test: int) -> tuple[Path, Path]:
    if not (out / "mnist_dataset.csv").exists():
        subprocess.run([sys.executable, "-m", "ludwig_mnist.cli", "mnist-dataset", "--idx_dir", str(idx_dir),
                        "--train", str(train), "--test", str(test), "--output_directory", str(out)], check=True)
    return out / "mnist_dataset.csv", out / "mnist_images.zip"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idx_dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--big_train", type=int, default=3000)
    parser.add_argument("--big_test", type=int, default=1000)
    parser.add_argument("--big_epochs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ludwig_mnist_networks")
    parser.add_argument("--only", nargs="*", help="run only networks whose name contains one of these words")
    args = parser.parse_args()
    subsets = {"small": (build(args.workdir / "small", args.idx_dir, args.train, args.test), args.epochs,
                         f"{args.train}+{args.test}"),
               "big": (build(args.workdir / "big", args.idx_dir, args.big_train, args.big_test), args.big_epochs,
                       f"{args.big_train}+{args.big_test}")}
    rows = []
    for name, encoder, augmentation, subset in RUNS:
        if args.only and not any(word in name for word in args.only):
            continue
        (dataset, images), epochs, label = subsets[subset]
        run_dir = args.workdir / "runs" / name.split()[0].replace("-", "") / ("aug" if augmentation else "plain")
        run_dir.mkdir(parents=True, exist_ok=True)
        config = run_dir / "config.yaml"
        rate = LEARNING_RATES.get((encoder or {}).get("type", "")[:6].rstrip("0123456789"))
        config.write_text(yaml.safe_dump(config_with(encoder, epochs, augmentation, rate), sort_keys=False))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ludwig_mnist.cli", "experiment", "--config", str(config),
                        "--dataset", str(dataset), "--raw_data", str(images), "--output_directory", str(run_dir / "out")],
                       check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        out = run_dir / "out" / "experiment_run"
        test = json.loads((out / "test_statistics.json").read_text())["label"]
        progress = json.loads((out / "model" / "training_progress.json").read_text())
        description = json.loads((out / "description.json").read_text())
        train_images = description["data"]["split_counts"]["training"]
        epoch_seconds = statistics.median(progress["epoch_seconds"])
        rows.append((name, label, progress["epoch"], epoch_seconds, train_images / epoch_seconds,
                     test["accuracy_micro"], wall))
        print(f"{name}: test accuracy {test['accuracy_micro']:.4f}, median epoch {epoch_seconds:.1f} s", flush=True)
    print()
    print("| network | subset (train+test) | epochs | median epoch s | img/s | test accuracy | wall s |")
    print("|---|---|---|---|---|---|---|")
    for name, label, epochs, seconds, speed, accuracy, wall in rows:
        print(f"| {name} | {label} | {epochs} | {seconds:.1f} | {speed:,.0f} | {accuracy:.4f} | {wall:.0f} |")


if __name__ == "__main__":
    main()
