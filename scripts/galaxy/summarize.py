"""Summarize a planemo --test_output_json file; exit 1 if no test ran or any failed (stdlib only).

Prints one line per test (status, wall time of the whole test including uploads,
and of the tool's job alone) and a total line:
  SUMMARY tool tests: 5 run, 5 passed, 0 failed, 0 errors, 0 skipped; 412 s of test time
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys


def _job_seconds(data: dict) -> float | None:
    """Seconds from the job's creation to its last update (the tool run itself, without uploads)."""
    for key in ("job", "invocation_details"):
        job = data.get(key) or {}
        if isinstance(job, dict) and job.get("create_time") and job.get("update_time"):
            try:
                start = dt.datetime.fromisoformat(job["create_time"])
                end = dt.datetime.fromisoformat(job["update_time"])
                return (end - start).total_seconds()
            except ValueError:
                pass
    return None


def _seconds(data: dict) -> float | None:
    if isinstance(data.get("time_seconds"), (int, float)):
        return float(data["time_seconds"])
    # Workflow tests carry start/end stamps instead.
    if data.get("start_datetime") and data.get("end_datetime"):
        try:
            start = dt.datetime.fromisoformat(data["start_datetime"])
            end = dt.datetime.fromisoformat(data["end_datetime"])
            return (end - start).total_seconds()
        except ValueError:
            pass
    return _job_seconds(data)


def _problem(data: dict) -> str:
    lines = []
    if data.get("execution_problem"):
        lines.append(str(data["execution_problem"]))
    for problem in data.get("output_problems") or []:
        lines.append(str(problem))
    text = " | ".join(lines).replace("\n", " ")
    return text[:400] + ("..." if len(text) > 400 else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("json_file")
    parser.add_argument("--kind", default="tool", help="label for the summary line (tool/workflow)")
    args = parser.parse_args()

    try:
        with open(args.json_file, encoding="utf-8") as fh:
            report = json.load(fh)
    except (OSError, ValueError) as exc:
        print(f"SUMMARY {args.kind} tests: no usable result file {args.json_file}: {exc}", file=sys.stderr)
        return 1

    counts = {"success": 0, "failure": 0, "error": 0, "skip": 0}
    total_time = 0.0
    tests = report.get("tests") or []
    for test in tests:
        data = test.get("data") or {}
        status = data.get("status") or ("error" if not test.get("has_data") else "unknown")
        counts[status if status in counts else "error"] += 1
        seconds = _seconds(data)
        total_time += seconds or 0.0
        job_seconds = _job_seconds(data)
        shown = f"{seconds:7.1f} s" if seconds is not None else "      ? s"
        shown += f" (job {job_seconds:5.1f} s)" if job_seconds is not None else " (job     ? s)"
        line = f"  {status:<8} {shown}  {test.get('id')}"
        if status not in ("success", "skip"):
            line += f"  -- {_problem(data)}"
        print(line, file=sys.stderr)

    run = len(tests) - counts["skip"]
    failed = counts["failure"] + counts["error"]
    print(
        f"SUMMARY {args.kind} tests: {run} run, {counts['success']} passed, {counts['failure']} failed, "
        f"{counts['error']} errors, {counts['skip']} skipped; {total_time:.0f} s of test time",
        file=sys.stderr,
    )
    if run == 0:
        print(f"SUMMARY {args.kind} tests: no test ran", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
