#!/usr/bin/env bash
# Soak test: SOAK_CLIENTS clients (default 500) in churn on the /chat room
# of `stdws serve` for SOAK_SECONDS (default 300): each connects, chats for
# 2 to 10 seconds (every message it sends must come back through the room,
# in order) and leaves, again and again (scripts/soak_client.rs).
#
#   scripts/soak.sh                  # make soak
#   SOAK_SECONDS=90 scripts/soak.sh  # a shortened run (CI; 90 at least)
#
# Fails unless:
#   - every client message came back and no client saw an error;
#   - the server's RSS at the end of the load is within 10% of its RSS
#     after the warm-up (the first fifth of the run, minute 1 of 5, and at
#     least 45 s);
#   - once the load is over, the server is back to the threads and file
#     descriptors it had before it (nothing leaked).
# Prints the server's RSS, threads and descriptors at each checkpoint.
# Needs cargo and python3; Linux (/proc).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/scripts/lib.sh"

DURATION="${SOAK_SECONDS:-300}"
CLIENTS="${SOAK_CLIENTS:-500}"
if (( DURATION < 90 )); then
  echo "SOAK_SECONDS must be at least 90" >&2
  exit 2
fi
# The warm-up lasts a fifth of the run, and at least 45 s: the server pings
# each client every 30 s, and the keep-alive timer of a client that left
# stays queued (holding a little memory) until it fires, so the server's
# memory grows to its steady size over the first 30 s of churn.
WARM=$(( DURATION / 5 > 45 ? DURATION / 5 : 45 ))
STEP=$(( (DURATION - WARM) / 8 ))
# Both processes hold a descriptor per client, and more while they churn.
ulimit -n "$(( CLIENTS * 4 + 256 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --release --quiet --bin stdws --example soak_client
OUT="$ROOT/target/soak"
mkdir -p "$OUT"

SERVER="" CLIENT=""
cleanup() {
  for p in $CLIENT $SERVER; do kill "$p" 2>/dev/null || true; done
  for p in $CLIENT $SERVER; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

port="$(free_port)"
target/release/stdws serve --addr "127.0.0.1:$port" > "$OUT/server.log" 2>&1 &
SERVER=$!
wait_port "$port"
sleep 1 # wait_port's probe connection ends

# rss_kib threads fds of the server, now.
sample() {
  local rss threads fds
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$SERVER/status")
  fds=$(ls "/proc/$SERVER/fd" | wc -l)
  echo "$rss $threads $fds"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
report() { # label rss threads fds
  printf 'soak %-18s RSS %7s MiB  threads %5d  fds %5d\n' "$1" "$(mib "$2")" "$3" "$4"
}
wait_until() { # epoch second
  local now
  now=$(date +%s)
  if (( $1 > now )); then sleep $(( $1 - now )); fi
}

read -r idle_rss idle_threads idle_fds < <(sample)
report "idle before load" "$idle_rss" "$idle_threads" "$idle_fds"

start=$(date +%s)
target/release/examples/soak_client "ws://127.0.0.1:$port/chat" "$CLIENTS" "$DURATION" \
  > "$OUT/client.log" 2>&1 &
CLIENT=$!

# Checkpoints under load: the end of the warm-up, then eight more, the last
# one a second before the clients start leaving.
at=$WARM
warm_rss=""
while (( at < DURATION )); do
  wait_until $(( start + at ))
  read -r rss threads fds < <(sample)
  report "at ${at}s" "$rss" "$threads" "$fds"
  [[ -z "$warm_rss" ]] && warm_rss=$rss
  end_rss=$rss
  next=$(( at + STEP ))
  (( at < DURATION - 1 && next >= DURATION )) && next=$(( DURATION - 1 ))
  at=$next
done

client_status=0
wait "$CLIENT" || client_status=$?
CLIENT=""
tail -n 1 "$OUT/client.log"

# After the load: every client thread and socket must be gone.
deadline=$(( $(date +%s) + 30 ))
while :; do
  read -r rss threads fds < <(sample)
  (( threads <= idle_threads && fds <= idle_fds )) && break
  (( $(date +%s) >= deadline )) && break
  sleep 1
done
report "idle after load" "$rss" "$threads" "$fds"

failed=0
growth=$(awk -v a="$warm_rss" -v b="$end_rss" 'BEGIN { printf "%+.1f", (b - a) * 100 / a }')
echo "soak RSS $(mib "$warm_rss") MiB at ${WARM}s, $(mib "$end_rss") MiB at the end of the load: ${growth}%"
if (( client_status != 0 )); then
  echo "soak FAILED: the clients saw errors or lost messages (see $OUT/client.log)" >&2
  failed=1
fi
if awk -v g="$growth" 'BEGIN { exit !(g > 10) }'; then
  echo "soak FAILED: RSS grew by more than 10% under a steady load" >&2
  failed=1
fi
if (( threads > idle_threads || fds > idle_fds )); then
  echo "soak FAILED: $(( threads - idle_threads )) threads, $(( fds - idle_fds )) descriptors leaked" >&2
  failed=1
fi
(( failed == 0 )) && echo "soak passed"
exit "$failed"
