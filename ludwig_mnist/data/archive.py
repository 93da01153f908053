"""Safe extraction of the raw-data archive (zip or tar) that holds the images.

Galaxy hands us the archive as ``dataset_123.dat``, so the format is sniffed
from magic bytes, never from the extension (sniff.py).  Every entry is checked *before*
anything is written: path escapes (zip-slip), links, device files, member count,
total size and compression ratio (zip bombs).  While extracting, bytes are
counted as they are written, so a header that under-declares a member's size
cannot smuggle more data past the limits.  Links are never created or followed.

Pass 1 (plan_zip, plan_tar: the checks) is shared with members.py, which reads the images from the
members in place; pass 2 here writes them under dest, for the archives that must be on disk.
"""

from __future__ import annotations

import errno
import io
import lzma
import stat
import tarfile
import threading
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import ArchiveError, UserInputError, disk_full, one_line, shown, write_failed
from ..wording import listed, plural
from .paths import UnsafePath, safe_parts
from .sniff import checked_format

DEFAULT_MAX_ARCHIVE_BYTES = 4 * 1024**3  # 4 GiB uncompressed; full MNIST as PNG is ~20 MB
DEFAULT_MAX_MEMBERS = 1_000_000  # full MNIST has 70,000
DEFAULT_MAX_RATIO = 200.0  # PNG/JPEG barely compress (~1:1); bombs reach 1000:1 and more

# Command-line flags that raise each limit, named in the error messages.
MAX_BYTES_FLAG = "--max_archive_bytes"
MAX_MEMBERS_FLAG = "--max_archive_members"
MAX_RATIO_FLAG = "--max_archive_ratio"

# Below this many uncompressed bytes a ratio says nothing: a 10 KB black bitmap
# deflates 300:1 yet cannot hurt anyone.  Bombs are big by definition.
RATIO_CHECK_MIN_BYTES = 1024**2

_COPY_CHUNK = 1024**2


@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES  # total uncompressed size
    max_members: int = DEFAULT_MAX_MEMBERS  # entries of any kind, folders included
    max_ratio: float = DEFAULT_MAX_RATIO  # uncompressed/compressed, whole archive and per member


@dataclass(frozen=True)
class ExtractedArchive:
    root: Path  # directory that CSV image paths are relative to
    file_count: int
    total_bytes: int
    notes: tuple[str, ...]  # e.g. "skipped 1 link entry (...): foo -> /etc/passwd"


# ---------------------------------------------------------------------------
# Checks shared by zip and tar


def _safe_parts(name: str, display_name: str) -> tuple[str, ...]:
    """Split an entry name into path components, refusing anything that could escape dest."""
    try:
        return safe_parts(name, allow_empty=True)
    except UnsafePath as unsafe:
        if unsafe.reason == "absolute":
            raise ArchiveError(f"{display_name}: entry {name!r} has an absolute path; refusing to extract") from None
        raise ArchiveError(
            f"{display_name}: entry {name!r} contains '..' and would be written outside "
            "the extraction folder (zip-slip); refusing to extract"
        ) from None


def _is_macos_metadata(parts: tuple[str, ...]) -> bool:
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1].startswith("._") or parts[-1] == ".DS_Store")


def _over_limit(what: str, flag: str) -> ArchiveError:
    return ArchiveError(f"{what}; raise the limit with {flag} if the archive is genuine")


def _over_total(display_name: str, limits: "ArchiveLimits") -> ArchiveError:
    return _over_limit(f"{display_name}: unpacks to more than {limits.max_total_bytes:,} bytes", MAX_BYTES_FLAG)


def _check_ratio(label: str, uncompressed: int, compressed: int, limits: ArchiveLimits) -> None:
    if uncompressed >= RATIO_CHECK_MIN_BYTES and uncompressed > limits.max_ratio * max(compressed, 1):
        raise _over_limit(
            f"{label} unpacks to {uncompressed:,} bytes from {compressed:,}, a ratio over the limit "
            f"of {limits.max_ratio:g}:1 (a possible zip bomb)",
            MAX_RATIO_FLAG,
        )


def _check_totals(display_name: str, members: int, total: int, compressed: int, limits: ArchiveLimits) -> None:
    if members > limits.max_members:
        raise _over_limit(f"{display_name}: has more than {limits.max_members:,} entries", MAX_MEMBERS_FLAG)
    if total > limits.max_total_bytes:
        raise _over_total(display_name, limits)
    _check_ratio(display_name + ":", total, compressed, limits)


class ArchiveJob:
    """Checks entries, writes them under dest (or counts the bytes read in place) and keeps the counts and notes."""

    def __init__(self, dest: Path, display_name: str, limits: ArchiveLimits) -> None:
        self.dest = dest
        self.display_name = display_name
        self.limits = limits
        self.written_total = 0
        self.file_count = 0
        self.links: list[str] = []
        self.metadata_skipped = 0
        self.made_dirs: set[Path] = set()  # saves a mkdir call per file: 70k files share 20 folders
        self.declared_total = 0  # uncompressed bytes the headers declare (pass 1), for a full disk's message
        self.planned: set[tuple[str, ...]] = set()  # file paths seen in pass 1 (duplicates are refused)
        self.lock = threading.Lock()

    def copy(self, source: BinaryIO, parts: tuple[str, ...], declared_size: int, entry_name: str) -> None:
        """Stream one member to dest/parts, refusing more bytes than its header declared.

        Read errors propagate unchanged (each format maps its own); write errors
        become OutputError so that a full disk is not blamed on the archive.
        """
        target = self.dest.joinpath(*parts)
        try:
            self._copy(source, target, declared_size, entry_name)
        except OSError as error:  # buffered bytes that no longer fit surface when the file is closed
            if not disk_full(error):
                raise
            raise self._write_failed(target, error, entry_name) from None
        self.file_count += 1

    def chunks(self, source: BinaryIO, declared_size: int, entry_name: str) -> Iterator[bytes]:
        """The member's bytes, refusing more than its header declared or more than the total limit."""
        read = 0
        while chunk := source.read(_COPY_CHUNK):
            read += len(chunk)
            with self.lock:  # decode threads read members at once
                self.written_total += len(chunk)
                total = self.written_total
            if read > declared_size:
                raise ArchiveError(
                    f"{self.display_name}: entry {entry_name!r} holds more data than its header "
                    f"declares ({declared_size:,} bytes); the archive is corrupt or malicious"
                )
            if total > self.limits.max_total_bytes:
                raise _over_total(self.display_name, self.limits)
            yield chunk

    def count(self, size: int) -> None:
        """Bytes read in place without chunks(): pass 1 capped the declared sizes, their sum only is checked here."""
        with self.lock:
            self.written_total += size
            if self.written_total > self.limits.max_total_bytes:
                raise _over_total(self.display_name, self.limits)

    def _copy(self, source: BinaryIO, target: Path, declared_size: int, entry_name: str) -> None:
        with self._open_target(target, entry_name) as out:
            for chunk in self.chunks(source, declared_size, entry_name):
                try:
                    out.write(chunk)
                except OSError as error:
                    raise self._write_failed(target, error, entry_name) from None

    def _open_target(self, target: Path, entry_name: str) -> BinaryIO:
        try:
            if target.parent not in self.made_dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                self.made_dirs.add(target.parent)
            return open(target, "wb")
        except (NotADirectoryError, IsADirectoryError, FileExistsError):
            raise self._clash(entry_name) from None
        except OSError as error:
            raise self._write_failed(target, error, entry_name) from None

    def make_dir(self, parts: tuple[str, ...], entry_name: str) -> None:
        try:
            self.dest.joinpath(*parts).mkdir(parents=True, exist_ok=True)
        except (NotADirectoryError, FileExistsError):
            raise self._clash(entry_name) from None
        except OSError as error:
            raise self._write_failed(self.dest.joinpath(*parts), error, entry_name) from None

    def _write_failed(self, target: Path, error: OSError, entry_name: str) -> UserInputError:
        """A name this file system cannot hold is the archive's problem; a full disk or a read-only one is not."""
        if error.errno in (errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL):
            return ArchiveError(f"{self.display_name}: entry {shown(entry_name)} cannot be created on this file "
                                f"system ({error.strerror}); rename it in the archive")
        # Declared bytes, not blocks: small files take a whole block each, so the disk may need more than this.
        what = (f"extracting {self.display_name} ({plural(len(self.planned), 'file')}, "
                f"{self.declared_total:,} bytes of data)")
        return write_failed(target, error, None, what)

    def check_unique(self, parts: tuple[str, ...], entry_name: str) -> None:
        """Refuse a second file entry of the same path: which copy wins is the tool's choice, not the user's."""
        if parts in self.planned:
            raise ArchiveError(f"{self.display_name}: entry {entry_name!r} appears twice in the archive (which copy "
                               "is meant is ambiguous); re-create the archive with each file once")
        self.planned.add(parts)

    def _clash(self, entry_name: str) -> ArchiveError:
        return ArchiveError(f"{self.display_name}: entry {entry_name!r} is both a file and a folder in the archive")

    def notes(self, file_count: int) -> tuple[str, ...]:
        """What was skipped, as notes; an archive without a single usable file is refused."""
        if file_count == 0:
            raise ArchiveError(f"{self.display_name}: the archive contains no files")
        notes = []
        if self.links:
            notes.append(f"skipped {plural(len(self.links), 'link entry', 'link entries')} "
                         f"(links are never created): {listed(self.links)}")
        if self.metadata_skipped:
            notes.append(f"skipped {plural(self.metadata_skipped, 'macOS metadata entry', 'macOS metadata entries')} "
                         "(__MACOSX/, ._*, .DS_Store)")
        return tuple(notes)

    def result(self) -> ExtractedArchive:
        notes = self.notes(self.file_count)
        return ExtractedArchive(self.dest, self.file_count, self.written_total, notes)


# ---------------------------------------------------------------------------
# zip


def _zip_kind(info: zipfile.ZipInfo) -> str:
    """'dir', 'file', 'symlink' or 'special', from the unix mode in external_attr (if any)."""
    mode = info.external_attr >> 16
    if info.filename.endswith("/") or stat.S_ISDIR(mode):  # not is_dir(): it raises IndexError on an empty name
        return "dir"
    if not stat.S_IFMT(mode) or stat.S_ISREG(mode):  # no unix mode (Windows tools) means a file
        return "file"
    return "symlink" if stat.S_ISLNK(mode) else "special"


def open_zip(archive: Path, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ArchiveError(f"{name}: is not a readable zip archive ({one_line(error)})") from None


def plan_zip(bundle: zipfile.ZipFile, archive: Path,
             job: ArchiveJob) -> list[tuple[zipfile.ZipInfo, tuple[str, ...], str]]:
    """Pass 1: check every entry before a single byte is read; (info, path parts, kind) of the entries to use."""
    name = job.display_name
    infos = bundle.infolist()
    plan: list[tuple[zipfile.ZipInfo, tuple[str, ...], str]] = []
    total = 0
    for info in infos:
        if "\x00" in info.orig_filename:  # zipfile cuts the name at the NUL: the file would land elsewhere
            raise ArchiveError(f"{name}: entry {shown(info.orig_filename)} has a NUL character in its name; "
                               "refusing to extract")
        parts, kind = _safe_parts(info.filename, name), _zip_kind(info)
        if kind == "special":
            raise ArchiveError(f"{name}: entry {info.filename!r} is a device or pipe, not a file")
        if _is_macos_metadata(parts):
            job.metadata_skipped += 1
            continue
        if kind == "file" and not parts:
            raise ArchiveError(f"{name}: entry {info.filename!r} is a file without a name; refusing to extract")
        if kind == "file":
            job.check_unique(parts, info.filename)
            total += info.file_size
            _check_ratio(f"{name}: entry {info.filename!r}", info.file_size, info.compress_size, job.limits)
        plan.append((info, parts, kind))
    _check_totals(name, len(infos), total, archive.stat().st_size, job.limits)
    job.declared_total = total
    return plan


@contextmanager
def zip_member_errors(name: str, info: zipfile.ZipInfo) -> Iterator[None]:
    """A member that cannot be read → one ArchiveError line naming it."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, lzma.LZMAError) as error:
        raise ArchiveError(f"{name}: entry {info.filename!r} is corrupt or truncated ({one_line(error)})") from None
    except (NotImplementedError, RuntimeError) as error:  # unsupported compression; encrypted
        raise ArchiveError(
            f"{name}: entry {info.filename!r} cannot be read ({one_line(error)}); "
            "re-create the zip with standard Deflate and no password"
        ) from None


def zip_link_note(bundle: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    """"name -> target" of a symlink entry: its target is read, never followed or created."""
    with bundle.open(info) as source:
        return f"{info.filename} -> {source.read(4096).decode('utf-8', 'replace')}"


def _extract_zip(archive: Path, job: ArchiveJob) -> None:
    name = job.display_name
    with open_zip(archive, name) as bundle:
        plan = plan_zip(bundle, archive, job)
        # Pass 2: stream regular files; read link targets without creating links.
        for info, parts, kind in plan:
            if kind == "dir":
                if parts:
                    job.make_dir(parts, info.filename)
                continue
            with zip_member_errors(name, info):
                if kind == "symlink":
                    job.links.append(zip_link_note(bundle, info))
                else:
                    with bundle.open(info) as source:
                        job.copy(source, parts, info.file_size, info.filename)


# ---------------------------------------------------------------------------
# tar


def _checked_tar_members(bundle: tarfile.TarFile, job: ArchiveJob, compressed: int) -> Iterator[tarfile.TarInfo]:
    """Yield members, enforcing the limits as the headers stream by.

    Checking incrementally stops a tar bomb after at most the limit's worth of
    decompression, instead of after reading the whole stream.
    """
    count = total = 0
    for member in bundle:
        count += 1
        total += member.size if member.isreg() else 0
        _check_totals(job.display_name, count, total, compressed, job.limits)
        yield member


def read_to_end(bundle: tarfile.TarFile, job: ArchiveJob) -> None:
    """Read a compressed tar's stream to its end, so that gzip's CRC and length check runs.

    tarfile stops reading after the last member, so a flipped byte in a .tar.gz otherwise extracts silently
    as damaged pixels.  The tail counts against the size limit (a bomb can hide there too).
    """
    stream = bundle.fileobj
    if not hasattr(stream, "read") or isinstance(stream, (io.BufferedReader, io.FileIO)):
        return  # an uncompressed tar: no checksum to verify
    tail = 0  # the tar's end blocks and padding (10 KiB usually): read, never written, not in total_bytes
    while chunk := stream.read(_COPY_CHUNK):
        tail += len(chunk)
        if job.written_total + tail > job.limits.max_total_bytes:
            raise _over_total(job.display_name, job.limits)


def plan_tar(bundle: tarfile.TarFile, archive: Path,
             job: ArchiveJob) -> list[tuple[tarfile.TarInfo, tuple[str, ...]]]:
    """Pass 1: headers only (data blocks are skipped); (member, path parts) of the files and folders to use."""
    name = job.display_name
    plan: list[tuple[tarfile.TarInfo, tuple[str, ...]]] = []
    for member in _checked_tar_members(bundle, job, archive.stat().st_size):
        if "\x00" in member.name:  # a pax header keeps the NUL that open() would refuse with a ValueError
            raise ArchiveError(f"{name}: entry {shown(member.name)} has a NUL character in its name; "
                               "refusing to extract")
        parts = _safe_parts(member.name, name)
        if member.ischr() or member.isblk() or member.isfifo():
            raise ArchiveError(f"{name}: entry {member.name!r} is a device or pipe, not a file")
        if member.issym() or member.islnk():
            job.links.append(f"{member.name} -> {member.linkname}")
        elif _is_macos_metadata(parts):
            job.metadata_skipped += 1
        elif (member.isreg() or member.isdir()) and parts:
            if member.isreg():
                job.check_unique(parts, member.name)
            plan.append((member, parts))
    job.declared_total = sum(member.size for member, _ in plan if member.isreg())
    return plan


@contextmanager
def tar_errors(name: str) -> Iterator[None]:
    try:
        yield
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as error:
        # OutputError/ArchiveError are not OSErrors, so they pass through untouched.
        raise ArchiveError(f"{name}: is a damaged or truncated tar archive ({one_line(error)})") from None


def _extract_tar(archive: Path, job: ArchiveJob) -> None:
    with tar_errors(job.display_name), tarfile.open(archive, "r:*") as bundle:
        plan = plan_tar(bundle, archive, job)
        # Pass 2: stream the regular files.
        for member, parts in plan:
            if member.isdir():
                job.make_dir(parts, member.name)
                continue
            with bundle.extractfile(member) as source:
                job.copy(source, parts, member.size, member.name)
        read_to_end(bundle, job)


# ---------------------------------------------------------------------------
# Public entry points


def extract_archive(
    archive: Path, dest: Path, limits: ArchiveLimits = ArchiveLimits(), display_name: str | None = None
) -> ExtractedArchive:
    """Extract a zip or (compressed) tar archive into ``dest`` safely.

    ``display_name`` is how errors name the archive (defaults to the file name).
    Unsafe entries and limits raise ArchiveError before anything is written.
    """
    archive, dest = Path(archive), Path(dest)
    display_name = display_name or archive.name
    found = checked_format(archive, display_name)
    dest.mkdir(parents=True, exist_ok=True)
    job = ArchiveJob(dest, display_name, limits)
    if found == "zip":
        _extract_zip(archive, job)
    else:
        _extract_tar(archive, job)
    return job.result()
