#!/usr/bin/env bash
# Two ludwig_experiment jobs at the same time in one real Galaxy 26.1.2 (the job config's LocalJobRunner has
# two workers): both must succeed, run concurrently and write separate outputs.  Reuses scripts/galaxy/lib.sh
# (install into .venv-galaxy, start, users, stop on exit, phase timings).
#
# Usage: scripts/galaxy_parallel_test.sh        Environment: GALAXY_RUN_DIR (default galaxy-run-parallel),
#        GALAXY_PORT, GALAXY_VENV, PARALLEL_TIMEOUT (seconds for uploads and both jobs, default 1200)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
GX_TAG=galaxy_parallel
# shellcheck source=scripts/galaxy/lib.sh
. "$REPO/scripts/galaxy/lib.sh"

RUN_DIR="${GALAXY_RUN_DIR:-$REPO/galaxy-run-parallel}"
case "$RUN_DIR" in /*) ;; *) RUN_DIR="$REPO/$RUN_DIR" ;; esac
gx_find_tools
GX_KEEP_RUNNING=0
gx_trap_exit

gx_phase_start install
gx_install
gx_phase_end

gx_phase_start start
PORT="${GALAXY_PORT:-$(gx_free_port)}"
gx_start "$RUN_DIR" "$PORT" "${GX_TOOL_FILES[@]}"
gx_create_test_users "$RUN_DIR"   # ADMIN_KEY (path uploads need an admin), USER_KEY
gx_phase_end

gx_phase_start parallel-jobs
"$PYTHON" "$GX_HELPERS/parallel_jobs.py" --url "$GALAXY_URL" --key "$ADMIN_KEY" --test-data "$REPO/test-data" \
    --timeout "${PARALLEL_TIMEOUT:-1200}"
gx_phase_end
