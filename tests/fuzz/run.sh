#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: build the libFuzzer targets with clang directly (no meson) into a
# temporary directory and run each for SECONDS (default 30) with ASan + UBSan + LeakSanitizer.
# Exits non-zero on a crash, a leak, a sanitizer report or a build failure; the input that did it
# is kept in $FUZZ_ARTIFACTS (default /tmp/alluxio-s3-proxy-fuzz-artifacts) and its path printed.
#
# Targets (STYLE.md section 6), one function each below:
#   sigv4_verify   core/sigv4_verify.c, core/sigv4_body.c and the canonicalizer under them
#                  (tests/fuzz/sigv4_verify.c; seeds in tests/fuzz/corpus/sigv4_verify/).
# The checked-in corpus is only read: new inputs go to the temporary directory. To add one
# that gains coverage, copy it into the corpus by hand (h2o's rule: seeds only when they add).
#
# Environment: CC (default clang), FUZZ_JOBS (parallel workers per target, default 1).
set -euo pipefail

SECS="${1:-30}"
case "$SECS" in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CC="${CC:-clang}"
ARTIFACTS="${FUZZ_ARTIFACTS:-/tmp/alluxio-s3-proxy-fuzz-artifacts}"
WORK="$(mktemp -d /tmp/alluxio-s3-proxy-fuzz.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$ARTIFACTS"

CFLAGS=(-std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
        -Wall -Wextra -Werror -I"$ROOT")
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

# run_target NAME SOURCES... : build tests/fuzz/NAME.c with SOURCES and fuzz it for SECS.
run_target() {
    local name="$1"
    shift
    local bin="$WORK/fuzz_$name" corpus="$WORK/corpus_$name" log="$WORK/$name.log"
    local seeds="$ROOT/tests/fuzz/corpus/$name" dict="$ROOT/tests/fuzz/$name.dict"
    echo "== building $name"
    (cd "$ROOT" && "$CC" "${CFLAGS[@]}" "tests/fuzz/$name.c" "$@" -lcrypto -lpthread -o "$bin")
    mkdir -p "$corpus"
    local args=(-max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=16384
                -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$name-")
    [ -f "$dict" ] && args+=(-dict="$dict")
    [ "${FUZZ_JOBS:-1}" -gt 1 ] && args+=(-fork="$FUZZ_JOBS")
    echo "== fuzzing $name for ${SECS}s (log: $log)"
    local rc=0
    "$bin" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    if [ "$rc" -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
        echo "!! $name: fuzzer failed (exit $rc); last lines of the log:" >&2
        tail -n 40 "$log" >&2
        ls -1 "$ARTIFACTS"/"$name"-* 2>/dev/null | sed 's/^/!! input: /' >&2 || true
        return 1
    fi
    echo "== $name: clean"
}

run_target sigv4_verify core/sigv4_verify.c core/sigv4_body.c core/sigv4.c core/uri.c core/buf.c \
    core/xml.c
