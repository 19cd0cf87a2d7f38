#!/usr/bin/env bash
# Headless Chromium against `stdws serve`: the echo console's self-test and
# a typed message through the console, checked in the page (WebDriver);
# first over http:// and ws://, then over https:// and wss:// with a
# certificate made at run time (Chromium runs with --ignore-certificate-errors).
#
# Needs Debian's `chromium` and `chromium-driver` (installed with apt-get
# when missing and running as root), python3 and openssl.
# Usage: scripts/interop-browser.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

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
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && { kill -INT $server 2>/dev/null; wait $server 2>/dev/null; }; rm -rf "$work"' EXIT
make_test_certs "$work/certs"

# browse SCHEME [serve options...] [-- EXTENSION]: starts `stdws serve`,
# runs the browser checks against its console (and that Chromium negotiated
# EXTENSION), stops it.
browse() {
    local scheme="$1" addr="" log="$work/serve-$1.log" flags=() expect=(); shift
    while [ $# -gt 0 ]; do
        if [ "$1" = "--" ]; then shift; expect=("$@"); break; fi
        flags+=("$1"); shift
    done
    target/release/stdws serve --addr 127.0.0.1:0 "${flags[@]}" 2>"$log" &
    server=$!
    # The server prints "console SCHEME://ADDR/ ..." once it listens.
    for _ in $(seq 100); do
        addr=$(sed -n "s|.*console $scheme://\([^/]*\)/.*|\1|p" "$log")
        [ -n "$addr" ] && break
        sleep 0.1
    done
    [ -n "$addr" ] || { echo "interop-browser: stdws serve did not start" >&2; cat "$log" >&2; return 1; }
    local status=0
    echo "== $scheme://$addr/"
    python3 scripts/browser_selftest.py "$scheme://$addr" "${expect[@]}" || status=1
    kill -INT $server 2>/dev/null; wait $server 2>/dev/null || true
    server=""
    return $status
}

failed=0
browse http || failed=1
# Chromium offers permessage-deflate with client_max_window_bits.
browse http --deflate -- permessage-deflate || failed=1
browse https --tls-cert "$work/certs/cert.pem" --tls-key "$work/certs/key.pem" || failed=1
exit $failed
