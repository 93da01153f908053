#!/usr/bin/env bash
# Run the Galaxy tool tests (and, when present, the workflow tests) of this
# repository against a real, throwaway Galaxy 26.1.2 server.
#
# Usage:
#   scripts/galaxy_tests.sh                 # every tool in tools/*.xml
#   scripts/galaxy_tests.sh tools/foo.xml   # only these tool files
#
# Phases (each one is timed):
#   1. install  Galaxy 26.1.2 (galaxy-app + galaxy-web-apps + galaxy-web-client
#               from PyPI) into .venv-galaxy, this package (pip install -e) into the same venv
#               (jobs run with that venv's bin/ first on PATH), planemo into
#               its own .venv-planemo. Venvs are reused when already complete.
#   2. start    a fresh Galaxy (galaxy-run/) on a free loopback port; the
#               server log is galaxy-run/galaxy.log.
#   3. test     planemo test --engine external_galaxy on the tools, then on
#               every workflows/*/*.ga that has a sibling *-tests.yml.
#   Galaxy is always stopped on exit, also on failure or Ctrl-C.
#
# Results: test-results/galaxy/tool_test_output.{json,html}
#          test-results/galaxy/workflow_test_output.{json,html} (if workflows)
# Exit status: 0 only if at least one test ran and none failed.
#
# Environment knobs:
#   GALAXY_PORT=8080          port to bind (default: a free one)
#   KEEP_GALAXY_RUNNING=1     leave the server up after the tests (debugging);
#                             URL, keys and PID are printed and kept in
#                             galaxy-run/connection.env
#   GALAXY_START_TIMEOUT=600  seconds to wait for /api/version
#   GALAXY_TEST_TIMEOUT=3600  seconds for each planemo test invocation
#   GALAXY_VENV, PLANEMO_VENV override the venv locations
#   GALAXY_RUN_DIR=galaxy-run the server's directory (config, database, log);
#                             a server recorded there by an earlier run is stopped
#   SKIP_WORKFLOW_TESTS=1     run the tool tests only
#   SKIP_TOOL_TESTS=1         run the workflow tests only (when writing a workflow)
#   PLANEMO_EXTRA_ARGS="--test_index 1"   extra options for the tool tests' planemo test
#   PYTHON=python3.11         interpreter used to create the venvs

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

GALAXY_VERSION="26.1.2"
PLANEMO_VERSION="0.75.47"
PYTHON="${PYTHON:-python3}"
GALAXY_VENV="${GALAXY_VENV:-$REPO/.venv-galaxy}"
PLANEMO_VENV="${PLANEMO_VENV:-$REPO/.venv-planemo}"
RUN_DIR="${GALAXY_RUN_DIR:-$REPO/galaxy-run}"
case "$RUN_DIR" in /*) ;; *) RUN_DIR="$REPO/$RUN_DIR" ;; esac
RESULTS_DIR="$REPO/test-results/galaxy"
GALAXY_START_TIMEOUT="${GALAXY_START_TIMEOUT:-600}"
GALAXY_TEST_TIMEOUT="${GALAXY_TEST_TIMEOUT:-3600}"
HELPERS="$REPO/scripts/galaxy"

log() { printf '[galaxy_tests %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

declare -A PHASE_SECONDS=()
PHASE_ORDER=()
phase_start() { PHASE_NAME="$1"; PHASE_T0=$SECONDS; log "=== phase: $1"; }
phase_end() {
    PHASE_SECONDS[$PHASE_NAME]=$((SECONDS - PHASE_T0))
    PHASE_ORDER+=("$PHASE_NAME")
    log "=== phase $PHASE_NAME took ${PHASE_SECONDS[$PHASE_NAME]} s"
}
# shellcheck disable=SC2317  # called from the EXIT trap
print_timings() {
    local name
    for name in "${PHASE_ORDER[@]}"; do
        printf '[galaxy_tests] timing: %-16s %5d s\n' "$name" "${PHASE_SECONDS[$name]}" >&2
    done
}

# --------------------------------------------------------------------------
# Which tools: explicit arguments, else every tools/*.xml whose root is <tool>
# (macros.xml and other macro files are not tools).
# --------------------------------------------------------------------------
TOOL_FILES=()
if [ "$#" -gt 0 ]; then
    for f in "$@"; do
        [ -f "$f" ] || die "no such tool file: $f"
        TOOL_FILES+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")")
    done
else
    for f in "$REPO"/tools/*.xml; do
        [ -f "$f" ] || continue
        if grep -q '<tool[[:space:]>]' "$f"; then TOOL_FILES+=("$f"); fi
    done
fi
[ "${#TOOL_FILES[@]}" -gt 0 ] || die "no tool XML files found under tools/"
# The tool panel holds every tool in tools/ (workflow tests may use any of them).
PANEL_TOOLS=("${TOOL_FILES[@]}")
for f in "$REPO"/tools/*.xml; do
    if [ ! -f "$f" ] || ! grep -q '<tool[[:space:]>]' "$f"; then continue; fi
    case " ${PANEL_TOOLS[*]} " in *" $f "*) ;; *) PANEL_TOOLS+=("$f") ;; esac
done

# --------------------------------------------------------------------------
# Phase 1: install
# --------------------------------------------------------------------------
pip_logged() {  # venv, log file, pip install arguments...
    local venv="$1" logfile="$2"; shift 2
    if ! { "$venv/bin/python" -m pip install --upgrade pip && "$venv/bin/python" -m pip install "$@"; } \
            > "$logfile" 2>&1; then
        tail -n 40 "$logfile" >&2
        die "pip install $* into $venv failed (log: $logfile)"
    fi
}

install_galaxy() {
    local marker="$GALAXY_VENV/.galaxy-tests-galaxy"
    local want="galaxy-app==$GALAXY_VERSION galaxy-web-apps==$GALAXY_VERSION"
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && [ -x "$GALAXY_VENV/bin/galaxy-web" ]; then
        log "Galaxy $GALAXY_VERSION already installed in $GALAXY_VENV"
    else
        log "installing Galaxy $GALAXY_VERSION into $GALAXY_VENV (takes ~4 min)"
        [ -x "$GALAXY_VENV/bin/python" ] || "$PYTHON" -m venv "$GALAXY_VENV"
        # shellcheck disable=SC2086
        pip_logged "$GALAXY_VENV" "$GALAXY_VENV/.galaxy-tests-galaxy.log" $want
        echo "$want" > "$marker"
        rm -f "$GALAXY_VENV/.galaxy-tests-package"
    fi
}

install_web_client() {
    # The prebuilt web UI (scripts/galaxy_serve.sh, scripts/galaxy_ui_test.sh); the tests
    # here need only the API. Its version must equal the server's (else a blank page).
    # Same check as scripts/galaxy/lib.sh.
    local have
    have="$("$GALAXY_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("galaxy-web-client"))' 2>/dev/null || true)"
    if [ "$have" = "$GALAXY_VERSION" ]; then
        log "galaxy-web-client $GALAXY_VERSION already installed in $GALAXY_VENV"
    else
        log "installing galaxy-web-client $GALAXY_VERSION into $GALAXY_VENV"
        pip_logged "$GALAXY_VENV" "$GALAXY_VENV/.galaxy-tests-web-client.log" "galaxy-web-client==$GALAXY_VERSION"
    fi
}

install_package() {
    # Editable install: code changes need no reinstall; dependency changes
    # (pyproject.toml) do, so the marker records its checksum.
    local marker="$GALAXY_VENV/.galaxy-tests-package"
    local want
    want="$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1) $REPO"
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && [ -x "$GALAXY_VENV/bin/ludwig-mnist" ]; then
        log "ludwig-mnist already installed (editable) in $GALAXY_VENV"
    else
        log "installing ludwig-mnist (editable) into $GALAXY_VENV"
        pip_logged "$GALAXY_VENV" "$GALAXY_VENV/.galaxy-tests-package.log" -e "$REPO"
        echo "$want" > "$marker"
    fi
    local where
    where="$("$GALAXY_VENV/bin/python" -c 'import ludwig_mnist, os; print(os.path.dirname(os.path.dirname(os.path.abspath(ludwig_mnist.__file__))))')"
    [ "$where" = "$REPO" ] || die "ludwig_mnist in $GALAXY_VENV resolves to $where, not $REPO"
}

install_planemo() {
    # planemo lives in its own venv: it pins galaxy-tool-util/galaxy-util
    # versions that must not fight with the server's galaxy-app.
    local marker="$PLANEMO_VENV/.galaxy-tests-planemo"
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "planemo==$PLANEMO_VERSION" ] && [ -x "$PLANEMO_VENV/bin/planemo" ]; then
        log "planemo $PLANEMO_VERSION already installed in $PLANEMO_VENV"
    else
        log "installing planemo $PLANEMO_VERSION into $PLANEMO_VENV (takes ~70 s)"
        [ -x "$PLANEMO_VENV/bin/python" ] || "$PYTHON" -m venv "$PLANEMO_VENV"
        # The test client evaluates the assertions: pillow + numpy for has_image_*,
        # h5py for has_h5_keys (planemo brings them today; pinning them here keeps it so).
        pip_logged "$PLANEMO_VENV" "$PLANEMO_VENV/.galaxy-tests-planemo.log" \
            "planemo==$PLANEMO_VERSION" pillow numpy h5py
        echo "planemo==$PLANEMO_VERSION" > "$marker"
    fi
}

phase_start install
install_galaxy
install_web_client
install_package
install_planemo
phase_end

# --------------------------------------------------------------------------
# Phase 2: start a fresh Galaxy
# --------------------------------------------------------------------------
GALAXY_PID=""
# shellcheck disable=SC2317  # the EXIT trap
stop_galaxy() {
    local rc=$?
    set +e
    if [ -n "$GALAXY_PID" ] && kill -0 "$GALAXY_PID" 2>/dev/null; then
        if [ "${KEEP_GALAXY_RUNNING:-0}" = "1" ]; then
            log "KEEP_GALAXY_RUNNING=1: Galaxy stays up at $GALAXY_URL (pid $GALAXY_PID);"
            log "  connection details: $RUN_DIR/connection.env; stop it with: kill -- -$GALAXY_PID"
        else
            log "stopping Galaxy (pid $GALAXY_PID)"
            # galaxy-web was started with setsid: its pid is the process group
            # id, so this also ends job processes it spawned.
            kill -TERM -- "-$GALAXY_PID" 2>/dev/null
            for _ in $(seq 1 30); do
                kill -0 "$GALAXY_PID" 2>/dev/null || break
                sleep 1
            done
            if kill -0 "$GALAXY_PID" 2>/dev/null; then
                log "Galaxy did not stop within 30 s; killing it"
                kill -KILL -- "-$GALAXY_PID" 2>/dev/null
            fi
        fi
    fi
    print_timings
    exit "$rc"
}
trap stop_galaxy EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

phase_start start
# A server left running by an earlier KEEP_GALAXY_RUNNING=1 run is ours: stop it.
if [ -f "$RUN_DIR/galaxy.pid" ]; then
    old_pid="$(cat "$RUN_DIR/galaxy.pid")"
    if [ -n "$old_pid" ] && kill -0 "$old_pid" 2>/dev/null && grep -q galaxy-web "/proc/$old_pid/cmdline" 2>/dev/null; then
        log "stopping Galaxy left running by an earlier run (pid $old_pid)"
        kill -TERM -- "-$old_pid" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$old_pid" 2>/dev/null || break; sleep 1; done
        kill -KILL -- "-$old_pid" 2>/dev/null || true
    fi
fi
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"

GALAXY_PORT="${GALAXY_PORT:-$("$PYTHON" "$HELPERS/free_port.py")}"
GALAXY_URL="http://127.0.0.1:$GALAXY_PORT"
BOOTSTRAP_KEY="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
ID_SECRET="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

"$PYTHON" "$HELPERS/make_config.py" \
    --run_dir "$RUN_DIR" --test_data_dir "$REPO/test-data" --bootstrap_key "$BOOTSTRAP_KEY" --id_secret "$ID_SECRET" \
    "${PANEL_TOOLS[@]}"

log "starting Galaxy on $GALAXY_URL (log: $RUN_DIR/galaxy.log)"
(
    cd "$RUN_DIR"
    export PATH="$GALAXY_VENV/bin:$PATH"
    export VIRTUAL_ENV="$GALAXY_VENV"
    unset PYTHONPATH
    exec setsid galaxy-web -c "$RUN_DIR/galaxy.yml" -b "127.0.0.1:$GALAXY_PORT"
) > "$RUN_DIR/galaxy.log" 2>&1 < /dev/null &
GALAXY_PID=$!
echo "$GALAXY_PID" > "$RUN_DIR/galaxy.pid"

if ! "$PYTHON" "$HELPERS/bootstrap.py" wait --url "$GALAXY_URL" --pid "$GALAXY_PID" \
        --timeout "$GALAXY_START_TIMEOUT"; then
    log "Galaxy did not come up; last 80 lines of $RUN_DIR/galaxy.log:"
    tail -n 80 "$RUN_DIR/galaxy.log" >&2
    exit 1
fi
# Prints ADMIN_KEY=... and USER_KEY=... lines.
"$PYTHON" "$HELPERS/bootstrap.py" users --url "$GALAXY_URL" --bootstrap_key "$BOOTSTRAP_KEY" \
    > "$RUN_DIR/keys.env"
# shellcheck disable=SC1091
. "$RUN_DIR/keys.env"
{
    echo "GALAXY_URL=$GALAXY_URL"
    echo "GALAXY_PID=$GALAXY_PID"
    cat "$RUN_DIR/keys.env"
} > "$RUN_DIR/connection.env"
phase_end

# --------------------------------------------------------------------------
# Phase 3: tests
# --------------------------------------------------------------------------
mkdir -p "$RESULTS_DIR"
rm -f "$RESULTS_DIR"/*.json "$RESULTS_DIR"/*.html

run_planemo_test() {  # $1 = output basename, rest = planemo options and runnables
    local name="$1"; shift
    local rc=0
    timeout --signal=TERM "$GALAXY_TEST_TIMEOUT" \
        "$PLANEMO_VENV/bin/planemo" test \
            --engine external_galaxy \
            --galaxy_url "$GALAXY_URL" \
            --galaxy_admin_key "$ADMIN_KEY" \
            --galaxy_user_key "$USER_KEY" \
            --test_output_json "$RESULTS_DIR/$name.json" \
            --test_output "$RESULTS_DIR/$name.html" \
            "$@" || rc=$?
    [ "$rc" -ne 124 ] || log "planemo test timed out after $GALAXY_TEST_TIMEOUT s"
    return "$rc"
}

STATUS=0
if [ "${SKIP_TOOL_TESTS:-0}" != "1" ]; then
    phase_start tool-tests
    planemo_rc=0
    read -r -a EXTRA_ARGS <<< "${PLANEMO_EXTRA_ARGS:-}"
    # test-data/ is at the repository root, beside tools/.
    run_planemo_test tool_test_output --test_data "$REPO/test-data" ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"} \
        "${TOOL_FILES[@]}" || planemo_rc=$?
    log "planemo test (tools) exited with $planemo_rc"
    "$PYTHON" "$HELPERS/summarize.py" --kind tool "$RESULTS_DIR/tool_test_output.json" || STATUS=1
    [ "$planemo_rc" -eq 0 ] || STATUS=1
    phase_end
else
    log "SKIP_TOOL_TESTS=1: skipping the tool tests"
fi

# Extension point: IWC-style workflow folders, workflows/<name>/<name>.ga
# with a sibling <name>-tests.yml, are tested against the same server.
WORKFLOW_FILES=()
if [ "${SKIP_WORKFLOW_TESTS:-0}" != "1" ]; then
    shopt -s nullglob
    for tests_yml in "$REPO"/workflows/*/*-tests.yml; do
        wf="${tests_yml%-tests.yml}.ga"
        if [ -f "$wf" ]; then
            WORKFLOW_FILES+=("$wf")
        else
            log "WARNING: $tests_yml has no matching workflow $(basename "$wf")"
            STATUS=1
        fi
    done
    shopt -u nullglob
fi
if [ "${#WORKFLOW_FILES[@]}" -gt 0 ]; then
    phase_start workflow-tests
    planemo_rc=0
    run_planemo_test workflow_test_output "${WORKFLOW_FILES[@]}" || planemo_rc=$?
    log "planemo test (workflows) exited with $planemo_rc"
    "$PYTHON" "$HELPERS/summarize.py" --kind workflow "$RESULTS_DIR/workflow_test_output.json" || STATUS=1
    [ "$planemo_rc" -eq 0 ] || STATUS=1
    phase_end
else
    log "no workflows/*/*-tests.yml found: skipping workflow tests"
    if [ "${SKIP_TOOL_TESTS:-0}" = "1" ]; then
        log "SKIP_TOOL_TESTS=1 and no workflow tests: no test ran"
        STATUS=1
    fi
fi

if [ "$STATUS" -eq 0 ]; then
    log "ALL GALAXY TESTS PASSED"
else
    log "GALAXY TESTS FAILED (details: $RESULTS_DIR/*.html, server log: $RUN_DIR/galaxy.log)"
fi
exit "$STATUS"
