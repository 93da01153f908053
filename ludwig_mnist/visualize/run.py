"""`visualize` end to end: draw one registered visualization, write its files into the output directory."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from ..report.common import publish_files
from .names import COMPARE_EXPERIMENTS, LUDWIG_VISUALIZATIONS
from .readers import VisualizeError
from .registry import VISUALIZATIONS, Request, file_stem

FILE_FORMATS = ("png", "pdf")
PDF_DPI = 100  # the figures' own resolution (report.plots.DPI): the PDF page has the figure's size in inches


def as_format(png: bytes, file_format: str) -> bytes:
    """PNG bytes as they are, or a one-page PDF holding that image."""
    if file_format == "png":
        return png
    buf = io.BytesIO()
    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGB").save(buf, format="PDF", resolution=PDF_DPI)
    return buf.getvalue()


def run_visualize(visualization: str, request: Request, output_directory: Path, file_format: str = "png",
                  log=print) -> list[Path]:
    if visualization == COMPARE_EXPERIMENTS:
        from .experiments import compare_experiments

        paths = compare_experiments(request, output_directory, file_format)
        for path in paths:
            log(f"wrote {path}")
        return paths
    if visualization not in VISUALIZATIONS:
        if visualization in LUDWIG_VISUALIZATIONS:
            raise VisualizeError(f"visualization {visualization} is Ludwig's but not supported by ludwig-mnist; "
                                 f"supported: {', '.join(sorted(VISUALIZATIONS))}")
        raise VisualizeError(f"unknown visualization {visualization!r}; supported: {', '.join(sorted(VISUALIZATIONS))}")
    if file_format not in FILE_FORMATS:
        raise VisualizeError(f"--file_format {file_format!r}: use png or pdf")
    drawn = VISUALIZATIONS[visualization](request)  # everything drawn before anything is written
    # stems carry feature and model names from the inputs: reduced to safe file-name characters
    files = {Path(output_directory) / f"{file_stem(stem)}.{file_format}": as_format(png, file_format)
             for stem, png in drawn.items()}
    publish_files(files)
    for path in files:
        log(f"wrote {path}")
    return list(files)
