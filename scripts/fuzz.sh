#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for FUZZ_SECONDS seconds (default 60) and
# fails on any crash, panic, failed assertion, timeout or out-of-memory.
#
#   scripts/fuzz.sh                     all targets, 60 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh connection frame_header
#
# Toolchain. cargo-fuzz (libFuzzer) passes rustc flags that only nightly
# accepts (-Zsanitizer=..., the sancov passes). With RUSTC_BOOTSTRAP=1 a
# stable rustc accepts them too; it is set here, for the cargo fuzz commands
# only. The stable standard library ships the AddressSanitizer runtime on
# x86_64 Linux, so the targets run under ASan by default
# (FUZZ_SANITIZER=none runs without it, about twice as fast). Targets are
# built optimised with debug assertions and overflow checks (-O -a, and the
# fuzz/Cargo.toml release profile), so an overflowing length is a panic.
# cargo-fuzz itself is installed with `cargo install --locked` when missing.
# libFuzzer is built from C++ sources by the libfuzzer-sys crate: a C++
# compiler (g++ or clang++) must be installed.
#
# Inputs. Each target starts from its committed seeds (fuzz/seeds/<target>,
# written by `cargo run --bin seeds` in fuzz/, checked below to be up to
# date) plus what earlier runs found (FUZZ_CORPUS/<target>, default
# fuzz/corpus, ignored by git); new inputs go there, never into the seeds.
# A failing input is saved under fuzz/artifacts/<target>/ and the command to
# replay it is printed.
#
# Settings (environment):
#   FUZZ_SECONDS     seconds per target (default 60)
#   FUZZ_RSS_MB      memory cap per target process, MiB (default 512)
#   FUZZ_TIMEOUT     seconds one input may take (default 10)
#   FUZZ_SANITIZER   address (default) or none
#   FUZZ_CORPUS      directory for grown corpora (default fuzz/corpus)
#   CARGO_FUZZ_VERSION  cargo-fuzz to install when missing (default 0.13.2)

set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

seconds="${FUZZ_SECONDS:-60}"
rss_mb="${FUZZ_RSS_MB:-512}"
timeout="${FUZZ_TIMEOUT:-10}"
sanitizer="${FUZZ_SANITIZER:-address}"
corpus="${FUZZ_CORPUS:-$root/fuzz/corpus}"
cargo_fuzz_version="${CARGO_FUZZ_VERSION:-0.13.2}"

all_targets=(frame_header handshake_request handshake_response extensions connection url inflate hixie76 proxy)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=("${all_targets[@]}")
fi

# Longest input per target: a frame header is at most 14 bytes; a handshake
# head is capped at 4 KiB by the targets' limits (twice that reaches the
# caps); an extension list is one header value; a connection needs room for
# a frame with a 64-bit length (64 KiB + 1); a URL is one line.
max_len() {
    case "$1" in
        frame_header) echo 32 ;;
        handshake_request | handshake_response | hixie76) echo 8192 ;;
        extensions) echo 2048 ;;
        connection) echo 70000 ;;
        url) echo 1024 ;;
        inflate) echo 16384 ;;
        proxy) echo 2048 ;;
        *) echo "unknown fuzz target $1" >&2; exit 2 ;;
    esac
}

dict() {
    case "$1" in
        handshake_request | handshake_response | hixie76) echo "-dict=$root/fuzz/dicts/http.dict" ;;
        extensions) echo "-dict=$root/fuzz/dicts/extensions.dict" ;;
    esac
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz $cargo_fuzz_version"
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi

echo "== checking that fuzz/seeds matches the seed generator"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
(cd fuzz && cargo run --quiet --bin seeds -- "$fresh/seeds" >/dev/null)
if ! diff -r "$fresh/seeds" fuzz/seeds >/dev/null; then
    echo "fuzz/seeds is stale: run 'cargo run --bin seeds' in fuzz/ and commit" >&2
    diff -rq "$fresh/seeds" fuzz/seeds >&2 || true
    exit 1
fi

fuzz_flags=(-O -a --sanitizer "$sanitizer")
echo "== building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)"
for target in "${targets[@]}"; do
    RUSTC_BOOTSTRAP=1 cargo fuzz build "${fuzz_flags[@]}" "$target"
done

logs="$fresh/logs"
mkdir -p "$logs"
start=$(date +%s)
failed=()
summary=()
for target in "${targets[@]}"; do
    mkdir -p "$corpus/$target"
    echo "== $target: ${seconds}s, max_len $(max_len "$target"), rss limit ${rss_mb} MiB"
    status=0
    RUSTC_BOOTSTRAP=1 cargo fuzz run "${fuzz_flags[@]}" "$target" \
        "$corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb" \
        -timeout="$timeout" -max_len="$(max_len "$target")" $(dict "$target") \
        -print_final_stats=1 >"$logs/$target.log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log" | tail -n 1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$logs/$target.log" | tail -n 1)
    # libFuzzer's last status line: edges covered and corpus size.
    # (No DONE line when the target failed: grep finds nothing, and that is fine.)
    cov=$({ grep -E '^#[0-9]+[[:space:]]+DONE' "$logs/$target.log" || true; } | tail -n 1 | sed -n 's/.*\(cov: [0-9]*\).*\(corp: [0-9]*\).*/\1, \2 inputs/p')
    if [ "$status" -ne 0 ] || grep -q -E '^==[0-9]+== ERROR: libFuzzer|^SUMMARY: ' "$logs/$target.log"; then
        failed+=("$target")
        echo "!! $target FAILED (exit $status); the end of its log:"
        tail -n 60 "$logs/$target.log"
        summary+=("$(printf '%-20s FAILED after %s runs' "$target" "${runs:-?}")")
    else
        summary+=("$(printf '%-20s %12s runs in %ss (%s)' "$target" "${runs:-?}" "${secs:-?}" "${cov:-?}")")
    fi
done
total=$(( $(date +%s) - start ))

echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
echo "total fuzzing time: ${total}s"
if [ ${#failed[@]} -ne 0 ]; then
    echo "failing targets: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
