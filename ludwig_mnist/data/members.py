"""The raw-data archive read in place: images are read from its members into memory, no file is written.

    zip            a member is read when its image is decoded: one os.pread of a stored or deflated member (CRC
                   checked), zipfile for anything else, so that a damaged member fails as in extraction
    tar            a member's bytes are read at their offset in the file (os.pread)
    tar.gz/bz2/xz  a compressed stream has no random access, so the members are read once, in stream order,
                   into memory when they declare at most IN_MEMORY_STREAM_BYTES; larger ones are extracted to
                   disk as before (archive.extract_archive), the one case that still writes a file per image

Every entry first passes archive.py's pass 1 (path escapes, links, devices, NUL names, duplicates, member
count, total size, compression ratio), with the same messages.  Reading a member refuses more bytes than its
header declares and counts them against the size limit, as extraction does; a name that is both a file and a
folder is refused as extraction refuses it.  Pillow's pixel limit applies when the bytes are decoded (images.py).
"""

from __future__ import annotations

import os
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable

from ..errors import ArchiveError
from .archive import (
    ArchiveJob,
    ArchiveLimits,
    ExtractedArchive,
    checked_format,
    extract_archive,
    open_zip,
    plan_tar,
    plan_zip,
    read_to_end,
    tar_errors,
    zip_link_note,
    zip_member_errors,
)

# Compressed tars up to this many declared bytes are held in memory (full MNIST as PNG: ~20 MB); the decoded
# pixels of such an archive take more memory than its PNG bytes anyway.
IN_MEMORY_STREAM_BYTES = 512 * 1024**2


class Member:
    """One image of the archive: ``read_bytes()`` gives its bytes (what Path.read_bytes gives for a file)."""

    __slots__ = ("archive", "key", "name")

    def __init__(self, archive: "ArchiveMembers", key, name: str):
        self.archive, self.key, self.name = archive, key, name

    def read_bytes(self) -> bytes:
        return self.archive.read(self.key)

    def __str__(self) -> str:
        return f"{self.archive.display_name}:{self.name}"

    __repr__ = __str__


class ArchiveMembers:
    """The checked files of an archive by relative POSIX path, read on demand; stands where ExtractedArchive stood."""

    def __init__(self, display_name: str, job: ArchiveJob, files: dict[str, object], dirs: set[str],
                 read: Callable[[object], bytes], close: Callable[[], None] = lambda: None):
        self.display_name = display_name
        self._files, self._dirs, self._read, self._close = files, dirs, read, close
        self.file_count = len(files)
        self.total_bytes = job.declared_total
        self.notes = job.notes(self.file_count)

    def read(self, key) -> bytes:
        return self._read(key)

    def member(self, relative: str) -> Member | None:
        key = self._files.get(relative)
        return None if key is None else Member(self, key, relative)

    def names(self) -> list[str]:
        """Every file, as a relative POSIX path, in archive order."""
        return list(self._files)

    def folders(self) -> set[str]:
        """Every folder: named by an entry, or implied by the path of a file."""
        return set(self._dirs)

    def top_level(self) -> list[tuple[str, bool]]:
        """(name, is a folder) of the entries at the archive's root."""
        tops: dict[str, bool] = {}
        for name in self._files:
            head, _, rest = name.partition("/")
            tops[head] = tops.get(head, False) or bool(rest)
        for name in self._dirs:
            tops[name.partition("/")[0]] = True
        return sorted(tops.items())

    def close(self) -> None:
        self._close()


def _tree(job: ArchiveJob, entries: list[tuple[tuple[str, ...], str, object]]) -> tuple[dict[str, object], set[str]]:
    """(files by relative path, folders) of (parts, entry name, key or None for a folder) in archive order.

    A path that is both a file and a folder fails where extraction fails: at the later of the two entries."""
    files: dict[str, object] = {}
    file_parts: set[tuple[str, ...]] = set()
    folders: set[tuple[str, ...]] = set()
    for parts, entry_name, key in entries:
        # A folder already seen had its own prefixes checked (70k MNIST files share 20 folders).
        above = [] if parts[:-1] in folders else [parts[:i] for i in range(1, len(parts))]
        if any(prefix in file_parts for prefix in above) or (key is not None and parts in folders) or (
                key is None and parts in file_parts):
            raise ArchiveError(f"{job.display_name}: entry {entry_name!r} is both a file and a folder in the archive")
        folders.update(above)
        if key is None:
            folders.add(parts)
        else:
            file_parts.add(parts)
            files["/".join(parts)] = key
    return files, {"/".join(parts) for parts in folders}


def _read_zip(archive: Path, job: ArchiveJob) -> ArchiveMembers:
    bundle = open_zip(archive, job.display_name)
    try:
        plan = plan_zip(bundle, archive, job)
        entries = []
        for info, parts, kind in plan:
            if kind == "symlink":
                with zip_member_errors(job.display_name, info):
                    job.links.append(zip_link_note(bundle, info))
            elif parts:
                entries.append((parts, info.filename, info if kind == "file" else None))
        files, dirs = _tree(job, entries)
    except BaseException:
        bundle.close()
        raise

    descriptor = os.open(archive, os.O_RDONLY)

    def read(info: zipfile.ZipInfo) -> bytes:
        data = _read_zip_member(descriptor, info)
        if data is not None:
            job.count(len(data))
            return data
        # Anything unusual (a damaged member, a lying header, encryption, another compression): zipfile reads it
        # and fails with extraction's very message.
        with zip_member_errors(job.display_name, info), bundle.open(info) as source:
            return b"".join(job.chunks(source, info.file_size, info.filename))

    def close() -> None:
        os.close(descriptor)
        bundle.close()

    return ArchiveMembers(job.display_name, job, files, dirs, read, close)


_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, then the name and extra field lengths (30 bytes in all)


def _read_zip_member(descriptor: int, info: zipfile.ZipInfo) -> bytes | None:
    """A stored or deflated member's bytes with one pread (zipfile.open costs 6x more per MNIST image), or None
    where anything is off: then zipfile reads the member and words the error.  Refuses nothing by itself."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None
    wanted = _LOCAL_HEADER.size + len(info.orig_filename.encode()) + len(info.extra) + 64 + info.compress_size
    raw = os.pread(descriptor, wanted, info.header_offset)
    if len(raw) < _LOCAL_HEADER.size:
        return None
    signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(raw)
    start = _LOCAL_HEADER.size + name_length + extra_length
    if signature != b"PK\x03\x04":
        return None
    if start + info.compress_size > len(raw):
        raw = os.pread(descriptor, start + info.compress_size, info.header_offset)
    data = raw[start:start + info.compress_size]
    if len(data) != info.compress_size:
        return None
    if info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(data, info.file_size + 1)  # never more than the header declares (+1 to see it)
        except zlib.error:
            return None
        if not inflater.eof:
            return None
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        return None
    return data


def _read_tar(archive: Path, job: ArchiveJob, compressed: bool) -> ArchiveMembers | None:
    """Plain tar: offsets into the file; compressed: the bytes in memory; None: too large for memory."""
    with tar_errors(job.display_name), tarfile.open(archive, "r:*") as bundle:
        plan = plan_tar(bundle, archive, job)
        in_stream = compressed or any(member.issparse() for member, _ in plan)  # sparse data is not contiguous
        if in_stream and job.declared_total > IN_MEMORY_STREAM_BYTES:
            return None
        entries = []
        for member, parts in plan:
            if member.isdir():
                entries.append((parts, member.name, None))
            elif in_stream:
                with bundle.extractfile(member) as source:
                    entries.append((parts, member.name, b"".join(job.chunks(source, member.size, member.name))))
            else:
                entries.append((parts, member.name, (member.offset_data, member.size, member.name)))
        if in_stream:
            read_to_end(bundle, job)  # gzip's CRC and length check
    files, dirs = _tree(job, entries)
    if in_stream:
        return ArchiveMembers(job.display_name, job, files, dirs, lambda data: data)
    descriptor = os.open(archive, os.O_RDONLY)

    def read(key: tuple[int, int, str]) -> bytes:
        offset, size, name = key
        data = os.pread(descriptor, size, offset)
        if len(data) != size:
            raise ArchiveError(f"{job.display_name}: is a damaged or truncated tar archive (entry {name!r} "
                               f"ends after {len(data):,} of {size:,} bytes)")
        return data

    return ArchiveMembers(job.display_name, job, files, dirs, read, lambda: os.close(descriptor))


def open_archive(archive: Path, limits: ArchiveLimits = ArchiveLimits(), display_name: str | None = None,
                 spill_dir: Path | None = None) -> ArchiveMembers | ExtractedArchive:
    """The archive's checked files, read in place; a compressed tar over IN_MEMORY_STREAM_BYTES is extracted to
    ``spill_dir`` instead (an ExtractedArchive).  Refusals are archive.py's, word for word."""
    archive = Path(archive)
    display_name = display_name or archive.name
    found = checked_format(archive, display_name)
    job = ArchiveJob(Path(spill_dir or "."), display_name, limits)
    if found == "zip":
        return _read_zip(archive, job)
    members = _read_tar(archive, job, compressed=found != "tar")
    if members is None:
        if spill_dir is None:
            raise ArchiveError(f"{display_name}: a compressed tar of {job.declared_total:,} bytes cannot be read in "
                               "memory here; re-pack it as .zip or plain .tar")
        return extract_archive(archive, spill_dir, limits, display_name)
    return members

