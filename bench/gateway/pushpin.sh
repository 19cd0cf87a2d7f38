#!/usr/bin/env bash
# A gateway for bench/src/bin/gateway_bench.rs: `pushpin.sh PORT BACKEND_PORT`
# (Debian's pushpin, its configuration made by interop/gateway/pushpin.py).
exec python3 "$(dirname "$0")/../../interop/gateway/pushpin.py" "$1" "$2"
