#!/usr/bin/env python3
"""
alluxio_worker: a small Alluxio worker for the cluster tests (Python 3 stdlib only).

It speaks the page API of ALLUXIO-PROTOCOL.md section 3 (E3 / E3b / E3c):

  GET /v1/file/{path_id}/page/{i}[?offset=O&length=L][&ufsFullPath=P]

and serves the bytes from a local tree: the UFS path <scheme>://bucket/key is the file
ROOT/bucket/key (the proxy's file UFS lays data out the same way; for s3:// paths the tests write
the same bytes to moto and to ROOT). ufsFullPath is recovered as section 3.3 says: the value
after `ufsFullPath=` up to `&offset=`, `&length=`, `&chunkSize=` or the end; candidates are the
value percent-decoded (RFC 3986: `+` stays `+`) and the value as received; the first whose SHA-256
is path_id wins, else 400. Without ufsFullPath (E3c) the path_id is looked up among the files
under ROOT (for each scheme of --schemes).

Page i is bytes [i*S, min((i+1)*S, size)); offset/length clip within the page; a page at or
past the end of the file is 200 with an empty body; a missing file is 404 {"message": ...}.
HTTP/1.1 keep-alive, Content-Length on every answer.

Test controls (never subject to the fault mode):
  GET  /_stats      {"total", "pages": [{"path_id", "path", "page", "count"}], "mode", ...}
  POST /_reset      forget the counts
  POST /_mode?m=M[&delay_ms=N]   M one of: ok, stall, short, long, garbage, error, close
  POST /_register / POST /_unregister   (with --etcd) put the etcd entry / revoke its lease

Fault modes (page requests only; every page request is counted first):
  ok       the right bytes
  stall    read the request, never answer, keep the socket open (until the peer closes it)
  short    one byte less than the right answer (Content-Length matches what is sent)
  long     one byte more
  garbage  the right length, every byte XOR 0xFF (undetectable by a client)
  error    500 {"message": ...}
  close    close the connection without answering

etcd (optional): --etcd HOST:PORT --cluster NAME --identity HEX32 --host ADDR --lease-ttl 2
[--etcd-user USER:PASSWORD]: grants a lease, puts /ServiceDiscovery/<cluster>/worker-<uuid> with
the compact JSON of section 1.2 attached to it, and keeps it alive with an `etcdctl lease
keep-alive` child (its PID is written to --keepalive-pidfile). If that child exits (the lease
was lost, etcd restarted...) the entry is put again under a new lease. SIGTERM revokes the lease.

Prints "READY <port>" on stdout once it listens (and is registered, with --etcd).
"""

import argparse
import ctypes
import hashlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_to_bytes

MODES = ("ok", "stall", "short", "long", "garbage", "error", "close")
PAGE_RE = re.compile(r"^/v1/file/([0-9a-fA-F]{64})/page/([0-9]+)$")
UFS_MARK = "ufsFullPath="
UFS_ENDS = ("&offset=", "&length=", "&chunkSize=")


# --------------------------------------------------------------------------------------------
# Request-target parsing (section 3.3)


def split_query(query):
    """(params, raw ufsFullPath value or None). query is the text after the first '?'."""
    params = {}
    ufs = None
    if query.startswith(UFS_MARK):
        start = 0
    else:
        i = query.find("&" + UFS_MARK)
        start = i + 1 if i >= 0 else -1
    if start >= 0:
        before = query[: start - 1] if start > 0 else ""
        rest = query[start + len(UFS_MARK) :]
        end = len(rest)
        for t in UFS_ENDS:
            j = rest.find(t)
            if 0 <= j < end:
                end = j
        ufs = rest[:end]
        parts = [before, rest[end + 1 :]]
    else:
        parts = [query]
    for p in parts:
        for kv in p.split("&"):
            if kv:
                k, _, v = kv.partition("=")
                params.setdefault(k, v)
    return params, ufs


def recover_path(raw, pid):
    """The UFS path whose SHA-256 is pid, from the raw ufsFullPath value; None if none.
    raw is the target as http.server gives it (bytes read as latin-1)."""
    raw_b = raw.encode("latin-1", "replace")
    cands = []
    try:
        cands.append(unquote_to_bytes(raw_b).decode("utf-8"))
    except UnicodeDecodeError:
        pass
    try:
        cands.append(raw_b.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    for c in cands:
        if hashlib.sha256(c.encode("utf-8")).hexdigest() == pid:
            return c
    return None


# --------------------------------------------------------------------------------------------
# Server state


class State:
    def __init__(self, args):
        self.root = os.path.abspath(args.root)
        self.page_size = args.page_size
        self.schemes = [s for s in args.schemes.split(",") if s]
        self.verbose = args.verbose
        self.lock = threading.Lock()
        self.mode = args.mode
        self.delay = args.delay_ms / 1000.0
        self.counts = {}  # (path_id, path or None, page) -> n
        self.total = 0
        self.index = {}  # path_id -> path (E3c)
        self.stopping = threading.Event()
        self.registrar = None

    def count(self, pid, path, page):
        with self.lock:
            k = (pid, path, page)
            self.counts[k] = self.counts.get(k, 0) + 1
            self.total += 1

    def stats(self):
        with self.lock:
            pages = [
                {"path_id": pid, "path": p, "page": i, "count": n}
                for (pid, p, i), n in sorted(self.counts.items(), key=lambda kv: (kv[0][0], kv[0][2]))
            ]
            out = {"total": self.total, "pages": pages, "mode": self.mode,
                   "delay_ms": int(self.delay * 1000), "page_size": self.page_size}
        if self.registrar is not None:
            out.update(self.registrar.info())
        return out

    def reset(self):
        with self.lock:
            self.counts = {}
            self.total = 0

    def local_path(self, ufs_path):
        scheme, sep, rest = ufs_path.partition("://")
        if not sep or not scheme or not rest:
            return None
        p = os.path.normpath(os.path.join(self.root, rest))
        if not p.startswith(self.root + os.sep):
            return None
        return p

    def lookup(self, pid):
        """E3c: the path of a file under root whose <scheme>://rel hashes to pid."""
        with self.lock:
            if pid in self.index:
                return self.index[pid]
        idx = {}
        for d, _, files in os.walk(self.root):
            for f in files:
                rel = os.path.relpath(os.path.join(d, f), self.root).replace(os.sep, "/")
                for s in self.schemes:
                    p = f"{s}://{rel}"
                    try:
                        idx[hashlib.sha256(p.encode("utf-8")).hexdigest()] = p
                    except UnicodeEncodeError:
                        pass
        with self.lock:
            self.index = idx
        return idx.get(pid)


# --------------------------------------------------------------------------------------------
# etcd registration (through etcdctl; all children spawned from one long-lived thread)


def _pdeathsig():
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Registrar(threading.Thread):
    def __init__(self, args, port):
        super().__init__(daemon=True, name="registrar")
        self.endpoint = args.etcd if "://" in args.etcd else f"http://{args.etcd}"
        self.user = args.etcd_user
        self.ttl = args.lease_ttl
        self.pidfile = args.keepalive_pidfile
        ident = args.identity or uuid.uuid4().hex
        self.identity = bytes.fromhex(ident).hex()
        u = self.identity
        uid = f"{u[0:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}" if len(u) == 32 else u
        self.key = f"/ServiceDiscovery/{args.cluster}/worker-{uid}"
        self.value = json.dumps(
            {
                "Identity": {"version": 1, "identifier": self.identity},
                "WorkerNetAddress": {
                    "Host": args.host,
                    "ContainerHost": "",
                    "RpcPort": 29999,
                    "DataPort": 29997,
                    "SecureRpcPort": 0,
                    "NettyDataPort": 29997,
                    "WebPort": 30000,
                    "DomainSocketPath": "",
                    "HttpServerPort": port,
                },
            },
            separators=(",", ":"),
        )
        self.want = False  # desired state: registered
        self.lease = None
        self.keepalive = None
        self.last_error = ""
        self.registrations = 0
        self.cmds = []
        self.cv = threading.Condition()

    def etcdctl(self, *argv, timeout=10):
        cmd = ["etcdctl", f"--endpoints={self.endpoint}", "--dial-timeout=1s", "--command-timeout=3s"]
        if self.user:
            cmd.append(f"--user={self.user}")
        env = dict(os.environ, ETCDCTL_API="3")
        return subprocess.run(cmd + list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=env, timeout=timeout)

    def info(self):
        ka = self.keepalive
        return {"identity": self.identity, "etcd_key": self.key, "registered": self.lease is not None,
                "lease": self.lease, "keepalive_pid": ka.pid if ka is not None and ka.poll() is None else None,
                "registrations": self.registrations, "etcd_error": self.last_error}

    # ---- run in this thread only
    def _register(self):
        self._drop(revoke=True)
        try:
            r = self.etcdctl("lease", "grant", str(self.ttl))
        except subprocess.TimeoutExpired:
            self.last_error = "lease grant timed out"
            return False
        m = re.search(rb"lease ([0-9a-f]+) granted", r.stdout)
        if r.returncode != 0 or not m:
            self.last_error = (r.stderr or r.stdout).decode("utf-8", "replace").strip()
            return False
        lease = m[1].decode()
        ka = subprocess.Popen(
            ["etcdctl", f"--endpoints={self.endpoint}", "--dial-timeout=1s"]
            + ([f"--user={self.user}"] if self.user else [])
            + ["lease", "keep-alive", lease],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            env=dict(os.environ, ETCDCTL_API="3"), preexec_fn=_pdeathsig,
        )
        try:
            r = self.etcdctl("put", f"--lease={lease}", self.key, self.value)
        except subprocess.TimeoutExpired:
            r = None
        if r is None or r.returncode != 0:
            self.last_error = "put failed: " + ((r.stderr or b"").decode("utf-8", "replace").strip() if r else "timeout")
            self._kill(ka)
            try:
                self.etcdctl("lease", "revoke", lease, timeout=5)
            except subprocess.TimeoutExpired:
                pass
            return False
        self.lease = lease
        self.keepalive = ka
        self.registrations += 1
        self.last_error = ""
        if self.pidfile:
            with open(self.pidfile + ".tmp", "w") as f:
                f.write(f"{ka.pid}\n")
            os.replace(self.pidfile + ".tmp", self.pidfile)
        return True

    @staticmethod
    def _kill(p):
        if p is not None and p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=5)

    def _drop(self, revoke):
        self._kill(self.keepalive)
        self.keepalive = None
        if self.lease is not None and revoke:
            try:
                self.etcdctl("lease", "revoke", self.lease, timeout=3)
            except subprocess.TimeoutExpired:
                pass
        self.lease = None

    def run(self):
        while True:
            with self.cv:
                if not self.cmds:
                    self.cv.wait(0.3)
                cmds, self.cmds = self.cmds, []
            for name, done, result in cmds:
                if name == "register":
                    self.want = True
                    result.append(self._register())
                elif name in ("unregister", "stop"):
                    self.want = False
                    self._drop(revoke=True)
                    result.append(True)
                done.set()
                if name == "stop":
                    return
            # Lost the keep-alive (lease expired, etcd gone): put the entry again when possible.
            if self.want and (self.keepalive is None or self.keepalive.poll() is not None):
                self.lease = None
                self._register()

    def call(self, name, timeout=30):
        done, result = threading.Event(), []
        with self.cv:
            self.cmds.append((name, done, result))
            self.cv.notify()
        if not done.wait(timeout):
            return False
        return result[0]


# --------------------------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "alluxio-test-worker/1"

    def log_message(self, fmt, *args):
        if self.server.state.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def send_body(self, status, body, ctype="application/octet-stream"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def send_json(self, status, obj):
        self.send_body(status, json.dumps(obj).encode(), "application/json")

    def drain_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 0:
            self.rfile.read(n)

    def do_POST(self):
        self.drain_body()
        st = self.server.state
        path, _, query = self.path.partition("?")
        if path == "/_reset":
            st.reset()
            return self.send_json(200, {"ok": True})
        if path == "/_mode":
            params, _ = split_query(query)
            m = params.get("m", "")
            if m not in MODES:
                return self.send_json(400, {"message": f"unknown mode {m!r}"})
            with st.lock:
                st.mode = m
                if "delay_ms" in params:
                    st.delay = int(params["delay_ms"]) / 1000.0
            return self.send_json(200, {"mode": m})
        if path in ("/_register", "/_unregister"):
            if st.registrar is None:
                return self.send_json(400, {"message": "not started with --etcd"})
            ok = st.registrar.call(path[2:])
            return self.send_json(200 if ok else 500, st.registrar.info())
        self.send_json(404, {"message": f"no such endpoint: POST {path}"})

    def do_GET(self):
        st = self.server.state
        path, _, query = self.path.partition("?")
        if path == "/_stats":
            return self.send_json(200, st.stats())
        m = PAGE_RE.match(path)
        if not m:
            return self.send_json(404, {"message": f"no such endpoint: GET {path}"})
        pid = m[1].lower()
        page = int(m[2])
        params, raw = split_query(query)
        if raw is not None:
            ufs = recover_path(raw, pid)
        else:
            ufs = st.lookup(pid)
        st.count(pid, ufs, page)
        with st.lock:
            mode, delay = st.mode, st.delay
        if delay:
            time.sleep(delay)
        if mode == "stall":
            return self.stall()
        if mode == "close":
            self.close_connection = True
            return None
        if mode == "error":
            return self.send_json(500, {"message": "injected error"})
        if ufs is None:
            what = "ufsFullPath does not hash to the path id" if raw is not None else "unknown path id"
            return self.send_json(400, {"message": what})
        local = st.local_path(ufs)
        if local is None:
            return self.send_json(400, {"message": f"bad UFS path {ufs!r}"})
        try:
            off = int(params["offset"]) if "offset" in params else 0
            length = int(params["length"]) if "length" in params else -1
        except ValueError:
            return self.send_json(400, {"message": "bad offset or length"})
        if off < 0:
            return self.send_json(400, {"message": "negative offset"})
        S = st.page_size
        try:
            with open(local, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                pstart = page * S
                pend = min(pstart + S, size)
                a = pstart + min(off, S)
                b = pend if length < 0 else min(pend, a + length)
                body = b""
                nxt = b""
                if a < b:
                    f.seek(a)
                    body = f.read(b - a)
                    nxt = f.read(1)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return self.send_json(404, {"message": f"{ufs} does not exist"})
        if mode == "short" and body:
            body = body[:-1]
        elif mode == "long":
            body = body + bytes([(nxt[0] ^ 0x5A) if nxt else 0x5A])
        elif mode == "garbage":
            body = bytes(x ^ 0xFF for x in body)
        self.send_body(200, body)

    def stall(self):
        """Never answer; return when the peer closes the connection (or we stop)."""
        sock = self.connection
        st = self.server.state
        while not st.stopping.is_set():
            try:
                r, _, _ = select.select([sock], [], [], 0.2)
                if r:
                    if not sock.recv(1, socket.MSG_PEEK):
                        break
                    time.sleep(0.2)  # a pipelined request: keep stalling
            except (OSError, ValueError):
                break
        self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def parse_size(s):
    m = re.fullmatch(r"\s*([0-9]+)\s*([kmg]?)(i?b)?\s*", s, re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {s!r}")
    return int(m[1]) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[m[2].lower()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1", help="address registered in etcd (and bound)")
    ap.add_argument("--bind", help="address to listen on (default: --host)")
    ap.add_argument("--page-size", type=parse_size, default=1024 * 1024)
    ap.add_argument("--mode", choices=MODES, default="ok")
    ap.add_argument("--delay-ms", type=int, default=0, help="sleep before answering a page")
    ap.add_argument("--schemes", default="file,s3", help="schemes tried for E3c lookups")
    ap.add_argument("--etcd", help="HOST:PORT of etcd: register there")
    ap.add_argument("--etcd-user", help="USER:PASSWORD for etcd")
    ap.add_argument("--cluster", default="DefaultAlluxioCluster")
    ap.add_argument("--identity", help="32 hex digits (default: a random UUID)")
    ap.add_argument("--lease-ttl", type=int, default=2)
    ap.add_argument("--keepalive-pidfile")
    ap.add_argument("--register-later", action="store_true", help="with --etcd: wait for POST /_register")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.identity:
        try:
            bytes.fromhex(args.identity)
        except ValueError:
            ap.error("--identity must be hex")

    state = State(args)
    server = Server((args.bind or args.host, args.port), Handler)
    server.state = state
    port = server.server_address[1]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    if args.etcd:
        state.registrar = Registrar(args, port)
        state.registrar.start()
        if not args.register_later and not state.registrar.call("register"):
            print(f"registration failed: {state.registrar.last_error}", file=sys.stderr, flush=True)
            state.registrar.call("stop")
            os._exit(2)
    sys.stderr.write(f"worker listening on {args.bind or args.host}:{port} page size {args.page_size}"
                     f" mode {args.mode}\n")
    sys.stderr.flush()
    print(f"READY {port}", flush=True)
    while not stop.wait(0.5):
        pass
    state.stopping.set()
    if state.registrar is not None:
        state.registrar.call("stop", timeout=10)
    server.shutdown()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
