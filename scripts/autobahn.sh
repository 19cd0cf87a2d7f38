#!/usr/bin/env bash
# Runs the Autobahn TestSuite against stdws and compares every case's
# verdicts with autobahn/expected/<agent>.txt.
#
#   scripts/autobahn.sh [AGENT...]      (default: all agents)
#
#   server          examples/autobahn_server (echo on every path), fuzzingclient
#   client          examples/autobahn_client, fuzzingserver
#   wss-native-tls  scripts/wss_echo_server.rs over TLS (native-tls), fuzzingclient
#   wss-rustls      the same with the rustls backend
#   serve           `stdws serve` (the Server, thread per client) at ws://…/echo
#   serve-wss-native-tls  `stdws serve --deflate --tls-cert … --tls-key …` at wss://…/echo
#   serve-wss-rustls      the same with `--tls-backend rustls`
#
# The default is every agent but wss-native-tls and wss-rustls (a
# hand-built TLS server; the Server over TLS is what serve-wss-* test).
# AUTOBAHN_JOBS runs (default 2) go on at once.
#
# The wss agents of `stdws serve` use a CA and a certificate for localhost
# made at run time with `openssl` (in autobahn/reports/certs/).
#
# Environment:
#   AUTOBAHN_TOOLS   the suite's runner (default: ../shared/tools/autobahn
#                    beside this repository)
#   AUTOBAHN_CASES   case patterns (default: every case the expected file lists)
#   AUTOBAHN_UPDATE=1  write the verdicts to the expected files instead of comparing
#
# Reports go to autobahn/reports/<agent>/ (index.html per run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${AUTOBAHN_TOOLS:-$ROOT/../shared/tools/autobahn}"
RUN="$TOOLS/run.sh"
[[ -x "$RUN" ]] || { echo "autobahn.sh: no runner at $RUN (set AUTOBAHN_TOOLS)" >&2; exit 2; }
AGENTS=("$@")
[[ ${#AGENTS[@]} -gt 0 ]] || AGENTS=(server client serve-wss-native-tls serve-wss-rustls serve)

cd "$ROOT"
cargo build --release --examples --bins --all-features --quiet
BIN="$ROOT/target/release/examples"
STDWS="$ROOT/target/release/stdws"

. "$ROOT/scripts/lib.sh"

# The cases to run: AUTOBAHN_CASES, or those of the expected file.
cases_for() {
  local expected="$ROOT/autobahn/expected/$1.txt"
  if [[ -n "${AUTOBAHN_CASES:-}" ]]; then
    echo "$AUTOBAHN_CASES"
  elif [[ -f "$expected" ]] && grep -q '^12\.' "$expected"; then
    echo '*'
  else
    echo '1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*'
  fi
}

check() {
  local agent="$1" out="$ROOT/autobahn/reports/$1" expected="$ROOT/autobahn/expected/$1.txt"
  python3 "$ROOT/scripts/autobahn_verdicts.py" "$out" > "$out/verdicts.txt"
  if [[ "${AUTOBAHN_UPDATE:-0}" == 1 ]]; then
    mkdir -p "$(dirname "$expected")"
    cp "$out/verdicts.txt" "$expected"
    echo "autobahn.sh: wrote $expected"
  elif ! diff -u "$expected" "$out/verdicts.txt"; then
    echo "autobahn.sh: $agent verdicts differ from $expected" >&2
    return 1
  else
    echo "autobahn.sh: $agent: all $(wc -l < "$expected") cases as expected"
  fi
}

# run_server OUTDIR URL CMD... : start CMD (PORT replaced by a free port in
# CMD and URL), run the fuzzing client against URL, stop CMD.
run_server() {
  local out="$1" url="$2"; shift 2
  local port cmd=()
  port="$(free_port)"
  for a in "$@"; do cmd+=("${a//PORT/$port}"); done
  "${cmd[@]}" > "$out/server.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill "${SERVER_PID:-}" 2>/dev/null || true' EXIT
  wait_port "$port"
  "$RUN" --agent stdws server "${url//PORT/$port}" "$cases" "$out" || true
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# run_agent AGENT: one whole run, in a subshell of its own (agents run in
# parallel: the suite is one single-threaded Python process per run).
run_agent() {
  local agent="$1" out="$ROOT/autobahn/reports/$1" cases
  rm -rf "$out"
  mkdir -p "$out"
  cases="$(cases_for "$agent")"
  case "$agent" in
    server) run_server "$out" ws://127.0.0.1:PORT "$BIN/autobahn_server" PORT ;;
    wss-native-tls) run_server "$out" wss://127.0.0.1:PORT "$BIN/wss_echo_server" PORT native-tls ;;
    wss-rustls) run_server "$out" wss://127.0.0.1:PORT "$BIN/wss_echo_server" PORT rustls ;;
    serve) run_server "$out" ws://127.0.0.1:PORT/echo "$STDWS" serve --addr 127.0.0.1:PORT ;;
    serve-wss-native-tls | serve-wss-rustls)
      run_server "$out" wss://127.0.0.1:PORT/echo "$STDWS" serve --addr 127.0.0.1:PORT --deflate \
        --tls-cert "$CERTS/cert.pem" --tls-key "$CERTS/key.pem" --tls-backend "${agent#serve-wss-}"
      ;;
    client)
      local port
      port="$(free_port)"
      "$RUN" client "$port" "$cases" "$out" -- "$BIN/autobahn_client" "ws://127.0.0.1:$port" || true
      ;;
    *) echo "autobahn.sh: unknown agent $agent" >&2; return 2 ;;
  esac
  check "$agent"
}

CERTS="$ROOT/autobahn/reports/certs"
make_test_certs "$CERTS"
JOBS="${AUTOBAHN_JOBS:-2}"
mkdir -p "$ROOT/autobahn/reports"
pids=()
names=()
status=0
# Waits for the oldest running agent and prints its log.
reap() {
  local pid="${pids[0]}" name="${names[0]}"
  pids=("${pids[@]:1}")
  names=("${names[@]:1}")
  if ! wait "$pid"; then status=1; fi
  echo "==== autobahn: $name"
  cat "$ROOT/autobahn/reports/$name.log"
}
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
for agent in "${AGENTS[@]}"; do
  [[ ${#pids[@]} -lt $JOBS ]] || reap
  run_agent "$agent" > "$ROOT/autobahn/reports/$agent.log" 2>&1 &
  pids+=($!)
  names+=("$agent")
done
while [[ ${#pids[@]} -gt 0 ]]; do reap; done
exit $status
