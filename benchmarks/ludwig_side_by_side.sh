#!/usr/bin/env bash
# The tutorial job side by side: the real Ludwig 0.10 (CPU wheels, its own venv) and ludwig-mnist, same config,
# same CSV and images.  Optional, never part of `make test`; it installs about 1-2 GB into $LUDWIG_VENV.
#
#   benchmarks/ludwig_side_by_side.sh DATA_DIR [EPOCHS]
#
# DATA_DIR holds mnist_images.zip and mnist_dataset.csv (benchmarks/tutorial_mnist.py builds them, or
# `ludwig-mnist mnist-dataset`).  Prints each tool's wall time, peak RSS and test accuracy.  Where Ludwig cannot
# be installed from the package index, it says so and exits 3.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(cd "${1:?usage: $0 DATA_DIR [EPOCHS]}" && pwd)
EPOCHS=${2:-5}
VENV=${LUDWIG_VENV:-$REPO/.venv-ludwig010}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/ludwig-side-by-side.XXXXXX")}
OURS=${OURS:-$REPO/.venv/bin/ludwig-mnist}
mkdir -p "$WORK"

if [ ! -x "$VENV/bin/ludwig" ]; then
  echo "installing Ludwig 0.10 (CPU) into $VENV ..."
  python3 -m venv "$VENV"
  # torch first, pinned: a CPU build (the index's plain 'torch' would be a CUDA build of several GB)
  if ! "$VENV/bin/pip" install -q "torch==2.13.0" > "$WORK/pip-torch.log" 2>&1 ||
     ! "$VENV/bin/pip" install -q "ludwig==0.10.*" "torch==2.13.0" > "$WORK/pip-ludwig.log" 2>&1; then
    echo "Ludwig 0.10 could not be installed from the package index here; last lines of pip's log:"
    tail -n 5 "$WORK"/pip-*.log
    exit 3
  fi
fi

# An install can succeed and still not import: Ludwig 0.10 needs torchtext, whose native library is built for
# one torch release only.
if ! "$VENV/bin/python" -c "import ludwig.api" > "$WORK/import.log" 2>&1; then
  echo "Ludwig 0.10 installed into $VENV but does not import; last line: $(tail -n 1 "$WORK/import.log")"
  echo "(torch and torchtext installed: $("$VENV/bin/pip" list 2>/dev/null | grep -E '^torch(text)? ' | tr -s ' ' | tr '\n' ' '))"
  exit 3
fi

# The config with the epochs asked for; Ludwig reads image paths relative to the CSV, so the zip is unpacked
# beside it (Galaxy-Ludwig does the same), timed on its own.
sed "s/^  epochs: .*/  epochs: $EPOCHS/" "$REPO/test-data/config.yaml" > "$WORK/config.yaml"
start=$(date +%s.%N)
python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$DATA/mnist_images.zip" "$WORK/ludwig_in"
cp "$DATA/mnist_dataset.csv" "$WORK/ludwig_in/"
unzip_s=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")

measure() {  # NAME COMMAND...: wall seconds and peak RSS of that child alone (os.wait4)
  local name=$1; shift
  python3 - "$name" "$WORK" "$@" <<'PY'
import os, subprocess, sys, time
name, work, command = sys.argv[1], sys.argv[2], sys.argv[3:]
start = time.perf_counter()
with open(f"{work}/{name}.log", "w") as log:
    child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(child.pid, 0)
print(f"{name} {time.perf_counter() - start:.1f} {usage.ru_maxrss / 1024:.0f} {os.waitstatus_to_exitcode(status)}")
PY
}

read -r _ l_wall l_rss l_rc < <(measure ludwig "$VENV/bin/ludwig" experiment --config "$WORK/config.yaml" \
  --dataset "$WORK/ludwig_in/mnist_dataset.csv" --output_directory "$WORK/ludwig_out" --random_seed 42)
read -r _ o_wall o_rss o_rc < <(measure ours "$OURS" experiment --config "$WORK/config.yaml" \
  --dataset "$DATA/mnist_dataset.csv" --raw_data "$DATA/mnist_images.zip" --output_directory "$WORK/ours_out" \
  --random_seed 42)

accuracy() {  # the test accuracy in a Ludwig-layout output directory
  python3 -c "import glob, json, sys; f = sorted(glob.glob(sys.argv[1] + '/*/test_statistics.json'))
print(json.load(open(f[-1]))['label']['accuracy'] if f else 'none (see the log)')" "$1"
}
echo "tool        exit  wall s  peak RSS MB  test accuracy"
echo "ludwig-0.10 $l_rc  $l_wall (+ $unzip_s s unzip)  $l_rss  $(accuracy "$WORK/ludwig_out")"
echo "ludwig-mnist $o_rc  $o_wall  $o_rss  $(accuracy "$WORK/ours_out")"
echo "logs and outputs: $WORK"
