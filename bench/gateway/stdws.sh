#!/usr/bin/env bash
# A gateway for bench/src/bin/gateway_bench.rs: `stdws.sh PORT BACKEND_PORT`.
exec "$(dirname "$0")/../../target/release/stdws" -q gateway --websocket-over-http \
    --addr "127.0.0.1:$1" --upstream "http://127.0.0.1:$2" --control 127.0.0.1:0
