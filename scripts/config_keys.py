#!/usr/bin/env python3
"""Write docs/config_keys.md from the schema (ludwig_mnist.config.keys); --check exits 1 if it is stale."""

import sys
from pathlib import Path

from ludwig_mnist.config.keys import markdown_table

TARGET = Path(__file__).resolve().parent.parent / "docs" / "config_keys.md"

if __name__ == "__main__":
    text = markdown_table()
    if "--check" in sys.argv:
        sys.exit(0 if TARGET.exists() and TARGET.read_text(encoding="utf-8") == text else 1)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
