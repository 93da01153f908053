#!/usr/bin/env bash
# Installs what the browser tests need:
#   - Debian's chromium (never a browser download: `npx playwright install` fails offline),
#   - playwright-core, pinned exactly in each package.json and package-lock.json of
#       tests/browser/    the HTML report check (tests/test_report_browser.py)
#       tests/galaxy_ui/  the Galaxy web UI walk-through (scripts/galaxy_ui_test.sh)
# Idempotent: a second run changes nothing and takes about a second.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_dirs=("$repo_root/tests/browser" "$repo_root/tests/galaxy_ui")

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v chromium >/dev/null 2>&1; then
    echo "setup_browser: installing Debian's chromium"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
echo "setup_browser: $(chromium --version)"

if ! command -v npm >/dev/null 2>&1; then
    echo "setup_browser: npm is missing (install Debian's nodejs and npm)" >&2
    exit 1
fi

for browser_dir in "${node_dirs[@]}"; do
    [ -f "$browser_dir/package.json" ] || continue
    wanted="$(node -p "require('$browser_dir/package.json').dependencies['playwright-core']")"
    installed=""
    if [ -f "$browser_dir/node_modules/playwright-core/package.json" ]; then
        installed="$(node -p "require('$browser_dir/node_modules/playwright-core/package.json').version")"
    fi
    if [ "$installed" != "$wanted" ]; then
        echo "setup_browser: installing playwright-core $wanted in ${browser_dir#"$repo_root"/}"
        # The browser itself comes from Debian (above); never let an install script fetch one.
        export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
        if [ -f "$browser_dir/package-lock.json" ]; then
            (cd "$browser_dir" && npm ci --no-audit --no-fund)
        else
            (cd "$browser_dir" && npm install --no-audit --no-fund --save-exact)
        fi
    fi
    echo "setup_browser: ${browser_dir#"$repo_root"/}: playwright-core $(node -p "require('$browser_dir/node_modules/playwright-core/package.json').version")"
done
