#!/usr/bin/env bash
# Headless Chromium against `stdws serve`: the echo console's self-test and
# a typed message through the console, checked in the page (WebDriver).
#
# Needs Debian's `chromium` and `chromium-driver` (installed with apt-get
# when missing and running as root) and python3. Usage: scripts/interop-browser.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "interop-browser: needs chromium and chromium-driver (apt-get install chromium chromium-driver)" >&2
        exit 1
    fi
fi

cargo build --release --quiet --bin stdws
# run_browser [SERVE FLAGS...] [-- EXPECTED EXTENSION]
run_browser() {
    local flags=() expect=()
    while [ $# -gt 0 ]; do
        if [ "$1" = "--" ]; then shift; expect=("$@"); break; fi
        flags+=("$1"); shift
    done
    local log server addr=""
    log=$(mktemp)
    target/release/stdws serve --addr 127.0.0.1:0 "${flags[@]}" 2>"$log" &
    server=$!
    # The server prints "console http://ADDR/ ..." once it listens.
    for _ in $(seq 100); do
        addr=$(sed -n 's|.*console http://\([^/]*\)/.*|\1|p' "$log")
        [ -n "$addr" ] && break
        sleep 0.1
    done
    local status=0
    if [ -z "$addr" ]; then
        echo "interop-browser: stdws serve did not start" >&2; cat "$log" >&2; status=1
    else
        python3 scripts/browser_selftest.py "http://$addr" "${expect[@]}" || status=1
    fi
    kill -INT "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -f "$log"
    return $status
}

run_browser
echo "-- with permessage-deflate (Chromium offers it with client_max_window_bits)"
run_browser --deflate -- permessage-deflate
