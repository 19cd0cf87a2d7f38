#!/usr/bin/env bash
# Runs the Autobahn TestSuite against stdws and compares every case's
# verdicts with autobahn/expected/<agent>.txt.
#
#   scripts/autobahn.sh [AGENT...]      (default: all agents)
#
#   server          examples/autobahn_server (echo on every path), fuzzingclient
#   client          examples/autobahn_client, fuzzingserver
#   wss-native-tls  examples/wss_echo_server over TLS (native-tls), fuzzingclient
#   wss-rustls      the same with the rustls backend
#   serve           `stdws serve` (the Server, thread per client) at ws://…/echo
#   serve-wss-native-tls  `stdws serve --tls-cert … --tls-key …` at wss://…/echo
#   serve-wss-rustls      the same with `--tls-backend rustls`
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
[[ ${#AGENTS[@]} -gt 0 ]] || AGENTS=(server client wss-native-tls wss-rustls serve serve-wss-native-tls serve-wss-rustls)

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

SERVER_PID=""
# run_server OUTDIR URL CMD... : start CMD, then the fuzzing client against
# URL (PORT in both is replaced by a free port).
run_server() {
  local out="$1" url="$2"; shift 2
  local port cmd=()
  port="$(free_port)"
  for a in "$@"; do cmd+=("${a//PORT/$port}"); done
  "${cmd[@]}" > "$out/server.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$port"
  "$RUN" --agent stdws server "${url//PORT/$port}" "$cases" "$out" || true
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
trap '[[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true' EXIT

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

status=0
for agent in "${AGENTS[@]}"; do
  out="$ROOT/autobahn/reports/$agent"
  rm -rf "$out"
  mkdir -p "$out"
  cases="$(cases_for "$agent")"
  case "$agent" in
    server) run_server "$out" ws://127.0.0.1:PORT "$BIN/autobahn_server" PORT ;;
    wss-native-tls) run_server "$out" wss://127.0.0.1:PORT "$BIN/wss_echo_server" PORT native-tls ;;
    wss-rustls) run_server "$out" wss://127.0.0.1:PORT "$BIN/wss_echo_server" PORT rustls ;;
    serve) run_server "$out" ws://127.0.0.1:PORT/echo "$STDWS" serve --addr 127.0.0.1:PORT ;;
    serve-wss-native-tls | serve-wss-rustls)
      certs="$ROOT/autobahn/reports/certs"
      [[ -n "${CERTS_MADE:-}" ]] || { make_test_certs "$certs"; CERTS_MADE=1; }
      run_server "$out" wss://127.0.0.1:PORT/echo "$STDWS" serve --addr 127.0.0.1:PORT \
        --tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem" --tls-backend "${agent#serve-wss-}"
      ;;
    client)
      port="$(free_port)"
      "$RUN" client "$port" "$cases" "$out" -- "$BIN/autobahn_client" "ws://127.0.0.1:$port" || true
      ;;
    *) echo "autobahn.sh: unknown agent $agent" >&2; exit 2 ;;
  esac
  check "$agent" || status=1
done
exit $status
