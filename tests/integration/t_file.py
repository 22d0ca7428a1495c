"""target_protocol: file — a local directory whose top-level folders are buckets."""

import calendar
import os
import time

from botocore.exceptions import ClientError

from fixtures import proxy_sets_file
from harness import (
    RFC7231_RE,
    check_error,
    http_date,
    prng_bytes,
    quote_key,
    request,
    test,
)

MTIME = calendar.timegm((2021, 3, 4, 5, 6, 7))  # fixed, so Last-Modified is known


def make_root(s, name):
    root = os.path.join(s.workdir, name)
    files = {
        "fb1/hello.txt": b"hello, file target\n",
        "fb1/empty": b"",
        "fb1/dir/sub/deep.bin": prng_bytes("deep", 200_000),
        "fb1/dir/a.bin": prng_bytes("a", 64 * 1024 + 1),
        "fb1/sp ace+plus=eq.bin": prng_bytes("sp", 1234),
        "fb1/unicodé-ファイル.txt": "ünïcödé\n".encode(),
        "fb1/big.bin": prng_bytes("filebig", 3 * 1024 * 1024 + 17),
    }
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        os.utime(p, (MTIME, MTIME))
    os.makedirs(os.path.join(root, "fb2"), exist_ok=True)
    with open(os.path.join(s.workdir, name + "-secret.txt"), "wb") as f:
        f.write(b"TOP SECRET outside the root\n")
    return root, {k[len("fb1/"):]: v for k, v in files.items()}


@test(timeout=300)
def file_target_get_head_range_list(s, c):
    root, files = make_root(s, "file-ufs")
    px = s.new_proxy("file", proxy_sets_file(root, **{"options.alluxio.worker.page.store.page.size": "64KB"}))
    try:
        s3 = px.client()
        names = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
        c.eq(names, ["fb1", "fb2"], "ListBuckets")
        c.eq(s3.head_bucket(Bucket="fb1")["ResponseMetadata"]["HTTPStatusCode"], 200, "HeadBucket fb1")
        etags = {}
        for key, data in files.items():
            r = request(px.port, "GET", f"/fb1/{quote_key(key)}")
            what = f"GET {key!r}"
            if not c.eq(r.status, 200, f"{what}: status"):
                continue
            c.bytes_eq(r.body, data, what)
            c.eq(r.h("Content-Length"), str(len(data)), f"{what}: Content-Length")
            c.eq(r.h("Last-Modified"), http_date(MTIME), f"{what}: Last-Modified = file mtime")
            etag = r.h("ETag") or ""
            c.ok(len(etag) >= 3 and etag.startswith('"') and etag.endswith('"'), f"{what}: ETag {etag!r} not quoted")
            c.eq(r.h("Accept-Ranges"), "bytes", f"{what}: Accept-Ranges")
            etags[key] = etag
            h = request(px.port, "HEAD", f"/fb1/{quote_key(key)}")
            c.eq((h.status, h.h("Content-Length"), h.h("ETag"), h.body), (200, str(len(data)), etag, b""), f"HEAD {key!r}")
            b = s3.get_object(Bucket="fb1", Key=key)
            c.bytes_eq(b["Body"].read(), data, f"boto3 {key!r}")
        c.eq(len(set(etags.values())), len(etags), "ETags are distinct per file")
        big = files["big.bin"]
        for spec, lo, hi in (("bytes=0-0", 0, 1), ("bytes=65535-65536", 65535, 65537),
                             ("bytes=-100", len(big) - 100, len(big)), ("bytes=3000000-", 3000000, len(big)),
                             (f"bytes=100-{len(big) + 100}", 100, len(big))):
            r = request(px.port, "GET", "/fb1/big.bin", headers={"Range": spec})
            c.eq(r.status, 206, f"big.bin {spec}: status")
            c.eq(r.h("Content-Range"), f"bytes {lo}-{hi - 1}/{len(big)}", f"big.bin {spec}: Content-Range")
            c.bytes_eq(r.body, big[lo:hi], f"big.bin {spec}")
        r = request(px.port, "GET", "/fb1/big.bin", headers={"Range": f"bytes={len(big)}-"})
        check_error(c, r, 416, "InvalidRange", "big.bin past the end")
        c.eq(r.h("Content-Range"), f"bytes */{len(big)}", "416 Content-Range")
        r = request(px.port, "GET", "/fb1/empty", headers={"Range": "bytes=0-0"})
        check_error(c, r, 416, "InvalidRange", "range on an empty file")
        # conditionals work on file objects too
        r = request(px.port, "GET", "/fb1/hello.txt", headers={"If-None-Match": etags["hello.txt"]})
        c.eq(r.status, 304, "If-None-Match on a file")
        r = request(px.port, "GET", "/fb1/hello.txt", headers={"If-Modified-Since": http_date(MTIME)})
        c.eq(r.status, 304, "If-Modified-Since = mtime")
        # listing
        pag = s3.get_paginator("list_objects_v2")
        keys = [o["Key"] for p in pag.paginate(Bucket="fb1") for o in p.get("Contents", [])]
        c.eq(keys, sorted(files, key=lambda k: k.encode()), "ListObjectsV2 keys")
        keys = [o["Key"] for p in pag.paginate(Bucket="fb1", PaginationConfig={"PageSize": 2}) for o in p.get("Contents", [])]
        c.eq(keys, sorted(files, key=lambda k: k.encode()), "ListObjectsV2 keys, 2 per page")
        r = s3.list_objects_v2(Bucket="fb1", Delimiter="/")
        c.eq([p["Prefix"] for p in r.get("CommonPrefixes", [])], ["dir/"], "CommonPrefixes")
        c.eq(sorted(o["Key"] for o in r.get("Contents", [])),
             sorted(k for k in files if "/" not in k), "top-level keys")
        sizes = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket="fb1", Prefix="dir/")["Contents"]}
        c.eq(sizes, {k: len(v) for k, v in files.items() if k.startswith("dir/")}, "sizes under dir/")
        r = s3.list_objects_v2(Bucket="fb1", Prefix="dir/", Delimiter="/")
        c.eq([p["Prefix"] for p in r.get("CommonPrefixes", [])], ["dir/sub/"], "nested CommonPrefixes")
        r = s3.list_objects(Bucket="fb1", Prefix="sp")
        c.eq([o["Key"] for o in r.get("Contents", [])], ["sp ace+plus=eq.bin"], "v1 list with prefix")
        c.eq(s3.list_objects_v2(Bucket="fb2").get("KeyCount"), 0, "empty bucket")
        # errors
        check_error(c, request(px.port, "GET", "/fb1/nope"), 404, "NoSuchKey", "missing file")
        check_error(c, request(px.port, "GET", "/fb1/dir"), 404, "NoSuchKey", "a directory is not an object")
        check_error(c, request(px.port, "GET", "/nobucket/x"), 404, "NoSuchBucket", "missing bucket dir")
        check_error(c, request(px.port, "GET", "/nobucket", "list-type=2"), 404, "NoSuchBucket", "list missing bucket")
        try:
            s3.head_object(Bucket="fb1", Key="nope")
            c.fail("head_object on a missing file: no error")
        except ClientError as e:
            c.eq(e.response["Error"]["Code"], "404", "head_object missing file")
    finally:
        c.eq(px.stop(), 0, "file proxy exit code")


@test()
def file_target_no_escape_from_root(s, c):
    """Paths never leave the root: .., encoded .., absolute-looking keys."""
    root, files = make_root(s, "file-ufs-escape")
    secret = b"TOP SECRET"
    name = os.path.basename(root) + "-secret.txt"
    os.symlink(os.path.join(s.workdir, name), os.path.join(root, "fb1", "link-out"))
    os.symlink(s.workdir, os.path.join(root, "fb1", "dirlink-out"))
    os.symlink(s.workdir, os.path.join(root, "linkbucket"))
    px = s.new_proxy("file-escape", proxy_sets_file(root))
    try:
        for path in (
            f"/fb1/../../{name}",
            f"/fb1/%2E%2E/%2E%2E/{name}",
            f"/fb1/..%2F..%2F{name}",
            f"/../{name}",
            f"/%2E%2E/{name}",
            f"/fb1/dir/../../../{name}",
            "/fb1/%2Fetc%2Fpasswd",
            "/fb1/link-out",
            f"/fb1/dirlink-out/{name}",
            f"/linkbucket/{name}",
            "/fb1//etc/passwd",
            "/..",
            "/.",
        ):
            for signed in (True, False):
                try:
                    r = request(px.port, "GET", path, signed=signed)
                except Exception as e:
                    c.fail(f"GET {path}: {e!r}")
                    continue
                c.ok(secret not in r.body and b"root:x:" not in r.body,
                     f"GET {path} leaked a file outside the root: {r.body[:200]!r}")
                if r.body.startswith(b"<?xml") and b"<Error>" not in r.body:
                    c.ok(name.encode() not in r.body and b"file-ufs-escape" not in r.body,
                         f"GET {path} listed something outside the root: {r.body[:300]!r}")
                c.ok(r.status != 200 or path in ("/..", "/."), f"GET {path}: status {r.status}")
        for bucket, query in (("fb1", "list-type=2&prefix=..%2F"), ("fb1", "list-type=2"),
                              ("linkbucket", "list-type=2"), ("fb1", "list-type=2&prefix=dirlink-out%2F")):
            r = request(px.port, "GET", f"/{bucket}", query)
            c.ok(secret not in r.body and name.encode() not in r.body, f"list /{bucket}?{query} leaked: {r.body[:300]!r}")
        r = request(px.port, "GET", "/")
        c.ok(b"<Name>linkbucket</Name>" not in r.body, "a symlinked folder listed as a bucket")
    finally:
        c.eq(px.stop(), 0, "file-escape proxy exit code")


@test()
def file_target_etag_stable_and_rewrite(s, c):
    root, files = make_root(s, "file-ufs-etag")
    px = s.new_proxy("file-etag", proxy_sets_file(root, metadata_cache_ttl="1s"))
    try:
        def head(key):
            r = request(px.port, "HEAD", f"/fb1/{quote_key(key)}")
            return r.status, r.h("ETag"), r.h("Last-Modified"), r.h("Content-Length")

        before = {k: head(k) for k in files}
        c.eq(px.stop(), 0, "first exit code")
        px.start(port=px.port)
        after = {k: head(k) for k in files}
        c.eq(after, before, "ETag/Last-Modified/size across a restart")
        # rewrite in place, same size and same mtime second -> still a new ETag? The mtime is
        # set to another value so any (size, mtime, inode)-style derivation changes.
        p = os.path.join(root, "fb1", "hello.txt")
        new = b"HELLO, FILE TARGET\n"
        with open(p, "r+b") as f:
            f.write(new)
        os.utime(p, (MTIME + 60, MTIME + 60))
        # replace with another size through rename (new inode)
        p2 = os.path.join(root, "fb1", "dir", "a.bin")
        new2 = prng_bytes("a-new", 5000)
        with open(p2 + ".tmp", "wb") as f:
            f.write(new2)
        os.replace(p2 + ".tmp", p2)
        # a new file appears
        with open(os.path.join(root, "fb2", "fresh.txt"), "wb") as f:
            f.write(b"fresh")
        time.sleep(1.5)
        for key, data in (("hello.txt", new), ("dir/a.bin", new2)):
            st, etag, lm, cl = head(key)
            c.ok(etag != before[key][1], f"{key}: ETag unchanged after rewrite ({etag})")
            c.eq(cl, str(len(data)), f"{key}: Content-Length after rewrite")
            r = request(px.port, "GET", f"/fb1/{quote_key(key)}")
            c.bytes_eq(r.body, data, f"{key}: bytes after rewrite")
            c.eq(r.h("ETag"), etag, f"{key}: GET ETag = HEAD ETag")
        c.eq(head("hello.txt")[2], http_date(MTIME + 60), "Last-Modified follows mtime")
        r = request(px.port, "GET", "/fb2/fresh.txt")
        c.eq((r.status, r.body), (200, b"fresh"), "new file visible")
        c.ok(RFC7231_RE.match(head("empty")[2] or ""), "Last-Modified format")
    finally:
        c.eq(px.stop(), 0, "file-etag proxy exit code")
