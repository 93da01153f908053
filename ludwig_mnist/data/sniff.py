"""What a file really is, from its magic bytes: Galaxy hands archives over as ``dataset_123.dat``."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zlib
from pathlib import Path

from ..errors import ArchiveError

_COMPRESSORS = {b"\x1f\x8b": ("gzip", gzip.open), b"BZh": ("bzip2", bz2.open), b"\xfd7zXZ\x00": ("xz", lzma.open)}
_TAR_OF = {"gzip": "tar.gz", "bzip2": "tar.bz2", "xz": "tar.xz"}
# Magic prefix -> name, for files that extract_archive does not read.
_OTHER_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "PNG image", b"\xff\xd8\xff": "JPEG image", b"GIF8": "GIF image",
    b"II*\x00": "TIFF image", b"MM\x00*": "TIFF image", b"%PDF": "PDF", b"7z\xbc\xaf\x27\x1c": "7z",
    b"Rar!\x1a\x07": "RAR", b"\x28\xb5\x2f\xfd": "zstd", b"\x89HDF\r\n\x1a\n": "HDF5 file",
}
_PHRASES = {
    "text": "a text file", "empty file": "an empty file", "unknown binary": "an unknown binary file",
    "gzip": "a gzip-compressed file", "bzip2": "a bzip2-compressed file", "xz": "an xz-compressed file",
    "zstd": "a zstd-compressed file", "7z": "a 7z archive", "RAR": "a RAR archive",
}


def describe_format(found: str) -> str:
    """A ``sniff_format`` result as a phrase for messages: "a PNG image", "an empty file"."""
    return _PHRASES.get(found, f"a {found}")


def _is_tar_header(block: bytes) -> bool:
    """True if a 512-byte block is a tar header (ustar magic, or a valid v7 checksum)."""
    if len(block) < 512:
        return False
    if block[257:262] == b"ustar":
        return True
    try:
        stored = int(block[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    return stored in tarfile.calc_chksums(block[:512])


def sniff_format(path: Path | str | bytes) -> str:
    """Name the format of a file (or of an archive member's bytes) from its first bytes.

    Returns "zip", "tar", "tar.gz", "tar.bz2" or "tar.xz" for what
    ``extract_archive`` reads, otherwise a human name such as "gzip",
    "PNG image", "JPEG image", "PDF", "7z", "RAR", "text", "empty file" or
    "unknown binary".
    """
    if isinstance(path, bytes):
        head, path = path[:1024], io.BytesIO(path)  # the openers below take a file object too
    else:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    if not head:
        return "empty file"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    for magic, (compression, opener) in _COMPRESSORS.items():
        if head.startswith(magic):
            try:
                with opener(path, "rb") as stream:
                    inner = stream.read(512)
            except (OSError, EOFError, lzma.LZMAError, zlib.error):
                return compression  # corrupt or truncated stream: name the wrapper only
            return _TAR_OF[compression] if _is_tar_header(inner) else compression
    if _is_tar_header(head[:512]):
        return "tar"
    for magic, name in _OTHER_MAGIC.items():
        if head.startswith(magic):
            return name
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text"
        except UnicodeDecodeError as error:
            if error.start >= len(head) - 3:  # a character cut by the 1024-byte window
                return "text"
    return "unknown binary"


def not_an_archive(archive: Path, found: str, display_name: str) -> ArchiveError:
    message = f"{display_name}: is {describe_format(found)}, not a zip or tar archive"
    if found == "text":
        with open(archive, "rb") as handle:
            first_line = handle.read(200).decode("utf-8", "replace").splitlines()[0][:60]
        message += f" (it starts with {first_line!r}; was the CSV given as the image archive?)"
    elif found.endswith("image"):
        message += "; put the images into a zip, e.g. `zip -r images.zip folder/`"
    elif found in ("7z", "RAR", "zstd", "gzip", "bzip2", "xz"):
        message += "; re-pack the images as .zip or .tar.gz"
    return ArchiveError(message)


def checked_format(archive: Path, display_name: str) -> str:
    """'zip' or 'tar…' from the magic bytes; anything else is refused with what it is."""
    if not archive.is_file():
        raise ArchiveError(f"{display_name}: archive file not found")
    found = sniff_format(archive)
    if found != "zip" and not found.startswith("tar"):
        raise not_an_archive(archive, found, display_name)
    return found
