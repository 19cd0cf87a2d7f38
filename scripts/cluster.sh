#!/usr/bin/env bash
# The cluster against a real Redis: nodes joined by RedisHub (commands
# across nodes, Redis stopped and restarted, CLIENT KILL, CLIENT PAUSE,
# passwords, prefixes) and three `stdws serve --redis` processes chatting
# 3,000 messages. Each test starts its own redis-server on a free port of
# 127.0.0.1 (--save '' --appendonly no) and stops it.
#
#   scripts/cluster.sh
#
# Installs Debian's redis-server on first use (apt-get; sudo when not
# root). Bounded: the whole run takes about a minute after the build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/lib.sh
need_redis_server
redis-server --version
timeout 600 cargo test -p stdws --features redis --test cluster -- --ignored --test-threads 2
timeout 600 cargo test -p stdws-cli --test cluster -- \
  --ignored --test-threads 2
