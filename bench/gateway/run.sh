#!/usr/bin/env bash
# make bench-gateway: `stdws gateway --websocket-over-http` and Pushpin in
# front of one WebSocket-over-HTTP echo backend, side by side in one run
# (bench/src/bin/gateway_bench.rs). 64 B and 4 KiB messages, 16, 64 and 256
# connections. The report goes beside make bench's, as
# bench/results/gateway-DATE.md and bench/results/latest-gateway.md.
#
#   bench/gateway/run.sh [gateway_bench options, e.g. --rounds 1 --window 2]
#
# Needs: cargo, taskset (util-linux), python3 and Debian's pushpin.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
command -v pushpin >/dev/null || { echo "bench-gateway: pushpin is needed (Debian package)" >&2; exit 1; }
echo "bench-gateway: building (release)" >&2
cargo build --release --quiet -p stdws-cli
cargo build --release --quiet --manifest-path bench/Cargo.toml
out="bench/results/gateway-$(date -u +%F).md"
taskset -c 1 bench/target/release/gateway_bench \
    --gateway stdws=bench/gateway/stdws.sh \
    --gateway pushpin=bench/gateway/pushpin.sh \
    --backend bench/target/release/woh_echo \
    --out "$out" "$@"
cp "$out" bench/results/latest-gateway.md
