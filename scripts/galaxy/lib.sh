# shellcheck shell=bash
# The one library of the Galaxy scripts (scripts/galaxy_tests.sh, galaxy_serve.sh and
# galaxy_ui_test.sh): install Galaxy 26.1.2 (with its web client and this package) and
# planemo, write Galaxy's config, start it and wait until it answers, create its users
# and API keys, stop it from an EXIT trap, and time a script's phases.
#
# Source it, at the top level, after setting REPO (the repository root) and GX_TAG (the
# log prefix). The three scripts share one .venv-galaxy (and its install markers), so
# they never reinstall each other's work.
#
# Environment knobs (all optional):
#   GALAXY_VENV             the Galaxy venv (default: .venv-galaxy)
#   PLANEMO_VENV            planemo's own venv (default: .venv-planemo)
#   PYTHON                  interpreter that creates the venvs and runs the helpers (python3)
#   GALAXY_START_TIMEOUT    seconds to wait for /api/version (600)

GALAXY_VERSION="26.1.2"
PLANEMO_VERSION="0.75.47"
PYTHON="${PYTHON:-python3}"
GALAXY_VENV="${GALAXY_VENV:-$REPO/.venv-galaxy}"
PLANEMO_VENV="${PLANEMO_VENV:-$REPO/.venv-planemo}"
# Galaxy's tool_dependency_dir: the tools' requirement, ludwig-mnist, in a venv of its own.
GX_TOOL_DEPS="${GX_TOOL_DEPS:-$REPO/.venv-tool-deps}"
GALAXY_START_TIMEOUT="${GALAXY_START_TIMEOUT:-600}"
GX_HELPERS="$REPO/scripts/galaxy"
# The project's tool ids whose HTML outputs a --web-ui Galaxy trusts (sanitize_allowlist_file),
# as the README asks admins to; the ids found in the panel's tool files are added to these.
GX_TRUSTED_TOOL_IDS=(ludwig_experiment ludwig_predict ludwig_evaluate ludwig_compare)

# Set by gx_start; read by gx_stop and the EXIT trap.
GALAXY_PID=""
GALAXY_URL=""
# The EXIT trap's settings (gx_trap_exit), for the calling script to change.
GX_KEEP_RUNNING=0   # 1: leave a running Galaxy up (the scripts honouring KEEP_GALAXY_RUNNING set it)
GX_KEEP_HINT=""     # then also say this (where the connection details or the login are)

gx_log() { printf '[%s %s] %s\n' "${GX_TAG:-galaxy}" "$(date +%H:%M:%S)" "$*" >&2; }
gx_die() { gx_log "ERROR: $*"; exit 1; }

# --------------------------------------------------------------------------
# Timing: gx_phase_start NAME ... gx_phase_end; the EXIT trap prints every phase.
# --------------------------------------------------------------------------
GX_T0=$SECONDS
declare -gA GX_PHASE_SECONDS=()
GX_PHASE_ORDER=()
gx_phase_start() { GX_PHASE_NAME="$1"; GX_PHASE_T0=$SECONDS; gx_log "=== phase: $1"; }
gx_phase_end() {
    GX_PHASE_SECONDS[$GX_PHASE_NAME]=$((SECONDS - GX_PHASE_T0))
    GX_PHASE_ORDER+=("$GX_PHASE_NAME")
    gx_log "=== phase $GX_PHASE_NAME took ${GX_PHASE_SECONDS[$GX_PHASE_NAME]} s"
}
gx_print_timings() {
    local name
    for name in ${GX_PHASE_ORDER[@]+"${GX_PHASE_ORDER[@]}"}; do
        printf '[%s] timing: %-16s %5d s\n' "${GX_TAG:-galaxy}" "$name" "${GX_PHASE_SECONDS[$name]}" >&2
    done
}
gx_elapsed() { echo "$((SECONDS - GX_T0))"; }  # seconds since lib.sh was sourced
gx_print_wall_time() {  # exit status
    printf '[%s] wall time: %d s (%s)\n' "${GX_TAG:-galaxy}" "$(gx_elapsed)" \
        "$([ "$1" -eq 0 ] && echo PASSED || echo "FAILED, exit $1")" >&2
}

# --------------------------------------------------------------------------
# Install: the venvs, each reused when its marker says it is complete.
# --------------------------------------------------------------------------
gx_pip_logged() {  # venv, log file, pip install arguments...
    local venv="$1" logfile="$2"; shift 2
    if ! { "$venv/bin/python" -m pip install --upgrade pip && "$venv/bin/python" -m pip install "$@"; } \
            > "$logfile" 2>&1; then
        tail -n 40 "$logfile" >&2
        gx_die "pip install $* into $venv failed (log: $logfile)"
    fi
}

# A venv install is complete when its marker VENV/.galaxy-tests-NAME holds WANT and BIN exists.
gx_marker_is() {  # venv, name, want, bin
    local marker="$1/.galaxy-tests-$2"
    [ -f "$marker" ] && [ "$(cat "$marker")" = "$3" ] && [ -x "$1/bin/$4" ]
}
gx_marked_pip() {  # venv, name, want, pip install arguments...: install, then record the marker
    local venv="$1" name="$2" want="$3"; shift 3
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    gx_pip_logged "$venv" "$venv/.galaxy-tests-$name.log" "$@"
    echo "$want" > "$venv/.galaxy-tests-$name"
}

# The server.
gx_install_galaxy() {
    local want="galaxy-app==$GALAXY_VERSION galaxy-web-apps==$GALAXY_VERSION"
    if gx_marker_is "$GALAXY_VENV" galaxy "$want" galaxy-web; then
        gx_log "Galaxy $GALAXY_VERSION already installed in $GALAXY_VENV"
    else
        gx_log "installing Galaxy $GALAXY_VERSION into $GALAXY_VENV (takes ~4 min)"
        # shellcheck disable=SC2086
        gx_marked_pip "$GALAXY_VENV" galaxy "$want" $want
    fi
}

# The prebuilt web client (the UI's JavaScript), found by Galaxy on its own; the tool
# tests need only the API. Its version must equal the server's: an older client on a
# 26.1 server is a blank page.
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

# This package, as a Galaxy admin provides a tool's requirement: NOT in Galaxy's own venv,
# but in a venv of its own that Galaxy's `galaxy_packages` dependency resolver activates for
# the tools' <requirement type="package" version="V">ludwig-mnist</requirement>:
#   $GX_TOOL_DEPS/ludwig-mnist/V/env.sh    (sourced before each job; puts venv/bin first on PATH)
#   $GX_TOOL_DEPS/ludwig-mnist/V/venv/     (ludwig-mnist, editable, with TensorFlow)
# galaxy.yml names $GX_TOOL_DEPS as tool_dependency_dir (gx_write_config). Code changes need no
# reinstall; dependency changes (pyproject.toml) do, so the marker records its checksum.
gx_package_version() { sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$REPO/ludwig_mnist/__init__.py"; }
gx_install_package() {
    local version want dir where
    version="$(gx_package_version)"
    [ -n "$version" ] || gx_die "no __version__ in ludwig_mnist/__init__.py"
    dir="$GX_TOOL_DEPS/ludwig-mnist/$version"
    want="$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1) $REPO"
    if gx_marker_is "$dir/venv" package "$want" ludwig-mnist && [ -f "$dir/env.sh" ]; then
        gx_log "ludwig-mnist $version already installed (editable) in $dir/venv"
    else
        gx_log "installing ludwig-mnist $version (editable) into $dir/venv, Galaxy's tool dependency"
        # The admin's script (docs/galaxy_admin.md), editable here: it makes the venv and its env.sh.
        mkdir -p "$dir"
        if ! PYTHON="$PYTHON" "$REPO/scripts/make_tool_dependency.sh" --editable "$GX_TOOL_DEPS" "$REPO" \
                > "$dir/make_tool_dependency.log" 2>&1; then
            tail -n 40 "$dir/make_tool_dependency.log" >&2
            gx_die "scripts/make_tool_dependency.sh failed (log: $dir/make_tool_dependency.log)"
        fi
        echo "$want" > "$dir/venv/.galaxy-tests-package"
    fi
    # Harness venvs from before this route had the package in Galaxy's venv: remove it there, so
    # that the jobs can only find it through the dependency resolver.
    if [ -e "$GALAXY_VENV/bin/ludwig-mnist" ]; then
        gx_log "removing ludwig-mnist from Galaxy's own venv (the jobs get it from the resolver)"
        "$GALAXY_VENV/bin/python" -m pip uninstall -y ludwig-mnist > /dev/null
        rm -f "$GALAXY_VENV/.galaxy-tests-package"
    fi
    [ ! -e "$GALAXY_VENV/bin/ludwig-mnist" ] || gx_die "ludwig-mnist is still in $GALAXY_VENV"
    where="$("$dir/venv/bin/python" -c 'import ludwig_mnist, os; print(os.path.dirname(os.path.dirname(os.path.abspath(ludwig_mnist.__file__))))')"
    [ "$where" = "$REPO" ] || gx_die "ludwig_mnist in $dir/venv resolves to $where, not $REPO"
}

# Galaxy, its web client and this package: everything a server needs.
gx_install() {
    gx_install_galaxy
    gx_install_web_client
    gx_install_package
}

# planemo, the tool tests' client, lives in its own venv: it pins galaxy-tool-util and
# galaxy-util versions that must not fight with the server's galaxy-app.
gx_install_planemo() {
    if gx_marker_is "$PLANEMO_VENV" planemo "planemo==$PLANEMO_VERSION" planemo; then
        gx_log "planemo $PLANEMO_VERSION already installed in $PLANEMO_VENV"
    else
        gx_log "installing planemo $PLANEMO_VERSION into $PLANEMO_VENV (takes ~70 s)"
        # The test client evaluates the assertions: pillow + numpy for has_image_*,
        # h5py for has_h5_keys (planemo brings them today; pinning them here keeps it so).
        gx_marked_pip "$PLANEMO_VENV" planemo "planemo==$PLANEMO_VERSION" \
            "planemo==$PLANEMO_VERSION" pillow numpy h5py
    fi
}

# --------------------------------------------------------------------------
# Config and start
# --------------------------------------------------------------------------

# Every tools/*.xml whose root is <tool> (macros.xml is not a tool) → GX_TOOL_FILES
# (empty if there is none).
gx_find_tools() {
    GX_TOOL_FILES=()
    local f
    for f in "$REPO"/tools/*.xml; do
        [ -f "$f" ] || continue
        if grep -q '<tool[[:space:]>]' "$f"; then GX_TOOL_FILES+=("$f"); fi
    done
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

# Stop a server recorded in RUN_DIR/galaxy.pid by an earlier run (one left up by
# KEEP_GALAXY_RUNNING=1, or by a killed script), only if that pid is still a
# galaxy-web: pids get reused.
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

gx_free_port() { "$PYTHON" "$GX_HELPERS/free_port.py"; }  # prints a free loopback port

gx_port_free() {  # port → status 0 if nothing listens on 127.0.0.1:port
    "$PYTHON" - "$1" <<'EOF'
import socket, sys
with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except (OSError, ValueError):
        sys.exit(1)
EOF
}

gx_random_hex() { od -An -N"${1:-16}" -tx1 /dev/urandom | tr -d ' \n'; }

# galaxy.yml and tool_conf.xml (scripts/galaxy/make_config.py) for GX_TOOL_FILES.
gx_write_config() {  # run_dir web_ui(0|1) [tool_shed_url]
    local run_dir="$1" web_ui="$2" shed_url="${3:-}" ui_args=() tool_id test_data="$REPO/test-data"
    if [ "$web_ui" = "1" ]; then
        ui_args+=(--section_name "Ludwig (this repository)" --url "$GALAXY_URL")
        while IFS= read -r tool_id; do
            ui_args+=(--sanitize_allowlist "$tool_id")
        done < <(gx_tool_ids)
    fi
    if [ -n "$shed_url" ]; then
        # Installs from that Tool Shed; the tests read the installed copy's test-data, not the checkout's.
        ui_args+=(--tool_shed_url "$shed_url")
        test_data="$run_dir/no-test-data"
        mkdir -p "$test_data"
    fi
    # The data managers (data_managers/*/) and the tools' data tables: the weights the experiment tool offers
    # (a Galaxy that installs from a Tool Shed gets the tools' tables with the installed repository).
    local dm
    if [ -z "$shed_url" ]; then
        for dm in "$REPO"/data_managers/*/data_manager_conf.xml; do
            [ -f "$dm" ] && ui_args+=(--data_manager "$(dirname "$dm")")
        done
        [ -f "$REPO/tools/tool_data_table_conf.xml.sample" ] && \
            ui_args+=(--tool_data_tables "$REPO/tools/tool_data_table_conf.xml.sample")
    fi
    "$PYTHON" "$GX_HELPERS/make_config.py" \
        --run_dir "$run_dir" --test_data_dir "$test_data" \
        --bootstrap_key "$BOOTSTRAP_KEY" --id_secret "$ID_SECRET" \
        --tool_dependency_dir "$GX_TOOL_DEPS" \
        ${ui_args[@]+"${ui_args[@]}"} ${GX_TOOL_FILES[@]+"${GX_TOOL_FILES[@]}"}
}

# Start Galaxy and wait until it answers.
#   gx_start [--keep] [--web-ui] RUN_DIR PORT [TOOL_FILE...]
# The tool panel: the TOOL_FILEs, else every tool of tools/*.xml.
#   --keep    reuse RUN_DIR's database, datasets and secrets (histories and users
#             survive); without it RUN_DIR is wiped first.
#   --web-ui  a server for people and the browser test: the panel section "Ludwig (this
#             repository)", galaxy_infrastructure_url, and the HTML allowlist of the
#             tools, so that their reports display as pages. Without it: the tool
#             tests' config (the panel section "Tools under test", no allowlist).
#   --shed URL  a Galaxy that trusts and installs from the Tool Shed at URL (scripts/galaxy/shed.sh),
#             with no tool of tools/ in its panel (unless TOOL_FILEs are given).
# Sets GALAXY_PID, GALAXY_URL, BOOTSTRAP_KEY and ID_SECRET; the log is RUN_DIR/galaxy.log.
# Ends the script (status 1, with the log's tail) if Galaxy does not come up.
gx_start() {
    local keep=0 web_ui=0 shed_url=""
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --keep) keep=1 ;;
            --web-ui) web_ui=1 ;;
            --shed) shed_url="$2"; shift ;;
            *) break ;;
        esac
        shift
    done
    [ "$#" -ge 2 ] || gx_die "usage: gx_start [--keep] [--web-ui] [--shed URL] RUN_DIR PORT [TOOL_FILE...]"
    local run_dir="$1" port="$2"
    shift 2
    if [ "$#" -gt 0 ]; then GX_TOOL_FILES=("$@"); elif [ -n "$shed_url" ]; then GX_TOOL_FILES=(); else gx_find_tools; fi
    [ "${#GX_TOOL_FILES[@]}" -gt 0 ] || [ -n "$shed_url" ] || gx_die "no tool XML files found under tools/"

    gx_stop_recorded "$run_dir"
    if [ "$keep" != "1" ]; then
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
    gx_write_config "$run_dir" "$web_ui" "$shed_url" || gx_die "could not write the Galaxy config in $run_dir"

    gx_log "starting Galaxy $GALAXY_VERSION on $GALAXY_URL (log: $run_dir/galaxy.log)"
    (
        cd "$run_dir" || exit 1
        # Jobs (upload included) run `python` from PATH: the Galaxy venv's; the tools' jobs get
        # ludwig-mnist from the dependency resolver (gx_install_package), which goes first.
        export PATH="$GALAXY_VENV/bin:$PATH"
        export VIRTUAL_ENV="$GALAXY_VENV"
        unset PYTHONPATH
        # setsid: galaxy-web's pid is its process group id, so gx_stop also ends its jobs.
        exec setsid galaxy-web -c "$run_dir/galaxy.yml" -b "127.0.0.1:$port"
    ) >> "$run_dir/galaxy.log" 2>&1 < /dev/null &
    GALAXY_PID=$!
    echo "$GALAXY_PID" > "$run_dir/galaxy.pid"

    if ! "$PYTHON" "$GX_HELPERS/bootstrap.py" wait --url "$GALAXY_URL" --pid "$GALAXY_PID" \
            --timeout "$GALAXY_START_TIMEOUT"; then
        gx_log "Galaxy did not come up; last 80 lines of $run_dir/galaxy.log:"
        tail -n 80 "$run_dir/galaxy.log" >&2
        exit 1
    fi
}

# --------------------------------------------------------------------------
# Users and API keys
# --------------------------------------------------------------------------

# The tool tests' users, admin@example.org (in admin_users) and tester@example.org:
# writes RUN_DIR/keys.env and sets ADMIN_KEY and USER_KEY.
gx_create_test_users() {  # run_dir
    "$PYTHON" "$GX_HELPERS/bootstrap.py" users --url "$GALAXY_URL" --bootstrap_key "$BOOTSTRAP_KEY" \
        > "$1/keys.env" || gx_die "could not create the test users"
    chmod 600 "$1/keys.env"
    # shellcheck disable=SC1091
    . "$1/keys.env"
}

# A user who logs in through the web UI: created with PASSWORD unless it exists;
# prints nothing, sets USER_API_KEY.
gx_login_user() {  # email username password
    local out
    out="$("$PYTHON" "$GX_HELPERS/bootstrap.py" login --url "$GALAXY_URL" --bootstrap_key "$BOOTSTRAP_KEY" \
        --email "$1" --username "$2" --password "$3")" || gx_die "could not create or find the user $1"
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
    for wf in ${all[@]+"${all[@]}"}; do
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

# --------------------------------------------------------------------------
# Stop, and the EXIT trap
# --------------------------------------------------------------------------

# Stop a server started in its own process group (jobs included): TERM, up to $3 seconds, then KILL.
# $1 = its pid, $2 = its name in the log.
gx_stop_group() {
    local pid="$1" name="$2" grace="$3"
    if kill -0 "$pid" 2>/dev/null; then
        gx_log "stopping $name (pid $pid)"
        kill -TERM -- "-$pid" 2>/dev/null || true
        for _ in $(seq 1 "$grace"); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        if kill -0 "$pid" 2>/dev/null; then
            gx_log "$name did not stop within $grace s; killing it"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

# Stop the server gx_start started.
gx_stop() {
    [ -n "${GALAXY_PID:-}" ] || return 0
    gx_stop_group "$GALAXY_PID" Galaxy 30
    GALAXY_PID=""
}

# Galaxy is stopped however the script ends (exit, error under set -e, Ctrl-C, TERM):
# call gx_trap_exit once, before gx_start. On exit the trap
#   - stops Galaxy, unless GX_KEEP_RUNNING=1 (it then says how to stop it, and GX_KEEP_HINT),
#   - prints the phase timings,
#   - calls gx_exit_hook if the script defines one: GX_EXIT_RC holds the exit status,
#     which the hook may change,
#   - exits with GX_EXIT_RC.
gx_trap_exit() {
    trap gx_on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# shellcheck disable=SC2317  # the EXIT trap
gx_on_exit() {
    GX_EXIT_RC=$?
    set +e
    # No second signal, and no SIGPIPE from a closed log pipe (`... | tee`), may cut the cleanup short.
    trap '' INT TERM PIPE
    if [ -n "${GALAXY_PID:-}" ] && [ "$GX_KEEP_RUNNING" = "1" ] && kill -0 "$GALAXY_PID" 2>/dev/null; then
        gx_log "KEEP_GALAXY_RUNNING=1: Galaxy stays up at $GALAXY_URL (pid $GALAXY_PID);"
        gx_log "  ${GX_KEEP_HINT:+$GX_KEEP_HINT; }stop it with: kill -- -$GALAXY_PID"
    else
        gx_stop
    fi
    gx_print_timings
    if declare -F gx_exit_hook > /dev/null; then
        gx_exit_hook
    fi
    exit "$GX_EXIT_RC"
}
