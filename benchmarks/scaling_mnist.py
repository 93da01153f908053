"""Cost against data size, decode from the archive, and the accelerator part of issue 18.

    .venv/bin/python benchmarks/scaling_mnist.py --idx_dir ../shared/data/mnist [--base 10000] [--factors 1,2,4]
                                                 [--epochs 1] [--workdir DIR] [--tutorial_zip DIR/data]

  scaling   the first BASE MNIST training images, repeated 1x, 2x, 4x under distinct names in one zip (+1,000
            test images), each trained by `ludwig-mnist experiment` (test-data/config.yaml, EPOCHS epochs) in
            memory and streamed (preprocessing.in_memory: false), each in a fresh process: wall, peak RSS (that
            child alone, os.wait4), training-pass seconds per image (median epoch after the first, which also
            traces the graphs)
  decode    the 70k PNGs of the tutorial zip (benchmarks/tutorial_mnist.py builds it) decoded straight from the
            zip, as data/prepare.py does: open_archive → locate_images → decode_images / decode_to_cache
  gpu       with a GPU (nvidia-smi finds one): the tutorial job's images/s, whole job and the device it names;
            without one, a line saying the part is skipped

The machine is shared, so read ratios within one run; results go to WORKDIR/scaling.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tutorial_mnist import EPOCH_LINE, TUTORIAL_CONFIG, run_child  # noqa: E402


def build_scaled(idx_dir: Path, base: int, factor: int, directory: Path) -> tuple[Path, Path]:
    """directory/images.zip + dataset.csv: base training images × factor (distinct names), 1,000 test images."""
    from PIL import Image

    from ludwig_mnist.data.mnist import load_mnist

    directory.mkdir(parents=True, exist_ok=True)
    zip_path, csv_path = directory / "images.zip", directory / "dataset.csv"
    if zip_path.is_file() and csv_path.is_file():
        return csv_path, zip_path
    x_train, y_train, x_test, y_test = load_mnist(idx_dir)

    def png(pixels: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(pixels, "L").save(buffer, "PNG")
        return buffer.getvalue()

    train = [png(x) for x in x_train[:base]]
    rows = ["image_path,label,split"]
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as bundle:
        for copy in range(factor):
            for i, data in enumerate(train):
                name = f"training/{y_train[i]}/{copy}_{i}.png"
                bundle.writestr(name, data)
                rows.append(f"{name},{y_train[i]},0")
        for i in range(1000):
            name = f"test/{y_test[i]}/{i}.png"
            bundle.writestr(name, png(x_test[i]))
            rows.append(f"{name},{y_test[i]},2")
    csv_path.write_text("\n".join(rows) + "\n")
    return csv_path, zip_path


def run_job(csv_path: Path, zip_path: Path, config: Path, out: Path, log: Path) -> dict:
    command = [str(Path(sys.executable).parent / "ludwig-mnist"), "experiment", "--config", str(config),
               "--dataset", str(csv_path), "--raw_data", str(zip_path), "--output_directory", str(out)]
    lines, wall, rss, cpu = run_child(command, log)
    description = json.loads((out / "experiment_run" / "description.json").read_text())
    train_seconds = [float(m.group(2)) for _, text in lines if (m := EPOCH_LINE.search(text))]
    images = description["data"]["split_counts"]["training"]
    shutil.rmtree(out)
    steady = train_seconds[1:] or train_seconds  # epoch 1 also traces the graphs: a fixed cost, not per image
    return {"wall": wall, "peak_rss_mb": rss, "cpu_seconds": cpu, "train_images": images,
            "train_seconds": train_seconds, "ms_per_train_image": 1000 * float(np.median(steady)) / images,
            "decode": description["timings_seconds"].get("decode"), "device": description.get("environment", {})}


def decode_child(zip_dir: Path) -> None:
    from ludwig_mnist.data.cache import decode_to_cache
    from ludwig_mnist.data.images import ImageSpec, decode_images
    from ludwig_mnist.data.locate import locate_images
    from ludwig_mnist.data.members import open_archive
    from ludwig_mnist.data.table import read_table
    from ludwig_mnist.runtime import granted_cpu_threads

    sources = list(read_table(zip_dir / "mnist_dataset.csv")["image_path"])
    result = {}
    for mode in ("in_memory", "streamed"):
        start, cpu_start = time.perf_counter(), time.process_time()
        opened = open_archive(zip_dir / "mnist_images.zip")
        members = locate_images(opened, sources)
        checked, cpu_checked = time.perf_counter() - start, time.process_time() - cpu_start
        with tempfile.TemporaryDirectory() as scratch:
            if mode == "in_memory":
                pixels, _ = decode_images(members, ImageSpec(28, 28, 1), num_workers=granted_cpu_threads())
            else:
                pixels, _ = decode_to_cache(members, ImageSpec(28, 28, 1), Path(scratch) / "images.npy",
                                            num_workers=granted_cpu_threads())
            result[mode] = {"check_and_locate": checked, "decode": time.perf_counter() - start - checked,
                            "check_and_locate_cpu": cpu_checked,
                            "decode_cpu": time.process_time() - cpu_start - cpu_checked,
                            "images": len(members), "checksum": int(np.asarray(pixels[::997]).sum())}
        opened.close()
    print(json.dumps(result), flush=True)


def gpu_present() -> str | None:
    if not shutil.which("nvidia-smi"):
        return None
    done = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idx_dir", type=Path, required=True)
    parser.add_argument("--base", type=int, default=10_000)
    parser.add_argument("--factors", default="1,2,4")
    parser.add_argument("--epochs", type=int, default=2, help="per image: the median epoch after the first")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ludwig-mnist-scaling")
    parser.add_argument("--tutorial_zip", type=Path, help="folder of mnist_images.zip + mnist_dataset.csv (70k)")
    parser.add_argument("--parts", default="scaling,decode,gpu")
    parser.add_argument("--_decode", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._decode:
        return decode_child(args._decode)
    import yaml

    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    parts = args.parts.split(",")
    results: dict = {}
    if "scaling" in parts:
        raw = yaml.safe_load(TUTORIAL_CONFIG.read_text())
        raw["trainer"]["epochs"] = args.epochs
        configs = {}
        for mode, in_memory in (("in memory", True), ("streamed", False)):
            raw["input_features"][0].setdefault("preprocessing", {})["in_memory"] = in_memory
            configs[mode] = workdir / f"config_{in_memory}.yaml"
            configs[mode].write_text(yaml.safe_dump(raw, sort_keys=False))
        results["scaling"] = {}
        for factor in map(int, args.factors.split(",")):
            csv_path, zip_path = build_scaled(args.idx_dir, args.base, factor, workdir / f"x{factor}")
            for mode, config in configs.items():
                print(f"[{time.strftime('%H:%M:%S')}] {factor}x {mode} ...", flush=True)
                run = run_job(csv_path, zip_path, config, workdir / "out", workdir / f"x{factor}-{mode[:2]}.log")
                results["scaling"][f"{factor}x {mode}"] = run
                print(f"    {run['train_images']:,} training images: {run['wall']:.0f} s wall, "
                      f"{run['ms_per_train_image']:.3f} ms per training image, peak RSS {run['peak_rss_mb']:,.0f} MB",
                      flush=True)
        print(f"\n{'run':<16}{'train images':>14}{'wall s':>9}{'ms/img':>9}{'vs 1x':>8}{'peak RSS MB':>13}{'vs 1x':>8}")
        for key, run in results["scaling"].items():
            one = results["scaling"][f"1x {key.split(' ', 1)[1]}"]
            print(f"{key:<16}{run['train_images']:>14,}{run['wall']:>9.0f}{run['ms_per_train_image']:>9.3f}"
                  f"{run['ms_per_train_image'] / one['ms_per_train_image']:>8.2f}{run['peak_rss_mb']:>13,.0f}"
                  f"{run['peak_rss_mb'] / one['peak_rss_mb']:>8.2f}")
    if "decode" in parts and args.tutorial_zip:
        lines, _, rss, _ = run_child([sys.executable, __file__, "--idx_dir", str(args.idx_dir), "--_decode",
                                      str(args.tutorial_zip)], workdir / "decode.log")
        results["decode"] = json.loads(next(text for _, text in lines if text.startswith("{"))) | {"peak_rss_mb": rss}
        for mode in ("in_memory", "streamed"):
            d = results["decode"][mode]
            print(f"decode of {d['images']:,} PNGs straight from the zip ({mode}): archive checked and paths located "
                  f"in {d['check_and_locate']:.1f} s ({d['check_and_locate_cpu']:.1f} s CPU), decoded in "
                  f"{d['decode']:.1f} s ({d['decode_cpu']:.1f} s CPU)")
    if "gpu" in parts:
        name = gpu_present()
        if name is None:
            print("GPU: skipped: no GPU on this machine (nvidia-smi finds none); CPU figures only")
            results["gpu"] = None
        elif args.tutorial_zip:
            run = run_job(args.tutorial_zip / "mnist_dataset.csv", args.tutorial_zip / "mnist_images.zip",
                          TUTORIAL_CONFIG, workdir / "out", workdir / "gpu.log")
            results["gpu"] = run | {"gpu": name}
            print(f"GPU {name}: whole job {run['wall']:.0f} s, "
                  f"{1000 / run['ms_per_train_image']:,.0f} training images/s, device named by the run: "
                  f"{run['device'].get('device', '?')}")
    (workdir / "scaling.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
