#!/usr/bin/env bash
# Start a local Galaxy 26.1 with its web UI, this repository's tools (tools/*.xml)
# and workflows (workflows/*/*.ga), for trying the tool forms in a browser.
#
# Usage:
#   scripts/galaxy_serve.sh            # fresh server on http://127.0.0.1:8080
#   scripts/galaxy_serve.sh --keep     # reuse the previous start's users, histories and datasets
#   scripts/galaxy_serve.sh --port 9090
#
# It installs what it needs on first use (Galaxy 26.1.2, galaxy-web-client and this
# package into .venv-galaxy; ~4 min once), starts Galaxy (~50 s; its state lives in
# galaxy-serve/), creates the login admin@example.org, imports the workflows for it
# and prints the URL and the password. Ctrl-C stops Galaxy (jobs included).
#
# The HTML report of ludwig_experiment (and ludwig_predict, ludwig_compare) displays
# as a page: the generated config lists those tool ids in sanitize_allowlist_file.
#
# Environment knobs:
#   GALAXY_SERVE_PORT=8080            the port (or --port)
#   GALAXY_SERVE_DIR=galaxy-serve     where the config, database, datasets and log live
#   GALAXY_PASSWORD=...               the login's password when the user is created
#                                     (default: generated; kept in galaxy-serve/login.env,
#                                     which --keep reuses)
#   GALAXY_VENV, PYTHON, GALAXY_START_TIMEOUT   as in scripts/galaxy/lib.sh

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
GX_TAG=galaxy_serve
# shellcheck source=scripts/galaxy/lib.sh
. "$REPO/scripts/galaxy/lib.sh"

PORT="${GALAXY_SERVE_PORT:-8080}"
RUN_DIR="${GALAXY_SERVE_DIR:-$REPO/galaxy-serve}"
KEEP=0
while [ "$#" -gt 0 ]; do
    case "$1" in
        --keep) KEEP=1 ;;
        --port) PORT="${2:?--port needs a number}"; shift ;;
        --port=*) PORT="${1#--port=}" ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) gx_die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done
case "$RUN_DIR" in /*) ;; *) RUN_DIR="$REPO/$RUN_DIR" ;; esac

EMAIL="admin@example.org"
USERNAME="admin"

# Galaxy is stopped however the script ends (lib.sh's EXIT trap); Ctrl-C, the normal
# way to stop, exits with status 0.
# shellcheck disable=SC2317,SC2329  # called from lib.sh's EXIT trap
gx_exit_hook() { [ "$GX_EXIT_RC" -ne 130 ] || GX_EXIT_RC=0; }
gx_trap_exit

gx_install

# The password: GALAXY_PASSWORD, else the one a kept database already has, else a new one.
if [ "$KEEP" != "1" ]; then rm -f "$RUN_DIR/login.env"; fi
if [ -f "$RUN_DIR/login.env" ]; then
    # A kept database: its user already has a password, which a new GALAXY_PASSWORD cannot change.
    stored="$(sed -n 's/^GALAXY_PASSWORD=//p' "$RUN_DIR/login.env")"
    if [ -n "${GALAXY_PASSWORD:-}" ] && [ "$GALAXY_PASSWORD" != "$stored" ]; then
        gx_log "WARNING: --keep: the kept user's password stays the stored one, not GALAXY_PASSWORD"
    fi
    GALAXY_PASSWORD="$stored"
fi
GALAXY_PASSWORD="${GALAXY_PASSWORD:-$(gx_random_hex 8)}"

START_ARGS=(--web-ui)
if [ "$KEEP" = "1" ]; then START_ARGS+=(--keep); fi
gx_start "${START_ARGS[@]}" "$RUN_DIR" "$PORT"
gx_login_user "$EMAIL" "$USERNAME" "$GALAXY_PASSWORD"
{
    echo "GALAXY_URL=$GALAXY_URL"
    echo "GALAXY_EMAIL=$EMAIL"
    echo "GALAXY_PASSWORD=$GALAXY_PASSWORD"
    echo "GALAXY_API_KEY=$USER_API_KEY"
} > "$RUN_DIR/login.env"
chmod 600 "$RUN_DIR/login.env"
gx_import_workflows "$USER_API_KEY"

cat >&2 <<EOF

  Galaxy $GALAXY_VERSION is up ($(gx_elapsed) s):  $GALAXY_URL

  log in:    $EMAIL
  password:  $GALAXY_PASSWORD   (also in ${RUN_DIR#"$REPO"/}/login.env)
  tools:     Tools panel > "Ludwig (this repository)", or search "Ludwig"
  workflows: Workflows (left bar): ${#GX_WORKFLOWS[@]} imported from workflows/$([ "${#GX_WORKFLOWS_FAILED[@]}" -eq 0 ] || echo ", ${#GX_WORKFLOWS_FAILED[@]} REFUSED (see above)")
  inputs:    upload test-data/mnist_images.zip (zip), test-data/mnist_dataset.csv (csv)
             and test-data/config.yaml (yaml)
  log:       ${RUN_DIR#"$REPO"/}/galaxy.log

  Ctrl-C stops Galaxy.

EOF

# Wait for Ctrl-C (the INT trap ends the script, the EXIT trap stops Galaxy),
# or for Galaxy to exit on its own.
while kill -0 "$GALAXY_PID" 2>/dev/null; do
    wait "$GALAXY_PID" 2>/dev/null || true
done
gx_log "Galaxy exited on its own; see ${RUN_DIR#"$REPO"/}/galaxy.log"
GALAXY_PID=""
exit 1
