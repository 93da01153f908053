"""Submit two ludwig_experiment jobs at once to a running Galaxy and check that both succeed, ran at the same
time (the job config's two local-runner workers) and wrote separate outputs.  Standard library only.

    parallel_jobs.py --url URL --key ADMIN_KEY --test-data DIR [--timeout 1200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path


def call(url: str, key: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(f"{url}/api/{path}", data=None if body is None else json.dumps(body).encode(),
                                     headers={"x-api-key": key, "content-type": "application/json"},
                                     method="GET" if body is None else "POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--test-data", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=1200)
    args = parser.parse_args()
    url, key = args.url.rstrip("/"), args.key
    history = call(url, key, "histories", {"name": "parallel experiments"})["id"]
    files = {"config": ("config_tiny.yaml", "yaml"), "dataset": ("mnist_dataset.csv", "csv"),
             "raw_data": ("mnist_images.zip", "zip")}
    fetched = call(url, key, "tools/fetch", {"history_id": history, "targets": [{"destination": {"type": "hdas"},
                   "elements": [{"src": "path", "path": str((args.test_data / name).resolve()), "ext": ext,
                                 "name": name} for name, ext in files.values()]}]})
    ids = {role: output["id"] for role, output in zip(files, fetched["outputs"])}
    deadline = time.monotonic() + args.timeout
    while any(call(url, key, f"datasets/{i}")["state"] != "ok" for i in ids.values()):
        if time.monotonic() > deadline:
            raise SystemExit("uploads did not finish")
        time.sleep(2)

    jobs, outputs = [], []
    for seed in (1, 2):  # submitted back to back: both are queued before either starts
        run = call(url, key, "tools", {"tool_id": "ludwig_experiment", "history_id": history, "inputs": {
            # Galaxy-Ludwig's parameter names, at the top level of the form
            "config": {"src": "hda", "id": ids["config"]}, "dataset": {"src": "hda", "id": ids["dataset"]},
            "raw_data": {"src": "hda", "id": ids["raw_data"]}, "random_seed": seed}})
        jobs.append(run["jobs"][0]["id"])
        outputs.append({o["id"] for o in run["outputs"]})
    started = time.monotonic()
    both_running, states = False, {}
    while True:
        states = {job: call(url, key, f"jobs/{job}")["state"] for job in jobs}
        both_running |= all(state == "running" for state in states.values())
        if all(state in ("ok", "error", "failed", "deleted") for state in states.values()):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"jobs did not finish: {states}")
        time.sleep(1)
    seconds = time.monotonic() - started
    details = [call(url, key, f"jobs/{job}?full=true") for job in jobs]
    print(json.dumps({"states": states, "both_running_at_once": both_running, "seconds": round(seconds, 1),
                      "outputs_disjoint": not (outputs[0] & outputs[1]),
                      "stderr_tails": [d.get("tool_stderr", "")[-300:] for d in details]}, indent=2))
    ok = all(state == "ok" for state in states.values()) and both_running and not (outputs[0] & outputs[1])
    print("PARALLEL JOBS PASSED" if ok else "PARALLEL JOBS FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
