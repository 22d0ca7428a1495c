"""The proxy's UFS signer, checked by an oracle that is not our code (botocore's S3SigV4Auth),
plus what the oracle's request log shows: aligned page fetches, one fetch per page."""

import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from harness import (
    Moto,
    check_error,
    md5_etag,
    prng_bytes,
    quote_key,
    request,
    test,
)
from sigv4_oracle import Oracle

UFS_KEY = "AKIAUFSORACLE"
UFS_SECRET = "ufs/Secret+Key=with/odd+chars"
B = "signed-bkt"
KEYS = {
    "plain.bin": 3 * 64 * 1024 + 5,
    "dir/sp ace & amp=eq+plus.bin": 70_000,
    "dir/unicodé ファイル.txt": 1234,
    "dir/lit%2Fpercent": 99,
    "dir/double//slash": 10,
    "dir/trail/": 7,
    "tilde~star*(x)!'": 11,
    "empty": 0,
}


def setup(s, token=None, anon=False, oracle_kw=None):
    moto = Moto(s.workdir, "moto-signer")
    m3 = moto.client()
    m3.create_bucket(Bucket=B)
    acl = {"ACL": "public-read"} if anon else {}  # moto refuses anonymous reads otherwise
    if anon:
        m3.put_bucket_acl(Bucket=B, ACL="public-read")
    for k, n in KEYS.items():
        m3.put_object(Bucket=B, Key=k, Body=prng_bytes(k, n), ContentType="application/x-signed", **acl)
    oracle = Oracle(moto.port, UFS_KEY, UFS_SECRET, token=token, anon=anon, **(oracle_kw or {}))
    return moto, oracle


def oracle_verdict(c, oracle, what):
    c.ok(oracle.valid > 0, f"{what}: the oracle saw no signed request")
    for line, reason in oracle.invalid[:5]:
        c.fail(f"{what}: oracle rejected {line}: {reason}")
    if len(oracle.invalid) > 5:
        c.fail(f"{what}: ... {len(oracle.invalid)} rejected in all")


@test(proxy_only=False)
def oracle_self_check(s, c):
    """The oracle accepts botocore's own requests and rejects a wrong secret (so it can fail)."""
    moto, oracle = setup(s)
    try:
        good = boto3.client(
            "s3", endpoint_url=oracle.endpoint, aws_access_key_id=UFS_KEY,
            aws_secret_access_key=UFS_SECRET, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )
        for k, n in KEYS.items():
            body = good.get_object(Bucket=B, Key=k, **({"Range": "bytes=0-4"} if n > 5 else {}))["Body"].read()
            c.eq(body, prng_bytes(k, n)[:5] if n > 5 else prng_bytes(k, n), f"boto3 via oracle {k!r}")
        good.list_objects_v2(Bucket=B, Prefix="dir/sp ace & amp=eq+plus", Delimiter="/")
        good.list_objects(Bucket=B, Prefix="dir/unicodé", Marker="dir/a")
        good.head_bucket(Bucket=B)
        good.get_bucket_location(Bucket=B)
        c.eq(oracle.invalid, [], "botocore requests rejected by the oracle")
        c.ok(oracle.valid >= len(KEYS) + 4, f"oracle counted {oracle.valid} valid")
        bad = boto3.client(
            "s3", endpoint_url=oracle.endpoint, aws_access_key_id=UFS_KEY,
            aws_secret_access_key="wrong", region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )
        try:
            bad.get_object(Bucket=B, Key="plain.bin")
            c.fail("wrong secret accepted")
        except ClientError as e:
            c.eq(e.response["Error"]["Code"], "SignatureDoesNotMatch", "wrong secret")
    finally:
        oracle.stop()
        moto.stop()


def read_all_through(s, c, px, what):
    for k, n in KEYS.items():
        data = prng_bytes(k, n)
        r = request(px.port, "GET", f"/{B}/{quote_key(k)}")
        if c.eq(r.status, 200, f"{what} GET {k!r}: status"):
            c.bytes_eq(r.body, data, f"{what} GET {k!r}")
            c.eq(r.h("ETag"), md5_etag(data), f"{what} GET {k!r}: ETag")
        h = request(px.port, "HEAD", f"/{B}/{quote_key(k)}")
        c.eq((h.status, h.h("Content-Length")), (200, str(n)), f"{what} HEAD {k!r}")
        if n > 10:
            for spec, lo, hi in (("bytes=3-9", 3, 10), ("bytes=-4", n - 4, n), (f"bytes={n // 2}-", n // 2, n)):
                r = request(px.port, "GET", f"/{B}/{quote_key(k)}", headers={"Range": spec})
                c.eq(r.status, 206, f"{what} {k!r} {spec}: status")
                c.bytes_eq(r.body, data[lo:hi], f"{what} {k!r} {spec}")
    s3 = px.client()
    pag = s3.get_paginator("list_objects_v2")
    for prefix in ("", "dir/", "dir/sp ace & amp", "dir/unicodé", "dir/lit%2F", "tilde~"):
        for delim in (None, "/"):
            kw = {"Prefix": prefix} | ({"Delimiter": delim} if delim else {})
            keys = [o["Key"] for p in pag.paginate(Bucket=B, PaginationConfig={"PageSize": 2}, **kw)
                    for o in p.get("Contents", [])]
            want = sorted((k for k in KEYS if k.startswith(prefix) and not (delim and "/" in k[len(prefix):])),
                          key=lambda k: k.encode())
            c.eq(keys, want, f"{what} list {kw}")
    r = s3.list_objects(Bucket=B, Prefix="dir/", Marker="dir/double")
    c.eq([o["Key"] for o in r.get("Contents", [])],
         sorted((k for k in KEYS if k.startswith("dir/") and k > "dir/double"), key=lambda k: k.encode()),
         f"{what} v1 list with marker")
    r = s3.list_objects_v2(Bucket=B, StartAfter="dir/sp ace & amp=eq+plus.bin", Prefix="dir/")
    c.eq([o["Key"] for o in r.get("Contents", [])],
         sorted((k for k in KEYS if k.startswith("dir/") and k.encode() > "dir/sp ace & amp=eq+plus.bin".encode()),
                key=lambda k: k.encode()), f"{what} start-after with special characters")
    c.ok(B in [b["Name"] for b in s3.list_buckets()["Buckets"]], f"{what} ListBuckets")
    c.eq(s3.head_bucket(Bucket=B)["ResponseMetadata"]["HTTPStatusCode"], 200, f"{what} HeadBucket")
    s3.get_bucket_location(Bucket=B)
    check_error(c, request(px.port, "GET", f"/{B}/{quote_key('no/such key')}"), 404, "NoSuchKey", f"{what} missing key")


@test()
def signer_verified_by_botocore_oracle(s, c):
    moto, oracle = setup(s)
    try:
        px = s.new_proxy("signer", {
            "target_protocol": "s3",
            "target_options.endpoint_url": oracle.endpoint,
            "target_options.key": UFS_KEY,
            "target_options.secret": UFS_SECRET,
            "target_options.region": "us-east-1",
            "options.alluxio.worker.page.store.page.size": "64KB",
        })
        try:
            read_all_through(s, c, px, "key/secret")
        finally:
            c.eq(px.stop(), 0, "signer proxy exit code")
        oracle_verdict(c, oracle, "key/secret")
    finally:
        oracle.stop()
        moto.stop()


@test()
def signer_session_token(s, c):
    token = "FQoGZXIvYXdzEXAMPLETOKEN/with+odd=chars"
    moto, oracle = setup(s, token=token)
    try:
        px = s.new_proxy("signer-token", {
            "target_protocol": "s3",
            "target_options.endpoint_url": oracle.endpoint,
            "target_options.key": UFS_KEY,
            "target_options.secret": UFS_SECRET,
            "target_options.token": token,
        })
        try:
            for k in ("plain.bin", "dir/unicodé ファイル.txt"):
                r = request(px.port, "GET", f"/{B}/{quote_key(k)}", headers={"Range": "bytes=0-3"})
                c.eq((r.status, r.body), (206, prng_bytes(k, KEYS[k])[:4]), f"token GET {k!r}")
            c.eq(len(px.client().list_objects_v2(Bucket=B, Prefix="dir/")["Contents"]), 5, "token list")
        finally:
            c.eq(px.stop(), 0, "signer-token proxy exit code")
        oracle_verdict(c, oracle, "session token")
    finally:
        oracle.stop()
        moto.stop()


@test()
def signer_credentials_from_env(s, c):
    """AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_ENDPOINT_URL / AWS_REGION as fallbacks."""
    moto, oracle = setup(s)
    try:
        px = s.new_proxy("signer-env", {"target_protocol": "s3"}, env_extra={
            "AWS_ACCESS_KEY_ID": UFS_KEY,
            "AWS_SECRET_ACCESS_KEY": UFS_SECRET,
            "AWS_ENDPOINT_URL": oracle.endpoint,
            "AWS_REGION": "us-east-1",
        })
        try:
            k = "dir/sp ace & amp=eq+plus.bin"
            r = request(px.port, "GET", f"/{B}/{quote_key(k)}")
            c.eq(r.status, 200, "env creds GET status")
            c.bytes_eq(r.body, prng_bytes(k, KEYS[k]), "env creds GET")
        finally:
            c.eq(px.stop(), 0, "signer-env proxy exit code")
        oracle_verdict(c, oracle, "env credentials")
    finally:
        oracle.stop()
        moto.stop()


@test()
def signer_anonymous(s, c):
    moto, oracle = setup(s, anon=True)
    try:
        px = s.new_proxy("signer-anon", {
            "target_protocol": "s3",
            "target_options.endpoint_url": oracle.endpoint,
            "target_options.anon": "true",
        })
        try:
            r = request(px.port, "GET", f"/{B}/plain.bin", headers={"Range": "bytes=1-2"})
            c.eq((r.status, r.body), (206, prng_bytes("plain.bin", KEYS["plain.bin"])[1:3]), "anon GET")
        finally:
            c.eq(px.stop(), 0, "signer-anon proxy exit code")
        c.eq(oracle.invalid, [], "anonymous proxy sent Authorization")
    finally:
        oracle.stop()
        moto.stop()


@test()
def signer_wrong_secret_is_an_error_not_a_hang(s, c):
    moto, oracle = setup(s)
    try:
        px = s.new_proxy("signer-bad", {
            "target_protocol": "s3",
            "target_options.endpoint_url": oracle.endpoint,
            "target_options.key": UFS_KEY,
            "target_options.secret": "not-the-secret",
            "ufs_retries": "1",
        })
        try:
            t0 = time.monotonic()
            r = request(px.port, "GET", f"/{B}/plain.bin", timeout=30)
            c.ok(time.monotonic() - t0 < 10, "UFS 403 took > 10 s to answer")
            c.ok(r.status == 403 or r.status >= 500, f"UFS 403 answered {r.status}")
            c.ok(r.status != 200, "UFS refused but the proxy answered 200")
            c.ok(r.body.startswith(b"<?xml") and b"<Error>" in r.body, f"error body {r.body[:200]!r}")
        finally:
            c.eq(px.stop(), 0, "signer-bad proxy exit code")
    finally:
        oracle.stop()
        moto.stop()


@test()
def ufs_fetches_aligned_and_single_flight(s, c):
    """12 concurrent readers of one uncached object: the UFS sees page-aligned ranged GETs and
    no byte is fetched twice."""
    moto, oracle = setup(s)
    P = 64 * 1024
    key = "sf/object"
    size = P * 7 // 2 + 3 * P * 8  # 27.5 pages
    data = prng_bytes(key, size)
    moto.client().put_object(Bucket=B, Key=key, Body=data)
    try:
        px = s.new_proxy("single-flight", {
            "target_protocol": "s3",
            "target_options.endpoint_url": oracle.endpoint,
            "target_options.key": UFS_KEY,
            "target_options.secret": UFS_SECRET,
            "options.alluxio.worker.page.store.page.size": "64KB",
        })
        errors = []

        def reader(i):
            try:
                r = request(px.port, "GET", f"/{B}/{key}", timeout=60)
                if r.body != data:
                    errors.append(f"reader {i}: {r.status}, {len(r.body)} bytes")
            except Exception as e:
                errors.append(f"reader {i}: {e!r}")

        try:
            threads = [threading.Thread(target=reader, args=(i,)) for i in range(12)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            c.eq(errors, [], "concurrent readers")
        finally:
            c.eq(px.stop(), 0, "single-flight proxy exit code")
        gets = [(m, q, rng) for m, p, q, rng in oracle.log if p == f"/{B}/sf/object" and m == "GET"]
        ranges = []
        for m, q, rng in gets:
            if not rng:
                c.fail(f"an unranged GET of the object reached the UFS ({q!r})")
                continue
            a, _, b = rng[len("bytes="):].partition("-")
            a, b = int(a), int(b) if b else size - 1
            ranges.append((a, min(b, size - 1)))
            c.ok(a % P == 0, f"UFS range {rng} does not start on a page boundary")
            c.ok((b + 1) % P == 0 or b >= size - 1, f"UFS range {rng} does not end on a page boundary")
        ranges.sort()
        covered = 0
        for a, b in ranges:
            c.ok(a >= covered, f"bytes {a}-{min(b, covered - 1)} fetched twice ({len(ranges)} UFS GETs)")
            covered = max(covered, b + 1)
        c.eq(covered, size, "the UFS GETs cover the object")
        oracle_verdict(c, oracle, "single-flight")
    finally:
        oracle.stop()
        moto.stop()
