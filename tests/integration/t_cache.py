"""The page cache: warm reads survive a dead UFS, an uncached read fails fast with an S3 5xx,
an overwrite is seen once the metadata TTL passes (never a mix), and memory stays bounded."""

import hashlib
import os
import random
import threading
import time

from harness import (
    MiB,
    Moto,
    TestFailure,
    md5_etag,
    parse_xml,
    prng_bytes,
    quote_key,
    request,
    test,
)
from fixtures import proxy_sets_file

B = "cachebkt"


def get(px, key, headers=None, timeout=60):
    return request(px.port, "GET", f"/{B}/{quote_key(key)}", "", headers or {}, timeout=timeout)


@test()
def cache_serves_warm_pages_with_ufs_down(s, c):
    moto = Moto(s.workdir, "moto-cache")
    try:
        m3 = moto.client()
        m3.create_bucket(Bucket=B)
        P = 64 * 1024
        objs = {
            "warm/a": prng_bytes("warm/a", P * 7 // 2),
            "warm/b c+d": prng_bytes("warm/b", 3 * P),
            "warm/zero": b"",
            "cold/never-read": prng_bytes("cold", 2 * P),
            "cold/half": prng_bytes("half", 4 * P),
        }
        for k, v in objs.items():
            m3.put_object(Bucket=B, Key=k, Body=v)
        sets = s.s3_sets(
            moto,
            metadata_cache_ttl="60s",
            ufs_request_timeout="2s",
            ufs_connect_timeout="1s",
            ufs_retries="1",
            **{"options.alluxio.worker.page.store.page.size": "64KB"},
        )
        px = s.new_proxy("cache", sets)
        try:
            for k in ("warm/a", "warm/b c+d", "warm/zero"):
                r = get(px, k)
                c.bytes_eq(r.body, objs[k], f"warm read {k}")
            r = get(px, "cold/half", {"Range": f"bytes=0-{P - 1}"})
            c.bytes_eq(r.body, objs["cold/half"][:P], "first page of cold/half")
            moto.kill()
            time.sleep(0.2)
            for k in ("warm/a", "warm/b c+d", "warm/zero"):
                r = get(px, k)
                c.eq(r.status, 200, f"{k} with the UFS down: status")
                c.bytes_eq(r.body, objs[k], f"{k} with the UFS down")
                c.eq(r.h("ETag"), md5_etag(objs[k]), f"{k} with the UFS down: ETag")
                r = request(px.port, "HEAD", f"/{B}/{quote_key(k)}")
                c.eq((r.status, r.h("Content-Length")), (200, str(len(objs[k]))), f"HEAD {k}, UFS down")
            a = objs["warm/a"]
            for spec, lo, hi in (("bytes=100-70000", 100, 70001), ("bytes=-5000", len(a) - 5000, len(a)),
                                 (f"bytes={P}-", P, len(a))):
                r = get(px, "warm/a", {"Range": spec})
                c.eq(r.status, 206, f"warm/a {spec} UFS down: status")
                c.bytes_eq(r.body, a[lo:hi], f"warm/a {spec} UFS down")
            r = get(px, "cold/half", {"Range": f"bytes=10-{P - 1}"})
            c.bytes_eq(r.body, objs["cold/half"][10:P], "cached first page of cold/half, UFS down")
            # never read: an S3 5xx error quickly, not a hang
            t0 = time.monotonic()
            try:
                r = get(px, "cold/never-read", timeout=30)
            except Exception as e:
                raise TestFailure(f"uncached read with the UFS down: no answer ({e!r})")
            secs = time.monotonic() - t0
            c.ok(secs < 10, f"uncached read took {secs:.1f}s (ufs_request_timeout=2s, retries=1)")
            c.ok(500 <= r.status <= 599, f"uncached read status {r.status}, want 5xx")
            try:
                root = parse_xml(r.body)
                c.eq(root.tag, "Error", "uncached read: XML root")
                c.ok(root.findtext("Code") in ("InternalError", "SlowDown", "ServiceUnavailable"),
                     f"uncached read Code {root.findtext('Code')!r}")
            except Exception as e:
                c.fail(f"uncached read: body not S3 error XML ({e}): {r.body[:200]!r}")
            # a ranged read that needs an uncached page of a known object: 5xx or a cut body,
            # never wrong bytes
            t0 = time.monotonic()
            try:
                r = get(px, "cold/half", {"Range": f"bytes={P}-{2 * P - 1}"}, timeout=30)
                c.ok(r.status >= 500 or r.body == objs["cold/half"][P : 2 * P],
                     f"uncached page of a cached object: {r.status} with {len(r.body)} bytes")
            except Exception:
                pass  # connection cut mid-body: acceptable
            c.ok(time.monotonic() - t0 < 15, "uncached page with the UFS down took > 15 s")
            # the proxy is still healthy
            r = get(px, "warm/a")
            c.bytes_eq(r.body, objs["warm/a"], "warm read after the failures")
        finally:
            c.eq(px.stop(), 0, "cache proxy exit code")
    finally:
        moto.stop()


@test()
def cache_overwrite_seen_after_ttl(s, c):
    moto = Moto(s.workdir, "moto-overwrite")
    try:
        m3 = moto.client()
        m3.create_bucket(Bucket=B)
        P = 64 * 1024
        old = prng_bytes("ow-old", P * 7 // 2)
        new = prng_bytes("ow-new", P * 9 // 4)  # another size
        same_old = prng_bytes("same-old", 3 * P)
        same_new = prng_bytes("same-new", 3 * P)  # same size, other bytes: only the ETag differs
        m3.put_object(Bucket=B, Key="ow/obj", Body=old)
        m3.put_object(Bucket=B, Key="ow/same", Body=same_old)
        sets = s.s3_sets(moto, metadata_cache_ttl="1s",
                         **{"options.alluxio.worker.page.store.page.size": "64KB"})
        px = s.new_proxy("overwrite", sets)
        try:
            c.bytes_eq(get(px, "ow/obj").body, old, "first read (old)")
            c.bytes_eq(get(px, "ow/same").body, same_old, "first read (same-size old)")
            m3.put_object(Bucket=B, Key="ow/obj", Body=new)
            m3.put_object(Bucket=B, Key="ow/same", Body=same_new)
            time.sleep(1.6)
            for k, want in (("ow/obj", new), ("ow/same", same_new)):
                r = get(px, k)
                c.eq(r.status, 200, f"{k} after overwrite: status")
                c.bytes_eq(r.body, want, f"{k} after overwrite + TTL")
                c.eq(r.h("ETag"), md5_etag(want), f"{k} ETag after overwrite")
                c.eq(r.h("Content-Length"), str(len(want)), f"{k} Content-Length after overwrite")
                for spec, lo, hi in (("bytes=0-99", 0, 100), (f"bytes={P - 5}-{P + 5}", P - 5, P + 6),
                                     ("bytes=-300", len(want) - 300, len(want))):
                    r = get(px, k, {"Range": spec})
                    c.bytes_eq(r.body, want[lo:hi], f"{k} {spec} after overwrite")
            # a reader racing an overwrite gets either the old or the new object, whole
            m3.put_object(Bucket=B, Key="ow/same", Body=same_old)
            results, other = [], []
            stop = time.monotonic() + 3

            def reader():
                while time.monotonic() < stop:
                    try:
                        r = get(px, "ow/same")
                    except Exception as e:  # a cut response is not wrong bytes
                        other.append(repr(e))
                        continue
                    if r.status == 200:
                        results.append((r.body, r.h("ETag")))
                    else:
                        other.append(r.status)

            t = threading.Thread(target=reader)
            t.start()
            for i in range(6):
                m3.put_object(Bucket=B, Key="ow/same", Body=same_new if i % 2 == 0 else same_old)
                time.sleep(0.4)
            t.join(30)
            mixed = [i for i, (b, _) in enumerate(results) if b not in (same_old, same_new)]
            c.eq(mixed, [], f"reads that mixed old and new pages (of {len(results)})")
            wrong_etag = [i for i, (b, e) in enumerate(results) if md5_etag(b) != e]
            c.eq(wrong_etag, [], "bodies that do not match their ETag header")
            c.ok(results, f"no successful read while racing overwrites ({other[:5]})")
        finally:
            c.eq(px.stop(), 0, "overwrite proxy exit code")
    finally:
        moto.stop()


def write_prng_file(path, size, seed):
    """A 1 GiB file of seeded random bytes; returns its SHA-256."""
    rng = random.Random(seed)
    h = hashlib.sha256()
    chunk = 4 * MiB
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(chunk, left)
            b = rng.randbytes(n)
            h.update(b)
            f.write(b)
            left -= n
    return h.hexdigest()


@test(heavy=True, timeout=600)
def memory_bounded_1gib_stream(s, c):
    """1 GiB streamed with memory_store_size=64MiB: RSS stays under 64 MiB + 64 MiB."""
    root = os.path.join(s.workdir, "mem-ufs")
    os.makedirs(os.path.join(root, "mem"), exist_ok=True)
    path = os.path.join(root, "mem", "one-gib.bin")
    size = 1024 * MiB
    truth = write_prng_file(path, size, "one-gib")
    budget = 64 * MiB
    px = s.new_proxy("memory", proxy_sets_file(root, memory_store_size="64MiB"))
    samples = []
    done = threading.Event()

    def sampler():
        while not done.is_set():
            v = px.rss_kib()
            if v:
                samples.append(v)
            time.sleep(0.01)

    try:
        t = threading.Thread(target=sampler)
        t.start()
        import http.client
        from harness import sign

        for round_ in range(2):  # second pass: the cache is full and evicting
            host = f"127.0.0.1:{px.port}"
            conn = http.client.HTTPConnection("127.0.0.1", px.port, timeout=60)
            conn.putrequest("GET", "/mem/one-gib.bin", skip_host=True, skip_accept_encoding=True)
            for k, v in sign("GET", host, "/mem/one-gib.bin"):
                conn.putheader(k, v)
            conn.endheaders()
            r = conn.getresponse()
            c.eq(r.status, 200, f"round {round_}: status")
            h = hashlib.sha256()
            n = 0
            while True:
                b = r.read(1 << 20)
                if not b:
                    break
                h.update(b)
                n += len(b)
            conn.close()
            c.eq(n, size, f"round {round_}: bytes")
            c.eq(h.hexdigest(), truth, f"round {round_}: SHA-256")
        # a slow reader of a range does not grow memory either
        done.set()
        t.join()
        peak = max(samples) * 1024 if samples else 0
        c.ok(samples, "no RSS samples")
        c.ok(peak < budget + 64 * MiB, f"peak RSS {peak / MiB:.1f} MiB >= {(budget + 64 * MiB) / MiB:.0f} MiB")
        print(f"    memory: peak RSS {peak / MiB:.1f} MiB over {len(samples)} samples", flush=True)
    finally:
        done.set()
        c.eq(px.stop(), 0, "memory proxy exit code")
        os.unlink(path)
