"""The `compare` pipeline: train every combination of a grid on data prepared once, and rank them.

The grid and the selection come from config/hyperopt.py (a grid file or the config's Ludwig ``hyperopt``
section), every combination already parsed and validated.  Combinations that change only trainer or
model keys share one PreparedData (data.prepare.preparation_key): the archive is extracted and decoded
once, not once per point.  Every combination runs with the same seed, so fixed and random splits are the
same rows for all of them.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .. import runtime
from ..artifacts.staging import OutputStaging
from ..config.hyperopt import MAXIMIZED, GridSearch, Selection
from ..data.prepare import (
    PreparedData,
    discard_extracted,
    preparation_key,
    prepare_data,
)
from ..errors import ConfigError, disk_full
from ..options import RunOptions
from ..results import ExperimentResult
from .experiment import train_and_write


@dataclass(frozen=True)
class RunSummary:
    index: int
    name: str  # "01", "02", ... (directory under runs/)
    parameters: dict[str, Any]
    result: ExperimentResult

    def metric(self, split: str, key: str) -> float | None:
        evaluation = self.result.evaluations.get(split)
        return None if evaluation is None else float(evaluation.statistics[key])


def best_run(runs: Sequence[RunSummary], selection: Selection) -> RunSummary:
    scored = [(run.metric(selection.split, selection.metric), run) for run in runs]
    scored = [(value, run) for value, run in scored if value is not None]
    if not scored:
        raise ConfigError(f"no run has a {selection.split} split to rank by {selection.metric}; "
                          "choose another --metric_split")
    pick = max if selection.goal == "maximize" else min
    return pick(scored, key=lambda item: item[0])[1]


def run_compare(search: GridSearch, options: RunOptions,
                log: Callable[[str], None] = print) -> tuple[list[RunSummary], RunSummary]:
    """Every combination into OUT/runs/NN/, the best model into OUT/best_model/, and the comparison report."""
    from ..report.compare import write_compare_report

    selection = search.selection
    if any(c.config.output_feature.type == "binary" for c in search.combinations):  # category statistics only
        raise ConfigError("compare with a binary output feature is not supported yet; use experiment, or "
                          "type: category for the two classes")
    if selection.goal == "maximize" and selection.metric not in MAXIMIZED or \
            selection.goal == "minimize" and selection.metric in MAXIMIZED:
        log(f"note: ranking by {selection.split} {selection.metric}, goal {selection.goal}")
    combos = search.combinations
    log(f"comparing {len(combos)} configurations over {', '.join(search.keys)}; best by {selection.split} "
        f"{selection.metric} ({selection.goal})")

    staging = OutputStaging(options.output_directory)
    prepared: dict[tuple, PreparedData] = {}
    deleting = []
    try:
        runs = []
        start = time.perf_counter()
        for index, combo in enumerate(combos, start=1):
            name = f"{index:02d}"
            log(f"=== configuration {index}/{len(combos)}: {combo.describe()}")
            key = preparation_key(combo.config)
            if key not in prepared:  # its own work folder: two preparations never share a decode cache
                work = staging.work / f"data_{len(prepared) + 1}"
                prepared[key] = prepare_data(combo.config, options.data, work, seed=options.random_seed,
                                             num_workers=runtime.granted_cpu_threads(), log=log)
                deleting.append(discard_extracted(work))
            else:
                log("data: the rows and images prepared for an earlier configuration (same preprocessing)")
            wall_start = time.perf_counter()
            run_options = options.with_output(staging.staging / "runs" / name)
            result = train_and_write(combo.config, prepared[key], run_options, run_options.output_directory,
                                     log=log, wall_start=wall_start)
            runs.append(RunSummary(index, name, combo.parameters, result))
        best = best_run(runs, selection)
        log(f"best: configuration {best.index} ({', '.join(f'{k}={v!r}' for k, v in best.parameters.items())}) "
            f"with {selection.split} {selection.metric} {best.metric(selection.split, selection.metric):.4f}")
        shutil.copytree(staging.staging / "runs" / best.name / "experiment_run" / "model",
                        staging.staging / "best_model")
        write_compare_report(runs, best, selection, list(search.keys), staging.staging,
                             time.perf_counter() - start)
        staging.publish()
        return runs, best
    except OSError as err:  # a full disk while writing: one line with the figures; anything else is a bug
        if not disk_full(err):
            raise
        raise staging.out_of_space(err) from None
    finally:
        for thread in deleting:
            thread.join()
        staging.cleanup()
