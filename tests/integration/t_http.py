"""The HTTP/1.1 server with raw sockets: keep-alive, pipelining, byte-at-a-time requests, size
limits (431/414), timeouts, Expect: 100-continue, chunked bodies, SIGTERM drain, max_connections."""

import os
import signal
import socket
import threading
import time

from fixtures import BUCKET
from harness import (
    MiB,
    Resp,
    TestFailure,
    check_error,
    quote_key,
    sign,
    test,
)


def build(port, method, path, query="", headers=None, body=b"", signed=True, version="HTTP/1.1",
          extra=None):
    host = f"127.0.0.1:{port}"
    hdrs = sign(method, host, path, query, headers or {}, body) if signed else [("Host", host)] + list(
        (headers or {}).items()
    )
    lines = [f"{method} {path}{'?' + query if query else ''} {version}"]
    lines += [f"{k}: {v}" for k, v in hdrs]
    lines += [f"{k}: {v}" for k, v in (extra or [])]
    if body and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in hdrs + (extra or [])):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


class RawConn:
    def __init__(self, port, timeout=15.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout

    def send(self, data):
        self.sock.sendall(data)

    def _more(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def _take(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_response(self, head=False, skip_1xx=True):
        """One response (status, headers, body). head: a response to HEAD (no body)."""
        while True:
            while b"\r\n\r\n" not in self.buf:
                self._more()
            raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = raw.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ", 2)
            status = int(parts[1])
            headers = []
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                headers.append((k.strip(), v.strip()))
            if 100 <= status < 200 and skip_1xx:
                continue
            break
        r = Resp(status, parts[2] if len(parts) > 2 else "", headers, b"")
        if head or status in (204, 304) or 100 <= status < 200:
            return r
        if "chunked" in (r.h("Transfer-Encoding") or "").lower():
            body = []
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line() != b"":
                        pass
                    break
                body.append(self._take(size))
                self._take(2)
            r.body = b"".join(body)
        elif r.h("Content-Length") is not None:
            r.body = self._take(int(r.h("Content-Length")))
        else:
            try:
                while True:
                    self._more()
            except EOFError:
                pass
            r.body, self.buf = self.buf, b""
        return r

    def closed_within(self, secs):
        """True if the peer closes (EOF or reset) within secs; bytes it sent meanwhile are kept."""
        deadline = time.monotonic() + secs
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def obj_path(obj):
    return f"/{obj.bucket}/{quote_key(obj.key)}"


@test()
def http_keep_alive(s, c):
    px = s.proxy("p64")
    data = s.data()
    objs = [data.objects[k] for k in ("meta/plain", "sizes/p64k/P+1", "special/sp ace.txt", "sizes/p64k/0")]
    conn = RawConn(px.port)
    try:
        for i in range(3):
            for obj in objs:
                conn.send(build(px.port, "GET", obj_path(obj)))
                r = conn.read_response()
                what = f"round {i} GET {obj.key}"
                c.eq(r.status, 200, f"{what}: status")
                c.bytes_eq(r.body, obj.data, what)
                c.ok((r.h("Connection") or "").lower() != "close", f"{what}: Connection: close")
            conn.send(build(px.port, "HEAD", obj_path(objs[1])))
            r = conn.read_response(head=True)
            c.eq(r.h("Content-Length"), str(objs[1].size), f"round {i} HEAD Content-Length")
            conn.send(build(px.port, "GET", f"/{BUCKET}", "list-type=2&max-keys=2&prefix=meta%2F"))
            r = conn.read_response()
            c.eq(r.status, 200, f"round {i} list status")
            conn.send(build(px.port, "GET", f"/{BUCKET}/no-such-key"))
            r = conn.read_response()
            c.eq(r.status, 404, f"round {i} 404 on a kept-alive connection")
    finally:
        conn.close()
    # Connection: close and HTTP/1.0 end the connection after the response
    for version, extra in (("HTTP/1.1", [("Connection", "close")]), ("HTTP/1.0", [])):
        conn = RawConn(px.port)
        try:
            conn.send(build(px.port, "GET", obj_path(objs[0]), version=version, extra=extra))
            r = conn.read_response()
            c.eq(r.status, 200, f"{version} {extra}: status")
            c.bytes_eq(r.body, objs[0].data, f"{version} {extra}: body")
            c.ok(conn.closed_within(5), f"{version} {extra}: connection not closed after the response")
        finally:
            conn.close()


@test()
def http_pipelining(s, c):
    """Several requests in one send (GET, HEAD, ranged GET, 404, list): answers in order."""
    px = s.proxy("p64")
    d = s.data().objects
    a, b, big = d["sizes/p64k/3.5P"], d["meta/plain"], d["big/rand64m"]
    reqs = [
        ("GET", obj_path(a), "", {}, lambda r: (r.status == 200 and r.body == a.data)),
        ("HEAD", obj_path(b), "", {}, lambda r: (r.status == 200 and r.h("Content-Length") == str(b.size))),
        ("GET", obj_path(big), "", {"Range": "bytes=1000-300000"},
         lambda r: (r.status == 206 and r.body == big.data[1000:300001])),
        ("GET", f"/{BUCKET}/no-such", "", {}, lambda r: r.status == 404),
        ("GET", obj_path(b), "", {"Range": "bytes=-10"}, lambda r: (r.status == 206 and r.body == b.data[-10:])),
        ("GET", f"/{BUCKET}", "list-type=2&prefix=meta%2F", {}, lambda r: r.status == 200 and b"meta/plain" in r.body),
        ("GET", obj_path(a), "", {}, lambda r: (r.status == 200 and r.body == a.data)),
    ]
    for rounds in (1, 2):
        conn = RawConn(px.port)
        try:
            payload = b"".join(build(px.port, m, p, q, h) for m, p, q, h, _ in reqs * rounds)
            conn.send(payload)
            for i, (m, p, q, h, ok) in enumerate(reqs * rounds):
                r = conn.read_response(head=(m == "HEAD"))
                c.ok(ok(r), f"pipelined #{i} {m} {p} {h}: {r} {r.h('Content-Range')}")
        finally:
            conn.close()


@test()
def http_one_byte_at_a_time(s, c):
    px = s.proxy("p64")
    obj = s.data().objects["special/unicodé-ファイル-😀.bin"]
    conn = RawConn(px.port)
    try:
        for rng in ("bytes=3-700", None):
            req = build(px.port, "GET", obj_path(obj), headers={"Range": rng} if rng else {})
            for i in range(len(req)):
                conn.send(req[i : i + 1])
                time.sleep(0.001)
            r = conn.read_response()
            if rng:
                c.eq(r.status, 206, "byte-at-a-time ranged GET status")
                c.bytes_eq(r.body, obj.data[3:701], "byte-at-a-time ranged GET body")
            else:
                c.eq(r.status, 200, "byte-at-a-time GET status")
                c.bytes_eq(r.body, obj.data, "byte-at-a-time GET body")
        # a split exactly inside "\r\n\r\n" and inside the request line, with pauses
        req = build(px.port, "GET", obj_path(obj))
        cut = req.index(b"\r\n\r\n") + 2
        for piece in (req[:5], req[5:cut], req[cut : cut + 1], req[cut + 1 :]):
            conn.send(piece)
            time.sleep(0.15)
        r = conn.read_response()
        c.eq(r.status, 200, "split request status")
        c.bytes_eq(r.body, obj.data, "split request body")
    finally:
        conn.close()


@test()
def http_limits_431_414_400(s, c):
    px = s.proxy("p64")
    obj = s.data().objects["meta/plain"]
    cases = [
        ("header block > 16 KiB", build(px.port, "GET", obj_path(obj), extra=[("X-Pad", "a" * 17000)]), 431),
        (
            "many headers totalling > 16 KiB",
            build(px.port, "GET", obj_path(obj), extra=[(f"X-H{i}", "v" * 100) for i in range(200)]),
            431,
        ),
        ("request line > 8 KiB", build(px.port, "GET", f"/{BUCKET}/" + "a" * 9000, signed=False), 414),
        ("garbage request line", b"THIS IS NOT HTTP\r\n\r\n", 400),
        ("bad version", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", (400, 505)),
    ]
    for what, payload, want in cases:
        conn = RawConn(px.port)
        try:
            try:
                conn.send(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may stop reading once it knows the answer
            try:
                r = conn.read_response()
            except (EOFError, ConnectionResetError) as e:
                c.fail(f"{what}: no response ({e})")
                continue
            wants = want if isinstance(want, tuple) else (want,)
            c.ok(r.status in wants, f"{what}: status {r.status}, want {want}")
        finally:
            conn.close()
    # the server is still fine
    conn = RawConn(px.port)
    try:
        conn.send(build(px.port, "GET", obj_path(obj)))
        c.eq(conn.read_response().body, obj.data, "GET after the limit tests")
    finally:
        conn.close()


@test()
def http_expect_100_continue(s, c):
    """A PUT with Expect: 100-continue gets its final 501 without the body ever being sent."""
    px = s.proxy("p64")
    s.data()
    conn = RawConn(px.port)
    try:
        hdrs = {"Expect": "100-continue", "Content-Length": str(10 * MiB),
                "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
        conn.send(build(px.port, "PUT", f"/{BUCKET}/expect-object", headers=hdrs))
        conn.sock.settimeout(10)
        try:
            r = conn.read_response()
        except socket.timeout:
            raise TestFailure("no final response within 10 s without the body (server waits for it)")
        check_error(c, r, 501, "NotImplemented", "PUT with Expect: 100-continue")
    finally:
        conn.close()


@test()
def http_chunked_request_body(s, c):
    """A chunked POST body is consumed (sent in pieces) and answered; the connection stays usable."""
    px = s.proxy("p64")
    obj = s.data().objects["meta/plain"]
    body = b"<Delete><Object><Key>meta/plain</Key></Object></Delete>"
    conn = RawConn(px.port)
    try:
        head = build(
            px.port,
            "POST",
            f"/{BUCKET}",
            "delete",
            headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
            extra=[("Transfer-Encoding", "chunked")],
        )
        conn.send(head)
        time.sleep(0.05)
        for i in range(0, len(body), 10):
            piece = body[i : i + 10]
            conn.send(b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n")
            time.sleep(0.02)
        conn.send(b"0\r\nx-trailer: 1\r\n\r\n")
        r = conn.read_response()
        check_error(c, r, 501, "NotImplemented", "chunked POST ?delete")
        if (r.h("Connection") or "").lower() != "close":
            conn.send(build(px.port, "GET", obj_path(obj)))
            r = conn.read_response()
            c.eq(r.status, 200, "GET after a chunked body on the same connection")
            c.bytes_eq(r.body, obj.data, "GET after a chunked body")
    finally:
        conn.close()


@test()
def http_idle_and_header_timeouts(s, c):
    s.data()
    sets = s.s3_sets(s.moto(), idle_timeout="1s", header_timeout="2s", body_timeout="2s")
    px = s.new_proxy("timeouts", sets)
    obj = s.data().objects["meta/plain"]
    try:
        # idle keep-alive connection: closed after idle_timeout
        conn = RawConn(px.port)
        conn.send(build(px.port, "GET", obj_path(obj)))
        c.eq(conn.read_response().body, obj.data, "first response")
        t0 = time.monotonic()
        closed = conn.closed_within(6)
        c.ok(closed, "idle keep-alive connection still open 6 s after idle_timeout=1s")
        if closed:
            c.ok(time.monotonic() - t0 >= 0.5, f"closed too early ({time.monotonic() - t0:.2f}s)")
        conn.close()
        # a connection that never sends anything
        conn = RawConn(px.port)
        c.ok(conn.closed_within(8), "silent connection never closed")
        conn.close()
        # a head that never completes: 408 or close
        conn = RawConn(px.port)
        conn.send(b"GET /itest/meta/plain HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        closed = conn.closed_within(8)
        c.ok(closed, "incomplete head: connection not closed within 8 s (header_timeout=2s)")
        if conn.buf:
            c.ok(conn.buf.startswith(b"HTTP/1.1 408"), f"incomplete head answered {conn.buf[:40]!r}")
        conn.close()
        # a trickling head (one byte per 0.5 s) is still bounded by header_timeout
        conn = RawConn(px.port)
        t0 = time.monotonic()
        closed = False
        for ch in b"GET /itest/meta/plain HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40:
            try:
                conn.send(bytes([ch]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if conn.closed_within(0.5):
                closed = True
                break
        c.ok(closed, "slowloris head not cut off by header_timeout=2s within 20 s")
        conn.close()
        # the proxy still serves
        conn = RawConn(px.port)
        conn.send(build(px.port, "GET", obj_path(obj)))
        c.eq(conn.read_response().body, obj.data, "response after the timeout tests")
        conn.close()
    finally:
        c.eq(px.stop(), 0, "timeouts proxy exit code")


@test()
def http_max_connections(s, c):
    """Past max_connections extra connections are refused cleanly; the first ones still work."""
    s.data()
    sets = s.s3_sets(s.moto(), max_connections="4", threads="1")
    px = s.new_proxy("maxconn", sets)
    obj = s.data().objects["meta/plain"]
    conns = []
    try:
        for i in range(4):
            conn = RawConn(px.port)
            conn.send(build(px.port, "GET", obj_path(obj)))
            c.eq(conn.read_response().body, obj.data, f"connection {i}")
            conns.append(conn)
        for i in range(2):
            try:
                extra = RawConn(px.port, timeout=5)
            except OSError:
                continue  # refused outright: fine
            refused = False
            try:
                extra.send(build(px.port, "GET", obj_path(obj)))
                extra.sock.settimeout(5)
                r = extra.read_response()
                refused = r.status == 503
                c.ok(refused, f"extra connection {i} answered {r.status}, want 503 or close")
            except (EOFError, ConnectionResetError, BrokenPipeError):
                refused = True
            except socket.timeout:
                c.fail(f"extra connection {i}: neither answered nor closed within 5 s")
            extra.close()
        for i, conn in enumerate(conns):
            conn.send(build(px.port, "GET", obj_path(obj)))
            c.eq(conn.read_response().body, obj.data, f"connection {i} after the refusals")
        conns.pop().close()
        time.sleep(0.5)
        conn = RawConn(px.port)
        conn.send(build(px.port, "GET", obj_path(obj)))
        c.eq(conn.read_response().body, obj.data, "a new connection once one closed")
        conns.append(conn)
    finally:
        for conn in conns:
            conn.close()
        c.eq(px.stop(), 0, "maxconn proxy exit code")


@test()
def http_sigterm_drains_streaming_get(s, c):
    """SIGTERM while a big GET streams: the GET completes, new connections are refused, exit 0."""
    s.data()
    sets = s.s3_sets(s.moto(), shutdown_timeout="30s")
    px = s.new_proxy("sigterm", sets)
    obj = s.data().objects["big/rand64m"]
    conn = RawConn(px.port, timeout=30)
    try:
        conn.send(build(px.port, "GET", obj_path(obj)))
        while b"\r\n\r\n" not in conn.buf or len(conn.buf) < MiB:
            conn._more()
        t0 = time.monotonic()
        os.kill(px.proc.pid, signal.SIGTERM)
        time.sleep(0.5)
        try:
            late = socket.create_connection(("127.0.0.1", px.port), timeout=2)
            late.sendall(build(px.port, "GET", obj_path(obj)))
            late.settimeout(3)
            got = late.recv(100)
            c.ok(got == b"" or got.startswith(b"HTTP/1.1 503"), f"new connection after SIGTERM served: {got[:30]!r}")
            late.close()
        except OSError:
            pass  # refused: fine
        try:
            r = conn.read_response()
            c.eq(r.status, 200, "draining GET status")
            c.bytes_eq(r.body, obj.data, "draining GET body")
        except (EOFError, ConnectionResetError) as e:
            c.fail(f"the in-flight GET was cut at {len(conn.buf)} bytes: {e}")
        try:
            code = px.proc.wait(timeout=40)
        except Exception:
            code = "still running 40 s after SIGTERM"
        c.eq(code, 0, "exit code after SIGTERM")
        c.ok(time.monotonic() - t0 < 35, "drain took longer than shutdown_timeout")
    finally:
        conn.close()
        px.stop()


@test()
def http_concurrent_clients(s, c):
    """16 clients reading the same uncached and cached objects at once: all byte-exact."""
    s.data()
    sets = s.s3_sets(s.moto(), **{"options.alluxio.worker.page.store.page.size": "64KB"})
    px = s.new_proxy("concurrent", sets)
    d = s.data().objects
    objs = [d["big/rand64m"], d["sizes/p64k/3.5P"], d["sizes/p1m/3.5P"]]
    errors = []

    def worker(i):
        try:
            conn = RawConn(px.port, timeout=60)
            for j in range(3):
                obj = objs[(i + j) % len(objs)]
                rng = None if obj.size < 10 * MiB else (i * 997 * 1024, i * 997 * 1024 + 3 * MiB)
                hdrs = {"Range": f"bytes={rng[0]}-{rng[1]}"} if rng else {}
                conn.send(build(px.port, "GET", obj_path(obj), headers=hdrs))
                r = conn.read_response()
                want = obj.data[rng[0] : rng[1] + 1] if rng else obj.data
                if r.body != want:
                    errors.append(f"client {i} {obj.key} {hdrs}: {r.status}, {len(r.body)} bytes")
            conn.close()
        except Exception as e:
            errors.append(f"client {i}: {e!r}")

    try:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        c.eq(errors, [], "concurrent readers")
    finally:
        c.eq(px.stop(), 0, "concurrent proxy exit code")
