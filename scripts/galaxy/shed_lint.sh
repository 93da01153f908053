#!/usr/bin/env bash
# planemo shed_lint of the Tool Shed repository (tools/.shed.yml), from any clone location.
#
# planemo's remote_repository_url check wants the URL (.../tree/main/tools) to end with at
# least the last two folder names of the linted directory, and it resolves symlinks, so a
# clone in a folder not named "main" fails it. The repository's content (tools/ and the
# test-data/ that .shed.yml includes from ../) is therefore copied to <tmp>/main/ and
# linted there; nothing else differs from linting the checkout.
#
# usage: scripts/galaxy/shed_lint.sh [PLANEMO]   (default: .venv-planemo/bin/planemo)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PLANEMO="${1:-$REPO/.venv-planemo/bin/planemo}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/main"
cp -R "$REPO/tools" "$REPO/test-data" "$work/main/"
# --skip version_bumped: that check asks the public Tool Shed (offline here)
"$PLANEMO" shed_lint --tools --ensure_metadata --skip version_bumped "$work/main/tools"
# The data managers are Tool Shed repositories of their own (data_managers/NAME/.shed.yml); their
# remote_repository_url ends with data_managers/NAME, which every clone has, so they are linted in place.
for dm in "$REPO"/data_managers/*/.shed.yml; do
    [ -f "$dm" ] || continue
    "$PLANEMO" shed_lint --tools --ensure_metadata --skip version_bumped "$(dirname "$dm")"
done
