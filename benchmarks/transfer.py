"""Transfer between experiments on real data: a backbone pretrained on one dataset, fine-tuned on 500 images
of the other, against the same network from scratch on the same rows and epochs.

    .venv/bin/python benchmarks/transfer.py [--mnist /work/shared/data/mnist]
        [--fashion /usr/share/datasets/fashion-mnist] [--train 500 --test 2000 --epochs 15 --seeds 0 1 2]
        [--pretrain 10000 --pretrain_epochs 8] [--directions mnist-fashion fashion-mnist]

Fashion-MNIST comes from Debian's `dataset-fashion-mnist` (apt-get install dataset-fashion-mnist; IDX files in
/usr/share/datasets/fashion-mnist).  Every run is `ludwig-mnist experiment` through its pipeline, in this one
process (TensorFlow starts once); the fine-tuning runs use `--encoder_from` on the pretrained model directory.
Both datasets are written in the Galaxy tutorial layout by `ludwig-mnist mnist-dataset`'s builder; the
fine-tuning subsets are class-balanced (50 images per class for 500) and the same rows for every mode and seed.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = yaml.safe_load((REPO / "test-data" / "config.yaml").read_text())  # 32→64 conv, fc 128, Adam 1e-3

# (name, encoder keys, trainer keys): every mode trains the tutorial network with the same rows and epochs.
MODES = [
    ("scratch", {}, {}, False),
    ("frozen", {"trainable": False}, {}, True),
    ("unfrozen after 5, lr/10", {"trainable": False}, {"unfreeze_encoder_after_epochs": 5}, True),
    ("trainable", {}, {}, True),
    ("unfrozen after 5, same lr", {"trainable": False}, {"unfreeze_encoder_after_epochs": 5,
                                                          "unfreeze_encoder_learning_rate": 0.001}, True),
    ("trainable, lr 3e-4", {}, {"learning_rate": 0.0003}, True),
]


def config_with(epochs: int, encoder: dict | None = None, trainer: dict | None = None) -> dict:
    config = copy.deepcopy(TUTORIAL)
    config["input_features"][0]["encoder"].update(encoder or {})
    config["trainer"].update({"epochs": epochs, **(trainer or {})})
    return config


def experiment(config: dict, data: tuple[Path, Path], out: Path, seed: int, encoder_from: Path | None = None):
    """One `ludwig-mnist experiment` run; returns (test accuracy_micro, epochs run, seconds).

    A run whose results are already in `out` (with the same config) is read back, not rerun, so an interrupted
    benchmark continues where it stopped."""
    from ludwig_mnist.config.load import parse_config
    from ludwig_mnist.options import DataOptions, RunOptions
    from ludwig_mnist.pipelines.experiment import run_experiment

    run = out / "experiment_run"
    done = (run / "test_statistics.json").is_file() and \
        json.loads((run / "description.json").read_text())["config"] == json.loads(json.dumps(parse_config(config).to_dict()))
    if not done:
        images, table = data  # build_mnist_dataset's (mnist_images.zip, mnist_dataset.csv)
        options = RunOptions(data=DataOptions(raw_data=images, dataset=table), output_directory=out,
                             random_seed=seed, encoder_from=encoder_from)
        run_experiment(parse_config(config), options, log=lambda line: None)
    test = json.loads((run / "test_statistics.json").read_text())["label"]
    progress = json.loads((run / "model" / "training_progress.json").read_text())
    seconds = json.loads((run / "description.json").read_text())["timings_seconds"]
    return test["accuracy_micro"], progress["epoch"], sum(v for k, v in seconds.items() if not k.startswith("epoch "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=Path("/work/shared/data/mnist"))
    parser.add_argument("--fashion", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--train", type=int, default=500, help="fine-tuning training images (class-balanced)")
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pretrain", type=int, default=10000, help="pretraining images of the other dataset")
    parser.add_argument("--pretrain_epochs", type=int, default=8)
    parser.add_argument("--directions", nargs="+", default=["mnist-fashion", "fashion-mnist"])
    parser.add_argument("--modes", nargs="*", help="only the modes whose name starts with one of these")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ludwig_mnist_transfer")
    args = parser.parse_args()
    from ludwig_mnist.data.mnist import build_mnist_dataset

    idx = {"mnist": args.mnist, "fashion": args.fashion}
    modes = [m for m in MODES if not args.modes or any(m[0].startswith(w) for w in args.modes)]
    print(f"fine-tuning on {args.train} training images (10% of them validation), {args.test} test images, "
          f"{args.epochs} epochs, seeds {args.seeds}; backbones pretrained on {args.pretrain} images for "
          f"{args.pretrain_epochs} epochs")
    table = []
    for direction in args.directions:
        source, target = direction.split("-")
        root = args.workdir / direction
        pre_data = build_mnist_dataset(root / "pretrain_data", idx[source], args.pretrain, 1000, seed=0)
        fine_data = build_mnist_dataset(root / "finetune_data", idx[target], args.train, args.test, seed=0)
        accuracy, _, seconds = experiment(config_with(args.pretrain_epochs), pre_data, root / "pretrain", 0)
        backbone = root / "pretrain" / "experiment_run" / "model"
        print(f"{direction}: backbone test accuracy on {source} {accuracy:.3f} ({seconds:.0f} s)")
        for name, encoder, trainer, transfer in modes:
            scores = []
            for seed in args.seeds:
                out = root / "runs" / name.replace(" ", "_").replace(",", "").replace("/", "") / str(seed)
                score, epochs, seconds = experiment(config_with(args.epochs, encoder, trainer), fine_data, out, seed,
                                                    backbone if transfer else None)
                scores.append(score)
                print(f"  {name:<28} seed {seed}: test accuracy {score:.3f} ({epochs} epochs, {seconds:.0f} s)",
                      flush=True)
            table.append((direction, name, scores))
    print("\n| transfer | mode | test accuracy, mean ± sd | per seed |\n|---|---|---|---|")
    for direction, name, scores in table:
        spread = statistics.stdev(scores) if len(scores) > 1 else 0.0
        print(f"| {direction.replace('-', ' → ')} | {name} | {statistics.mean(scores):.3f} ± {spread:.3f} | "
              f"{', '.join(f'{s:.3f}' for s in scores)} |")


if __name__ == "__main__":
    main()
