# shellcheck shell=bash
# Shared plumbing for scripts/galaxy_serve.sh and scripts/galaxy_ui_test.sh:
# install Galaxy 26.1.2 with its web client, write its config, start and stop it.
#
# Source it after setting REPO (the repository root) and GX_TAG (the log prefix).
# It follows scripts/galaxy_tests.sh: the same venv and the same install markers,
# so the three scripts share one .venv-galaxy and never reinstall each other's work.
#
# Environment knobs (all optional):
#   GALAXY_VENV             the Galaxy venv (default: .venv-galaxy)
#   PYTHON                  interpreter that creates the venv and runs the helpers (python3)
#   GALAXY_START_TIMEOUT    seconds to wait for /api/version (600)

GALAXY_VERSION="26.1.2"
PYTHON="${PYTHON:-python3}"
GALAXY_VENV="${GALAXY_VENV:-$REPO/.venv-galaxy}"
GALAXY_START_TIMEOUT="${GALAXY_START_TIMEOUT:-600}"
GX_HELPERS="$REPO/scripts/galaxy"
# The project's tool ids whose HTML outputs Galaxy must trust (sanitize_allowlist_file),
# as the README asks admins to; the ids found in tools/*.xml are added to these.
GX_TRUSTED_TOOL_IDS=(ludwig_experiment ludwig_predict ludwig_compare)

gx_log() { printf '[%s %s] %s\n' "${GX_TAG:-galaxy}" "$(date +%H:%M:%S)" "$*" >&2; }
gx_die() { gx_log "ERROR: $*"; exit 1; }

gx_pip_logged() {  # venv, log file, pip install arguments...
    local venv="$1" logfile="$2"; shift 2
    if ! { "$venv/bin/python" -m pip install --upgrade pip && "$venv/bin/python" -m pip install "$@"; } \
            > "$logfile" 2>&1; then
        tail -n 40 "$logfile" >&2
        gx_die "pip install $* into $venv failed (log: $logfile)"
    fi
}

# The server: the same marker and contents as scripts/galaxy_tests.sh's install_galaxy.
gx_install_galaxy() {
    local marker="$GALAXY_VENV/.galaxy-tests-galaxy"
    local want="galaxy-app==$GALAXY_VERSION galaxy-web-apps==$GALAXY_VERSION"
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && [ -x "$GALAXY_VENV/bin/galaxy-web" ]; then
        gx_log "Galaxy $GALAXY_VERSION already installed in $GALAXY_VENV"
    else
        gx_log "installing Galaxy $GALAXY_VERSION into $GALAXY_VENV (takes ~4 min)"
        [ -x "$GALAXY_VENV/bin/python" ] || "$PYTHON" -m venv "$GALAXY_VENV"
        # shellcheck disable=SC2086
        gx_pip_logged "$GALAXY_VENV" "$GALAXY_VENV/.galaxy-tests-galaxy.log" $want
        echo "$want" > "$marker"
        rm -f "$GALAXY_VENV/.galaxy-tests-package"
    fi
}

# The prebuilt web client (the UI's JavaScript), found by Galaxy on its own.
# Its version must equal the server's: an older client on a 26.1 server is a blank page.
gx_web_client_version() {
    "$GALAXY_VENV/bin/python" -c \
        'import importlib.metadata as m; print(m.version("galaxy-web-client"))' 2>/dev/null || true
}
gx_install_web_client() {
    if [ "$(gx_web_client_version)" = "$GALAXY_VERSION" ]; then
        gx_log "galaxy-web-client $GALAXY_VERSION already installed in $GALAXY_VENV"
    else
        gx_log "installing galaxy-web-client $GALAXY_VERSION into $GALAXY_VENV"
        gx_pip_logged "$GALAXY_VENV" "$GALAXY_VENV/.galaxy-tests-web-client.log" \
            "galaxy-web-client==$GALAXY_VERSION"
        [ "$(gx_web_client_version)" = "$GALAXY_VERSION" ] || gx_die "galaxy-web-client did not install"
    fi
}

# This package, editable, into the Galaxy venv (jobs run with its bin/ first on PATH).
# The same marker as scripts/galaxy_tests.sh's install_package.
gx_install_package() {
    local marker="$GALAXY_VENV/.galaxy-tests-package"
    local want
    want="$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1) $REPO"
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && [ -x "$GALAXY_VENV/bin/ludwig-mnist" ]; then
        gx_log "ludwig-mnist already installed (editable) in $GALAXY_VENV"
    else
        gx_log "installing ludwig-mnist (editable) into $GALAXY_VENV"
        gx_pip_logged "$GALAXY_VENV" "$GALAXY_VENV/.galaxy-tests-package.log" -e "$REPO"
        echo "$want" > "$marker"
    fi
    local where
    where="$("$GALAXY_VENV/bin/python" -c 'import ludwig_mnist, os; print(os.path.dirname(os.path.dirname(os.path.abspath(ludwig_mnist.__file__))))')"
    [ "$where" = "$REPO" ] || gx_die "ludwig_mnist in $GALAXY_VENV resolves to $where, not $REPO"
}

gx_install() {
    gx_install_galaxy
    gx_install_web_client
    gx_install_package
}

# Every tools/*.xml whose root is <tool> (macros.xml is not a tool) → GX_TOOL_FILES.
gx_find_tools() {
    GX_TOOL_FILES=()
    local f
    for f in "$REPO"/tools/*.xml; do
        [ -f "$f" ] || continue
        if grep -q '<tool[[:space:]>]' "$f"; then GX_TOOL_FILES+=("$f"); fi
    done
    [ "${#GX_TOOL_FILES[@]}" -gt 0 ] || gx_die "no tool XML files found under tools/"
}

# The ids of GX_TOOL_FILES plus GX_TRUSTED_TOOL_IDS, one a line.
gx_tool_ids() {
    {
        printf '%s\n' "${GX_TRUSTED_TOOL_IDS[@]}"
        "$PYTHON" - "${GX_TOOL_FILES[@]}" <<'EOF'
import sys
import xml.etree.ElementTree as ET
for path in sys.argv[1:]:
    tool_id = ET.parse(path).getroot().get("id")
    if tool_id:
        print(tool_id)
EOF
    } | sort -u
}

# Stop a server recorded in RUN_DIR/galaxy.pid by an earlier run of the same script
# (only if that pid is still a galaxy-web: pids get reused).
gx_stop_recorded() {  # run_dir
    local run_dir="$1" old_pid
    [ -f "$run_dir/galaxy.pid" ] || return 0
    old_pid="$(cat "$run_dir/galaxy.pid")"
    if [ -n "$old_pid" ] && kill -0 "$old_pid" 2>/dev/null && grep -q galaxy-web "/proc/$old_pid/cmdline" 2>/dev/null; then
        gx_log "stopping the Galaxy an earlier run left in $run_dir (pid $old_pid)"
        kill -TERM -- "-$old_pid" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$old_pid" 2>/dev/null || break; sleep 1; done
        kill -KILL -- "-$old_pid" 2>/dev/null || true
    fi
    rm -f "$run_dir/galaxy.pid"
}

gx_port_free() {  # port → status 0 if nothing listens on 127.0.0.1:port
    "$PYTHON" - "$1" <<'EOF'
import socket, sys
with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(1)
EOF
}

gx_random_hex() { od -An -N"${1:-16}" -tx1 /dev/urandom | tr -d ' \n'; }

# Start Galaxy with the web UI, the project's tools and the HTML allowlist.
#   gx_start RUN_DIR PORT [keep]
# Without "keep", RUN_DIR is wiped first. With it, the database, datasets and
# secrets of the previous start are reused (histories and users survive).
# Sets GALAXY_PID, GALAXY_URL, BOOTSTRAP_KEY; the log is RUN_DIR/galaxy.log.
gx_start() {
    local run_dir="$1" port="$2" keep="${3:-}"
    gx_find_tools
    gx_stop_recorded "$run_dir"
    if [ "$keep" != "keep" ]; then
        rm -rf "$run_dir"
    fi
    mkdir -p "$run_dir"
    gx_port_free "$port" || gx_die "port $port on 127.0.0.1 is in use (choose another one)"

    if [ ! -f "$run_dir/secrets.env" ]; then
        {
            echo "BOOTSTRAP_KEY=$(gx_random_hex 16)"
            echo "ID_SECRET=$(gx_random_hex 16)"
        } > "$run_dir/secrets.env"
        chmod 600 "$run_dir/secrets.env"
    fi
    # shellcheck disable=SC1091
    . "$run_dir/secrets.env"

    GALAXY_URL="http://127.0.0.1:$port"
    local allow_args=() tool_id
    while IFS= read -r tool_id; do
        allow_args+=(--sanitize_allowlist "$tool_id")
    done < <(gx_tool_ids)
    "$PYTHON" "$GX_HELPERS/make_config.py" \
        --run_dir "$run_dir" --test_data_dir "$REPO/test-data" \
        --bootstrap_key "$BOOTSTRAP_KEY" --id_secret "$ID_SECRET" \
        --section_name "Ludwig (this repository)" --url "$GALAXY_URL" \
        "${allow_args[@]}" "${GX_TOOL_FILES[@]}"

    gx_log "starting Galaxy $GALAXY_VERSION on $GALAXY_URL (log: $run_dir/galaxy.log)"
    (
        cd "$run_dir" || exit 1
        # Jobs (upload included) run `python` from PATH: the Galaxy venv's, with this package.
        export PATH="$GALAXY_VENV/bin:$PATH"
        export VIRTUAL_ENV="$GALAXY_VENV"
        unset PYTHONPATH
        exec setsid galaxy-web -c "$run_dir/galaxy.yml" -b "127.0.0.1:$port"
    ) >> "$run_dir/galaxy.log" 2>&1 < /dev/null &
    GALAXY_PID=$!
    echo "$GALAXY_PID" > "$run_dir/galaxy.pid"

    if ! "$PYTHON" "$GX_HELPERS/bootstrap.py" wait --url "$GALAXY_URL" --pid "$GALAXY_PID" \
            --timeout "$GALAXY_START_TIMEOUT"; then
        gx_log "Galaxy did not come up; last 60 lines of $run_dir/galaxy.log:"
        tail -n 60 "$run_dir/galaxy.log" >&2
        return 1
    fi
}

# Stop the server gx_start started (its whole process group: jobs included).
gx_stop() {
    [ -n "${GALAXY_PID:-}" ] || return 0
    if kill -0 "$GALAXY_PID" 2>/dev/null; then
        gx_log "stopping Galaxy (pid $GALAXY_PID)"
        kill -TERM -- "-$GALAXY_PID" 2>/dev/null
        for _ in $(seq 1 30); do
            kill -0 "$GALAXY_PID" 2>/dev/null || break
            sleep 1
        done
        if kill -0 "$GALAXY_PID" 2>/dev/null; then
            gx_log "Galaxy did not stop within 30 s; killing it"
            kill -KILL -- "-$GALAXY_PID" 2>/dev/null
        fi
    fi
    wait "$GALAXY_PID" 2>/dev/null || true
    GALAXY_PID=""
}

# Log in user: created with PASSWORD unless it exists; prints nothing, sets USER_API_KEY.
gx_login_user() {  # email username password
    local out
    out="$("$PYTHON" "$GX_HELPERS/bootstrap.py" login --url "$GALAXY_URL" --bootstrap_key "$BOOTSTRAP_KEY" \
        --email "$1" --username "$2" --password "$3")" || return 1
    # shellcheck disable=SC2034  # for the calling script
    USER_API_KEY="${out#API_KEY=}"
}

# Import every workflows/*/*.ga for the user with KEY (skips names already there).
# A workflow Galaxy refuses is a warning here (the server stays useful);
# GX_WORKFLOWS lists the files imported, GX_WORKFLOWS_FAILED the others.
gx_import_workflows() {  # key
    local wf
    GX_WORKFLOWS=()
    GX_WORKFLOWS_FAILED=()
    shopt -s nullglob
    local all=("$REPO"/workflows/*/*.ga)
    shopt -u nullglob
    for wf in "${all[@]}"; do
        if gx_import_workflow "$1" "$wf"; then
            GX_WORKFLOWS+=("$wf")
        else
            GX_WORKFLOWS_FAILED+=("$wf")
            gx_log "WARNING: Galaxy refused to import ${wf#"$REPO"/} (the error is above)"
        fi
    done
    [ "${#all[@]}" -gt 0 ] || gx_log "no workflows/*/*.ga yet: no workflow imported"
}

gx_import_workflow() {  # key file
    "$PYTHON" "$GX_HELPERS/bootstrap.py" import-workflow --url "$GALAXY_URL" --key "$1" "$2" > /dev/null
}
