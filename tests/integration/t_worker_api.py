"""The worker role: the Alluxio worker REST API served by the proxy (server/worker_api),
exercised by a scripted client that sends exactly what alluxiofs 1.0.x sends
(../shared/ALLUXIO-PROTOCOL.md section 3):

  raw-template targets (/v1/file, /v1/range, /v1/chunk, /v1/node) requoted the way
  requests/urllib3 does it (requote() below, written from section 3.3), form-encoded
  parameters for /v1/info, /v1/files and /v1/load (urllib.parse.urlencode, as requests does),
  v1.0.3's page arithmetic for ranged reads and its whole-file page loop.

Expected bytes always come from what the test wrote. Most tests run over the file UFS
(target_protocol=file, one directory per bucket); one runs over moto (S3 UFS).
"""

import concurrent.futures
import http.client
import json
import os
import random
import re
import shutil
import socket
import time
from urllib.parse import urlencode

from alluxio_ring import Ring, host_identity, path_id
import harness
from fixtures import proxy_sets_file, read_all
from harness import KiB, MiB, free_port, prng_bytes, test, wait_port

K_PAGE = "options.alluxio.worker.page.store.page.size"
P = 64 * KiB

REQUIRED_KEYS = ("mType", "mName", "mPath", "mUfsPath", "mLastModificationTimeMs",
                 "mHumanReadableFileSize", "mLength")
ALL_KEYS = REQUIRED_KEYS + ("mCreationTimeMs", "mLastAccessTimeMs", "mCompleted", "mOwner",
                            "mGroup", "mMode", "mPersisted", "mInAlluxioPercentage",
                            "mContentHash")

# --------------------------------------------------------------------------------------------
# What alluxiofs puts on the wire

UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
RAW_OK = UNRESERVED | set(b"&=+?:/;,!$'()*@")
HEX = set(b"0123456789abcdefABCDEF")


def requote(path):
    """A path pasted into a raw URL template, as requests/urllib3 send it (section 3.3): '#'
    starts a fragment that is not sent; a '%' not followed by two hex digits makes every '%'
    go as %25; otherwise %XX escapes stay as written, except escapes of unreserved characters,
    which are decoded; & = + ? : / ; , ! $ ' ( ) * @ ~ and unreserved characters pass raw;
    everything else (space, quotes, <>, \\, ^, `, {|}, [], controls, non-ASCII) is %XX of the
    UTF-8 bytes."""
    b = path.split("#", 1)[0].encode("utf-8")
    bad_pct = any(c == 0x25 and not (i + 2 < len(b) and b[i + 1] in HEX and b[i + 2] in HEX)
                  for i, c in enumerate(b))
    out = []
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x25 and not bad_pct:
            v = int(b[i + 1:i + 3], 16)
            out.append(chr(v) if v in UNRESERVED else "%" + b[i + 1:i + 3].decode())
            i += 3
            continue
        out.append(chr(c) if c in RAW_OK else "%%%02X" % c)
        i += 1
    return "".join(out)


def form(params):
    """requests' encoding of a params dict: space -> '+', all but A-Za-z0-9_.-~ as %XX."""
    return urlencode(params)


class Client:
    """One keep-alive connection to the worker port, speaking alluxiofs's request shapes."""

    def __init__(self, port, page_size=P):
        self.port = port
        self.page = page_size
        self.conn = None

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def get(self, target, method="GET", body=None, headers=None):
        """(status, body bytes, headers dict lower-cased)."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.putrequest(method, target, skip_accept_encoding=True)
                for k, v in (headers or {}).items():
                    self.conn.putheader(k, v)
                if body is not None:
                    self.conn.putheader("Content-Length", str(len(body)))
                self.conn.endheaders(body)
                r = self.conn.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    self.close()
                return r.status, data, hdrs
            except (http.client.HTTPException, ConnectionError, OSError):
                self.close()
                if attempt == 2:
                    raise

    def json(self, target):
        st, body, _ = self.get(target)
        try:
            return st, json.loads(body)
        except ValueError:
            return st, body

    # ---- targets
    def page_target(self, path, i, offset=None, length=None, with_path=True):
        q = []
        if offset is not None:
            q.append(f"offset={offset}&length={length}")
        if with_path:
            q.append("ufsFullPath=" + requote(path))
        return f"/v1/file/{path_id(path)}/page/{i}" + ("?" + "&".join(q) if q else "")

    def range_target(self, path, off, length):
        return f"/v1/range/{path_id(path)}?ufsFullPath={requote(path)}&offset={off}&length={length}"

    def chunk_target(self, path):
        return f"/v1/chunk/{path_id(path)}?ufsFullPath={requote(path)}&chunkSize={self.page}"

    # ---- operations
    def read_range_v103(self, path, off, length):
        """alluxiofs 1.0.3 _range_page_generator: one E3 per page, strictly sequential."""
        S = self.page
        first, first_off = off // S, off % S
        last, last_end = (off + length - 1) // S, (off + length - 1) % S + 1
        out = b""
        for page in range(first, last + 1):
            o = first_off if page == first else 0
            if first == last:
                n = last_end - first_off
            elif page == first:
                n = S - first_off
            elif page == last:
                n = last_end
            else:
                n = S
            st, body, _ = self.get(self.page_target(path, page, o, n))
            if st != 200:
                if page == first:
                    raise IOError(f"page {page}: HTTP {st} {body[:200]!r}")
                break
            out += body
            if len(body) < n:
                break
        return out

    def read_all_v103(self, path):
        """Whole-file read (E3b): pages 0, 1, ... until a short or empty body."""
        out = b""
        i = 0
        while True:
            st, body, _ = self.get(self.page_target(path, i))
            if st != 200:
                raise IOError(f"page {i}: HTTP {st}")
            out += body
            if len(body) < self.page:
                return out
            i += 1

    def info(self, path):
        return self.json("/v1/info?" + form({"path": path}))

    def files(self, path):
        return self.json("/v1/files?" + form({"path": path}))

    def node(self, path):
        return self.json("/v1/node?path=" + requote(path))

    def load(self, path, op, verbose=True):
        params = {"path": path, "opType": op}
        if op != "stop":
            params["verbose"] = json.dumps(verbose)
        return self.json("/v1/load?" + form(params))


# --------------------------------------------------------------------------------------------
# Fixtures


def write_tree(root, bucket, files):
    for key, data in files.items():
        p = os.path.join(root, bucket, key)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)


def start_worker(s, name, sets, page="64KB"):
    """A proxy with the worker role; returns (proxy, worker port)."""
    wport = free_port()
    sets = dict(sets)
    sets.update({
        "roles": "s3,worker",
        "options.alluxio.worker.http.server.port": str(wport),
        "options.alluxio.worker.hostname": "127.0.0.1",
        "options.alluxio.worker.bind.host": "127.0.0.1",
        K_PAGE: page,
    })
    px = s.new_proxy(name, sets)
    if not wait_port(wport, px.proc, 30):
        raise RuntimeError(f"worker port {wport} did not open")
    return px, wport


def file_worker(s, name, files, bucket="wb", **extra):
    root = os.path.join(s.workdir, name + "-ufs")
    shutil.rmtree(root, ignore_errors=True)
    write_tree(root, bucket, files)
    os.makedirs(os.path.join(root, "wempty"), exist_ok=True)
    px, wport = start_worker(s, name, proxy_sets_file(root, **extra))
    return root, px, wport


def sizes():
    return {"zero": 0, "one": 1, "pm1": P - 1, "p": P, "pp1": P + 1, "p3h": P * 7 // 2}


def sized_files():
    return {f"sz/{n}.bin": prng_bytes("wapi:" + n, size) for n, size in sizes().items()}


# --------------------------------------------------------------------------------------------
# Page reads (E3, E3b, E3c)


@test(timeout=300)
def worker_api_page_reads(s, c):
    files = sized_files()
    root, px, wport = file_worker(s, "wapi-pages", files)
    cl = Client(wport)
    try:
        for key, data in files.items():
            path = f"file://wb/{key}"
            n = len(data)
            npages = (n + P - 1) // P
            for i in range(npages + 2):
                want = data[i * P:(i + 1) * P]
                st, body, h = cl.get(cl.page_target(path, i))
                c.eq(st, 200, f"E3b {key} page {i}: status")
                c.bytes_eq(body, want, f"E3b {key} page {i}")
                c.eq(h.get("content-length"), str(len(want)), f"E3b {key} page {i}: Content-Length")
                # Offsets and lengths inside the page (clipped to the page's real length).
                for off, ln in ((0, P), (0, 1), (7, 100), (P - 1, 1), (P // 2, P // 2), (0, 0)):
                    st, body, _ = cl.get(cl.page_target(path, i, off, ln))
                    c.eq(st, 200, f"E3 {key} page {i} [{off},+{ln}): status")
                    c.bytes_eq(body, want[off:off + ln], f"E3 {key} page {i} [{off},+{ln})")
                # E3c: the path was learnt from the requests above.
                st, body, _ = cl.get(cl.page_target(path, i, 3, 50, with_path=False))
                c.eq(st, 200, f"E3c {key} page {i}: status")
                c.bytes_eq(body, want[3:53], f"E3c {key} page {i}")
                st, body, _ = cl.get(cl.page_target(path, i, with_path=False))
                c.bytes_eq(body, want, f"E3c whole {key} page {i}")
            # HEAD: the headers of the GET, no body.
            st, body, h = cl.get(cl.page_target(path, 0, 1, 10), method="HEAD")
            c.eq((st, body, h.get("content-length")), (200, b"", str(len(data[1:11]))),
                 f"HEAD E3 {key}")
            # v1.0.3's ranged read and whole-file read.
            rnd = random.Random(key)
            for _ in range(6):
                if n == 0:
                    break
                off = rnd.randrange(n)
                ln = rnd.randrange(1, n - off + 1)
                c.bytes_eq(cl.read_range_v103(path, off, ln), data[off:off + ln],
                           f"v1.0.3 read_range {key} [{off},+{ln})")
            if n:
                c.bytes_eq(cl.read_range_v103(path, n - 1, 10), data[n - 1:],
                           f"v1.0.3 read_range {key} past EOF")
            c.bytes_eq(cl.read_all_v103(path), data, f"v1.0.3 whole-file read {key}")
        path = "file://wb/sz/p3h.bin"
        # Far past the end of the file, and the largest index: 200 with an empty body.
        for i in (1000, 18446744073709551615):
            st, body, h = cl.get(cl.page_target(path, i, 0, 5))
            c.eq((st, body, h.get("content-length")), (200, b"", "0"), f"page {i}: empty 200")
        # offset at the page size exactly: nothing left, 200 empty.
        st, body, _ = cl.get(cl.page_target(path, 0, P, 0))
        c.eq((st, body), (200, b""), "offset = page size, length 0")
        # Page-size mismatch (a client with bigger pages): offset+length past our page size.
        for off, ln in ((0, P + 1), (P - 10, 11), (P + 1, 1)):
            st, body, h = cl.get(cl.page_target(path, 0, off, ln))
            c.eq(st, 400, f"[{off},+{ln}) past the page size: status")
            c.ok(b"page size" in body, f"[{off},+{ln}): message {body[:200]!r}")
            c.ok(h.get("content-type", "").startswith("application/json"), "400 is JSON")
        # Unknown path id without ufsFullPath: 404; a missing file: 404 JSON.
        st, body = cl.json(cl.page_target("file://wb/never-seen", 0, with_path=False))
        c.eq(st, 404, "E3c of an unknown id")
        c.ok(isinstance(body, dict) and "message" in body, f"404 body {body!r}")
        st, body = cl.json(cl.page_target("file://wb/missing.bin", 0))
        c.eq(st, 404, "missing file")
        c.ok(isinstance(body, dict) and "message" in body, f"404 body {body!r}")
        # Another scheme than the UFS's, and a bucket root: 400 / 404.
        st, _ = cl.json(cl.page_target("s3://wb/sz/one.bin", 0))
        c.eq(st, 400, "s3:// path on a file UFS")
        st, _ = cl.json(cl.page_target("file://wb", 0))
        c.eq(st, 404, "a bucket is not a file")
        st, _ = cl.json(cl.page_target("file://nobucket/x", 0))
        c.eq(st, 404, "missing bucket")
        # Nothing outside the UFS root, whatever the path says.
        with open(os.path.join(s.workdir, "wapi-outside.txt"), "wb") as f:
            f.write(b"outside the root")
        for p in ("file://wb/../../wapi-outside.txt", "file://../wapi-outside.txt",
                  "file://wb/./sz/one.bin", "file://wb//sz/one.bin"):
            st, body = cl.json(cl.page_target(p, 0))
            c.eq(st, 404, f"{p}: not served")
            st, body = cl.info(p)
            c.ok(st in (400, 404), f"E2 {p}: {st} {body!r}")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "proxy exit code")


# --------------------------------------------------------------------------------------------
# E5, E6


@test(timeout=300)
def worker_api_range_and_chunk(s, c):
    files = sized_files()
    files["big.bin"] = prng_bytes("wapi:big", 3 * MiB + 17)
    root, px, wport = file_worker(s, "wapi-range", files)
    cl = Client(wport)
    try:
        for key, data in files.items():
            path = f"file://wb/{key}"
            n = len(data)
            st, body, h = cl.get(cl.chunk_target(path), headers={"transfer-type": "chunked"})
            c.eq(st, 200, f"E6 {key}: status")
            c.bytes_eq(body, data, f"E6 {key}")
            c.eq(h.get("content-length"), str(n), f"E6 {key}: Content-Length")
            cases = [(0, n), (0, -1), (1, -1), (n // 3, n // 3 + 1), (max(n - 1, 0), 5),
                     (n, 10), (n + 100, -1), (0, 0), (P - 1, 2)]
            for off, ln in cases:
                want = data[off:] if ln < 0 else data[off:off + ln]
                st, body, h = cl.get(cl.range_target(path, off, ln))
                c.eq(st, 200, f"E5 {key} [{off},{ln}): status")
                c.bytes_eq(body, want, f"E5 {key} [{off},{ln})")
                c.eq(h.get("content-length"), str(len(want)), f"E5 {key} [{off},{ln}): C-L")
        st, body, h = cl.get(cl.chunk_target("file://wb/big.bin"), method="HEAD")
        c.eq((st, body, h.get("content-length")), (200, b"", str(len(files["big.bin"]))), "HEAD E6")
        st, _ = cl.json(cl.range_target("file://wb/missing", 0, 10))
        c.eq(st, 404, "E5 of a missing file")
        st, _ = cl.json(f"/v1/range/{path_id('file://wb/big.bin')}?ufsFullPath=file://wb/big.bin"
                        "&offset=x&length=1")
        c.eq(st, 400, "E5 with a bad offset")
        # A client that goes away in the middle of a whole-file read: the worker carries on.
        conn = http.client.HTTPConnection("127.0.0.1", wport, timeout=30)
        conn.request("GET", cl.chunk_target("file://wb/big.bin"))
        r = conn.getresponse()
        c.eq(r.read(1000).__len__(), 1000, "first bytes of an abandoned read")
        conn.close()
        st, body, _ = cl.get(cl.chunk_target("file://wb/big.bin"))
        c.bytes_eq(body, files["big.bin"], "E6 after an abandoned read")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "proxy exit code")


@test(timeout=300)
def worker_api_slow_and_parallel_readers(s, c):
    big = prng_bytes("wapi:slow", 6 * MiB + 3)
    root, px, wport = file_worker(s, "wapi-slow", {"big.bin": big})
    path = "file://wb/big.bin"
    cl = Client(wport)
    try:
        # A slow reader with a small receive window: back-pressure, not buffering.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * KiB)
        sock.connect(("127.0.0.1", wport))
        sock.sendall(f"GET {cl.chunk_target(path)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        got = b""
        sock.settimeout(30)
        while b"\r\n\r\n" not in got:
            got += sock.recv(4096)
        head, body = got.split(b"\r\n\r\n", 1)
        c.ok(f"Content-Length: {len(big)}".encode() in head, f"slow reader head {head!r}")
        rss0 = px.rss_kib()
        for _ in range(40):
            body += sock.recv(16 * KiB)
            time.sleep(0.005)
        rss1 = px.rss_kib()
        while len(body) < len(big):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            body += chunk
        sock.close()
        c.bytes_eq(body, big, "slow reader")
        if rss0 and rss1:
            c.ok(rss1 - rss0 < 4 * 1024 * 3, f"RSS grew {rss1 - rss0} KiB while the reader lagged")

        # Parallel readers of the same pages (single-flight inside route) and ranges.
        def one(i):
            w = Client(wport)
            try:
                off = (i * 977 * KiB) % len(big)
                st, b, _ = w.get(w.range_target(path, off, 2 * MiB))
                return st, b, big[off:off + 2 * MiB]
            finally:
                w.close()

        with concurrent.futures.ThreadPoolExecutor(12) as ex:
            for i, (st, b, want) in enumerate(ex.map(one, range(24))):
                c.eq(st, 200, f"parallel range {i}: status")
                c.bytes_eq(b, want, f"parallel range {i}")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "proxy exit code")


@test(timeout=300)
def worker_api_mid_stream_failure_closes(s, c):
    """The file changes under a whole-file read after the head went out: the worker closes the
    connection (the client sees fewer bytes than Content-Length), never a wrong or silently
    short 200; the next read gets the new file."""
    old = prng_bytes("wapi:victim", 32 * MiB)
    root, px, wport = file_worker(s, "wapi-victim", {"victim.bin": old})
    path = "file://wb/victim.bin"
    cl = Client(wport)
    try:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * KiB)
        sock.connect(("127.0.0.1", wport))
        sock.sendall(f"GET {cl.chunk_target(path)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sock.settimeout(30)
        got = b""
        while b"\r\n\r\n" not in got or len(got) < 100 * KiB:
            got += sock.recv(65536)
        head, body = got.split(b"\r\n\r\n", 1)
        c.ok(f"Content-Length: {len(old)}".encode() in head, f"head {head!r}")
        new = prng_bytes("wapi:victim2", 5 * MiB)
        tmp = os.path.join(root, "wb", "victim.tmp")
        with open(tmp, "wb") as f:
            f.write(new)
        os.replace(tmp, os.path.join(root, "wb", "victim.bin"))
        while True:
            try:
                chunk = sock.recv(1 << 20)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            body += chunk
        sock.close()
        c.ok(len(body) < len(old), f"the read was cut short ({len(body)} of {len(old)} bytes)")
        c.bytes_eq(body, old[:len(body)], "what came before the cut is the old file")
        st, b, _ = cl.get(cl.chunk_target(path))
        c.eq(st, 200, "next read: status")
        c.bytes_eq(b, new, "next read: the new file")
        c.ok("failed mid-response" in open(px.log, errors="replace").read(),
             "the cut is logged")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "proxy exit code")


# --------------------------------------------------------------------------------------------
# E1, E2, E8, errors


def check_info(c, entry, what, typ, name, ufs_path, length=None, mtime_ms=None):
    if not c.ok(isinstance(entry, dict), f"{what}: not an object: {entry!r}"):
        return
    for k in ALL_KEYS:
        c.ok(k in entry, f"{what}: key {k} missing")
    types = {"mType": str, "mName": str, "mPath": str, "mUfsPath": str, "mHumanReadableFileSize": str,
             "mLength": int, "mLastModificationTimeMs": int, "mCompleted": bool, "mPersisted": bool}
    for k, t in types.items():
        c.ok(isinstance(entry.get(k), t), f"{what}: {k} is {type(entry.get(k)).__name__}")
    c.eq(entry.get("mType"), typ, f"{what}: mType")
    c.eq(entry.get("mName"), name, f"{what}: mName")
    c.eq(entry.get("mUfsPath"), ufs_path, f"{what}: mUfsPath")
    c.eq(entry.get("mPath"), "/" + ufs_path.split("://", 1)[1], f"{what}: mPath")
    if length is not None:
        c.eq(entry.get("mLength"), length, f"{what}: mLength")
    if mtime_ms is not None:
        c.eq(entry.get("mLastModificationTimeMs"), mtime_ms, f"{what}: mLastModificationTimeMs")


MTIME = 1614834367  # 2021-03-04T05:06:07Z


@test(timeout=300)
def worker_api_info_files_node(s, c):
    files = {
        "top.txt": b"hello",
        "dir/a.bin": prng_bytes("a", 77542),
        "dir/sub/deep.bin": prng_bytes("deep", 1000),
        "dir/sp ace+plus.bin": b"x" * 10,
    }
    root, px, wport = file_worker(s, "wapi-info", files)
    for key in files:
        os.utime(os.path.join(root, "wb", key), (MTIME, MTIME))
    cl = Client(wport)
    try:
        st, body = cl.info("file://wb/dir/a.bin")
        c.eq(st, 200, "E2 file: status")
        if c.ok(isinstance(body, list) and len(body) == 1, f"E2 file: {body!r}"):
            check_info(c, body[0], "E2 file", "file", "a.bin", "file://wb/dir/a.bin", 77542,
                       MTIME * 1000)
            c.eq(body[0]["mHumanReadableFileSize"], "75.72KB", "E2 human readable size")
        for p in ("file://wb/dir", "file://wb/dir/"):
            st, body = cl.info(p)
            c.eq(st, 200, f"E2 {p}: status")
            if c.ok(isinstance(body, list) and len(body) == 1, f"E2 {p}: {body!r}"):
                check_info(c, body[0], f"E2 {p}", "directory", "dir", "file://wb/dir", 0)
        for p in ("file://wb", "file://wb/", "file://wempty"):
            st, body = cl.info(p)
            c.eq(st, 200, f"E2 root {p}: status")
            if c.ok(isinstance(body, list) and len(body) == 1, f"E2 {p}: {body!r}"):
                b = p.split("://")[1].rstrip("/")
                check_info(c, body[0], f"E2 {p}", "directory", b, f"file://{b}", 0)
        for p in ("file://wb/nope", "file://wb/di", "file://nobucket", "file://nobucket/x"):
            st, body = cl.info(p)
            c.eq(st, 404, f"E2 missing {p}")
            c.ok(isinstance(body, dict) and "message" in body, f"E2 missing {p}: {body!r}")
        st, _ = cl.info("s3://wb/top.txt")
        c.eq(st, 400, "E2 of another scheme")
        st, _ = cl.json("/v1/info")
        c.eq(st, 400, "E2 without path")

        # E1
        st, body = cl.files("file://wb/dir")
        c.eq(st, 200, "E1 dir: status")
        if c.ok(isinstance(body, list), f"E1 dir: {body!r}"):
            got = {e.get("mName"): e for e in body}
            c.eq(sorted(got), sorted(["a.bin", "sp ace+plus.bin", "sub"]), "E1 dir: names")
            if "a.bin" in got:
                check_info(c, got["a.bin"], "E1 a.bin", "file", "a.bin", "file://wb/dir/a.bin",
                           77542, MTIME * 1000)
            if "sub" in got:
                check_info(c, got["sub"], "E1 sub", "directory", "sub", "file://wb/dir/sub", 0)
            if "sp ace+plus.bin" in got:
                check_info(c, got["sp ace+plus.bin"], "E1 sp ace", "file", "sp ace+plus.bin",
                           "file://wb/dir/sp ace+plus.bin", 10)
        for p in ("file://wb", "file://wb/"):
            st, body = cl.files(p)
            c.eq(st, 200, f"E1 {p}: status")
            if c.ok(isinstance(body, list), f"E1 {p}: {body!r}"):
                c.eq(sorted((e["mName"], e["mType"]) for e in body),
                     [("dir", "directory"), ("top.txt", "file")], f"E1 {p}: entries")
        st, body = cl.files("file://wb/top.txt")
        c.eq(st, 200, "E1 of a file")
        if c.ok(isinstance(body, list) and len(body) == 1, f"E1 of a file: {body!r}"):
            check_info(c, body[0], "E1 of a file", "file", "top.txt", "file://wb/top.txt", 5)
        st, body = cl.files("file://wempty")
        c.eq((st, body), (200, []), "E1 of an empty bucket")
        for p in ("file://wb/nope", "file://nobucket"):
            st, _ = cl.files(p)
            c.eq(st, 404, f"E1 missing {p}")
        # E3c for a file learnt from the listing (alluxiofs 1.0.3-jun lists, then reads by id).
        st, body, _ = cl.get(cl.page_target("file://wb/dir/sub/deep.bin", 0, with_path=False))
        c.eq(st, 404, "E3c before deep.bin was listed")
        cl.files("file://wb/dir/sub")
        st, body, _ = cl.get(cl.page_target("file://wb/dir/sub/deep.bin", 0, with_path=False))
        c.eq(st, 200, "E3c after the listing")
        c.bytes_eq(body, files["dir/sub/deep.bin"], "E3c after the listing")

        # E8 without a ring: this worker.
        st, body = cl.node("file://wb/dir/a.bin")
        c.eq((st, body), (200, {"Host": "127.0.0.1", "HttpServerPort": wport}), "E8 without ring")
        st, body = cl.node("file://wb/50% off/naïve.txt")
        c.eq(st, 200, "E8 of an odd path")

        # Methods, unknown endpoints, writes.
        pid = path_id("file://wb/top.txt")
        st, body, h = cl.get(f"/v1/file/{pid}/page/0?ufsFullPath=file://wb/top.txt", method="POST",
                             body=b"x" * 100, headers={"Content-Type": "application/octet-stream"})
        c.eq(st, 403, "E4 page write with worker_page_writes off")
        st, _, h = cl.get(f"/v1/chunk/{pid}?ufsFullPath=file://wb/top.txt&chunkSize=1", method="POST",
                          body=b"x")
        c.eq(st, 501, "E7 chunk write")
        for target in (f"/v1/mkdir/{pid}?ufsFullPath=file://wb/x", "/v1/ufsInfo",
                       f"/v1/head/{pid}?ufsFullPath=file://wb/top.txt&numOfBytes=2"):
            st, body = cl.json(target)
            c.eq(st, 501, f"{target}: not implemented")
            c.ok(isinstance(body, dict) and "message" in body, f"{target}: {body!r}")
        st, _, h = cl.get("/v1/info?path=file%3A%2F%2Fwb", method="DELETE")
        c.eq(st, 405, "DELETE /v1/info")
        c.ok("GET" in h.get("allow", ""), "405 names the methods allowed")
        st, _, _ = cl.get("/v1/load?path=file%3A%2F%2Fwb&opType=submit", method="HEAD")
        c.eq(st, 405, "HEAD /v1/load")
        st, _, _ = cl.get("/wb/top.txt")
        c.eq(st, 404, "outside /v1/")
        st, _, _ = cl.get("/v1/file/xyz/page/0")
        c.eq(st, 400, "bad path id")
        st, _, _ = cl.get(f"/v1/file/{pid}/page/0?ufsFullPath=file://wb/other.txt")
        c.eq(st, 400, "ufsFullPath that does not hash to the id")
        # Pipelined requests on one connection are answered in order.
        conn = http.client.HTTPConnection("127.0.0.1", wport, timeout=30)
        conn.connect()
        reqs = "".join(f"GET {cl.page_target('file://wb/top.txt', 0, i, 1)} HTTP/1.1\r\n"
                       f"Host: x\r\n\r\n" for i in range(5))
        conn.sock.sendall(reqs.encode())
        got = b""
        conn.sock.settimeout(10)
        while got.count(b"HTTP/1.1 200") < 5 or not got.endswith(b"o"):
            chunk = conn.sock.recv(65536)
            if not chunk:
                break
            got += chunk
        conn.close()
        bodies = [part.split(b"\r\n\r\n", 1)[1][:1] for part in got.split(b"HTTP/1.1 ")[1:]]
        c.eq(bodies, [b"h", b"e", b"l", b"l", b"o"], "pipelined page reads")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "proxy exit code")


@test(timeout=120)
def worker_api_node_names_the_ring_owner(s, c):
    hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    hport = free_port()
    root = os.path.join(s.workdir, "wapi-node-ufs")
    write_tree(root, "wb", {"f": b"x"})
    px, wport = start_worker(s, "wapi-node", proxy_sets_file(
        root, worker_hosts=",".join(hosts), worker_http_port=str(hport)))
    ring = Ring([(host_identity(h), h) for h in hosts], 5)
    cl = Client(wport)
    try:
        seen = set()
        for i in range(40):
            path = f"file://wb/obj-{i}.bin"
            st, body = cl.node(path)
            want = {"Host": ring.owner(path), "HttpServerPort": hport}
            c.eq((st, body), (200, want), f"E8 {path}")
            seen.add(ring.owner(path))
        c.eq(len(seen), 3, "the paths tried are spread over every worker")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "proxy exit code")


# --------------------------------------------------------------------------------------------
# Paths with spaces, unicode, + & = % (section 3.3)

SPECIAL = {
    # name: recoverable from a raw-style target
    "sp ace.bin": True,
    "unicodé-ファイル-😀.bin": True,
    "plus+sign+.bin": True,
    "eq=ual&amp.bin": True,
    "q?x=1&offset=2.bin": True,
    "50% off.bin": True,
    "pct%20literal%.bin": True,
    "lit%2Fpercent.bin": True,
    "tilde~star*paren()'!$,;:@.bin": True,
    "x%41y.bin": False,  # %41 is sent as A
    "a%20b c.bin": False,  # a literal escape next to an encoded space
    "hash#frag.bin": False,  # nothing from '#' on is sent
}


@test(timeout=300)
def worker_api_special_paths(s, c):
    files = {f"special/{n}": prng_bytes("wapi-special:" + n, 70000 + 13 * i)
             for i, n in enumerate(SPECIAL)}
    root, px, wport = file_worker(s, "wapi-special", files)
    cl = Client(wport)
    try:
        for name, ok in SPECIAL.items():
            key = f"special/{name}"
            path = f"file://wb/{key}"
            data = files[key]
            st, body, _ = cl.get(cl.page_target(path, 1, 10, 100))
            if not ok:
                c.eq(st, 400, f"{name!r}: unrecoverable path -> 400")
                st, _, _ = cl.get(cl.range_target(path, 0, 10))
                c.eq(st, 400, f"{name!r}: unrecoverable path, E5 -> 400")
            else:
                c.eq(st, 200, f"{name!r}: E3 status")
                c.bytes_eq(body, data[P + 10:P + 110], f"{name!r}: E3")
                st, body, _ = cl.get(cl.page_target(path, 0))
                c.bytes_eq(body, data[:P], f"{name!r}: E3b")
                st, body, _ = cl.get(cl.range_target(path, 5, 70000))
                c.bytes_eq(body, data[5:70005], f"{name!r}: E5")
                st, body, _ = cl.get(cl.chunk_target(path))
                c.bytes_eq(body, data, f"{name!r}: E6")
                st, body, _ = cl.get(cl.page_target(path, 1, with_path=False))
                c.bytes_eq(body, data[P:2 * P], f"{name!r}: E3c after E3")
            # Form style carries every path.
            st, body = cl.info(path)
            c.eq(st, 200, f"{name!r}: E2 status")
            if c.ok(isinstance(body, list) and body, f"{name!r}: E2 {body!r}"):
                check_info(c, body[0], f"E2 {name!r}", "file", name, path, len(data))
        st, body = cl.files("file://wb/special")
        c.eq(st, 200, "E1 special")
        if c.ok(isinstance(body, list), f"E1 special: {body!r}"):
            c.eq(sorted(e.get("mName") for e in body), sorted(SPECIAL), "E1 special: names")
            c.eq(sorted(e.get("mUfsPath") for e in body),
                 sorted(f"file://wb/special/{n}" for n in SPECIAL), "E1 special: mUfsPath")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "proxy exit code")


# --------------------------------------------------------------------------------------------
# Load jobs (E9-E11)

MSG_FILES = re.compile(r"Files processed: (\d+)")
MSG_BYTES = re.compile(r"Bytes loaded: (\d+)")


def wait_job(c, cl, path, what, timeout=120):
    deadline = time.monotonic() + timeout
    body = None
    while time.monotonic() < deadline:
        st, body = cl.load(path, "progress")
        if st != 200 or not isinstance(body, dict):
            c.fail(f"{what}: progress HTTP {st} {body!r}")
            return None
        if body.get("jobState") != "RUNNING":
            return body
        time.sleep(0.05)
    c.fail(f"{what}: still running after {timeout}s: {body!r}")
    return body


@test(timeout=300)
def worker_api_load_jobs(s, c):
    files = {f"ds/part-{i:03d}.bin": prng_bytes(f"wapi-load:{i}", 100000 + 7919 * i)
             for i in range(40)}
    files["ds/sub/x y+z.bin"] = prng_bytes("wapi-load:sub", 3 * P + 5)
    files["ds/empty"] = b""
    files["other/f.bin"] = prng_bytes("wapi-load:other", 1000)
    total = sum(len(v) for k, v in files.items() if k.startswith("ds/"))
    ds_files = sum(1 for k in files if k.startswith("ds/"))
    root, px, wport = file_worker(s, "wapi-load", files, memory_store_size="256MB",
                                  metadata_cache_ttl="1h")
    cl = Client(wport)
    try:
        # Unknown jobs.
        st, body = cl.load("file://wb/ds", "progress")
        c.eq(st, 200, "progress of an unknown job: status")
        if c.ok(isinstance(body, dict), f"unknown progress: {body!r}"):
            c.eq(body.get("jobState"), "FAILED", "unknown job: jobState")
            c.ok("cannot be found" in body.get("message", ""), f"unknown job: {body!r}")
        st, body = cl.load("file://wb/ds", "stop")
        c.eq((st, isinstance(body, dict) and body.get("success")), (200, False), "stop unknown job")
        st, body = cl.json("/v1/load?" + form({"path": "file://wb/ds", "opType": "bogus"}))
        c.eq(st, 400, "bad opType")

        # Submit, then poll until SUCCEEDED.
        st, body = cl.load("file://wb/ds", "submit")
        c.eq(st, 200, "submit: status")
        if c.ok(isinstance(body, dict), f"submit: {body!r}"):
            c.eq(body.get("success"), True, "submit: success")
            c.ok(body.get("jobId"), "submit: jobId")
            c.eq(body.get("path"), "file://wb/ds", "submit: path")
            c.ok("message" in body, "submit: message")
        # A second submit while it runs is refused; once it is over it starts a new job.
        st, again = cl.load("file://wb/ds", "submit")
        prog = wait_job(c, cl, "file://wb/ds", "load ds")
        if prog:
            c.eq(prog.get("jobState"), "SUCCEEDED", f"load ds: final state {prog!r}")
            c.eq(prog.get("path"), "file://wb/ds", "progress: path")
            msg = prog.get("message", "")
            m1, m2 = MSG_FILES.search(msg), MSG_BYTES.search(msg)
            c.ok(m1 and int(m1.group(1)) == ds_files, f"files processed ({ds_files}): {msg!r}")
            c.ok(m2 and int(m2.group(1)) == total, f"bytes loaded ({total}): {msg!r}")
            props = prog.get("respProperties")
            c.ok(isinstance(props, dict) and props.get("Job State") == "SUCCEEDED",
                 f"respProperties: {props!r}")
        c.ok(isinstance(again, dict) and isinstance(again.get("success"), bool),
             f"second submit: {again!r}")

        # The pages are cached: delete the UFS files, every page still reads from the worker.
        shutil.rmtree(os.path.join(root, "wb", "ds"))
        for key, data in files.items():
            if not key.startswith("ds/"):
                continue
            path = f"file://wb/{key}"
            c.bytes_eq(cl.read_all_v103(path), data, f"after delete: whole {key}")
            st, body, _ = cl.get(cl.range_target(path, 3, 2 * P))
            c.bytes_eq(body, data[3:3 + 2 * P], f"after delete: E5 {key}")

        # A file path loads just that file; a missing path fails.
        st, body = cl.load("file://wb/other/f.bin", "submit")
        c.eq(isinstance(body, dict) and body.get("success"), True, "submit a single file")
        prog = wait_job(c, cl, "file://wb/other/f.bin", "load one file")
        if prog:
            c.eq(prog.get("jobState"), "SUCCEEDED", f"one file: {prog!r}")
            m1 = MSG_FILES.search(prog.get("message", ""))
            c.ok(m1 and int(m1.group(1)) == 1, f"one file: {prog.get('message')!r}")
        st, body = cl.load("file://wb/nothing-here", "submit")
        prog = wait_job(c, cl, "file://wb/nothing-here", "load a missing path")
        if prog:
            c.eq(prog.get("jobState"), "FAILED", f"missing path: {prog!r}")
        # A bucket root loads the whole bucket.
        st, body = cl.load("file://wb", "submit")
        prog = wait_job(c, cl, "file://wb", "load bucket root")
        if prog:
            c.eq(prog.get("jobState"), "SUCCEEDED", f"bucket root: {prog!r}")

        # Stop: a bigger job, stopped right after the submit.
        big = {f"big/f{i}.bin": prng_bytes(f"wapi-big:{i}", 2 * MiB) for i in range(8)}
        write_tree(root, "wb", big)
        st, body = cl.load("file://wb/big", "submit")
        c.eq(isinstance(body, dict) and body.get("success"), True, "submit big")
        st, stop = cl.load("file://wb/big", "stop")
        c.ok(isinstance(stop, dict) and isinstance(stop.get("success"), bool), f"stop: {stop!r}")
        c.eq(stop.get("path") if isinstance(stop, dict) else None, "file://wb/big", "stop: path")
        prog = wait_job(c, cl, "file://wb/big", "stopped job")
        if prog and isinstance(stop, dict):
            want = "STOPPED" if stop.get("success") else "SUCCEEDED"
            c.eq(prog.get("jobState"), want, f"after stop ({stop!r}): {prog!r}")
            time.sleep(0.3)
            st, prog2 = cl.load("file://wb/big", "progress")
            c.eq(prog2.get("jobState"), want, "the state stays")
        st, body = cl.load("file://wb/big", "stop")
        c.eq(isinstance(body, dict) and body.get("success"), False, "stop a finished job")
        # After it ended, a submit starts a new job that finishes.
        st, body = cl.load("file://wb/big", "submit")
        c.eq(isinstance(body, dict) and body.get("success"), True, "resubmit after stop")
        prog = wait_job(c, cl, "file://wb/big", "resubmitted job")
        if prog:
            c.eq(prog.get("jobState"), "SUCCEEDED", f"resubmitted: {prog!r}")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "proxy exit code")


# --------------------------------------------------------------------------------------------
# Over the S3 UFS (moto)


@test(timeout=300)
def worker_api_over_s3_ufs(s, c):
    moto = s.moto()
    s3 = moto.client()
    bucket = "wapi-s3"
    s3.create_bucket(Bucket=bucket)
    objs = {"d/a.bin": prng_bytes("wapi-s3:a", 3 * P + 11),
            "d/sp ace+plus&eq=.bin": prng_bytes("wapi-s3:sp", 2000),
            "d/unicodé-😀.bin": prng_bytes("wapi-s3:u", P),
            "d/sub/deep.bin": prng_bytes("wapi-s3:deep", 10)}
    for k, v in objs.items():
        s3.put_object(Bucket=bucket, Key=k, Body=v)
    px, wport = start_worker(s, "wapi-s3", s.s3_sets(moto, memory_store_size="64MB"))
    cl = Client(wport)
    try:
        for key, data in objs.items():
            path = f"s3://{bucket}/{key}"
            c.bytes_eq(cl.read_all_v103(path), data, f"s3 whole {key}")
            st, body, _ = cl.get(cl.page_target(path, 0, 5, 17))
            c.bytes_eq(body, data[5:22], f"s3 E3 {key}")
            st, body, _ = cl.get(cl.chunk_target(path))
            c.bytes_eq(body, data, f"s3 E6 {key}")
        st, body = cl.files(f"s3://{bucket}/d")
        c.eq(st, 200, "s3 E1")
        if c.ok(isinstance(body, list), f"s3 E1: {body!r}"):
            c.eq(sorted((e.get("mName"), e.get("mType"), e.get("mLength")) for e in body),
                 sorted([("a.bin", "file", 3 * P + 11), ("sp ace+plus&eq=.bin", "file", 2000),
                         ("unicodé-😀.bin", "file", P), ("sub", "directory", 0)]),
                 "s3 E1 entries")
            for e in body:
                check_info(c, e, f"s3 E1 {e.get('mName')}", e.get("mType"), e.get("mName"),
                           f"s3://{bucket}/d/{e.get('mName')}")
        st, body = cl.info(f"s3://{bucket}/d/sp ace+plus&eq=.bin")
        c.eq(st, 200, "s3 E2")
        st, body = cl.info(f"s3://{bucket}/d/sub")
        c.eq((st, body[0].get("mType") if isinstance(body, list) and body else None),
             (200, "directory"), "s3 E2 of a directory")
        st, body = cl.load(f"s3://{bucket}/d", "submit")
        c.eq(isinstance(body, dict) and body.get("success"), True, "s3 load submit")
        prog = wait_job(c, cl, f"s3://{bucket}/d", "s3 load")
        if prog:
            c.eq(prog.get("jobState"), "SUCCEEDED", f"s3 load: {prog!r}")
        st, _ = cl.json(cl.page_target(f"file://{bucket}/d/a.bin", 0))
        c.eq(st, 400, "file:// path on an S3 UFS")
        st, _ = cl.json(cl.page_target(f"s3://{bucket}/d/missing", 0))
        c.eq(st, 404, "missing object on S3")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "proxy exit code")


# --------------------------------------------------------------------------------------------
# Page writes (E4)


@test(timeout=120)
def worker_api_page_writes(s, c):
    """E4 is refused (403) unless worker_page_writes is on. On: a body of the wrong length is
    400, an oversized one 413, a chunked body is taken like a plain one, and a written page is
    what later reads of that page get: with the metadata cached and the UFS file deleted, the
    written page still reads back while an unwritten page of the same file fails."""
    data = prng_bytes("wapi-e4", 3 * P + 100)
    root, px, wport = file_worker(s, "wapi-e4-off", {"w/f.bin": data})
    cl = Client(wport)
    path = "file://wb/w/f.bin"
    try:
        st, body, _ = cl.get(cl.page_target(path, 1), method="POST", body=data[P:2 * P])
        c.eq(st, 403, f"writes off: {body[:200]!r}")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "proxy exit code")

    root, px, wport = file_worker(s, "wapi-e4-on", {"w/f.bin": data}, worker_page_writes="true",
                                  metadata_cache_ttl="120s")
    cl = Client(wport)
    try:
        st, info = cl.info(path)  # metadata now cached for the deletes below
        c.eq(st, 200, "E2 before the writes")
        st, body, _ = cl.get(cl.page_target(path, 1), method="POST", body=data[P:2 * P - 1])
        c.eq(st, 400, f"one byte short: {body[:200]!r}")
        st, body, _ = cl.get(cl.page_target(path, 9), method="POST", body=b"x")
        c.eq(st, 400, f"page past the end: {body[:200]!r}")
        st, body, _ = cl.get(cl.page_target(path, 1), method="POST", body=b"y" * (P + 1))
        c.eq(st, 413, f"larger than a page: {body[:200]!r}")
        st, body, _ = cl.get(cl.page_target(path, 1), method="POST", body=data[P:2 * P],
                             headers={"Content-Type": "application/octet-stream"})
        c.eq(st, 200, f"page 1 written: {body[:200]!r}")
        c.eq(json.loads(body or b"{}").get("path_id"), path_id(path), "answer names the path id")
        # The last (short) page, sent chunked.
        conn = http.client.HTTPConnection("127.0.0.1", wport, timeout=30)
        try:
            tail = data[3 * P:]
            conn.request("POST", cl.page_target(path, 3), body=iter([tail[:40], tail[40:]]),
                         headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
            r = conn.getresponse()
            c.eq(r.status, 200, f"chunked last page: {r.read()[:200]!r}")
        finally:
            conn.close()
        os.unlink(os.path.join(root, "wb", "w", "f.bin"))
        st, body, _ = cl.get(cl.page_target(path, 1))
        c.eq(st, 200, "written page 1 after the UFS file is gone")
        c.bytes_eq(body, data[P:2 * P], "written page 1")
        st, body, _ = cl.get(cl.page_target(path, 3))
        c.bytes_eq(body, data[3 * P:], "written last page")
        st, body, _ = cl.get(cl.page_target(path, 2))
        c.ok(st != 200, f"an unwritten page of the deleted file is not served ({st})")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "proxy exit code")


@test(timeout=120)
def worker_api_worker_role_alone(s, c):
    """roles: worker alone: no S3 front (so no client credentials are needed, even with auth
    sigv4), the worker API serves pages, and SIGTERM exits 0."""
    root = os.path.join(s.workdir, "wapi-alone-ufs")
    shutil.rmtree(root, ignore_errors=True)
    data = prng_bytes("wapi-alone", 2 * P + 5)
    write_tree(root, "wb", {"a/b.bin": data})
    wport = free_port()
    sets = proxy_sets_file(root)
    sets.update({"roles": "worker", "auth": "sigv4",
                 "options.alluxio.worker.http.server.port": str(wport),
                 "options.alluxio.worker.bind.host": "127.0.0.1",
                 "options.alluxio.worker.hostname": "127.0.0.1", K_PAGE: "64KB"})
    sets.pop("credentials", None)
    # The harness waits on its listen port: here the worker's (the S3 front does not listen).
    px = harness.Proxy(s.binary, s.workdir, "wapi-alone", sets).start(port=wport)
    cl = Client(wport)
    try:
        c.bytes_eq(cl.read_all_v103("file://wb/a/b.bin"), data, "pages from a worker-only process")
        st, body = cl.info("file://wb/a/b.bin")
        c.eq(st, 200, f"E2: {body!r}")
        c.ok("listening on" not in read_all(px.log), "no S3 listener was started")
    finally:
        cl.close()
        c.eq(px.stop(), 0, "exit code")
