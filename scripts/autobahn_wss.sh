#!/usr/bin/env bash
# Autobahn TestSuite in server mode over wss://, once per TLS backend,
# against examples/wss_echo_server (a self-signed certificate made at start;
# the Autobahn client does not verify certificates).
#
#   scripts/autobahn_wss.sh [CASES]        # default: 1.*–10.* (--no-deflate)
#
# Finds the suite in $AUTOBAHN_TOOLS, else ../shared/tools/autobahn next to
# the repository. Reports go to autobahn/reports/wss-<backend>/. Exits
# non-zero if any case fails for any backend.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${AUTOBAHN_TOOLS:-$ROOT/../shared/tools/autobahn}"
CASES="${1:-*}"
[[ -x "$TOOLS/run.sh" ]] || { echo "autobahn_wss: no $TOOLS/run.sh (set AUTOBAHN_TOOLS)" >&2; exit 2; }

cd "$ROOT"
cargo build --release --all-features --example wss_echo_server
SERVER="$ROOT/target/release/examples/wss_echo_server"

pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT

status=0
for backend in native-tls rustls; do
  port=$(( 20000 + RANDOM % 30000 ))
  "$SERVER" "$port" "$backend" &
  pid=$!
  # Wait (bounded) until the server listens.
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  out="$ROOT/autobahn/reports/wss-$backend"
  rm -rf "$out"
  if ! "$TOOLS/run.sh" --no-deflate --agent "stdws-wss-$backend" server "wss://127.0.0.1:$port" "$CASES" "$out"; then
    status=1
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done
exit "$status"
