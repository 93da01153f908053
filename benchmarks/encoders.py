"""Every network learns: each of Ludwig's torchvision families trained from scratch on an MNIST subset.

    PYTHONPATH=. .venv/bin/python benchmarks/encoders.py --idx_dir ../shared/data/mnist \
        [--train 10000 --test 2000 --epochs 2] [--only resnet:18 mobilenetv3:small ...] [--seed 42]

Builds each network with the tool's own builder (model/build.build_model: 28x28 gray upsampled to 32x32 and
repeated to RGB, as an experiment does), trains it with Adam on a class-balanced subset of the MNIST IDX files
and prints one row per family/variant: parameters, training and inference images/s on this machine, test
accuracy after the epochs.  Plain VGG (no batch norm) trains at 1e-4, every network with batch norm at 1e-3.
No timed assertions: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

# the families small enough for 2 CPU cores by default; --only picks others (family:variant)
DEFAULT_SET = ["resnet:18", "mobilenetv3:small", "mobilenetv2:base", "efficientnet:b0", "resnet:34", "vgg:11_bn",
               "vgg:11", "densenet:121", "resnet:50"]


def parse_variant(text: str):
    family, _, variant = text.partition(":")
    return family, int(variant) if variant.isdigit() else variant


def learning_rate(family: str, variant) -> float:
    plain_vgg = family == "vgg" and not str(variant).endswith("_bn")
    return 1e-4 if plain_vgg else 1e-3


def run_one(family, variant, data, epochs: int, batch_size: int, seed: int) -> dict:
    import keras

    from ludwig_mnist.config.load import parse_config
    from ludwig_mnist.model.build import build_model

    keras.utils.set_random_seed(seed)
    x_train, y_train, x_test, y_test = data
    config = parse_config({"input_features": [{"name": "image_path", "type": "image", "encoder": {
        "type": family, "model_variant": variant, "use_pretrained": False}}],
        "output_features": [{"name": "label", "type": "category"}]})
    model = build_model(config, (28, 28, 1), 10)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(family, variant)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[:batch_size], y_train[:batch_size], batch_size=batch_size, epochs=1, verbose=0)  # compile
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)
    train_rate = epochs * len(x_train) / (time.perf_counter() - start)
    start = time.perf_counter()
    probabilities = model.predict(x_test, batch_size=256, verbose=0)
    infer_rate = len(x_test) / (time.perf_counter() - start)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == y_test))
    return {"name": f"{family} {variant}", "params": trainable, "train_ips": train_rate, "infer_ips": infer_rate,
            "accuracy": accuracy, "epochs": epochs, "lr": learning_rate(family, variant)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idx_dir", type=Path, required=True, help="the four MNIST IDX files")
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", nargs="*", default=DEFAULT_SET, help="family:variant, e.g. resnet:18")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from ludwig_mnist.data.mnist import mnist_subset_arrays

    data = mnist_subset_arrays(args.idx_dir, args.train, args.test, args.seed)
    print(f"MNIST subset: {len(data[1])} training, {len(data[3])} test images, {args.epochs} epochs, "
          f"batch {args.batch_size}, from scratch")
    print(f"{'encoder':<22}{'params':>13}{'train img/s':>13}{'infer img/s':>13}{'lr':>8}{'test acc':>10}")
    for text in args.only:
        row = run_one(*parse_variant(text), data, args.epochs, args.batch_size, args.seed)
        print(f"{row['name']:<22}{row['params']:>13,}{row['train_ips']:>13.0f}{row['infer_ips']:>13.0f}"
              f"{row['lr']:>8.0e}{row['accuracy']:>10.3f}", flush=True)


if __name__ == "__main__":
    main()
