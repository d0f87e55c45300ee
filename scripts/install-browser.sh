#!/usr/bin/env bash
# Installs what the browser test (tests/test_ui.py) drives: Debian's chromium and chromium-driver.
# Idempotent and quiet: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi

fail() {
    echo "install-browser: $*" >&2
    exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found; install Debian's chromium and chromium-driver by hand"

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || fail "not root and sudo is missing; cannot install chromium"
    SUDO=(sudo -n)
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

"${SUDO[@]}" apt-get update -qq >"$log" 2>&1 \
    || { cat "$log" >&2; fail "apt-get update failed"; }
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >"$log" 2>&1 \
    || { cat "$log" >&2; fail "apt-get install chromium chromium-driver failed"; }

[[ -x /usr/bin/chromium ]] || fail "chromium installed but /usr/bin/chromium is missing"
