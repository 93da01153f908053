"""Images read from the archive in place (data/members.py): extraction's refusals word for word, the same bytes
and pixels as extracted files, nothing written per image, threads, the pixel limit on members."""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import image_bytes
from synthetic import TINY_CONFIG, make_dataset

from ludwig_mnist.config.load import parse_config
from ludwig_mnist.data import images as images_module
from ludwig_mnist.data import members as members_module
from ludwig_mnist.data.archive import ArchiveLimits, ExtractedArchive, extract_archive
from ludwig_mnist.data.images import ImageSpec, decode_images
from ludwig_mnist.data.locate import locate_images
from ludwig_mnist.data.members import ArchiveMembers, open_archive
from ludwig_mnist.data.prepare import prepare_data
from ludwig_mnist.errors import ArchiveError, DataError
from ludwig_mnist.options import DataOptions

PNG = image_bytes((4, 4))


def _zip(path: Path, members: dict, compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as bundle:
        for name, data in members.items():
            if isinstance(data, zipfile.ZipInfo):
                bundle.writestr(data, b"/etc/passwd")
            else:
                info = zipfile.ZipInfo(name)  # keeps names that writestr would normalise
                info.compress_type = compression
                bundle.writestr(info, data)
    return path


def _tar(path: Path, members: dict, mode: str = "w") -> Path:
    with tarfile.open(path, mode) as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(data, bytes):
                info.size = len(data)
                bundle.addfile(info, io.BytesIO(data))
            else:  # ("type", tarfile.SYMTYPE): an entry without data
                info.type = data[1]
                info.linkname = "/etc/passwd"
                bundle.addfile(info)
    return path


def _symlink() -> zipfile.ZipInfo:
    link = zipfile.ZipInfo("img/passwd")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    return link


def _lying(path: Path) -> Path:
    """A stored member whose headers declare 10 bytes for 1,024."""
    _zip(path, {"a.bin": bytes(range(256)) * 4})
    data = bytearray(path.read_bytes())
    struct.pack_into("<II", data, data.index(b"PK\x03\x04") + 18, 10, 10)
    struct.pack_into("<II", data, data.index(b"PK\x01\x02") + 20, 10, 10)
    path.write_bytes(bytes(data))
    return path


HOSTILE = {  # name → (builder(tmp dir) → archive path, limits)
    "zip-slip": (lambda d: _zip(d / "a.zip", {"ok/a.png": PNG, "../evil.txt": b"x"}), ArchiveLimits()),
    "absolute": (lambda d: _zip(d / "a.zip", {"/abs/evil.png": PNG}), ArchiveLimits()),
    "duplicate": (lambda d: _zip(d / "a.zip", {"a.png": PNG, "./a.png": PNG}), ArchiveLimits()),
    "file and folder": (lambda d: _zip(d / "a.zip", {"a.png": PNG, "a.png/b.png": PNG}), ArchiveLimits()),
    "folder then file": (lambda d: _zip(d / "a.zip", {"x/b.png": PNG, "x": PNG}), ArchiveLimits()),
    "zip bomb": (lambda d: _zip(d / "a.zip", {"zeros.bin": bytes(20 * 1024**2)}, zipfile.ZIP_DEFLATED),
                 ArchiveLimits()),
    "tar.gz bomb": (lambda d: _tar(d / "a.tgz", {"zeros.bin": bytes(20 * 1024**2)}, "w:gz"), ArchiveLimits()),
    "total size": (lambda d: _zip(d / "a.zip", {f"{i}.png": PNG for i in range(5)}),
                   ArchiveLimits(max_total_bytes=100)),
    "member count": (lambda d: _zip(d / "a.zip", {f"{i}.png": PNG for i in range(5)}), ArchiveLimits(max_members=3)),
    "tar device": (lambda d: _tar(d / "a.tar", {"a.png": PNG, "fifo": ("type", tarfile.FIFOTYPE)}), ArchiveLimits()),
    "tar slip": (lambda d: _tar(d / "a.tar", {"../evil.png": PNG}), ArchiveLimits()),
    # a long name goes into a pax header, which keeps the NUL
    "tar NUL name": (lambda d: _tar(d / "a.tar", {"x" * 120 + "\x00b.png": PNG}, "w:gz"), ArchiveLimits()),
    "only links": (lambda d: _tar(d / "a.tar", {"l": ("type", tarfile.SYMTYPE)}), ArchiveLimits()),
    "truncated tar.gz": (lambda d: (d / "t.tgz").write_bytes(
        _tar(d / "full.tgz", {"a.png": PNG * 50}, "w:gz").read_bytes()[:-30]) and d / "t.tgz", ArchiveLimits()),
    "not an archive": (lambda d: (d / "a.zip").write_text("image_path,label\n") and d / "a.zip", ArchiveLimits()),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_in_place_refuses_with_the_extraction_message(tmp_path, case):
    build, limits = HOSTILE[case]
    archive = build(tmp_path)
    with pytest.raises(ArchiveError) as extracting:
        extract_archive(archive, tmp_path / "dest", limits)
    with pytest.raises(ArchiveError) as reading:
        opened = open_archive(archive, limits, spill_dir=tmp_path / "spill")
        for name in opened.names():
            opened.member(name).read_bytes()
    print(f"{case}: {reading.value}")
    assert str(reading.value) == str(extracting.value)
    assert not (tmp_path / "spill").exists()


def test_member_errors_are_those_of_extraction(tmp_path):
    """A CRC mismatch and a header that under-declares its data fail when the member is read, as when extracted."""
    crc = _zip(tmp_path / "crc.zip", {"a.png": PNG})
    data = bytearray(crc.read_bytes())
    data[data.index(PNG) + 20] ^= 0xFF
    crc.write_bytes(bytes(data))
    for archive in (crc, _lying(tmp_path / "liar.zip")):
        with pytest.raises(ArchiveError) as extracting:
            extract_archive(archive, tmp_path / f"dest-{archive.stem}")
        opened = open_archive(archive)
        with pytest.raises(ArchiveError) as reading:
            opened.member(opened.names()[0]).read_bytes()
        assert str(reading.value) == str(extracting.value), archive.name
    assert "crc.zip: entry 'a.png' is corrupt or truncated" in str(reading.value) or "liar.zip" in str(reading.value)


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz"])
def test_in_place_gives_extraction_files_notes_and_bytes(tmp_path, kind):
    files = {"imgs/a/0.png": PNG, "imgs/b/1.png": image_bytes((5, 3), seed=1), "__MACOSX/._x": b"meta"}
    if kind == "zip":
        archive = _zip(tmp_path / "x.zip", {**files, "img/passwd": _symlink()})
    else:
        archive = _tar(tmp_path / "x.tar", {**files, "imgs/passwd": ("type", tarfile.SYMTYPE)},
                       "w" if kind == "tar" else "w:gz")
    extracted = extract_archive(archive, tmp_path / "dest")
    opened = open_archive(archive, spill_dir=tmp_path / "spill")
    assert isinstance(opened, ArchiveMembers) and not (tmp_path / "spill").exists()
    assert opened.notes == extracted.notes and len(opened.notes) == 2 and "/etc/passwd" in opened.notes[0]
    assert sorted(opened.names()) == ["imgs/a/0.png", "imgs/b/1.png"] == sorted(
        p.relative_to(tmp_path / "dest").as_posix() for p in (tmp_path / "dest").rglob("*.png"))
    assert (opened.file_count, opened.total_bytes) == (extracted.file_count, extracted.total_bytes)
    assert opened.top_level() == [("imgs", True)]
    # a CSV's paths without the wrapping folder are found as in an extracted folder
    located = locate_images(opened, ["a/0.png", "b/1.png"])
    assert [m.read_bytes() for m in located] == [p.read_bytes() for p in locate_images(extracted, ["a/0.png",
                                                                                                   "b/1.png"])]
    with pytest.raises(DataError, match=r"1 of 1 image paths .* top level holds imgs/"):
        locate_images(opened, ["c/2.png"])
    opened.close()


def test_large_compressed_tar_is_extracted_to_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(members_module, "IN_MEMORY_STREAM_BYTES", 10)
    archive = _tar(tmp_path / "x.tgz", {"a/0.png": PNG}, "w:gz")
    opened = open_archive(archive, spill_dir=tmp_path / "spill")
    assert isinstance(opened, ExtractedArchive) and (tmp_path / "spill/a/0.png").read_bytes() == PNG


def test_members_decode_to_the_pixels_of_files_on_threads(tmp_path, monkeypatch):
    files = {f"i/{n}.png": image_bytes((6, 6), seed=n) for n in range(40)}
    archive = _zip(tmp_path / "x.zip", files, zipfile.ZIP_DEFLATED)
    extracted = extract_archive(archive, tmp_path / "dest")
    from_files, _ = decode_images(locate_images(extracted, list(files)), ImageSpec(6, 6, 1))
    monkeypatch.setattr(images_module, "PARALLEL_MIN_SECONDS_PER_IMAGE", 0.0)  # threads whatever the speed
    monkeypatch.setattr(images_module, "_MIN_CHUNK", 4)
    opened = open_archive(archive)
    from_members, counts = decode_images(locate_images(opened, list(files)), ImageSpec(6, 6, 1), num_workers=3)
    assert from_members.shape == (40, 6, 6, 1) and counts.images == 40
    np.testing.assert_array_equal(from_members, from_files)


def test_pixel_limit_and_non_images_in_members(tmp_path):
    archive = _zip(tmp_path / "x.zip", {"big.png": image_bytes((64, 64)), "t.png": b"just text\n"})
    opened = open_archive(archive)
    big, text = locate_images(opened, ["big.png", "t.png"])
    with pytest.raises(DataError, match=r"^big.png: image has 4,096 pixels, over the limit of 100 pixels"):
        decode_images([big], ImageSpec(8, 8, 1), sources=["big.png"], max_image_pixels=100)
    with pytest.raises(DataError, match=r"^t.png: is not an image, it is a text file$"):
        decode_images([text], ImageSpec(8, 8, 1), sources=["t.png"])


@pytest.mark.parametrize("in_memory", [True, False])
def test_prepare_writes_no_file_per_image(tmp_path, in_memory):
    csv_path, zip_path = make_dataset(tmp_path / "in", train_per_class=4, test_per_class=2, size=8)
    raw = yaml.safe_load(TINY_CONFIG)
    raw["input_features"][0]["preprocessing"] = {"in_memory": in_memory}
    lines = []
    work = tmp_path / "work"
    prepared = prepare_data(parse_config(raw), DataOptions(raw_data=zip_path, dataset=csv_path), work, seed=0,
                            log=lines.append)
    written = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    assert written == ([] if in_memory else ["images.npy"])
    assert any(line.startswith("archive: 18 files") and "read from it in place" in line for line in lines)
    with zipfile.ZipFile(zip_path) as bundle:  # the first test image, decoded from the zip by hand
        source = prepared.splits["test"].sources[0]
        expected = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(io.BytesIO(bundle.read(source))))
    np.testing.assert_array_equal(np.asarray(prepared.splits["test"].images[0])[..., 0], expected)
    assert os.listdir(tmp_path / "in") == os.listdir(tmp_path / "in")  # inputs untouched
