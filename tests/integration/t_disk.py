"""The disk page store (options.alluxio.worker.page.store.type=LOCAL): warm after a restart with
no UFS traffic, corrupt page files detected and refetched, du within the configured size, a full
disk that never fails a read, and kill -9 during heavy writes that leaves no wrong page.

What the tests read back is always compared with what they wrote. The proxy's own view comes
from the counters line it logs at SIGTERM; the page files are also opened and checked here,
against the bytes each one claims to hold (see core/page_store/page_file.h for the format).
"""

import concurrent.futures
import os
import random
import re
import signal
import struct
import subprocess
import threading
import time

from fixtures import proxy_sets_file, read_all
from harness import (
    KiB,
    MiB,
    Moto,
    TestFailure,
    md5_etag,
    prng_bytes,
    quote_key,
    request,
    skip,
    test,
)
from sigv4_oracle import Oracle

P = 64 * KiB  # page size of every test here
K_TYPE = "options.alluxio.worker.page.store.type"
K_DIRS = "options.alluxio.worker.page.store.dirs"
K_SIZES = "options.alluxio.worker.page.store.sizes"
K_PAGE = "options.alluxio.worker.page.store.page.size"
MEM_SMALL = "256KiB"  # four pages: most reads must come from disk

COUNTER_NAMES = ("hits", "misses", "bad_pages", "read_errors", "writes", "write_errors",
                 "write_drops", "evictions", "bytes", "pages")
COUNTERS_RE = re.compile(r"disk store: " + " ".join(rf"{n}=(\d+)" for n in COUNTER_NAMES))
PAGE_NAME_RE = re.compile(r"^([0-9a-f]{16})-(0|[1-9a-f][0-9a-f]*)-([1-9a-f][0-9a-f]*)(\.t)?$")
HEADER = struct.Struct("<4sHBBIIQIIII")  # 40 bytes, little-endian
BLOCK = 16 * KiB  # checksum block of a 64 KiB page (page_file_block_shift)
ROUTE_RE = re.compile(r"route: .* disk_pages=(\d+) .* disk_parts=(\d+)")
OPEN_SUMMARY_RE = re.compile(r"\d+ pages, \d+ of \d+ bytes used")


# --------------------------------------------------------------------------------------------
# helpers


def disk_sets(base, dirs, sizes, mem=MEM_SMALL, **extra):
    sets = dict(base)
    sets.update({K_TYPE: "LOCAL", K_DIRS: ",".join(dirs), K_SIZES: ",".join(sizes), K_PAGE: "64KB",
                 "memory_store_size": mem})
    sets.update(extra)
    return sets


def npages(n):
    return (n + P - 1) // P


def list_page_files(dirs):
    """Every entry named like a page file under dirs/xx/: (path, name_hash, index, size, temp).
    Racy against a running proxy (files come and go): a snapshot good enough to poll with."""
    out = []
    for d in dirs:
        try:
            subs = sorted(os.listdir(d))
        except FileNotFoundError:
            continue
        for sub in subs:
            sp = os.path.join(d, sub)
            if len(sub) != 2 or not os.path.isdir(sp):
                continue
            try:
                names = os.listdir(sp)
            except (FileNotFoundError, NotADirectoryError):
                continue
            for n in names:
                m = PAGE_NAME_RE.match(n)
                if m:
                    out.append((os.path.join(sp, n), int(m[1], 16), int(m[2], 16), int(m[3], 16),
                                bool(m[4])))
    return out


def parse_page_file(path):
    """The header fields, identity and data of a page file; None if it is gone."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    if len(raw) < HEADER.size:
        return {"raw": raw, "short": True}
    magic, ver, shift, flags, hlen, dlen, idx, plen, elen, crc, rsv = HEADER.unpack_from(raw, 0)
    return {
        "raw": raw, "short": False, "magic": magic, "version": ver, "block_shift": shift,
        "flags": flags,
        "header_len": hlen, "data_len": dlen, "index": idx, "path": raw[40:40 + plen],
        "etag": raw[40 + plen:40 + plen + elen], "path_len": plen, "etag_len": elen,
        "data": raw[hlen:hlen + dlen],
    }


def verify_disk(c, dirs, truth, what, etags=None):
    """Check every (final-named) page file under dirs against the truth: it names a known object
    ("<scheme>://bucket/key"), holds exactly that page's bytes, and its name agrees with its
    contents. truth: {"bucket/key": bytes}. Returns {("bucket/key", index): path} of good pages
    and the number of files checked. A file removed while being read is skipped."""
    good = {}
    checked = 0
    bad = []
    for path, name_hash, index, size, temp in list_page_files(dirs):
        if temp:
            continue
        f = parse_page_file(path)
        if f is None:
            continue
        checked += 1
        rel = os.path.relpath(path)
        if f["short"]:
            bad.append(f"{rel}: {len(f['raw'])} bytes, shorter than a header")
            continue
        ident = f["path"].decode("utf-8", "replace")
        bk = ident.split("://", 1)[1] if "://" in ident else None
        problems = []
        if f["magic"] != b"ASPG" or f["version"] != 2 or f["block_shift"] != 14:
            problems.append(f"magic {f['magic']!r} version {f['version']} "
                            f"block shift {f['block_shift']}")
        if bk not in truth:
            problems.append(f"identity {ident!r} is no object of the test")
        else:
            data = truth[bk]
            want = data[index * P:(index + 1) * P]
            if f["index"] != index:
                problems.append(f"header index {f['index']}, name index {index}")
            if index * P >= max(len(data), 1):
                problems.append(f"page {index} of a {len(data)}-byte object")
            blocks = (f["data_len"] + BLOCK - 1) // BLOCK
            if f["header_len"] != 40 + f["path_len"] + f["etag_len"] + 4 * blocks:
                problems.append(f"header_len {f['header_len']}")
            if f["data_len"] != len(want) or f["data"] != want:
                problems.append(f"data ({f['data_len']} bytes) is not bytes {index * P}.. of the object")
            if etags and bk in etags and f["etag"].decode("utf-8", "replace") != etags[bk]:
                problems.append(f"ETag {f['etag']!r}, the object's is {etags[bk]}")
        if len(f["raw"]) != size:
            problems.append(f"{len(f['raw'])} bytes, the name says {size}")
        if os.path.basename(os.path.dirname(path)) != f"{name_hash >> 56:02x}":
            problems.append("in the wrong subdirectory")
        if problems:
            bad.append(f"{rel}: " + "; ".join(problems))
        else:
            good[(bk, index)] = path
    for b in bad[:8]:
        c.fail(f"{what}: bad page file {b}")
    if len(bad) > 8:
        c.fail(f"{what}: ... {len(bad)} bad page files in all")
    return good, checked


def du(root, files=None):
    """Bytes allocated under root, root included (st_blocks * 512 of every file and directory,
    as du counts them). Files removed during the walk are skipped. files, a dict, receives
    {path: (inode, bytes)} of the non-directories seen."""
    total = 0
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            total += os.lstat(d).st_blocks * 512
            it = os.scandir(d)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with it:
            for e in it:
                try:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    else:
                        st = e.stat(follow_symlinks=False)
                        total += st.st_blocks * 512
                        if files is not None:
                            files[e.path] = (st.st_ino, st.st_blocks * 512)
                except FileNotFoundError:
                    pass
    return total


def du_at_an_instant(prev_files, total, files):
    """A walk is not a snapshot: a file seen early and removed, then one created and seen late,
    are both counted though they never coexisted. The files seen (same inode) in two walks in a
    row all existed at the instant between them, so the second walk minus the files the first
    did not see is a lower bound of the usage at that instant: what is over the bound there
    really was."""
    return total - sum(b for p, (ino, b) in files.items() if prev_files.get(p, (None,))[0] != ino)


def stop_with_counters(c, px, what):
    """SIGTERM the proxy: exit code 0 and exactly one counters line; returns the counters."""
    code = px.stop()
    c.eq(code, 0, f"{what}: SIGTERM exit code")
    found = COUNTERS_RE.findall(read_all(px.log))
    c.eq(len(found), 1, f"{what}: 'disk store: hits=...' lines in the log at SIGTERM")
    if not found:
        raise TestFailure(f"{what}: no disk store counters line in {px.log}")
    ctr = dict(zip(COUNTER_NAMES, map(int, found[-1])))
    print(f"    {what}: " + " ".join(f"{k}={v}" for k, v in ctr.items()), flush=True)
    return ctr


def get(c, px, bucket, key, rng=None, what=""):
    """GET (a range of) an object; the body, or None after recording the failure."""
    hdrs = {"Range": rng} if rng else {}
    try:
        r = request(px.port, "GET", f"/{bucket}/{quote_key(key)}", headers=hdrs, timeout=60)
    except Exception as e:
        c.fail(f"{what} GET {key!r} {rng or ''}: {e!r}")
        return None
    want = 206 if rng else 200
    if not c.eq(r.status, want, f"{what} GET {key!r} {rng or ''}: status"):
        return None
    return r


def range_specs(n):
    """(Range header, lo, hi) cases for an n-byte object: page edges, suffix, open end."""
    if n == 0:
        return []
    out = [("bytes=0-0", 0, 1), (f"bytes=-{min(n, 100)}", n - min(n, 100), n),
           (f"bytes={n // 2}-", n // 2, n)]
    if n > P + 10:
        out.append((f"bytes={P - 10}-{P + 9}", P - 10, P + 10))
    if n > 3 * P:
        out.append((f"bytes={2 * P}-{3 * P - 1}", 2 * P, 3 * P))
    return out


def read_and_check(c, px, bucket, objs, what, ranges=True, etags=None):
    """Read every object whole (and some ranges); every byte compared with the truth."""
    for key, data in objs.items():
        r = get(c, px, bucket, key, what=what)
        if r is not None:
            c.bytes_eq(r.body, data, f"{what} {key!r}")
            if etags:
                c.eq(r.h("ETag"), etags[key], f"{what} {key!r}: ETag")
        if ranges:
            for spec, lo, hi in range_specs(len(data)):
                r = get(c, px, bucket, key, spec, what=what)
                if r is not None:
                    c.bytes_eq(r.body, data[lo:hi], f"{what} {key!r} {spec}")


def object_gets(oracle, start, bucket):
    """GETs of objects of bucket the UFS saw from log entry start on: [(raw path, Range)]."""
    with oracle.lock:
        log = list(oracle.log[start:])
    return [(p, rng) for m, p, q, rng in log if m == "GET" and p.startswith(f"/{bucket}/")]


def read_onto_disk(c, px, bucket, objs, flush, d1, truth, what):
    """Read objs and then flush whole (flush pushes objs' pages out of the small memory tier),
    wait until every page of objs is on disk; {("bucket/key", index): path} of good pages."""
    read_and_check(c, px, bucket, objs, "first read", ranges=False)
    read_and_check(c, px, bucket, flush, "flush read", ranges=False)
    want = {(f"{bucket}/{k}", i) for k, v in objs.items() for i in range(npages(len(v)))}
    deadline = time.monotonic() + 15
    while True:
        good, _ = verify_disk(c, [d1], truth, what)
        if want <= set(good) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    missing = sorted(want - set(good))
    if missing:
        raise TestFailure(f"pages never written to disk: {missing[:10]} ({len(missing)})")
    return good


def write_files(root, bucket, objs):
    for key, data in objs.items():
        p = os.path.join(root, bucket, key)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)


def moto_with_oracle(s, name, bucket, objs):
    moto = Moto(s.workdir, name)
    m3 = moto.client()
    m3.create_bucket(Bucket=bucket)
    for k, v in objs.items():
        m3.put_object(Bucket=bucket, Key=k, Body=v)
    # The oracle checks the proxy's signatures and logs every request the UFS gets.
    oracle = Oracle(moto.port, "MOTOKEY", "motosecret")
    return moto, oracle


# --------------------------------------------------------------------------------------------
# 1. restart warm


@test(timeout=120)
def disk_restart_warm(s, c):
    """Read a dataset, restart on the same dirs: every page comes from disk (the UFS sees only
    HEADs), then with the UFS gone every byte is still served."""
    B = "diskwarm"
    sizes = {
        "w/zero": 0, "w/one": 1, "w/page-1": P - 1, "w/page": P, "w/page+1": P + 1,
        "w/3.5p": P * 7 // 2, "w/sp ace+plus=eq.bin": 2 * P + 100, "w/unicodé-ファイル.bin": 5 * P + 7,
        "w/10p": 10 * P, "w/16p-3": 16 * P - 3,
    }
    rng = random.Random("disk-warm")
    for i in range(10):
        sizes[f"w/n{i:02d}"] = rng.randrange(1, 6 * P)
    objs = {k: prng_bytes(f"warm:{k}", n) for k, n in sizes.items()}
    etags = {k: md5_etag(v) for k, v in objs.items()}
    expected = {(f"{B}/{k}", i) for k, v in objs.items() for i in range(npages(len(v)))}
    d1 = os.path.join(s.workdir, "disk-warm", "d1")
    moto, oracle = moto_with_oracle(s, "moto-disk-warm", B, objs)
    try:
        sets = disk_sets(s.s3_sets(oracle), [d1], ["64MB"], metadata_cache_ttl="60s",
                         ufs_request_timeout="2s", ufs_connect_timeout="1s", ufs_retries="1")
        px = s.new_proxy("disk-warm", sets)
        try:
            s3 = px.client()
            for k, v in objs.items():
                try:
                    r = s3.get_object(Bucket=B, Key=k)
                    c.bytes_eq(r["Body"].read(), v, f"first read (boto3) {k!r}")
                    c.eq(r["ETag"], etags[k], f"first read (boto3) {k!r}: ETag")
                except Exception as e:
                    c.fail(f"first read (boto3) {k!r}: {e!r}")
            read_and_check(c, px, B, objs, "first run", etags=etags)
        finally:
            ctr = stop_with_counters(c, px, "first run")
        c.ok(ctr["writes"] > 0, "first run: no page written to disk")
        c.eq(ctr["bad_pages"], 0, "first run: bad_pages")
        c.ok(ctr["pages"] >= len(expected), f"first run: pages={ctr['pages']}, the data set has {len(expected)}")
        good, _ = verify_disk(c, [d1], {f"{B}/{k}": v for k, v in objs.items()}, "after the first run",
                              etags={f"{B}/{k}": e for k, e in etags.items()})
        missing = sorted(expected - set(good))
        c.eq(missing[:10], [], f"pages not on disk after the first run ({len(missing)} of {len(expected)})")

        # Restart: the metadata cache is empty, pages are on disk. Only HEADs may reach the UFS.
        mark = len(oracle.log)
        px.start(port=px.port)
        read_and_check(c, px, B, objs, "after restart", etags=etags)
        gets = object_gets(oracle, mark, B)
        c.eq(gets[:10], [], f"GETs that reached the UFS after the restart ({len(gets)})")
        with oracle.lock:
            heads = sum(1 for m, *_ in oracle.log[mark:] if m == "HEAD")
        c.ok(heads > 0, "after restart: no HEAD reached the UFS (metadata must be re-read)")

        # The UFS goes away; metadata is cached for 60 s, pages are on disk.
        moto.kill()
        oracle.stop()
        time.sleep(0.2)
        read_and_check(c, px, B, objs, "UFS down", etags=etags)
        for k, v in objs.items():
            r = request(px.port, "HEAD", f"/{B}/{quote_key(k)}")
            c.eq((r.status, r.h("Content-Length"), r.h("ETag")), (200, str(len(v)), etags[k]),
                 f"UFS down: HEAD {k!r}")
        ctr = stop_with_counters(c, px, "after restart")
        c.eq(ctr["bad_pages"], 0, "after restart: bad_pages")
        c.eq(ctr["read_errors"], 0, "after restart: read_errors")
        c.ok(ctr["hits"] >= len(expected),
             f"after restart: hits={ctr['hits']}, every one of the {len(expected)} pages must come from disk once")
        c.eq(ctr["writes"], 0, "after restart: writes (nothing was fetched)")
    finally:
        oracle.stop()
        moto.kill()


# --------------------------------------------------------------------------------------------
# 2. corruption


@test(timeout=120)
def disk_corruption_detected(s, c):
    """A flipped data byte, a truncated page, a file cut inside its header: the right bytes are
    served, exactly those pages are fetched again, stored again, and counted."""
    B = "diskbad"
    objs = {f"c/obj{i}": prng_bytes(f"bad:{i}", 8 * P + 123) for i in range(6)}
    flush = {"c/flush": prng_bytes("bad:flush", 16 * P)}
    truth = {f"{B}/{k}": v for k, v in {**objs, **flush}.items()}
    d1 = os.path.join(s.workdir, "disk-bad", "d1")
    moto, oracle = moto_with_oracle(s, "moto-disk-bad", B, {**objs, **flush})
    try:
        sets = disk_sets(s.s3_sets(oracle), [d1], ["64MB"], metadata_cache_ttl="60s")
        px = s.new_proxy("disk-bad", sets)
        try:
            # Evict the objects' pages from the (4-page) memory tier: later reads go to disk.
            good = read_onto_disk(c, px, B, objs, flush, d1, truth, "before corrupting")
            last = npages(8 * P + 123) - 1
            targets = {
                ("c/obj0", 2): "flip a data byte",
                ("c/obj1", 5): "truncate in the data",
                ("c/obj2", last): "truncate in the header",
            }
            for (key, idx), how in targets.items():
                path = good[(f"{B}/{key}", idx)]
                f = parse_page_file(path)
                if how == "flip a data byte":
                    off = f["header_len"] + f["data_len"] // 2
                    with open(path, "r+b") as fh:
                        fh.seek(off)
                        b = fh.read(1)
                        fh.seek(off)
                        fh.write(bytes([b[0] ^ 0x5A]))
                elif how == "truncate in the data":
                    os.truncate(path, f["header_len"] + f["data_len"] // 2)
                else:
                    os.truncate(path, 20)
            mark = len(oracle.log)
            read_and_check(c, px, B, objs, "corrupted", ranges=False)
            read_and_check(c, px, B, {"c/obj0": objs["c/obj0"]}, "corrupted (ranges)", ranges=True)
            gets = object_gets(oracle, mark, B)
            fetched = set()
            for p, rng in gets:
                key = p[len(f"/{B}/"):]
                if not rng or not rng.startswith("bytes="):
                    c.fail(f"unranged GET {p} after corrupting")
                    continue
                a, _, b = rng[len("bytes="):].partition("-")
                a, b = int(a), int(b) if b else len(objs.get(key, b"")) - 1
                for i in range(a // P, b // P + 1):
                    fetched.add((key, i))
            for t, how in targets.items():
                c.ok(t in fetched, f"corrupted page {t} ({how}) was not fetched again from the UFS")
            extra = sorted(fetched - set(targets))
            c.eq(extra[:10], [], f"pages fetched from the UFS though their disk copy was good ({len(extra)})")
            # The refetched pages are stored again; then nothing more comes from the UFS.
            deadline = time.monotonic() + 10
            while True:
                good, _ = verify_disk(c, [d1], truth, "after refetching")
                back = {(f"{B}/{k}", i) for k, i in targets} <= set(good)
                if back or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            c.ok(back, "the refetched pages were not written to disk again within 10 s")
            mark = len(oracle.log)
            read_and_check(c, px, B, objs, "third read", ranges=False)
            gets = object_gets(oracle, mark, B)
            c.eq(gets[:10], [], f"GETs that reached the UFS on the third read ({len(gets)})")
        finally:
            ctr = stop_with_counters(c, px, "corruption")
        c.ok(ctr["bad_pages"] >= len(targets),
             f"bad_pages={ctr['bad_pages']}, {len(targets)} page files were corrupted")
        c.eq(ctr["read_errors"], 0, "read_errors")
        c.ok(ctr["hits"] > 0, "no disk hit")
    finally:
        oracle.stop()
        moto.kill()


@test(timeout=120)
def disk_parts_of_pages(s, c):
    """Ranges that need a part of a page read only that part from disk (its 16 KiB checksum
    blocks, each checked): right bytes, no UFS traffic, counted as parts. A flipped byte in a
    block no range touches goes unnoticed until a read needs that block; then the right bytes
    are served, that page alone is fetched again, and the bad page is counted."""
    B = "diskpart"
    objs = {f"p/obj{i}": prng_bytes(f"part:{i}", 6 * P + 5000) for i in range(3)}
    flush = {"p/flush": prng_bytes("part:flush", 16 * P)}
    truth = {f"{B}/{k}": v for k, v in {**objs, **flush}.items()}
    d1 = os.path.join(s.workdir, "disk-part", "d1")
    moto, oracle = moto_with_oracle(s, "moto-disk-part", B, {**objs, **flush})
    try:
        sets = disk_sets(s.s3_sets(oracle), [d1], ["64MB"], metadata_cache_ttl="60s")
        px = s.new_proxy("disk-part", sets)
        try:
            good = read_onto_disk(c, px, B, objs, flush, d1, truth, "before the ranges")
            n = 6 * P + 5000
            specs = [(P + 100, P + 200), (P - 10, P + 10), (2 * P + BLOCK - 1, 2 * P + BLOCK + 1),
                     (3 * P + 3 * BLOCK, 4 * P + BLOCK), (n - 7, n), (6 * P + 4999, n),
                     (P // 2, 3 * P + P // 3)]
            mark = len(oracle.log)
            for key, data in objs.items():
                for lo, hi in specs:
                    r = get(c, px, B, key, f"bytes={lo}-{hi - 1}", what="parts")
                    if r is not None:
                        c.bytes_eq(r.body, data[lo:hi], f"parts {key!r} {lo}-{hi - 1}")
            c.eq(object_gets(oracle, mark, B)[:10], [], "GETs that reached the UFS for parts")
            # Whole pages read from disk went to the memory tier: push them out again.
            read_and_check(c, px, B, flush, "second flush read", ranges=False)

            # Flip a byte in block 3 of page 2 of obj0. Ranges inside blocks 0..2 of that page
            # are still served from disk; the first one that needs block 3 finds it.
            path = good[(f"{B}/p/obj0", 2)]
            f = parse_page_file(path)
            off = f["header_len"] + 3 * BLOCK + 77
            with open(path, "r+b") as fh:
                fh.seek(off)
                b = fh.read(1)
                fh.seek(off)
                fh.write(bytes([b[0] ^ 0x81]))
            data = objs["p/obj0"]
            mark = len(oracle.log)
            lo, hi = 2 * P + 10, 2 * P + 3 * BLOCK - 10
            r = get(c, px, B, "p/obj0", f"bytes={lo}-{hi - 1}", what="good blocks")
            if r is not None:
                c.bytes_eq(r.body, data[lo:hi], "good blocks of a page with a bad one")
            c.eq(object_gets(oracle, mark, B), [], "GETs for the good blocks of a bad page")
            lo, hi = 2 * P + 3 * BLOCK + 50, 2 * P + 3 * BLOCK + 100
            r = get(c, px, B, "p/obj0", f"bytes={lo}-{hi - 1}", what="bad block")
            if r is not None:
                c.bytes_eq(r.body, data[lo:hi], "the bad block's bytes")
            gets = object_gets(oracle, mark, B)
            c.eq(len(gets), 1, f"GETs after reading the bad block: {gets}")
            if gets:
                c.eq(gets[0][0], f"/{B}/p/obj0", "the page fetched again")
                c.eq(gets[0][1], f"bytes={2 * P}-{3 * P - 1}", "the page fetched again")
        finally:
            ctr = stop_with_counters(c, px, "parts")
        c.eq(ctr["bad_pages"], 1, "bad_pages")
        route = ROUTE_RE.findall(read_all(px.log))
        c.eq(len(route), 1, "route counters line at SIGTERM")
        if route:
            parts = int(route[-1][1])
            print(f"    parts: disk_pages={route[-1][0]} disk_parts={parts}", flush=True)
            # Each object's first six ranges need parts of pages no range before them read
            # whole (the last range reads pages 1 and 2 whole): at least 6 parts per object.
            c.ok(parts >= len(objs) * 6, f"disk_parts={parts}: the ranges were not read as parts")
    finally:
        oracle.stop()
        moto.kill()


@test(timeout=120)
def disk_parts_of_small_pages(s, c):
    """32 KiB pages (below the 64 KiB the page pool maps; two 16 KiB checksum blocks each):
    pages and parts of pages come from malloc; ranges crossing page edges, read as parts from
    disk, give the right bytes and the proxy exits cleanly (under ASan too)."""
    page = 32 * KiB
    root = os.path.join(s.workdir, "disk-small-ufs")
    d1 = os.path.join(s.workdir, "disk-small", "d1")
    data = prng_bytes("small-pages", 40 * page + 123)
    write_files(root, "small", {"obj": data})
    sets = proxy_sets_file(root, **{K_TYPE: "LOCAL", K_DIRS: d1, K_SIZES: "64MB", K_PAGE: "32KB",
                                    "memory_store_size": "64KiB"})
    px = s.new_proxy("disk-small", sets)
    try:
        r = get(c, px, "small", "obj", what="whole")
        if r is not None:
            c.bytes_eq(r.body, data, "the whole object")
        pages = -(-len(data) // page)
        deadline = time.monotonic() + 15
        while True:
            files = [f for _, _, fs in os.walk(d1) for f in fs if not f.endswith(".t")]
            if len(files) >= pages or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        c.eq(len(files), pages, "page files on disk")
        for lo, hi in [(page - 10, page + 10), (3 * page + 100, 5 * page + 7), (7, 100),
                       (39 * page + BLOCK + 5, len(data))]:
            r = get(c, px, "small", "obj", f"bytes={lo}-{hi - 1}", what="small parts")
            if r is not None:
                c.bytes_eq(r.body, data[lo:hi], f"bytes {lo}-{hi - 1}")
    finally:
        stop_with_counters(c, px, "small pages")
    route = ROUTE_RE.findall(read_all(px.log))
    c.eq(len(route), 1, "route counters line at SIGTERM")
    if route:
        c.ok(int(route[-1][1]) > 0, f"disk_parts={route[-1][1]}: no range was read as parts")


# --------------------------------------------------------------------------------------------
# 3. size bound


@test(timeout=120)
def disk_size_bound(s, c):
    """Two dirs, 3x their capacity read through: du of each stays within its size + one page."""
    base = os.path.join(s.workdir, "disk-bound")
    # What the store's own directories cost here (the store charges them to the capacity).
    probe = os.path.join(base, "probe")
    for i in range(256):
        os.makedirs(os.path.join(probe, f"{i:02x}"), exist_ok=True)
    overhead = du(probe)
    page_file = P + 4 * KiB  # a page file: data + header, in whole blocks
    cap_mib = 2
    if overhead + 8 * page_file > cap_mib * MiB:
        cap_mib = (overhead + 16 * page_file + MiB - 1) // MiB
    cap = cap_mib * MiB
    bound = cap + page_file
    print(f"    size bound: directories take {overhead} bytes; capacity {cap_mib} MiB per dir, "
          f"bound {bound}", flush=True)
    dirs = [os.path.join(base, "d1"), os.path.join(base, "d2")]
    # One-page objects, read one at a time: each read is one page write (and its evictions).
    total = int(3.2 * cap * len(dirs))
    objs = {}
    i = 0
    while sum(len(v) for v in objs.values()) < total:
        objs[f"o{i:04d}"] = prng_bytes(f"bound:{i}", P - (i % 7) * 1000)
        i += 1
    root = os.path.join(base, "ufs")
    write_files(root, "bbkt", objs)
    px = s.new_proxy("disk-bound", disk_sets(proxy_sets_file(root), dirs, [f"{cap_mib}MB"] * 2))
    samples = []  # (dir, du of one walk, usage at an instant: see du_at_an_instant)
    over = []
    stop = threading.Event()

    def sampler():
        prev = {d: {} for d in dirs}
        while not stop.is_set():
            for d in dirs:
                files = {}
                u = du(d, files)
                inst = du_at_an_instant(prev[d], u, files)
                prev[d] = files
                samples.append((d, u, inst))
                if inst > bound:
                    over.append((round(time.monotonic() - t0, 3), os.path.basename(d), inst, u))
            time.sleep(0.002)

    try:
        for d in dirs:
            u = du(d)
            c.ok(u <= cap, f"{d} at start: du {u} > capacity {cap}")
        t0 = time.monotonic()
        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        try:
            for key, data in objs.items():
                r = get(c, px, "bbkt", key, what="bound")
                if r is not None:
                    c.bytes_eq(r.body, data, f"bound {key}")
                time.sleep(0.02)
            time.sleep(0.5)  # writes still in flight
            # The last pages read are on disk (or in memory): served right.
            read_and_check(c, px, "bbkt", dict(list(objs.items())[-20:]), "bound re-read", ranges=False)
        finally:
            stop.set()
            th.join(10)
        for d in dirs:
            raw = max((u for dd, u, _ in samples if dd == d), default=0)
            inst = max((i for dd, _, i in samples if dd == d), default=0)
            print(f"    size bound: {os.path.basename(d)}: max du {inst} at an instant, {raw} in one "
                  f"walk; capacity {cap}, bound {bound}", flush=True)
        c.ok(len(samples) >= 100, f"only {len(samples)} du samples")
        c.eq(over[:10], [], f"(seconds, dir, du at an instant, du of the walk) over capacity + one page "
                            f"({len(over)} of {len(samples)} samples)")
    finally:
        ctr = stop_with_counters(c, px, "size bound")
    for d in dirs:
        u = du(d)
        c.ok(u <= cap, f"{d} after SIGTERM: du {u} > capacity {cap}")
    c.ok(ctr["evictions"] > 0, "no eviction")
    c.ok(ctr["writes"] * P >= 2 * cap * len(dirs),
         f"writes={ctr['writes']}: less than 2x the capacity went to disk")
    c.ok(ctr["bytes"] <= cap * len(dirs), f"bytes={ctr['bytes']} > capacity {cap * len(dirs)}")
    c.eq(ctr["bad_pages"], 0, "bad_pages")


# --------------------------------------------------------------------------------------------
# 4. disk full


@test(timeout=120)
def disk_full_keeps_serving(s, c):
    """A store dir on a 512 KiB tmpfs with 64 MB configured: ENOSPC for real. Reads never fail,
    the failure is counted and logged a few times, not per request."""
    base = os.path.join(s.workdir, "disk-full")
    mnt = os.path.join(base, "tiny")
    os.makedirs(mnt, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        skip(f"cannot mount a tmpfs: {p.stdout.decode('utf-8', 'replace').strip()}")
    px = None
    try:
        objs = {f"f/obj{i:02d}": prng_bytes(f"full:{i}", 5 * P + 333 * i) for i in range(12)}
        root = os.path.join(base, "ufs")
        write_files(root, "fbkt", objs)
        px = s.new_proxy("disk-full", disk_sets(proxy_sets_file(root), [mnt], ["64MB"]))
        read_and_check(c, px, "fbkt", objs, "full: first pass", ranges=False)
        errors = []

        def reader(key):
            try:
                r = request(px.port, "GET", f"/fbkt/{quote_key(key)}", timeout=60)
                if r.status != 200 or r.body != objs[key]:
                    errors.append(f"{key}: {r.status}, {len(r.body)} bytes")
            except Exception as e:
                errors.append(f"{key}: {e!r}")

        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            list(ex.map(reader, list(objs) * 3))
        c.eq(errors[:10], [], f"concurrent reads with the disk full ({len(errors)} failed)")
        read_and_check(c, px, "fbkt", objs, "full: last pass")
        st = os.statvfs(mnt)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        print(f"    disk full: tmpfs {used} of {st.f_blocks * st.f_frsize} bytes used", flush=True)
        ctr = stop_with_counters(c, px, "disk full")
        c.ok(ctr["write_errors"] > 0, "write_errors=0: the tmpfs never refused a write")
        c.eq(ctr["bad_pages"], 0, "bad_pages")
        lines = [ln for ln in read_all(px.log).splitlines()
                 if mnt in ln and not OPEN_SUMMARY_RE.search(ln)]
        for ln in lines[:5]:
            print(f"    disk full log: {ln[:200]}", flush=True)
        c.ok(1 <= len(lines) <= 3, f"{len(lines)} log lines about the full dir, want 1 to 3")
        temps = [x[0] for x in list_page_files([mnt]) if x[4]]
        c.eq(temps[:5], [], "temp files left on the full dir after SIGTERM")
    finally:
        if px is not None and px.alive():
            px.stop(timeout=10)
        r = subprocess.run(["umount", mnt], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --------------------------------------------------------------------------------------------
# 5. crash


@test(timeout=120)
def disk_crash_safe(s, c):
    """kill -9 while four clients read (many page writes in flight): every page file left is
    exactly the page it names, temp files are gone after the restart, all reads byte-exact."""
    base = os.path.join(s.workdir, "disk-crash")
    dirs = [os.path.join(base, "d1"), os.path.join(base, "d2")]
    objs = {f"k/obj{i:02d}": prng_bytes(f"crash:{i}", 6 * P + 1000 * i + 17) for i in range(40)}
    truth = {f"cbkt/{k}": v for k, v in objs.items()}
    root = os.path.join(base, "ufs")
    write_files(root, "cbkt", objs)
    px = s.new_proxy("disk-crash", disk_sets(proxy_sets_file(root), dirs, ["64MB", "64MB"]))
    stop = threading.Event()
    wrong = []

    def reader(n):
        keys = list(objs)
        random.Random(n).shuffle(keys)
        while not stop.is_set():
            for key in keys:
                if stop.is_set():
                    return
                try:
                    r = request(px.port, "GET", f"/cbkt/{quote_key(key)}", timeout=30)
                except Exception:
                    continue  # the proxy was killed: a cut response is not a wrong byte
                if r.status == 200 and r.body != objs[key]:
                    wrong.append(f"{key}: {len(r.body)} bytes, not the object's")

    threads = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(4)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 30
        n_final = n_temp = 0
        while time.monotonic() < deadline:
            files = list_page_files(dirs)
            n_final = sum(1 for f in files if not f[4])
            n_temp = sum(1 for f in files if f[4])
            if n_final >= 80:
                break
            time.sleep(0.01)
        os.kill(px.proc.pid, signal.SIGKILL)
        px.proc.wait(timeout=10)
        print(f"    crash: kill -9 with {n_final} pages and {n_temp} temp files seen", flush=True)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    c.eq(wrong[:5], [], "wrong bytes served before the crash")
    c.ok(n_final >= 80, f"only {n_final} page files after 30 s of reading: no heavy writing to crash in")
    good, checked = verify_disk(c, dirs, truth, "after kill -9")
    temps = sum(1 for f in list_page_files(dirs) if f[4])
    print(f"    crash: {checked} page files left, {len(good)} good, {temps} temp files", flush=True)
    px.start(port=px.port)
    try:
        left = [f[0] for f in list_page_files(dirs) if f[4]]
        c.eq(left[:5], [], f"temp files still there after the restart ({len(left)})")
        read_and_check(c, px, "cbkt", objs, "after the crash")
        errors = []

        def check(key):
            try:
                r = request(px.port, "GET", f"/cbkt/{quote_key(key)}", timeout=60)
                if r.status != 200 or r.body != objs[key]:
                    errors.append(f"{key}: {r.status}, {len(r.body)} bytes")
            except Exception as e:
                errors.append(f"{key}: {e!r}")

        with concurrent.futures.ThreadPoolExecutor(3) as ex:
            list(ex.map(check, list(objs) * 2))
        c.eq(errors[:10], [], f"concurrent reads after the crash ({len(errors)} failed)")
    finally:
        ctr = stop_with_counters(c, px, "after the crash")
    c.ok(ctr["hits"] > 0, "no page from before the crash was served from disk")
    c.eq(ctr["read_errors"], 0, "read_errors")
    verify_disk(c, dirs, truth, "at the end")
