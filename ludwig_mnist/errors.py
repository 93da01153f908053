"""User-facing errors.

Every problem caused by the user's input (config, CSV, archive, images, model
directory, output directory) is raised as a subclass of ``UserInputError``.
The CLI prints ``error: <message>`` as one line and exits with status 2.
Anything else is a bug: the CLI prints the traceback and exits with status 1.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path


class UserInputError(Exception):
    """Bad input that the user can fix; the message names the culprit."""


class ConfigError(UserInputError):
    """The YAML config is invalid (bad YAML, unknown key, wrong type, bad value)."""


class ArchiveError(UserInputError):
    """The raw-data archive is unreadable, unsafe or over a limit."""


class DataError(UserInputError):
    """The dataset CSV or the images it references are unusable."""


class ModelError(UserInputError):
    """A saved model directory is incomplete or from an incompatible version."""


class OutputError(UserInputError):
    """The output directory cannot be written."""


def one_line(text: object, limit: int = 200) -> str:
    """``text`` (a library's exception, a user's value) as one line of at most ``limit`` characters, for messages.

    Library errors can span lines (tarfile lists every method it tried) and table cells can hold 100 kB;
    the CLI's contract is one ``error:`` line.
    """
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def shown(value: str, limit: int = 80) -> str:
    """A user's value quoted for a message (repr, so control characters are visible), clipped to ``limit``."""
    quoted = repr(value)
    return quoted if len(quoted) <= limit else quoted[: limit - 2] + "…" + quoted[-1]


def _existing(path) -> Path:
    """The nearest existing folder of ``path`` (whose free space a message can report)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disk_full(error: BaseException) -> bool:
    """ENOSPC/EDQUOT, also when a library (h5py) reports it only in its message."""
    return isinstance(error, OSError) and (error.errno in (errno.ENOSPC, errno.EDQUOT)
                                           or "No space left on device" in str(error))


def write_failed(path, error: OSError, needed_bytes: int | None = None, what: str = "") -> OutputError:
    """The one-line OutputError for a failed write: a full disk names the path, what was needed and what was
    free; anything else names the path and the system's reason."""
    if disk_full(error):
        try:
            free = f"{shutil.disk_usage(_existing(path)).free:,} bytes were free"
        except OSError:
            free = "the free space is unknown"
        need = (f"{what} needs {needed_bytes:,} bytes" if needed_bytes is not None
                else f"{what or 'the run'} ran out of space")
        return OutputError(f"no space left on the device while writing {path}: {need}, {free}; free some space or "
                           "give the job a larger working directory (nothing half-written was kept)")
    return OutputError(f"cannot write {path}: {error.strerror or one_line(error)}")
