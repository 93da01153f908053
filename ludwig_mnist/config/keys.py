"""Every config key this tool knows, read from the schema itself: its default and what happens to it.

``key_rows()`` walks the schema dataclasses (features, encoders, layer entries, optimizers, trainer,
preprocessing) and classifies each field from its own metadata:

- honoured: the check accepts Ludwig's values and the value is used;
- no effect: ``opt(..., ignored=reason)``, accepted and noted in the log and report when given;
- limited: a ``checks.only`` check, accepted at the listed values and refused otherwise with its reason;
- this tool's: ``opt(..., own=what)``, a key of this tool's own that Ludwig 0.10 does not have there.

``markdown_table()`` renders docs/config_keys.md (scripts/config_keys.py writes it; a test compares), so the
documentation cannot drift from the parser.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields, is_dataclass

from ..model.encoders import ENCODERS
from .layers import ConvLayerEntry, FCLayerEntry
from .binary import BinaryOutputFeature
from .schema import AugmentationOp, CategoryOutputFeature, ExperimentConfig, ImageInputFeature
from .trainer import OPTIMIZERS, UNAVAILABLE_OPTIMIZERS

ENTRY_NOTE = "absent keys take the encoder-level value (Ludwig's rule)"


@dataclass(frozen=True)
class KeyRow:
    path: str
    default: str
    policy: str  # "honoured" | "no effect" | "limited" | "this tool's"
    detail: str = ""


def _default_text(f) -> str:
    if f.default is not MISSING:
        value = f.default
    elif f.default_factory is not MISSING:
        value = f.default_factory()
    else:
        return "(required)"
    if is_dataclass(value):
        return "(section)"
    if repr(value) == "INHERIT":
        return "(inherited)"
    return "null" if value is None else repr(value)


def _rows(cls, path: str) -> list[KeyRow]:
    rows = []
    for f in fields(cls):
        if "check" not in f.metadata:
            continue  # not a config key (ExperimentConfig.notes)
        key = f"{path}.{f.name}" if path else f.name
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        if is_dataclass(default) and f.name not in ("encoder", "optimizer"):
            rows += _rows(type(default), key)
            continue
        check = f.metadata["check"]
        if f.metadata.get("own"):
            rows.append(KeyRow(key, _default_text(f), "this tool's", f.metadata["own"]))
        elif f.metadata.get("ignored"):
            rows.append(KeyRow(key, _default_text(f), "no effect", f.metadata["ignored"]))
        elif hasattr(check, "accepted"):
            allowed = ", ".join("null" if a is None else repr(a) for a in check.accepted)
            rows.append(KeyRow(key, _default_text(f), "limited", f"only {allowed}: {check.reason}"))
        elif f.name not in ("encoder", "optimizer", "input_features", "output_features"):
            rows.append(KeyRow(key, _default_text(f), "honoured"))
    return rows


def key_rows() -> list[KeyRow]:
    rows = _rows(ExperimentConfig, "")
    feature_in = "input_features[]"
    rows += _rows(ImageInputFeature, feature_in)
    rows += _rows(AugmentationOp, f"{feature_in}.augmentation[]")
    for kind, entry in ENCODERS.items():
        rows += [KeyRow(r.path, r.default, r.policy, r.detail)
                 for r in _rows(entry.schema, f"{feature_in}.encoder({kind})") if not r.path.endswith(".type")]
    rows += [KeyRow(r.path, r.default, r.policy, r.detail or ENTRY_NOTE)
             for r in _rows(ConvLayerEntry, f"{feature_in}.encoder.conv_layers[]")]
    rows += [KeyRow(r.path, r.default, r.policy, r.detail or ENTRY_NOTE)
             for r in _rows(FCLayerEntry, "*.fc_layers[]")]
    rows += _rows(CategoryOutputFeature, "output_features[](category)")
    rows += _rows(BinaryOutputFeature, "output_features[](binary)")
    for kind, cls in OPTIMIZERS.items():
        rows += [r for r in _rows(cls, f"trainer.optimizer({kind})") if not r.path.endswith(".type")]
    rows += [KeyRow(f"trainer.optimizer.type: {kind}", "", "refused", "needs bitsandbytes/CUDA or a closure step")
             for kind in UNAVAILABLE_OPTIMIZERS]
    return rows


def markdown_table() -> str:
    rows = key_rows()
    counts = {policy: sum(r.policy == policy for r in rows) for policy in ("honoured", "no effect", "limited",
                                                                            "refused", "this tool's")}
    own = counts["this tool's"]
    lines = ["# Config keys: what each Ludwig 0.10 key does here",
             "",
             "Generated from the schema by `scripts/config_keys.py` (a test fails when this file is stale).",
             "Any key not listed is refused as unknown, with the closest valid key as a suggestion.",
             "",
             f"{counts['honoured']} keys honoured with Ludwig's meaning, {counts['no effect']} accepted without "
             f"effect (noted in the log and report when given), {counts['limited']} accepted only at the values "
             f"listed (refused otherwise, with the reason), {counts['refused']} Ludwig optimizers refused, "
             f"{own} keys of this tool's own (not in Ludwig 0.10's schema there).",
             "",
             "| key | default | here | detail |",
             "|---|---|---|---|"]
    lines += [f"| `{r.path}` | `{r.default}` | {r.policy} | {r.detail.replace('|', '/')} |" for r in rows]
    return "\n".join(lines) + "\n"


README_START, README_END = "<!-- config-keys:start (scripts/config_keys.py) -->", "<!-- config-keys:end -->"


def summary_markdown() -> str:
    """The README's part of the table: the counts, then every key that is not simply honoured."""
    rows = key_rows()
    honoured = sum(r.policy == "honoured" for r in rows)
    lines = [f"{honoured} keys are honoured with Ludwig 0.10's meaning and default (all of them, with the rest, in "
             "[docs/config_keys.md](docs/config_keys.md)). Any other key is refused with the closest valid one.",
             "", "Accepted without effect on the results (the log and the report say so when one is given):", ""]
    lines += [f"- `{r.path}`: {r.detail}" for r in rows if r.policy == "no effect"]
    lines += ["", "Accepted only at the values shown, refused otherwise with the reason:", ""]
    lines += [f"- `{r.path}`: {r.detail}" for r in rows if r.policy == "limited"]
    lines += ["", "This tool's own keys (Ludwig 0.10 has no such key there):", ""]
    lines += [f"- `{r.path}`: {r.detail}" for r in rows if r.policy == "this tool's"]
    lines += ["", "Refused: the optimizers " + ", ".join(f"`{r.path.split(': ')[1]}`" for r in rows
                                                       if r.policy == "refused") + " (no Keras equivalent)."]
    return "\n".join(lines)


def readme_with_summary(readme: str) -> str:
    start, end = readme.index(README_START) + len(README_START), readme.index(README_END)
    return readme[:start] + "\n" + summary_markdown() + "\n" + readme[end:]
