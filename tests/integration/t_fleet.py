"""A fleet of proxies that are also Alluxio workers (roles=s3,worker): each registers itself in
etcd, the S3 front of each routes every page to its owner on the ring (itself: read locally),
the worker API of each serves its own store or the UFS and never forwards.

The UFS is moto behind counting_proxy.py, a pass-through that counts every GET it forwards by
(path, Range): that is the independent count of UFS page reads. Which member must fetch which
page is computed here from what the test wrote and from alluxio_ring.py, with the identities the
members registered in etcd (read with the Etcd fixture), never from a proxy's answer. The
proxies' own view comes from the line each logs at SIGTERM:
  route: ufs_pages=N worker_pages=N worker_fallbacks=N disk_pages=N shared_waits=N failures=N

Every member: LOCAL disk page store in its own directory (where it keeps its identity, file
worker_identity, unless options.alluxio.worker.identity.uuid.file.path says otherwise), a 2 s
lease, Host 127.0.0.1 and its own worker port, the default memory store of a worker (1 GiB).
"""

import concurrent.futures
import json
import os
import re
import signal
import threading
import time

from alluxio_ring import Identity, Ring
from cluster_fixtures import Etcd
from counting_proxy import CountingProxy
from fixtures import read_all
from harness import KiB, MiB, TestFailure, free_port, prng_bytes, sanitizer_report, test, wait_port
from t_cluster import ROUTE_NAMES, ROUTE_RE, need_etcd, not_timeout, stop_with_route, wait_membership
from t_disk import list_page_files, parse_page_file

K_PAGE = "options.alluxio.worker.page.store.page.size"
K_TYPE = "options.alluxio.worker.page.store.type"
K_DIRS = "options.alluxio.worker.page.store.dirs"
K_SIZES = "options.alluxio.worker.page.store.sizes"
K_WPORT = "options.alluxio.worker.http.server.port"
K_WBIND = "options.alluxio.worker.bind.host"
K_WHOST = "options.alluxio.worker.hostname"
K_IDFILE = "options.alluxio.worker.identity.uuid.file.path"

REGISTERED_RE = re.compile(r"etcd: registered (\S+) on ")
CLUSTER_PREFIX = "/ServiceDiscovery/DefaultAlluxioCluster/"
LEASE_TTL = 2  # seconds


# --------------------------------------------------------------------------------------------
# helpers


def page_ranges(size, page):
    """The Range headers of the pages of a size-byte object, as the UFS is asked for them."""
    return [f"bytes={i * page}-{min((i + 1) * page, size) - 1}" for i in range((size + page - 1) // page)]


def make_dataset(tag, n, size_of):
    """{key: bytes}: n objects, sizes from size_of(i), content from fixed seeds."""
    return {f"{tag}/obj-{i:03d}.bin": prng_bytes(f"fleet:{tag}:{i}", size_of(i)) for i in range(n)}


class Member:
    def __init__(self, name, px, wport, disk):
        self.name = name
        self.px = px
        self.wport = wport
        self.disk = disk
        self.sets = dict(px.sets)

    def __repr__(self):
        return f"<member {self.name} s3:{self.px.port} worker:{self.wport}>"


class Fleet:
    """etcd + the counting pass-through in front of the shared moto + members by name."""

    def __init__(self, s, tag, page, bucket):
        need_etcd()
        self.s = s
        self.tag = tag
        self.page = page
        self.page_text = f"{page // KiB}KB" if page < MiB else f"{page // MiB}MB"
        self.bucket = bucket
        self.moto = s.moto()
        self.counter = None
        self.etcd = None
        self.members = {}
        self.counter = CountingProxy(s.workdir, self.moto.port, name=f"counter-{tag}").start()
        try:
            self.etcd = Etcd(s.workdir, f"etcd-{tag}").start()
        except Exception:
            self.counter.stop()
            raise

    # ---- data
    def put(self, objs):
        m3 = self.moto.client()  # straight to moto: the counter sees only the proxies
        try:
            m3.create_bucket(Bucket=self.bucket)
        except Exception:
            pass

        def put1(kv):
            m3.put_object(Bucket=self.bucket, Key=kv[0], Body=kv[1])

        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            list(ex.map(put1, objs.items()))
        self.objs = objs

    def drop_data(self):
        try:
            m3 = self.moto.client()
            for k in getattr(self, "objs", {}):
                m3.delete_object(Bucket=self.bucket, Key=k)
        except Exception as e:
            print(f"    cleanup of {self.bucket}: {e!r}", flush=True)

    def ufs_path(self, key):
        return f"s3://{self.bucket}/{key}"

    def page_keys(self, keys=None):
        """{(counter path, Range): (key, page index)} of every page of the objects named."""
        out = {}
        for k in self.objs if keys is None else keys:
            for i, r in enumerate(page_ranges(len(self.objs[k]), self.page)):
                out[(f"/{self.bucket}/{k}", r)] = (k, i)
        return out

    # ---- members
    def member_sets(self, name, wport, disk, **extra):
        sets = self.s.s3_sets(self.counter, **{
            "roles": "s3,worker",
            K_PAGE: self.page_text,
            K_TYPE: "LOCAL",
            K_DIRS: disk,
            K_SIZES: "1GB",
            K_WPORT: str(wport),
            K_WBIND: "127.0.0.1",
            K_WHOST: "127.0.0.1",
            "worker_lease_ttl": f"{LEASE_TTL}s",
            "etcd_hosts": "127.0.0.1",
            "etcd_port": str(self.etcd.client_port),
            "worker_connect_timeout": "500ms",
        })
        sets.update(extra)
        return sets

    def add(self, name, **extra):
        disk = os.path.join(self.s.workdir, f"fleet-{self.tag}-{name}-disk")
        os.makedirs(disk, exist_ok=True)
        wport = free_port()
        px = self.s.new_proxy(f"fleet-{self.tag}-{name}", self.member_sets(name, wport, disk, **extra))
        m = Member(name, px, wport, disk)
        self.members[name] = m
        self.wait_up(m)
        return m

    def wait_up(self, m, timeout=15):
        """The worker port listens and the log says it registered; the etcd key it logged."""
        if not wait_port(m.wport, m.px.proc, timeout):
            raise TestFailure(f"{m.name}: the worker API does not listen on {m.wport}:\n{tail_of(m.px)}")
        t0 = time.monotonic()
        while True:
            found = REGISTERED_RE.findall(read_all(m.px.log))
            if found:
                return found[0]
            if time.monotonic() - t0 > timeout or not m.px.alive():
                raise TestFailure(f"{m.name}: no 'etcd: registered' line within {timeout}s "
                                  f"({self.etcd_state()}):\n{tail_of(m.px)}")
            time.sleep(0.05)

    def etcd_state(self):
        """For failure messages: is the test's etcd up and answering?"""
        if not self.etcd.alive():
            return f"the test's etcd exited {self.etcd.proc.returncode}"
        r = self.etcd.etcdctl("endpoint", "health", check=False, timeout=5)
        out = (r.stdout + r.stderr).decode("utf-8", "replace").strip()
        return f"the test's etcd on {self.etcd.client_port} is running; etcdctl endpoint health: {out}"

    def restart(self, c, m):
        """Start m again with the same configuration and ports (after a kill). The log of the
        killed process is scanned for sanitizer reports first (the runner sees the new one)."""
        rep = sanitizer_report(m.px.new_log_text())
        if rep:
            c.fail(f"{m.name} before the restart ({m.px.log}):\n{rep}")
        m.px.start(port=m.px.port)
        return self.wait_up(m)

    def wait_all(self, n, timeout=15, members=None):
        for m in members or self.members.values():
            if m.px.alive():
                wait_membership(m.px, n, timeout, f"{m.name}")

    def registered(self):
        """{member name: (etcd key, Identity)} from etcd, matched by HttpServerPort."""
        by_port = {m.wport: m.name for m in self.members.values()}
        out = {}
        for key, value in self.etcd.get_prefix(CLUSTER_PREFIX).items():
            v = json.loads(value)
            addr = v["WorkerNetAddress"]
            name = by_port.get(addr["HttpServerPort"])
            if name is None or addr["Host"] != "127.0.0.1":
                raise TestFailure(f"etcd holds a worker that is no member: {key} = {value}")
            out[name] = (key, Identity(v["Identity"]["identifier"], int(v["Identity"]["version"])))
        return out

    def ring(self, names, reg):
        return Ring([(reg[n][1], n) for n in names], 5)

    def owned_pages(self, ring):
        """{member name: {(counter path, Range)}} of the dataset on that ring."""
        out = {}
        for k in self.objs:
            owner = ring.owner(self.ufs_path(k))
            for r in page_ranges(len(self.objs[k]), self.page):
                out.setdefault(owner, set()).add((f"/{self.bucket}/{k}", r))
        return out

    # ---- UFS counts
    def gets(self):
        return self.counter.gets()

    def stop(self, c, what):
        """SIGTERM every live member (exit 0, one route line each); the counters by name."""
        out = {}
        for m in self.members.values():
            if m.px.alive():
                out[m.name] = stop_with_route(c, m.px, f"{what}: {m.name}")
        for x in (self.etcd, self.counter):
            if x is not None:
                try:
                    x.stop()
                except Exception as e:
                    print(f"    stopping {x!r}: {e!r}", flush=True)
        return out


def wait_exit_route(c, px, what, timeout=30):
    """Wait for a member that was signalled to exit by itself (no second signal): exit code 0,
    one route line; its counters or None."""
    try:
        code = px.proc.wait(timeout)
    except Exception:
        os.kill(px.proc.pid, signal.SIGKILL)
        px.proc.wait(10)
        c.fail(f"{what}: still running {timeout}s after the signal (killed)")
        return None
    c.eq(code, 0, f"{what}: exit code")
    found = ROUTE_RE.findall(read_all(px.log))
    c.eq(len(found), 1, f"{what}: 'route: ...' lines in the log")
    if not found:
        return None
    ctr = dict(zip(ROUTE_NAMES, map(int, found[-1])))
    print(f"    {what}: " + " ".join(f"{k}={v}" for k, v in ctr.items()), flush=True)
    return ctr


def tail_of(px, n=25):
    return "\n".join(read_all(px.log).splitlines()[-n:])


def diff(after, before):
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def check_gets(c, got, want, what, universe=None):
    """got: {(path, Range): count} of GETs; want: the set of (path, Range) that must each appear
    exactly once. Every other GET is an extra (universe: restrict the check to these keys)."""
    if universe is not None:
        got = {k: v for k, v in got.items() if k in universe}
    missing = sorted(set(want) - set(got))
    extra = sorted(k for k in got if k not in want)
    dup = sorted((k, v) for k, v in got.items() if k in want and v != 1)
    c.eq(missing[:5], [], f"{what}: page GETs expected but not seen ({len(missing)})")
    c.eq(extra[:5], [], f"{what}: GETs nobody should have sent ({len(extra)})")
    c.eq(dup[:5], [], f"{what}: page GETs seen more than once ({len(dup)})")
    return not (missing or extra or dup)


def summarize(gets, what):
    n = sum(gets.values())
    most = max(gets.values()) if gets else 0
    ranged = sum(v for (p, r), v in gets.items() if r)
    print(f"    {what}: {n} GETs ({ranged} ranged) of {len(gets)} distinct (path, Range); "
          f"most of one: {most}", flush=True)


def read_set(c, px, bucket, objs, what, threads=4):
    """boto3 GET of every object (threads in parallel), each compared byte for byte."""
    errors = []

    def one(kv):
        key, data = kv
        try:
            body = px.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as e:
            not_timeout(e)
            return f"{what}: GET {bucket}/{key}: {e!r}"
        if body != data:
            return f"{what}: GET {bucket}/{key}: wrong bytes (length {len(body)}, want {len(data)})"
        return None

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        for r in ex.map(one, objs.items()):
            if r:
                errors.append(r)
    secs = time.monotonic() - t0
    n = sum(map(len, objs.values()))
    print(f"    {what}: {len(objs)} objects, {n / MiB:.1f} MiB in {secs:.2f}s", flush=True)
    for e in errors[:8]:
        c.fail(e)
    if len(errors) > 8:
        c.fail(f"{what}: ... {len(errors)} failed reads in all")
    return not errors


def disk_pages(c, m, fleet, what):
    """{(counter path, Range)} of the final page files in m's disk dir whose contents are the
    right bytes of a dataset page (others are reported)."""
    good = set()
    for path, _h, index, size, temp in list_page_files([m.disk]):
        if temp:
            continue
        f = parse_page_file(path)
        if f is None or f.get("short"):
            continue
        ident = f["path"].decode("utf-8", "replace")
        prefix = f"s3://{fleet.bucket}/"
        key = ident[len(prefix):] if ident.startswith(prefix) else None
        data = fleet.objs.get(key)
        if data is None:
            c.fail(f"{what}: page file {path} names {ident!r}, no object of the test")
            continue
        want = data[index * fleet.page:(index + 1) * fleet.page]
        if f["data"] != want:
            c.fail(f"{what}: page file {path}: not the bytes of page {index} of {key}")
            continue
        good.add((f"/{fleet.bucket}/{key}", page_ranges(len(data), fleet.page)[index]))
    return good


# --------------------------------------------------------------------------------------------
# 0. the counting pass-through itself


def _raw_upstream(responses, seen, conns):
    """A one-thread raw HTTP upstream: records every request's bytes, answers the next raw
    response of the list, keeps the connection open. Returns (port, stop)."""
    import socket

    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    stop = threading.Event()

    def conn_loop(cs):
        buf = b""
        with cs:
            while not stop.is_set():
                while b"\r\n\r\n" not in buf:
                    b = cs.recv(65536)
                    if not b:
                        return
                    buf += b
                head, _, rest = buf.partition(b"\r\n\r\n")
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                n = int(m[1]) if m else 0
                if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
                    while b"0\r\n\r\n" not in rest:  # enough for the test's bodies
                        b = cs.recv(65536)
                        if not b:
                            return
                        rest += b
                    n = rest.index(b"0\r\n\r\n") + 5
                while len(rest) < n:
                    b = cs.recv(65536)
                    if not b:
                        return
                    rest += b
                seen.append(head + b"\r\n\r\n" + rest[:n])
                buf = rest[n:]
                cs.sendall(responses[min(len(seen), len(responses)) - 1])

    def accept_loop():
        ls.settimeout(0.2)
        while not stop.is_set():
            try:
                cs, _ = ls.accept()
            except OSError:
                continue
            conns.append(1)
            threading.Thread(target=conn_loop, args=(cs,), daemon=True).start()
        ls.close()

    threading.Thread(target=accept_loop, daemon=True).start()
    return ls.getsockname()[1], stop


@test(proxy_only=False, timeout=90)
def fleet_counting_proxy_selfcheck(s, c):
    """counting_proxy.py: requests and responses forwarded byte for byte (Host kept, bodies with
    Content-Length and chunked, 100-continue), keep-alive on both sides when the upstream keeps
    the connection, every GET counted by (path, Range) with its status, reset; in front of moto
    with boto3: bytes right, each ranged GET counted once, and moto does not check signatures
    (the proxies sign for the pass-through's host:port, or any key)."""
    import http.client
    import socket

    import boto3

    # 1. raw upstream: byte-for-byte, keep-alive, chunked response, counts
    body_cl = b"hello, content-length"
    resp_cl = b"HTTP/1.1 200 OK\r\nX-Odd:  two  spaces \r\nContent-Length: %d\r\n\r\n%s" % (len(body_cl), body_cl)
    resp_chunked = (b"HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"5;ext=1\r\nabcde\r\n3\r\nfgh\r\n0\r\nX-Trailer: t\r\n\r\n")
    resp_head = b"HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n"
    seen, conns = [], []
    uport, ustop = _raw_upstream([resp_cl, resp_chunked, resp_head, resp_cl, resp_cl], seen, conns)
    cp = CountingProxy(s.workdir, uport, name="counter-selfcheck").start()
    try:
        reqs = [
            b"GET /bkt/a%20b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:" + str(cp.port).encode()
            + b"\r\nRange: bytes=0-9\r\nX-Amz-Date: 1\r\n\r\n",
            b"GET /bkt/a%20b HTTP/1.1\r\nhost: example.invalid\r\nrange: bytes=10-19\r\n\r\n",
            b"HEAD /bkt/k HTTP/1.1\r\nHost: h\r\n\r\n",
            b"PUT /bkt/k HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\npayload",
            b"POST /bkt/k?uploads HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n",
        ]
        sock = socket.create_connection(("127.0.0.1", cp.port), timeout=10)
        f = sock.makefile("rb")
        got_resps = []
        for i, rq in enumerate(reqs):
            sock.sendall(rq)
            want = [resp_cl, resp_chunked, resp_head, resp_cl, resp_cl][i]
            got_resps.append(f.read(len(want)))
        sock.close()
        time.sleep(0.2)
        for i, rq in enumerate(reqs):
            c.eq(seen[i] if i < len(seen) else None, rq, f"request {i} as the upstream got it")
        for i, want in enumerate([resp_cl, resp_chunked, resp_head, resp_cl, resp_cl]):
            c.eq(got_resps[i], want, f"response {i} as the client got it")
        c.eq(len(conns), 1, "upstream connections for 5 requests on one client connection")
        gets = cp.gets()
        c.eq(gets, {("/bkt/a%20b?x=1", "bytes=0-9"): 1, ("/bkt/a%20b", "bytes=10-19"): 1}, "GET counts")
        snap = cp.counts()
        c.eq(sorted((r["method"], r["count"], sorted(r["statuses"].items())) for r in snap["requests"]),
             sorted([("GET", 1, [("200", 1)]), ("GET", 1, [("206", 1)]), ("HEAD", 1, [("200", 1)]),
                     ("PUT", 1, [("200", 1)]), ("POST", 1, [("200", 1)])]), "all requests with statuses")
        # Expect: 100-continue: the client gets a 100 before it sends the body
        sock = socket.create_connection(("127.0.0.1", cp.port), timeout=10)
        sock.sendall(b"PUT /bkt/e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        c.eq(sock.recv(100), b"HTTP/1.1 100 Continue\r\n\r\n", "100-continue")
        sock.sendall(b"xyz")
        f = sock.makefile("rb")
        c.eq(f.read(len(resp_cl)), resp_cl, "response after 100-continue")
        sock.close()
        cleared = cp.reset()
        c.eq(cleared["total"], 6, "reset answers the counts it cleared")
        c.eq(cp.counts()["requests"], [], "counts after reset")
    finally:
        ustop.set()
        cp.stop()

    # 2. in front of moto, with boto3
    moto = s.moto()
    cp = CountingProxy(s.workdir, moto.port, name="counter-selfcheck-moto").start()
    try:
        from harness import s3_client

        B = "fleet-selfcheck"
        s3 = s3_client(cp.endpoint)
        s3.create_bucket(Bucket=B)
        data = prng_bytes("fleet:selfcheck", 3 * MiB + 5)
        s3.put_object(Bucket=B, Key="o.bin", Body=data)  # > 1 MiB: botocore sends 100-continue
        cp.reset()
        for r in page_ranges(len(data), MiB):
            lo, hi = map(int, r[len("bytes="):].split("-"))
            got = s3.get_object(Bucket=B, Key="o.bin", Range=r)["Body"].read()
            c.bytes_eq(got, data[lo:hi + 1], f"ranged GET {r} through the pass-through")
        c.bytes_eq(s3.get_object(Bucket=B, Key="o.bin")["Body"].read(), data, "whole GET")
        s3.head_object(Bucket=B, Key="o.bin")
        want = {("/fleet-selfcheck/o.bin", r): 1 for r in page_ranges(len(data), MiB)}
        want[("/fleet-selfcheck/o.bin", None)] = 1
        c.eq(cp.gets(), want, "GET counts in front of moto")
        bad = boto3.client("s3", endpoint_url=cp.endpoint, aws_access_key_id="NOT-A-KEY",
                           aws_secret_access_key="wrong", region_name="us-east-1")
        c.bytes_eq(bad.get_object(Bucket=B, Key="o.bin")["Body"].read(), data,
                   "moto answers a request signed with a key it never heard of")
        try:
            s3.get_object(Bucket=B, Key="missing")
            c.fail("GET of a missing key succeeded")
        except s3.exceptions.NoSuchKey:
            pass
        st = [r["statuses"] for r in cp.counts()["requests"] if r["path"] == "/fleet-selfcheck/missing"]
        c.eq(st, [{"404": 1}], "status of the missing key counted")
        s3.delete_object(Bucket=B, Key="o.bin")
        s3.delete_bucket(Bucket=B)
    finally:
        cp.stop()


# --------------------------------------------------------------------------------------------
# 1. every page fetched once across the fleet


def read_once(s, c, tag, objs, page):
    fleet = Fleet(s, tag, page, f"fleet-{tag}")
    ctr = {}
    owned = None
    total = sum(len(page_ranges(len(v), page)) for v in objs.values())
    try:
        fleet.put(objs)
        print(f"    dataset: {len(objs)} objects, {sum(map(len, objs.values())) / MiB:.0f} MiB, "
              f"{total} pages of {page // KiB} KiB", flush=True)
        for name in "ABC":
            fleet.add(name)
        t0 = time.monotonic()
        fleet.wait_all(3)
        print(f"    every member logged 'membership: 3 workers' {time.monotonic() - t0:.2f}s after the last start",
              flush=True)
        reg = fleet.registered()
        c.eq(sorted(reg), ["A", "B", "C"], "members registered in etcd")
        ring = fleet.ring("ABC", reg)
        owned = fleet.owned_pages(ring)
        print("    pages owned per the ring: " + ", ".join(f"{n}={len(owned.get(n, ()))}" for n in "ABC"),
              flush=True)
        universe = fleet.page_keys()
        before = fleet.gets()
        c.eq(before, {}, "GETs through the pass-through before any read")
        for name in "ABC":
            read_set(c, fleet.members[name].px, fleet.bucket, objs, f"read through {name}")
            g = fleet.gets()
            summarize(diff(g, before), f"UFS after the read through {name}")
            before = g
        g = fleet.gets()
        summarize(g, "UFS, whole run")
        check_gets(c, g, set(universe), "whole run")
        heads = sum(r["count"] for r in fleet.counter.counts()["requests"] if r["method"] == "HEAD")
        print(f"    HEADs through the pass-through: {heads}", flush=True)
    finally:
        ctr = fleet.stop(c, tag)
        fleet.drop_data()
    if owned is not None and len(ctr) == 3 and all(ctr.values()):
        for name in "ABC":
            x = ctr[name]
            mine = len(owned.get(name, ()))
            c.eq(x["ufs_pages"], mine, f"{name}: ufs_pages (the pages the ring gives it)")
            c.eq(x["worker_pages"], total - mine, f"{name}: worker_pages (the others' pages, read once)")
            c.eq(x["worker_fallbacks"], 0, f"{name}: worker_fallbacks")
            c.eq(x["failures"], 0, f"{name}: failures")


@test(heavy=True, timeout=420)
def fleet_read_once_256m(s, c):
    """3 members, 64 objects of 4 MiB (256 MiB), 1 MB pages, read through A, then B, then C
    (byte-exact): the pass-through saw each page's ranged GET exactly once over the whole run and
    no other GET; each member fetched from the UFS exactly the pages the ring gives it and got
    every other page from its owner."""
    read_once(s, c, "once256", make_dataset("big", 64, lambda i: 4 * MiB), MiB)


@test(timeout=180)
def fleet_read_once(s, c):
    """The same as fleet_read_once_256m on 32 objects of about 1 MiB (32 MiB, partial last
    pages), 256 KB pages: the sanitizer build covers the fleet path too."""
    read_once(s, c, "once32", make_dataset("small", 32, lambda i: MiB + 4099 * i), 256 * KiB)


# --------------------------------------------------------------------------------------------
# 2. kill -9 of a member mid-read, lease expiry, rejoin with the same identity and disk


@test(timeout=240)
def fleet_kill9_rejoin(s, c):
    """kill -9 of a member (not the one read through) in the middle of reading the dataset
    through another: every byte right, no error; its key lapses with its 2 s lease and the
    others log 'membership: 2 workers'. Restarted with the same configuration it registers the
    same etcd key (same identity, from its disk dir) and its disk pages serve again: reading its
    pages through it and through a third member costs no UFS GET for any page it had on disk,
    and exactly one for each of its pages it had not."""
    page = 256 * KiB
    objs = make_dataset("kill", 32, lambda i: MiB + 3001 * i)
    fleet = Fleet(s, "kill", page, "fleet-kill")
    ctr = {}
    try:
        fleet.put(objs)
        for name in "ABC":
            fleet.add(name)
        fleet.wait_all(3)
        reg = fleet.registered()
        c.eq(sorted(reg), ["A", "B", "C"], "members registered in etcd")
        keys3 = {n: reg[n][0] for n in reg}
        ring = fleet.ring("ABC", reg)
        owned = fleet.owned_pages(ring)
        reader = fleet.members["A"]
        vname = max("BC", key=lambda n: len(owned.get(n, ())))
        victim = fleet.members[vname]
        third = fleet.members["C" if vname == "B" else "B"]
        vkeys = [k for k in objs if ring.owner(fleet.ufs_path(k)) == vname]
        print(f"    reader A, victim {vname} (owns {len(vkeys)} objects, {len(owned.get(vname, ()))} pages), "
              f"third {third.name}", flush=True)
        if not vkeys:
            raise TestFailure(f"the ring gives no object to B or C: {owned}")
        idfile = os.path.join(victim.disk, "worker_identity")
        try:
            with open(idfile) as f:
                c.eq(f.read().strip().replace("-", ""), reg[vname][1].hex,
                     f"{vname}: worker_identity in its disk dir vs its etcd identity")
        except OSError as e:
            c.fail(f"{vname}: no identity file {idfile}: {e}")

        # read through A; kill -9 the victim while streaming its k-th object
        kill_at = vkeys[(len(vkeys) - 1) // 2]
        s3 = reader.px.client()
        killed_t = None
        after_kill = []
        for key, data in objs.items():
            got = bytearray()
            try:
                body = s3.get_object(Bucket=fleet.bucket, Key=key)["Body"]
                while True:
                    chunk = body.read(64 * KiB)
                    if not chunk:
                        break
                    got += chunk
                    if key == kill_at and killed_t is None:
                        os.kill(victim.px.proc.pid, signal.SIGKILL)
                        victim.px.proc.wait(10)
                        killed_t = time.monotonic()
                        print(f"    kill -9 {vname} after {len(got)} bytes of {key}", flush=True)
            except Exception as e:
                not_timeout(e)
                c.fail(f"read through A across the kill: GET {key}: {e!r} after {len(got)} bytes")
                continue
            c.bytes_eq(bytes(got), data, f"read through A across the kill: GET {key}")
            if killed_t is not None and key in vkeys:
                after_kill.append(key)
        print(f"    {len(after_kill)} of the victim's objects read (whole) after the kill, "
              f"{time.monotonic() - killed_t:.2f}s", flush=True)

        # the lease lapses; the others drop it from the ring
        while fleet.etcd.get(keys3[vname]) is not None and time.monotonic() - killed_t < 15:
            time.sleep(0.1)
        gone = time.monotonic() - killed_t
        print(f"    {vname}'s key gone {gone:.2f}s after kill -9 (lease {LEASE_TTL}s)", flush=True)
        c.ok(gone <= LEASE_TTL + 4, f"{vname}'s key still in etcd {gone:.1f}s after kill -9 (lease {LEASE_TTL}s)")
        fleet.wait_all(2, timeout=10, members=[reader, third])
        print(f"    A and {third.name} logged 'membership: 2 workers' {time.monotonic() - killed_t:.2f}s "
              f"after the kill", flush=True)
        # Its pages moved: the objects of it that A read before the kill (A got them from it and
        # holds them in memory, 1 GiB; nobody else has them) read through the third member: on
        # the 2-ring the UFS is asked exactly for the pages of those whose new owner is the
        # third member, once each, whatever the timing of the lease expiry was.
        ring2 = fleet.ring(["A", third.name], reg)
        early = vkeys[:vkeys.index(kill_at)]
        c.ok(early, "no object of the victim was read before the kill (the 2-ring check is empty)")
        g0 = fleet.gets()
        read_set(c, third.px, fleet.bucket, {k: objs[k] for k in early},
                 f"the victim's objects read before the kill, through {third.name} on the 2-ring")
        want2 = {(f"/{fleet.bucket}/{k}", r) for k in early if ring2.owner(fleet.ufs_path(k)) == third.name
                 for r in page_ranges(len(objs[k]), page)}
        print(f"    2-ring: {sum(ring2.owner(fleet.ufs_path(k)) == third.name for k in early)} of those "
              f"{len(early)} objects are now {third.name}'s ({len(want2)} pages to fetch)", flush=True)
        check_gets(c, diff(fleet.gets(), g0), want2, f"UFS GETs of the read through {third.name} on the 2-ring")

        # what the victim has on disk, and the UFS count before it comes back
        cached = disk_pages(c, victim, fleet, f"{vname} after kill -9")
        vpages = owned.get(vname, set())
        c.eq(sorted(cached - vpages)[:5], [], f"{vname}: page files of objects the ring does not give it")
        print(f"    {vname} has {len(cached)} of its {len(vpages)} pages on disk after the kill", flush=True)
        c.ok(cached, f"{vname} had no page on disk at the kill: the rejoin check is empty")
        before = fleet.gets()
        c.eq(sorted(k for k in cached if before.get(k, 0) < 1)[:5], [],
             f"{vname}: pages on its disk that the UFS never served")

        # restart: same identity, same key, back in every ring
        t0 = time.monotonic()
        key2 = fleet.restart(c, victim)
        c.eq(key2, keys3[vname], f"{vname}: the key it registered after the restart")
        while time.monotonic() - t0 < 10:
            if set(fleet.etcd.get_prefix(CLUSTER_PREFIX)) == set(keys3.values()):
                break
            time.sleep(0.1)
        c.eq(sorted(fleet.etcd.get_prefix(CLUSTER_PREFIX)), sorted(keys3.values()),
             "etcd keys after the rejoin (the same three names as before the kill)")
        fleet.wait_all(3, timeout=10)
        print(f"    every member logged 'membership: 3 workers' {time.monotonic() - t0:.2f}s after the restart",
              flush=True)

        # its pages again, through the third member (the objects it did not read on the 2-ring
        # come from the rejoined owner) and through the rejoined member itself
        vobjs = {k: objs[k] for k in vkeys}
        read_set(c, third.px, fleet.bucket, vobjs, f"victim's objects through {third.name}")
        read_set(c, victim.px, fleet.bucket, vobjs, f"victim's objects through {vname} (rejoined)")
        new = diff(fleet.gets(), before)
        summarize(new, "UFS GETs after the rejoin")
        c.eq(sorted(k for k in new if k in cached)[:5], [],
             f"UFS GETs after the rejoin for pages {vname} had on disk ({len(set(new) & cached)})")
        check_gets(c, new, vpages - cached, "UFS GETs after the rejoin (its pages it did not have)")
        vctr = stop_with_route(c, victim.px, f"{vname} rejoined")
        if vctr:
            c.eq(vctr["ufs_pages"], len(vpages - cached), f"{vname} rejoined: ufs_pages")
            c.ok(vctr["disk_pages"] >= len(cached),
                 f"{vname} rejoined: disk_pages={vctr['disk_pages']}, want >= {len(cached)}")
    finally:
        ctr = fleet.stop(c, "kill9")
        fleet.drop_data()
    for name, x in ctr.items():
        if x:
            c.eq(x["failures"], 0, f"{name}: failures")
    if ctr.get("A"):
        print(f"    A: worker_fallbacks={ctr['A']['worker_fallbacks']} after the kill", flush=True)


# --------------------------------------------------------------------------------------------
# 3. graceful shutdown while another member streams


@test(timeout=180)
def fleet_sigterm_while_streaming(s, c):
    """SIGTERM to a member while a client streams the dataset through another: its etcd key is
    gone within 1 s of the signal (lease revoked first), it exits 0 after draining, the others
    log 'membership: 2 workers', and the client reads every byte right without an error."""
    page = 256 * KiB
    objs = make_dataset("term", 24, lambda i: MiB + 5003 * i)
    fleet = Fleet(s, "term", page, "fleet-term")
    ctr = {}
    try:
        fleet.put(objs)
        for name in "ABC":
            fleet.add(name)
        fleet.wait_all(3)
        reg = fleet.registered()
        ring = fleet.ring("ABC", reg)
        owned = fleet.owned_pages(ring)
        vname = max("BC", key=lambda n: len(owned.get(n, ())))
        victim, reader = fleet.members[vname], fleet.members["A"]
        third = fleet.members["C" if vname == "B" else "B"]
        vkey = reg[vname][0]
        vkeys = {k for k in objs if ring.owner(fleet.ufs_path(k)) == vname}
        print(f"    victim {vname} owns {len(vkeys)} of {len(objs)} objects", flush=True)
        if not vkeys:
            raise TestFailure(f"the ring gives no object to B or C: {owned}")
        # The victim's objects spread evenly over the read order.
        mine, others = [k for k in objs if k in vkeys], [k for k in objs if k not in vkeys]
        order = []
        step = len(objs) / len(mine)
        for i, k in enumerate(mine):
            while len(order) < int(i * step) and others:
                order.append(others.pop(0))
            order.append(k)
        order += others
        total = sum(map(len, objs.values()))
        progress = {"bytes": 0, "after": 0, "victim_after": 0, "key": None}
        errors = []
        signalled = threading.Event()

        def stream():
            s3 = reader.px.client()
            for rnd in range(1):
                for key in order:
                    data = objs[key]
                    started_after = signalled.is_set()
                    progress["key"] = None
                    got = bytearray()
                    try:
                        body = s3.get_object(Bucket=fleet.bucket, Key=key)["Body"]
                        while True:
                            chunk = body.read(64 * KiB)
                            if not chunk:
                                break
                            got += chunk
                            progress["bytes"] += len(chunk)
                            progress["key"] = key
                            time.sleep(0.003)
                    except Exception as e:
                        not_timeout(e)
                        errors.append(f"round {rnd}: GET {key}: {e!r} after {len(got)} bytes")
                        continue
                    if bytes(got) != data:
                        errors.append(f"round {rnd}: GET {key}: wrong bytes (length {len(got)})")
                    if started_after:
                        progress["after"] += 1
                        progress["victim_after"] += key in vkeys

        th = threading.Thread(target=stream, daemon=True)
        th.start()
        # The signal lands at a third of the bytes, while an object of the victim streams.
        while th.is_alive() and (progress["bytes"] < total // 3 or progress["key"] not in vkeys):
            time.sleep(0.002)
        print(f"    SIGTERM to {vname} while {progress['key']} streams, {progress['bytes']} bytes read",
              flush=True)
        t0 = time.monotonic()
        os.kill(victim.px.proc.pid, signal.SIGTERM)
        signalled.set()
        polls = 0
        while fleet.etcd.get(vkey) is not None and time.monotonic() - t0 < 10:
            polls += 1
            time.sleep(0.02)
        gone = time.monotonic() - t0
        print(f"    {vname}'s key gone {gone * 1000:.0f} ms after SIGTERM ({polls} polls)", flush=True)
        c.ok(gone <= 1.0, f"{vname}'s etcd key still there {gone:.2f}s after SIGTERM (want <= 1 s)")
        ctr[vname] = wait_exit_route(c, victim.px, f"{vname} after SIGTERM")
        print(f"    {vname} exited {time.monotonic() - t0:.2f}s after SIGTERM", flush=True)
        fleet.wait_all(2, timeout=10, members=[reader, third])
        th.join(120)
        c.ok(not th.is_alive(), "the streaming client did not finish in 120 s")
        print(f"    client: {progress['after']} objects read after the signal, "
              f"{progress['victim_after']} of them the victim's", flush=True)
        for e in errors[:8]:
            c.fail(f"streaming through A: {e}")
        c.ok(progress["victim_after"] > 0, "no object of the victim was read after the signal (inconclusive)")
    finally:
        ctr.update(fleet.stop(c, "sigterm"))
        fleet.drop_data()
    for name, x in ctr.items():
        if x:
            c.eq(x["failures"], 0, f"{name}: failures")


# --------------------------------------------------------------------------------------------
# 4. a fourth member takes about a quarter of the pages


def join_identity(name):
    """Fixed identities (written to options.alluxio.worker.identity.uuid.file.path before the
    start), so that the share the new member takes is the same on every run (0.27 of the
    dataset's pages with these: D takes objects of A and C)."""
    import hashlib

    h = bytearray(hashlib.md5(f"fleet-join/1:{name}".encode()).digest())
    h[6] = (h[6] & 0x0F) | 0x40
    h[8] = (h[8] & 0x3F) | 0x80
    return bytes(h).hex()


@test(timeout=180)
def fleet_fourth_member(s, c):
    """A fourth member joins a warm 3-member fleet: the oracle, with the 4 identities read from
    etcd, gives the pages whose owner changes (all to the new member); reading the dataset again
    through the new member costs exactly those pages in UFS GETs, once each (measured ==
    predicted, a fraction between 0.05 and 0.6), and a read through another member afterwards
    costs none."""
    page = 256 * KiB
    objs = make_dataset("join", 48, lambda i: 640 * KiB + 1000 * i)
    fleet = Fleet(s, "join", page, "fleet-join")
    ctr = {}
    moved = None
    try:
        fleet.put(objs)
        ids = {}
        for name in "ABCD":
            ids[name] = join_identity(name)
            p = os.path.join(s.workdir, f"fleet-join-{name}.uuid")
            with open(p, "w") as f:
                f.write(Identity(ids[name]).uuid() + "\n")
        for name in "ABC":
            fleet.add(name, **{K_IDFILE: os.path.join(s.workdir, f"fleet-join-{name}.uuid")})
        fleet.wait_all(3)
        read_set(c, fleet.members["A"].px, fleet.bucket, objs, "warm read through A")
        universe = fleet.page_keys()
        total = len(universe)
        check_gets(c, fleet.gets(), set(universe), "warm read through A")

        fleet.add("D", **{K_IDFILE: os.path.join(s.workdir, "fleet-join-D.uuid")})
        t0 = time.monotonic()
        fleet.wait_all(4)
        print(f"    every member logged 'membership: 4 workers' {time.monotonic() - t0:.2f}s after D registered",
              flush=True)
        reg = fleet.registered()
        c.eq(sorted(reg), ["A", "B", "C", "D"], "members registered in etcd")
        for n in reg:
            c.eq(reg[n][1].hex, ids[n], f"{n}: the identity in etcd vs its identity file")
        ring3, ring4 = fleet.ring("ABC", reg), fleet.ring("ABCD", reg)
        moved = set()
        moved_to = {}
        for k in objs:
            o3, o4 = ring3.owner(fleet.ufs_path(k)), ring4.owner(fleet.ufs_path(k))
            if o3 != o4:
                moved_to[o4] = moved_to.get(o4, 0) + 1
                moved |= {(f"/{fleet.bucket}/{k}", r) for r in page_ranges(len(objs[k]), page)}
        c.eq(sorted(moved_to), ["D"] if moved_to else [], "owners of the objects that moved (oracle)")
        predicted = len(moved) / total
        print(f"    predicted: {len(moved)} of {total} pages move to D (fraction {predicted:.3f}; "
              f"{sum(moved_to.values())} of {len(objs)} objects)", flush=True)

        before = fleet.gets()
        read_set(c, fleet.members["D"].px, fleet.bucket, objs, "read through D")
        new = diff(fleet.gets(), before)
        measured = sum(new.values()) / total
        print(f"    measured: {sum(new.values())} new UFS GETs of {total} pages (fraction {measured:.3f})",
              flush=True)
        check_gets(c, new, moved, "new UFS GETs after D joined")
        c.eq(sum(new.values()), len(moved), "new UFS GETs (measured) vs pages moved to D (predicted)")
        c.ok(0.05 <= predicted <= 0.6, f"fraction of pages moved {predicted:.3f}, want 0.05 .. 0.6")

        before = fleet.gets()
        read_set(c, fleet.members["B"].px, fleet.bucket, objs, "read through B afterwards")
        c.eq(diff(fleet.gets(), before), {}, "UFS GETs of a read through B after D fetched its pages")
    finally:
        ctr = fleet.stop(c, "join")
        fleet.drop_data()
    if ctr.get("D") and moved is not None:
        c.eq(ctr["D"]["ufs_pages"], len(moved), "D: ufs_pages (the pages that moved to it)")
    for name, x in ctr.items():
        if x:
            c.eq(x["failures"], 0, f"{name}: failures")
            c.eq(x["worker_fallbacks"], 0, f"{name}: worker_fallbacks")
