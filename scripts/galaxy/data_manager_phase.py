"""The data manager in the test Galaxy: install weights with it, then train with them (scripts/galaxy_tests.sh).

    data_manager_phase.py make-weights PATH
        (with the tools' Python: TensorFlow) write a mobilenetv3 small backbone without top, as Keras ships its
        weights (legacy HDF5), seeded random weights, about 4 MB; prints its sha256
    data_manager_phase.py run --url URL --admin_key KEY --weights PATH --sha256 HEX --test_data DIR --work DIR
                              --not_weights FILE
        (with planemo's Python: bioblend) as the admin:
        1. run the data manager ludwig_mnist_weights_fetcher on file://PATH with its sha256;
        2. check the row it added to the ludwig_mnist_weights table and the file it moved;
        3. run Ludwig Experiment on test-data/mnist_folders.tar.gz with a one-epoch mobilenetv3 small config and
           those installed weights; check that description.json names them (source installed, sha256) and
           the report says so; meanwhile, the data manager's own <test> (a wrong sha256: exit 2, one line,
           no row).
Exit status 0 when every check holds; each failed check is one line on stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

TABLE = "ludwig_mnist_weights"
VALUE = "mobilenetv3_small_galaxy_test"
NAME = "mobilenetv3 small (tool test weights)"
CONFIG = """\
input_features:
  - name: image_path
    type: image
    encoder:
      type: mobilenetv3
      model_variant: small
      trainable: false
output_features:
  - name: label
    type: category
trainer:
  epochs: 1
  batch_size: 32
"""


def make_weights(path: Path) -> None:
    import keras
    from keras.src.legacy.saving import legacy_h5_format
    import h5py

    keras.utils.set_random_seed(5)
    donor = keras.applications.MobileNetV3Small(include_top=False, weights=None, input_shape=(32, 32, 3),
                                                pooling="avg")
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, donor)
    print(hashlib.sha256(path.read_bytes()).hexdigest())


def wait_ok(gi, job_id: str, what: str, timeout: float = 900) -> dict:
    start = time.monotonic()
    while True:
        job = gi.jobs.show_job(job_id, full_details=True)
        if job["state"] in ("ok", "error", "deleted", "failed"):
            break
        if time.monotonic() - start > timeout:
            raise SystemExit(f"{what}: job {job_id} still {job['state']} after {timeout:.0f} s")
        time.sleep(2)
    if job["state"] != "ok":
        tail = (job.get("tool_stderr") or job.get("stderr") or "").strip().splitlines()[-3:]
        raise SystemExit(f"{what}: job {job_id} ended {job['state']}: {' | '.join(tail)}")
    print(f"{what}: job ok after {time.monotonic() - start:.0f} s", file=sys.stderr)
    return job


def table_row(gi, value: str, timeout: float = 60) -> list[str] | None:
    """The table's row whose value is ``value``, waiting for Galaxy to add it after the job."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        table = gi.tool_data.show_data_table(TABLE)
        for row in table.get("fields", []):
            if row and row[0] == value:
                return row
        time.sleep(2)
    return None


def check_refused(gi, job_id: str) -> list[str]:
    """The data manager job with a wrong sha256: failed with exit 2, one error line, no row added."""
    start = time.monotonic()
    while (job := gi.jobs.show_job(job_id, full_details=True))["state"] not in ("ok", "error", "failed"):
        if time.monotonic() - start > 600:
            return [f"the refused data manager job is still {job['state']} after 600 s"]
        time.sleep(2)
    stderr = (job.get("tool_stderr") or "").strip().splitlines()
    errors = [line for line in stderr if line.startswith("error: ")]
    print(f"data manager with a wrong sha256: {job['state']}, exit {job.get('exit_code')}: "
          f"{errors[-1] if errors else stderr[-1:]}", file=sys.stderr)
    if job["state"] != "error" or job.get("exit_code") != 2 or len(errors) != 1 or "(the sha256 given)" not in errors[0]:
        return [f"the data manager with a wrong sha256 ended {job['state']}, exit {job.get('exit_code')}, {stderr[-2:]}"]
    if table_row(gi, "refused", timeout=0) is not None:
        return ["the data manager with a wrong sha256 added a row"]
    return []


def run(args) -> int:
    from bioblend.galaxy import GalaxyInstance

    gi = GalaxyInstance(args.url, key=args.admin_key)
    failures = []
    history = gi.histories.create_history(name="data manager phase")["id"]

    # 1. the data manager, on a file on the server (file:// URL) with its sha256; meanwhile the experiment's
    # inputs are uploaded (one fetch job, by server path: the admin may, allow_path_paste)
    started = gi.tools.run_tool(history, "ludwig_mnist_weights_fetcher", {
        "backbone|family": "mobilenetv3", "backbone|variant": "small",
        "source|type": "url", "source|url": Path(args.weights).resolve().as_uri(),
        "sha256": args.sha256, "entry_name": NAME, "value": VALUE})
    config = Path(args.work) / "config_installed_weights.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    archive = Path(args.test_data).resolve() / "mnist_folders.tar.gz"
    fetched = gi.make_post_request(f"{gi.url}/tools/fetch", payload={"history_id": history, "targets": [{
        "destination": {"type": "hdas"},
        "elements": [{"src": "path", "path": str(config.resolve()), "ext": "yaml", "name": config.name},
                     {"src": "path", "path": str(archive), "ext": "tar.gz", "name": archive.name},
                     {"src": "path", "path": str(args.not_weights), "ext": "h5", "name": "not_weights.h5"}]}]})
    wait_ok(gi, started["jobs"][0]["id"], "data manager")

    # 2. its row and its folder
    row = table_row(gi, VALUE)
    if row is None:
        print(f"FAILED: no row {VALUE} in the {TABLE} table after the data manager ran", file=sys.stderr)
        return 1
    value, name, family, variant, sha256, path = row
    if (name, family, variant, sha256) != (NAME, "mobilenetv3", "small", args.sha256):
        failures.append(f"the row is {row}, not ({VALUE}, {NAME}, mobilenetv3, small, {args.sha256}, ...)")
    entry = Path(path) / "ludwig_mnist_weights.json"
    if not Path(path).is_absolute() or not entry.is_file():
        failures.append(f"the row's path {path} is not the entry folder the data manager moved")
    elif hashlib.sha256((Path(path) / json.loads(entry.read_text())["file"]).read_bytes()).hexdigest() != args.sha256:
        failures.append(f"the installed file in {path} does not have the sha256 {args.sha256}")
    print(f"data manager: row {value} → {path}", file=sys.stderr)

    # 3. an experiment with the installed weights
    wait_ok(gi, fetched["jobs"][0]["id"], "upload of the config and the archive")
    named = {o["name"]: o["id"] for o in fetched["outputs"]}
    uploads = {"config": named[config.name], "raw_data": named[archive.name]}
    started = gi.tools.run_tool(history, "ludwig_experiment", {
        "config": {"src": "hda", "id": uploads["config"]}, "raw_data": {"src": "hda", "id": uploads["raw_data"]},
        "extras|installed_weights": VALUE})
    # meanwhile (the runner has two workers), the data manager's own <test>: a wrong sha256 is one line, exit 2
    refused = gi.tools.run_tool(history, "ludwig_mnist_weights_fetcher", {
        "backbone|family": "mobilenetv3", "backbone|variant": "small", "source|type": "dataset",
        "source|weights": {"src": "hda", "id": named["not_weights.h5"]}, "sha256": "0" * 64, "value": "refused"})
    job = wait_ok(gi, started["jobs"][0]["id"], "experiment with the installed weights")
    failures += check_refused(gi, refused["jobs"][0]["id"])
    collection = next(c for c in started["output_collections"] if c["output_name"] == "output_pred_csv")
    elements = gi.histories.show_dataset_collection(history, collection["id"])["elements"]
    description = next(e["object"]["id"] for e in elements if e["element_identifier"] == "description")
    weights = json.loads(gi.datasets.download_dataset(description, require_ok_state=True)).get("weights")
    want = {"family": "mobilenetv3", "variant": "small", "source": "installed", "sha256": args.sha256, "name": NAME}
    if not weights or {k: weights.get(k) for k in want} != want or not str(weights.get("path")).startswith(path):
        failures.append(f"description.json's weights are {weights}, not {want} under {path}")
    report_id = next(o["id"] for o in started["outputs"] if o["output_name"] == "output_report")
    # read where Galaxy keeps it (an admin sees file_name; the download route may serve HTML otherwise)
    report = Path(gi.datasets.show_dataset(report_id)["file_name"]).read_text(encoding="utf-8")
    if args.sha256 not in report or "installed by the Galaxy data manager" not in report:
        failures.append("the report does not name the installed weights and their sha256")
    if "weights: mobilenetv3 small: installed by the Galaxy data manager" not in (job.get("tool_stdout") or ""):
        failures.append("the job's log does not name the installed weights")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    if not failures:
        print("data manager phase: PASSED (installed, registered, trained with the installed weights)",
              file=sys.stderr)
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make-weights")
    make.add_argument("path", type=Path)
    phase = commands.add_parser("run")
    for name in ("url", "admin_key", "weights", "sha256", "test_data", "work", "not_weights"):
        phase.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    if args.command == "make-weights":
        make_weights(args.path)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
