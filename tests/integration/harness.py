"""
harness: the integration tests' tiny framework.

No pytest on the machine image, so this is the runner too: a test is a function registered with
@test, it gets the Suite (processes and data shared by the tests) and a Check (soft assertions:
every mismatch is reported, not only the first). run_tests.py imports the test modules and runs
them; each prints "PASS name", "FAIL name: reason" or "SKIP name: reason".

Processes (moto_server, the proxy, helper servers) run on free loopback ports, are tracked here
and are stopped by PID at the end, always: try/finally in the runner plus an atexit hook.

Expected bytes and headers always come from what the test itself wrote (the Truth objects), never
from a server's answer.
"""

import atexit
import hashlib
import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import quote

ACCESS_KEY = "AKIDTEST"
SECRET_KEY = "secret"
REGION = "us-east-1"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
KiB = 1024
MiB = 1024 * 1024

# --------------------------------------------------------------------------------------------
# Registry and checks


class TestFailure(Exception):
    pass


class TestSkip(Exception):
    pass


class Test:
    def __init__(self, name, fn, heavy, proxy_only, timeout):
        self.name = name
        self.fn = fn
        self.heavy = heavy
        self.proxy_only = proxy_only
        self.timeout = timeout


TESTS = []


def test(name=None, heavy=False, proxy_only=True, timeout=240):
    """Register a test. heavy: release build only. proxy_only: not run in --target moto mode."""

    def deco(fn):
        TESTS.append(Test(name or fn.__name__, fn, heavy, proxy_only, timeout))
        return fn

    return deco


class Check:
    """Soft assertions: collect every mismatch; the test fails at the end if any."""

    def __init__(self):
        self.failures = []

    def ok(self, cond, msg):
        if not cond:
            self.failures.append(msg)
        return bool(cond)

    def eq(self, actual, expected, msg):
        if actual != expected:
            self.failures.append(f"{msg}: got {short(actual)}, want {short(expected)}")
            return False
        return True

    def bytes_eq(self, actual, expected, msg):
        if actual != expected:
            self.failures.append(f"{msg}: {describe_bytes_diff(actual, expected)}")
            return False
        return True

    def fail(self, msg):
        self.failures.append(msg)


def short(v, n=200):
    s = repr(v)
    return s if len(s) <= n else s[:n] + f"...({len(s)} chars)"


def describe_bytes_diff(actual, expected):
    if actual is None:
        return "got no body"
    if len(actual) != len(expected):
        return f"length {len(actual)}, want {len(expected)}" + (
            f" (first difference at {first_diff(actual, expected)})"
        )
    return f"same length {len(actual)}, first difference at byte {first_diff(actual, expected)}"


def first_diff(a, b):
    n = min(len(a), len(b))
    step = 1 << 16
    i = 0
    while i < n:
        if a[i : i + step] != b[i : i + step]:
            for j in range(i, min(i + step, n)):
                if a[j] != b[j]:
                    return j
        i += step
    return n


def require(cond, msg):
    if not cond:
        raise TestFailure(msg)


def skip(msg):
    raise TestSkip(msg)


# --------------------------------------------------------------------------------------------
# Data


def prng_bytes(seed, n):
    """Deterministic content for a key: the truth is regenerated, never read back."""
    return random.Random(seed).randbytes(n)


def md5_etag(data):
    return '"' + hashlib.md5(data).hexdigest() + '"'


def multipart_etag(parts):
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return '"' + hashlib.md5(digests).hexdigest() + f'-{len(parts)}"'


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def http_date(ts):
    return formatdate(ts, usegmt=True)


def parse_http_date(s):
    return parsedate_to_datetime(s).timestamp()


RFC7231_RE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d GMT$"
)


# --------------------------------------------------------------------------------------------
# Ports and processes

_PROCS = []  # every child process started, for the atexit safety net
_PROCS_LOCK = threading.Lock()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=30.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def track(proc):
    with _PROCS_LOCK:
        _PROCS.append(proc)
    return proc


def kill_proc(proc, sig=signal.SIGTERM, timeout=10.0):
    """Stop one child by PID; SIGKILL if it does not exit in time. Returns its exit code."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
    return proc.returncode


@atexit.register
def _kill_all_children():
    with _PROCS_LOCK:
        procs = list(_PROCS)
    for p in procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
            except Exception:
                pass


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return "(no log)"


class Moto:
    """moto_server on a free loopback port: the S3 UFS for the tests (never the oracle)."""

    def __init__(self, workdir, name="moto"):
        self.port = free_port()
        self.log = os.path.join(workdir, f"{name}-{self.port}.log")
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        self.proc = track(
            subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=open(self.log, "wb"),
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        )
        if not wait_port(self.port, self.proc, 60):
            kill_proc(self.proc, signal.SIGKILL)
            raise RuntimeError(f"moto_server did not start:\n{tail(self.log)}")
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def client(self):
        return s3_client(self.endpoint)

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        return kill_proc(self.proc, signal.SIGKILL)

    def stop(self):
        return kill_proc(self.proc, signal.SIGTERM, timeout=5)


class Proxy:
    """The proxy binary under test, on a free loopback port, stderr captured to a file."""

    def __init__(self, binary, workdir, name, sets, config_file=None, env_extra=None):
        self.binary = binary
        self.name = name
        self.sets = dict(sets)
        self.workdir = workdir
        self.config_file = config_file
        self.env_extra = env_extra or {}
        self.port = None
        self.proc = None
        self.log = None
        self.log_offset = 0  # sanitizer scan position
        self.generation = 0

    def argv(self):
        args = [self.binary]
        if self.config_file:
            args += ["-c", self.config_file]
        sets = dict(self.sets)
        sets["listen"] = f"127.0.0.1:{self.port}"
        # Every proxy verifies SigV4 by default: give it the key pair the test clients sign
        # with, unless the test chose its own auth settings.
        if not any(k in sets for k in ("auth", "credentials", "credentials_file")) and not (
            self.config_file or any(k.startswith("ALLUXIO_S3_PROXY_CRED") for k in self.env_extra)
        ):
            sets["credentials"] = f"{ACCESS_KEY}:{SECRET_KEY}"
        for k, v in sets.items():
            args += ["--set", f"{k}={v}"]
        return args

    def start(self, port=None):
        self.port = port or free_port()
        self.generation += 1
        self.log = os.path.join(self.workdir, f"proxy-{self.name}-{self.generation}.log")
        self.log_offset = 0
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("AWS_") or k.startswith("ALLUXIO_S3_PROXY_"):
                del env[k]
        env.update(self.env_extra)
        self.proc = track(
            subprocess.Popen(
                self.argv(),
                stdout=open(self.log, "ab"),
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        )
        if not wait_port(self.port, self.proc, 60):
            code = kill_proc(self.proc, signal.SIGKILL)
            raise RuntimeError(
                f"proxy {self.name} did not listen on {self.port} (exit {code}); "
                f"argv {' '.join(self.argv())}\n{tail(self.log)}"
            )
        self.endpoint = f"http://127.0.0.1:{self.port}"
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30.0):
        """SIGTERM by PID; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is not None:
            return self.proc.returncode
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            return None

    def restart(self):
        port = self.port
        self.stop()
        return self.start(port=port)

    def new_log_text(self):
        """Log text since the last call (for per-test sanitizer checks)."""
        if not self.log:
            return ""
        try:
            with open(self.log, "rb") as f:
                f.seek(self.log_offset)
                data = f.read()
                self.log_offset += len(data)
        except OSError:
            return ""
        return data.decode("utf-8", "replace")

    def client(self, **kw):
        return s3_client(self.endpoint, **kw)

    def rss_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None


def sanitizer_report(text):
    for m in SANITIZER_MARKERS:
        i = text.find(m)
        if i >= 0:
            start = text.rfind("\n", 0, max(0, i - 200)) + 1
            return text[start : start + 3000]
    return None


# --------------------------------------------------------------------------------------------
# S3 clients


def s3_client(endpoint, **config_kw):
    import boto3
    from botocore.config import Config

    cfg = dict(
        s3={"addressing_style": "path"},
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=16,
    )
    cfg.update(config_kw)
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(**cfg),
    )


def quote_key(key):
    """Path encoding as botocore does it (S3 canonical form): everything but unreserved and /."""
    return quote(key.encode("utf-8"), safe="/~")


def encode_query(pairs):
    out = []
    for k, v in pairs:
        if v is None:
            out.append(quote(k, safe="-_.~"))
        else:
            out.append(quote(k, safe="-_.~") + "=" + quote(str(v), safe="-_.~"))
    return "&".join(out)


def sign(method, host, path, query="", headers=None, body=b"", key=ACCESS_KEY, secret=SECRET_KEY):
    """SigV4-sign a request with botocore; returns the header list to send (Host first)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"http://{host}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    S3SigV4Auth(Credentials(key, secret), "s3", REGION).add_auth(req)
    out = [("Host", host)]
    for k, v in req.headers.items():
        if k.lower() != "host":
            out.append((k, v))
    return out


class Resp:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body

    def h(self, name, default=None):
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return default

    def all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def xml(self):
        return parse_xml(self.body)

    def __repr__(self):
        return f"<{self.status} {self.reason} {len(self.body or b'')} bytes>"


def request(
    port,
    method,
    path,
    query="",
    headers=None,
    body=b"",
    host=None,
    signed=True,
    timeout=60,
    allow_redirect=False,
):
    """One request on a fresh connection. path is already encoded; query a string or pairs."""
    if not isinstance(query, str):
        query = encode_query(query)
    host = host or f"127.0.0.1:{port}"
    hdrs = list((headers or {}).items()) if isinstance(headers, dict) else list(headers or [])
    if signed:
        send_headers = sign(method, host, path, query, dict(hdrs), body)
    else:
        send_headers = [("Host", host)] + hdrs
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(
            method, path + (f"?{query}" if query else ""), skip_host=True, skip_accept_encoding=True
        )
        for k, v in send_headers:
            conn.putheader(k, v)
        if body and not any(k.lower() == "content-length" for k, _ in send_headers):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        r = conn.getresponse()
        data = r.read()
        resp = Resp(r.status, r.reason, list(r.getheaders()), data)
    finally:
        conn.close()
    if not allow_redirect and resp.status in (301, 302, 303, 307, 308):
        raise TestFailure(f"{method} {path}?{query}: redirect {resp.status} {resp.h('Location')}")
    return resp


def strip_ns(tag):
    return tag.split("}", 1)[1] if "}" in tag else tag


def parse_xml(body):
    root = ET.fromstring(body)
    for el in root.iter():
        el.tag = strip_ns(el.tag)
    return root


MOTO_MODE = False  # --target moto: moto itself stands in for the proxy (checks the tests' logic)


def check_rid(c, resp, msg):
    """x-amz-request-id on every response (moto does not send it: not checked in moto mode)."""
    if not MOTO_MODE:
        c.ok(resp.h("x-amz-request-id"), msg)


def check_error(c, resp, status, code, what, head=False):
    """An S3 error: status, XML body with Code/Message/RequestId, x-amz-request-id header."""
    c.eq(resp.status, status, f"{what}: status")
    check_rid(c, resp, f"{what}: no x-amz-request-id header")
    if head:
        c.eq(resp.body, b"", f"{what}: HEAD error must have no body")
        return None
    ctype = resp.h("Content-Type", "")
    c.ok(ctype.startswith("application/xml"), f"{what}: Content-Type {ctype!r}")
    try:
        root = resp.xml()
    except ET.ParseError as e:
        c.fail(f"{what}: error body is not XML ({e}): {resp.body[:300]!r}")
        return None
    c.eq(root.tag, "Error", f"{what}: XML root")
    c.eq(root.findtext("Code"), code, f"{what}: Code")
    c.ok(root.find("Message") is not None, f"{what}: no Message")
    rid = root.findtext("RequestId")
    if not MOTO_MODE:
        c.ok(rid, f"{what}: no RequestId in XML")
    if rid and resp.h("x-amz-request-id"):
        c.eq(rid, resp.h("x-amz-request-id"), f"{what}: RequestId vs x-amz-request-id")
    return root


# --------------------------------------------------------------------------------------------
# Client subprocess environment


def client_env(extra=None, drop=("AWS_CA_BUNDLE",)):
    """Environment for client tools: our test credentials, no user config files."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("AWS_") or k.startswith("RCLONE_"):
            del env[k]
    for k in drop:
        env.pop(k, None)
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE="/nonexistent/aws-config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/aws-credentials",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_PAGER="",
    )
    if extra:
        env.update(extra)
    return env


def run(argv, timeout=300, env=None, input=None, cwd=None):
    """Run a client command; returns CompletedProcess (stdout bytes). Never hangs past timeout."""
    try:
        return subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout,
            env=env,
            input=input,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as e:
        raise TestFailure(f"{argv[0]} timed out after {timeout}s: {' '.join(map(str, argv))}") from e


def cmd_fail(p, argv):
    err = (p.stderr or b"").decode("utf-8", "replace")[-1500:]
    shown = " ".join(a if len(a) <= 80 else a[:60] + "..." for a in map(str, argv))
    return f"{shown} exited {p.returncode}: {err}"


def find_aws_v1():
    """The image's awscli v1 (pyenv shim), distinct from Debian's v2 in /usr/bin."""
    for cand in [shutil.which("aws"), "/root/.pyenv/shims/aws"]:
        if cand and os.path.realpath(cand) != "/usr/bin/aws" and os.path.exists(cand):
            return cand
    return None


def find_aws_v2():
    p = subprocess.run(
        ["bash", "-c", "command -pv aws"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    path = p.stdout.decode().strip()
    return path or None


def find_system_python():
    p = subprocess.run(
        ["bash", "-c", "command -pv python3"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    return p.stdout.decode().strip() or None


HERE = os.path.dirname(os.path.abspath(__file__))
