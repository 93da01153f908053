"""preprocessing.in_memory: false — the on-disk image cache, its batches, and a streamed experiment end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image
from synthetic import TINY_CONFIG, make_dataset, write_config

from ludwig_mnist.cli import main
from ludwig_mnist.data.cache import DiskImages, decode_to_cache
from ludwig_mnist.data.images import ImageSpec, decode_images
from ludwig_mnist.training.batches import ImageBatches


@pytest.fixture
def mixed_images(tmp_path):
    """23 PNGs of mixed sizes and modes, so decoding converts and resizes some of them (and notes it)."""
    rng = np.random.default_rng(3)
    paths = []
    for index in range(23):
        size = (12, 12) if index % 4 else (15, 9)  # every 4th image needs resizing
        pixels = rng.integers(0, 256, (*size, 3) if index % 5 == 0 else size, dtype=np.uint8)
        path = tmp_path / "images" / f"{index}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def test_streamed_decode_equals_in_memory_decode_pixels_and_notes(mixed_images, tmp_path):
    spec = ImageSpec(12, 12, 1)
    in_memory, memory_counts = decode_images(mixed_images, spec)
    memory_notes = memory_counts.notes()
    # 5 rows per chunk: the cache is written in 5 pieces, the last one short
    streamed, streamed_counts = decode_to_cache(mixed_images, spec, tmp_path / "cache.npy", chunk_bytes=5 * 12 * 12)
    streamed_notes = streamed_counts.notes()
    assert streamed_counts == memory_counts  # the chunks' counts add up to one decode's, as values
    assert isinstance(streamed, DiskImages) and streamed.shape == in_memory.shape == (23, 12, 12, 1)
    np.testing.assert_array_equal(np.asarray(streamed), in_memory)
    np.testing.assert_array_equal(np.load(tmp_path / "cache.npy", mmap_mode="r"), in_memory)  # a plain .npy
    assert streamed_notes == memory_notes
    assert any(note.startswith("resized 6 of 23 images") for note in streamed_notes)
    assert any(note.startswith("converted 5 images from RGB") for note in streamed_notes)


def test_disk_images_index_like_the_array(mixed_images, tmp_path):
    array, _ = decode_images(mixed_images, ImageSpec(12, 12, 1))
    disk, _ = decode_to_cache(mixed_images, ImageSpec(12, 12, 1), tmp_path / "cache.npy")
    np.testing.assert_array_equal(disk[3], array[3])
    np.testing.assert_array_equal(disk[-1], array[-1])
    view = disk[4:20]  # a view: nothing read yet
    assert isinstance(view, DiskImages) and len(view) == 16 and view.shape == (16, 12, 12, 1)
    np.testing.assert_array_equal(view[2:5][1], array[7])
    rows = np.array([15, 0, 3, 4, 5, 9])  # unordered, with a run of consecutive rows
    np.testing.assert_array_equal(view[rows], array[4:20][rows])
    np.testing.assert_array_equal(view[1::4], array[4:20][1::4])
    mask = np.arange(16) % 3 == 0
    np.testing.assert_array_equal(view[mask], array[4:20][mask])
    with pytest.raises(IndexError):
        view[16]


def test_take_is_a_view_in_any_row_order(mixed_images, tmp_path):
    from ludwig_mnist.data.cache import take_rows

    array, _ = decode_images(mixed_images, ImageSpec(12, 12, 1))
    disk, _ = decode_to_cache(mixed_images, ImageSpec(12, 12, 1), tmp_path / "cache.npy")
    rows = np.array([20, 2, 3, 4, 11])
    fold = take_rows(disk, rows)  # k-fold's folds: DiskImages views, nothing read into memory
    assert isinstance(fold, DiskImages) and fold.shape == (5, 12, 12, 1)
    np.testing.assert_array_equal(np.asarray(fold), array[rows])
    np.testing.assert_array_equal(fold[1:4][2], array[4])
    np.testing.assert_array_equal(fold.take(np.array([True, False, False, False, True]))[1], array[11])
    np.testing.assert_array_equal(take_rows(array, rows), array[rows])  # in memory: a plain copy


def test_batches_cover_every_row_once_per_epoch(mixed_images, tmp_path):
    disk, _ = decode_to_cache(mixed_images, ImageSpec(12, 12, 1), tmp_path / "cache.npy")
    array = np.asarray(disk)
    labels = np.arange(len(disk))  # label = row number, so a batch says which rows it holds
    batches = ImageBatches(disk, labels, batch_size=5, shuffle=True, seed=11)
    assert len(batches) == 5
    orders = []
    for _ in range(3):
        seen = []
        for index in range(len(batches)):
            x, y = batches[index]
            assert x.shape == (len(y), 12, 12, 1) and len(y) == (5 if index < 4 else 3)
            np.testing.assert_array_equal(x, array[y])  # pixels travel with their label
            seen.extend(y)
        assert sorted(seen) == list(range(len(disk)))  # every row exactly once
        orders.append(seen)
        batches.on_epoch_end()
    assert orders[0] != orders[1] != orders[2]  # reshuffled each epoch
    again = ImageBatches(disk, labels, batch_size=5, shuffle=True, seed=11)
    assert [int(v) for i in range(len(again)) for v in again[i][1]] == orders[0]  # same seed, same order

    in_order = ImageBatches(disk, None, batch_size=10)  # prediction: x only, row order
    np.testing.assert_array_equal(np.concatenate([in_order[i] for i in range(len(in_order))]), array)


def streamed_config(directory):
    raw = yaml.safe_load(TINY_CONFIG)
    raw["input_features"][0]["preprocessing"] = {"in_memory": False}
    return write_config(directory, yaml.safe_dump(raw))


def test_streamed_experiment_runs_end_to_end_and_is_reproducible(tmp_path, capsys):
    csv_path, zip_path = make_dataset(tmp_path / "inputs", train_per_class=20, test_per_class=5)
    config = streamed_config(tmp_path / "inputs")

    def run(out):
        return main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(zip_path),
                     "--output_directory", str(out), "--random_seed", "5"])

    assert run(tmp_path / "a") == 0
    assert "into an on-disk cache" in capsys.readouterr().out
    run_dir = tmp_path / "a/experiment_run"
    for name in ("test_statistics.json", "training_statistics.json", "predictions.csv", "model/model_weights"):
        assert (run_dir / name).is_file(), name
    assert not [p.name for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]  # cache removed with the work dir
    stats = json.loads((run_dir / "test_statistics.json").read_text())["label"]
    assert sum(map(sum, stats["confusion_matrix"])) == 15
    training = json.loads((run_dir / "training_statistics.json").read_text())
    assert len(training["validation"]["label"]["accuracy"]) == 2

    assert run(tmp_path / "b") == 0
    again = (tmp_path / "b/experiment_run/test_statistics.json").read_text()
    assert again == (run_dir / "test_statistics.json").read_text()  # same seed, same statistics
