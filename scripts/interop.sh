#!/usr/bin/env bash
# Interoperability with real peers: Python `websockets` and node `ws`, each
# as client against stdws's servers (examples/interop_server, and `stdws
# serve`'s /echo and /chat) and as server for stdws's client, with and
# without permessage-deflate; Python `websockets` over TLS both ways, with
# each stdws TLS backend (a CA and a certificate for localhost made with
# `openssl` at run time); then headless Chromium against the console
# (scripts/interop-browser.sh). Hixie-76: Autobahn|Python 0.10.9's client
# (protocol version 0) against `stdws serve --hixie76` (echo, a chat mixing
# hixie-76 and RFC 6455 clients, shutdown) and the Server of
# examples/interop_server (a close the server starts). `stdws connect`
# through real proxies (scripts/interop-proxy.sh).
#
#   scripts/interop.sh
#
# Installs its peers on first use: a virtualenv in target/interop/venv with
# interop/requirements.txt, and `npm ci` in interop/ (node_modules). Needs
# python3 (with venv) and node/npm. The hixie-76 client runs in the
# virtualenv of the Autobahn tools (AUTOBAHN_TOOLS, default
# ../shared/tools/autobahn beside this repository; its setup.sh builds it).
# Every run is bounded in time; a failed check fails the script.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/target/interop/venv"
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import websockets' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r interop/requirements.txt
fi
if [[ ! -d interop/node_modules/ws ]]; then
  (cd interop && npm ci --silent --no-audit --no-fund)
fi
cargo build --release --examples --bins --features rustls --quiet
BIN="$ROOT/target/release/examples"
PY="$VENV/bin/python"

. "$ROOT/scripts/lib.sh"

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
failed=0

# run_pair NAME SERVER_CMD... -- CLIENT_CMD...   (PORT in either is replaced)
run_pair() {
  local name="$1"; shift
  local port; port="$(free_port)"
  local server=() client=()
  while [[ "$1" != "--" ]]; do server+=("${1//PORT/$port}"); shift; done
  shift
  for a in "$@"; do client+=("${a//PORT/$port}"); done
  echo "== $name"
  "${server[@]}" > "target/interop/$name.server.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_port "$port"
  if timeout 120 "${client[@]}"; then
    echo "== $name: passed"
  else
    echo "== $name: FAILED (server log: target/interop/$name.server.log)" >&2
    failed=1
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

mkdir -p target/interop
run_pair websockets-client "$BIN/interop_server" PORT -- "$PY" interop/py_peer.py client ws://127.0.0.1:PORT/
run_pair ws-client "$BIN/interop_server" PORT -- node interop/node_peer.js client ws://127.0.0.1:PORT/
run_pair websockets-server "$PY" interop/py_peer.py server PORT -- "$BIN/interop_client" ws://127.0.0.1:PORT/
run_pair ws-server node interop/node_peer.js server PORT -- "$BIN/interop_client" ws://127.0.0.1:PORT/
# The same with permessage-deflate on both sides.
run_pair websockets-client-deflate "$BIN/interop_server" PORT --deflate -- "$PY" interop/py_peer.py client ws://127.0.0.1:PORT/ --deflate
run_pair ws-client-deflate "$BIN/interop_server" PORT --deflate -- node interop/node_peer.js client ws://127.0.0.1:PORT/ --deflate
run_pair websockets-server-deflate "$PY" interop/py_peer.py server PORT --deflate -- "$BIN/interop_client" ws://127.0.0.1:PORT/ --deflate
run_pair ws-server-deflate node interop/node_peer.js server PORT --deflate -- "$BIN/interop_client" ws://127.0.0.1:PORT/ --deflate
SERVE=("$ROOT/target/release/stdws" serve --addr 127.0.0.1:PORT)
run_pair serve-websockets-echo "${SERVE[@]}" -- "$PY" interop/py_peer.py client ws://127.0.0.1:PORT/echo --echo-only
run_pair serve-ws-echo "${SERVE[@]}" -- node interop/node_peer.js client ws://127.0.0.1:PORT/echo --echo-only
run_pair serve-websockets-chat "${SERVE[@]}" -- "$PY" interop/py_peer.py chat ws://127.0.0.1:PORT/chat
run_pair serve-ws-chat "${SERVE[@]}" -- node interop/node_peer.js chat ws://127.0.0.1:PORT/chat
run_pair serve-deflate-websockets-echo "${SERVE[@]}" --deflate -- "$PY" interop/py_peer.py client ws://127.0.0.1:PORT/echo --echo-only --deflate
run_pair serve-deflate-ws-echo "${SERVE[@]}" --deflate -- node interop/node_peer.js client ws://127.0.0.1:PORT/echo --echo-only --deflate

CERTS="target/interop/certs"
make_test_certs "$CERTS"
for backend in native-tls rustls; do
  run_pair "websockets-client-wss-$backend" "$BIN/interop_server" PORT \
    --tls-cert "$CERTS/cert.pem" --tls-key "$CERTS/key.pem" --tls-backend "$backend" \
    -- "$PY" interop/py_peer.py client wss://localhost:PORT/ --ca "$CERTS/ca.pem"
  run_pair "websockets-server-wss-$backend" "$PY" interop/py_peer.py server PORT \
    --tls-cert "$CERTS/cert.pem" --tls-key "$CERTS/key.pem" \
    -- "$BIN/interop_client" wss://localhost:PORT/ --ca "$CERTS/ca.pem" --tls-backend "$backend"
done

# Hixie-76, opt-in: a real client of the old protocol (Autobahn|Python).
TOOLS="${AUTOBAHN_TOOLS:-$ROOT/../shared/tools/autobahn}"
[[ -x "$TOOLS/setup.sh" ]] || { echo "interop.sh: no Autobahn tools at $TOOLS (set AUTOBAHN_TOOLS)" >&2; exit 2; }
"$TOOLS/setup.sh" >/dev/null
AB_PY="${AUTOBAHN_VENV:-$HOME/.cache/autobahn-py3}/bin/python"
run_pair serve-hixie76-echo "${SERVE[@]}" --hixie76 -- "$AB_PY" interop/hixie76_peer.py echo ws://127.0.0.1:PORT/echo
run_pair serve-hixie76-chat "${SERVE[@]}" --hixie76 -- "$AB_PY" interop/hixie76_peer.py chat ws://127.0.0.1:PORT/chat
run_pair hixie76-server-close "$BIN/interop_server" PORT --hixie76 -- "$AB_PY" interop/hixie76_peer.py server-close ws://127.0.0.1:PORT/
# Shutdown: the client sends SIGTERM to the server, is closed cleanly, and
# the server exits by itself.
echo "== serve-hixie76-shutdown"
port="$(free_port)"
"${SERVE[@]/PORT/$port}" --hixie76 > target/interop/serve-hixie76-shutdown.server.log 2>&1 &
pid=$!
PIDS+=("$pid")
wait_port "$port"
if timeout 60 "$AB_PY" interop/hixie76_peer.py shutdown "ws://127.0.0.1:$port/echo" "$pid" \
   && timeout 10 tail --pid="$pid" -f /dev/null && wait "$pid"; then
  echo "== serve-hixie76-shutdown: passed"
else
  echo "== serve-hixie76-shutdown: FAILED (server log: target/interop/serve-hixie76-shutdown.server.log)" >&2
  failed=1
fi

echo "== proxies"
if ! scripts/interop-proxy.sh; then
  echo "== proxies: FAILED" >&2
  failed=1
fi

echo "== browser"
if ! scripts/interop-browser.sh; then
  echo "== browser: FAILED" >&2
  failed=1
fi

exit $failed
