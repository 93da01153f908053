#!/usr/bin/env bash
# Provide the Galaxy tools' requirement
#     <requirement type="package" version="VERSION">ludwig-mnist</requirement>
# the way Galaxy's `galaxy_packages` dependency resolver finds it, in a venv of its own (never
# Galaxy's):
#     TOOL_DEPENDENCY_DIR/ludwig-mnist/VERSION/venv/     ludwig-mnist and TensorFlow
#     TOOL_DEPENDENCY_DIR/ludwig-mnist/VERSION/env.sh    sourced by Galaxy before each job of
#                                                        these tools: puts venv/bin first on PATH
#
# usage: scripts/make_tool_dependency.sh [--editable] TOOL_DEPENDENCY_DIR [SOURCE]
#   TOOL_DEPENDENCY_DIR  Galaxy's tool_dependency_dir (galaxy.yml), e.g. /srv/galaxy/var/dependencies
#   SOURCE               what pip installs: this checkout (the default), a release's sdist or
#                        wheel; VERSION is the checkout's ludwig_mnist/__init__.py __version__,
#                        and the installed package must report the same
#   --editable           pip install -e SOURCE (the test harness: code changes need no reinstall)
#
# Galaxy then needs, in galaxy.yml (galaxy: section):
#     tool_dependency_dir: TOOL_DEPENDENCY_DIR
#     dependency_resolvers:
#       - type: galaxy_packages
#       - type: conda            # keep it if the server resolves other tools with conda
# The install takes a few minutes and ~1.5 GB (TensorFlow). Rerunning it upgrades in place.
# Environment: PYTHON (python3), the interpreter that creates the venv (>= 3.10).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
editable=()
if [ "${1:-}" = "--editable" ]; then
    editable=(-e)
    shift
fi
if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    sed -n '2,22p' "$0" >&2
    exit 2
fi
deps_dir="$(mkdir -p "$1" && cd "$1" && pwd)"
source="${2:-$REPO}"
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$REPO/ludwig_mnist/__init__.py")"
if [ -z "$version" ]; then
    echo "error: no __version__ in $REPO/ludwig_mnist/__init__.py" >&2
    exit 2
fi
dir="$deps_dir/ludwig-mnist/$version"

echo "installing ludwig-mnist $version from $source into $dir/venv"
mkdir -p "$dir"
[ -x "$dir/venv/bin/python" ] || "$PYTHON" -m venv "$dir/venv"
"$dir/venv/bin/python" -m pip install --upgrade pip
"$dir/venv/bin/python" -m pip install --upgrade ${editable[@]+"${editable[@]}"} "$source"

installed="$("$dir/venv/bin/python" -c 'import ludwig_mnist; print(ludwig_mnist.__version__)')"
if [ "$installed" != "$version" ]; then
    echo "error: $source installed ludwig-mnist $installed, not $version (the tools' requirement)" >&2
    exit 1
fi
"$dir/venv/bin/ludwig-mnist" --version

# Written last: a Galaxy never sources an env.sh whose venv is not complete.
cat > "$dir/env.sh.tmp" <<EOF
# Written by scripts/make_tool_dependency.sh. Galaxy's galaxy_packages dependency resolver sources this
# before a job of a tool that requires ludwig-mnist $version: the tool's commands (ludwig-mnist,
# python) come from this venv, not from Galaxy's own.
export PATH="$dir/venv/bin:\$PATH"
EOF
mv "$dir/env.sh.tmp" "$dir/env.sh"
echo "wrote $dir/env.sh"
