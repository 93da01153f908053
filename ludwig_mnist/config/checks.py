"""Value checks and the one generic builder that turns a raw mapping into a frozen dataclass.

A check takes (value, key_path) and returns the normalised value or raises ConfigError naming the key
path; a schema field carries its check in its metadata (``opt``), and ``build`` applies them, rejecting
unknown keys with the closest valid one as a suggestion.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import math
from dataclasses import MISSING, field, fields, is_dataclass
from typing import Any, Callable, Iterator

from ..errors import ConfigError


class _Inherit:
    """The value of a layer-entry key the user left out: it takes the level-above value (see layers.py)."""

    def __repr__(self) -> str:
        return "INHERIT"

    def __reduce__(self):
        return "INHERIT"


INHERIT = _Inherit()

# Notes on keys accepted without effect ("ignored: backend.type 'local' (...)"), collected while parsing.
_NOTES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("config_notes", default=None)


@contextlib.contextmanager
def collecting_notes() -> Iterator[list[str]]:
    token = _NOTES.set([])
    try:
        yield _NOTES.get()
    finally:
        _NOTES.reset(token)


def note(text: str) -> None:
    notes = _NOTES.get()
    if notes is not None and text not in notes:
        notes.append(text)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fail(path: str, value: Any, expected: str) -> None:
    raise ConfigError(f"config key '{path}': expected {expected}, got {value!r}")


def an_int(minimum: int | None = None, maximum: int | None = None) -> Callable:
    def check(value, path):
        if isinstance(value, bool) or not isinstance(value, int):
            fail(path, value, "an integer")
        if minimum is not None and value < minimum:
            fail(path, value, f"an integer >= {minimum}")
        if maximum is not None and value > maximum:
            fail(path, value, f"an integer <= {maximum}")
        return value
    return check


def a_float(minimum: float | None = None, maximum: float | None = None, strict_min: bool = False) -> Callable:
    def check(value, path):
        if isinstance(value, str):  # YAML reads 1e-3 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                fail(path, value, "a number")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail(path, value, "a number")
        value = float(value)
        if minimum is not None and (value < minimum or (strict_min and value == minimum)):
            fail(path, value, f"a number {'>' if strict_min else '>='} {minimum}")
        if maximum is not None and value > maximum:
            fail(path, value, f"a number <= {maximum}")
        return value
    return check


def a_bool(value, path):
    if not isinstance(value, bool):
        fail(path, value, "true or false")
    return value


def a_str(value, path):
    if not isinstance(value, str) or not value:
        fail(path, value, "a non-empty string")
    return value


def one_of(*options) -> Callable:
    def check(value, path):
        if value not in options:
            # Offered only when close (case aside): 'googlenet' must not be offered 'lenet'.
            names = {str(o).lower(): str(o) for o in options}
            close = difflib.get_close_matches(str(value).lower(), list(names), n=1, cutoff=0.75)
            hint = f"; did you mean '{names[close[0]]}'?" if close else ""
            raise ConfigError(
                f"config key '{path}': {value!r} is not supported; choose one of "
                f"{', '.join(repr(o) for o in options)}{hint}")
        return value
    return check


def only(*accepted, reason: str) -> Callable:
    """A Ludwig key this tool honours at some values only: others are refused with the reason."""
    def check(value, path):
        if value not in accepted:
            allowed = " or ".join(repr(a) for a in accepted)
            raise ConfigError(f"config key '{path}': {_show(value)} is not available here ({reason}); use {allowed}")
        return value
    check.accepted, check.reason = accepted, reason  # read by the generated key table
    return check


def anything(value, path):
    return value


def optional(check: Callable) -> Callable:
    return lambda value, path: None if value is None else check(value, path)


def either(*checks: Callable, expected: str) -> Callable:
    def check(value, path):
        for candidate in checks:
            try:
                return candidate(value, path)
            except ConfigError:
                continue
        fail(path, value, expected)
    return check


def list_of(check: Callable, length: int | None = None) -> Callable:
    def check_list(value, path):
        if not isinstance(value, (list, tuple)) or (length is not None and len(value) != length):
            fail(path, value, f"a list{f' of {length} values' if length else ''}")
        return tuple(check(v, f"{path}.{i}") for i, v in enumerate(value))
    return check_list


def section(cls) -> Callable:
    return lambda value, path: build(cls, value, path)


def sections(cls) -> Callable:
    def check(value, path):
        if not isinstance(value, (list, tuple)):
            fail(path, value, "a list of mappings")
        return tuple(build(cls, v, f"{path}.{i}") for i, v in enumerate(value))
    return check


def opt(default: Any, check: Callable, *, ignored: str | None = None, own: str | None = None) -> Any:
    """A dataclass field with a default and a value check (kept in metadata).

    ignored: the reason a key has no effect on this tool's results (e.g. Ludwig's ``backend``); the key is
    accepted and kept, and giving it adds the note "ignored: <key> <value> (<reason>)" to the log and report.
    own: what a key of this tool's own (not in Ludwig 0.10's schema for that section) does; docs/config_keys.md
    lists it as such, so nobody takes it for a Ludwig key.
    """
    if isinstance(default, list):
        default = tuple(default)
    metadata = {"check": check, "ignored": ignored, "own": own}
    if is_dataclass(default) or isinstance(default, dict):  # never mutated, so one shared instance is safe
        return field(default_factory=lambda: default, metadata=metadata)
    return field(default=default, metadata=metadata)


def _default_of(f) -> Any:
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else MISSING


def build(cls, raw: Any, path: str):
    """Build dataclass `cls` from mapping `raw`; unknown keys and bad values raise ConfigError."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        fail(path or "<top level>", raw, "a mapping of keys to values")
    known = {f.name: f for f in fields(cls) if "check" in f.metadata}
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(known))}"
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"unknown config key '{where}'{hint}")
    values = {}
    for name, f in known.items():
        where = f"{path}.{name}" if path else name
        if name in raw:
            values[name] = f.metadata["check"](raw[name], where)
            if f.metadata.get("ignored") and values[name] != _default_of(f):  # a default value changes nothing either way
                note(f"ignored: {where} {_show(raw[name])} ({f.metadata['ignored']})")
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"config key '{where}' is required")
    return cls(**values)
