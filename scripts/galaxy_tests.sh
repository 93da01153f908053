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
#               from PyPI) into .venv-galaxy; this package (pip install -e) into a venv
#               of its own, .venv-tool-deps/ludwig-mnist/VERSION/, which Galaxy's
#               galaxy_packages dependency resolver activates for the tools' requirement
#               (never Galaxy's venv); planemo into its own .venv-planemo. Venvs are
#               reused when already complete. Then planemo shed_lint (scripts/galaxy/shed_lint.sh).
#   2. start    a fresh Galaxy (galaxy-run/) on a free loopback port; the
#               server log is galaxy-run/galaxy.log.
#   3. test     planemo test --engine external_galaxy on the tools, then the data
#               manager phase (scripts/galaxy/data_manager_phase.py: install weights
#               with the data manager, train one epoch with them), then every
#               workflows/*/*.ga that has a sibling *-tests.yml.
#   Galaxy is always stopped on exit, also on failure or Ctrl-C.
#   The install, start, stop and timing live in scripts/galaxy/lib.sh (shared with
#   scripts/galaxy_serve.sh and scripts/galaxy_ui_test.sh).
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
#   SKIP_DATA_MANAGER_TEST=1  skip the data manager phase (install weights, train with them)
#   SKIP_TOOL_TESTS=1         run the workflow tests only (when writing a workflow)
#   PLANEMO_EXTRA_ARGS="--test_index 1"   extra options for the tool tests' planemo test
#   PYTHON=python3.11         interpreter used to create the venvs

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
GX_TAG=galaxy_tests
# shellcheck source=scripts/galaxy/lib.sh
. "$REPO/scripts/galaxy/lib.sh"

RUN_DIR="${GALAXY_RUN_DIR:-$REPO/galaxy-run}"
case "$RUN_DIR" in /*) ;; *) RUN_DIR="$REPO/$RUN_DIR" ;; esac
RESULTS_DIR="$REPO/test-results/galaxy"
GALAXY_TEST_TIMEOUT="${GALAXY_TEST_TIMEOUT:-3600}"

# --------------------------------------------------------------------------
# Which tools: explicit arguments, else every tools/*.xml whose root is <tool>
# (macros.xml and other macro files are not tools).
# --------------------------------------------------------------------------
gx_find_tools
TOOL_FILES=()
if [ "$#" -gt 0 ]; then
    for f in "$@"; do
        [ -f "$f" ] || gx_die "no such tool file: $f"
        TOOL_FILES+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")")
    done
else
    TOOL_FILES=(${GX_TOOL_FILES[@]+"${GX_TOOL_FILES[@]}"})
fi
[ "${#TOOL_FILES[@]}" -gt 0 ] || gx_die "no tool XML files found under tools/"
# The tool panel holds every tool in tools/ (workflow tests may use any of them).
PANEL_TOOLS=("${TOOL_FILES[@]}")
for f in ${GX_TOOL_FILES[@]+"${GX_TOOL_FILES[@]}"}; do
    case " ${PANEL_TOOLS[*]} " in *" $f "*) ;; *) PANEL_TOOLS+=("$f") ;; esac
done

# Galaxy is stopped on exit (unless KEEP_GALAXY_RUNNING=1), and the phases' times printed.
GX_KEEP_RUNNING="${KEEP_GALAXY_RUNNING:-0}"
GX_KEEP_HINT="connection details: $RUN_DIR/connection.env"
gx_trap_exit

# --------------------------------------------------------------------------
# Phase 1: install
# --------------------------------------------------------------------------
gx_phase_start install
gx_install
gx_install_planemo
gx_phase_end

# The Tool Shed repository's lint (tools/.shed.yml), from any clone location.
gx_phase_start shed-lint
SHED_LINT_STATUS=0
mkdir -p "$RESULTS_DIR"
"$GX_HELPERS/shed_lint.sh" "$PLANEMO_VENV/bin/planemo" > "$RESULTS_DIR/shed_lint.log" 2>&1 || SHED_LINT_STATUS=1
if [ "$SHED_LINT_STATUS" -ne 0 ]; then
    tail -n 20 "$RESULTS_DIR/shed_lint.log" >&2
    gx_log "planemo shed_lint FAILED (log: $RESULTS_DIR/shed_lint.log)"
fi
gx_phase_end

# --------------------------------------------------------------------------
# Phase 2: start a fresh Galaxy (a server left running by an earlier
# KEEP_GALAXY_RUNNING=1 run in RUN_DIR is ours: gx_start stops it)
# --------------------------------------------------------------------------
gx_phase_start start
PORT="${GALAXY_PORT:-$(gx_free_port)}"
gx_start "$RUN_DIR" "$PORT" "${PANEL_TOOLS[@]}"
gx_create_test_users "$RUN_DIR"   # ADMIN_KEY, USER_KEY
{
    echo "GALAXY_URL=$GALAXY_URL"
    echo "GALAXY_PID=$GALAXY_PID"
    cat "$RUN_DIR/keys.env"
} > "$RUN_DIR/connection.env"
gx_phase_end

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
    [ "$rc" -ne 124 ] || gx_log "planemo test timed out after $GALAXY_TEST_TIMEOUT s"
    return "$rc"
}

STATUS=$SHED_LINT_STATUS
if [ "${SKIP_TOOL_TESTS:-0}" != "1" ]; then
    gx_phase_start tool-tests
    planemo_rc=0
    read -r -a EXTRA_ARGS <<< "${PLANEMO_EXTRA_ARGS:-}"
    # test-data/ is at the repository root, beside tools/.
    run_planemo_test tool_test_output --test_data "$REPO/test-data" ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"} \
        "${TOOL_FILES[@]}" || planemo_rc=$?
    gx_log "planemo test (tools) exited with $planemo_rc"
    "$PYTHON" "$GX_HELPERS/summarize.py" --kind tool "$RESULTS_DIR/tool_test_output.json" || STATUS=1
    [ "$planemo_rc" -eq 0 ] || STATUS=1
    gx_phase_end
else
    gx_log "SKIP_TOOL_TESTS=1: skipping the tool tests"
fi

# The data manager (data_managers/data_manager_ludwig_mnist_weights), loaded by this Galaxy's config
# (gx_write_config): the admin installs a weights file the phase makes (file:// URL, sha256 checked),
# then one one-epoch experiment job trains with the installed weights (scripts/galaxy/data_manager_phase.py).
DM_RAN=0
if [ "${SKIP_DATA_MANAGER_TEST:-0}" != "1" ] && [ -d "$REPO/data_managers/data_manager_ludwig_mnist_weights" ]; then
    gx_phase_start data-manager
    DM_RAN=1
    DM_WORK="$RUN_DIR/data-manager-phase"
    mkdir -p "$DM_WORK"
    TOOL_PYTHON="$GX_TOOL_DEPS/ludwig-mnist/$(gx_package_version)/venv/bin/python"
    DM_SHA256="$("$TOOL_PYTHON" "$GX_HELPERS/data_manager_phase.py" make-weights "$DM_WORK/mobilenetv3_small_notop.h5" \
        2> "$DM_WORK/make_weights.log" | tail -n 1)" || true
    if [ "${#DM_SHA256}" -ne 64 ]; then
        tail -n 20 "$DM_WORK/make_weights.log" >&2
        gx_log "data manager phase: could not make the weights file"
        STATUS=1
    elif ! "$PLANEMO_VENV/bin/python" "$GX_HELPERS/data_manager_phase.py" run --url "$GALAXY_URL" \
            --admin_key "$ADMIN_KEY" --weights "$DM_WORK/mobilenetv3_small_notop.h5" --sha256 "$DM_SHA256" \
            --test_data "$REPO/test-data" --work "$DM_WORK" \
            --not_weights "$REPO/data_managers/data_manager_ludwig_mnist_weights/test-data/not_weights.h5" 2>&1 | tee "$RESULTS_DIR/data_manager_phase.log" >&2 \
            || ! grep -q "data manager phase: PASSED" "$RESULTS_DIR/data_manager_phase.log"; then
        gx_log "data manager phase FAILED (log: $RESULTS_DIR/data_manager_phase.log)"
        STATUS=1
    fi
    gx_phase_end
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
            gx_log "WARNING: $tests_yml has no matching workflow $(basename "$wf")"
            STATUS=1
        fi
    done
    shopt -u nullglob
fi
if [ "${#WORKFLOW_FILES[@]}" -gt 0 ]; then
    gx_phase_start workflow-tests
    planemo_rc=0
    run_planemo_test workflow_test_output "${WORKFLOW_FILES[@]}" || planemo_rc=$?
    gx_log "planemo test (workflows) exited with $planemo_rc"
    "$PYTHON" "$GX_HELPERS/summarize.py" --kind workflow "$RESULTS_DIR/workflow_test_output.json" || STATUS=1
    [ "$planemo_rc" -eq 0 ] || STATUS=1
    gx_phase_end
else
    gx_log "no workflows/*/*-tests.yml found: skipping workflow tests"
    if [ "${SKIP_TOOL_TESTS:-0}" = "1" ] && [ "$DM_RAN" = "0" ]; then
        gx_log "SKIP_TOOL_TESTS=1 and no workflow tests: no test ran"
        STATUS=1
    fi
fi

if [ "$STATUS" -eq 0 ]; then
    gx_log "ALL GALAXY TESTS PASSED"
else
    gx_log "GALAXY TESTS FAILED (details: $RESULTS_DIR/*.html, server log: $RUN_DIR/galaxy.log)"
fi
exit "$STATUS"
