#!/usr/bin/env python3
"""bench.py: the benchmark of tests/bench/run.sh (issue 5). run.sh installs and builds, then runs

    bench.py --work DIR --binary PROXY [--send-modes PROG] [--quick] [--results FILE]
             [--command TEXT]

Everything runs on loopback, on free ports below the ephemeral range, out of DIR:
  origin   nginx serving DIR/data (bucket/key), the UFS of both caching proxies; core 1
  slice    nginx proxy_cache + slice (page-sized slices) in front of the origin; 1 worker, core 0
  static   nginx serving DIR/data itself (sendfile): the ceiling, and the direct cold read; core 0
  ours     alluxio-s3-proxy, threads=1, pinned to core 0, target_protocol=s3 -> origin
  ours-t2  alluxio-s3-proxy, threads=2, not pinned (all loops)
  ourssig  as ours, with auth=sigv4 (the cost of verifying every request)
  oursdisk as ours, with the disk page store (LOCAL) under a small memory tier; its rows drop
           the page cache before each run where the machine allows it
The proxies other than ourssig run auth=none (loopback only).
The load generator (wrk -t1 + wrk-s3.lua, curl for the cold read, kaconns.py) runs on core 1.
Warm rows interleave short rounds of every server and report medians, the ratios as the median
of per-round ratios (min..max). Server CPU comes from /proc/PID/stat (utime+stime of the
process and its children processes), the CPU taken by everything else from /proc/stat.
At the end, with the servers idle, PROG (tests/bench/send_modes.c, built by run.sh) measures the
sender CPU per MiB of send() copy, vmsplice+splice, sendfile and MSG_ZEROCOPY over loopback: a
section of its own (--quick: one round of 64 MiB, to exercise the path).
Standard library only. Every process started here is stopped by PID on the way out; their PIDs
are also appended to DIR/pids for run.sh's EXIT trap.
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import mmap
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TICK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024
KIB = 1024
BUCKET = "bench"
SERVER_CORE = "0"
CLIENT_CORE = "1"
KEY = "AKIDBENCHEXAMPLE"  # the origin ignores signatures; keys only make the proxy sign (cost)
SECRET = "benchsecretbenchsecretbenchsecret0000000"
CLIENT_KEY = "AKIDBENCHCLIENT"  # the SigV4 row: the proxy's own client credentials
CLIENT_SECRET = "benchclientsecretbenchclientsecret000000"
REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def sigv4_headers(method, host, path, rng, now=None):
    """Headers of a SigV4-signed S3 request (header auth) for path (already URI-safe: the
    bench keys are [a-z0-9/-]), signing host, range, x-amz-content-sha256 and x-amz-date."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    hdrs = {"host": host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date}
    if rng:
        hdrs["range"] = rng
    names = sorted(hdrs)
    canonical = "\n".join([method, path, ""] + [f"{n}:{hdrs[n]}" for n in names] +
                          ["", ";".join(names), EMPTY_SHA256])
    scope = f"{day}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + CLIENT_SECRET).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {"Host": host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date,
           "Authorization": f"AWS4-HMAC-SHA256 Credential={CLIENT_KEY}/{scope}, "
                            f"SignedHeaders={';'.join(names)}, Signature={sig}"}
    if rng:
        out["Range"] = rng
    return out


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class HarnessError(Exception):
    pass


# ------------------------------------------------------------------------------------------
# processes


class Procs:
    """Every process started here, stopped by PID at the end."""

    def __init__(self, work):
        self.work = work
        self.all = []

    def start(self, argv, log_path, **kw):
        out = open(log_path, "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, **kw)
        out.close()
        self.all.append(p)
        with open(os.path.join(self.work, "pids"), "a") as f:
            f.write(f"{p.pid}\n")
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        if p in self.all:
            self.all.remove(p)

    def stop_all(self):
        for p in list(reversed(self.all)):
            self.stop(p, timeout=5)


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def proc_tree(pid):
    pids, unvisited = [], [pid]
    while unvisited:
        p = unvisited.pop()
        pids.append(p)
        unvisited += children(p)
    return pids


def cpu_seconds(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except (OSError, IndexError):
            pass
    return total / TICK


def rss_mib(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def system_busy_seconds():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / TICK


def free_ports(n):
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    ports = []
    rnd = random.Random()
    while len(ports) < n:
        p = rnd.randrange(max(2000, low - 12000), low - 1)
        if p in ports:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            ports.append(p)
        except OSError:
            pass
        finally:
            s.close()
    return ports


def wait_http(port, proc, timeout=30):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise HarnessError(f"process on port {port} exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("HEAD", "/")
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.05)
    raise HarnessError(f"nothing answers on port {port} after {timeout}s")


def tail(path, n=5):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(line.strip() for line in f.readlines()[-n:])
    except OSError:
        return "(no log)"


def start_or_port_taken(server, log_path, attempt, timeout=30):
    """Wait for a just-started server. True when it answers; False when its port was taken
    meanwhile (other programs on this machine pick ports too): it then has a new port."""
    try:
        wait_http(server.port, server.proc, timeout)
        return True
    except HarnessError as e:
        text = tail(log_path, 20)
        if server.proc.poll() is not None and attempt < 3 and \
                re.search(r"Address already in use|EADDRINUSE|address in use", text, re.I):
            log(f"{server.name}: port {server.port} taken meanwhile, trying another")
            server.bench.procs.stop(server.proc)
            server.port = free_ports(1)[0]
            return False
        if server.proc.poll() is None:
            server.bench.procs.stop(server.proc)
        raise HarnessError(f"{server.name}: {e}; log: {tail(log_path)}")


class Server:
    """One server under test: a name, a port, and the PIDs whose CPU and RSS count."""

    def __init__(self, name, label, port):
        self.name, self.label, self.port = name, label, port
        self.proc = None
        self.dead = None

    def pids(self):
        return proc_tree(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def alive(self):
        if self.proc is None or self.proc.poll() is not None:
            if self.proc is not None and not self.dead:
                self.dead = f"exited with status {self.proc.returncode}"
            return False
        return True


class Nginx(Server):
    def __init__(self, name, label, port, template, core_mask, core_list, bench, extra=None):
        super().__init__(name, label, port)
        self.dir = os.path.join(bench.work, "nginx-" + name)
        self.template = template
        self.core_mask, self.core_list = core_mask, core_list
        self.bench = bench
        self.extra = extra or {}

    def render(self):
        os.makedirs(self.dir, exist_ok=True)
        subst = {
            "DIR": self.dir,
            "DATA": self.bench.data,
            "PORT": str(self.port),
            "AFFINITY": self.core_mask,
            "USER_LINE": "user root;" if os.geteuid() == 0 else "",
            "NOFILE": str(min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])),
        }
        subst.update(self.extra)

        def fill(text):
            return re.sub(r"@([A-Z_]+)@", lambda m: subst[m.group(1)], text)

        with open(os.path.join(HERE, "nginx-common.inc.in")) as f:
            common = fill(f.read())
        with open(os.path.join(self.dir, "common.inc"), "w") as f:
            f.write(common)
        with open(os.path.join(HERE, self.template)) as f:
            conf = fill(f.read())
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        return path

    def start(self):
        for attempt in range(4):
            conf = self.render()
            argv = ["taskset", "-c", self.core_list, "nginx", "-p", self.dir, "-c", conf,
                    "-e", os.path.join(self.dir, "error.log")]
            self.proc = self.bench.procs.start(argv, os.path.join(self.dir, "stdout.log"))
            self.dead = None
            if start_or_port_taken(self, os.path.join(self.dir, "error.log"), attempt):
                return

    def stop(self):
        if self.proc:
            self.bench.procs.stop(self.proc, signal.SIGTERM)
            self.proc = None


class Proxy(Server):
    def __init__(self, name, label, port, bench, threads, pin, valgrind=False, sigv4=False,
                 extra=None):
        super().__init__(name, label, port)
        self.bench, self.threads, self.pin, self.valgrind = bench, threads, pin, valgrind
        self.sigv4 = sigv4
        self.extra = extra or {}
        self.log = os.path.join(bench.work, f"proxy-{name}.log")

    def argv(self):
        b = self.bench
        argv = [b.binary,
                "--set", f"listen=127.0.0.1:{self.port}",
                "--set", f"threads={self.threads}",
                "--set", "target_protocol=s3",
                "--set", f"target_options.endpoint_url=http://127.0.0.1:{b.origin.port}",
                "--set", f"target_options.key={KEY}",
                "--set", f"target_options.secret={SECRET}",
                "--set", f"options.alluxio.worker.page.store.page.size={b.page}",
                "--set", f"memory_store_size={b.budget_mib}MiB",
                "--set", f"metadata_cache_ttl={b.meta_ttl}"]
        if self.sigv4:
            argv += ["--set", "auth=sigv4", "--set", f"credentials={CLIENT_KEY}:{CLIENT_SECRET}"]
        else:
            argv += ["--set", "auth=none"]
        for k, v in self.extra.items():
            argv += ["--set", f"{k}={v}"]
        if self.valgrind:
            argv = ["valgrind", "--tool=callgrind", "--dump-instr=no",
                    f"--callgrind-out-file={b.work}/callgrind.out.%p"] + argv
        if self.pin:
            argv = ["taskset", "-c", SERVER_CORE] + argv
        return argv

    def start(self):
        for attempt in range(4):
            self.proc = self.bench.procs.start(self.argv(), self.log)
            self.dead = None
            if start_or_port_taken(self, self.log, attempt,
                                   timeout=120 if self.valgrind else 30):
                return

    def stop(self):
        if self.proc:
            self.bench.procs.stop(self.proc, signal.SIGTERM, timeout=30)
            if self.proc.returncode not in (0, None):
                self.bench.problems.append(
                    f"{self.label}: exited with status {self.proc.returncode} on SIGTERM")
            self.proc = None

    def log_problems(self):
        """Lines of the proxy's log worth reporting (warn/error), counted by message."""
        counts = {}
        try:
            with open(self.log, errors="replace") as f:
                for line in f:
                    if re.search(r"\b(error|fatal|crit|panic|abort)\b", line, re.I) or \
                            re.search(r"\bwarn\b", line) and "no key/secret" not in line \
                            and "auth: none" not in line:
                        msg = re.sub(r"^\S+Z\s+", "", line.strip())
                        msg = re.sub(r"\d+", "N", msg)[:160]
                        counts[msg] = counts.get(msg, 0) + 1
        except OSError:
            pass
        return counts


# ------------------------------------------------------------------------------------------
# the benchmark


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work)
        self.binary = os.path.abspath(args.binary)
        self.data = os.path.join(self.work, "data")
        self.procs = Procs(self.work)
        self.quick = args.quick
        self.page = 1 * MIB
        self.problems = []  # server misbehaviour: wrong bytes, errors, crashes
        self.notes = []
        self.rows = []
        if self.quick:
            self.big_n, self.big_size = 4, 8 * MIB
            self.small_n, self.small_size = 100, 100 * KIB
            self.rounds, self.secs, self.cold_reps, self.cg_requests = 1, 2, 1, 20
            self.budget_mib = 256
            self.disk_mib, self.disk_mem_mib = 512, 16
            self.conns, self.conn_secs = 1000, 2
            self.send_modes_args = ["--rounds", "1", "--mib", "64"]
        else:
            self.big_n, self.big_size = 16, 64 * MIB
            self.small_n, self.small_size = 2000, 100 * KIB
            self.rounds, self.secs, self.cold_reps, self.cg_requests = 5, 3, 3, 300
            self.budget_mib = 2048
            self.disk_mib, self.disk_mem_mib = 4096, 64
            self.conns, self.conn_secs = 1000, 5
            self.send_modes_args = []  # its defaults: about 30 s
        self.send_modes_lines = None
        self.meta_ttl = "60s"
        self.origin_seen = (0, {})
        self.can_drop = None
        self.quiet_budget = 0 if self.quick else 240  # seconds of waiting for quiet, whole run
        self.redone = {}
        self.big_list = os.path.join(self.work, "big.list")
        self.small_list = os.path.join(self.work, "small.list")

    # -- dataset -------------------------------------------------------------------------

    def make_dataset(self):
        os.makedirs(os.path.join(self.data, BUCKET, "big"), exist_ok=True)
        os.makedirs(os.path.join(self.data, BUCKET, "small"), exist_ok=True)
        t0 = time.monotonic()
        # Random bytes from a 64 MiB pool, each object starting at its own offset, so every
        # object and every page of it differ (a wrong page or object fails the checks).
        pool = os.urandom(64 * MIB + 4096)
        rnd = random.Random(5)
        with open(self.big_list, "w") as lst:
            for i in range(self.big_n):
                key = f"big/obj-{i:02d}"
                path = os.path.join(self.data, BUCKET, key)
                with open(path, "wb") as f:
                    left = self.big_size
                    while left:
                        off = rnd.randrange(0, 4096)
                        n = min(left, 4 * MIB)
                        f.write(pool[off:off + n])
                        left -= n
                lst.write(f"/{BUCKET}/{key} {self.big_size}\n")
        with open(self.small_list, "w") as lst:
            for i in range(self.small_n):
                key = f"small/obj-{i:04d}"
                off = rnd.randrange(0, 64 * MIB - self.small_size)
                with open(os.path.join(self.data, BUCKET, key), "wb") as f:
                    f.write(pool[off:off + self.small_size])
                lst.write(f"/{BUCKET}/{key} {self.small_size}\n")
        total = self.big_n * self.big_size + self.small_n * self.small_size
        log(f"dataset: {self.big_n} x {self.big_size // MIB} MiB + {self.small_n} x "
            f"{self.small_size // KIB} KiB = {total / MIB:.0f} MiB in {time.monotonic() - t0:.1f}s")

    def file_bytes(self, path, first, last):
        with open(os.path.join(self.data, path.lstrip("/")), "rb") as f:
            f.seek(first)
            return f.read(last - first + 1)

    def read_dataset(self):
        """Pull the dataset into the page cache (the origin serves from memory, like S3)."""
        for d, _, files in os.walk(self.data):
            for name in files:
                with open(os.path.join(d, name), "rb") as f:
                    while f.read(8 * MIB):
                        pass

    def pretouch(self, nbytes):
        """This VM returns freed memory to the host: touch and free as much as the next run
        caches, so its page faults are the guest's own."""
        m = mmap.mmap(-1, nbytes)
        for off in range(0, nbytes, 4096):
            m[off] = 1
        m.close()

    # -- servers -------------------------------------------------------------------------

    def start_servers(self):
        p = free_ports(8)
        self.origin = Nginx("origin", "origin", p[0], "nginx-origin.conf.in", "10", CLIENT_CORE,
                            self)
        cache_max = f"{2 * (self.big_n * self.big_size + self.small_n * self.small_size) // MIB + 64}m"
        self.slice = Nginx("slice", "nginx slice cache", p[1], "nginx-slice.conf.in", "01",
                           SERVER_CORE, self,
                           {"ORIGIN_PORT": str(p[0]), "SLICE": str(self.page),
                            "CACHE_MAX": cache_max})
        self.static = Nginx("static", "nginx static", p[2], "nginx-static.conf.in", "01",
                            SERVER_CORE, self)
        self.ours = Proxy("ours", "ours threads=1", p[3], self, threads=1, pin=True)
        self.ours2 = Proxy("ours2", "ours threads=2", p[4], self, threads=2, pin=False)
        self.cg_port = p[5]
        self.ours_sig = Proxy("ourssig", "ours threads=1, SigV4 on", p[6], self, threads=1,
                              pin=True, sigv4=True)
        self.ours_disk = Proxy("oursdisk", "ours threads=1, disk store", p[7], self, threads=1,
                               pin=True, extra={
                                   "options.alluxio.worker.page.store.type": "LOCAL",
                                   "options.alluxio.worker.page.store.dirs":
                                       os.path.join(self.work, "disk-store"),
                                   "options.alluxio.worker.page.store.sizes":
                                       f"{self.disk_mib}MiB",
                                   "memory_store_size": f"{self.disk_mem_mib}MiB"})
        for s in (self.origin, self.slice, self.static):
            s.start()
        self.ours.start()
        self.ours2.start()
        # Rows of features a proxy build may not have: n/a when it will not start.
        for s in (self.ours_sig, self.ours_disk):
            try:
                s.start()
            except HarnessError as e:
                s.dead = f"could not start: {e}"
                s.proc = None
                log(f"{s.label}: {s.dead}")
        self.servers = [self.ours, self.ours2, self.slice, self.static]
        self.all_servers = self.servers + [x for x in (self.ours_sig, self.ours_disk) if x.proc]
        log("ports: " + ", ".join(f"{s.name}={s.port}" for s in [self.origin] +
                                  self.all_servers))

    def origin_requests(self):
        """Requests the origin has logged so far: {"HEAD": n, "GET": n, ...}."""
        try:
            with open(os.path.join(self.origin.dir, "origin.log"), "rb") as f:
                f.seek(self.origin_seen[0])
                data = f.read()
        except OSError:
            return dict(self.origin_seen[1])
        end = data.rfind(b"\n") + 1
        counts = self.origin_seen[1]
        for line in data[:end].splitlines():
            method = line.split(b" ", 1)[0].decode(errors="replace")
            counts[method] = counts.get(method, 0) + 1
        self.origin_seen = (self.origin_seen[0] + end, counts)
        return dict(counts)

    @staticmethod
    def origin_delta(before, after):
        return {k: after.get(k, 0) - before.get(k, 0) for k in after
                if after.get(k, 0) - before.get(k, 0)}

    @staticmethod
    def origin_text(d):
        if not d:
            return "0 origin reqs"
        return "origin reqs: " + ", ".join(f"{v} {k}" for k, v in sorted(d.items()))

    # -- correctness ---------------------------------------------------------------------

    def check(self, server):
        """A few GET/HEAD through the server, compared with the files. Returns failures."""
        bad = []
        big = f"/{BUCKET}/big/obj-{self.big_n - 1:02d}"
        small = f"/{BUCKET}/small/obj-{self.small_n - 1:04d}"
        P = self.page
        cases = [
            ("HEAD", big, None, 200, None),
            ("GET", big, (P, 2 * P - 1), 206, None),
            ("GET", big, (3 * P - 1000, 3 * P - 1000 + 256 * KIB - 1), 206, None),
            ("GET", big, (0, 8 * P - 1), 206, None),
            ("GET", small, None, 200, (0, self.small_size - 1)),
            ("GET", big, (self.big_size - 10, self.big_size + 10), 206, None),
        ]
        sign = getattr(server, "sigv4", False)
        if sign:
            cases.append(("GET-unsigned", big, (0, 99), 403, None))
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for method, path, rng, want_status, whole in cases:
            hdrs = {}
            if rng:
                hdrs["Range"] = f"bytes={rng[0]}-{rng[1]}"
            if method == "GET-unsigned":
                method = "GET"
            elif sign:
                hdrs = sigv4_headers(method, f"127.0.0.1:{server.port}", path,
                                     hdrs.get("Range"))
            try:
                c.request(method, path, headers=hdrs)
                r = c.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException) as e:
                bad.append(f"{method} {path} {hdrs}: {e!r}")
                c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                continue
            what = f"{method} {path} {hdrs.get('Range', '')}".strip()
            if r.status != want_status:
                bad.append(f"{what}: status {r.status}, want {want_status}")
                continue
            if method == "HEAD" or want_status == 403:
                size = self.big_size
                if method == "HEAD" and r.getheader("Content-Length") != str(size):
                    bad.append(f"{what}: Content-Length {r.getheader('Content-Length')}")
                continue
            first, last = rng or whole
            last = min(last, (self.big_size if "big" in path else self.small_size) - 1)
            want = self.file_bytes(path, first, last)
            if hashlib.sha256(body).digest() != hashlib.sha256(want).digest():
                bad.append(f"{what}: wrong bytes ({len(body)} bytes, want {len(want)})")
        c.close()
        return bad

    # -- warm rows -----------------------------------------------------------------------

    def warm_pass(self, server):
        """GET every object once, whole, in parallel (fills a caching server)."""
        for lst in (self.big_list, self.small_list):
            urls = [f"http://127.0.0.1:{server.port}{line.split()[0]}" for line in open(lst)]
            codes = self.curl_parallel(urls, 16, sigv4=getattr(server, "sigv4", False))
            bad = [c for c in codes if c[0] not in ("200", "206")]
            if bad:
                self.problems.append(f"{server.label}: warm pass: {len(bad)} bad replies, "
                                     f"e.g. {bad[0]}")

    def curl_parallel(self, urls, parallel, sigv4=False):
        """GET urls with one curl --parallel on the client core; [(code, size)]."""
        out = []
        for i in range(0, len(urls), 500):
            argv = ["taskset", "-c", CLIENT_CORE, "curl", "-s", "--parallel", "--parallel-max",
                    str(parallel), "-w", "%{http_code} %{size_download}\\n"]
            if sigv4:
                argv += ["--aws-sigv4", f"aws:amz:{REGION}:s3", "--user",
                         f"{CLIENT_KEY}:{CLIENT_SECRET}"]
            for u in urls[i:i + 500]:
                argv += ["-o", "/dev/null", u]
            r = subprocess.run(argv, capture_output=True, text=True)
            out += [tuple(line.split()) for line in r.stdout.splitlines() if line.strip()]
        return out

    def run_wrk(self, server, wl, secs, seed):
        """One wrk run; a dict of figures."""
        if getattr(server, "sigv4", False):
            script_args = [self.signed_requests(server, wl), "file", str(wl["len"]),
                           str(self.page), str(seed)]
        else:
            script_args = [wl["list"], wl["mode"], str(wl["len"]), str(self.page), str(seed)]
        argv = ["taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{wl['conns']}", f"-d{secs}s",
                "--latency", "--timeout", "10s", "-s", os.path.join(HERE, "wrk-s3.lua"),
                f"http://127.0.0.1:{server.port}", "--"] + script_args
        out_path = os.path.join(self.work, "wrk.out")
        pids = server.pids()
        origin0 = self.origin_requests()
        cpu0, sys0, t0 = cpu_seconds(pids), system_busy_seconds(), time.monotonic()
        with open(out_path, "w") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        cpu1, sys1 = cpu_seconds(pids), system_busy_seconds()
        text = open(out_path).read()
        m = re.search(r"^BENCH (.*)$", text, re.M)
        if p.returncode != 0 or not m:
            raise HarnessError(f"wrk failed (status {p.returncode}): {text[-2000:]}")
        f = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
        client_cpu = ru.ru_utime + ru.ru_stime
        srv_cpu = cpu1 - cpu0
        dur = f["duration_us"] / 1e6
        reqs = f["requests"]
        return {
            "rps": reqs / dur,
            "mibps": reqs * wl["len"] / dur / MIB,
            "p50": f["p50_us"] / 1000,
            "p99": f["p99_us"] / 1000,
            "busy": 100 * srv_cpu / wall,
            "cpu_ms": 1000 * srv_cpu / reqs if reqs else float("nan"),
            # Server, client and softirq together: sendfile moves the copy from the server to
            # the client, so the server's own CPU/req alone flatters it.
            "machine_ms": 1000 * (sys1 - sys0) / reqs if reqs else float("nan"),
            "client": 100 * client_cpu / wall,
            "others": 100 * max(0.0, (sys1 - sys0) - srv_cpu - client_cpu) / wall,
            "errors": int(f["err_connect"] + f["err_read"] + f["err_write"] + f["err_status"] +
                          f["err_timeout"]),
            "err_detail": {k[4:]: int(v) for k, v in f.items() if k.startswith("err_") and v},
            "bpr": f["bytes"] / reqs if reqs else 0,
            "requests": reqs,
            "origin": self.origin_delta(origin0, self.origin_requests()),
        }

    def signed_requests(self, server, wl):
        """A file of 4096 SigV4-signed raw requests of workload wl, NUL-separated, signed
        now (valid for the 15 minutes of clock skew S3 allows; made once per workload)."""
        path = os.path.join(self.work, f"signed-{wl['id']}.req")
        if os.path.exists(path) and time.time() - os.path.getmtime(path) < 600:
            return path
        objs = [(a, int(b)) for a, b in (line.split() for line in open(wl["list"]))]
        rnd = random.Random(11)
        host = f"127.0.0.1:{server.port}"
        now = datetime.datetime.now(datetime.timezone.utc)
        P, n = self.page, wl["len"]
        with open(path, "wb") as f:
            for _ in range(4096):
                obj, size = rnd.choice(objs)
                rng = None
                if wl["mode"] == "aligned":
                    first = rnd.randint(0, (size - n) // P) * P
                    rng = f"bytes={first}-{first + n - 1}"
                elif wl["mode"] == "unaligned":
                    first = min(rnd.randint(1, size // P - 1) * P - rnd.randint(1, n - 1),
                                size - n)
                    rng = f"bytes={first}-{first + n - 1}"
                hdrs = sigv4_headers("GET", host, obj, rng, now)
                head = f"GET {obj} HTTP/1.1\r\n" + "".join(
                    f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
                f.write(head.encode() + b"\0")
        return path

    def drop_caches(self):
        """Drop the page cache (root only); False when this machine does not allow it."""
        if self.can_drop is False:
            return False
        try:
            os.sync()
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("1\n")
            self.can_drop = True
        except OSError:
            self.can_drop = False
        return self.can_drop

    def workloads(self):
        P = self.page
        main = [self.ours, self.ours2, self.slice, self.static]
        with_sig = [self.ours, self.ours2, self.ours_sig, self.slice, self.static]
        disk = [self.ours_disk, self.slice, self.static]
        return [
            {"id": "warm-1m", "title": "warm 1 MiB aligned ranges, 64 conns", "list": self.big_list,
             "mode": "aligned", "len": P, "conns": 64, "servers": with_sig},
            {"id": "warm-8m", "title": "warm 8 MiB ranges, 64 conns", "list": self.big_list,
             "mode": "aligned", "len": 8 * P, "conns": 64, "servers": main},
            {"id": "warm-256k", "title": "warm 256 KiB unaligned ranges, 64 conns",
             "list": self.big_list, "mode": "unaligned", "len": 256 * KIB, "conns": 64,
             "servers": main},
            {"id": "warm-100k", "title": f"warm 100 KiB objects ({self.small_n}), 256 conns",
             "list": self.small_list, "mode": "whole", "len": self.small_size, "conns": 256,
             "servers": with_sig},
            {"id": "disk-1m", "title": "disk: warm 1 MiB aligned ranges, 64 conns",
             "list": self.big_list, "mode": "aligned", "len": P, "conns": 64, "servers": disk,
             "drop": True},
            {"id": "disk-8m", "title": "disk: warm 8 MiB ranges, 64 conns",
             "list": self.big_list, "mode": "aligned", "len": 8 * P, "conns": 64,
             "servers": disk, "drop": True},
            {"id": "disk-256k", "title": "disk: warm 256 KiB unaligned ranges, 64 conns",
             "list": self.big_list, "mode": "unaligned", "len": 256 * KIB, "conns": 64,
             "servers": disk, "drop": True},
        ]

    def warm_rows(self):
        for wl in self.workloads():
            live = [s for s in wl["servers"] if s.alive()]
            if wl.get("drop"):
                wl["dropped"] = self.drop_caches()
                wl["title"] += (", page cache dropped before each run" if wl["dropped"] else
                                ", page cache NOT dropped (not allowed here)")
            log(f"{wl['title']}: warm-up round")
            for s in live:
                self.run_wrk(s, wl, 1, 1)
            res = {s.name: [] for s in wl["servers"]}
            for r in range(self.rounds):
                order = live[r % len(live):] + live[:r % len(live)]
                for attempt in (1, 2):
                    self.wait_quiet()
                    got = {}
                    for s in order:
                        if s.alive():
                            if wl.get("dropped"):
                                self.drop_caches()
                            got[s.name] = self.run_wrk(s, wl, self.secs, 100 + r)
                            s.alive()
                    noisy = max([x["others"] for x in got.values()] + [0])
                    line = "  ".join(f"{k} {v['rps']:.0f}/s" for k, v in got.items())
                    log(f"  round {r + 1}/{self.rounds}: {line}  (others up to {noisy:.0f}%)")
                    if noisy <= 25 or attempt == 2 or self.quiet_budget <= 0:
                        break
                    self.redone[wl["id"]] = self.redone.get(wl["id"], 0) + 1
                    log("  noisy round: once more")
                for k, v in got.items():
                    res[k].append(v)
            self.add_warm_rows(wl, res)

    def wait_quiet(self, limit=30):
        """Wait (from the run's budget, at most limit s) until others take < 15% of a core."""
        start = time.monotonic()
        t_end = start + max(0.0, min(limit, self.quiet_budget))
        while True:
            s0, t0 = system_busy_seconds(), time.monotonic()
            time.sleep(0.5)
            busy = 100 * (system_busy_seconds() - s0) / (time.monotonic() - t0)
            if busy < 15 or time.monotonic() >= t_end:
                break
        waited = time.monotonic() - start - 0.5
        if waited > 0.1:
            self.quiet_budget -= waited
            log(f"  waited {waited:.0f}s for other processes to go quiet ({busy:.0f}% now)")

    def add_warm_rows(self, wl, res):
        def med(xs):
            return statistics.median(xs) if xs else float("nan")

        def ratio(a, b, key):
            if a not in res or b not in res:
                return "-"
            rs = [x[key] / y[key] for x, y in zip(res[a], res[b]) if y[key]]
            if not rs:
                return "-"
            if len(rs) == 1:
                return f"{rs[0]:.2f}x"
            return f"{med(rs):.2f}x ({min(rs):.2f}..{max(rs):.2f})"

        for s in wl["servers"]:
            rr = res[s.name]
            if not rr:
                why = s.dead or "not run"
                if why.startswith("could not start"):
                    why = "n/a (this proxy build does not start with these settings: " + \
                          why.split("log: ", 1)[-1][-200:] + ")"
                self.rows.append([wl["title"], s.label] + ["-"] * 9 + [why])
                continue
            notes = []
            if s is self.ours_sig:
                notes.append(f"vs auth=none: {ratio(s.name, 'ours', 'rps')} req/s, "
                             f"{ratio(s.name, 'ours', 'cpu_ms')} CPU/req")
            errs = sum(x["errors"] for x in rr)
            if errs:
                detail = {}
                for x in rr:
                    for k, v in x["err_detail"].items():
                        detail[k] = detail.get(k, 0) + v
                notes.append("ERRORS " + ", ".join(f"{k} {v}" for k, v in detail.items()))
                self.problems.append(f"{s.label}, {wl['title']}: wrk errors {detail}")
            # wrk's byte count includes the responses still in flight when it stops.
            want = wl["len"]
            bpr = med([x["bpr"] for x in rr])
            slack = 4096 + wl["conns"] * (want + 4096) / max(1, min(x["requests"] for x in rr))
            if not want <= bpr <= want + slack:
                notes.append(f"bytes/req {bpr:.0f} (want ~{want})")
                self.problems.append(f"{s.label}, {wl['title']}: {bpr:.0f} bytes per reply, "
                                     f"want {want} + headers")
            origin = {}
            for x in rr:
                for k, v in x["origin"].items():
                    origin[k] = origin.get(k, 0) + v
            if s is not self.static:
                notes.append(self.origin_text(origin))
            notes.append(f"client CPU {med([x['client'] for x in rr]):.0f}%")
            machine = f"machine CPU {med([x['machine_ms'] for x in rr]):.3f} ms/req"
            if s is not self.slice:
                machine += f" ({ratio(s.name, 'slice', 'machine_ms')} slice's)"
            notes.append(machine)
            others = max(x["others"] for x in rr)
            if others > 10:
                notes.append(f"NOISY: others up to {others:.0f}% of a core")
            if self.redone.get(wl["id"]):
                notes.append(f"{self.redone[wl['id']]} noisy round(s) redone")
            if s.dead:
                notes.append(f"DIED: {s.dead}")
            self.rows.append([
                wl["title"], s.label,
                f"{med([x['rps'] for x in rr]):.0f}",
                f"{med([x['mibps'] for x in rr]):.0f}",
                f"{med([x['p50'] for x in rr]):.2f}",
                f"{med([x['p99'] for x in rr]):.2f}",
                f"{med([x['busy'] for x in rr]):.0f}",
                f"{med([x['cpu_ms'] for x in rr]):.3f}",
                "1" if s is self.slice else ratio(s.name, "slice", "rps"),
                "1" if s is self.static else ratio(s.name, "static", "rps"),
                "1" if s is self.slice else ratio(s.name, "slice", "cpu_ms"),
                "; ".join(notes),
            ])

    # -- cold rows -----------------------------------------------------------------------

    def cold_read(self, server):
        urls = [f"http://127.0.0.1:{server.port}{line.split()[0]}" for line in open(self.big_list)]
        pids = server.pids()
        cpu0, t0 = cpu_seconds(pids), time.monotonic()
        codes = self.curl_parallel(urls, len(urls))
        wall = time.monotonic() - t0
        cpu = cpu_seconds(pids) - cpu0
        bad = [c for c in codes if c != ("200", str(self.big_size))]
        if bad or len(codes) != len(urls):
            self.problems.append(f"{server.label}: cold read: {len(bad)} bad replies of "
                                 f"{len(codes)}, e.g. {bad[:1]}")
        return wall, cpu

    def cold_rows(self):
        total = self.big_n * self.big_size
        self.read_dataset()
        times = {"ours": [], "slice": [], "static": []}
        cpus = {"ours": [], "slice": [], "static": []}
        origin = {"ours": 0, "slice": 0}
        for rep in range(self.cold_reps):
            for s in (self.ours, self.slice, self.static):
                if s is self.ours:
                    s.stop()
                    s.start()
                    if rep == 0:
                        time.sleep(0.5)
                        self.rss_fresh = rss_mib(s.pids())
                elif s is self.slice:
                    s.stop()
                    shutil.rmtree(os.path.join(s.dir, "cache"), ignore_errors=True)
                    s.start()
                self.pretouch(total + 64 * MIB)
                o0 = self.origin_requests()
                wall, cpu = self.cold_read(s)
                if s.name in origin:
                    d = self.origin_delta(o0, self.origin_requests())
                    origin[s.name] += sum(d.values())
                times[s.name].append(wall)
                cpus[s.name].append(cpu)
            log(f"cold rep {rep + 1}/{self.cold_reps}: " +
                "  ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()))
        title = f"cold read {total / MIB:.0f} MiB ({self.big_n} objects in parallel)"
        labels = {"ours": "ours threads=1 (empty cache)", "slice": "nginx slice (empty cache)",
                  "static": "direct from origin (nginx static)"}

        def rat(a, b):
            rs = [x / y for x, y in zip(times[a], times[b])]
            if len(rs) == 1:
                return f"time {rs[0]:.2f}x"
            return f"time {statistics.median(rs):.2f}x ({min(rs):.2f}..{max(rs):.2f})"

        for k in ("ours", "slice", "static"):
            t = statistics.median(times[k])
            c = statistics.median(cpus[k])
            notes = [f"{t:.2f} s ({min(times[k]):.2f}..{max(times[k]):.2f}), server CPU {c:.2f} s"]
            if k in origin:
                notes.append(f"{origin[k] // max(1, self.cold_reps)} origin reqs/run")
            self.rows.append([title, labels[k], "-", f"{total / MIB / t:.0f}", "-", "-",
                              f"{100 * c / t:.0f}", "-",
                              "1" if k == "slice" else rat(k, "slice"),
                              "1" if k == "static" else rat(k, "static"), "-", "; ".join(notes)])

    # -- memory rows ---------------------------------------------------------------------

    def conns_rss(self, server):
        argv = ["taskset", "-c", CLIENT_CORE, sys.executable, os.path.join(HERE, "kaconns.py"),
                "127.0.0.1", str(server.port), str(self.conns), self.big_list,
                str(self.conn_secs)]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.procs.all.append(p)
        peak, lines = 0.0, []
        for line in p.stdout:
            lines.append(line.strip())
            if line.startswith("READY"):
                t_end = time.monotonic() + self.conn_secs - 0.2
                while time.monotonic() < t_end:
                    peak = max(peak, rss_mib(server.pids()))
                    time.sleep(0.1)
        p.wait()
        self.procs.all.remove(p)
        done = [x for x in lines if x.startswith("DONE")]
        info = done[0][5:] if done else "; ".join(lines[-3:])
        if p.returncode != 0:
            if isinstance(server, Proxy):
                self.problems.append(f"{server.label}: {self.conns} streaming connections: "
                                     f"{info}")
            else:
                info += "; its error.log: " + self.nginx_errors(server)
        return peak, info

    def nginx_errors(self, server):
        counts = {}
        try:
            with open(os.path.join(server.dir, "error.log"), errors="replace") as f:
                for line in f:
                    m = re.search(r"\[(error|crit|alert|emerg)\] \S+ (\*\d+ )?(.*?)(, client:|$)",
                                  line)
                    if m:
                        msg = re.sub(r'"/[^"]*"', '"..."', m.group(3))
                        counts[msg] = counts.get(msg, 0) + 1
        except OSError:
            pass
        top = sorted(counts.items(), key=lambda x: -x[1])[:2]
        return "; ".join(f"{v} x {k}" for k, v in top) or "nothing"

    def memory_rows(self):
        budget = self.budget_mib
        cached = (self.big_n * self.big_size + self.small_n * self.small_size) / MIB
        idle = rss_mib(self.ours.pids())
        peak, info = self.conns_rss(self.ours)
        after = rss_mib(self.ours.pids())
        ok = "within" if peak <= budget + 64 else "OVER"
        self.rows.append(["RSS idle, fresh start", "ours threads=1", "-", "-", "-", "-", "-", "-",
                          "-", "-", "-", f"{self.rss_fresh:.0f} MiB"])
        self.rows.append(["RSS idle, cache warm", "ours threads=1", "-", "-", "-", "-", "-", "-",
                          "-", "-", "-",
                          f"{idle:.0f} MiB (about {cached:.0f} MiB of pages cached; budget "
                          f"{budget} MiB)"])
        self.rows.append([f"RSS, {self.conns} keep-alive conns streaming", "ours threads=1",
                          "-", "-", "-", "-", "-", "-", "-", "-", "-",
                          f"peak {peak:.0f} MiB: {ok} budget + 64 MiB ({budget + 64} MiB); "
                          f"+{1024 * (peak - idle) / self.conns:.0f} KiB/conn over idle; "
                          f"{after:.0f} MiB after; {info}"])
        for s in (self.slice, self.static):
            idle_s = rss_mib(s.pids())
            peak_s, info_s = self.conns_rss(s)
            self.rows.append([f"RSS, {self.conns} keep-alive conns streaming", s.label,
                              "-", "-", "-", "-", "-", "-", "-", "-", "-",
                              f"peak {peak_s:.0f} MiB, idle {idle_s:.0f} MiB (all processes; "
                              f"its cache is files in the page cache, not RSS); {info_s}"])

    # -- callgrind -----------------------------------------------------------------------

    def callgrind_row(self):
        cg = Proxy("callgrind", "ours under callgrind", self.cg_port, self, threads=1, pin=True,
                   valgrind=True)
        title = "instructions per warm 1 MiB GET (callgrind)"
        try:
            cg.start()
            pages = min(32, self.big_size // self.page)
            path = f"/{BUCKET}/big/obj-00"
            c = http.client.HTTPConnection("127.0.0.1", cg.port, timeout=120)

            def get(i):
                c.request("GET", path, headers={"Range": f"bytes={i * self.page}-"
                                                          f"{(i + 1) * self.page - 1}"})
                r = c.getresponse()
                body = r.read()
                if r.status != 206 or len(body) != self.page:
                    raise HarnessError(f"callgrind GET: {r.status}, {len(body)} bytes")

            for i in range(pages):  # warm (and warm the connection)
                get(i)
            pid = cg.proc.pid
            subprocess.run(["callgrind_control", "-z", str(pid)], capture_output=True, check=True)
            rnd = random.Random(7)
            for _ in range(self.cg_requests):
                get(rnd.randrange(pages))
            before = set(os.listdir(self.work))
            subprocess.run(["callgrind_control", "-d", str(pid)], capture_output=True, check=True)
            dump = None
            for _ in range(100):
                new = [f for f in os.listdir(self.work)
                       if f.startswith(f"callgrind.out.{pid}.") and f not in before]
                if new:
                    dump = os.path.join(self.work, sorted(new)[-1])
                    time.sleep(0.3)
                    break
                time.sleep(0.1)
            c.close()
            if not dump:
                raise HarnessError("callgrind_control -d wrote no dump")
            total = None
            with open(dump) as f:
                for line in f:
                    if line.startswith(("totals:", "summary:")):
                        total = int(line.split()[1])
            ann = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100",
                                  dump], capture_output=True, text=True).stdout
            # Self cost by function name (a function can show under two source files). The
            # thread entry points carry everything after a mid-run zero: left out.
            top = {}
            for line in ann.splitlines():
                m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(\S+)", line)
                if m and "PROGRAM TOTALS" not in line and float(m.group(2)) < 99:
                    fn = m.group(3).split(":")[-1]
                    top[fn] = top.get(fn, 0.0) + float(m.group(2))
            self.cg_top = [f"{fn} {pct:.1f}%" for fn, pct in
                           sorted(top.items(), key=lambda x: -x[1])[:12]]
            per = total / self.cg_requests
            self.rows.append([title, "ours threads=1", "-", "-", "-", "-", "-", "-", "-", "-",
                              "-", f"{per:,.0f} Ir/req ({self.cg_requests} keep-alive GETs, "
                                   f"user space only)"])
        except (HarnessError, subprocess.CalledProcessError, OSError,
                http.client.HTTPException) as e:
            self.problems.append(f"callgrind: {e}")
            self.rows.append([title, "ours threads=1"] + ["-"] * 9 + [f"failed: {e}"])
        finally:
            # Under valgrind the proxy does not act on SIGTERM (its sigwait never returns
            # there; natively it does): give it a moment, then SIGKILL. Nothing is lost, the
            # figures come from the dump taken above.
            if cg.proc:
                self.procs.stop(cg.proc, signal.SIGTERM, timeout=3)
                cg.proc = None

    # -- ways to send --------------------------------------------------------------------

    def send_modes_section(self):
        """send_modes (tests/bench/send_modes.c) with every server idle: its table and settings
        for a section of their own, or a problem when it fails."""
        self.wait_quiet()
        argv = [self.args.send_modes, "--markdown"] + self.send_modes_args
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            self.problems.append(f"send_modes: {e}")
            return
        out = r.stdout.splitlines()
        for line in out:
            if line and not line.startswith("|"):
                log(line)
        rows = [line for line in out if line.startswith("|")]
        if r.returncode != 0 or not rows:
            self.problems.append(f"send_modes: status {r.returncode}: "
                                 f"{' | '.join(r.stderr.strip().splitlines()[-3:])}")
            return
        settings = out[0].replace("send_modes: sender", "Sender", 1)
        self.send_modes_lines = [
            f"- {settings}; the servers above idle. Figures are medians over the rounds, "
            f"min..max across them, and the ratio of medians to send() copy.",
            "- Loopback only: the kernel copies MSG_ZEROCOPY data it delivers to a local socket, "
            "so this machine cannot show that row's gain on a real NIC; loopback also runs the "
            "receive path on the sending CPU.",
            "", *rows]

    # -- report --------------------------------------------------------------------------

    HEAD = ["workload", "server", "req/s", "MiB/s", "p50 ms", "p99 ms", "srv CPU %",
            "CPU ms/req", "req/s vs slice", "req/s vs static", "CPU/req vs slice", "notes"]

    def table(self):
        lines = ["| " + " | ".join(self.HEAD) + " |",
                 "|" + "|".join("---" for _ in self.HEAD) + "|"]
        for r in self.rows:
            lines.append("| " + " | ".join(str(x) for x in r) + " |")
        return "\n".join(lines)

    def machine(self):
        def sh(cmd):
            try:
                return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                                      timeout=10).stdout.strip()
            except (OSError, subprocess.TimeoutExpired):
                return "?"

        model = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
        mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
        return {
            "nproc": sh("nproc"), "kernel": sh("uname -r"), "cpu": model, "mem": mem,
            "nginx": sh("nginx -v 2>&1").replace("nginx version: ", ""),
            "wrk": sh("wrk -v 2>&1 | head -1").split(" Copyright")[0],
            "valgrind": sh("valgrind --version"),
            "cc": sh("cat /proc/sys/net/ipv4/tcp_congestion_control"),
            "commit": sh(f"git -C {ROOT} rev-parse --short HEAD") +
            (" (+ uncommitted changes)" if sh(f"git -C {ROOT} status --porcelain -- server core "
                                               f"conf meson.build") else ""),
        }

    def report(self, started, baseline_others):
        m = self.machine()
        now = datetime.datetime.now().astimezone()
        hdr = [
            f"# Benchmark results{' (--quick: harness smoke test, not figures)' if self.quick else ''}",
            "",
            f"- Date: {now.strftime('%Y-%m-%d %H:%M %Z')} (took {(time.monotonic() - started) / 60:.1f} min)",
            f"- Machine: nproc {m['nproc']}, kernel {m['kernel']}, {m['cpu']}, {m['mem']} RAM, "
            f"TCP congestion control {m['cc']} (it moves the large-response rows of every server)",
            f"- Command: `{self.args.command}`",
            f"- Proxy commit {m['commit']}, release build; {m['nginx']}; {m['wrk']}; {m['valgrind']}",
            f"- Dataset: {self.big_n} x {self.big_size // MIB} MiB (range rows, cold row) + "
            f"{self.small_n} x {self.small_size // KIB} KiB (small-object row), bucket/key files "
            f"served by the origin nginx from the page cache.",
            f"- Ours: target_protocol=s3 -> origin nginx, page size {self.page // MIB} MiB, "
            f"memory_store_size={self.budget_mib}MiB, metadata_cache_ttl={self.meta_ttl}, UFS "
            f"requests signed (the origin ignores signatures). nginx slice: slice "
            f"{self.page // MIB}m, proxy_cache on disk files (page cache), 1 worker.",
            f"- Placement: server under test on core {SERVER_CORE} (threads=1 proxy, nginx 1 "
            f"worker), wrk -t1 / curl / kaconns.py and the origin on core {CLIENT_CORE}; the "
            f"threads=2 row is not pinned (wrk still on core {CLIENT_CORE}).",
            f"- Warm rows: after a whole-object warm pass and a 1 s warm-up per server, "
            f"{self.rounds} interleaved round(s) of {self.secs} s per server (order rotated); "
            f"figures are medians, ratios the median of per-round ratios (min..max). MiB/s counts "
            f"the body bytes of completed responses. srv CPU % = server utime+stime / wall (100 = one "
            f"core); CPU ms/req from the same deltas. Machine CPU ms/req (notes) is every CPU's busy time "
            f"(/proc/stat: server, wrk, softirq) per request: nginx's sendfile leaves the copy to "
            f"the receiving client, which a server-only figure does not see.",
            f"- SigV4 row: a second threads=1 proxy with auth=sigv4 (header auth, signed "
            f"host;range;x-amz-content-sha256;x-amz-date, requests pre-signed by bench.py); the "
            f"other proxies run auth=none. Disk rows: a threads=1 proxy with page.store.type="
            f"LOCAL ({self.disk_mib} MiB on {self.work}'s disk) under a {self.disk_mem_mib} MiB "
            f"memory tier, against nginx slice (its cache is files too) and nginx static.",
            f"- Cold row: {self.cold_reps} rep(s), each after restarting the cache empty and "
            f"touching+freeing as much memory as the run caches; curl --parallel on core "
            f"{CLIENT_CORE}.",
            f"- CPU taken by other processes before the run: {baseline_others:.0f}% of a core.",
        ]
        body = ["", self.table(), ""]
        extra = []
        if getattr(self, "cg_top", None):
            extra.append("Callgrind, self cost per function over the measured warm 1 MiB GETs: " +
                         ", ".join(self.cg_top) + ".")
        for s in (self.ours, self.ours2, self.ours_sig, self.ours_disk):
            lp = s.log_problems()
            if lp:
                extra.append(f"{s.label} log: " + "; ".join(f"{v} x {k}" for k, v in
                                                            sorted(lp.items(), key=lambda x: -x[1])[:6]))
        if self.problems:
            extra.append("Problems seen: " + " | ".join(self.problems))
        else:
            extra.append("No errors: every correctness check, warm pass, cold read and wrk run "
                         "returned the expected statuses and sizes.")
        extra += self.notes
        text = "\n".join(hdr + body + ["- " + x for x in extra]) + "\n"
        if self.send_modes_lines:
            text += ("\n## Ways to send a cached page (sender CPU per MiB over loopback, "
                     "tests/bench/send_modes.c)\n\n" + "\n".join(self.send_modes_lines) + "\n")
        return text

    # -- main ----------------------------------------------------------------------------

    def run(self):
        started = time.monotonic()

        def others_now(secs):
            s0, t0 = system_busy_seconds(), time.monotonic()
            time.sleep(secs)
            return 100 * (system_busy_seconds() - s0) / (time.monotonic() - t0)

        # Another process moves ratios by up to 30 %: wait a while for a quiet machine.
        baseline_others = others_now(1)
        deadline = time.monotonic() + self.args.quiet_wait
        while baseline_others > 15 and time.monotonic() < deadline:
            log(f"other processes take {baseline_others:.0f}% of a core: waiting for quiet "
                f"(up to {deadline - time.monotonic():.0f}s more)")
            baseline_others = others_now(5)
        if baseline_others > 10:
            self.notes.append(f"NOISY machine: other processes took {baseline_others:.0f}% of a "
                              f"core before the run")
        log(f"other processes before start: {baseline_others:.0f}% of a core")
        self.make_dataset()
        self.start_servers()
        for s in self.all_servers:
            bad = self.check(s)
            if bad:
                self.problems += [f"{s.label}: {b}" for b in bad]
                log(f"check {s.label}: FAILED {bad}")
            else:
                log(f"check {s.label}: ok")
        log("cold rows")
        self.cold_rows()
        log("warm pass")
        for s in [self.ours, self.ours2, self.slice] + \
                [x for x in (self.ours_sig, self.ours_disk) if x.alive()]:
            self.warm_pass(s)
        origin_after_warm = self.origin_requests()
        self.warm_rows()
        self.notes.append("origin requests during the warm rows, warm-up rounds included: " +
                          self.origin_text(self.origin_delta(origin_after_warm,
                                                             self.origin_requests())) +
                          " (a HEAD when an object's metadata expires, a GET per page missed)")
        log("memory rows")
        self.memory_rows()
        log("callgrind row")
        self.callgrind_row()
        if self.args.send_modes:
            log("ways to send (send_modes)")
            self.send_modes_section()
        for s in self.all_servers:
            if not s.alive():
                self.problems.append(f"{s.label}: {s.dead}")
        text = self.report(started, baseline_others)
        print("\n" + text, flush=True)
        if self.args.results:
            with open(self.args.results, "w") as f:
                f.write(text)
            log(f"written to {self.args.results}")
        return 2 if self.problems else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--send-modes", help="tests/bench/send_modes.c built: run at the end")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--results")
    ap.add_argument("--command", default=" ".join(sys.argv))
    ap.add_argument("--quiet-wait", type=float, default=0,
                    help="seconds to wait for other processes to go quiet before starting")
    args = ap.parse_args()

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    b = Bench(args)
    try:
        return b.run()
    except HarnessError as e:
        log(f"HARNESS FAILURE: {e}")
        return 1
    finally:
        b.procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())
