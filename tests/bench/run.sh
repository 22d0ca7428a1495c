#!/usr/bin/env bash
# tests/bench/run.sh: the proxy side by side with nginx (issue 5). Not part of tests/run.sh.
#
#   tests/bench/run.sh            full run (about 10 minutes), table printed and written to
#                                 tests/bench/RESULTS.md
#   tests/bench/run.sh --quick    every row for ~2 s on a tiny dataset: a smoke test of the
#                                 harness (exit 0 when it works); RESULTS.md is left alone
#
# Steps: install what is missing (apt-get: nginx, wrk, valgrind, curl, util-linux for taskset,
# meson/ninja and the build libraries), build the release proxy (build/), then hand over to
# bench.py, which creates the dataset in a temporary directory, starts the origin nginx, the
# nginx slice cache, nginx static and the proxy on free loopback ports, runs the rows and prints
# the table. Configuration of the peers: nginx-*.conf.in here, rendered at run time.
# Environment: SKIP_DEPS=1 skips the installs; SKIP_BUILD=1 the build; KEEP_WORK=1 keeps the
# temporary directory (logs, rendered configs, callgrind dumps); RESULTS=FILE writes elsewhere;
# QUIET_WAIT=SECONDS: how long to wait for other processes to go quiet first (full run: 300).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
QUICK=0
for a in "$@"; do
    case "$a" in
    --quick) QUICK=1 ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $a" >&2; exit 64 ;;
    esac
done
COMMAND="tests/bench/run.sh${*:+ $*}"

WORK="$(mktemp -d /tmp/alluxio-s3-proxy-bench.XXXXXX)"
chmod 755 "$WORK"
BENCH_PID=""
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
        kill -TERM "$BENCH_PID" 2>/dev/null || true
        wait "$BENCH_PID" 2>/dev/null || true
    fi
    # Anything bench.py started and did not stop (it was killed): by PID, and only if the
    # process is still ours (its command line names the work directory or the binary).
    if [ -f "$WORK/pids" ]; then
        while read -r pid; do
            [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || continue
            if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -e "$WORK" -e "$ROOT/build/alluxio-s3-proxy"; then
                kill -TERM "$pid" 2>/dev/null || true
            fi
        done <"$WORK/pids"
    fi
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "run.sh: work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------
# 1. dependencies (apt-get only for what is missing)

need_cmd() { # need_cmd COMMAND PACKAGE...
    command -v "$1" >/dev/null 2>&1 && return 0
    shift
    MISSING+=("$@")
}
MISSING=()
if [ "${SKIP_DEPS:-0}" != 1 ]; then
    if ! command -v nginx >/dev/null 2>&1; then
        # nginx-light where the distribution still has it (Debian 11), else nginx (has slice).
        if apt-cache show nginx-light >/dev/null 2>&1; then MISSING+=(nginx-light); else MISSING+=(nginx); fi
    fi
    need_cmd wrk wrk
    need_cmd valgrind valgrind
    need_cmd callgrind_control valgrind
    need_cmd taskset util-linux
    need_cmd curl curl
    need_cmd python3 python3
    need_cmd meson meson
    need_cmd ninja ninja-build
    need_cmd pkg-config pkg-config
    need_cmd gcc gcc
    for p in liburing-dev libcurl4-openssl-dev libssl-dev libyaml-dev libexpat1-dev libjson-c-dev; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || MISSING+=("$p")
    done
    if [ "${#MISSING[@]}" -gt 0 ]; then
        echo "run.sh: apt-get install ${MISSING[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${MISSING[@]}"
    else
        echo "run.sh: dependencies present"
    fi
fi
nginx -V 2>&1 | grep -q -- --with-http_slice_module || {
    echo "run.sh: this nginx has no slice module (ngx_http_slice_module)" >&2
    exit 1
}
[ "$(nproc)" -ge 2 ] || echo "run.sh: warning: one CPU: server and client share it" >&2

# ------------------------------------------------------------------------------------------
# 2. release build

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cd "$ROOT"
    if [ -f build/build.ninja ]; then
        # Reconfigure only when build/ is not a release build (a no-op otherwise).
        if ! grep -q '"name": "buildtype", "value": "release"' build/meson-info/intro-buildoptions.json 2>/dev/null &&
            ! meson introspect build --buildoptions 2>/dev/null | grep -q '"name": "buildtype", "value": "release"'; then
            meson configure build --buildtype=release
        fi
    else
        meson setup build --buildtype=release
    fi
    ninja -C build alluxio-s3-proxy
fi
[ -x "$ROOT/build/alluxio-s3-proxy" ] || { echo "run.sh: no build/alluxio-s3-proxy" >&2; exit 1; }
# send_modes.c (the ways to send a cached page, run by bench.py at the end) into the work
# directory, so built on every run whatever SKIP_BUILD says.
cc -O2 -Wall -Wextra -Werror -std=gnu11 -pthread -o "$WORK/send_modes" "$HERE/send_modes.c"

# ------------------------------------------------------------------------------------------
# 3. the benchmark

ARGS=(--work "$WORK" --binary "$ROOT/build/alluxio-s3-proxy" --command "$COMMAND"
    --send-modes "$WORK/send_modes"
    --quiet-wait "${QUIET_WAIT:-$([ "$QUICK" = 1 ] && echo 0 || echo 300)}")
if [ "$QUICK" = 1 ]; then
    ARGS+=(--quick)
    [ -n "${RESULTS:-}" ] && ARGS+=(--results "$RESULTS")
else
    ARGS+=(--results "${RESULTS:-$HERE/RESULTS.md}")
fi
PY="$(command -v python3)"
set +e
"$PY" "$HERE/bench.py" "${ARGS[@]}" &
BENCH_PID=$!
wait "$BENCH_PID"
rc=$?
set -e
BENCH_PID=""
case "$rc" in
0) echo "run.sh: ok" ;;
2) echo "run.sh: the harness ran, but a server misbehaved (see 'Problems seen')" ;;
*) echo "run.sh: harness failure (status $rc)" ;;
esac
exit "$rc"
