#!/usr/bin/env python3
"""
Integration test runner (no pytest on the image): runs every registered test against one proxy
binary and prints PASS/FAIL/SKIP lines and a summary.

  python3 run_tests.py --proxy-bin build/alluxio-s3-proxy [--label release] [--no-heavy]
                       [-k SUBSTRING]... [--results FILE.json] [--target moto]

--target moto runs the tests that make sense against moto_server directly (to check the tests'
own logic, not the proxy). --results writes {"passed": N, "failed": N, "skipped": N}.
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fixtures import Suite  # noqa: E402

MODULES = ["t_config", "t_s3", "t_list", "t_http", "t_cache", "t_file", "t_signer", "t_clients", "t_auth", "t_disk", "t_cluster", "t_ring_cli", "t_fleet", "t_worker_api"]


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy-bin", default=os.environ.get("PROXY_BIN"))
    ap.add_argument("--label", default="release")
    ap.add_argument("--no-heavy", action="store_true", help="skip heavy tests (sanitizer build)")
    ap.add_argument("-k", action="append", default=[], help="run tests whose name contains this")
    ap.add_argument("--results")
    ap.add_argument("--target", choices=["proxy", "moto"], default="proxy")
    ap.add_argument("--workdir")
    args = ap.parse_args()

    if args.target == "proxy":
        if not args.proxy_bin or not os.access(args.proxy_bin, os.X_OK):
            print(f"FAIL setup: proxy binary not found: {args.proxy_bin!r} (set PROXY_BIN)")
            write_results(args.results, 0, 1, 0)
            return 1
        args.proxy_bin = os.path.abspath(args.proxy_bin)

    harness.MOTO_MODE = args.target == "moto"
    for m in MODULES:
        __import__(m)

    workdir = args.workdir or tempfile.mkdtemp(prefix=f"s3proxy-it-{args.label}-")
    os.makedirs(workdir, exist_ok=True)
    print(f"# integration [{args.label}] binary={args.proxy_bin} workdir={workdir}", flush=True)
    suite = Suite(args.proxy_bin, workdir, target=args.target, label=args.label)
    passed = failed = skipped = 0
    t_start = time.monotonic()
    signal.signal(signal.SIGALRM, on_alarm)
    # SIGTERM (a CI timeout): unwind through the finally below so every child is stopped.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))

    def report(name, status, msg="", secs=None):
        nonlocal passed, failed, skipped
        timing = f" ({secs:.1f}s)" if secs is not None else ""
        if status == "PASS":
            passed += 1
            print(f"PASS {name}{timing}", flush=True)
        elif status == "SKIP":
            skipped += 1
            print(f"SKIP {name}: {msg}", flush=True)
        else:
            failed += 1
            msg = msg.rstrip()
            print(f"FAIL {name}{timing}: {msg}", flush=True)

    try:
        for t in harness.TESTS:
            if args.k and not any(k in t.name for k in args.k):
                continue
            if args.target == "moto" and t.proxy_only:
                continue
            if t.heavy and args.no_heavy:
                report(t.name, "SKIP", f"heavy test, not run on the {args.label} build")
                continue
            c = harness.Check()
            before = set(os.listdir(workdir))
            t0 = time.monotonic()
            status, msg = "PASS", ""
            signal.alarm(t.timeout)
            try:
                t.fn(suite, c)
                if c.failures:
                    status, msg = "FAIL", format_failures(c.failures)
            except harness.TestSkip as e:
                status, msg = "SKIP", str(e)
            except harness.TestFailure as e:
                status, msg = "FAIL", format_failures(c.failures + [str(e)])
            except Timeout:
                status, msg = "FAIL", format_failures(c.failures + [f"timed out after {t.timeout}s"])
            except Exception:
                status = "FAIL"
                msg = format_failures(c.failures + [traceback.format_exc(limit=6)])
            finally:
                signal.alarm(0)
            # Sanitizer reports and crashes are the test's failure too.
            problems = suite.sanitizer_reports() + suite.dead_shared()
            if problems:
                status = "FAIL"
                msg = (msg + "\n" if msg else "") + "\n".join(problems)
            report(t.name, status, msg, time.monotonic() - t0)
            suite.prune_test(before)
            # A crashed shared proxy is restarted by the next suite.proxy() call.
    finally:
        signal.alarm(0)
        try:
            for name, ok, msg in suite.events:
                report(name, "PASS" if ok else "FAIL", msg)
            if args.target == "proxy":
                for name, ok, msg in suite.shutdown():
                    report(name, "PASS" if ok else "FAIL", msg)
            else:
                suite.shutdown()
        except Exception:
            report("suite_teardown", "FAIL", traceback.format_exc(limit=6))
        suite.prune_all()
    secs = time.monotonic() - t_start
    print(
        f"== integration [{args.label}]: passed={passed} failed={failed} skipped={skipped} "
        f"in {secs:.0f}s",
        flush=True,
    )
    write_results(args.results, passed, failed, skipped)
    return 1 if failed else 0


def format_failures(failures, limit=15):
    out = failures[:limit]
    if len(failures) > limit:
        out.append(f"... and {len(failures) - limit} more")
    return "\n    ".join(out)


def write_results(path, passed, failed, skipped):
    if path:
        with open(path, "w") as f:
            json.dump({"passed": passed, "failed": failed, "skipped": skipped}, f)


if __name__ == "__main__":
    sys.exit(main())
