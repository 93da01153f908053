"""Value checks and the one generic builder that turns a raw mapping into a frozen dataclass.

A check takes (value, key_path) and returns the normalised value or raises ConfigError naming the key
path; a schema field carries its check in its metadata (``opt``), and ``build`` applies them, rejecting
unknown keys with the closest valid one as a suggestion.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import MISSING, field, fields, is_dataclass
from typing import Any, Callable

from ..errors import ConfigError


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
            close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"config key '{path}': {value!r} is not supported; choose one of "
                f"{', '.join(repr(o) for o in options)}{hint}")
        return value
    return check


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


def opt(default: Any, check: Callable) -> Any:
    """A dataclass field with a default and a value check (kept in metadata)."""
    if isinstance(default, list):
        default = tuple(default)
    if is_dataclass(default):  # frozen, so one shared instance is safe
        return field(default_factory=lambda: default, metadata={"check": check})
    return field(default=default, metadata={"check": check})


def build(cls, raw: Any, path: str):
    """Build dataclass `cls` from mapping `raw`; unknown keys and bad values raise ConfigError."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        fail(path or "<top level>", raw, "a mapping of keys to values")
    known = {f.name: f for f in fields(cls)}
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
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"config key '{where}' is required")
    return cls(**values)
