# stdws — developer targets. `make test` needs nothing but cargo; the other
# targets install or start what they need (see each script's header).

CARGO ?= cargo

.PHONY: test lint autobahn interop interop-proxy interop-browser gateway bench bench-gateway bench-quick fuzz soak doc cluster bench-cluster

## Unit, integration and doc tests of the library and the command: no
## network, no services.
test:
	$(CARGO) test --workspace --all-features --all-targets
	$(CARGO) test --workspace --all-features --doc

## Formatting and lints, as CI runs them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	@# The library's default build compiles none of the command's crates.
	! $(CARGO) tree -p stdws -e normal --prefix none | grep -E '^(clap|env_logger|signal-hook|redis) '
	@# No import circle between the library's modules.
	scripts/module-graph.sh > /dev/null
	$(CARGO) fmt --manifest-path bench/Cargo.toml -- --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(CARGO) clippy --release --manifest-path bench/Cargo.toml --all-targets -- -D warnings

## Each client example against the server examples, output checked
## (needs python3 and openssl).
.PHONY: examples
examples:
	scripts/examples.sh

## Autobahn TestSuite: both roles, the server over wss:// with each TLS backend, and
## `stdws serve` over ws:// and wss:// (needs ../shared/tools/autobahn or
## AUTOBAHN_TOOLS; openssl makes the test certificate).
autobahn:
	scripts/autobahn.sh

## Real peers: Python websockets, node ws, real proxies, headless Chromium.
interop:
	scripts/interop.sh

## Nodes joined through a real redis-server (installed if missing): commands
## across nodes, Redis away and back, CLIENT KILL/PAUSE, passwords, prefixes,
## three `stdws serve --redis` chatting.
cluster:
	scripts/cluster.sh

## `stdws connect` through tinyproxy, stunnel + tinyproxy and dante (HTTP
## CONNECT, https:// proxy, SOCKS5), the proxy variables and no_proxy.
interop-proxy:
	scripts/interop-proxy.sh

## Headless Chromium against `stdws serve`: the console's self-test and a typed echo.
interop-browser:
	scripts/interop-browser.sh

## `stdws gateway` against a real Python web application and Python websockets
## clients: hooks, control API, limits, retries, signatures.
gateway:
	scripts/gateway.sh

## Throughput, CPU per message and idle memory against tungstenite, tokio-tungstenite,
## fastwebsockets, node ws, Python websockets and a raw echo (installs the peers under bench/).
bench:
	bench/run.sh

## The cluster's fan-out (3 nodes on one Redis, 300 subscribers) against
## node ws + ioredis; report in bench/results/cluster-*.md.
bench-cluster:
	bench/cluster.sh

## stdws gateway --websocket-over-http against Pushpin, one echo backend behind both.
bench-gateway:
	bench/gateway/run.sh

## One short round of the same, every peer included (CI smoke, ~3 min after the
## build); results go to a temporary folder. No thresholds: the figures are noisy.
bench-quick:
	bench/run.sh --quick --out "$$(mktemp -d)"

## Each fuzz target for FUZZ_SECONDS (default 60).
fuzz:
	scripts/fuzz.sh

## Churn of many clients for SOAK_SECONDS (default 300): leaks and RSS growth.
soak:
	scripts/soak.sh

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --all-features
