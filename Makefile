# stdws — developer targets. `make test` needs nothing but cargo; the other
# targets install or start what they need (see each script's header).

CARGO ?= cargo

.PHONY: test lint autobahn interop interop-browser bench bench-quick fuzz soak doc

## Unit, integration and doc tests: no network, no services.
test:
	$(CARGO) test --all-features --all-targets
	$(CARGO) test --all-features --doc

## Formatting and lints, as CI runs them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --all-features -- -D warnings
	$(CARGO) fmt --manifest-path bench/Cargo.toml -- --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(CARGO) clippy --release --manifest-path bench/Cargo.toml --all-targets -- -D warnings

## Autobahn TestSuite: both roles, the server over wss:// with each TLS backend, and
## `stdws serve` over ws:// and wss:// (needs ../shared/tools/autobahn or
## AUTOBAHN_TOOLS; openssl makes the test certificate).
autobahn:
	scripts/autobahn.sh

## Real peers: Python websockets, node ws, headless Chromium.
interop:
	scripts/interop.sh

## Headless Chromium against `stdws serve`: the console's self-test and a typed echo.
interop-browser:
	scripts/interop-browser.sh

## Throughput, CPU per message and idle memory against tungstenite, tokio-tungstenite,
## fastwebsockets, node ws, Python websockets and a raw echo (installs the peers under bench/).
bench:
	bench/run.sh

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
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --all-features
