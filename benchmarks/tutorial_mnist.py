"""Full-MNIST tutorial benchmark: `ludwig-mnist experiment` against the same network in plain Keras, in one run.

    .venv/bin/python benchmarks/tutorial_mnist.py --idx_dir ../shared/data/mnist [--repeats N] [--epochs 5]
                                                  [--workdir DIR] [--runs ours,plain,plain+det,streamed,decode]

Builds the tutorial inputs once (70,000 PNGs in mnist_images.zip + mnist_dataset.csv, cached in the workdir),
then runs each of these in a fresh subprocess, whose peak RSS comes from os.wait4 (that child alone):

  ours       ludwig-mnist experiment with test-data/config.yaml (in_memory: true, the default)
  streamed   the same with input_features[0].preprocessing.in_memory: false (on-disk image cache)
  plain      keras.Sequential with the same layers, in-memory uint8 arrays → Rescaling, batch 128, Adam,
             trained on the same 54,001 rows as ours (the tutorial CSV has no validation rows, so our tool
             carves 10% of the 60k for validation), TensorFlow's default threads, no determinism
  plain+det  plain with tf.config.experimental.enable_op_determinism(), as our runtime.py sets it
  decode     extract the zip once, decode the 70k PNGs 3 times in memory and 3 times into the cache, then
             peak RSS of decoding them upscaled to 112x112 (878 MB of pixels) in memory vs into the cache

Training speed is compared as images/s of the training pass per epoch (our epoch also evaluates the
validation, test and a 5k training sample; that is timed separately).  Other work on the machine changes
absolute speed, so read the ratios, measured in the same run; --repeats N interleaves the runs and reports
medians.  A JSON file of everything measured is written to WORKDIR/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
TUTORIAL_CONFIG = REPO / "test-data" / "config.yaml"
DEFAULT_SEED = 42
BATCH_SIZE = 128
EPOCH_LINE = re.compile(r"epoch (\d+)/\d+ .*\| ([\d.]+)s train \+ ([\d.]+)s eval")


@dataclass
class Run:
    """One measured subprocess: its phases in seconds, per-epoch numbers, peak RSS and accuracy."""

    name: str
    wall: float = 0.0
    peak_rss_mb: float = 0.0
    cpu_seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    train_seconds: list[float] = field(default_factory=list)  # training pass of each epoch
    eval_seconds: list[float] = field(default_factory=list)  # end-of-epoch evaluation (ours only)
    train_images: int = 0
    test_accuracy: float | None = None

    @property
    def images_per_second(self) -> list[float]:
        return [self.train_images / s for s in self.train_seconds]


# ---------------------------------------------------------------- running a child and measuring it


def run_child(command: list[str], log_path: Path,
              env: dict | None = None) -> tuple[list[tuple[float, str]], float, float, float]:
    """Run `command`; returns ((seconds since start, stdout line) list, wall s, peak RSS MB, CPU s).

    os.wait4 gives the rusage of this child alone (ru_maxrss of RUSAGE_CHILDREN would be the maximum
    over every child this process ever waited for).
    """
    start = time.perf_counter()
    with open(log_path, "w") as log, open(log_path.with_suffix(".err"), "w") as err:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1,
                                 env={**os.environ, **(env or {})})
        lines = []
        for line in child.stdout:
            lines.append((time.perf_counter() - start, line.rstrip("\n")))
            log.write(f"{lines[-1][0]:8.1f} {line}")
            log.flush()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {child.returncode}; see {log_path}")
    return lines, wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # ru_maxrss is in KiB on Linux


def run_ours(name: str, config: Path, data_dir: Path, workdir: Path, seed: int) -> Run:
    out = workdir / f"out-{name}"
    command = [str(Path(sys.executable).parent / "ludwig-mnist"), "experiment", "--config", str(config),
               "--dataset", str(data_dir / "mnist_dataset.csv"), "--raw_data", str(data_dir / "mnist_images.zip"),
               "--output_directory", str(out), "--random_seed", str(seed)]
    lines, wall, rss, cpu = run_child(command, workdir / f"{name}.log")
    return parse_ours(name, out / "experiment_run", lines, wall, rss, cpu)


def parse_ours(name: str, run_dir: Path, lines: list[tuple[float, str]], wall: float, rss: float, cpu: float) -> Run:
    """Phases from description.json's timings, epochs from the log, the rest from when log lines arrived."""
    description = json.loads((run_dir / "description.json").read_text())
    timings = description["timings_seconds"]
    run = Run(name, wall, rss, cpu, train_images=description["data"]["split_counts"]["training"])
    run.test_accuracy = json.loads((run_dir / "test_statistics.json").read_text())["label"]["accuracy_micro"]
    for _, text in lines:
        if found := EPOCH_LINE.search(text):
            run.train_seconds.append(float(found.group(2)))
            run.eval_seconds.append(float(found.group(3)))
    done_at, done_text = next((t, text) for t, text in lines if text.startswith("done in"))
    inside = float(done_text.split()[2])  # "done in 211.8 s": run_experiment's own wall time
    run.phases = {
        "Python start, imports": done_at - inside,
        "TensorFlow import, runtime setup": timings["startup"],
        "read CSV, splits": timings.get("read_dataset", 0.0),
        # "archive": the checks of the archive read in place (since issue 18); "extract": extracting it to disk
        "extract zip / check archive": timings.get("archive", timings.get("extract", 0.0)),
        "decode PNGs": timings["decode"],
        "build model": timings["build_model"],
        "epochs: training passes": sum(run.train_seconds),
        "epochs: end-of-epoch eval": sum(run.eval_seconds),
        "fit setup/teardown": timings["train"] - sum(run.train_seconds) - sum(run.eval_seconds),
        "evaluate (all splits)": timings["evaluate"],
        "predictions + artifacts": timings["write_artifacts"],
        "report": timings["report"],
        "cleanup + exit": wall - done_at,
    }
    return run


def run_plain(name: str, idx_dir: Path, rows_path: Path, epochs: int, workdir: Path, determinism: bool,
              seed: int) -> Run:
    command = [sys.executable, __file__, "--_plain", "--idx_dir", str(idx_dir), "--_rows", str(rows_path),
               "--epochs", str(epochs), "--seed", str(seed), "--_started", repr(time.time())]
    command += ["--_determinism"] if determinism else []
    lines, wall, rss, cpu = run_child(command, workdir / f"{name}.log", env={"TF_CPP_MIN_LOG_LEVEL": "3"})
    result = json.loads(next(text for _, text in lines if text.startswith("{")))
    run = Run(name, wall, rss, cpu, train_seconds=result["epoch_seconds"], train_images=result["train_images"],
              test_accuracy=result["test_accuracy"])
    run.phases = {"Python start, imports": result["start"], "TensorFlow import, runtime setup": result["startup"],
                  "read IDX arrays": result["load"],
                  "build model": result["build_model"], "epochs: training passes": sum(run.train_seconds),
                  "fit setup/teardown": result["fit"] - sum(run.train_seconds),
                  "evaluate (all splits)": result["evaluate"], "cleanup + exit": wall - result["end"]}
    return run


def run_decode(idx_dir: Path, data_dir: Path, workdir: Path, repeats: int, memory_size: int) -> dict:
    """Decode timings (repeated), then peak RSS of decoding upscaled images in memory vs into the cache."""
    command = [sys.executable, __file__, "--_decode", "--idx_dir", str(idx_dir), "--_data", str(data_dir),
               "--repeats", str(repeats), "--workdir", str(workdir)]
    lines, _, _, _ = run_child(command, workdir / "decode.log")
    result = json.loads(next(text for _, text in lines if text.startswith("{")))
    result["memory_probe"] = {}
    for mode in ("in_memory", "streamed"):
        command = [sys.executable, __file__, "--_memory", mode, "--_size", str(memory_size), "--idx_dir", str(idx_dir),
                   "--_data", str(data_dir), "--workdir", str(workdir)]
        lines, wall, rss, _ = run_child(command, workdir / f"memory-{mode}.log", env={"TF_CPP_MIN_LOG_LEVEL": "3"})
        probe = json.loads(next(text for _, text in lines if text.startswith("{")))
        result["memory_probe"][mode] = probe | {"peak_rss_mb": rss, "size": memory_size}
    start = time.perf_counter()
    shutil.rmtree(workdir / "extracted")
    result["delete_extracted"] = time.perf_counter() - start
    return result


# ---------------------------------------------------------------- the children's own work


def plain_keras_child(args) -> None:
    """Plain Keras on in-memory uint8 arrays; prints one JSON line of timings."""
    t0 = time.perf_counter()
    python_start = time.time() - args._started  # interpreter start and this script's imports
    import keras
    import tensorflow as tf
    from keras import layers

    from ludwig_mnist.data.mnist import load_mnist

    startup = time.perf_counter() - t0
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = load_mnist(args.idx_dir)
    rows = np.load(args._rows)
    x, y = x_train[rows][..., None], y_train[rows]  # (54001, 28, 28, 1) uint8, (54001,)
    load = time.perf_counter() - start
    keras.utils.set_random_seed(args.seed)
    if args._determinism:
        tf.config.experimental.enable_op_determinism()
    start = time.perf_counter()
    # The tutorial network, layer for layer as model.py builds it (Ludwig's order: dropout before pooling).
    model = keras.Sequential([
        keras.Input((28, 28, 1), dtype="uint8"), layers.Rescaling(1 / 255),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.Dropout(0.4), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.4),
        layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    build = time.perf_counter() - start
    epoch_seconds = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_seconds.append(time.perf_counter() - self.started)

    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=args.epochs, shuffle=True, verbose=0, callbacks=[EpochTimer()])
    fit = time.perf_counter() - start
    start = time.perf_counter()
    predicted = model.predict(x_test[..., None], batch_size=1024, verbose=0).argmax(axis=1)
    evaluate = time.perf_counter() - start
    print(json.dumps({"start": python_start, "startup": startup, "load": load, "build_model": build, "fit": fit,
                      "evaluate": evaluate,
                      "epoch_seconds": epoch_seconds, "train_images": len(y),
                      "test_accuracy": float((predicted == y_test).mean()),
                      "end": python_start + time.perf_counter() - t0}),
          flush=True)


def decode_child(args) -> None:
    """Extract once, then time decode_images (in memory) and decode_to_cache (streamed), as data/prepare.py calls them."""
    from ludwig_mnist.data.archive import extract_archive
    from ludwig_mnist.data.cache import decode_to_cache
    from ludwig_mnist.data.images import ImageSpec, decode_images
    from ludwig_mnist.data.locate import locate_images
    from ludwig_mnist.data.table import read_table
    from ludwig_mnist.runtime import granted_cpu_threads

    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="decode-") as scratch:
        start = time.perf_counter()
        extracted = extract_archive(args._data / "mnist_images.zip", args.workdir / "extracted")
        extract = time.perf_counter() - start
        paths = locate_images(extracted, list(read_table(args._data / "mnist_dataset.csv")["image_path"]))
        in_memory, streamed = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            decode_images(paths, ImageSpec(28, 28, 1), num_workers=granted_cpu_threads())
            in_memory.append(time.perf_counter() - start)
            start = time.perf_counter()
            decode_to_cache(paths, ImageSpec(28, 28, 1), Path(scratch) / "images.npy",
                            num_workers=granted_cpu_threads())
            streamed.append(time.perf_counter() - start)
    print(json.dumps({"images": len(paths), "extract": extract, "decode": in_memory, "decode_to_cache": streamed}),
          flush=True)


def memory_child(args) -> None:
    """Decode the extracted 70k PNGs upscaled to SIZE x SIZE, in memory or into the cache; peak RSS is the point.

    TensorFlow is imported first in both modes, as it is in a real run (training reads the cache through Keras anyway).
    """
    import keras  # noqa: F401  (the baseline memory of a run)

    from ludwig_mnist.data.archive import ExtractedArchive
    from ludwig_mnist.data.cache import decode_to_cache
    from ludwig_mnist.data.images import ImageSpec, decode_images
    from ludwig_mnist.data.locate import locate_images
    from ludwig_mnist.data.table import read_table
    from ludwig_mnist.runtime import granted_cpu_threads

    extracted = ExtractedArchive(args.workdir / "extracted", 0, 0, ())
    paths = locate_images(extracted, list(read_table(args._data / "mnist_dataset.csv")["image_path"]))
    spec = ImageSpec(args._size, args._size, 1)
    start = time.perf_counter()
    if args._memory == "in_memory":
        images, _ = decode_images(paths, spec, num_workers=granted_cpu_threads())
    else:
        images, _ = decode_to_cache(paths, spec, args.workdir / "memory-probe.npy", num_workers=granted_cpu_threads())
    seconds = time.perf_counter() - start
    checksum = int(np.asarray(images[::997]).sum())  # touch the result: rows read back from wherever they are
    (args.workdir / "memory-probe.npy").unlink(missing_ok=True)
    print(json.dumps({"mode": args._memory, "seconds": seconds, "decoded_mb": len(paths) * args._size ** 2 / 1e6,
                      "checksum": checksum}), flush=True)


# ---------------------------------------------------------------- setup and the table


def prepare_inputs(args) -> tuple[Path, dict[str, Path], Path]:
    """Cached dataset, one config per variant, and the rows our tool trains on (for plain Keras)."""
    import yaml

    from ludwig_mnist.config.load import load_config
    from ludwig_mnist.data.mnist import build_mnist_dataset
    from ludwig_mnist.data.splits import assign_splits
    from ludwig_mnist.data.table import build_vocabulary, read_table

    data_dir = args.workdir / "data"
    if not ((data_dir / "mnist_images.zip").is_file() and (data_dir / "mnist_dataset.csv").is_file()):
        start = time.perf_counter()
        build_mnist_dataset(data_dir, args.idx_dir, num_workers=os.cpu_count() or 1)
        print(f"built the tutorial dataset in {data_dir} in {time.perf_counter() - start:.0f} s", flush=True)
    raw = yaml.safe_load(TUTORIAL_CONFIG.read_text())
    raw["trainer"]["epochs"] = args.epochs
    configs = {}
    for name, in_memory in (("ours", True), ("streamed", False)):
        raw["input_features"][0].setdefault("preprocessing", {})["in_memory"] = in_memory
        configs[name] = args.workdir / f"config_{name}.yaml"
        configs[name].write_text(yaml.safe_dump(raw, sort_keys=False))
    # The same split as data.prepare_data: vocabulary order, fixed split, then the carved 10% validation.
    table = read_table(data_dir / "mnist_dataset.csv")
    labels = table["label"].str.strip()
    class_names, _ = build_vocabulary(labels)
    label_index = labels.map({name: i for i, name in enumerate(class_names)}).to_numpy()
    codes, _ = assign_splits(load_config(configs["ours"]), table, label_index, args.seed, "mnist_dataset.csv")
    train_paths = table["image_path"][codes == 0]
    rows = np.array([int(Path(p).stem) for p in train_paths])  # training/<label>/<IDX index>.png
    assert all(p.startswith("training/") for p in train_paths)
    rows_path = args.workdir / f"train_rows_seed{args.seed}.npy"
    np.save(rows_path, rows)
    return data_dir, configs, rows_path


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(runs: dict[str, list[Run]], decode: dict | None, epochs: int) -> dict:
    names = [name for name in ("ours", "streamed", "plain", "plain+det") if runs.get(name)]
    phase_names = list(dict.fromkeys(p for name in names for run in runs[name] for p in run.phases))
    width = 32
    print("\nmedians over", {name: len(runs[name]) for name in names}, "runs; seconds unless stated")
    print(f"{'phase':<{width}}" + "".join(f"{name:>14}" for name in names))

    def row(label: str, values: list[str]) -> None:
        print(f"{label:<{width}}" + "".join(f"{v:>14}" for v in values))

    for phase in phase_names:
        row(phase, [f"{median([r.phases[phase] for r in runs[n] if phase in r.phases]):.1f}"
                    if any(phase in r.phases for r in runs[n]) else "-" for n in names])
    for epoch in range(epochs):
        row(f"epoch {epoch + 1}: train pass",
            [f"{median([r.train_seconds[epoch] for r in runs[n]]):.1f}" for n in names])
        row(f"epoch {epoch + 1}: eval", [f"{median([r.eval_seconds[epoch] for r in runs[n]]):.1f}"
                                         if runs[n][0].eval_seconds else "-" for n in names])
    row("total wall", [f"{median([r.wall for r in runs[n]]):.1f}" for n in names])
    summary = {}
    for n in names:
        speeds = [s for r in runs[n] for s in r.images_per_second]
        summary[n] = {"images_per_second_median": median(speeds),
                      "images_per_second_after_epoch_1": median([s for r in runs[n] for s in r.images_per_second[1:]]),
                      "peak_rss_mb": median([r.peak_rss_mb for r in runs[n]]),
                      "test_accuracy": median([r.test_accuracy for r in runs[n]]),
                      "wall": median([r.wall for r in runs[n]]), "train_images": runs[n][0].train_images}
    row("train images per epoch", [f"{summary[n]['train_images']:,}" for n in names])
    row("img/s per epoch (median)", [f"{summary[n]['images_per_second_median']:,.0f}" for n in names])
    row("img/s epochs 2+ (median)", [f"{summary[n]['images_per_second_after_epoch_1']:,.0f}" for n in names])
    if "plain" in summary:
        base = summary["plain"]["images_per_second_median"]
        row("plain img/s ÷ this img/s", [f"{base / summary[n]['images_per_second_median']:.2f}x" for n in names])
    row("peak RSS (MB)", [f"{summary[n]['peak_rss_mb']:,.0f}" for n in names])
    row("test accuracy", [f"{summary[n]['test_accuracy']:.4f}" for n in names])
    if decode:
        print(f"\ndecode of {decode['images']:,} PNGs (after one extract of {decode['extract']:.1f} s): in memory "
              f"{', '.join(f'{s:.1f}' for s in decode['decode'])} s (median {median(decode['decode']):.1f}); "
              f"into the on-disk cache {', '.join(f'{s:.1f}' for s in decode['decode_to_cache'])} s "
              f"(median {median(decode['decode_to_cache']):.1f}); deleting the extracted files "
              f"{decode['delete_extracted']:.1f} s")
        probe = decode["memory_probe"]
        size = probe["in_memory"]["size"]
        print(f"decode upscaled to {size}x{size} ({probe['in_memory']['decoded_mb']:,.0f} MB of pixels), peak RSS with "
              f"TensorFlow loaded: in memory {probe['in_memory']['peak_rss_mb']:,.0f} MB "
              f"({probe['in_memory']['seconds']:.0f} s), into the cache {probe['streamed']['peak_rss_mb']:,.0f} MB "
              f"({probe['streamed']['seconds']:.0f} s)")
    print("\nImages/s count the training pass only (ours trains on the 54,001 rows left after carving 10% for "
          "validation; plain Keras is given the same rows); ratios > 1 mean slower than plain Keras.")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idx_dir", type=Path, required=True, help="directory of the four MNIST IDX files")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of the training runs (medians reported)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="--random_seed of ours; plain Keras uses it too, and trains on the rows it carves")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ludwig-mnist-benchmark")
    parser.add_argument("--memory_size", type=int, default=112,
                        help="decode probe: images upscaled to this size (112: 878 MB decoded) for peak RSS")
    parser.add_argument("--runs", default="ours,plain,plain+det,streamed,decode",
                        help="comma-separated subset of ours, plain, plain+det, streamed, decode")
    parser.add_argument("--_plain", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_determinism", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_rows", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_started", type=float, default=time.time(), help=argparse.SUPPRESS)
    parser.add_argument("--_decode", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_memory", choices=["in_memory", "streamed"], help=argparse.SUPPRESS)
    parser.add_argument("--_size", type=int, default=112, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._plain:
        return plain_keras_child(args)
    if args._decode:
        return decode_child(args)
    if args._memory:
        return memory_child(args)

    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    wanted = args.runs.split(",")
    data_dir, configs, rows_path = prepare_inputs(args)
    runs: dict[str, list[Run]] = {name: [] for name in wanted}
    for repeat in range(args.repeats):
        for name in wanted:
            label = f"{name}-{repeat + 1}"
            print(f"[{time.strftime('%H:%M:%S')}] {label} ...", flush=True)
            if name in ("ours", "streamed"):
                runs[name].append(run_ours(label, configs[name], data_dir, args.workdir, args.seed))
            elif name in ("plain", "plain+det"):
                runs[name].append(run_plain(label, args.idx_dir, rows_path, args.epochs, args.workdir,
                                            determinism=name == "plain+det", seed=args.seed))
            else:
                continue
            last = runs[name][-1]
            print(f"    {last.wall:.0f} s wall, {median(last.images_per_second):,.0f} img/s, peak RSS "
                  f"{last.peak_rss_mb:,.0f} MB, test accuracy {last.test_accuracy:.4f}", flush=True)
    decode = run_decode(args.idx_dir, data_dir, args.workdir, 3, args.memory_size) if "decode" in wanted else None
    summary = print_table(runs, decode, args.epochs)
    (args.workdir / "results.json").write_text(json.dumps(
        {"runs": {name: [asdict(r) for r in rs] for name, rs in runs.items()}, "decode": decode, "summary": summary,
         "cpu": cpu_model(), "cores": os.cpu_count()}, indent=1))
    print(f"\nall numbers: {args.workdir / 'results.json'}")


def cpu_model() -> str:
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown"


if __name__ == "__main__":
    main()
