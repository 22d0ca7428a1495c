"""Cluster routing: etcd membership + the Alluxio hash ring + pages read from the owning worker
with per-page fallback to the UFS.

The workers are alluxio_worker.py processes (cluster_fixtures.Worker) serving pages from the same
directory tree the proxy's file UFS reads (or the same bytes that were put to moto); each counts
the page requests it gets. Which worker must get which page is computed here from what the test
wrote and from alluxio_ring.py (proven against the golden vectors by cluster_ring_oracle_vectors),
never from a server. The proxy's own view comes from the line it logs at SIGTERM:
  route: ufs_pages=N worker_pages=N worker_fallbacks=N disk_pages=N shared_waits=N failures=N
Ring changes are logged as "membership: N workers".

memory_store_size=0 in every routing test: each read goes to a worker (or the UFS), nothing is
served from the proxy's memory.
"""

import os
import random
import re
import threading
import time

from alluxio_ring import Ring, path_id, self_check
from cluster_fixtures import DEFAULT_CLUSTER, Etcd, Worker, have_etcd
from fixtures import proxy_sets_file, read_all
from harness import KiB, MiB, TestFailure, free_port, prng_bytes, skip, test

K_PAGE = "options.alluxio.worker.page.store.page.size"
K_VNODES = "options.alluxio.user.consistent.hash.virtual.node.count.per.worker"
K_CLUSTER = "options.alluxio.cluster.name"
K_ETCD_USER = "options.alluxio.etcd.username"
K_ETCD_PASS = "options.alluxio.etcd.password"

P = 256 * KiB  # page size of the big routing tests
P_SMALL = 64 * KiB  # page size where object size does not matter

ROUTE_NAMES = ("ufs_pages", "worker_pages", "worker_fallbacks", "disk_pages", "shared_waits", "failures")
ROUTE_RE = re.compile(r"route: " + " ".join(rf"{n}=(\d+)" for n in ROUTE_NAMES))
MEMBERSHIP_RE = re.compile(r"membership: (\d+) workers")
MISMATCH_TEXT = "page size mismatch"

BIG_BUCKET = "cbig"
BIG_KEY = "rand64m.bin"
STATIC_HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")

# --------------------------------------------------------------------------------------------
# helpers

_SHARED = {}


def shared_root(s):
    """The tree every cluster test's proxy (file UFS) and workers read: one directory per
    bucket. Holds the 64 MiB object (written once); tests add their own buckets."""
    root = s.keep(os.path.join(s.workdir, "cluster-ufs"))
    if _SHARED.get("root") != root:
        data = prng_bytes("cluster:big64m", 64 * MiB)
        write_files(root, BIG_BUCKET, {BIG_KEY: data})
        _SHARED.update(root=root, big=data)
    return root


def big_obj(s):
    shared_root(s)
    return _SHARED["big"]


def write_files(root, bucket, objs):
    for key, data in objs.items():
        p = os.path.join(root, bucket, key)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)


def need_etcd():
    if not have_etcd():
        skip("no /usr/bin/etcd and /usr/bin/etcdctl (Debian etcd-server, etcd-client)")


def npages(n, page):
    return (n + page - 1) // page


def cluster_sets(root, page="256KB", **extra):
    """File UFS at root, memory store off, short worker connect timeout."""
    sets = proxy_sets_file(root, **{K_PAGE: page, "memory_store_size": "0",
                                    "worker_connect_timeout": "500ms"})
    sets.update(extra)
    return sets


def etcd_sets(etcd, **extra):
    out = {"etcd_hosts": "127.0.0.1", "etcd_port": str(etcd.client_port)}
    out.update(extra)
    return out


def static_sets(workers, **extra):
    out = {"worker_hosts": ",".join(w.host for w in workers), "worker_http_port": str(workers[0].port)}
    out.update(extra)
    return out


def start_all(workers):
    for w in workers:
        w.start()
    return workers


def stop_all(*groups):
    """Stop workers / etcd (by PID), in parallel: a worker revoking its lease with etcd gone
    waits for etcdctl's dial timeout."""
    procs = [x for g in groups for x in (g if isinstance(g, (list, tuple)) else [g]) if x is not None]
    workers = [x for x in procs if isinstance(x, Worker)]
    others = [x for x in procs if not isinstance(x, Worker)]

    def stop(x):
        try:
            x.stop()
        except Exception as e:
            print(f"    stopping {x!r}: {e!r}", flush=True)

    threads = [threading.Thread(target=stop, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for x in others:
        stop(x)


def static_workers(s, root, page, prefix, port=None, n=3, **kw):
    """n workers on 127.0.0.2, .3, ... sharing one port (worker_hosts identities)."""
    port = port or free_port()
    return [Worker(s.workdir, root, page, f"{prefix}{i}", host=STATIC_HOSTS[i], port=port, **kw)
            for i in range(n)]


def ring_of(workers, vnodes=5):
    return Ring([(w.identity, w.name) for w in workers], vnodes)


def pick_keys(ring, path_of, names, n, prefix="obj/"):
    """n keys spread round-robin over the workers named (each owned, per the ring, by the next
    name in turn): every worker gets objects to serve."""
    out = []
    i = 0
    for j in range(n):
        want = names[j % len(names)]
        for _ in range(100000):
            key = f"{prefix}{i:05d}.bin"
            i += 1
            if ring.owner(path_of(key)) == want:
                out.append(key)
                break
        else:
            raise TestFailure(f"no key owned by {want} in 100000 candidates")
    return out


def expected_pages(ring, scheme, bucket, objs, page):
    """{worker name: {(ufs path, page index): 1}} from the ring."""
    out = {}
    for key, data in objs.items():
        p = f"{scheme}://{bucket}/{key}"
        owner = ring.owner(p)
        for i in range(npages(len(data), page)):
            out.setdefault(owner, {})[(p, i)] = 1
    return out


def merge(*maps):
    out = {}
    for m in maps:
        for w, pages in m.items():
            out.setdefault(w, {}).update(pages)
    return out


def check_routing(c, workers, expected, what):
    """Each worker got exactly the pages the ring gives it, each once."""
    for w in workers:
        got = w.page_counts()
        want = expected.get(w.name, {})
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        dup = sorted((k, v) for k, v in got.items() if k in want and v != 1)
        print(f"    {what}: {w.name} got {sum(got.values())} page requests, the ring gives it {len(want)}",
              flush=True)
        c.eq(missing[:5], [], f"{what}: {w.name}: pages it should have got but did not ({len(missing)})")
        c.eq(extra[:5], [], f"{what}: {w.name}: pages it got though the ring gives them to another "
                            f"worker or to none ({len(extra)})")
        c.eq(dup[:5], [], f"{what}: {w.name}: pages requested more than once ({len(dup)})")


def not_timeout(e):
    """Re-raise the runner's per-test alarm (run_tests.Timeout) instead of recording it as one
    failed read: a test that hangs must stop, not go on to its next read. botocore wraps any
    exception raised while it sends (HTTPClientError(error=...)), so look through the chain."""
    seen = 0
    x = e
    while x is not None and seen < 8:
        if type(x).__name__ == "Timeout":
            raise x
        seen += 1
        x = getattr(x, "kwargs", {}).get("error") or x.__cause__ or x.__context__


def total_requests(w):
    return w.stats()["total"]


def read_objects(c, px, bucket, objs, what):
    """boto3 GET of every object; every byte compared with what was written."""
    s3 = px.client()
    for key, data in objs.items():
        try:
            r = s3.get_object(Bucket=bucket, Key=key)
            body = r["Body"].read()
        except Exception as e:
            not_timeout(e)
            c.fail(f"{what}: GET {bucket}/{key!r}: {e!r}")
            continue
        c.bytes_eq(body, data, f"{what}: GET {bucket}/{key!r}")


def read_one(c, px, bucket, key, data, what):
    """One boto3 GET checked against the truth; False (failure recorded) on any error."""
    try:
        body = px.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as e:
        not_timeout(e)
        c.fail(f"{what}: GET {bucket}/{key!r}: {e!r}")
        return False
    return c.bytes_eq(body, data, f"{what}: GET {bucket}/{key!r}")


def membership_counts(px):
    return [int(x) for x in MEMBERSHIP_RE.findall(read_all(px.log))]


def wait_membership(px, n, timeout, what):
    """Poll the proxy log until its last 'membership: N workers' says n; seconds it took."""
    t0 = time.monotonic()
    while True:
        got = membership_counts(px)
        if got and got[-1] == n:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout or not px.alive():
            lines = [ln for ln in read_all(px.log).splitlines() if "membership" in ln or "etcd" in ln]
            raise TestFailure(f"{what}: the proxy did not log 'membership: {n} workers' within {timeout}s "
                              f"(counts logged: {got}); log lines:\n" + "\n".join(lines[-10:]))
        time.sleep(0.05)


def stop_with_route(c, px, what):
    """SIGTERM the proxy: exit code 0, exactly one route counters line; the counters (or None)."""
    code = px.stop()
    c.eq(code, 0, f"{what}: SIGTERM exit code")
    found = ROUTE_RE.findall(read_all(px.log))
    c.eq(len(found), 1, f"{what}: 'route: ...' lines in the log at SIGTERM")
    if not found:
        return None
    ctr = dict(zip(ROUTE_NAMES, map(int, found[-1])))
    print(f"    {what}: " + " ".join(f"{k}={v}" for k, v in ctr.items()), flush=True)
    return ctr


def rand_objs(seed, n, lo, hi, keys):
    rng = random.Random(seed)
    return {k: prng_bytes(f"{seed}:{k}", rng.randrange(lo, hi)) for k in keys[:n]}


# --------------------------------------------------------------------------------------------
# 0. the oracle itself


@test(proxy_only=False, timeout=60)
def cluster_ring_oracle_vectors(s, c):
    """alluxio_ring.py recomputes every row of tests/vectors/ring/*.tsv (hashes, lookups, ties,
    path ids, worker_hosts identities) before any cluster test relies on it."""
    counts, bad = self_check()
    print("    oracle: " + " ".join(f"{k}={v}" for k, v in counts.items()), flush=True)
    c.eq(bad[:10], [], f"oracle mismatches with the golden vectors ({len(bad)})")
    for f, want_min in (("hashes.tsv", 80), ("lookups.tsv", 345), ("ties.tsv", 2), ("path_ids.tsv", 50),
                        ("host_identities.tsv", 10)):
        c.ok(counts.get(f, 0) >= want_min, f"{f}: only {counts.get(f, 0)} rows checked")


# --------------------------------------------------------------------------------------------
# 0b. the test worker and the etcd fixture (no proxy involved)


def _worker_get(w, target, conn=None, timeout=5):
    import http.client

    own = conn is None
    conn = conn or http.client.HTTPConnection(w.host, w.port, timeout=timeout)
    try:
        conn.request("GET", target)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Length"), r.read()
    finally:
        if own:
            conn.close()


@test(proxy_only=False, timeout=60)
def cluster_worker_selfcheck(s, c):
    """alluxio_worker.py itself: pages, offset/length clipping, end of file, E3/E3b/E3c, the
    ufsFullPath recovery table of ALLUXIO-PROTOCOL.md 3.3, 400/404, keep-alive, the fault modes
    and /_stats."""
    import http.client
    import socket

    root = os.path.join(s.workdir, "worker-selfcheck")
    S = 256
    data = prng_bytes("selfcheck", 1000)
    files = {"dir/file.bin": data, "50% off/naïve.txt": b"naive-content", "dir/a b+c&d=e.bin": b"abc",
             "xAy": b"XAY", "x%41y": b"lit"}
    write_files(root, "bucket", files)
    w = Worker(s.workdir, root, S, "selfcheck", host="127.0.0.1")
    try:
        w.start()
        P1 = "s3://bucket/dir/file.bin"
        conn = http.client.HTTPConnection(w.host, w.port, timeout=5)  # one keep-alive connection
        for i in range(6):
            want = data[i * S:(i + 1) * S]
            for q in (f"?offset=0&length={S}&ufsFullPath={P1}", f"?ufsFullPath={P1}", ""):
                st, cl, body = _worker_get(w, f"/v1/file/{path_id(P1)}/page/{i}{q}", conn)
                c.eq((st, cl, body), (200, str(len(want)), want), f"page {i} {q or '(E3c)'}")
        for i, o, n in ((0, 10, 20), (1, 250, 100), (3, 0, 1000), (3, 231, 5), (3, 232, 5), (0, 300, 5), (2, 5, 0)):
            a = i * S + min(o, S)
            b = min(min((i + 1) * S, len(data)), a + n)
            st, _, body = _worker_get(w, f"/v1/file/{path_id(P1)}/page/{i}?offset={o}&length={n}&ufsFullPath={P1}", conn)
            c.eq((st, body), (200, data[a:b] if a < b else b""), f"page {i} offset {o} length {n}")
        st, _, body = _worker_get(w, f"/v1/file/{path_id(P1)}/page/1?ufsFullPath={P1}&offset=3&length=4", conn)
        c.eq((st, body), (200, data[S + 3:S + 7]), "ufsFullPath before offset/length")
        for path, sent in (("s3://bucket/dir/file.bin", "s3://bucket/dir/file.bin"),
                           ("s3://bucket/50% off/naïve.txt", "s3://bucket/50%25%20off/na%C3%AFve.txt"),
                           ("s3://bucket/dir/a b+c&d=e.bin", "s3://bucket/dir/a%20b+c&d=e.bin"),
                           ("s3://bucket/xAy", "s3://bucket/xAy"),
                           ("file://bucket/dir/a b+c&d=e.bin", "file://bucket/dir/a%20b%2Bc&d=e.bin")):
            want = files[path.split("://", 1)[1][len("bucket/"):]][:S]
            st, _, body = _worker_get(w, f"/v1/file/{path_id(path)}/page/0?offset=0&length={S}&ufsFullPath={sent}", conn)
            c.eq((st, body), (200, want), f"3.3 table: {path!r} sent as {sent!r}")
        for what, path, sent in (("literal %41 (requoted to A)", "s3://bucket/x%41y", "s3://bucket/xAy"),
                                 ("'#' cut off", "s3://bucket/q#x", "s3://bucket/q"),
                                 ("outside the root", "s3://../etc/passwd", "s3://../etc/passwd")):
            st, _, _ = _worker_get(w, f"/v1/file/{path_id(path)}/page/0?ufsFullPath={sent}", conn)
            c.eq(st, 400, what)
        st, _, body = _worker_get(w, f"/v1/file/{path_id('s3://bucket/nope')}/page/0?ufsFullPath=s3://bucket/nope", conn)
        c.eq((st, b'"message"' in body), (404, True), "missing file: 404 with a message")
        conn.close()
        st = w.stats()
        counts = w.page_counts()
        c.eq(counts.get((P1, 1)), 5, "/_stats: requests of page 1")
        c.eq(counts.get(("s3://bucket/xAy", 0)), 1, "/_stats: requests of xAy page 0")
        c.ok(st["total"] >= 30, f"/_stats total {st['total']}")
        w.reset()
        c.eq(w.stats()["total"], 0, "/_reset")
        T = f"/v1/file/{path_id(P1)}/page/1?offset=0&length={S}&ufsFullPath={P1}"
        want = data[S:2 * S]
        expect = {"ok": want, "short": want[:-1], "garbage": bytes(x ^ 0xFF for x in want)}
        for mode, body_want in expect.items():
            w.set_mode(mode)
            st, cl, body = _worker_get(w, T)
            c.eq((st, cl, body), (200, str(len(body_want)), body_want), f"mode {mode}")
        w.set_mode("long")
        st, cl, body = _worker_get(w, T)
        c.eq((st, cl, body[:-1], len(body)), (200, str(S + 1), want, S + 1), "mode long")
        w.set_mode("error")
        c.eq(_worker_get(w, T)[0], 500, "mode error")
        w.set_mode("close")
        try:
            r = _worker_get(w, T)
            c.fail(f"mode close: got an answer {r[:2]}")
        except (http.client.RemoteDisconnected, ConnectionError):
            pass
        w.set_mode("stall")
        sock = socket.create_connection((w.host, w.port), timeout=1.0)
        try:
            sock.sendall(f"GET {T} HTTP/1.1\r\nHost: w\r\n\r\n".encode())
            try:
                got = sock.recv(10)
                c.fail(f"mode stall: got {got!r} (want no answer and the socket open)")
            except socket.timeout:
                pass
        finally:
            sock.close()
        w.set_mode("ok", delay_ms=150)
        t0 = time.monotonic()
        c.eq(_worker_get(w, T)[2], want, "delay_ms: bytes")
        c.ok(time.monotonic() - t0 >= 0.15, "delay_ms: no delay")
        c.eq(w.stats()["total"], 8, "/_stats: every page request counted, whatever the mode")
    finally:
        stop_all([w])


@test(proxy_only=False, timeout=60)
def cluster_etcd_fixture_selfcheck(s, c):
    """The Etcd fixture and the worker's registration: put/get/delete/compact, the section 1.2
    value under /ServiceDiscovery/<cluster>/worker-<uuid> on a lease, revoked at SIGTERM, lapsing
    after kill -9 (worker + keep-alive), unregister/register, restart on the same data dir,
    auth."""
    import json

    need_etcd()
    root = os.path.join(s.workdir, "etcd-selfcheck")
    os.makedirs(root, exist_ok=True)
    etcd = Etcd(s.workdir, "etcd-selfcheck").start()
    w = None
    try:
        etcd.put("/t/a", "v1")
        c.eq(etcd.get("/t/a"), "v1", "put/get")
        etcd.put("/t/a", "v2")
        etcd.compact()
        c.eq(etcd.get_prefix("/t/"), {"/t/a": "v2"}, "get_prefix after compact")
        etcd.delete("/t/", prefix=True)
        c.eq(etcd.get_prefix("/t/"), {}, "delete prefix")
        ident = "0123456789abcdef0123456789abcdef"
        w = Worker(s.workdir, root, P_SMALL, "reg", etcd=etcd, cluster="selfcheck", identity=ident)
        w.start()
        key = "/ServiceDiscovery/selfcheck/worker-01234567-89ab-cdef-0123-456789abcdef"
        kv = etcd.get_prefix("/ServiceDiscovery/selfcheck/")
        c.eq(list(kv), [key], "registered key")
        if key in kv:
            c.eq(kv[key], json.dumps(json.loads(kv[key]), separators=(",", ":")), "value is compact JSON")
            v = json.loads(kv[key])
            c.eq(v["Identity"], {"version": 1, "identifier": ident}, "Identity")
            c.eq((v["WorkerNetAddress"]["Host"], v["WorkerNetAddress"]["HttpServerPort"]), ("127.0.0.1", w.port),
                 "Host / HttpServerPort")
        w.stop()
        c.eq(etcd.get_prefix("/ServiceDiscovery/selfcheck/"), {}, "SIGTERM revokes the lease")
        w.start()
        c.ok(w.keepalive_pid(), "no keep-alive pid file")
        w.kill9()
        t0 = time.monotonic()
        while etcd.get_prefix("/ServiceDiscovery/selfcheck/") and time.monotonic() - t0 < 10:
            time.sleep(0.1)
        secs = time.monotonic() - t0
        print(f"    lease lapsed {secs:.2f}s after kill -9 (TTL 2s)", flush=True)
        c.ok(1.0 <= secs <= 6, f"key gone {secs:.2f}s after kill -9 of the worker and its keep-alive")
        w.start()
        w.unregister()
        c.eq(etcd.get_prefix("/ServiceDiscovery/selfcheck/"), {}, "POST /_unregister")
        w.register()
        c.eq(list(etcd.get_prefix("/ServiceDiscovery/selfcheck/")), [key], "POST /_register")
        w.stop()
        etcd.put("/t/keep", "kept")
        etcd.restart()
        c.eq(etcd.get("/t/keep"), "kept", "restart keeps the data dir")
        etcd.enable_auth("pw")
        c.eq(etcd.get("/t/keep"), "kept", "get as root with auth on")
        r = etcd.etcdctl("get", "/t/keep", auth=False, check=False)
        c.ok(r.returncode != 0, "auth on: etcdctl without a user still reads")
        w.etcd_user = None  # from etcd.user/password
        w.start()
        c.eq(list(etcd.get_prefix("/ServiceDiscovery/selfcheck/")), [key], "registration with auth")
    finally:
        stop_all([w] if w else [], etcd)


# --------------------------------------------------------------------------------------------
# a. routing through etcd


@test(timeout=180)
def cluster_routing_etcd(s, c):
    """3 workers in a real etcd under a non-default cluster name (plus one in the default
    cluster, which must get nothing); 8 objects of 1-4 MiB and a 64 MiB one, page 256 KiB: every
    byte right, every worker gets exactly the pages the ring gives it, each once."""
    need_etcd()
    root = shared_root(s)
    big = big_obj(s)
    B, CL = "route-etcd", "itest-cluster"
    etcd = Etcd(s.workdir, "etcd-route").start()
    workers = [Worker(s.workdir, root, P, f"route{i}", etcd=etcd, cluster=CL) for i in range(3)]
    decoy = Worker(s.workdir, root, P, "route-decoy", etcd=etcd, cluster=DEFAULT_CLUSTER)
    px = None
    try:
        start_all(workers + [decoy])
        ring = ring_of(workers)
        keys = pick_keys(ring, lambda k: f"file://{B}/{k}", [w.name for w in workers], 8)
        objs = rand_objs("route", 8, 1 * MiB, 4 * MiB + 1, keys)
        write_files(root, B, objs)
        px = s.new_proxy("cluster-route", cluster_sets(root, **etcd_sets(etcd, **{K_CLUSTER: CL})))
        secs = wait_membership(px, 3, 10, "start")
        print(f"    membership of 3 seen {secs:.2f}s after start", flush=True)
        t0 = time.monotonic()
        read_objects(c, px, B, objs, "routing")
        read_objects(c, px, BIG_BUCKET, {BIG_KEY: big}, "routing")
        print(f"    read {sum(map(len, objs.values())) + len(big)} bytes in {time.monotonic() - t0:.2f}s",
              flush=True)
        want = merge(expected_pages(ring, "file", B, objs, P),
                     expected_pages(ring, "file", BIG_BUCKET, {BIG_KEY: big}, P))
        check_routing(c, workers, want, "routing")
        c.eq(total_requests(decoy), 0, "requests to the worker of another cluster")
        total = sum(len(v) for v in want.values())
    finally:
        ctr = stop_with_route(c, px, "routing") if px is not None else None
        stop_all(workers, decoy, etcd)
    if ctr:
        c.eq(ctr["worker_pages"], total, "worker_pages")
        c.eq(ctr["ufs_pages"], 0, "ufs_pages")
        c.eq(ctr["worker_fallbacks"], 0, "worker_fallbacks")
        c.eq(ctr["failures"], 0, "failures")


# --------------------------------------------------------------------------------------------
# b. static worker_hosts


@test(timeout=120)
def cluster_routing_static(s, c):
    """worker_hosts "127.0.0.2, 127.0.0.3,127.0.0.4" (trimmed; identities of section 1.5), one
    worker_http_port, 100 virtual nodes: every worker gets exactly its pages, each once."""
    root = shared_root(s)
    B = "route-static"
    workers = static_workers(s, root, P_SMALL, "static")
    px = None
    try:
        start_all(workers)
        ring = ring_of(workers, 100)
        keys = pick_keys(ring, lambda k: f"file://{B}/{k}", [w.name for w in workers], 9)
        objs = rand_objs("static", 9, 1, 700 * KiB, keys)
        objs[keys[0]] = prng_bytes("static:exact", 4 * P_SMALL)  # page-aligned end
        write_files(root, B, objs)
        sets = static_sets(workers, **{K_VNODES: "100"})
        sets["worker_hosts"] = "127.0.0.2, 127.0.0.3,127.0.0.4"
        px = s.new_proxy("cluster-static", cluster_sets(root, page="64KB", **sets))
        read_objects(c, px, B, objs, "static")
        want = expected_pages(ring, "file", B, objs, P_SMALL)
        check_routing(c, workers, want, "static")
        total = sum(len(v) for v in want.values())
    finally:
        ctr = stop_with_route(c, px, "static") if px is not None else None
        stop_all(workers)
    if ctr:
        c.eq(ctr["worker_pages"], total, "worker_pages")
        c.eq(ctr["ufs_pages"], 0, "ufs_pages")
        c.eq(ctr["failures"], 0, "failures")


# --------------------------------------------------------------------------------------------
# c. owner killed mid-read


@test(timeout=120)
def cluster_worker_killed_midread(s, c):
    """kill -9 of the worker that owns a 64 MiB object while a slow client streams it: every byte
    right, no client error, the pages after the kill fall back to the UFS."""
    root = shared_root(s)
    big = big_obj(s)
    workers = static_workers(s, root, P, "kill")
    px = None
    try:
        start_all(workers)
        ring = ring_of(workers)
        owner = next(w for w in workers if w.name == ring.owner(f"file://{BIG_BUCKET}/{BIG_KEY}"))
        owner.set_mode("ok", delay_ms=10)  # 256 pages: the read takes a while
        px = s.new_proxy("cluster-kill", cluster_sets(root, **static_sets(workers)))
        t0 = time.monotonic()
        got = bytearray()
        before = None
        try:
            body = px.client().get_object(Bucket=BIG_BUCKET, Key=BIG_KEY)["Body"]
            while True:
                chunk = body.read(1 * MiB)
                if not chunk:
                    break
                got += chunk
                if before is None and len(got) >= 2 * MiB:
                    before = total_requests(owner)
                    owner.kill9()
                    print(f"    killed {owner.name} after {len(got)} bytes read, {before} pages served",
                          flush=True)
                time.sleep(0.01)
        except Exception as e:
            not_timeout(e)
            c.fail(f"streaming read: {e!r} after {len(got)} bytes")
        secs = time.monotonic() - t0
        print(f"    64 MiB read in {secs:.2f}s", flush=True)
        c.ok(before is not None, "the owner was never killed")
        c.bytes_eq(bytes(got), big, "64 MiB object read across the kill")
        if before is not None:
            c.ok(before < npages(len(big), P),
                 f"the owner had served {before} pages before the kill: not mid-read (inconclusive)")
        # And again, with the owner dead from the start of the read.
        t0 = time.monotonic()
        read_objects(c, px, BIG_BUCKET, {BIG_KEY: big}, "second read, owner dead")
        print(f"    second read in {time.monotonic() - t0:.2f}s", flush=True)
    finally:
        ctr = stop_with_route(c, px, "killed owner") if px is not None else None
        stop_all(workers)
    if ctr:
        c.ok(ctr["worker_fallbacks"] > 0 or ctr["ufs_pages"] > 0,
             "no fallback counted (worker_fallbacks=0, ufs_pages=0)")
        c.eq(ctr["failures"], 0, "failures")


# --------------------------------------------------------------------------------------------
# d. misbehaving workers


FAULT_PAGES = 4 * 33  # four objects of 2 MiB + 100 bytes, 64 KiB pages
FAULT_MAX_REQUESTS = 32  # after the first failure the worker is suspect: few requests reach it


def fault_test(mode):
    def run(s, c):
        root = shared_root(s)
        B = f"fault-{mode}"
        objs = {f"f/obj{i}": prng_bytes(f"fault:{mode}:{i}", 2 * MiB + 100) for i in range(4)}
        write_files(root, B, objs)
        w = Worker(s.workdir, root, P_SMALL, f"fault-{mode}", host="127.0.0.1", mode=mode)
        px = None
        try:
            w.start()
            sets = static_sets([w], worker_first_byte_timeout="300ms", worker_timeout="2s",
                               worker_suspect_time="30s")
            px = s.new_proxy(f"cluster-fault-{mode}", cluster_sets(root, page="64KB", **sets))
            t0 = time.monotonic()
            read_objects(c, px, B, objs, f"worker in mode {mode}")
            secs = time.monotonic() - t0
            n = total_requests(w)
            print(f"    mode {mode}: {len(objs)} objects ({FAULT_PAGES} pages) read in {secs:.2f}s; "
                  f"the worker got {n} page requests", flush=True)
            c.ok(n >= 1, f"mode {mode}: the worker got no request at all (was it in the ring?)")
            c.ok(n <= FAULT_MAX_REQUESTS,
                 f"mode {mode}: the worker got {n} of {FAULT_PAGES} page requests: not skipped while suspect")
            if mode == "stall":
                c.ok(secs < 20, f"stalled worker: the read took {secs:.1f}s (first-byte timeout 300ms)")
        finally:
            ctr = stop_with_route(c, px, f"mode {mode}") if px is not None else None
            stop_all([w])
        if ctr:
            c.eq(ctr["worker_pages"], 0, f"mode {mode}: worker_pages (no page of this worker is right)")
            c.ok(ctr["worker_fallbacks"] > 0, f"mode {mode}: worker_fallbacks=0")
            c.eq(ctr["failures"], 0, f"mode {mode}: failures")

    run.__name__ = f"cluster_fault_{mode}"
    run.__doc__ = f"A worker in mode {mode}: every byte right from the UFS, the worker made suspect."
    return run


for _mode in ("stall", "short", "long", "error", "close"):
    test(name=f"cluster_fault_{_mode}", timeout=90)(fault_test(_mode))


# --------------------------------------------------------------------------------------------
# e. membership changes


@test(timeout=120)
def cluster_membership_join_leave(s, c):
    """A worker joins after the proxy started: its pages go to it within 2 s of its etcd put.
    It leaves by revoking its lease: no more requests reach it. It joins again and is killed
    (worker and keep-alive, 2 s lease): reads stay right, the ring drops it."""
    need_etcd()
    root = shared_root(s)
    B = "membership"
    etcd = Etcd(s.workdir, "etcd-member").start()
    workers = [Worker(s.workdir, root, P_SMALL, f"member{i}", etcd=etcd) for i in range(3)]
    w1, w2, w3 = workers
    ring2, ring3 = ring_of([w1, w2]), ring_of(workers)
    keys = pick_keys(ring3, lambda k: f"file://{B}/{k}", [w.name for w in workers], 6)
    objs = {k: prng_bytes(f"member:{k}", 300 * KiB + 7) for k in keys}
    write_files(root, B, objs)
    w3_keys = [k for k in keys if ring3.owner(f"file://{B}/{k}") == w3.name]
    probe = w3_keys[0]
    px = None
    try:
        start_all([w1, w2])
        # etcd_hosts entry with its own port (no etcd_port): the entry's port wins.
        px = s.new_proxy("cluster-member", cluster_sets(root, page="64KB",
                                                         etcd_hosts=f"127.0.0.1:{etcd.client_port}"))
        wait_membership(px, 2, 10, "start")
        read_objects(c, px, B, objs, "2 workers")
        check_routing(c, [w1, w2], expected_pages(ring2, "file", B, objs, P_SMALL), "2 workers")

        # join
        w3.start()
        t_put = time.monotonic()
        while True:
            read_one(c, px, B, probe, objs[probe], "join: probe read")
            if total_requests(w3) > 0:
                break
            if time.monotonic() - t_put > 2.0:
                c.fail(f"join: no request reached the new worker within 2 s of its registration "
                       f"(membership counts logged: {membership_counts(px)})")
                break
            time.sleep(0.1)
        print(f"    join: first request to the new worker {time.monotonic() - t_put:.2f}s after its put",
              flush=True)
        wait_membership(px, 3, 3, "join")
        for w in workers:
            w.reset()
        read_objects(c, px, B, objs, "3 workers")
        check_routing(c, workers, expected_pages(ring3, "file", B, objs, P_SMALL), "3 workers")

        # leave: lease revoked, the worker stays up and counts
        t0 = time.monotonic()
        w3.unregister()
        wait_membership(px, 2, 3, "leave (revoke)")
        print(f"    leave: membership of 2 seen {time.monotonic() - t0:.2f}s after the revoke", flush=True)
        for w in workers:
            w.reset()
        read_objects(c, px, B, objs, "after the revoke")
        check_routing(c, workers, expected_pages(ring2, "file", B, objs, P_SMALL), "after the revoke")

        # join again, then kill -9 (worker and keep-alive): the 2 s lease lapses
        w3.register()
        wait_membership(px, 3, 3, "join again")
        w3.kill9()
        t0 = time.monotonic()
        while True:
            for k in w3_keys:
                read_one(c, px, B, k, objs[k], "owner killed")
            got = membership_counts(px)
            if got and got[-1] == 2:
                break
            if time.monotonic() - t0 > 10:
                c.fail(f"lease expiry: the ring still has 3 workers 10 s after kill -9 (TTL 2 s): {got}")
                break
            time.sleep(0.1)
        print(f"    expiry: membership of 2 seen {time.monotonic() - t0:.2f}s after kill -9", flush=True)
        w1.reset()
        w2.reset()
        read_objects(c, px, B, objs, "after the lease expired")
        check_routing(c, [w1, w2], expected_pages(ring2, "file", B, objs, P_SMALL), "after the lease expired")
    finally:
        ctr = stop_with_route(c, px, "membership") if px is not None else None
        stop_all(workers, etcd)
    if ctr:
        c.eq(ctr["failures"], 0, "failures")


# --------------------------------------------------------------------------------------------
# f. etcd down


@test(timeout=120)
def cluster_etcd_stopped_midrun(s, c):
    """etcd stops while the proxy runs: reads go on through the last ring (workers still get
    exactly their pages)."""
    need_etcd()
    root = shared_root(s)
    B = "etcd-stop"
    etcd = Etcd(s.workdir, "etcd-stop").start()
    workers = [Worker(s.workdir, root, P_SMALL, f"estop{i}", etcd=etcd) for i in range(3)]
    ring = ring_of(workers)
    keys = pick_keys(ring, lambda k: f"file://{B}/{k}", [w.name for w in workers], 6)
    objs = rand_objs("estop", 6, 100 * KiB, 600 * KiB, keys)
    write_files(root, B, objs)
    want = expected_pages(ring, "file", B, objs, P_SMALL)
    px = None
    try:
        start_all(workers)
        px = s.new_proxy("cluster-etcd-stop", cluster_sets(root, page="64KB", **etcd_sets(etcd)))
        wait_membership(px, 3, 10, "start")
        read_objects(c, px, B, objs, "etcd up")
        check_routing(c, workers, want, "etcd up")
        etcd.stop()
        time.sleep(1.0)
        for w in workers:
            w.reset()
        read_objects(c, px, B, objs, "etcd stopped")
        check_routing(c, workers, want, "etcd stopped")
        got = membership_counts(px)
        c.eq(got[-1:], [3], "membership logged after etcd stopped (the last ring must stay)")
    finally:
        ctr = stop_with_route(c, px, "etcd stopped") if px is not None else None
        stop_all(workers, etcd)
    if ctr:
        c.eq(ctr["ufs_pages"], 0, "ufs_pages")
        c.eq(ctr["failures"], 0, "failures")


@test(timeout=120)
def cluster_etcd_down_at_start(s, c):
    """etcd is down when the proxy starts: reads are served from the UFS. etcd comes up and the
    workers register: pages go to the workers the ring gives."""
    need_etcd()
    root = shared_root(s)
    B = "etcd-late"
    etcd = Etcd(s.workdir, "etcd-late")  # ports chosen, not started
    workers = [Worker(s.workdir, root, P_SMALL, f"elate{i}", etcd=etcd) for i in range(3)]
    ring = ring_of(workers)
    keys = pick_keys(ring, lambda k: f"file://{B}/{k}", [w.name for w in workers], 6)
    objs = rand_objs("elate", 6, 100 * KiB, 600 * KiB, keys)
    write_files(root, B, objs)
    want = expected_pages(ring, "file", B, objs, P_SMALL)
    total = sum(len(v) for v in want.values())
    px = None
    try:
        px = s.new_proxy("cluster-etcd-late", cluster_sets(root, page="64KB", **etcd_sets(etcd)))
        read_objects(c, px, B, objs, "etcd down")
        etcd.start()
        start_all(workers)
        t0 = time.monotonic()
        wait_membership(px, 3, 15, "etcd up")
        print(f"    membership of 3 seen {time.monotonic() - t0:.2f}s after the workers registered", flush=True)
        read_objects(c, px, B, objs, "etcd up")
        check_routing(c, workers, want, "etcd up")
    finally:
        ctr = stop_with_route(c, px, "etcd late") if px is not None else None
        stop_all(workers, etcd)
    if ctr:
        c.ok(ctr["ufs_pages"] >= total, f"ufs_pages={ctr['ufs_pages']}, want >= {total} (first read)")
        c.eq(ctr["worker_pages"], total, "worker_pages (second read)")
        c.eq(ctr["failures"], 0, "failures")


# --------------------------------------------------------------------------------------------
# g. page size mismatch


@test(timeout=90)
def cluster_page_size_mismatch(s, c):
    """Worker pages of 128 KiB, proxy pages of 256 KiB: every byte right, and the mismatch is
    logged exactly once. Page-aligned objects first (every worker answer is visibly short), then
    objects whose last page is partial (undetectable per page: the proxy must no longer trust
    that worker)."""
    root = shared_root(s)
    B = "mismatch"
    aligned = {f"m/aligned{i}": prng_bytes(f"mm:a{i}", 4 * P) for i in range(3)}
    odd = {"m/odd0": prng_bytes("mm:o0", 4 * P + 1000), "m/odd1": prng_bytes("mm:o1", 100 * KiB),
           "m/odd2": prng_bytes("mm:o2", P + 3)}
    write_files(root, B, {**aligned, **odd})
    w = Worker(s.workdir, root, 128 * KiB, "mismatch", host="127.0.0.1")
    px = None
    try:
        w.start()
        px = s.new_proxy("cluster-mismatch", cluster_sets(root, **static_sets([w])))
        read_objects(c, px, B, aligned, "mismatch, aligned")
        read_objects(c, px, B, odd, "mismatch, odd sizes")
        read_objects(c, px, B, aligned, "mismatch, aligned again")
        n = total_requests(w)
        print(f"    mismatch: the worker got {n} page requests", flush=True)
        c.ok(n >= 1, "the worker got no request: the mismatch was never exercised")
    finally:
        ctr = stop_with_route(c, px, "mismatch") if px is not None else None
        stop_all([w])
    if px is not None:
        text = read_all(px.log)
        c.eq(text.count(MISMATCH_TEXT), 1, f"'{MISMATCH_TEXT}' in the proxy log")
    if ctr:
        c.eq(ctr["failures"], 0, "failures")


# --------------------------------------------------------------------------------------------
# h. keys a worker must not see


@test(timeout=90)
def cluster_special_keys(s, c):
    """Keys with '#', '%', '&', '+' never go to a worker (their page requests cannot be decoded
    reliably) and read right from the UFS; a key with spaces and Unicode goes to the worker the
    ring gives and reads right."""
    root = shared_root(s)
    B = "special"
    special = ["sp/hash#tag.bin", "sp/50%off.bin", "sp/pct%41.bin", "sp/pct%2Fslash.bin",
               "sp/amp&x=y.bin", "sp/plus+sign.bin", "sp/all #%&+ .bin"]
    routed = ["sp/space and ünïcødé ファイル 😀.bin", "sp/plain.bin", "sp/more spaces/ñ.bin",
              "sp/q?x=1;y@z,()!*'$~.bin"]
    objs = {k: prng_bytes(f"special:{k}", 3 * P_SMALL + 100 + i) for i, k in enumerate(special + routed)}
    write_files(root, B, objs)
    workers = static_workers(s, root, P_SMALL, "special")
    px = None
    try:
        start_all(workers)
        ring = ring_of(workers)
        px = s.new_proxy("cluster-special", cluster_sets(root, page="64KB", **static_sets(workers)))
        read_objects(c, px, B, objs, "special keys")
        bad_ids = {path_id(f"file://{B}/{k}"): k for k in special}
        for w in workers:
            ids = w.requested_ids()
            hit = sorted(bad_ids[i] for i in ids if i in bad_ids)
            c.eq(hit, [], f"{w.name}: keys with # % & + that reached a worker")
        want = expected_pages(ring, "file", B, {k: objs[k] for k in routed}, P_SMALL)
        check_routing(c, workers, want, "routed keys")
        owners = {k: ring.owner(f"file://{B}/{k}") for k in routed}
        print(f"    routed keys' owners: {owners}", flush=True)
    finally:
        ctr = stop_with_route(c, px, "special keys") if px is not None else None
        stop_all(workers)
    if ctr:
        c.eq(ctr["failures"], 0, "failures")
        c.ok(ctr["ufs_pages"] >= 4 * len(special), f"ufs_pages={ctr['ufs_pages']}: the special keys' pages")


# --------------------------------------------------------------------------------------------
# i. S3 UFS


@test(timeout=120)
def cluster_s3_ufs(s, c):
    """moto as the UFS (ring keys s3://bucket/key), workers serving the same bytes from their
    tree: routing as the ring says, nothing read from the UFS."""
    root = shared_root(s)
    B = "cluster-s3"
    moto = s.moto()
    workers = static_workers(s, root, P_SMALL, "s3w")
    ring = ring_of(workers)
    keys = pick_keys(ring, lambda k: f"s3://{B}/{k}", [w.name for w in workers], 6)
    keys.append("dir/sp ace ü.bin")
    objs = rand_objs("s3ufs", 7, 50 * KiB, 500 * KiB, keys)
    m3 = moto.client()
    m3.create_bucket(Bucket=B)
    for k, v in objs.items():
        m3.put_object(Bucket=B, Key=k, Body=v)
    write_files(root, B, objs)
    px = None
    try:
        start_all(workers)
        sets = s.s3_sets(moto, **{K_PAGE: "64KB", "memory_store_size": "0",
                                  "worker_connect_timeout": "500ms"}, **static_sets(workers))
        px = s.new_proxy("cluster-s3", sets)
        read_objects(c, px, B, objs, "s3 UFS")
        want = expected_pages(ring, "s3", B, objs, P_SMALL)
        check_routing(c, workers, want, "s3 UFS")
        total = sum(len(v) for v in want.values())
    finally:
        ctr = stop_with_route(c, px, "s3 UFS") if px is not None else None
        stop_all(workers)
    if ctr:
        c.eq(ctr["worker_pages"], total, "worker_pages")
        c.eq(ctr["ufs_pages"], 0, "ufs_pages")
        c.eq(ctr["failures"], 0, "failures")


# --------------------------------------------------------------------------------------------
# j. etcd with authentication


ETCD_AUTH_RE = re.compile(r"(?i)(auth|password|permission|credential)")


@test(timeout=120)
def cluster_etcd_auth(s, c):
    """etcd with a root user and auth enabled. Right username/password: routing as the ring
    says. Wrong password: every byte still right (from the UFS), an auth error logged."""
    need_etcd()
    root = shared_root(s)
    B = "etcd-auth"
    etcd = Etcd(s.workdir, "etcd-auth").start()
    etcd.enable_auth("etcd-Pw0rd")
    workers = [Worker(s.workdir, root, P_SMALL, f"eauth{i}", etcd=etcd) for i in range(3)]
    ring = ring_of(workers)
    keys = pick_keys(ring, lambda k: f"file://{B}/{k}", [w.name for w in workers], 6)
    objs = rand_objs("eauth", 6, 100 * KiB, 400 * KiB, keys)
    write_files(root, B, objs)
    want = expected_pages(ring, "file", B, objs, P_SMALL)
    total = sum(len(v) for v in want.values())
    px = bad = None
    try:
        start_all(workers)
        px = s.new_proxy("cluster-etcd-auth", cluster_sets(root, page="64KB", **etcd_sets(
            etcd, **{K_ETCD_USER: "root", K_ETCD_PASS: "etcd-Pw0rd"})))
        wait_membership(px, 3, 10, "right password")
        read_objects(c, px, B, objs, "right password")
        check_routing(c, workers, want, "right password")
        ctr = stop_with_route(c, px, "right password")
        px = None
        if ctr:
            c.eq(ctr["worker_pages"], total, "right password: worker_pages")
            c.eq(ctr["ufs_pages"], 0, "right password: ufs_pages")

        for w in workers:
            w.reset()
        bad = s.new_proxy("cluster-etcd-badauth", cluster_sets(root, page="64KB", **etcd_sets(
            etcd, **{K_ETCD_USER: "root", K_ETCD_PASS: "wrong-password"})))
        time.sleep(0.5)
        read_objects(c, bad, B, objs, "wrong password")
        for w in workers:
            c.eq(total_requests(w), 0, f"wrong password: requests to {w.name}")
        lines = [ln for ln in read_all(bad.log).splitlines() if "etcd" in ln.lower() and ETCD_AUTH_RE.search(ln)]
        c.ok(lines, "wrong password: no etcd authentication error in the proxy log")
        if lines:
            print(f"    wrong password logged: {lines[0][:200]}", flush=True)
    finally:
        if px is not None:
            stop_with_route(c, px, "right password")
        ctr = stop_with_route(c, bad, "wrong password") if bad is not None else None
        stop_all(workers, etcd)
    if ctr:
        c.eq(ctr["worker_pages"], 0, "wrong password: worker_pages")
        c.ok(ctr["ufs_pages"] >= total, f"wrong password: ufs_pages={ctr['ufs_pages']}, want >= {total}")
        c.eq(ctr["failures"], 0, "wrong password: failures")


# --------------------------------------------------------------------------------------------
# extras: behaviour around the suspect window, and the ring's tie rule end to end


@test(timeout=90)
def cluster_page_size_mismatch_tail_after_suspect(s, c):
    """Worker pages of 128 KiB, proxy pages of 256 KiB, worker_suspect_time=1s. After the
    mismatch was seen and the suspect window has passed, reads whose only worker page is a
    partial last page (same length at either page size, so undetectable per page) must still be
    right, and the mismatch is logged once."""
    root = shared_root(s)
    B = "mismatch-tail"
    aligned = {"t/aligned": prng_bytes("mmt:a", 4 * P)}
    odd = {"t/odd0": prng_bytes("mmt:o0", 4 * P + 1000), "t/odd1": prng_bytes("mmt:o1", P + 3),
           "t/small": prng_bytes("mmt:s", 5000)}
    write_files(root, B, {**aligned, **odd})
    w = Worker(s.workdir, root, 128 * KiB, "mismatch-tail", host="127.0.0.1")
    px = None
    try:
        w.start()
        px = s.new_proxy("cluster-mismatch-tail", cluster_sets(root, **static_sets([w], worker_suspect_time="1s")))
        read_objects(c, px, B, aligned, "mismatch seen")
        time.sleep(1.5)
        s3 = px.client()
        for key, data in odd.items():
            lo = (len(data) - 1) // P * P  # the last (partial) page only
            try:
                body = s3.get_object(Bucket=B, Key=key, Range=f"bytes={lo}-")["Body"].read()
                c.bytes_eq(body, data[lo:], f"after the suspect window: last page of {key}")
            except Exception as e:
                not_timeout(e)
                c.fail(f"after the suspect window: last page of {key}: {e!r}")
        read_objects(c, px, B, odd, "after the suspect window, whole objects")
        print(f"    mismatch tail: the worker got {total_requests(w)} page requests", flush=True)
    finally:
        ctr = stop_with_route(c, px, "mismatch tail") if px is not None else None
        stop_all([w])
    if px is not None:
        c.eq(read_all(px.log).count(MISMATCH_TEXT), 1, f"'{MISMATCH_TEXT}' in the proxy log")
    if ctr:
        c.eq(ctr["failures"], 0, "failures")


@test(timeout=90)
def cluster_worker_back_after_suspect(s, c):
    """A worker fails (500) and is suspect for worker_suspect_time=1s; it heals; after the window
    its pages go to it again, exactly as the ring says."""
    root = shared_root(s)
    B = "suspect-back"
    objs = {f"b/obj{i}": prng_bytes(f"back:{i}", 5 * P_SMALL + 11 * i) for i in range(4)}
    write_files(root, B, objs)
    w = Worker(s.workdir, root, P_SMALL, "suspect-back", host="127.0.0.1", mode="error")
    px = None
    try:
        w.start()
        px = s.new_proxy("cluster-suspect-back", cluster_sets(root, page="64KB", **static_sets(
            [w], worker_suspect_time="1s")))
        read_objects(c, px, B, objs, "worker failing")
        n = total_requests(w)
        c.ok(1 <= n <= 8, f"worker failing: it got {n} page requests (want a few, then skipped)")
        w.set_mode("ok")
        time.sleep(1.3)
        w.reset()
        read_objects(c, px, B, objs, "worker healed")
        check_routing(c, [w], expected_pages(ring_of([w]), "file", B, objs, P_SMALL), "worker healed")
        total = sum(npages(len(v), P_SMALL) for v in objs.values())
    finally:
        ctr = stop_with_route(c, px, "suspect back") if px is not None else None
        stop_all([w])
    if ctr:
        c.eq(ctr["worker_pages"], total, "worker_pages (the second read)")
        c.eq(ctr["failures"], 0, "failures")


@test(timeout=120)
def cluster_ring_tie_strictly_greater(s, c):
    """The five workers of tests/vectors/ring/workers.json (their identities, our addresses)
    registered in etcd, 2000 virtual nodes, moto as the UFS: the two paths of ties.tsv, whose key
    hash equals a ring point, go to the alluxiofs owner (strictly greater successor), not to
    the Java one (ceiling)."""
    need_etcd()
    import json

    from alluxio_ring import default_vector_dir

    vdir = default_vector_dir()
    with open(os.path.join(vdir, "workers.json"), encoding="utf-8") as f:
        wj = json.load(f)
    with open(os.path.join(vdir, "ties.tsv"), encoding="utf-8") as f:
        rows = [ln.split("\t") for ln in f.read().split("\n")[1:] if ln]
    root = shared_root(s)
    moto = s.moto()
    m3 = moto.client()
    objs = {}  # (bucket, key) -> data
    for path, vn, count, py_owner, java_owner in rows:
        bucket, _, key = path[len("s3://"):].partition("/")
        objs[(bucket, key)] = prng_bytes(f"tie:{path}", 100 * KiB + 5)
    for (bucket, key), data in objs.items():
        try:
            m3.create_bucket(Bucket=bucket)
        except Exception:
            pass
        m3.put_object(Bucket=bucket, Key=key, Body=data)
        write_files(root, bucket, {key: data})
    etcd = Etcd(s.workdir, "etcd-tie").start()
    workers = [Worker(s.workdir, root, P_SMALL, f"tie{i}", etcd=etcd,
                      identity=w["value"]["Identity"]["identifier"]) for i, w in enumerate(wj["workers"])]
    label = {w.name: v["owner"] for w, v in zip(workers, wj["workers"])}
    px = None
    try:
        start_all(workers)
        ring = ring_of(workers, 2000)
        sets = s.s3_sets(moto, **{K_PAGE: "64KB", "memory_store_size": "0", K_VNODES: "2000",
                                  "worker_connect_timeout": "500ms"}, **etcd_sets(etcd))
        px = s.new_proxy("cluster-tie", sets)
        wait_membership(px, 5, 10, "start")
        want = {}
        for (path, vn, count, py_owner, java_owner), ((bucket, key), data) in zip(rows, objs.items()):
            owner = ring.owner(path)
            c.eq(label[owner], py_owner, f"oracle owner of the tie path {path}")
            read_objects(c, px, bucket, {key: data}, "tie")
            want = merge(want, expected_pages(ring, "s3", bucket, {key: data}, P_SMALL))
        check_routing(c, workers, want, "ties")
    finally:
        ctr = stop_with_route(c, px, "ties") if px is not None else None
        stop_all(workers, etcd)
    if ctr:
        c.eq(ctr["ufs_pages"], 0, "ufs_pages")
        c.eq(ctr["failures"], 0, "failures")
