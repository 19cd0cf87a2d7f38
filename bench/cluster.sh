#!/usr/bin/env bash
# make bench-cluster: the cluster's fan-out, stdws against the peer a user
# would pick instead (node `ws` + `ioredis`, bench/cluster/peer.js, pinned
# in bench/cluster/package.json). For each: 3 nodes on one Redis and 1
# node without Redis; 300 subscribers on /chat spread over the nodes, one
# publisher on the first node; a fixed rate (34 messages/s: about 10,000
# deliveries/s) and as fast as the slowest path allows. Reports delivered
# messages/s and p50/p99 publish-to-delivery latency (all subscribers, and
# those on other nodes than the publisher) to bench/results/cluster-*.md.
#
#   bench/cluster.sh [--seconds 10] [--subscribers 300] [--rounds 3]
#
# STDWS_BIN=path runs another build of stdws (a before/after comparison).
#
# Each configuration runs --rounds times, interleaved; the report gives
# the median of each figure.
#
# Installs redis-server (Debian) and the node peer's packages on first use.
# Everything runs on this machine: the figures are only as quiet as it is.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stdws_bin="${STDWS_BIN:-target/release/stdws}"
cd "$root"
source scripts/lib.sh
seconds=10
subscribers=300
rounds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --subscribers) subscribers="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "bench-cluster: unknown option $1" >&2; exit 2 ;;
  esac
done

need_redis_server
echo "bench-cluster: building (release)" >&2
cargo build --release --quiet -p stdws-cli --bin stdws
cargo build --release --quiet --manifest-path bench/Cargo.toml --bin cluster
if [[ ! -d bench/cluster/node_modules/ioredis ]]; then
  (cd bench/cluster && npm ci --silent --no-audit --no-fund)
fi
ulimit -n 4096

work="$(mktemp -d)"
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'stop_all; redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --loglevel warning --daemonize yes --logfile "$work/redis.log"
wait_port "$redis_port"
redis_url="redis://127.0.0.1:$redis_port/0"

# start_nodes KIND COUNT: nodes of stdws or the peer; their ports in $ports.
start_nodes() {
  local kind="$1" count="$2" port i
  ports=""
  for ((i = 0; i < count; i++)); do
    port="$(free_port)"
    local url=""
    [[ "$count" -gt 1 ]] && url="$redis_url"
    if [[ "$kind" == stdws ]]; then
      if [[ -n "$url" ]]; then
        "$stdws_bin" serve --addr "127.0.0.1:$port" --redis "$url" --node-id "n$i" \
          2>"$work/$kind-$i.log" &
      else
        "$stdws_bin" serve --addr "127.0.0.1:$port" 2>"$work/$kind-$i.log" &
      fi
    else
      node bench/cluster/peer.js "$port" $url 2>"$work/$kind-$i.log" &
    fi
    pids+=("$!")
    wait_port "$port"
    ports="${ports:+$ports,}$port"
  done
}

results="$work/results.jsonl"
for ((round = 1; round <= rounds; round++)); do
  for count in 3 1; do
    for mode in "--rate 34" "--max"; do
      for kind in stdws node-ws-ioredis; do
        start_nodes "$kind" "$count"
        echo "bench-cluster: round $round, $kind, $count node(s), $mode" >&2
        # shellcheck disable=SC2086
        bench/target/release/cluster --label "$kind" --nodes "$ports" \
          --subscribers "$subscribers" --seconds "$seconds" $mode | tee -a "$results"
        stop_all
      done
    done
  done
done

date="$(date -u +%Y-%m-%d)"
report="bench/results/cluster-$date.md"
load="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" "$report" "$seconds" "$subscribers" "$rounds" "$load" <<'PY'
import json, os, statistics, sys
runs = [json.loads(l.replace("NaN", "null")) for l in open(sys.argv[1])]
seconds, subs, rounds, load = sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
rows = []
for run in runs:
    key = (run['label'], run['nodes'], run['mode'])
    if any((r['label'], r['nodes'], r['mode']) == key for r in rows):
        continue
    same = [r for r in runs if (r['label'], r['nodes'], r['mode']) == key]
    row = dict(same[0])
    for field, value in same[0].items():
        if field in ('label', 'mode'):
            continue
        values = [r[field] for r in same if r[field] is not None]
        row[field] = statistics.median(values) if values else float('nan')
    rows.append(row)
out = []
out.append("# make bench-cluster\n")
out.append(f"{subs} subscribers on one topic (`/chat`), one publisher on the first node, "
           f"{seconds} s per run, 64-byte binary messages. Redis 7 on 127.0.0.1, no persistence. "
           f"Latency is publish (by the load generator) to delivery (to a subscriber), "
           f"all subscribers and those on another node than the publisher's.\n")
out.append(f"Median of {rounds} interleaved rounds. Machine: {os.cpu_count()} cores, shared with "
           f"other work while this ran (load average at the end: {load}): the figures are noisy; "
           "read the ratios, not the absolute figures.\n")
out.append("| server | nodes | rate | published | delivered | delivered/s | other nodes/s | p50 ms | p99 ms | other nodes p50 ms | p99 ms |")
out.append("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    out.append(f"| {r['label']} | {r['nodes']:.0f} | {r['mode']} | {r['published']:.0f} | "
               f"{r['deliveries']:.0f}/{r['expected']:.0f} | {r['deliveries_per_s']:.0f} | {r['remote_per_s']:.0f} | "
               f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['remote_p50_ms']:.2f} | {r['remote_p99_ms']:.2f} |")
def pick(label, nodes, mode):
    for r in rows:
        if r['label'] == label and r['nodes'] == nodes and r['mode'] == mode:
            return r
s, p = pick('stdws', 3, 'max'), pick('node-ws-ioredis', 3, 'max')
if s and p and p['remote_per_s'] > 0:
    out.append(f"\nCross-node delivery, as fast as possible: stdws {s['remote_per_s']:.0f}/s, "
               f"node ws + ioredis {p['remote_per_s']:.0f}/s: **{s['remote_per_s'] / p['remote_per_s']:.2f}x** (target >= 1.5x).")
f, g = pick('stdws', 3, '34/s'), pick('node-ws-ioredis', 3, '34/s')
if f and g:
    out.append(f"At about 10,000 deliveries/s on 3 nodes, p99: stdws {f['p99_ms']:.2f} ms "
               f"(other nodes {f['remote_p99_ms']:.2f} ms), node ws + ioredis {g['p99_ms']:.2f} ms "
               f"(other nodes {g['remote_p99_ms']:.2f} ms); target < 5 ms.")
out.append("\nCommand: `make bench-cluster`.")
text = "\n".join(out) + "\n"
open(sys.argv[2], "w").write(text)
open(os.path.join(os.path.dirname(sys.argv[2]), "cluster-latest.md"), "w").write(text)
print(text)
PY
