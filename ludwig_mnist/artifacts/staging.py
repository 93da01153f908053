"""Outputs are staged: written into a staging directory inside the output directory, and moved into place
only when the whole run has succeeded, so a failed run never leaves a file that looks like a finished result."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import OutputError


class OutputStaging:
    """A scratch and a staging directory inside `output_dir`; publish() moves staged results into place."""

    def __init__(self, output_dir: Path):
        self.output_dir = Path(output_dir)
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.output_dir))
            self.work = Path(tempfile.mkdtemp(prefix=".work-", dir=self.output_dir))
        except OSError as err:
            raise OutputError(f"output directory {self.output_dir} is not writable: {err.strerror}") from None

    def publish(self) -> None:
        for entry in sorted(self.staging.iterdir()):
            target = self.output_dir / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            os.replace(entry, target)
        self.staging.rmdir()

    def cleanup(self) -> None:
        """Remove the scratch data and anything staged but not published."""
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
