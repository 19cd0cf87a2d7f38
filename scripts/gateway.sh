#!/usr/bin/env bash
# `stdws gateway` against a real web application: interop/gateway/app.py
# (Python's http.server) records the hooks, Python `websockets` clients
# connect, the control API is driven over HTTP; every case of
# interop/gateway/check.py, then the TyphoonAE application of
# interop/gateway/typhoonae_app.py unchanged, then one WebSocket-over-HTTP
# backend (interop/gateway/woh_backend.py) through Pushpin and through
# `stdws gateway --websocket-over-http`, compared; and two gateways sharing
# one redis-server (--redis).
#
#   scripts/gateway.sh [CASE...]
#
# Installs its client on first use (a virtualenv in target/gateway/venv with
# interop/requirements.txt). Needs python3 with venv; installs Debian's
# pushpin (which brings zurl and condure) and redis-server when missing
# (apt-get; sudo when not root). Every service is started on a free loopback
# port and stopped; every case is bounded in time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/lib.sh
if [[ $# -eq 0 ]]; then
  need_redis_server
  need_debian pushpin pushpin
fi
VENV="$ROOT/target/gateway/venv"
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import websockets' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r interop/requirements.txt
fi
cargo build --release -p stdws-cli --quiet
BIN="$ROOT/target/release/stdws"
PY=("$VENV/bin/python" -W ignore::DeprecationWarning)

failed=0
echo "== gateway: hooks, control API, limits"
timeout 300 "${PY[@]}" interop/gateway/check.py "$BIN" "$@" || failed=1
if [[ $# -eq 0 ]]; then
  echo "== gateway --typhoonae: a TyphoonAE application, unchanged"
  timeout 120 "${PY[@]}" interop/gateway/check_typhoonae.py "$BIN" || failed=1
  echo "== gateway --redis: two gateways on one redis-server act as one"
  if command -v redis-server >/dev/null; then
    timeout 120 "${PY[@]}" interop/gateway/check_cluster.py "$BIN" || failed=1
  else
    echo "redis-server is not installed (Debian package redis-server)" >&2
    failed=1
  fi
  echo "== gateway --websocket-over-http: one backend through Pushpin and through stdws"
  if command -v pushpin >/dev/null; then
    timeout 180 "${PY[@]}" interop/gateway/check_over_http.py "$BIN" || failed=1
  else
    echo "pushpin is not installed (Debian package pushpin)" >&2
    failed=1
  fi
fi
exit "$failed"
