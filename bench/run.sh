#!/usr/bin/env bash
# make bench: stdws's echo server against the servers a user would weigh
# instead (tungstenite, thread per client on std::net; tokio-tungstenite and
# fastwebsockets on tokio; node `ws`; Python `websockets`) and a raw TCP
# echo, plus the idle-connection test, a permessage-deflate table and the
# unmask / UTF-8 micro-benchmarks. Results go to bench/results/.
#
#   bench/run.sh              full run: 5 rounds, idle 1,000 and 10,000 (~25 min)
#
# Installs its peers on first use, all under bench/ (pinned versions):
# the Rust servers in bench's own Cargo project, node `ws` with `npm ci` in
# bench/peers (package-lock.json), Python `websockets` in a virtualenv in
# bench/target/venv (bench/peers/requirements.txt).
#
# After the echo servers, two more tables go to the same report:
# permessage-deflate echo against raw miniz_oxide on a JSON-like corpus
# (examples/deflate_bench) and ws:// against wss:// with each TLS backend
# (examples/wss_bench, the retention ratio).
#   bench/run.sh --quick      one short round, idle 1,000, every peer (CI smoke, ~2 min)
#   BENCH_ROUNDS=5 bench/run.sh
#
# Any other argument goes to the harness (bench/src/bin/bench.rs), e.g.
#   bench/run.sh --sizes 64 --conns 16 --idle none --no-micro
#   bench/run.sh --server stdws=../target/release/examples/echo_server \
#                --server before=../echo_server.before
#
# Needs: cargo, node and npm, python3 with venv, taskset (util-linux), Linux /proc. Each server runs pinned
# to core 0 and the load generator to core 1, so close other heavy work.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

args=("$@")
if [[ -n "${BENCH_ROUNDS:-}" ]]; then
    args+=(--rounds "$BENCH_ROUNDS")
fi

command -v taskset >/dev/null || { echo "bench: taskset (util-linux) is needed" >&2; exit 1; }

echo "bench: building (release)" >&2
cargo build --release --quiet --examples --all-features
cargo build --release --quiet --manifest-path bench/Cargo.toml
venv="$root/bench/target/venv"
if ! "$venv/bin/python" -c 'import websockets' 2>/dev/null; then
    echo "bench: installing Python websockets in bench/target/venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/peers/requirements.txt
fi
if [[ ! -d bench/peers/node_modules/ws ]]; then
    echo "bench: installing node ws in bench/peers" >&2
    (cd bench/peers && npm ci --silent --no-audit --no-fund)
fi

# 10,000 idle connections take 10,000 descriptors in the server and as many
# in the load generator.
hard="$(ulimit -Hn)"
if [[ "$hard" == unlimited || "$hard" -ge 20000 ]]; then
    ulimit -n 20000
else
    ulimit -n "$hard"
fi

client_core=1
if [[ "$(nproc)" -lt 2 ]]; then
    echo "bench: one core only: server and load generator share it" >&2
    client_core=0
fi

# Where the harness writes its report (its --out and --tag options).
out="$root/bench/results"
tag=""
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --out) out="${args[i + 1]}"; [[ "$out" = /* ]] || out="$root/bench/$out" ;;
        --tag) tag="-${args[i + 1]}" ;;
    esac
done

stamp="$(mktemp)"
extra="$(mktemp)"
trap 'rm -f "$stamp" "$extra"' EXIT

cd bench
if [[ $# -eq 0 ]]; then
    default_command="make bench"
else
    default_command="bench/run.sh $*"
fi
# A failed cell fails the run, after the other tables are written.
status=0
BENCH_COMMAND="${BENCH_COMMAND:-$default_command}" \
    taskset -c "$client_core" target/release/bench "${args[@]}" || status=$?
cd "$root"

{
    echo
    echo "## Compression: stdws's permessage-deflate vs raw miniz_oxide"
    echo
    echo "Command: \`target/release/examples/deflate_bench\` (client and server in one process, loopback)."
    echo
    target/release/examples/deflate_bench
    echo
    echo "## TLS: ws:// vs wss:// (retention)"
    echo
    echo "Command: \`target/release/examples/wss_bench\` (one message in flight, loopback)."
    echo
    echo '```text'
    target/release/examples/wss_bench
    echo '```'
} > "$extra"
cat "$extra"
report="$out/$(date -u +%F)$tag.md"
for md in "$report" "$out/latest.md"; do
    # Only reports the harness wrote in this run (latest.md: a full run's).
    if [[ -f "$md" && "$md" -nt "$stamp" ]]; then
        cat "$extra" >> "$md"
    fi
done
exit "$status"
