"""Full disk: running out of space while extracting, writing the decode cache, or writing the results gives one
line naming the path and the figures, and leaves nothing half-written that looks like a result.

Each test runs on its own small tmpfs (needs root: `mount -t tmpfs`); the disk is filled at the phase under
test by a filler file written from the run's own log callback, so the phase is hit exactly.
"""

from __future__ import annotations

import io
import os
import tarfile
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest
import yaml
from synthetic import TINY_CONFIG, make_dataset, write_config

from ludwig_mnist.cli import main
from ludwig_mnist.data import members
from ludwig_mnist.config.load import parse_config
from ludwig_mnist.data.prepare import prepare_data
from ludwig_mnist.errors import OutputError
from ludwig_mnist.options import DataOptions, RunOptions

RESULT_NAMES = {"experiment_run", "ludwig_experiment_report.html", "metrics.tsv", "plots"}


@pytest.fixture
def small_disk(tmp_path):
    """A factory: small_disk(kib) mounts a fresh tmpfs of that size and returns its path (unmounted after)."""
    mounts = []

    def mount(kib: int) -> Path:
        point = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(point)], check=False,
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'}); the full-disk tests "
                        "need root or CAP_SYS_ADMIN")
        mounts.append(point)
        return point

    yield mount
    for point in mounts:
        subprocess.run(["umount", "-l", str(point)], check=False)


def fill(directory: Path) -> None:
    """Write a filler file into ``directory`` until the file system is full."""
    with open(directory / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


def results_left(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir()) if out.exists() else []


def test_full_disk_while_extracting(tmp_path, small_disk, capsys, monkeypatch):
    """Only a compressed tar too large for memory is extracted (data/members.py); here every tar.gz is."""
    csv_path, zip_path = make_dataset(tmp_path / "in")  # 48 PNGs: ~200 KiB on a tmpfs (a page per file)
    tar_path = tmp_path / "in" / "images.tgz"
    with zipfile.ZipFile(zip_path) as source, tarfile.open(tar_path, "w:gz") as bundle:
        for info in source.infolist():
            member = tarfile.TarInfo(info.filename)
            member.size = info.file_size
            bundle.addfile(member, io.BytesIO(source.read(info)))
    monkeypatch.setattr(members, "IN_MEMORY_STREAM_BYTES", 0)
    config = write_config(tmp_path / "in")
    out = small_disk(96) / "out"
    code = main(["experiment", "--config", str(config), "--dataset", str(csv_path), "--raw_data", str(tar_path),
                 "--output_directory", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    print(err[-1])
    assert code == 2 and len(err) == 1 and err[0].startswith("error: no space left on the device while writing ")
    assert str(out) in err[0] and "extracting images.tgz (48 files, 8,773 bytes of data) ran out of space" in err[0] and "bytes were free" in err[0]
    assert results_left(out) == []  # the staging and work areas were removed


def test_full_disk_before_the_decode_cache(tmp_path, small_disk):
    csv_path, zip_path = make_dataset(tmp_path / "in", train_per_class=40, size=16)
    raw = yaml.safe_load(TINY_CONFIG)
    raw["input_features"][0]["preprocessing"] = {"in_memory": False}
    disk = small_disk(1024)
    work = disk / "work"

    def log(line: str) -> None:
        if line.startswith("archive: "):
            fill(disk)  # the archive is read in place; now nothing is left for the cache

    with pytest.raises(OutputError) as raised:
        prepare_data(parse_config(raw), DataOptions(raw_data=zip_path, dataset=csv_path), work, seed=0, log=log)
    message = str(raised.value)
    print(message)
    # 132 images of 16x16x1 = 33,792 bytes
    assert message.startswith(f"no space left for the image cache {work / 'images.npy'}: 132 images of 16x16x1 "
                              "need 33,792 bytes, ")
    assert "in_memory: true" in message and "\n" not in message
    assert not (work / "images.npy").exists()


@pytest.mark.slow
def test_full_disk_while_writing_results(tmp_path, small_disk):
    from ludwig_mnist.pipelines.experiment import run_experiment

    csv_path, zip_path = make_dataset(tmp_path / "in")
    disk = small_disk(2048)
    out = disk / "out"

    def log(line: str) -> None:
        if line.startswith("training on "):
            fill(disk)  # the data stage fitted; the model, statistics and report will not

    options = RunOptions(data=DataOptions(raw_data=zip_path, dataset=csv_path), output_directory=out)
    with pytest.raises(OutputError) as raised:
        run_experiment(parse_config(yaml.safe_load(TINY_CONFIG)), options, log=log)
    message = str(raised.value)
    print(message)
    assert message.startswith("no space left on the device while writing ") and str(out) in message
    assert "writing the results" in message and "ran out of space" in message and "\n" not in message
    os.remove(disk / "filler")
    assert results_left(out) == [], "a half-written result was left"
