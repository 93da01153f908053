"""The section "What the model looks at": the explanations' overlays per class, correct and misclassified.

Renders from an `explain.outputs.Explanations` value only (no TensorFlow); None means the run was not asked
to explain, and the section and its navigation entry are left out.
"""

from __future__ import annotations

import base64
from typing import Any, Sequence

from ..analysis import natural_order

SECTION = ("explanations", "What the model looks at")
OVERLAY_DISPLAY = 112  # CSS pixels of an overlay's side (overlay.py enlarges small images to at least this)


def with_section(sections: Sequence[tuple[str, str]], explanations) -> tuple[tuple[str, str], ...]:
    """The report's navigation, with the section after "misclassified" when there are explanations."""
    if explanations is None:
        return tuple(sections)
    ids = [s[0] for s in sections]
    at = ids.index("misclassified") + 1 if "misclassified" in ids else len(ids)
    return (*sections[:at], SECTION, *sections[at:])


def _tile(image) -> dict[str, Any]:
    return {"uri": "data:image/png;base64," + base64.b64encode(image.overlay).decode("ascii"),
            "source": image.source, "true_label": image.true_label, "predicted_label": image.predicted_label,
            "probability": image.probability, "blank": image.blank, "size": OVERLAY_DISPLAY}


def explanations_view(explanations) -> dict[str, Any] | None:
    """The template's view: method, counts, and per class (in natural order) its correct and wrong tiles."""
    if explanations is None:
        return None
    rows = {name: (right, wrong) for name, right, wrong in explanations.by_class()}
    names = list(explanations.class_names)
    ordered = [names[i] for i in natural_order(names) if names[i] in rows]
    labelled = any(e.true_label is not None for e in explanations.images)
    return {
        "method": explanations.method,
        "title": explanations.title,
        "layer": explanations.layer,
        "split": explanations.split,
        "count": len(explanations.images),
        "blank": sum(e.blank for e in explanations.images),
        "labelled": labelled,
        "classes": [{"name": n, "correct": [_tile(e) for e in rows[n][0]], "wrong": [_tile(e) for e in rows[n][1]]}
                    for n in ordered],
    }
