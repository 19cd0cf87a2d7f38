#!/usr/bin/env bash
# Instructions per echoed message in the server's user space, counted by
# valgrind's callgrind: exact and repeatable where wall-clock figures
# are not (a shared or loaded machine). Kernel work (the system calls) is
# not counted: compare servers on what they add above the raw echo.
#
#   bench/callgrind.sh [SIZE] [CONNS] [text|binary] [NAME=PROGRAM[,raw]]...
#
# Defaults: 4096 bytes, 16 connections, text; stdws, tungstenite and raw.
# Each server runs twice under callgrind, for N and 3N echoes (N = 2000,
# or CALLGRIND_MESSAGES); the difference of the two instruction counts
# over the difference of the echoes leaves out start-up and handshakes.
# The per-function profile of the longer run stays in
# bench/target/callgrind/NAME.out (callgrind_annotate reads it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
size="${1:-4096}"
conns="${2:-16}"
kind="${3:-text}"
shift $(( $# < 3 ? $# : 3 ))
servers=("$@")
if [[ ${#servers[@]} -eq 0 ]]; then
    servers=(stdws=target/release/examples/echo_server
             tungstenite=bench/target/release/tungstenite_echo
             raw=bench/target/release/raw_echo,raw)
fi
n="${CALLGRIND_MESSAGES:-2000}"
command -v valgrind >/dev/null || { echo "callgrind: valgrind is needed" >&2; exit 1; }
cargo build --release --quiet --example echo_server
cargo build --release --quiet --manifest-path bench/Cargo.toml
out="bench/target/callgrind"
mkdir -p "$out"

# count NAME PROGRAM PROTOCOL MESSAGES FILE: echoes done; FILE gets the profile.
count() {
    local port pid done
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    valgrind --tool=callgrind --callgrind-out-file="$5" $2 "$port" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    done="$(bench/target/release/drive "$port" "$3" "$size" "$conns" "$4" "$kind")"
    kill -TERM "$pid"
    wait "$pid" || true
    echo "$done"
}

# The program's instruction total in a callgrind profile.
total() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }

printf '%-16s %14s   (%s B x %s connections, %s; N = %s)\n' server "Ir per echo" "$size" "$conns" "$kind" "$n"
for spec in "${servers[@]}"; do
    name="${spec%%=*}"
    program="${spec#*=}"
    protocol=ws
    if [[ "$program" == *,raw ]]; then
        program="${program%,raw}"
        protocol=raw
    fi
    short="$out/$name.short.out"
    long="$out/$name.out"
    a="$(count "$name" "$program" "$protocol" "$n" "$short")"
    b="$(count "$name" "$program" "$protocol" $((3 * n)) "$long")"
    ia="$(total "$short")"
    ib="$(total "$long")"
    printf '%-16s %14.0f\n' "$name" "$(echo "($ib - $ia) / ($b - $a)" | bc -l)"
done
