"""Generated archives through extract_archive and locate_images: truncated, wrong magic, nested archives,
duplicate members, member names with NUL, backslashes, drive letters, absolute paths and unicode
normalisation twins.  Every archive extracts inside its destination or is refused with one line."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

from generated import check_refusal, generated, good_members
from hypothesis import event, given
from hypothesis import strategies as st

from ludwig_mnist.data.archive import ArchiveLimits, extract_archive
from ludwig_mnist.data.locate import locate_images
from ludwig_mnist.data.members import open_archive
from ludwig_mnist.errors import UserInputError

HOSTILE_NAMES = ["a\x00b.png", "img\\a\\0.png", "C:\\x.png", "C:x.png", "/abs.png", "//server/share.png",
                 "../up.png", "img/../../up.png", "./img/a/0.png", "é.png", "e\u0301.png", "img/", "img//x.png",
                 "", ".", "con.png", "x" * 300 + ".png", "img/a/0.png", "img/a/0.png/child.png", "\u202egnp.x",
                 "img\n0.png", "dir/../dir/x.png"]
name = st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(min_size=1, max_size=20))
MEMBERS = good_members(per_class=2)


def nested_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as inner:
        inner.writestr("img/a/0.png", MEMBERS["img/a/0.png"])
    return buffer.getvalue()


@st.composite
def archives(draw) -> tuple[bytes, str]:
    """(archive bytes, kind): the good members plus generated hostile entries, as zip or tar, maybe damaged."""
    entries = list(MEMBERS.items())
    for _ in range(draw(st.integers(0, 3))):
        payload = draw(st.sampled_from([b"x", MEMBERS["img/a/0.png"], nested_zip(), b""]))
        entries.insert(draw(st.integers(0, len(entries))), (draw(name), payload))
    kind = draw(st.sampled_from(["zip", "zip", "tar", "tar.gz"]))
    buffer = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w", draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))) as out:
            for member, data in entries:
                info = zipfile.ZipInfo(member)  # ZipInfo keeps names that writestr would normalise
                out.writestr(info, data)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz" if kind == "tar.gz" else "w") as out:
            for member, data in entries:
                info = tarfile.TarInfo(member)
                info.size = len(data)
                out.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    damage = draw(st.sampled_from(["none", "none", "truncate", "magic", "flip"]))
    if damage == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif damage == "magic":
        data = draw(st.sampled_from([b"\x89PNG", b"PK\x05\x06", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"Rar!"])) + data[4:]
    elif damage == "flip":
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]
    return data, f"{kind}/{damage}"


def inside(root: Path, top: Path) -> bool:
    return os.path.realpath(root).startswith(os.path.realpath(top) + os.sep) or Path(root) == top


@generated(max_examples=200)
@given(archive=archives())
def test_generated_archives_extract_inside_or_refuse(tmp_path_factory, archive):
    data, kind = archive
    top = tmp_path_factory.mktemp("archive")
    (top / "images.zip").write_bytes(data)
    dest = top / "out" / "raw_data"
    try:
        extracted = extract_archive(top / "images.zip", dest, ArchiveLimits())
        located = locate_images(extracted, sorted(MEMBERS))
    except UserInputError as err:
        message = check_refusal(err, "images.zip", "image paths in the CSV", "CSV line")
        event(f"{kind}: refused: {message[12:52]}")
    else:
        event(f"{kind}: accepted")
        if kind != "tar/flip":  # a plain tar has no checksum over member data; zip and gzip have CRCs
            assert [p.read_bytes() for p in located] == [MEMBERS[m] for m in sorted(MEMBERS)]
    # Accepted or refused, nothing exists outside the destination but the archive itself.
    for path in top.rglob("*"):
        assert path == top / "images.zip" or path in (top / "out",) or inside(path, dest), path
        assert not path.is_symlink(), path


def _read_in_place(path: Path) -> dict[str, bytes]:
    """{relative path: bytes} of every file, read from the archive in place, in archive order."""
    members = open_archive(path, ArchiveLimits(), spill_dir=path.parent / "spill")
    try:
        return {name: members.member(name).read_bytes() for name in members.names()}
    finally:
        members.close()


def _extracted_files(path: Path, dest: Path) -> dict[str, bytes]:
    extract_archive(path, dest, ArchiveLimits())
    return {p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*") if p.is_file()}


@generated(max_examples=150)
@given(archive=archives())
def test_reading_in_place_accepts_and_refuses_as_extraction_does(tmp_path_factory, archive):
    """The same generated archives read in place (data/members.py): refused with extraction's very message, or
    the same files with the same bytes; nothing is written for a zip or a tar."""
    data, kind = archive
    top = tmp_path_factory.mktemp("in-place")
    (top / "images.zip").write_bytes(data)
    try:
        extracted, refusal = _extracted_files(top / "images.zip", top / "raw_data"), None
    except UserInputError as err:
        extracted, refusal = None, str(err)
    try:
        in_place, in_place_refusal = _read_in_place(top / "images.zip"), None
    except UserInputError as err:
        in_place, in_place_refusal = None, str(err)
    event(f"{kind}: {'refused' if refusal else 'accepted'}")
    if refusal and "cannot be created on this file system" in refusal:
        refusal = None  # a name too long for the disk: nothing is created in place, so nothing fails
    assert in_place_refusal == refusal
    if extracted is not None:
        assert in_place == extracted
    assert not (top / "spill").exists()  # small archives are never extracted
