"""
cluster_fixtures: processes for the cluster tests.

  Etcd    /usr/bin/etcd on free loopback client + peer ports with its own data dir under the
          test workdir; start / stop (SIGTERM) / kill (SIGKILL) by PID, restart on the same ports
          and data dir; put / get / get_prefix / delete / compact / lease / auth helpers through
          etcdctl (API v3).
  Worker  alluxio_worker.py (the test Alluxio worker): start / stop (SIGTERM: revokes its lease)
          / kill9 (the worker and its lease keep-alive: the lease lapses after its TTL) / mode /
          stats / reset / register / unregister; registered in an Etcd or not (static
          worker_hosts).

Every process is tracked by the harness (atexit safety net) and stopped by PID.
"""

import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

from alluxio_ring import Identity, host_identity
from harness import HERE, free_port, kill_proc, tail, track, wait_port

ETCD_BIN = "/usr/bin/etcd"
ETCDCTL_BIN = "/usr/bin/etcdctl"
WORKER_PY = os.path.join(HERE, "alluxio_worker.py")
DEFAULT_CLUSTER = "DefaultAlluxioCluster"


def have_etcd():
    return os.access(ETCD_BIN, os.X_OK) and os.access(ETCDCTL_BIN, os.X_OK)


class EtcdError(Exception):
    pass


class Etcd:
    """One single-member etcd. user/password: what etcdctl authenticates with (set by
    enable_auth)."""

    def __init__(self, workdir, name="etcd"):
        self.name = name
        self.client_port = free_port()
        self.peer_port = free_port()
        while self.peer_port == self.client_port:
            self.peer_port = free_port()
        self.data_dir = os.path.join(workdir, f"{name}-{self.client_port}.data")
        self.workdir = workdir
        self.proc = None
        self.log = None
        self.generation = 0
        self.user = None
        self.password = None
        self.endpoint = f"http://127.0.0.1:{self.client_port}"

    # ---- process
    def argv(self):
        c, p = self.client_port, self.peer_port
        return [
            ETCD_BIN,
            "--name", self.name,
            "--data-dir", self.data_dir,
            "--listen-client-urls", f"http://127.0.0.1:{c}",
            "--advertise-client-urls", f"http://127.0.0.1:{c}",
            "--listen-peer-urls", f"http://127.0.0.1:{p}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{p}",
            "--initial-cluster", f"{self.name}=http://127.0.0.1:{p}",
            "--initial-cluster-state", "new",
            "--logger", "zap",
            "--log-level", "warn",
        ]

    def start(self, timeout=20.0):
        self.generation += 1
        self.log = os.path.join(self.workdir, f"{self.name}-{self.client_port}-{self.generation}.log")
        self.proc = track(
            subprocess.Popen(self.argv(), stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        )
        deadline = time.monotonic() + timeout
        if not wait_port(self.client_port, self.proc, timeout):
            code = kill_proc(self.proc, signal.SIGKILL)
            raise EtcdError(f"etcd did not listen on {self.client_port} (exit {code}):\n{tail(self.log)}")
        while True:
            r = self.etcdctl("endpoint", "health", check=False, timeout=5)
            if r.returncode == 0:
                return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = (r.stdout + r.stderr).decode("utf-8", "replace")
                kill_proc(self.proc, signal.SIGKILL)
                raise EtcdError(f"etcd not healthy: {out}\n{tail(self.log)}")
            time.sleep(0.1)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            return kill_proc(self.proc, signal.SIGTERM, timeout=10)
        return None

    def kill(self):
        if self.proc is not None:
            return kill_proc(self.proc, signal.SIGKILL)
        return None

    def restart(self):
        self.stop()
        return self.start()

    # ---- etcdctl
    def etcdctl(self, *args, check=True, timeout=15, auth=True, input=None):
        argv = [ETCDCTL_BIN, f"--endpoints={self.endpoint}", "--dial-timeout=2s", "--command-timeout=5s"]
        if auth and self.user:
            argv.append(f"--user={self.user}:{self.password}")
        env = dict(os.environ, ETCDCTL_API="3")
        for k in ("ETCDCTL_ENDPOINTS", "ETCDCTL_USER", "ETCDCTL_PASSWORD"):
            env.pop(k, None)
        try:
            r = subprocess.run(argv + [str(a) for a in args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.PIPE if input else subprocess.DEVNULL,
                               input=input, env=env, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise EtcdError(f"etcdctl {' '.join(map(str, args))} timed out") from e
        if check and r.returncode != 0:
            raise EtcdError(f"etcdctl {' '.join(map(str, args))} exited {r.returncode}: "
                            f"{(r.stderr or r.stdout).decode('utf-8', 'replace').strip()}")
        return r

    def put(self, key, value, lease=None):
        args = ["put"] + ([f"--lease={lease}"] if lease else []) + ["--", key, value]
        self.etcdctl(*args)

    def _kvs(self, *args):
        r = self.etcdctl("get", "-w", "json", *args)
        j = json.loads(r.stdout)
        out = {}
        for kv in j.get("kvs", []) or []:
            out[base64.b64decode(kv["key"]).decode("utf-8")] = base64.b64decode(kv.get("value", "")).decode("utf-8")
        return out, j.get("header", {})

    def get(self, key):
        kvs, _ = self._kvs("--", key)
        return kvs.get(key)

    def get_prefix(self, prefix):
        kvs, _ = self._kvs("--prefix", "--", prefix)
        return kvs

    def revision(self):
        _, hdr = self._kvs("--", "/")
        return int(hdr.get("revision", 0))

    def delete(self, key, prefix=False):
        self.etcdctl("del", *(["--prefix"] if prefix else []), "--", key)

    def compact(self, rev=None):
        self.etcdctl("compaction", "--physical", rev if rev is not None else self.revision())

    def lease_grant(self, ttl):
        r = self.etcdctl("lease", "grant", ttl)
        m = re.search(rb"lease ([0-9a-f]+) granted", r.stdout)
        if not m:
            raise EtcdError(f"lease grant: {r.stdout!r}")
        return m[1].decode()

    def lease_revoke(self, lease):
        self.etcdctl("lease", "revoke", lease)

    def enable_auth(self, password, user="root"):
        """A root user with this password, auth on; etcdctl then authenticates as it."""
        self.etcdctl("user", "add", user, f"--new-user-password={password}", auth=False)
        if user != "root":
            self.etcdctl("role", "add", "root", check=False, auth=False)
            self.etcdctl("user", "grant-role", user, "root", auth=False)
        self.etcdctl("auth", "enable", auth=False)
        self.user, self.password = user, password

    def worker_prefix(self, cluster=DEFAULT_CLUSTER):
        return f"/ServiceDiscovery/{cluster}/"


def worker_value(identity_hex, host, http_port):
    """The etcd value of section 1.2, compact."""
    return json.dumps(
        {
            "Identity": {"version": 1, "identifier": identity_hex},
            "WorkerNetAddress": {
                "Host": host, "ContainerHost": "", "RpcPort": 29999, "DataPort": 29997,
                "SecureRpcPort": 0, "NettyDataPort": 29997, "WebPort": 30000,
                "DomainSocketPath": "", "HttpServerPort": http_port,
            },
        },
        separators=(",", ":"),
    )


class Worker:
    """The test worker process. host: the address it binds and registers (use 127.0.0.2...
    with one shared port for static worker_hosts). etcd: an Etcd to register in (None: static).
    identity: 32 hex digits (default: from etcd mode a fixed value derived from name; static
    mode: the worker_hosts identity of host)."""

    def __init__(self, workdir, root, page_size, name, host="127.0.0.1", port=0, etcd=None,
                 cluster=DEFAULT_CLUSTER, identity=None, lease_ttl=2, mode="ok", delay_ms=0,
                 register=True, etcd_user=None):
        self.workdir = workdir
        self.root = root
        self.page_size = page_size
        self.name = name
        self.host = host
        self.port = port
        self.etcd = etcd
        self.cluster = cluster
        if identity is None:
            import hashlib

            identity = hashlib.md5(f"worker:{name}".encode()).hexdigest() if etcd else host_identity(host).hex
        self.identity_hex = identity
        self.identity = Identity(identity, 1)
        self.lease_ttl = lease_ttl
        self.mode = mode
        self.delay_ms = delay_ms
        self.register_at_start = register
        self.etcd_user = etcd_user
        self.proc = None
        self.log = None
        self.generation = 0
        self.pidfile = os.path.join(workdir, f"worker-{name}.keepalive.pid")

    def __repr__(self):
        return f"<worker {self.name} {self.host}:{self.port}>"

    @property
    def label(self):
        return f"{self.host}:{self.port}"

    def argv(self):
        a = [sys.executable, WORKER_PY, "--root", self.root, "--host", self.host,
             "--port", str(self.port), "--page-size", str(self.page_size), "--mode", self.mode,
             "--delay-ms", str(self.delay_ms)]
        if self.etcd is not None:
            a += ["--etcd", f"127.0.0.1:{self.etcd.client_port}", "--cluster", self.cluster,
                  "--identity", self.identity_hex, "--lease-ttl", str(self.lease_ttl),
                  "--keepalive-pidfile", self.pidfile]
            user = self.etcd_user
            if user is None and self.etcd.user:
                user = f"{self.etcd.user}:{self.etcd.password}"
            if user:
                a += ["--etcd-user", user]
            if not self.register_at_start:
                a.append("--register-later")
        return a

    def start(self, timeout=20.0):
        self.generation += 1
        self.log = os.path.join(self.workdir, f"worker-{self.name}-{self.generation}.log")
        try:
            os.unlink(self.pidfile)
        except FileNotFoundError:
            pass
        self.proc = track(
            subprocess.Popen(self.argv(), stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"^READY (\d+)$", _read(self.log), re.M)
            if m:
                self.port = int(m[1])
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        code = kill_proc(self.proc, signal.SIGKILL)
        raise RuntimeError(f"worker {self.name} did not start (exit {code}): {' '.join(self.argv())}\n"
                           f"{tail(self.log)}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def keepalive_pid(self):
        try:
            with open(self.pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def _kill_keepalive(self):
        pid = self.keepalive_pid()
        if pid is None:
            return
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            return
        if b"etcdctl" in cmd and b"keep-alive" in cmd:  # not a recycled PID
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        """SIGTERM: the worker revokes its lease (its etcd key disappears at once)."""
        if self.proc is None:
            return None
        code = kill_proc(self.proc, signal.SIGTERM, timeout=15)
        self._kill_keepalive()
        return code

    def kill9(self):
        """SIGKILL the worker and its lease keep-alive: the key stays until the lease lapses."""
        if self.proc is None:
            return None
        code = kill_proc(self.proc, signal.SIGKILL)
        self._kill_keepalive()
        return code

    # ---- control API
    def _call(self, method, target, timeout=10):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, target, body=b"" if method == "POST" else None)
            r = conn.getresponse()
            body = r.read()
        finally:
            conn.close()
        if r.status != 200:
            raise RuntimeError(f"worker {self.name} {method} {target}: {r.status} {body[:300]!r}")
        return json.loads(body)

    def stats(self):
        return self._call("GET", "/_stats")

    def reset(self):
        self._call("POST", "/_reset")

    def set_mode(self, mode, delay_ms=None):
        q = f"m={mode}" + (f"&delay_ms={delay_ms}" if delay_ms is not None else "")
        self._call("POST", f"/_mode?{q}")

    def register(self):
        return self._call("POST", "/_register", timeout=40)

    def unregister(self):
        return self._call("POST", "/_unregister", timeout=40)

    def page_counts(self):
        """{(ufs path or 'id:<path_id>', page): count} of the page requests it got."""
        out = {}
        for e in self.stats()["pages"]:
            k = (e["path"] if e["path"] is not None else "id:" + e["path_id"], e["page"])
            out[k] = out.get(k, 0) + e["count"]
        return out

    def requested_ids(self):
        """{path_id: requests} of every page request it got."""
        out = {}
        for e in self.stats()["pages"]:
            out[e["path_id"]] = out.get(e["path_id"], 0) + e["count"]
        return out


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
