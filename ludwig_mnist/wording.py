"""Small pieces of wording that every stage's messages share."""

from __future__ import annotations

from typing import Sequence

MAX_LISTED = 5  # items quoted in one note or error message


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 row', '3 rows'; plural_form for irregular words ('2 link entries')."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def listed(items: Sequence[str]) -> str:
    """The first MAX_LISTED items, comma-separated, and how many more."""
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f", ... ({len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else "")
