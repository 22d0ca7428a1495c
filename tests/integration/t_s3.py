"""GetObject / HeadObject semantics through the proxy: bytes, headers, Range, conditionals,
response-* overrides, errors, writes answered 501, virtual-hosted style."""

import re

from botocore.exceptions import ClientError

import harness

from fixtures import BUCKET, META_KEY, P_DEFAULT, P_SMALL
from harness import (
    check_rid,
    RFC7231_RE,
    check_error,
    http_date,
    parse_http_date,
    quote_key,
    request,
    test,
)

# ------------------------------------------------------------------------------------------
# Expectations computed from the object size alone (S3-BEHAVIOUR.md)

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def expect_range(size, spec):
    """('200', None) | ('206', (first, last)) | ('416', None), as S3 answers a Range header."""
    m = RANGE_RE.match(spec)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return 200, None  # multi-range or not parseable: ignored
    a, b = m.group(1), m.group(2)
    if a == "":
        n = int(b)
        if n == 0 or size == 0:
            return 416, None
        return 206, (max(0, size - n), size - 1)
    a = int(a)
    if b != "" and int(b) < a:
        return 200, None  # syntactically invalid: ignored
    if a >= size:
        return 416, None
    last = size - 1 if b == "" else min(int(b), size - 1)
    return 206, (a, last)


def range_specs(size, p):
    s = size
    nums = [
        ("0", "0"),
        ("0", ""),
        ("0", s - 1),
        ("0", s),
        ("0", s + 1000),
        (s - 1, ""),
        (s - 1, s - 1),
        (s, ""),
        (s, s + 5),
        (s + 10, ""),
        ("", 1),
        ("", s),
        ("", s + 1),
        ("", 0),
        ("", p),
        (p - 1, p),
        (p, 2 * p - 1),
        (p - 10, p + 10),
        (1, s - 2),
        (p + 1, ""),
        (3 * p, 3 * p + p // 2),
    ]
    out = []
    for a, b in nums:
        if (a != "" and int(a) < 0) or (b != "" and int(b) < 0):
            continue
        out.append(f"bytes={a}-{b}")
    out += [
        "bytes=0-1,3-4",  # multi-range: whole object
        "bytes=0-0,-1",
        "bytes=abc",  # malformed: whole object
        "bytes=",
        "bytes=-",
        "items=0-1",
        "bytes=5-2",
        "bytes 0-1",
        "bytes=1-2-3",
    ]
    return list(dict.fromkeys(out))


def lm_ok(c, obj, lm, what):
    if not c.ok(lm and RFC7231_RE.match(lm), f"{what}: Last-Modified {lm!r} not an RFC 7231 date"):
        return
    t = parse_http_date(lm)
    t0, t1 = obj.put_window
    c.ok(int(t0) - 2 <= t <= t1 + 2, f"{what}: Last-Modified {lm} outside the PUT window")


def check_object_headers(c, obj, r, what, with_body=True):
    check_rid(c, r, f"{what}: no x-amz-request-id")
    c.eq(r.h("ETag"), obj.etag, f"{what}: ETag")
    c.eq(r.h("Accept-Ranges"), "bytes", f"{what}: Accept-Ranges")
    lm_ok(c, obj, r.h("Last-Modified"), what)
    if obj.content_type:
        c.eq(r.h("Content-Type"), obj.content_type, f"{what}: Content-Type")
    for name, value in obj.headers.items():
        c.eq(r.h(name), value, f"{what}: {name}")


def get(port, obj, headers=None, query="", method="GET"):
    return request(port, method, f"/{obj.bucket}/{quote_key(obj.key)}", query, headers or {})


# ------------------------------------------------------------------------------------------


@test(proxy_only=False)
def get_whole_objects_raw(s, c):
    """Every object, every byte, and its headers, with a raw signed GET."""
    px = s.proxy("p64")
    for obj in s.data().objects.values():
        r = get(px.port, obj)
        what = f"GET {obj.key[:60]!r}"
        if not c.eq(r.status, 200, f"{what}: status"):
            continue
        c.bytes_eq(r.body, obj.data, what)
        c.eq(r.h("Content-Length"), str(obj.size), f"{what}: Content-Length")
        check_object_headers(c, obj, r, what)


@test(proxy_only=False)
def head_matches_get(s, c):
    """HEAD: same Content-Length (rclone checks it) and headers as GET, no body."""
    px = s.proxy("p64")
    for obj in s.data().objects.values():
        what = f"HEAD {obj.key[:60]!r}"
        r = get(px.port, obj, method="HEAD")
        if not c.eq(r.status, 200, f"{what}: status"):
            continue
        c.eq(r.body, b"", f"{what}: body")
        c.eq(r.h("Content-Length"), str(obj.size), f"{what}: Content-Length")
        check_object_headers(c, obj, r, what)


@test(proxy_only=False)
def get_whole_objects_boto3(s, c):
    px = s.proxy("p64")
    s3 = px.client()
    for obj in s.data().objects.values():
        what = f"boto3 get {obj.key[:60]!r}"
        try:
            r = s3.get_object(Bucket=obj.bucket, Key=obj.key)
        except ClientError as e:
            c.fail(f"{what}: {e}")
            continue
        c.bytes_eq(r["Body"].read(), obj.data, what)
        c.eq(r["ContentLength"], obj.size, f"{what}: ContentLength")
        c.eq(r["ETag"], obj.etag, f"{what}: ETag")
        if obj.content_type:
            c.eq(r["ContentType"], obj.content_type, f"{what}: ContentType")
        h = s3.head_object(Bucket=obj.bucket, Key=obj.key)
        c.eq(h["ContentLength"], obj.size, f"boto3 head {obj.key[:60]!r}: ContentLength")
        c.eq(h["ETag"], obj.etag, f"boto3 head {obj.key[:60]!r}: ETag")


@test(proxy_only=False)
def metadata_headers_boto3(s, c):
    """Content-*, Cache-Control, Expires and x-amz-meta-* set at PUT come back on GET and HEAD."""
    px = s.proxy("p64")
    s3 = px.client()
    obj = s.data().objects[META_KEY]
    for op in ("get_object", "head_object"):
        r = getattr(s3, op)(Bucket=BUCKET, Key=META_KEY)
        c.eq(r["ContentType"], "text/x-test; charset=utf-8", f"{op} ContentType")
        c.eq(r["ContentEncoding"], "x-test-enc", f"{op} ContentEncoding")
        c.eq(r["ContentLanguage"], "fr-CA", f"{op} ContentLanguage")
        c.eq(r["ContentDisposition"], 'attachment; filename="report.txt"', f"{op} Disposition")
        c.eq(r["CacheControl"], "max-age=60, private", f"{op} CacheControl")
        c.eq(
            r["ResponseMetadata"]["HTTPHeaders"].get("expires"),
            "Thu, 01 Jan 2037 00:00:00 GMT",
            f"{op} Expires",
        )
        c.eq(r["Metadata"], {"alpha": "one", "beta-key": "Two Words", "num": "42"}, f"{op} Metadata")
        if op == "get_object":
            c.bytes_eq(r["Body"].read(), obj.data, "get body")


def check_range(c, obj, spec, r, what):
    status, rng = expect_range(obj.size, spec)
    if not c.eq(r.status, status, f"{what}: status"):
        return
    check_rid(c, r, f"{what}: no x-amz-request-id")
    if status == 206:
        a, b = rng
        c.eq(r.h("Content-Range"), f"bytes {a}-{b}/{obj.size}", f"{what}: Content-Range")
        c.eq(r.h("Content-Length"), str(b - a + 1), f"{what}: Content-Length")
        c.bytes_eq(r.body, obj.data[a : b + 1], f"{what}: body")
        c.eq(r.h("ETag"), obj.etag, f"{what}: ETag")
        c.eq(r.h("Accept-Ranges"), "bytes", f"{what}: Accept-Ranges")
    elif status == 200:
        c.eq(r.h("Content-Range"), None, f"{what}: Content-Range on a 200")
        c.eq(r.h("Content-Length"), str(obj.size), f"{what}: Content-Length")
        c.bytes_eq(r.body, obj.data, f"{what}: body")
    else:
        c.eq(r.h("Content-Range"), f"bytes */{obj.size}", f"{what}: Content-Range")
        root = check_error(c, r, 416, "InvalidRange", what)
        if root is not None:
            c.eq(root.findtext("ActualObjectSize"), str(obj.size), f"{what}: ActualObjectSize")
            c.eq(root.findtext("RangeRequested"), spec, f"{what}: RangeRequested")


def range_matrix(s, c, proxy_name, tag, p):
    px = s.proxy(proxy_name)
    for obj in s.data().sized(tag):
        for spec in range_specs(obj.size, p):
            r = get(px.port, obj, {"Range": spec})
            check_range(c, obj, spec, r, f"{obj.key} Range {spec!r}")


@test(proxy_only=False)
def range_every_form_p64k(s, c):
    range_matrix(s, c, "p64", "p64k", P_SMALL)


@test(proxy_only=False)
def range_every_form_p1m_default_page_size(s, c):
    range_matrix(s, c, "p1m", "p1m", P_DEFAULT)


@test(proxy_only=False)
def range_cross_page_size(s, c):
    """Objects laid out for the other page size: the 64 KiB proxy reads the 1 MiB-sized set."""
    range_matrix(s, c, "p64", "p1m", P_SMALL)


@test(proxy_only=False)
def range_head(s, c):
    """HEAD with a Range answers like GET (206 + Content-Range + the slice's length), no body."""
    px = s.proxy("p64")
    obj = s.data().objects["sizes/p64k/3.5P"]
    for spec in ["bytes=10-19", "bytes=-5", f"bytes={obj.size}-", "bytes=0-1,5-6"]:
        r = get(px.port, obj, {"Range": spec}, method="HEAD")
        status, rng = expect_range(obj.size, spec)
        what = f"HEAD Range {spec!r}"
        c.eq(r.status, status, f"{what}: status")
        c.eq(r.body, b"", f"{what}: body")
        if status == 206:
            c.eq(r.h("Content-Range"), f"bytes {rng[0]}-{rng[1]}/{obj.size}", f"{what}: CR")
            c.eq(r.h("Content-Length"), str(rng[1] - rng[0] + 1), f"{what}: CL")
        elif status == 200:
            c.eq(r.h("Content-Length"), str(obj.size), f"{what}: CL")


@test(proxy_only=False)
def range_big_object(s, c):
    """Ranges on the 64 MiB object: page-straddling, tail, a huge end (clamped)."""
    px = s.proxy("p64")
    obj = s.data().objects["big/rand64m"]
    n = obj.size
    specs = [
        "bytes=0-99",
        f"bytes={P_SMALL * 100 - 7}-{P_SMALL * 300 + 7}",
        f"bytes={n - 100}-",
        "bytes=-1048577",
        f"bytes={n // 2}-{n * 10}",
        f"bytes={8 * 1024 * 1024 - 1}-{8 * 1024 * 1024}",  # multipart part boundary
        f"bytes={n}-",
    ]
    for spec in specs:
        r = get(px.port, obj, {"Range": spec})
        check_range(c, obj, spec, r, f"big Range {spec!r}")


@test(proxy_only=False)
def range_boto3(s, c):
    """boto3 1.43 (signs `range`, sends x-amz-checksum-mode) on ranged reads."""
    px = s.proxy("p64")
    s3 = px.client()
    for obj in s.data().sized("p64k"):
        for spec in range_specs(obj.size, P_SMALL):
            status, rng = expect_range(obj.size, spec)
            what = f"boto3 {obj.key} Range {spec!r}"
            try:
                r = s3.get_object(Bucket=obj.bucket, Key=obj.key, Range=spec)
                body = r["Body"].read()
            except ClientError as e:
                code = e.response["Error"]["Code"]
                c.eq((status, code), (416, "InvalidRange"), f"{what}: error")
                continue
            if status == 416:
                c.fail(f"{what}: expected InvalidRange, got {r['ResponseMetadata']['HTTPStatusCode']}")
            elif status == 206:
                c.bytes_eq(body, obj.data[rng[0] : rng[1] + 1], what)
                c.eq(r["ContentRange"], f"bytes {rng[0]}-{rng[1]}/{obj.size}", f"{what}: CR")
            else:
                c.bytes_eq(body, obj.data, what)


# ------------------------------------------------------------------------------------------
# Conditional requests


def conditional_cases(etag, lm):
    before = http_date(lm - 3600)
    after = http_date(lm + 3600)
    same = http_date(lm)
    wrong = '"0123456789abcdef0123456789abcdef"'
    return [
        ({"If-Match": etag}, 200),
        ({"If-Match": wrong}, 412),
        ({"If-Match": "*"}, 200),
        ({"If-Match": f"{wrong}, {etag}"}, 200),
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": wrong}, 200),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": f"{wrong}, {etag}"}, 304),
        ({"If-Modified-Since": before}, 200),
        ({"If-Modified-Since": same}, 304),
        ({"If-Modified-Since": after}, 304),
        ({"If-Modified-Since": "not a date"}, 200),
        ({"If-Unmodified-Since": before}, 412),
        ({"If-Unmodified-Since": same}, 200),
        ({"If-Unmodified-Since": after}, 200),
        # precedence (RFC 7232 as S3 applies it)
        ({"If-Match": etag, "If-Unmodified-Since": before}, 200),
        ({"If-Match": wrong, "If-Unmodified-Since": after}, 412),
        ({"If-None-Match": etag, "If-Modified-Since": before}, 304),
        ({"If-None-Match": wrong, "If-Modified-Since": after}, 200),
        ({"If-Match": etag, "If-None-Match": etag}, 304),
        ({"If-Match": wrong, "If-None-Match": wrong}, 412),
        ({"If-Unmodified-Since": before, "If-Modified-Since": after}, 412),
        ({"If-Match": etag, "If-Modified-Since": after}, 304),
    ]


@test(proxy_only=False)
def conditional_get_and_head(s, c):
    px = s.proxy("p64")
    for key in ("meta/plain", "sizes/p64k/3.5P"):
        obj = s.data().objects[key]
        r0 = get(px.port, obj, method="HEAD")
        lm_ok(c, obj, r0.h("Last-Modified"), f"{key} HEAD")
        if not r0.h("Last-Modified"):
            return
        lm = parse_http_date(r0.h("Last-Modified"))
        for hdrs, want in conditional_cases(obj.etag, lm):
            for method in ("GET", "HEAD"):
                r = get(px.port, obj, hdrs, method=method)
                what = f"{method} {key} {hdrs}"
                c.eq(r.status, want, f"{what}: status")
                check_rid(c, r, f"{what}: no x-amz-request-id")
                if want == 200 and method == "GET":
                    c.bytes_eq(r.body, obj.data, what)
                elif want == 304:
                    c.eq(r.body, b"", f"{what}: 304 body")
                    c.eq(r.h("ETag"), obj.etag, f"{what}: 304 ETag")
                elif want == 412:
                    check_error(c, r, 412, "PreconditionFailed", what, head=(method == "HEAD"))


@test(proxy_only=False)
def conditional_with_range(s, c):
    """A passing If-Match keeps the Range (206); a failing one wins over it (412)."""
    px = s.proxy("p64")
    obj = s.data().objects["sizes/p64k/3.5P"]
    r = get(px.port, obj, {"If-Match": obj.etag, "Range": "bytes=100-199"})
    c.eq(r.status, 206, "If-Match ok + Range: status")
    c.bytes_eq(r.body, obj.data[100:200], "If-Match ok + Range: body")
    r = get(px.port, obj, {"If-Match": '"nope"', "Range": "bytes=100-199"})
    c.eq(r.status, 412, "If-Match bad + Range: status")
    r = get(px.port, obj, {"If-None-Match": obj.etag, "Range": "bytes=100-199"})
    c.eq(r.status, 304, "If-None-Match match + Range: status")


# ------------------------------------------------------------------------------------------
# response-* overrides

OVERRIDES = [
    ("response-content-type", "Content-Type", "application/x-override"),
    ("response-content-language", "Content-Language", "de-DE"),
    ("response-expires", "Expires", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ("response-cache-control", "Cache-Control", "no-cache"),
    ("response-content-disposition", "Content-Disposition", 'attachment; filename="x y.bin"'),
    ("response-content-encoding", "Content-Encoding", "identity"),
]


@test(proxy_only=False)
def response_overrides_raw(s, c):
    px = s.proxy("p64")
    for key in (META_KEY, "meta/plain"):
        obj = s.data().objects[key]
        for param, header, value in OVERRIDES:
            for method in ("GET", "HEAD"):
                r = get(px.port, obj, query=[(param, value)], method=method)
                what = f"{method} {key} ?{param}"
                if not c.eq(r.status, 200, f"{what}: status"):
                    continue
                c.eq(r.h(header), value, f"{what}: {header}")
                c.eq(len(r.all(header)), 1, f"{what}: {header} must appear once")
                if method == "GET":
                    c.bytes_eq(r.body, obj.data, what)
        # all at once, plus a Range
        r = get(px.port, obj, {"Range": "bytes=0-9"}, query=[(p, v) for p, _, v in OVERRIDES])
        c.eq(r.status, 206, f"{key} all overrides + range: status")
        for _, header, value in OVERRIDES:
            c.eq(r.h(header), value, f"{key} all overrides: {header}")
        c.bytes_eq(r.body, obj.data[:10], f"{key} all overrides + range: body")


@test(proxy_only=False)
def response_overrides_boto3(s, c):
    px = s.proxy("p64")
    s3 = px.client()
    r = s3.get_object(
        Bucket=BUCKET,
        Key="meta/plain",
        ResponseContentType="image/x-test",
        ResponseContentDisposition="inline",
        ResponseCacheControl="max-age=1",
        ResponseContentLanguage="en",
    )
    c.eq(r["ContentType"], "image/x-test", "ContentType")
    c.eq(r["ContentDisposition"], "inline", "ContentDisposition")
    c.eq(r["CacheControl"], "max-age=1", "CacheControl")
    c.eq(r["ContentLanguage"], "en", "ContentLanguage")
    c.bytes_eq(r["Body"].read(), s.data().objects["meta/plain"].data, "body")


# ------------------------------------------------------------------------------------------
# Errors and writes


@test(proxy_only=False)
def errors_no_such_key_and_bucket(s, c):
    px = s.proxy("p64")
    s.data()
    r = request(px.port, "GET", f"/{BUCKET}/no/such/key")
    check_error(c, r, 404, "NoSuchKey", "GET missing key")
    r = request(px.port, "HEAD", f"/{BUCKET}/no/such/key")
    check_error(c, r, 404, None, "HEAD missing key", head=True)
    r = request(px.port, "GET", f"/{BUCKET}/{quote_key('no such/ключ+%2F')}")
    check_error(c, r, 404, "NoSuchKey", "GET missing special key")
    r = request(px.port, "GET", "/no-such-bucket-xyz/key")
    check_error(c, r, 404, "NoSuchBucket", "GET in missing bucket")
    r = request(px.port, "GET", "/no-such-bucket-xyz", "list-type=2")
    check_error(c, r, 404, "NoSuchBucket", "ListObjectsV2 missing bucket")
    r = request(px.port, "GET", "/no-such-bucket-xyz")
    check_error(c, r, 404, "NoSuchBucket", "ListObjects missing bucket")
    r = request(px.port, "HEAD", "/no-such-bucket-xyz")
    check_error(c, r, 404, None, "HeadBucket missing", head=True)
    if not harness.MOTO_MODE:
        ids = {request(px.port, "GET", f"/{BUCKET}/nope").h("x-amz-request-id") for _ in range(3)}
        c.eq(len(ids), 3, "x-amz-request-id differs per request")
    s3 = px.client()
    for op, kw, code in (
        ("get_object", dict(Bucket=BUCKET, Key="nope"), "NoSuchKey"),
        ("head_object", dict(Bucket=BUCKET, Key="nope"), "404"),
        ("get_object", dict(Bucket="no-such-bucket-xyz", Key="k"), "NoSuchBucket"),
        ("head_bucket", dict(Bucket="no-such-bucket-xyz"), "404"),
    ):
        try:
            getattr(s3, op)(**kw)
            c.fail(f"boto3 {op} {kw}: no error")
        except ClientError as e:
            c.eq(e.response["Error"]["Code"], code, f"boto3 {op} {kw}: code")


@test()
def writes_not_implemented(s, c):
    """Writes are answered 501 NotImplemented XML (until the writes issue) and never reach the UFS."""
    px = s.proxy("p64")
    moto_s3 = s.moto().client()
    cases = [
        ("PUT", f"/{BUCKET}/new-object", "", b"hello world"),
        ("PUT", f"/{BUCKET}/meta/plain", "", b"overwrite attempt"),
        ("DELETE", f"/{BUCKET}/meta/plain", "", b""),
        ("PUT", "/new-bucket-xyz", "", b""),
        ("DELETE", f"/{BUCKET}", "", b""),
        ("POST", f"/{BUCKET}", "delete", b"<Delete><Object><Key>meta/plain</Key></Object></Delete>"),
        ("POST", f"/{BUCKET}/mp-object", "uploads", b""),
        ("PUT", f"/{BUCKET}/meta/plain", "tagging", b"<Tagging/>"),
    ]
    for method, path, query, body in cases:
        r = request(px.port, method, path, query, {}, body)
        what = f"{method} {path}?{query}"
        check_error(c, r, 501, "NotImplemented", what)
    keys = [o["Key"] for o in moto_s3.list_objects_v2(Bucket=BUCKET, Prefix="new-object").get("Contents", [])]
    c.eq(keys, [], "the PUT reached the UFS")
    body = moto_s3.get_object(Bucket=BUCKET, Key="meta/plain")["Body"].read()
    c.bytes_eq(body, s.data().objects["meta/plain"].data, "meta/plain changed in the UFS")
    c.eq(
        [b["Name"] for b in moto_s3.list_buckets()["Buckets"] if b["Name"] == "new-bucket-xyz"],
        [],
        "the bucket PUT reached the UFS",
    )
    s3 = px.client()
    try:
        s3.put_object(Bucket=BUCKET, Key="boto3-put", Body=b"x" * 100000)
        c.fail("boto3 put_object: no error")
    except ClientError as e:
        c.eq(e.response["ResponseMetadata"]["HTTPStatusCode"], 501, "boto3 put_object status")
        c.eq(e.response["Error"]["Code"], "NotImplemented", "boto3 put_object code")


@test()
def virtual_hosted_style(s, c):
    """bucket.<virtual_host_domain> requests address the bucket from the Host header."""
    s.data()
    sets = s.s3_sets(s.moto(), virtual_host_domain="s3.test")
    sets["options.alluxio.worker.page.store.page.size"] = "64KB"
    px = s.new_proxy("vhost", sets)
    try:
        data = s.data()
        for key in ("meta/plain", "special/sp ace.txt", "sizes/p64k/P+1"):
            obj = data.objects[key]
            host = f"{BUCKET}.s3.test:{px.port}"
            r = request(px.port, "GET", "/" + quote_key(key), host=host)
            what = f"virtual-host GET {key!r}"
            if c.eq(r.status, 200, f"{what}: status"):
                c.bytes_eq(r.body, obj.data, what)
                c.eq(r.h("ETag"), obj.etag, f"{what}: ETag")
            r = request(px.port, "GET", "/" + quote_key(key), host=host, headers={"Range": "bytes=1-5"})
            c.eq(r.status, 206, f"{what} range: status")
            c.bytes_eq(r.body, obj.data[1:6], f"{what} range")
        r = request(px.port, "GET", "/", "list-type=2&prefix=meta%2F", host=f"{BUCKET}.s3.test:{px.port}")
        c.eq(r.status, 200, "virtual-host list: status")
        if r.status == 200:
            keys = [e.findtext("Key") for e in r.xml().findall("Contents")]
            c.eq(keys, ["meta/full", "meta/plain"], "virtual-host list keys")
        # path style still works on the same proxy
        r = request(px.port, "GET", f"/{BUCKET}/meta/plain")
        c.eq(r.status, 200, "path-style on a virtual-host proxy")
    finally:
        c.eq(px.stop(), 0, "vhost proxy exit code")
