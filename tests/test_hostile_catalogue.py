"""docs/hostile_inputs.md's generated table is what the code says now: one case per class of generated
hostile input, each refused with one line (exit 2) or accepted (exit 0), never another exception."""

from __future__ import annotations

import hostile_catalogue as catalogue


def test_every_class_is_refused_with_one_line_or_accepted():
    for kind, description, run in catalogue.CASES:
        if kind in ("signal", "disk", "memory"):  # rows rendered from the messages the slow tests assert
            continue
        status, message = catalogue.observe(run)  # raises, and fails, on anything but a UserInputError
        assert status in ("0", "2") and message and "\n" not in message, (description, message)
        assert len(message) < 1000, description


def test_the_page_shows_the_observed_messages():
    page = catalogue.DOC.read_text(encoding="utf-8")
    assert catalogue.page_with(catalogue.render()) == page, (
        "docs/hostile_inputs.md is out of date: run `python tests/hostile_catalogue.py` and commit the page")
