"""Outputs are staged: written into a staging directory inside the output directory, and moved into place
only when the whole run has succeeded, so a failed run never leaves a file that looks like a finished result."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import OutputError, write_failed


class OutputStaging:
    """A scratch and a staging directory inside `output_dir`; publish() moves staged results into place."""

    def __init__(self, output_dir: Path):
        self.output_dir = Path(output_dir)
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            remove_abandoned(self.output_dir)
            # The pid in the name lets a later run tell an abandoned area (SIGKILL, power loss) from a live one.
            self.staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=self.output_dir))
            self.work = Path(tempfile.mkdtemp(prefix=f".work-{os.getpid()}-", dir=self.output_dir))
        except OSError as err:
            raise OutputError(f"output directory {self.output_dir} is not writable: {err.strerror}") from None

    def publish(self) -> None:
        # SIGTERM/SIGINT wait until every staged entry is in place: a cancelled job never publishes half a result.
        with deferred_signals():
            for entry in sorted(self.staging.iterdir()):
                target = self.output_dir / entry.name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
                os.replace(entry, target)
            self.staging.rmdir()

    def out_of_space(self, error: OSError) -> OutputError:
        """The disk filled while results were written: name the output directory, what was staged, what was free."""
        staged = sum(p.stat().st_size for p in self.staging.rglob("*") if p.is_file()) if self.staging.exists() else 0
        where = Path(error.filename) if getattr(error, "filename", None) else self.output_dir
        what = f"writing the results (more than {staged:,} bytes)" if staged else "writing the results"
        return write_failed(where, error, None, what)

    def cleanup(self) -> None:
        """Remove the scratch data and anything staged but not published."""
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)


_AREA = re.compile(r"\.(?:staging|work)-(\d+)-\w+")  # what OutputStaging's mkdtemp calls create


def remove_abandoned(output_dir: Path) -> list[Path]:
    """Delete .staging-PID-*/.work-PID-* areas whose process is gone (a SIGKILLed run); returns them.

    They never look like results (results are only ever renamed out of them), but they hold extracted
    images and decode caches that would otherwise fill the disk run after run.
    """
    removed = []
    for area in output_dir.iterdir():
        match = _AREA.fullmatch(area.name)
        if match and not _alive(int(match.group(1))) and area.is_dir() and not area.is_symlink():
            shutil.rmtree(area, ignore_errors=True)
            removed.append(area)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Block SIGTERM and SIGINT in this thread while the block runs; they are delivered when it ends."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
