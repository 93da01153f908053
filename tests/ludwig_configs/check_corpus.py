"""Run the config parser over the corpus of real Ludwig configs and print what it does with each.

    PYTHONPATH=. python tests/ludwig_configs/check_corpus.py [--strict]

One line per config: ACCEPTED or REFUSED (with the one-line message), and whether that matches the
scope in expected.yaml (in: should be accepted, or refused for its refusal_ok reason; out: should be
refused).  --strict exits 1 on a mismatch
or on a crash (anything but a UserInputError).  Not a pytest module (no test_ prefix): the parser is
being reworked; a test that asserts this table can be built on it.
"""

from __future__ import annotations

import sys
import traceback
from collections import Counter
from pathlib import Path

import yaml

from ludwig_mnist.config.load import load_config
from ludwig_mnist.errors import UserInputError

CORPUS = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    expected = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
    counts: Counter = Counter()
    mismatches = 0
    for path in sorted(CORPUS.glob("*.yaml")):
        if path.name == "expected.yaml":
            continue
        entry = expected.get(path.name, {})
        scope = entry.get("scope", "?")
        try:
            load_config(path)
            outcome, message = "ACCEPTED", ""
        except UserInputError as err:
            outcome, message = "REFUSED", str(err)
        except Exception:  # noqa: BLE001  # a crash is a bug of the parser: show it, keep going
            outcome, message = "CRASHED", traceback.format_exc().strip().splitlines()[-1]
        agrees = (scope == "in" and outcome == "ACCEPTED") or (scope == "out" and outcome == "REFUSED")
        if scope == "in" and outcome == "REFUSED" and entry.get("refusal_ok"):
            agrees, outcome = True, "REFUSED (allowed: " + entry["refusal_ok"] + ")"
        mismatches += not agrees
        counts["REFUSED (allowed)" if outcome.startswith("REFUSED (") else outcome, scope] += 1
        print(f"{outcome.split(' (')[0]:8} scope={scope:3} {'ok ' if agrees else 'MISMATCH'} {path.name}"
              + (f"\n         {message}" if message else "")
              + (f"\n         allowed: {entry['refusal_ok']}" if outcome.startswith("REFUSED (") else ""))
    print()
    for (outcome, scope), n in sorted(counts.items()):
        print(f"{outcome} with scope {scope}: {n}")
    print(f"{mismatches} of {sum(counts.values())} configs disagree with expected.yaml")
    return 1 if "--strict" in argv and (mismatches or any(o == "CRASHED" for o, _ in counts)) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
