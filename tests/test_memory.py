"""Memory within what Galaxy grants: with GALAXY_MEMORY_MB (or a cgroup limit) too small for the decoded images,
the data stage streams them from the on-disk cache on its own and says so, with the figures; the pixels are
the same as decoded in memory."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from synthetic import TINY_CONFIG, make_dataset

from ludwig_mnist import runtime
from ludwig_mnist.config.load import parse_config
from ludwig_mnist.data.cache import DiskImages
from ludwig_mnist.data.prepare import prepare_data
from ludwig_mnist.options import DataOptions


@pytest.fixture
def dataset(tmp_path):
    # 132 images of 64x64x1 = 540,672 decoded bytes: more than half of 1 MiB, less than half of 2 MiB
    return make_dataset(tmp_path / "in", train_per_class=40, size=64)


def prepare(tmp_path, dataset, notes):
    csv_path, zip_path = dataset
    return prepare_data(parse_config(yaml.safe_load(TINY_CONFIG)), DataOptions(raw_data=zip_path, dataset=csv_path),
                        tmp_path / "work", seed=0, log=notes.append)


@pytest.mark.parametrize("granted_mb, streamed", [(1, True), (2, False), (None, False)])
def test_decoded_images_larger_than_the_grant_are_streamed(tmp_path, dataset, monkeypatch, granted_mb, streamed):
    monkeypatch.setattr(runtime, "_cgroup_paths", ())  # only GALAXY_MEMORY_MB decides, whatever the machine
    if granted_mb is None:
        monkeypatch.delenv("GALAXY_MEMORY_MB", raising=False)
    else:
        monkeypatch.setenv("GALAXY_MEMORY_MB", str(granted_mb))
    notes: list[str] = []
    data = prepare(tmp_path, dataset, notes)
    images = data.splits["training"].images
    assert isinstance(images, DiskImages) == streamed
    message = ("note: the decoded images need 0.5 MiB, more than half of the 1 MiB this job may use "
               "(GALAXY_MEMORY_MB=1); they were decoded into the on-disk cache and are streamed from it, "
               "as with in_memory: false")
    assert (message in notes) == streamed, notes
    if streamed:
        monkeypatch.delenv("GALAXY_MEMORY_MB")
        in_memory = prepare(tmp_path / "again", dataset, [])
        for name, split in data.splits.items():
            assert np.array_equal(np.asarray(split.images), in_memory.splits[name].images)
            assert np.array_equal(split.labels, in_memory.splits[name].labels)


def test_granted_memory_reads_galaxy_then_the_cgroup(tmp_path, monkeypatch):
    limit = tmp_path / "memory.max"
    monkeypatch.setattr(runtime, "_cgroup_paths", (str(tmp_path / "absent"), str(limit)))
    monkeypatch.setenv("GALAXY_MEMORY_MB", "3000")
    assert runtime.granted_memory() == (3000 * 2**20, "GALAXY_MEMORY_MB=3000")
    monkeypatch.setenv("GALAXY_MEMORY_MB", "lots")  # not a number: the cgroup decides
    limit.write_text("max\n")
    assert runtime.granted_memory() is None
    limit.write_text("1073741824\n")
    assert runtime.granted_memory() == (2**30, f"the cgroup limit in {limit}")
