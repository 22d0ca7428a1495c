#!/usr/bin/env python3
"""
counting_proxy: an HTTP/1.1 keep-alive pass-through that counts what it forwards.

Put it between the proxies under test and moto (target_options.endpoint_url = this one): every
request is forwarded byte for byte to the upstream (request line, headers, Host included, and
body), every response byte for byte back, one upstream connection per client connection. The
proxies sign SigV4 for the host they talk to (this pass-through's host:port); moto does not check
signatures by default, so the kept Host header does not matter to it.

It counts every request it forwards by (method, path, query, Range header), with the status codes
the upstream answered. That is the tests' independent count of UFS reads.

Control (never forwarded):
  GET  /__counts          {"requests": [{"method", "path", "query", "range", "count",
                            "statuses": {"200": n}}...], "total": n, "connections": n}
  POST /__counts/reset    clear the counts (answers the counts it cleared)

Run: counting_proxy.py --upstream 127.0.0.1:PORT [--port 0] [--host 127.0.0.1]; it prints
"READY <port>" on stdout once it listens. CountingProxy (below) is the test fixture: start it as a
subprocess on a free port, read and reset the counts, stop it by PID.
"""

import argparse
import json
import socket
import sys
import threading

CONTROL = "/__counts"
MAX_HEAD = 256 * 1024
CHUNK = 256 * 1024


class BadRequest(Exception):
    pass


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            old = getattr(self, "by_key", {})
            self.by_key = {}  # (method, path, query, range) -> {"count": n, "statuses": {}}
            self.total = 0
            self.connections = 0
            return old

    def add(self, key):
        with self.lock:
            e = self.by_key.setdefault(key, {"count": 0, "statuses": {}})
            e["count"] += 1
            self.total += 1

    def status(self, key, status):
        with self.lock:
            e = self.by_key.get(key)
            if e is not None:
                s = str(status)
                e["statuses"][s] = e["statuses"].get(s, 0) + 1

    def conn(self):
        with self.lock:
            self.connections += 1

    def snapshot(self, by_key=None):
        with self.lock:
            src = self.by_key if by_key is None else by_key
            reqs = [
                {"method": k[0], "path": k[1], "query": k[2], "range": k[3], "count": v["count"],
                 "statuses": dict(v["statuses"])}
                for k, v in sorted(src.items(), key=lambda kv: tuple(x or "" for x in kv[0]))
            ]
            return {"requests": reqs, "total": sum(r["count"] for r in reqs),
                    "connections": self.connections}


COUNTS = Counts()


def read_head(f):
    """Read one message head (start line + headers) from a buffered reader: raw bytes, or b""
    at a clean EOF before any byte."""
    out = bytearray()
    while True:
        line = f.readline(MAX_HEAD + 1)
        if not line:
            if not out:
                return b""
            raise BadRequest("EOF inside a message head")
        if not out and line in (b"\r\n", b"\n"):
            continue  # stray CRLF between messages (RFC 9112 2.2)
        out += line
        if len(out) > MAX_HEAD:
            raise BadRequest("message head too large")
        if line in (b"\r\n", b"\n"):
            return bytes(out)


def parse_head(raw):
    lines = raw.decode("latin-1").split("\n")
    start = lines[0].rstrip("\r")
    headers = []
    for ln in lines[1:]:
        ln = ln.rstrip("\r")
        if not ln:
            continue
        name, sep, value = ln.partition(":")
        if not sep:
            raise BadRequest(f"bad header line {ln!r}")
        headers.append((name.strip().lower(), value.strip()))
    return start, headers


def hget(headers, name):
    for k, v in headers:
        if k == name:
            return v
    return None


def is_chunked(headers):
    te = hget(headers, "transfer-encoding")
    return te is not None and te.lower().split(",")[-1].strip() == "chunked"


def read_exact(f, n):
    out = bytearray()
    while len(out) < n:
        b = f.read(min(CHUNK, n - len(out)))
        if not b:
            raise BadRequest(f"EOF after {len(out)} of {n} body bytes")
        out += b
    return bytes(out)


def read_chunked_raw(f):
    """The raw bytes of a chunked body (chunks, last chunk, trailers), unchanged."""
    out = bytearray()
    while True:
        line = f.readline(MAX_HEAD)
        if not line:
            raise BadRequest("EOF in a chunked body")
        out += line
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:
                t = f.readline(MAX_HEAD)
                if not t:
                    raise BadRequest("EOF in chunked trailers")
                out += t
                if t in (b"\r\n", b"\n"):
                    return bytes(out)
        out += read_exact(f, size + 2)


def relay_exact(src, dst, n):
    left = n
    while left > 0:
        b = src.read(min(CHUNK, left))
        if not b:
            raise ConnectionError(f"upstream EOF with {left} body bytes left")
        dst.sendall(b)
        left -= len(b)


def relay_chunked(src, dst):
    while True:
        line = src.readline(MAX_HEAD)
        if not line:
            raise ConnectionError("upstream EOF in a chunked body")
        dst.sendall(line)
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:
                t = src.readline(MAX_HEAD)
                if not t:
                    raise ConnectionError("upstream EOF in chunked trailers")
                dst.sendall(t)
                if t in (b"\r\n", b"\n"):
                    return
        relay_exact(src, dst, size + 2)


def relay_to_eof(src, dst):
    while True:
        b = src.read1(CHUNK) if hasattr(src, "read1") else src.read(CHUNK)
        if not b:
            return
        dst.sendall(b)


def wants_close(version, headers):
    conn = (hget(headers, "connection") or "").lower()
    tokens = [t.strip() for t in conn.split(",")]
    if "close" in tokens:
        return True
    return version == "HTTP/1.0" and "keep-alive" not in tokens


class Upstream:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.sock = None
        self.f = None

    def connect(self):
        self.close()
        self.sock = socket.create_connection((self.host, self.port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb", buffering=CHUNK)

    def close(self):
        for x in (self.f, self.sock):
            try:
                if x is not None:
                    x.close()
            except OSError:
                pass
        self.sock = self.f = None


def send_local(csock, status, obj):
    body = json.dumps(obj, indent=1).encode()
    head = (f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    csock.sendall(head + body)


def handle(csock, upstream_addr):
    COUNTS.conn()
    csock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cf = csock.makefile("rb", buffering=CHUNK)
    up = Upstream(*upstream_addr)
    try:
        while True:
            head = read_head(cf)
            if not head:
                return
            start, headers = parse_head(head)
            parts = start.split(" ")
            if len(parts) != 3:
                raise BadRequest(f"bad request line {start!r}")
            method, target, version = parts
            # The request body, exactly as sent.
            if is_chunked(headers):
                expect = (hget(headers, "expect") or "").lower() == "100-continue"
                if expect:
                    csock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = read_chunked_raw(cf)
            else:
                n = int(hget(headers, "content-length") or "0")
                expect = (hget(headers, "expect") or "").lower() == "100-continue"
                if expect and n > 0:
                    csock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = read_exact(cf, n) if n else b""
            path, _, query = target.partition("?")
            if path == CONTROL or path.startswith(CONTROL + "/"):
                if method == "GET" and path == CONTROL:
                    send_local(csock, 200, COUNTS.snapshot())
                elif method == "POST" and path == CONTROL + "/reset":
                    old = COUNTS.reset()
                    send_local(csock, 200, COUNTS.snapshot(old))
                else:
                    send_local(csock, 404, {"message": f"unknown control {method} {path}"})
                if wants_close(version, headers):
                    return
                continue
            key = (method, path, query, hget(headers, "range"))
            COUNTS.add(key)
            # Forward; a stale keep-alive upstream connection (closed by the upstream between
            # requests) is retried once on a fresh one, before any response byte came back.
            status_line = None
            for attempt in (1, 2):
                try:
                    if up.sock is None:
                        up.connect()
                    up.sock.sendall(head + body)
                    rhead = read_head(up.f)
                    while rhead:
                        rstart, rheaders = parse_head(rhead)
                        rstatus = int(rstart.split(" ")[1])
                        if 100 <= rstatus < 200 and rstatus != 101:
                            rhead = read_head(up.f)  # interim answer: the client got its own 100
                            continue
                        break
                    if not rhead:
                        raise ConnectionError("upstream closed before answering")
                    status_line = rstart
                    break
                except (ConnectionError, OSError):
                    up.close()
                    if attempt == 2:
                        raise
            rversion = status_line.split(" ")[0]
            COUNTS.status(key, rstatus)
            csock.sendall(rhead)
            close_after = wants_close(version, headers) or wants_close(rversion, rheaders)
            if method == "HEAD" or rstatus in (204, 304):
                pass
            elif is_chunked(rheaders):
                relay_chunked(up.f, csock)
            elif hget(rheaders, "content-length") is not None:
                relay_exact(up.f, csock, int(hget(rheaders, "content-length")))
            else:
                relay_to_eof(up.f, csock)  # close-delimited body
                close_after = True
            if close_after:
                up.close()
                return
    except (BadRequest, ConnectionError, OSError, ValueError) as e:
        print(f"counting_proxy: connection ended: {e!r}", file=sys.stderr, flush=True)
    finally:
        up.close()
        try:
            cf.close()
            csock.close()
        except OSError:
            pass


def serve(host, port, upstream):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(256)
    print(f"READY {ls.getsockname()[1]}", flush=True)
    while True:
        csock, _ = ls.accept()
        threading.Thread(target=handle, args=(csock, upstream), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--upstream", required=True, help="host:port of the server to forward to")
    a = ap.parse_args()
    h, _, p = a.upstream.rpartition(":")
    serve(a.host, a.port, (h, int(p)))


# --------------------------------------------------------------------------------------------
# The test fixture


class CountingProxy:
    """counting_proxy.py as a subprocess in front of upstream_port (moto) on a free port."""

    def __init__(self, workdir, upstream_port, name="counter"):
        self.workdir = workdir
        self.upstream_port = upstream_port
        self.name = name
        self.proc = None
        self.port = None
        self.log = None

    def start(self, timeout=20.0):
        import os
        import re
        import subprocess
        import time

        from harness import kill_proc, tail, track

        self.log = os.path.join(self.workdir, f"{self.name}.log")
        self.proc = track(subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--upstream", f"127.0.0.1:{self.upstream_port}"],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log, "rb") as f:
                m = re.search(rb"^READY (\d+)$", f.read(), re.M)
            if m:
                self.port = int(m[1])
                self.endpoint = f"http://127.0.0.1:{self.port}"
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        code = kill_proc(self.proc)
        raise RuntimeError(f"counting proxy did not start (exit {code}):\n{tail(self.log)}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        from harness import kill_proc

        if self.proc is not None:
            return kill_proc(self.proc)
        return None

    def _call(self, method, target):
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, target, body=b"" if method == "POST" else None)
            r = conn.getresponse()
            body = r.read()
        finally:
            conn.close()
        if r.status != 200:
            raise RuntimeError(f"counting proxy {method} {target}: {r.status} {body[:300]!r}")
        return json.loads(body)

    def counts(self):
        """The raw snapshot (see the module docstring)."""
        return self._call("GET", CONTROL)

    def reset(self):
        return self._call("POST", CONTROL + "/reset")

    def gets(self, snap=None):
        """{(path, Range header or None): count} of the GET requests (any query string folded
        in the path as "path?query")."""
        snap = snap or self.counts()
        out = {}
        for r in snap["requests"]:
            if r["method"] != "GET":
                continue
            p = r["path"] + (("?" + r["query"]) if r["query"] else "")
            k = (p, r["range"])
            out[k] = out.get(k, 0) + r["count"]
        return out


if __name__ == "__main__":
    main()
