"""
sigv4_oracle: a threaded HTTP server that checks every request's SigV4 signature with
botocore's own signer (botocore.auth.S3SigV4Auth) and forwards the valid ones to moto.

It rebuilds the request the way S3 does (the path decoded once and re-encoded in S3's canonical
form, the query pairs decoded and re-encoded, exactly the SignedHeaders list), lets botocore
compute the canonical request, string to sign and signature with the known credentials and the
request's own x-amz-date, and compares with the Authorization header. A mismatch is answered 403
SignatureDoesNotMatch (as S3 does) and recorded with the canonical request for the report.
"""

import hashlib
import http.client
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote_to_bytes

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$"
)


class _ExactHeadersAuth(S3SigV4Auth):
    """botocore's S3 signer, told to sign exactly the headers the request says it signed."""

    def __init__(self, credentials, region, signed_names, received):
        super().__init__(credentials, "s3", region)
        self._signed_names = signed_names
        self._received = received

    def headers_to_sign(self, request):
        hm = HTTPHeaders()
        for name in self._signed_names:
            for v in self._received.get(name, []):
                hm[name] = v
        return hm


class Oracle:
    def __init__(self, upstream_port, key, secret, token=None, region="us-east-1", anon=False):
        self.upstream_port = upstream_port
        self.key, self.secret, self.token, self.region = key, secret, token, region
        self.anon = anon
        self.lock = threading.Lock()
        self.valid = 0
        self.invalid = []  # (request line, reason)
        self.log = []  # (method, raw path, query, range header)
        oracle = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _handle(self):
                body = self._read_body()
                raw_path, _, raw_query = self.path.partition("?")
                received = {}
                for k, v in self.headers.items():
                    received.setdefault(k.lower(), []).append(v)
                with oracle.lock:
                    oracle.log.append((self.command, raw_path, raw_query, self.headers.get("Range")))
                ok, reason = oracle.verify(self.command, raw_path, raw_query, received, body)
                if not ok:
                    with oracle.lock:
                        oracle.invalid.append((f"{self.command} {self.path}", reason))
                    xml = (
                        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>'
                        "<Message>The request signature we calculated does not match the signature you "
                        "provided.</Message><RequestId>ORACLE</RequestId></Error>"
                    ).encode()
                    self.send_response(403)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(xml)))
                    self.send_header("x-amz-request-id", "ORACLE")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(xml)
                    return
                with oracle.lock:
                    oracle.valid += 1
                self._forward(body)

            def _read_body(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _forward(self, body):
                conn = http.client.HTTPConnection("127.0.0.1", oracle.upstream_port, timeout=60)
                try:
                    conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for k, v in self.headers.items():
                        if k.lower() in ("connection", "transfer-encoding", "content-length", "keep-alive"):
                            continue
                        conn.putheader(k, v)
                    if body or self.command in ("PUT", "POST"):
                        conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body or None)
                    r = conn.getresponse()
                    data = r.read()
                    self.send_response_only(r.status, r.reason)
                    for k, v in r.getheaders():
                        if k.lower() in ("connection", "transfer-encoding", "content-length", "keep-alive",
                                         "server", "date"):
                            continue
                        self.send_header(k, v)
                    if self.command == "HEAD":
                        cl = r.getheader("Content-Length")
                        if cl is not None:
                            self.send_header("Content-Length", cl)
                    else:
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------------------------
    def verify(self, method, raw_path, raw_query, received, body):
        auth = (received.get("authorization") or [None])[0]
        if self.anon:
            if auth:
                return False, "anonymous mode but the request carries Authorization"
            return True, ""
        if not auth:
            return False, "no Authorization header"
        m = AUTH_RE.match(auth)
        if not m:
            return False, f"malformed Authorization: {auth!r}"
        cred, signed, signature = m.groups()
        parts = cred.split("/")
        if len(parts) != 5:
            return False, f"bad Credential {cred!r}"
        ak, day, region, service, term = parts
        if ak != self.key:
            return False, f"access key {ak!r}, want {self.key!r}"
        if (region, service, term) != (self.region, "s3", "aws4_request"):
            return False, f"credential scope {cred!r}"
        amz_date = (received.get("x-amz-date") or [None])[0]
        if not amz_date or not re.match(r"^\d{8}T\d{6}Z$", amz_date):
            return False, f"x-amz-date {amz_date!r}"
        if amz_date[:8] != day:
            return False, f"scope date {day} vs x-amz-date {amz_date}"
        names = signed.split(";")
        if names != sorted(names) or any(n != n.lower() for n in names):
            return False, f"SignedHeaders not sorted lowercase: {signed}"
        if "host" not in names:
            return False, "host not signed"
        for n in received:
            if n.startswith("x-amz-") and n not in names:
                return False, f"{n} present but not signed"
        for n in names:
            if n not in received:
                return False, f"signed header {n} missing from the request"
        sha = (received.get("x-amz-content-sha256") or [None])[0]
        if sha is None:
            return False, "no x-amz-content-sha256 (S3 requires it)"
        if sha != "UNSIGNED-PAYLOAD" and sha != hashlib.sha256(body).hexdigest():
            return False, f"x-amz-content-sha256 {sha} does not match the body"
        if self.token is not None:
            tok = (received.get("x-amz-security-token") or [None])[0]
            if tok != self.token:
                return False, f"x-amz-security-token {tok!r}"
        # S3's canonical form: the path decoded once, re-encoded; query pairs likewise.
        try:
            path = unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            return False, f"path is not UTF-8 once decoded: {raw_path!r}"
        canon_path = quote(path.encode("utf-8"), safe="/~")
        params = []
        if raw_query:
            for pair in raw_query.split("&"):
                k, _, v = pair.partition("=")
                params.append((unquote_to_bytes(k).decode("utf-8"), unquote_to_bytes(v).decode("utf-8")))
        host = received["host"][0]
        req = AWSRequest(method=method, url=f"http://{host}{canon_path}", headers={}, data=body)
        req.params = params
        req.headers["X-Amz-Content-SHA256"] = sha
        req.context["timestamp"] = amz_date
        signer = _ExactHeadersAuth(Credentials(self.key, self.secret, self.token), self.region, names, received)
        canonical = signer.canonical_request(req)
        sts = signer.string_to_sign(req, canonical)
        want = signer.signature(sts, req)
        if want != signature:
            return False, f"signature mismatch; botocore's canonical request:\n{canonical}"
        return True, ""
