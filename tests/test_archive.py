"""Safe extraction: zip-slip, links, bombs, lying headers, format sniffing, image location."""

from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import image_bytes

from ludwig_mnist.data.archive import ArchiveLimits, ExtractedArchive, extract_archive
from ludwig_mnist.data.locate import locate_images
from ludwig_mnist.data.sniff import sniff_format
from ludwig_mnist.errors import ArchiveError, DataError

PNG = image_bytes((4, 4))


def _listing(directory: Path) -> set[str]:
    return {str(path.relative_to(directory)) for path in directory.rglob("*")}


# ---------------------------------------------------------------------------
# Unsafe entries


@pytest.mark.parametrize("evil", ["../evil.txt", "/abs/evil.txt", "ok/../../evil.txt", "C:/evil.txt", "..\\evil.txt"])
def test_path_escape_refused_and_nothing_written(tmp_path, make_zip, evil):
    archive = make_zip("in/images.zip", {"good/a.png": PNG, evil: b"pwned"})
    work = tmp_path / "work"
    work.mkdir()
    before = _listing(tmp_path)
    with pytest.raises(ArchiveError, match="images.zip") as raised:
        extract_archive(archive, work / "dest")
    assert repr(evil) in str(raised.value)
    # Nothing at all was written: not the good entry, not the evil one anywhere.
    assert _listing(tmp_path) - before <= {"work/dest"}
    assert not list(tmp_path.rglob("evil.txt"))


def test_zip_symlink_entry_skipped_with_note(tmp_path):
    archive = tmp_path / "links.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("images/a.png", PNG)
        link = zipfile.ZipInfo("images/passwd")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(link, "/etc/passwd")
    extracted = extract_archive(archive, tmp_path / "dest")
    assert extracted.file_count == 1
    assert not os.path.lexists(tmp_path / "dest/images/passwd")
    assert any("images/passwd -> /etc/passwd" in note for note in extracted.notes)


def test_tar_links_skipped_and_devices_refused(tmp_path):
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as bundle:
        info = tarfile.TarInfo("a.png")
        info.size = len(PNG)
        bundle.addfile(info, io.BytesIO(PNG))
        for name, kind in (("sym", tarfile.SYMTYPE), ("hard", tarfile.LNKTYPE)):
            link = tarfile.TarInfo(name)
            link.type, link.linkname = kind, "/etc/passwd"
            bundle.addfile(link)
    extracted = extract_archive(archive, tmp_path / "dest")
    assert _listing(tmp_path / "dest") == {"a.png"}
    assert "sym -> /etc/passwd" in extracted.notes[0] and "hard -> /etc/passwd" in extracted.notes[0]

    fifo_archive = tmp_path / "fifo.tar"
    with tarfile.open(fifo_archive, "w") as bundle:
        fifo = tarfile.TarInfo("pipe")
        fifo.type = tarfile.FIFOTYPE
        bundle.addfile(fifo)
    with pytest.raises(ArchiveError, match="'pipe' is a device or pipe"):
        extract_archive(fifo_archive, tmp_path / "dest2")


# ---------------------------------------------------------------------------
# Limits


def test_zip_bomb_refused_before_extraction(tmp_path, make_zip):
    archive = make_zip("bomb.zip", {"zeros.bin": bytes(20 * 1024**2)}, zipfile.ZIP_DEFLATED)
    assert archive.stat().st_size < 100_000  # really a bomb: ~1000:1
    with pytest.raises(ArchiveError) as raised:
        extract_archive(archive, tmp_path / "dest")
    message = str(raised.value)
    assert message.startswith("bomb.zip: entry 'zeros.bin' unpacks to 20,971,520 bytes")
    assert "200:1" in message and "--max_archive_ratio" in message
    assert not (tmp_path / "dest/zeros.bin").exists()


def test_total_size_and_member_limits_name_the_flag(tmp_path, make_zip):
    archive = make_zip("big.zip", {f"{i}.png": PNG for i in range(5)})
    with pytest.raises(ArchiveError, match=r"more than 100 bytes.*--max_archive_bytes"):
        extract_archive(archive, tmp_path / "a", ArchiveLimits(max_total_bytes=100))
    with pytest.raises(ArchiveError, match=r"more than 3 entries.*--max_archive_members"):
        extract_archive(archive, tmp_path / "b", ArchiveLimits(max_members=3))
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())


def test_tar_gz_bomb_refused(tmp_path):
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz") as bundle:
        info = tarfile.TarInfo("zeros.bin")
        info.size = 20 * 1024**2
        bundle.addfile(info, io.BytesIO(bytes(info.size)))
    with pytest.raises(ArchiveError, match="ratio over the limit"):
        extract_archive(archive, tmp_path / "dest")


def _lie_about_size(archive: Path, name: bytes, declared: int) -> None:
    """Rewrite a stored member's sizes in both the local and the central header."""
    data = bytearray(archive.read_bytes())
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<II", data, local + 18, declared, declared)  # compressed, uncompressed
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<II", data, central + 20, declared, declared)
    assert name in data
    archive.write_bytes(bytes(data))


def test_lying_zip_header_cannot_bypass_limits(tmp_path, make_zip):
    archive = make_zip("liar.zip", {"a.bin": bytes(range(256)) * 4})
    _lie_about_size(archive, b"a.bin", 10)
    with pytest.raises(ArchiveError, match="liar.zip: entry 'a.bin'"):
        extract_archive(archive, tmp_path / "dest")
    # Never more than the declared 10 bytes reached the disk.
    assert sum(path.stat().st_size for path in (tmp_path / "dest").rglob("*")) <= 10


def test_corrupt_zip_entry_named(tmp_path, make_zip):
    archive = make_zip("crc.zip", {"a.png": PNG})
    data = bytearray(archive.read_bytes())
    data[data.index(PNG) + 20] ^= 0xFF  # flip a byte of the stored data: CRC mismatch
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=r"crc\.zip: entry 'a\.png' is corrupt"):
        extract_archive(archive, tmp_path / "dest")


# ---------------------------------------------------------------------------
# Formats


@pytest.mark.parametrize(
    "content, found, phrase",
    [
        (PNG, "PNG image", "a PNG image"),
        (b"image_path,label,split\ntraining/0/1.png,0,0\n", "text", "a text file"),
        (gzip.compress(b"just some text\n"), "gzip", "a gzip-compressed file"),
        (b"", "empty file", "an empty file"),
        (b"%PDF-1.4 ...", "PDF", "a PDF"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "7z", "a 7z archive"),
        (bytes([0, 1, 2, 200, 201]) * 10, "unknown binary", "an unknown binary file"),
    ],
)
def test_not_an_archive_named_by_format(tmp_path, content, found, phrase):
    path = tmp_path / "dataset_123.dat"
    path.write_bytes(content)
    assert sniff_format(path) == found
    with pytest.raises(ArchiveError, match=f"^dataset_123.dat: is {phrase}, not a zip or tar archive"):
        extract_archive(path, tmp_path / "dest")


def test_csv_given_as_archive_gets_a_hint(tmp_path):
    path = tmp_path / "dataset_7.dat"
    path.write_text("image_path,label,split\n")
    with pytest.raises(ArchiveError, match="was the CSV given as the image archive"):
        extract_archive(path, tmp_path / "dest")


@pytest.mark.parametrize("mode, found", [("w", "tar"), ("w:gz", "tar.gz"), ("w:bz2", "tar.bz2"), ("w:xz", "tar.xz")])
def test_tar_formats_extract(tmp_path, mode, found):
    archive = tmp_path / "dataset_9.dat"  # Galaxy's name: the extension says nothing
    with tarfile.open(archive, mode) as bundle:
        for name in ("imgs/0/a.png", "imgs/1/b.png"):
            info = tarfile.TarInfo(name)
            info.size = len(PNG)
            bundle.addfile(info, io.BytesIO(PNG))
    assert sniff_format(archive) == found
    extracted = extract_archive(archive, tmp_path / "dest")
    assert extracted.file_count == 2 and extracted.total_bytes == 2 * len(PNG)
    assert (tmp_path / "dest/imgs/1/b.png").read_bytes() == PNG


def test_empty_zip_refused(tmp_path, make_zip):
    archive = make_zip("empty.zip", {})
    assert sniff_format(archive) == "zip"
    with pytest.raises(ArchiveError, match="empty.zip: the archive contains no files"):
        extract_archive(archive, tmp_path / "dest")


def test_macos_metadata_skipped_with_note(tmp_path, make_zip):
    archive = make_zip("mac.zip", {"a.png": PNG, "__MACOSX/._a.png": b"x", "._b.png": b"x"})
    extracted = extract_archive(archive, tmp_path / "dest")
    assert _listing(tmp_path / "dest") == {"a.png"}
    assert "skipped 2 macOS metadata entries" in extracted.notes[0]


def test_non_ascii_and_space_names(tmp_path, make_zip):
    names = ["chiffres/zéro 0.png", "数字/一.png", "with space/a b.png"]
    archive = make_zip("names.zip", {name: PNG for name in names})
    extracted = extract_archive(archive, tmp_path / "dest")
    located = locate_images(extracted, names)
    assert [path.read_bytes() for path in located] == [PNG] * 3


# ---------------------------------------------------------------------------
# locate_images


def test_decomposed_unicode_names_match_composed_csv_paths(tmp_path, make_zip):
    archive = make_zip("mac.zip", {"e\u0301te\u0301/a.png": PNG})  # "été" decomposed, as macOS writes it
    extracted = extract_archive(archive, tmp_path / "dest")
    (located,) = locate_images(extracted, ["\u00e9t\u00e9/a.png"])  # composed, as typed in a CSV
    assert located.read_bytes() == PNG


def _extracted(root: Path, files: list[str]) -> ExtractedArchive:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(PNG)
    return ExtractedArchive(root, len(files), len(files) * len(PNG), ())


def test_locate_images_through_wrapping_top_folder(tmp_path):
    extracted = _extracted(tmp_path, ["mnist_images/training/0/1.png", "mnist_images/test/7/2.png"])
    located = locate_images(extracted, ["training/0/1.png", "test\\7\\2.png", "mnist_images/test/7/2.png"])
    assert located == [
        tmp_path / "mnist_images/training/0/1.png",
        tmp_path / "mnist_images/test/7/2.png",
        tmp_path / "mnist_images/test/7/2.png",
    ]


def test_missing_images_listed_with_lines_and_count(tmp_path):
    extracted = _extracted(tmp_path, ["training/0/1.png"])
    paths = ["training/0/1.png"] + [f"training/0/missing{i}.png" for i in range(7)]
    with pytest.raises(DataError) as raised:
        locate_images(extracted, paths)
    message = str(raised.value)
    assert message.startswith("7 of 8 image paths in the CSV are not in the archive")
    assert "line 3: 'training/0/missing0.png'" in message and "line 7: 'training/0/missing4.png'" in message
    assert "missing5" not in message  # only the first five are quoted


@pytest.mark.parametrize("bad", ["../secret.png", "training/../../secret.png", "/etc/passwd", "C:\\x.png"])
def test_csv_path_escaping_root_refused(tmp_path, bad):
    (tmp_path / "secret.png").write_bytes(PNG)  # exists outside root: must still be refused
    extracted = _extracted(tmp_path / "root", ["a.png"])
    with pytest.raises(DataError, match=r"CSV line 3: image path .* (outside|absolute)"):
        locate_images(extracted, ["a.png", bad])
