#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [TARGET...]: build the libFuzzer targets with clang directly (no
# meson) into a temporary directory and run each for SECONDS (default 30) with ASan + UBSan +
# LeakSanitizer; with TARGET names, only those. Every target is run even when an earlier one
# fails; the exit status is non-zero when any had a crash, a leak, a sanitizer report or a build
# failure. The input that did it is kept in $FUZZ_ARTIFACTS (default
# /tmp/alluxio-s3-proxy-fuzz-artifacts) and its path printed.
#
# Targets (STYLE.md section 6), one line each in the table at the end:
#   sigv4_verify       core/sigv4_verify.c, sigv4_error.c, sigv4_body.c and the canonicalizer under them
#   http_parse         server/http/parse.c: request heads (whole, split, byte-stepped, pipelined)
#                      and chunked bodies (whole and in pieces)
#   worker_api_target  server/worker_api/target.c: worker REST request targets, ufsFullPath
#                      recovery, form decoding, UFS paths, human sizes, ISO 8601 dates
#   ring_worker_value  core/ring.c: etcd worker values and worker_hosts lists, then a ring and
#                      lookups built from them
# Each is tests/fuzz/NAME.c, with seeds in tests/fuzz/corpus/NAME/ and tokens in
# tests/fuzz/NAME.dict when there is one. The checked-in corpus is only read: new inputs go to
# the temporary directory. To add one that gains coverage, copy it into the corpus by hand (h2o's
# rule: seeds only when they add).
#
# Time: SECONDS is per target, so a run takes about (number of targets) x SECONDS plus a few
# seconds of building (about 2 s per target). tests/run.sh passes 30: 4 x 30 s, about 2 min 10 s
# in all. To bound the whole step instead, set FUZZ_BUDGET to the total seconds of fuzzing: each
# target then gets FUZZ_BUDGET / (number of targets), at least 20 s and at most SECONDS (so
# FUZZ_BUDGET=150 keeps the step under 3 minutes for up to 7 targets, and at 20 s each past that).
#
# Environment: CC (default clang), FUZZ_JOBS (parallel workers per target, default 1),
# FUZZ_BUDGET (see above), FUZZ_ARTIFACTS.
set -euo pipefail

SECS="${1:-30}"
case "$SECS" in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
[ "$#" -gt 0 ] && shift
WANT=("$@")
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CC="${CC:-clang}"
ARTIFACTS="${FUZZ_ARTIFACTS:-/tmp/alluxio-s3-proxy-fuzz-artifacts}"
WORK="$(mktemp -d /tmp/alluxio-s3-proxy-fuzz.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$ARTIFACTS"

# shellcheck disable=SC2054 # the commas are -fsanitize's list, not array separators
CFLAGS=(-std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
        -Wall -Wextra -Werror -I"$ROOT")
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

ALL=(sigv4_verify http_parse worker_api_target ring_worker_value)
for t in "${WANT[@]+"${WANT[@]}"}"; do
    case " ${ALL[*]} " in
    *" $t "*) ;;
    *) echo "unknown target: $t (have: ${ALL[*]})" >&2; exit 2 ;;
    esac
done
[ "${#WANT[@]}" -eq 0 ] && WANT=("${ALL[@]}")

# Seconds per target: SECS, or the FUZZ_BUDGET share (>= 20 s, <= SECS).
PER="$SECS"
if [ -n "${FUZZ_BUDGET:-}" ]; then
    case "$FUZZ_BUDGET" in
    '' | *[!0-9]*) echo "FUZZ_BUDGET: a number of seconds" >&2; exit 2 ;;
    esac
    PER=$((FUZZ_BUDGET / ${#WANT[@]}))
    [ "$PER" -lt 20 ] && PER=20
    [ "$PER" -gt "$SECS" ] && PER="$SECS"
fi

# run_target NAME MAX_LEN SOURCES_AND_LIBS... : build tests/fuzz/NAME.c with the rest of the
# arguments (project sources, then -l flags) and fuzz it for PER seconds with inputs up to
# MAX_LEN bytes.
run_target() {
    local name="$1" max_len="$2"
    shift 2
    local bin="$WORK/fuzz_$name" corpus="$WORK/corpus_$name" log="$WORK/$name.log"
    local seeds="$ROOT/tests/fuzz/corpus/$name" dict="$ROOT/tests/fuzz/$name.dict"
    echo "== building $name"
    if ! (cd "$ROOT" && "$CC" "${CFLAGS[@]}" "tests/fuzz/$name.c" "$@" -o "$bin"); then
        echo "!! $name: build failed" >&2
        return 1
    fi
    mkdir -p "$corpus"
    local args=(-max_total_time="$PER" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len"
                -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$name-")
    [ -f "$dict" ] && args+=(-dict="$dict")
    [ "${FUZZ_JOBS:-1}" -gt 1 ] && args+=(-fork="$FUZZ_JOBS")
    echo "== fuzzing $name for ${PER}s (log: $log)"
    local rc=0 start=$SECONDS stamp="$WORK/$name.stamp"
    touch "$stamp"
    "$bin" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    if [ "$rc" -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
        echo "!! $name: fuzzer failed (exit $rc); last lines of the log:" >&2
        tail -n 40 "$log" >&2
        find "$ARTIFACTS" -maxdepth 1 -name "$name-*" -newer "$stamp" | sed 's/^/!! input: /' >&2
        return 1
    fi
    echo "== $name: clean ($((SECONDS - start))s)"
}

# One line per target: name, max input length, sources, libraries. http_parse takes inputs
# past HTTP_MAX_HEADER_BYTES (16 KiB) so the 431 on size stays reachable.
target() {
    case "$1" in
    sigv4_verify)
        run_target sigv4_verify 16384 core/sigv4_verify.c core/sigv4_error.c core/sigv4_body.c \
            core/sigv4.c core/uri.c core/buf.c core/xml.c -lcrypto -lpthread ;;
    http_parse)
        run_target http_parse 20480 server/http/parse.c ;;
    worker_api_target)
        run_target worker_api_target 16384 server/worker_api/target.c core/buf.c core/uri.c \
            core/ring.c core/murmur3.c -ljson-c -lcrypto ;;
    ring_worker_value)
        run_target ring_worker_value 16384 core/ring.c core/murmur3.c -ljson-c -lcrypto ;;
    esac
}

FAILED=()
for t in "${WANT[@]}"; do
    target "$t" || FAILED+=("$t")
done
if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "!! failed: ${FAILED[*]}" >&2
    exit 1
fi
echo "== all clean: ${WANT[*]} (${PER}s each)"
