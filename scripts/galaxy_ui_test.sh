#!/usr/bin/env bash
# The Galaxy MNIST tutorial through Galaxy's own web UI, in a real (headless) browser.
#
# Usage:
#   scripts/galaxy_ui_test.sh
#
# Phases (each one is timed; the total wall time is printed at the end):
#   1. install  Debian's chromium and playwright-core (scripts/setup_browser.sh);
#               Galaxy 26.1.2 + galaxy-web-client + this package into .venv-galaxy
#               (scripts/galaxy/lib.sh: the same venv as scripts/galaxy_tests.sh)
#   2. start    a fresh Galaxy with the web UI, the tools and the report allowlist,
#               as scripts/galaxy_serve.sh does, in galaxy-ui-run/ on a free port;
#               a user with a generated password; workflows/*/*.ga imported for it
#   3. browser  node tests/galaxy_ui/tutorial.mjs: log in, upload the zip, csv and yaml
#               (types chosen in the Upload dialog), tool search, pick the inputs,
#               run, wait for green outputs, check the report (accuracy, confusion
#               matrix, served as a page), the model and the predictions; then run
#               workflows/mnist-image-classifier/mnist-image-classifier.ga from the
#               Workflows page if that file exists (skipped, saying so, if not)
#   Galaxy is always stopped on exit, also on failure or Ctrl-C.
#
# Results: a screenshot of each step in tests/galaxy_ui/artifacts/ (git-ignored),
#          the server log in galaxy-ui-run/galaxy.log.
# Exit status: 0 only if every browser step passed.
#
# Environment knobs:
#   GALAXY_UI_PORT=8099        port to bind (default: a free one)
#   GALAXY_UI_RUN_DIR=...      the server's directory (default: galaxy-ui-run)
#   GALAXY_UI_WORKFLOW=...     the workflow to run (default: the tutorial one above;
#                              "none" skips it)
#   GALAXY_UI_CONFIG=config_small.yaml   the test-data config to upload (config.yaml: the
#                              tutorial's own, 5 epochs)
#   GALAXY_UI_JOB_TIMEOUT=1200 seconds for the tool's job, and for the workflow, to finish
#   UPDATE_DOCS_SCREENSHOT=1   also refresh docs/images/galaxy_form.png (the filled tool form)
#   KEEP_GALAXY_RUNNING=1      leave the server up afterwards (debugging)
#   GALAXY_VENV, PYTHON, GALAXY_START_TIMEOUT   as in scripts/galaxy/lib.sh

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
GX_TAG=galaxy_ui_test
# shellcheck source=scripts/galaxy/lib.sh
. "$REPO/scripts/galaxy/lib.sh"

RUN_DIR="${GALAXY_UI_RUN_DIR:-$REPO/galaxy-ui-run}"
case "$RUN_DIR" in /*) ;; *) RUN_DIR="$REPO/$RUN_DIR" ;; esac
ARTIFACTS_DIR="$REPO/tests/galaxy_ui/artifacts"
WORKFLOW_FILE="${GALAXY_UI_WORKFLOW:-$REPO/workflows/mnist-image-classifier/mnist-image-classifier.ga}"
CONFIG_FILE="${GALAXY_UI_CONFIG:-config_small.yaml}"
EMAIL="tutorial@example.org"
USERNAME="tutorial"

# Galaxy is stopped however the script ends (lib.sh's EXIT trap, unless KEEP_GALAXY_RUNNING=1);
# the phases' times and the wall time are printed.
GX_KEEP_RUNNING="${KEEP_GALAXY_RUNNING:-0}"
GX_KEEP_HINT="log in as $EMAIL (password in $RUN_DIR/login.env)"
# shellcheck disable=SC2317,SC2329  # called from lib.sh's EXIT trap
gx_exit_hook() { gx_print_wall_time "$GX_EXIT_RC"; }
gx_trap_exit

# --------------------------------------------------------------------------
gx_phase_start install
"$REPO/scripts/setup_browser.sh"
CHROMIUM_PATH="$(command -v chromium)" || gx_die "chromium is not installed"
gx_install
gx_phase_end

# --------------------------------------------------------------------------
gx_phase_start start
PORT="${GALAXY_UI_PORT:-$(gx_free_port)}"
gx_start --web-ui "$RUN_DIR" "$PORT"
PASSWORD="$(gx_random_hex 8)"
gx_login_user "$EMAIL" "$USERNAME" "$PASSWORD"
{
    echo "GALAXY_URL=$GALAXY_URL"
    echo "GALAXY_EMAIL=$EMAIL"
    echo "GALAXY_PASSWORD=$PASSWORD"
} > "$RUN_DIR/login.env"
chmod 600 "$RUN_DIR/login.env"
if [ "$WORKFLOW_FILE" = "none" ]; then
    gx_log "GALAXY_UI_WORKFLOW=none: the workflow steps are skipped"
    WORKFLOW_FILE=""
elif [ ! -f "$WORKFLOW_FILE" ]; then
    gx_log "no ${WORKFLOW_FILE#"$REPO"/} yet: the workflow steps are skipped"
    WORKFLOW_FILE=""
else
    # Through the API, as galaxy_serve.sh does; a workflow Galaxy refuses fails the test.
    gx_import_workflow "$USER_API_KEY" "$WORKFLOW_FILE" \
        || gx_die "Galaxy refused to import ${WORKFLOW_FILE#"$REPO"/} (the error is above)"
    gx_log "imported ${WORKFLOW_FILE#"$REPO"/}"
fi
gx_phase_end

# --------------------------------------------------------------------------
gx_phase_start browser
FORM_SCREENSHOT="$ARTIFACTS_DIR/tool-form.png"
status=0
GALAXY_URL="$GALAXY_URL" GALAXY_EMAIL="$EMAIL" GALAXY_PASSWORD="$PASSWORD" \
CHROMIUM_PATH="$CHROMIUM_PATH" TEST_DATA_DIR="$REPO/test-data" CONFIG_FILE="$CONFIG_FILE" \
ARTIFACTS_DIR="$ARTIFACTS_DIR" FORM_SCREENSHOT="$FORM_SCREENSHOT" WORKFLOW_FILE="$WORKFLOW_FILE" \
JOB_TIMEOUT_S="${GALAXY_UI_JOB_TIMEOUT:-1200}" \
    node "$REPO/tests/galaxy_ui/tutorial.mjs" || status=$?
if [ "$status" -eq 0 ] && [ "${UPDATE_DOCS_SCREENSHOT:-0}" = "1" ]; then
    mkdir -p "$REPO/docs/images"
    cp "$FORM_SCREENSHOT" "$REPO/docs/images/galaxy_form.png"
    gx_log "updated docs/images/galaxy_form.png ($(stat -c %s "$REPO/docs/images/galaxy_form.png") bytes)"
fi
if [ "$status" -ne 0 ]; then
    gx_log "the browser walk-through failed; screenshots and page text: ${ARTIFACTS_DIR#"$REPO"/}/"
    gx_log "last 40 lines of ${RUN_DIR#"$REPO"/}/galaxy.log (without its HTTP access lines):"
    grep -v '^INFO: .* HTTP/1.1" ' "$RUN_DIR/galaxy.log" | tail -n 40 >&2
fi
gx_phase_end
exit "$status"
