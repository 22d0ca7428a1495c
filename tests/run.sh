#!/usr/bin/env bash
# tests/run.sh: everything CI runs, from a fresh Debian 12 machine (as root) to one closing line.
#
#   1. installs the build and test dependencies (apt-get only when something is missing, so a
#      second run is fast), checks that a Python with moto + boto3 is there (pip as a fallback),
#      and runs `npm ci` for the node S3 client of the integration tests;
#   2. builds a release build (build/) and an ASan+UBSan build (build-asan/);
#   3. runs the Criterion unit tests (meson test) in both builds;
#   4. runs the integration tests (tests/integration/run_tests.py) against both binaries; the
#      heavy ones (1 GiB memory test) only against the release build; a sanitizer report in the
#      proxy's stderr fails the test during which it appeared;
#   5. runs the libFuzzer targets for a bounded time (tests/fuzz/run.sh);
#   6. ends with exactly one line "N passed, N failed" (unit tests counted one by one from
#      Criterion's synthesis, plus integration tests) and exits non-zero on any failure.
#
# Environment: SKIP_DEPS=1 skips step 1; RUN_ONLY="release" or "asan" runs one build only;
# IT_ARGS are extra arguments for run_tests.py (e.g. IT_ARGS="-k range").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Test data peaks at a few GiB (a 1 GiB object, disk stores, etcd WALs; each test's data is
# removed when it ends, logs are kept). /tmp is used when it has room; on a machine whose disk is
# nearly full, /dev/shm (RAM-backed) is used instead, so a full disk is not a red run.
free_kib() { df -Pk "$1" 2>/dev/null | awk 'NR == 2 { kib = $4 } END { print kib + 0 }'; }
SCRATCH_NEED_KIB=$((6 * 1024 * 1024))
SCRATCH=/tmp
if [ "$(free_kib /tmp)" -lt "$SCRATCH_NEED_KIB" ] &&
    [ "$(free_kib /dev/shm)" -ge "$SCRATCH_NEED_KIB" ]; then
    SCRATCH=/dev/shm
fi
LOGS="$(mktemp -d "$SCRATCH/alluxio-s3-proxy-tests.XXXXXX")"
echo "scratch: $LOGS ($(($(free_kib "$SCRATCH") / 1024)) MiB free on $SCRATCH)"
T0=$SECONDS
PASSED=0
FAILED=0
SUMMARY=()

note() { printf '\n=== %s (%ds)\n' "$*" "$((SECONDS - T0))"; }
record() { # record NAME PASSED FAILED [DETAIL]
    PASSED=$((PASSED + $2))
    FAILED=$((FAILED + $3))
    SUMMARY+=("$(printf '%-24s ok=%-5s failed=%-4s %s' "$1" "$2" "$3" "${4:-}")")
}
finish() {
    note "summary (logs in $LOGS)"
    local line
    for line in "${SUMMARY[@]}"; do echo "  $line"; done
    echo "$PASSED passed, $FAILED failed"
    if [ "$FAILED" -ne 0 ] || [ "$PASSED" -eq 0 ]; then exit 1; fi
    exit 0
}

# ------------------------------------------------------------------------------------------
# 1. dependencies

APT_PACKAGES=(
    meson ninja-build pkg-config gcc libc6-dev
    liburing-dev libcurl4-openssl-dev libssl-dev libyaml-dev libexpat1-dev libcriterion-dev libjson-c-dev
    python3 python3-boto3 awscli s3cmd rclone s3fs curl nodejs procps psmisc ca-certificates
    clang libclang-rt-14-dev
    libgrpc-dev libprotobuf-c-dev protobuf-c-compiler etcd-server etcd-client
)

install_deps() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    # npm: the image's NodeSource nodejs ships its own; Debian's npm package only where absent.
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    # s3fs (Debian, libfuse2) pulls in a FUSE package itself; fuse3 is not installed on top: it
    # Breaks/Replaces `fuse` and would swap the one s3fs was installed with.
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "apt: all ${#APT_PACKAGES[@]} packages present"
        return 0
    fi
    echo "apt: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

find_python() {
    # The machine image's python3 (pyenv) has boto3 1.43 and moto 5.2.1; Debian's has neither
    # moto nor a new boto3. Prefer a python3 that already imports both.
    local cand
    for cand in "$(command -v python3 || true)" /root/.pyenv/shims/python3 /usr/local/bin/python3 /usr/bin/python3; do
        [ -n "$cand" ] && [ -x "$cand" ] || continue
        if "$cand" -c 'import moto, moto.server, boto3' >/dev/null 2>&1; then
            echo "$cand"
            return 0
        fi
    done
    return 1
}

setup_python() {
    if [ -d /root/.pyenv/shims ]; then export PATH="/root/.pyenv/shims:$PATH"; fi
    if PY="$(find_python)"; then
        echo "python: $PY ($("$PY" -c 'import moto, boto3; print("moto", moto.__version__, "boto3", boto3.__version__)'))"
        return 0
    fi
    echo "python: no python3 with moto + boto3; trying pip install 'moto[server]==5.2.1' boto3 awscli"
    local pipflags=(--quiet --disable-pip-version-check)
    python3 -m pip --version >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends python3-pip || true
    python3 -m pip install "${pipflags[@]}" 'moto[server]==5.2.1' boto3 awscli ||
        python3 -m pip install "${pipflags[@]}" --break-system-packages 'moto[server]==5.2.1' boto3 awscli || true
    if PY="$(find_python)"; then
        echo "python: $PY (installed with pip)"
        return 0
    fi
    echo "FATAL: the integration tests need a python3 with moto 5.2.1 (moto_server) and boto3."
    echo "       The machine image has them in /root/.pyenv; here they are missing and pip could"
    echo "       not install them (PyPI unreachable?). Install moto[server]==5.2.1 and boto3."
    return 1
}

setup_node() {
    local dir="$ROOT/tests/integration" stamp
    stamp="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [ -f "$dir/node_modules/.ci-stamp" ] && [ "$(cat "$dir/node_modules/.ci-stamp")" = "$stamp" ]; then
        echo "npm: node_modules up to date"
        return 0
    fi
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$stamp" >"$dir/node_modules/.ci-stamp"
}

note "dependencies"
if [ "${SKIP_DEPS:-0}" != 1 ]; then
    if ! install_deps; then
        record "dependencies" 0 1 "apt-get failed"
        finish
    fi
fi
if ! setup_python; then
    record "python moto+boto3" 0 1 "missing"
    finish
fi
if ! setup_node >"$LOGS/npm.log" 2>&1; then
    cat "$LOGS/npm.log"
    record "npm ci" 0 1 "see $LOGS/npm.log"
    # the other tests still run; the node client test will fail on its own
else
    cat "$LOGS/npm.log"
fi

# ------------------------------------------------------------------------------------------
# 2. builds

build() { # build DIR MESON_ARGS...
    local dir="$1"
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" "$@" >/dev/null || meson setup --reconfigure "$dir" "$@"
    else
        meson setup "$dir" "$@"
    fi
    ninja -C "$dir"
}

BUILDS=(release asan)
if [ -n "${RUN_ONLY:-}" ]; then BUILDS=("$RUN_ONLY"); fi
declare -A BUILD_DIR=([release]=build [asan]=build-asan)
declare -A BUILD_OK=()

for b in "${BUILDS[@]}"; do
    note "build $b"
    if [ "$b" = release ]; then
        args=(--buildtype=release)
    else
        args=(--buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false)
    fi
    if build "${BUILD_DIR[$b]}" "${args[@]}" >"$LOGS/build-$b.log" 2>&1 &&
        [ -x "${BUILD_DIR[$b]}/alluxio-s3-proxy" ]; then
        BUILD_OK[$b]=1
        tail -n 2 "$LOGS/build-$b.log"
    else
        tail -n 60 "$LOGS/build-$b.log"
        record "build $b" 0 1 "see $LOGS/build-$b.log"
    fi
done

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# ------------------------------------------------------------------------------------------
# 3. unit tests

count_unit() { # count_unit BUILD_DIR -> "passed failed"
    "$PY" - "$1/meson-logs/testlog.json" <<'EOF'
import json, re, sys
passed = failed = 0
ansi = re.compile(r"\x1b\[[0-9;]*m")
syn = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    print("0 1"); sys.exit()
for line in lines:
    if not line.strip():
        continue
    t = json.loads(line)
    text = ansi.sub("", (t.get("stdout") or "") + (t.get("stderr") or ""))
    m = syn.findall(text)
    ok = t.get("result") in ("OK", "EXPECTEDFAIL")
    if m:
        tested, passing = int(m[-1][0]), int(m[-1][1])
        p, f = passing, tested - passing
        if not ok and f == 0:
            f = 1  # the executable failed outside a test (sanitizer at exit, ...)
    else:
        p, f = (1, 0) if ok else (0, 1)
    passed += p
    failed += f
print(passed, failed)
EOF
}

for b in "${BUILDS[@]}"; do
    [ -n "${BUILD_OK[$b]:-}" ] || continue
    note "unit tests $b"
    dir="${BUILD_DIR[$b]}"
    rm -f "$dir/meson-logs/testlog.json"
    set +e
    meson test -C "$dir" --print-errorlogs >"$LOGS/unit-$b.log" 2>&1
    rc=$?
    set -e
    grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout|Skipped|Expected Fail|Unexpected Pass): ' "$LOGS/unit-$b.log" || true
    [ "$rc" -eq 0 ] || tail -n 80 "$LOGS/unit-$b.log"
    read -r up uf < <(count_unit "$dir")
    if [ "$rc" -ne 0 ] && [ "$uf" -eq 0 ]; then uf=1; fi
    record "unit $b" "$up" "$uf" "meson exit $rc"
done

# ------------------------------------------------------------------------------------------
# 4. integration tests

for b in "${BUILDS[@]}"; do
    [ -n "${BUILD_OK[$b]:-}" ] || continue
    note "integration tests $b"
    extra=()
    [ "$b" = asan ] && extra+=(--no-heavy)
    # shellcheck disable=SC2206
    [ -n "${IT_ARGS:-}" ] && extra+=($IT_ARGS)
    res="$LOGS/integration-$b.json"
    set +e
    "$PY" tests/integration/run_tests.py --proxy-bin "${BUILD_DIR[$b]}/alluxio-s3-proxy" \
        --label "$b" --results "$res" --workdir "$LOGS/integration-$b" "${extra[@]}" 2>&1 |
        tee "$LOGS/integration-$b.log"
    set -e
    if [ -f "$res" ]; then
        read -r ip if_ is_ < <("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["passed"], r["failed"], r["skipped"])' "$res")
        record "integration $b" "$ip" "$if_" "skipped=$is_"
    else
        record "integration $b" 0 1 "runner crashed, see $LOGS/integration-$b.log"
    fi
done

# ------------------------------------------------------------------------------------------
# 5. fuzzing: each libFuzzer target for a bounded time (FUZZ_SECONDS, default 30); longer by
#    hand with tests/fuzz/run.sh SECONDS.

note "fuzz (${FUZZ_SECONDS:-30}s per target)"
set +e
bash tests/fuzz/run.sh "${FUZZ_SECONDS:-30}" >"$LOGS/fuzz.log" 2>&1
rc=$?
set -e
tail -n 5 "$LOGS/fuzz.log"
if [ "$rc" -eq 0 ]; then
    record "fuzz" 1 0 "no crash, no leak"
else
    record "fuzz" 0 1 "see $LOGS/fuzz.log"
fi

finish
