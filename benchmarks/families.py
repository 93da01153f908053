"""Every family and variant: parameters, training and inference images/s, and (for the ones asked) MNIST accuracy.

    PYTHONPATH=. .venv/bin/python benchmarks/families.py --idx_dir ../shared/data/mnist \
        [--accuracy shufflenet_v2:x0_5 squeezenet:1_1 ...] [--speed all | FAMILY:VARIANT ...] \
        [--train 10000 --test 2000 --epochs 2 --batch_size 128] [--seed 42]

Each network is built with the tool's own builder (model/build.build_model: 28x28 gray upsampled to the family's
minimum, 32x32, 63x63 for AlexNet, and repeated to RGB, as an experiment does), from scratch.
--speed: images/s for ``--speed_steps`` training steps (after one warm-up step) and for inference on
``--speed_images`` images, at batch ``--batch_size``; no accuracy.
--accuracy: trained with Adam (1e-3; 1e-4 for the networks without batch norm: plain vgg, alexnet, squeezenet)
on a class-balanced subset of the MNIST IDX files for --epochs, then the test accuracy twice: with the batch-norm
moving averages of training (what an evaluation without training/batch_norm.py would see), and after the
training loop's precise batch norm re-estimated them with the final weights (what the tool reports).
No timed assertions: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

NO_BATCH_NORM = {"alexnet", "squeezenet"}


def parse_variant(text: str):
    family, _, variant = text.partition(":")
    return family, int(variant) if variant.isdigit() else variant


def learning_rate(family: str, variant) -> float:
    plain = family in NO_BATCH_NORM or (family == "vgg" and not str(variant).endswith("_bn"))
    return 1e-4 if plain else 1e-3


def every_built_variant() -> list[tuple]:
    from ludwig_mnist.model.families import FAMILIES

    return [(family, variant) for family, entry in FAMILIES.items() for variant in entry.variants
            if variant in entry.built]


def build(family, variant, classes: int = 10):
    import keras

    from ludwig_mnist.config.load import parse_config
    from ludwig_mnist.model.build import build_model, input_adaptation

    config = parse_config({"input_features": [{"name": "image_path", "type": "image", "encoder": {
        "type": family, "model_variant": variant, "use_pretrained": False}}],
        "output_features": [{"name": "label", "type": "category"}]})
    model = build_model(config, (28, 28, 1), classes)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(family, variant)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    size = input_adaptation(config, (28, 28, 1))[0][0]
    return model, size


def params(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def speed(model, x, y, batch_size: int, steps: int, images: int) -> tuple[float, float]:
    model.fit(x[:batch_size], y[:batch_size], batch_size=batch_size, epochs=1, verbose=0)  # compile
    rows = batch_size * steps
    start = time.perf_counter()
    model.fit(x[:rows], y[:rows], batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
    train_rate = rows / (time.perf_counter() - start)
    model.predict(x[:batch_size], batch_size=batch_size, verbose=0)  # compile
    start = time.perf_counter()
    model.predict(x[:images], batch_size=batch_size, verbose=0)
    return train_rate, images / (time.perf_counter() - start)


def accuracy(model, data, epochs: int, batch_size: int, seed: int) -> tuple[float, float, float, float]:
    from ludwig_mnist.training.batch_norm import recompute_statistics

    x_train, y_train, x_test, y_test = data
    model.fit(x_train[:batch_size], y_train[:batch_size], batch_size=batch_size, epochs=1, verbose=0)  # compile
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)
    train_rate = epochs * len(x_train) / (time.perf_counter() - start)
    start = time.perf_counter()
    moving = float(np.mean(model.predict(x_test, batch_size=256, verbose=0).argmax(axis=1) == y_test))
    infer_rate = len(x_test) / (time.perf_counter() - start)
    recompute_statistics(model, x_train, batch_size, seed=seed)
    precise = float(np.mean(model.predict(x_test, batch_size=256, verbose=0).argmax(axis=1) == y_test))
    return train_rate, infer_rate, moving, precise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idx_dir", type=Path, required=True, help="the four MNIST IDX files")
    parser.add_argument("--accuracy", nargs="*", default=[], help="family:variant to train and evaluate")
    parser.add_argument("--speed", nargs="*", default=[], help="family:variant for images/s only, or 'all'")
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--speed_steps", type=int, default=3)
    parser.add_argument("--speed_images", type=int, default=512)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from ludwig_mnist.data.mnist import mnist_subset_arrays

    data = mnist_subset_arrays(args.idx_dir, args.train, args.test, args.seed)
    header = f"{'family variant':<26}{'input':>7}{'params':>13}{'train img/s':>13}{'infer img/s':>13}"
    if args.accuracy:
        print(f"MNIST subset: {len(data[1])} training, {len(data[3])} test images, {args.epochs} epochs, "
              f"batch {args.batch_size}, from scratch")
        print(f"{header}{'lr':>8}{'acc (moving)':>14}{'acc (precise)':>15}")
        for text in args.accuracy:
            family, variant = parse_variant(text)
            keras.utils.set_random_seed(args.seed)
            model, size = build(family, variant)
            train_rate, infer_rate, moving, precise = accuracy(model, data, args.epochs, args.batch_size, args.seed)
            print(f"{family + ' ' + str(variant):<26}{size:>7}{params(model):>13,}{train_rate:>13.1f}"
                  f"{infer_rate:>13.1f}{learning_rate(family, variant):>8.0e}{moving:>14.3f}{precise:>15.3f}",
                  flush=True)
    targets = every_built_variant() if args.speed == ["all"] else [parse_variant(t) for t in args.speed]
    if targets:
        print(f"images/s only: {args.speed_steps} training steps and {args.speed_images} inference images at "
              f"batch {args.batch_size}")
        print(header)
        for family, variant in targets:
            keras.utils.set_random_seed(args.seed)
            try:
                model, size = build(family, variant)
                train_rate, infer_rate = speed(model, data[0], data[1], args.batch_size, args.speed_steps,
                                               args.speed_images)
            except Exception as err:  # noqa: BLE001 - a benchmark row, e.g. out of memory for the largest
                print(f"{family + ' ' + str(variant):<26} failed: {str(err).splitlines()[0][:80]}", flush=True)
                continue
            print(f"{family + ' ' + str(variant):<26}{size:>7}{params(model):>13,}{train_rate:>13.1f}"
                  f"{infer_rate:>13.1f}", flush=True)
            del model
            keras.backend.clear_session()


if __name__ == "__main__":
    main()
