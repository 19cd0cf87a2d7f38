#!/usr/bin/env bash
# make examples: each client example in examples/ against the server
# examples, as a user would run them, with the output checked:
#
#   split_client      against echo_server, chat and graceful_shutdown (SIGINT: 1001)
#   frames            against echo_server (fragments, ping, close, frame by frame)
#   echo_client       against echo_server
#   wss_basic_auth    client against its own server (certificates made with
#                     openssl at run time, as the example's header shows)
#
#   scripts/examples.sh
#
# Needs cargo, python3 (free ports) and openssl. Every step is bounded in
# time; the servers it starts are stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/scripts/lib.sh"

cargo build --quiet --examples
BIN="$ROOT/target/debug/examples"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
failed=0

# start NAME PORT CMD...: runs a server example in the background, logging
# to $WORK/NAME.log, and waits for its port.
start() {
  local name="$1" port="$2"; shift 2
  "$@" > "$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  wait_port "$port"
}

# check NAME EXPECTED_OUTPUT CMD... (stdin from $INPUT, default none):
# the command's standard output must be exactly EXPECTED_OUTPUT.
check() {
  local name="$1" expected="$2"; shift 2
  local got
  if got="$(timeout 30 "$@" < "${INPUT:-/dev/null}" 2> "$WORK/$name.err")" && [[ "$got" == "$expected" ]]; then
    echo "== $name: passed"
  else
    echo "== $name: FAILED" >&2
    printf -- '-- expected:\n%s\n-- got:\n%s\n-- stderr:\n' "$expected" "$got" >&2
    cat "$WORK/$name.err" >&2
    failed=1
  fi
}

echo_port="$(free_port)"
start echo_server "$echo_port" "$BIN/echo_server" "$echo_port"

printf 'one\ntwo\nthree\n' > "$WORK/lines"
INPUT="$WORK/lines" check split_client-echo $'one\ntwo\nthree\nclosed 1000 ""' \
  "$BIN/split_client" "ws://127.0.0.1:$echo_port/"
INPUT="$WORK/lines" check echo_client $'one\ntwo\nthree' \
  "$BIN/echo_client" "ws://127.0.0.1:$echo_port/"
check frames "$(printf '%s\n' \
  'pong         fin=true    14 bytes  are you there?' \
  'text         fin=true    23 bytes  Hello, fragmented world' \
  'close        fin=true     2 bytes  1000 ""')" \
  "$BIN/frames" "ws://127.0.0.1:$echo_port/"

# wait_line FILE TEXT: waits up to 10 s for TEXT in FILE.
wait_line() {
  for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no \"$2\" in $1" >&2
  return 1
}

# held_client NAME URL FD: a split_client on URL whose input is the fifo
# $WORK/NAME.in, held open on descriptor FD (closing FD ends its input);
# its output goes to $WORK/NAME.out and .err. Returns once it is
# connected, its pid in $held.
held_client() {
  local name="$1" url="$2" fd="$3"
  mkfifo "$WORK/$name.in"
  timeout 30 "$BIN/split_client" "$url" < "$WORK/$name.in" \
    > "$WORK/$name.out" 2> "$WORK/$name.err" &
  held=$!
  PIDS+=("$held")
  eval "exec $fd> \"\$WORK/$name.in\""
  wait_line "$WORK/$name.err" connected
}

# Two split clients in the chat room: one listens (its stdin held open),
# the other says one line and leaves; the listener hears it, then closes
# with 1000 when its own input ends.
chat_port="$(free_port)"
start chat "$chat_port" "$BIN/chat" "$chat_port"
held_client listener "ws://127.0.0.1:$chat_port/chat" 3
listener=$held
echo 'hello room' | timeout 30 "$BIN/split_client" "ws://127.0.0.1:$chat_port/chat" > /dev/null 2>&1
wait_line "$WORK/listener.out" ': hello room$'
exec 3>&-
if wait "$listener" && grep -q '^closed 1000 ' "$WORK/listener.out"; then
  echo "== split_client-chat: passed"
else
  echo "== split_client-chat: FAILED" >&2
  cat "$WORK/listener.out" "$WORK/listener.err" >&2
  failed=1
fi

# graceful_shutdown: SIGINT closes a connected split_client with 1001 and
# the server exits.
stop_port="$(free_port)"
start graceful_shutdown "$stop_port" "$BIN/graceful_shutdown" "$stop_port"
server=$!
held_client idle "ws://127.0.0.1:$stop_port/" 4
client=$held
kill -INT "$server"
if wait "$client" && grep -q '^closed 1001 ' "$WORK/idle.out" \
    && timeout 10 tail --pid="$server" -f /dev/null && wait "$server" && grep -q '^stopped$' "$WORK/graceful_shutdown.log"; then
  echo "== graceful_shutdown: passed"
else
  echo "== graceful_shutdown: FAILED" >&2
  cat "$WORK/idle.out" "$WORK/idle.err" "$WORK/graceful_shutdown.log" >&2
  failed=1
fi
exec 4>&-

# wss_basic_auth: the openssl commands of the example's header, then its
# server and its client.
make_test_certs "$WORK/certs"
wss_port="$(free_port)"
start wss_basic_auth "$wss_port" "$BIN/wss_basic_auth" server \
  "$WORK/certs/cert.pem" "$WORK/certs/key.pem" "$wss_port"
check wss_basic_auth 'alice: hello over wss' \
  "$BIN/wss_basic_auth" client "$WORK/certs/ca.pem" "wss://localhost:$wss_port/echo"

exit "$failed"
