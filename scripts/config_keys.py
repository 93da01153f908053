#!/usr/bin/env python3
"""Write docs/config_keys.md and the README's config-key summary from the schema (ludwig_mnist.config.keys).

--check exits 1 if either is stale (tests/test_ludwig_fidelity.py runs the same comparison).
"""

import sys
from pathlib import Path

from ludwig_mnist.config.keys import markdown_table, readme_with_summary

ROOT = Path(__file__).resolve().parent.parent
TABLE, README = ROOT / "docs" / "config_keys.md", ROOT / "README.md"

if __name__ == "__main__":
    table = markdown_table()
    readme = README.read_text(encoding="utf-8")
    if "--check" in sys.argv:
        fresh = TABLE.exists() and TABLE.read_text(encoding="utf-8") == table and readme_with_summary(readme) == readme
        sys.exit(0 if fresh else 1)
    TABLE.write_text(table, encoding="utf-8")
    README.write_text(readme_with_summary(readme), encoding="utf-8")
    print(f"wrote {TABLE} and the summary in {README}")
