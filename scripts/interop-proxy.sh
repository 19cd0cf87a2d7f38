#!/usr/bin/env bash
# `stdws connect` through real proxies from Debian packages, each started
# here on a free port of 127.0.0.1 and stopped at the end:
#
#   tinyproxy            HTTP CONNECT, without and with Basic auth (a
#                        missing password gets 407, a wrong one 401: what
#                        tinyproxy 1.11 really sends)
#   stunnel4 + tinyproxy an https:// proxy (TLS to the proxy, CONNECT inside)
#   dante-server         SOCKS5, without and with RFC 1929 username/password
#                        (danted checks system users: a test user is made
#                        here, which needs root or sudo)
#
# against `stdws serve` over ws:// and wss:// (a CA and a certificate for
# localhost made with openssl at run time), with socks5:// and socks5h://,
# the proxy environment variables (lower case first) and no_proxy. Every
# successful case checks that the proxy's own log grew by the tunnel, and
# a stopped proxy must make the connect fail, so the script cannot pass
# with traffic that went around the proxy.
#
#   scripts/interop-proxy.sh
#
# Needs: tinyproxy dante-server stunnel4 openssl python3 (apt).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/scripts/lib.sh"
SUDO=""
[[ "$(id -u)" == 0 ]] || SUDO="sudo"
for tool in tinyproxy danted stunnel4 openssl python3; do
  command -v "$tool" >/dev/null || {
    echo "needs $tool (apt-get install tinyproxy dante-server stunnel4 openssl python3)" >&2
    exit 1
  }
done
# Nothing inherited may pick or bypass a proxy behind the script's back.
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

cargo build --release --bins --features rustls --quiet
STDWS="$ROOT/target/release/stdws"
WORK="$ROOT/target/interop/proxy"
rm -rf "$WORK"
mkdir -p "$WORK"
chmod 755 "$WORK"  # danted drops to nobody for some work
CERTS="$WORK/certs"
make_test_certs "$CERTS"
CA="$CERTS/ca.pem"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do $SUDO kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
failed=0

# start NAME CMD...: runs CMD in the background, output in $WORK/NAME.out.
start() {
  local name="$1"; shift
  "$@" > "$WORK/$name.out" 2>&1 &
  PIDS+=("$!")
}

WS="$(free_port)"; WSS="$(free_port)"
start serve-ws "$STDWS" serve --addr "127.0.0.1:$WS"
start serve-wss "$STDWS" serve --addr "127.0.0.1:$WSS" \
  --tls-cert "$CERTS/cert.pem" --tls-key "$CERTS/key.pem"

# tinyproxy_conf PORT NAME [BasicAuth line]: a config logging each CONNECT.
tinyproxy_conf() {
  {
    echo "Port $1"
    echo "Listen 127.0.0.1"
    echo "Timeout 30"
    echo "LogFile \"$WORK/$2.log\""
    echo "LogLevel Info"
    echo "MaxClients 50"
    echo "Allow 127.0.0.1"
    [[ -z "${3:-}" ]] || echo "$3"
  } > "$WORK/$2.conf"
  touch "$WORK/$2.log"
  chmod 666 "$WORK/$2.log"
}
TP="$(free_port)"; TPA="$(free_port)"
tinyproxy_conf "$TP" tinyproxy
tinyproxy_conf "$TPA" tinyproxy-auth "BasicAuth alice wonderland"
start tinyproxy tinyproxy -d -c "$WORK/tinyproxy.conf"
start tinyproxy-auth tinyproxy -d -c "$WORK/tinyproxy-auth.conf"

# An https:// proxy: stunnel ends TLS (the localhost certificate) in front
# of tinyproxy.
ST="$(free_port)"
cat > "$WORK/stunnel.conf" <<EOF
foreground = yes
pid =
[https-proxy]
accept = 127.0.0.1:$ST
connect = 127.0.0.1:$TP
cert = $CERTS/cert.pem
key = $CERTS/key.pem
EOF
start stunnel stunnel4 "$WORK/stunnel.conf"

# dante_conf PORT NAME METHOD: debug logging shows each request's address
# type and address (ATYP 3: a name, ATYP 1: an IPv4 address).
dante_conf() {
  cat > "$WORK/$2.conf" <<EOF
logoutput: $WORK/$2.log
debug: 1
internal: 127.0.0.1 port = $1
external: 127.0.0.1
clientmethod: none
socksmethod: $3
user.privileged: root
user.unprivileged: nobody
client pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  log: error connect disconnect
}
socks pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  command: connect
  log: error connect disconnect
}
EOF
}
SOCKS_USER="stdwsproxy"
SOCKS_PASS="s0cks-$(date +%s)"
id "$SOCKS_USER" >/dev/null 2>&1 || $SUDO useradd -M -s /usr/sbin/nologin "$SOCKS_USER"
echo "$SOCKS_USER:$SOCKS_PASS" | $SUDO chpasswd
DN="$(free_port)"; DNA="$(free_port)"
dante_conf "$DN" dante none
dante_conf "$DNA" dante-auth username
start dante $SUDO danted -f "$WORK/dante.conf" -p "$WORK/dante.pid"
start dante-auth $SUDO danted -f "$WORK/dante-auth.conf" -p "$WORK/dante-auth.pid"

for port in "$WS" "$WSS" "$TP" "$TPA" "$ST" "$DN" "$DNA"; do wait_port "$port"; done
DEAD="$(free_port)"  # nothing listens here

pass() { echo "== $1: passed"; }
fail() { echo "== $1: FAILED: $2 (stderr: $WORK/$1.err)" >&2; failed=1; }

# through NAME LOG PATTERN CMD...: CMD (a `stdws connect`, env first if
# any) echoes a line through `stdws serve`, and LOG gained a line matching
# PATTERN meanwhile (the proxy carried it); LOG "-": no proxy to check.
through() {
  local name="$1" log="$2" pattern="$3"; shift 3
  local before=0 after out
  [[ "$log" == "-" ]] || before="$(grep -c -- "$pattern" "$log" || true)"
  if ! out="$(echo "hello $name" | timeout 20 "$@" 2> "$WORK/$name.err")"; then
    fail "$name" "the connection failed"
    return
  fi
  if [[ "$out" != "hello $name" ]]; then
    fail "$name" "echo was '$out'"
    return
  fi
  if [[ "$log" == "-" ]]; then pass "$name"; return; fi
  sleep 0.2  # the proxy writes its log line on its own time
  after="$(grep -c -- "$pattern" "$log" || true)"
  if (( after > before )); then pass "$name"; else fail "$name" "$log has no new '$pattern'"; fi
}

# refused NAME REGEX CMD...: CMD fails (non-zero) with REGEX on stderr.
refused() {
  local name="$1" regex="$2"; shift 2
  if echo "x" | timeout 20 "$@" > /dev/null 2> "$WORK/$name.err"; then
    fail "$name" "connected, but should have been refused"
  elif grep -Eq -- "$regex" "$WORK/$name.err"; then
    pass "$name ($(grep -Eo -- "$regex" "$WORK/$name.err" | head -1))"
  else
    fail "$name" "stderr does not match '$regex': $(cat "$WORK/$name.err")"
  fi
}

C=("$STDWS" connect)
WS_URL="ws://localhost:$WS/echo"
WSS_URL="wss://localhost:$WSS/echo"
TPLOG="$WORK/tinyproxy.log"; TPALOG="$WORK/tinyproxy-auth.log"
DLOG="$WORK/dante.log"; DALOG="$WORK/dante-auth.log"

# HTTP CONNECT: the request names the host as written.
through connect-ws "$TPLOG" "CONNECT localhost:$WS " \
  "${C[@]}" "$WS_URL" --proxy "http://127.0.0.1:$TP"
through connect-wss "$TPLOG" "CONNECT localhost:$WSS " \
  "${C[@]}" "$WSS_URL" --ca "$CA" --proxy "http://127.0.0.1:$TP"
through connect-basic-ws "$TPALOG" "CONNECT localhost:$WS " \
  "${C[@]}" "$WS_URL" --proxy "http://alice:wonderland@127.0.0.1:$TPA"
through connect-basic-wss "$TPALOG" "CONNECT localhost:$WSS " \
  "${C[@]}" "$WSS_URL" --ca "$CA" --proxy "http://alice:wonderland@127.0.0.1:$TPA"
refused connect-no-password "407" "${C[@]}" "$WS_URL" --proxy "http://127.0.0.1:$TPA"
refused connect-wrong-password "40[17]" \
  "${C[@]}" "$WS_URL" --proxy "http://alice:wrong@127.0.0.1:$TPA"

# https:// proxy: TLS to the proxy (its certificate checked for localhost),
# CONNECT inside; wss:// inside it would be TLS in TLS, refused clearly.
through https-proxy-ws "$TPLOG" "CONNECT localhost:$WS " \
  "${C[@]}" "$WS_URL" --ca "$CA" --proxy "https://localhost:$ST"
refused https-proxy-wss "TLS inside TLS" \
  "${C[@]}" "$WSS_URL" --ca "$CA" --proxy "https://localhost:$ST"

# SOCKS5: socks5h sends the name (ATYP 3), socks5 resolves it and sends
# the address (ATYP 1).
NAME() { echo "ATYP: 3 address: localhost.$1 "; }
ADDR() { echo "ATYP: 1 address: 127.0.0.1.$1 "; }
through socks5h-ws "$DLOG" "$(NAME "$WS")" "${C[@]}" "$WS_URL" --proxy "socks5h://127.0.0.1:$DN"
through socks5h-wss "$DLOG" "$(NAME "$WSS")" \
  "${C[@]}" "$WSS_URL" --ca "$CA" --proxy "socks5h://127.0.0.1:$DN"
through socks5-ws "$DLOG" "$(ADDR "$WS")" "${C[@]}" "$WS_URL" --proxy "socks5://127.0.0.1:$DN"
through socks5-wss "$DLOG" "$(ADDR "$WSS")" \
  "${C[@]}" "$WSS_URL" --ca "$CA" --proxy "socks5://127.0.0.1:$DN"
through socks5h-user-ws "$DALOG" "$(NAME "$WS")" \
  "${C[@]}" "$WS_URL" --proxy "socks5h://$SOCKS_USER:$SOCKS_PASS@127.0.0.1:$DNA"
through socks5-user-wss "$DALOG" "$(ADDR "$WSS")" \
  "${C[@]}" "$WSS_URL" --ca "$CA" --proxy "socks5://$SOCKS_USER:$SOCKS_PASS@127.0.0.1:$DNA"
refused socks5-wrong-password "refused the user name and password" \
  "${C[@]}" "$WS_URL" --proxy "socks5h://$SOCKS_USER:wrong@127.0.0.1:$DNA"
refused socks5-no-password "accepts none of the offered" \
  "${C[@]}" "$WS_URL" --proxy "socks5h://127.0.0.1:$DNA"

# The environment, as curl reads it: lower case first, then upper case,
# all_proxy last; no_proxy bypasses (a dead proxy proves it).
through env-http-proxy "$TPLOG" "CONNECT localhost:$WS " \
  env HTTP_PROXY="http://127.0.0.1:$TP" "${C[@]}" "$WS_URL"
through env-lower-case-first "$TPLOG" "CONNECT localhost:$WS " \
  env http_proxy="http://127.0.0.1:$TP" HTTP_PROXY="http://127.0.0.1:$DEAD" "${C[@]}" "$WS_URL"
through env-https-proxy "$TPALOG" "CONNECT localhost:$WSS " \
  env https_proxy="http://alice:wonderland@127.0.0.1:$TPA" http_proxy="http://127.0.0.1:$DEAD" \
  "${C[@]}" "$WSS_URL" --ca "$CA"
through env-all-proxy "$DLOG" "$(NAME "$WSS")" \
  env ALL_PROXY="socks5h://127.0.0.1:$DN" "${C[@]}" "$WSS_URL" --ca "$CA"
refused env-dead-proxy "Connection refused|connect" \
  env http_proxy="http://127.0.0.1:$DEAD" "${C[@]}" "$WS_URL"
through env-no-proxy-bypass - - \
  env http_proxy="http://127.0.0.1:$DEAD" NO_PROXY="example.invalid,localhost" "${C[@]}" "$WS_URL"
through env-no-proxy-flag - - \
  env http_proxy="http://127.0.0.1:$DEAD" "${C[@]}" "$WS_URL" --no-proxy

# A stopped proxy: the same connect must now fail.
kill "${PIDS[2]}" 2>/dev/null || true  # tinyproxy (no auth)
wait "${PIDS[2]}" 2>/dev/null || true
refused stopped-proxy "Connection refused|connect|closed" \
  "${C[@]}" "$WS_URL" --proxy "http://127.0.0.1:$TP"

exit $failed
