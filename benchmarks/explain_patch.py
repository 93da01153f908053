"""Does an explanation point at the evidence?  A synthetic two-class dataset whose class is decided only by a
8x8 patch at a fixed place of a 32x32 noise image (6.25% of the area): horizontal stripes are class 0,
vertical stripes class 1.  A small stacked_cnn (this tool's builder) is trained on it; then, on held-out
images, the share of each heatmap's mass that falls on the patch is printed for Grad-CAM and integrated
gradients, for the trained network and for the same network with re-initialised weights (Adebayo et al.
2018's sanity check), with the Spearman rank correlation between trained and randomised maps.  A uniform
map would put 0.0625 on the patch.

    .venv/bin/python benchmarks/explain_patch.py [--head pool|fine|flatten] [--train 400] [--epochs 8]
                                                 [--noise 256] [--l2 0]

Not part of `make test`; tests/test_explain.py asserts the same properties on a smaller run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SIZE, PATCH_TOP, PATCH_LEFT, PATCH = 32, 4, 20, 8
NOISE = 256  # background pixels uniform in 0..NOISE-1 (--noise); the stripes are 0 and 255


def patch_dataset(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 16, 16, 1) uint8 images, (n,) labels: uniform noise, the class only in the stripes of the patch."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, NOISE, (n, SIZE, SIZE, 1), dtype=np.uint8)
    labels = rng.integers(0, 2, n).astype(np.int32)
    stripes = (np.arange(PATCH) % 2 * 255).astype(np.uint8)
    horizontal = np.repeat(stripes[:, None], PATCH, axis=1)  # rows alternate
    for i, label in enumerate(labels):
        images[i, PATCH_TOP:PATCH_TOP + PATCH, PATCH_LEFT:PATCH_LEFT + PATCH, 0] = horizontal.T if label else horizontal
    return images, labels


def patch_mask() -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), bool)
    mask[PATCH_TOP:PATCH_TOP + PATCH, PATCH_LEFT:PATCH_LEFT + PATCH] = True
    return mask


def patch_config(head: str, l2: float = 0.0) -> dict:
    """pool: the last conv block pools its 16x16 map to 1x1 (a global max pool); fine: no pooling after the
    first conv, so the last map is 32x32 before its global max pool; flatten: Ludwig's usual stacked_cnn
    ending, an 8x8 map flattened into the fc layer."""
    first_pool = 1 if head == "fine" else 2  # 1: a 1x1 pool, no downsampling
    last_pool = {"pool": SIZE // 2, "fine": SIZE, "flatten": 2}[head]
    return {"input_features": [{"name": "image_path", "type": "image", "encoder": {
                "type": "stacked_cnn",
                "conv_layers": [{"out_channels": 16, "kernel_size": 3, "padding": "same",
                                 "pool_kernel_size": first_pool, "pool_stride": first_pool},
                                {"out_channels": 32, "kernel_size": 3, "padding": "same",
                                 "pool_kernel_size": last_pool, "pool_stride": last_pool}],
                "fc_layers": [{"output_size": 32}]}}],
            "output_features": [{"name": "label", "type": "category"}],
            "trainer": {"regularization_type": "l2", "regularization_lambda": l2}}


def trained_and_random(head: str, train: int, epochs: int, seed: int = 0, l2: float = 0.0):
    """(trained model, same architecture re-initialised, test accuracy)."""
    import keras

    from ludwig_mnist.config.load import parse_config
    from ludwig_mnist.model.build import build_model

    config = parse_config(patch_config(head, l2))
    keras.utils.set_random_seed(seed)
    model = build_model(config, (SIZE, SIZE, 1), 2)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = patch_dataset(train, seed)
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    keras.utils.set_random_seed(seed + 1)
    randomised = build_model(config, (SIZE, SIZE, 1), 2)
    return model, randomised


def measure(model, randomised, images: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, float]]:
    """Per method: trained and randomised mean patch share, and mean Spearman correlation between them."""
    from ludwig_mnist.explain.choose import patch_share, rank_correlation
    from ludwig_mnist.explain.methods import METHODS, attribute

    figures = {}
    for method in METHODS:
        trained = attribute(model, images, labels, method).heatmaps
        random = attribute(randomised, images, labels, method).heatmaps
        figures[method] = {"trained": float(np.nanmean(patch_share(trained, patch_mask()))),
                           "randomised": float(np.nanmean(patch_share(random, patch_mask()))),
                           "blank_trained": float(np.mean(trained.reshape(len(trained), -1).max(1) == 0)),
                           "spearman": float(np.nanmean(rank_correlation(trained, random)))}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--head", choices=["pool", "fine", "flatten"], default="pool")
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--l2", type=float, default=0.0, help="trainer.regularization_lambda (l2) of the network")
    parser.add_argument("--noise", type=int, default=NOISE, help="background noise range (default 256: 0..255)")
    args = parser.parse_args()
    globals()["NOISE"] = args.noise
    start = time.perf_counter()
    model, randomised = trained_and_random(args.head, args.train, args.epochs, l2=args.l2)
    x, y = patch_dataset(args.test, seed=1234)
    accuracy = float((model.predict(x, verbose=0).argmax(1) == y).mean())
    print(f"head {args.head}: {args.train} training images, {args.epochs} epochs, l2 {args.l2:g}, test accuracy {accuracy:.3f} "
          f"on {args.test}; noise 0..{args.noise - 1}; patch = {patch_mask().mean():.4f} of the area")
    print(f"{'method':<22}{'trained':>9}{'randomised':>12}{'blank (trained)':>17}{'Spearman':>10}")
    for method, f in measure(model, randomised, x, y).items():
        print(f"{method:<22}{f['trained']:>9.3f}{f['randomised']:>12.3f}{f['blank_trained']:>17.2f}"
              f"{f['spearman']:>10.3f}")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
