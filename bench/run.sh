#!/usr/bin/env bash
# make bench: stdws's echo server against tungstenite's and a raw TCP echo
# (all thread-per-client on std::net), plus the idle-connection test and
# the unmask / UTF-8 micro-benchmarks. Results go to bench/results/.
#
#   bench/run.sh              full run: 3 rounds, idle 1,000 and 10,000 (< 10 min)
#   bench/run.sh --quick      one short round, idle 1,000 (CI smoke, ~2 min)
#   BENCH_ROUNDS=5 bench/run.sh
#
# Any other argument goes to the harness (bench/src/bin/bench.rs), e.g.
#   bench/run.sh --sizes 64 --conns 16 --idle none --no-micro
#   bench/run.sh --server stdws=../target/release/examples/echo_server \
#                --server before=../echo_server.before
#
# Needs: cargo, taskset (util-linux), Linux /proc. Each server runs pinned
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
cargo build --release --quiet --examples
cargo build --release --quiet --manifest-path bench/Cargo.toml

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

cd bench
if [[ $# -eq 0 ]]; then
    default_command="make bench"
else
    default_command="bench/run.sh $*"
fi
BENCH_COMMAND="${BENCH_COMMAND:-$default_command}" \
    exec taskset -c "$client_core" target/release/bench "${args[@]}"
