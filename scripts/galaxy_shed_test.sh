#!/usr/bin/env bash
# The Tool Shed round trip, as a Galaxy admin installs these tools: publish the repository
# (tools/.shed.yml) to a local Tool Shed with planemo, install it from there into a Galaxy
# through its API, and run a tool test on the installed copy.
#
# Usage: scripts/galaxy_shed_test.sh        (part of `make galaxy-test`)
#
# Phases (each one is timed):
#   1. install   Galaxy 26.1.2 (.venv-galaxy), this package as Galaxy's tool dependency
#                (.venv-tool-deps/ludwig-mnist/VERSION/, found through the galaxy_packages
#                resolver) and planemo (.venv-planemo), as scripts/galaxy_tests.sh does; the Tool
#                Shed, galaxy-tool-shed 26.1.2, into a venv of its own (.venv-toolshed), laid over
#                Galaxy's packages (scripts/galaxy/shed.sh, ts_install).
#   2. start     a fresh Tool Shed (galaxy-shed-run/tool_shed/) and a fresh Galaxy
#                (galaxy-shed-run/galaxy/), at once, each on a free loopback port. The Galaxy
#                trusts only that Tool Shed (tool_sheds_conf.xml) and has none of tools/ in its panel.
#   3. publish   the Tool Shed's categories and the repository owner (ludwig_mnist_team, from
#                .shed.yml) with an API key; planemo shed_create (creates the repository and uploads
#                its first revision), then planemo shed_update (the release step: metadata, and a new
#                revision when the content changed).
#   4. install-repo  Galaxy installs the newest installable revision (POST /api/tool_shed_repositories,
#                as the admin's Install and Uninstall page does): hg clone from the Tool Shed into
#                galaxy-shed-run/galaxy/shed_tools/, tools loaded under their Tool Shed ids.
#   5. test      galaxy-tool-test (galaxy-tool-util, planemo's own test engine) runs the first
#                test of ludwig_predict on the installed tool id; its test data come from the
#                installed repository (the Galaxy has no other test-data folder).
#
# Results: test-results/galaxy-shed/tool_test_output.json, shed_create.log, shed_update.log
# Exit status: 0 only if the installed tool's test passed.
#
# Environment knobs: GALAXY_VENV, PLANEMO_VENV, TOOLSHED_VENV (the venvs), SHED_TEST_TOOL
# (ludwig_predict) and SHED_TEST_INDEX (0) choose the test, GALAXY_SHED_RUN_DIR (galaxy-shed-run).

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
GX_TAG=galaxy_shed_test
# shellcheck source=scripts/galaxy/lib.sh
. "$REPO/scripts/galaxy/lib.sh"
# shellcheck source=scripts/galaxy/shed.sh
. "$REPO/scripts/galaxy/shed.sh"

RUN_DIR="${GALAXY_SHED_RUN_DIR:-$REPO/galaxy-shed-run}"
case "$RUN_DIR" in /*) ;; *) RUN_DIR="$REPO/$RUN_DIR" ;; esac
RESULTS_DIR="$REPO/test-results/galaxy-shed"
SHED_YML="$REPO/tools/.shed.yml"
REPO_NAME="$(sed -n 's/^name:[[:space:]]*//p' "$SHED_YML")"
TEST_TOOL="${SHED_TEST_TOOL:-ludwig_predict}"
TEST_INDEX="${SHED_TEST_INDEX:-0}"
[ -n "$REPO_NAME" ] || gx_die "no name: in $SHED_YML"

# Galaxy and the Tool Shed are stopped however the script ends.
gx_exit_hook() { ts_stop; gx_print_wall_time "$GX_EXIT_RC"; }
gx_trap_exit

gx_phase_start install
gx_install_galaxy
gx_install_package
gx_install_planemo
ts_install
gx_phase_end

gx_phase_start start
gx_stop_recorded "$RUN_DIR/galaxy"
rm -rf "$RUN_DIR" "$RESULTS_DIR"
mkdir -p "$RUN_DIR" "$RESULTS_DIR"
ts_launch "$RUN_DIR/tool_shed" "$(gx_free_port)"
gx_start --shed "$TOOLSHED_URL" "$RUN_DIR/galaxy" "$(gx_free_port)"
gx_create_test_users "$RUN_DIR/galaxy"   # ADMIN_KEY, USER_KEY
ts_wait
gx_phase_end

gx_phase_start publish
ts_bootstrap "$SHED_YML"   # TS_OWNER, TS_KEY
planemo_shed() {  # command, log name
    # An empty global config: the user's ~/.planemo.yml (public sheds, keys) plays no part.
    if ! PLANEMO_GLOBAL_CONFIG_PATH="$RUN_DIR/planemo.yml" "$PLANEMO_VENV/bin/planemo" "$1" \
            --shed_target "$TOOLSHED_URL" --shed_key "$TS_KEY" "$REPO/tools" > "$RESULTS_DIR/$2.log" 2>&1; then
        tail -n 30 "$RESULTS_DIR/$2.log" >&2
        gx_die "planemo $1 failed (log: $RESULTS_DIR/$2.log)"
    fi
    tail -n 2 "$RESULTS_DIR/$2.log" >&2
}
touch "$RUN_DIR/planemo.yml"
planemo_shed shed_create shed_create
planemo_shed shed_update shed_update
gx_phase_end

gx_phase_start install-repo
INSTALLED="$("$PYTHON" "$GX_HELPERS/shed.py" install --galaxy_url "$GALAXY_URL" --key "$ADMIN_KEY" \
    --tool_shed "$TOOLSHED_URL" --name "$REPO_NAME" --owner "$TS_OWNER" --tool_id "$TEST_TOOL")" \
    || gx_die "Galaxy could not install $TS_OWNER/$REPO_NAME from $TOOLSHED_URL (log: $RUN_DIR/galaxy/galaxy.log)"
INSTALLED_TOOL_ID="$(sed -n 's/^TOOL_ID=//p' <<< "$INSTALLED")"
gx_log "installed $TS_OWNER/$REPO_NAME revision $(sed -n 's/^REVISION=//p' <<< "$INSTALLED"): $INSTALLED_TOOL_ID"
gx_phase_end

gx_phase_start test
STATUS=0
"$PLANEMO_VENV/bin/galaxy-tool-test" --galaxy-url "$GALAXY_URL" --key "$USER_KEY" --admin-key "$ADMIN_KEY" \
    --tool-id "$INSTALLED_TOOL_ID" --test-index "$TEST_INDEX" \
    --output-json "$RESULTS_DIR/tool_test_output.json" > "$RESULTS_DIR/galaxy_tool_test.log" 2>&1 || STATUS=1
tail -n 5 "$RESULTS_DIR/galaxy_tool_test.log" >&2
"$PYTHON" "$GX_HELPERS/summarize.py" --kind tool "$RESULTS_DIR/tool_test_output.json" || STATUS=1
gx_phase_end

if [ "$STATUS" -eq 0 ]; then
    gx_log "TOOL SHED ROUND TRIP PASSED: $INSTALLED_TOOL_ID test $TEST_INDEX"
else
    gx_log "TOOL SHED ROUND TRIP FAILED (details: $RESULTS_DIR/, server logs: $RUN_DIR/*/)"
fi
exit "$STATUS"
