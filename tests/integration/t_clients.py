"""Stock S3 clients against the proxy: boto3 1.43 and 1.26, awscli v1 and v2, curl --aws-sigv4,
s3cmd, rclone, @aws-sdk/client-s3 (node) and the s3fs FUSE mount. Every byte, and the headers
each client exposes, compared with the truth."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import harness
from fixtures import BUCKET, LIST_BUCKET, META_KEY, PATHLIKE_SPECIAL, SPECIAL_KEYS
from harness import (
    ACCESS_KEY,
    HERE,
    SECRET_KEY,
    TestFailure,
    client_env,
    cmd_fail,
    find_aws_v1,
    find_aws_v2,
    find_system_python,
    kill_proc,
    quote_key,
    run,
    skip,
    test,
    track,
)

META_EXPECT = {"alpha": "one", "beta-key": "Two Words", "num": "42"}


def outdir(s, name):
    d = tempfile.mkdtemp(prefix=f"{name}-", dir=s.workdir)
    return d


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def sdk_spec(s, px, out_dir):
    """What the SDK clients read: every object in the data set, some ranges, heads, lists."""
    d = s.data()
    reads = [{"bucket": BUCKET, "key": k} for k in d.objects]
    for k, rng in (("sizes/p64k/3.5P", "bytes=65535-131072"), ("sizes/p64k/P+1", "bytes=-2"),
                   ("big/rand64m", "bytes=33554430-41943041"), ("special/sp ace.txt", "bytes=10-")):
        reads.append({"bucket": BUCKET, "key": k, "range": rng})
    heads = [{"bucket": BUCKET, "key": k} for k in (META_KEY, "sizes/p64k/P", "big/rand64m", SPECIAL_KEYS[1])]
    lists = [
        {"bucket": LIST_BUCKET},
        {"bucket": LIST_BUCKET, "page_size": 250, "delimiter": "/"},
        {"bucket": BUCKET, "prefix": "special/", "page_size": 4},
        {"bucket": BUCKET, "prefix": "special/", "delimiter": "/"},
    ]
    return {"endpoint": px.endpoint, "key": ACCESS_KEY, "secret": SECRET_KEY, "out_dir": out_dir,
            "reads": reads, "heads": heads, "lists": lists}


def expected_list(s, ls):
    from t_list import expected_listing

    d = s.data()
    keys = d.list_keys if ls["bucket"] == LIST_BUCKET else list(d.objects)
    return expected_listing(keys, ls.get("prefix", ""), ls.get("delimiter"))


def check_sdk_output(s, c, spec, out, who):
    d = s.data()
    for rd, got in zip(spec["reads"], out["reads"]):
        obj = d.objects[rd["key"]]
        what = f"{who} get {rd['key'][:50]!r} {rd.get('range') or ''}"
        if "error" in got:
            c.fail(f"{what}: error {got['error']} {got.get('message', '')}")
            continue
        data = obj.data
        if rd.get("range"):
            from t_s3 import expect_range

            status, rng = expect_range(obj.size, rd["range"])
            data = obj.data[rng[0] : rng[1] + 1]
            c.eq(got["content_range"], f"bytes {rng[0]}-{rng[1]}/{obj.size}", f"{what}: ContentRange")
        c.bytes_eq(read_file(got["file"]), data, what)
        c.eq(got["length"], len(data), f"{what}: ContentLength")
        c.eq(got["etag"], obj.etag, f"{what}: ETag")
        if obj.content_type:
            c.eq(got["content_type"], obj.content_type, f"{what}: ContentType")
        if rd["key"] == META_KEY:
            c.eq(got["metadata"], META_EXPECT, f"{what}: Metadata")
    c.eq(len(out["reads"]), len(spec["reads"]), f"{who}: reads answered")
    for hd, got in zip(spec["heads"], out["heads"]):
        obj = d.objects[hd["key"]]
        what = f"{who} head {hd['key'][:50]!r}"
        if "error" in got:
            c.fail(f"{what}: error {got['error']}")
            continue
        c.eq(got["length"], obj.size, f"{what}: ContentLength")
        c.eq(got["etag"], obj.etag, f"{what}: ETag")
        if hd["key"] == META_KEY:
            c.eq(got["metadata"], META_EXPECT, f"{what}: Metadata")
            c.eq(got["cache_control"], "max-age=60, private", f"{what}: CacheControl")
            c.eq(got["content_disposition"], 'attachment; filename="report.txt"', f"{what}: Disposition")
    for ls, got in zip(spec["lists"], out["lists"]):
        want_keys, want_prefixes = expected_list(s, ls)
        what = f"{who} list {ls}"
        c.eq(got["keys"] == want_keys, True, f"{what}: keys ({len(got['keys'])} vs {len(want_keys)})")
        c.eq(got["prefixes"], want_prefixes, f"{what}: prefixes")
    for b in (BUCKET, LIST_BUCKET):
        c.ok(b in out.get("buckets", []), f"{who}: ListBuckets lacks {b}")


def run_python_client(s, c, python, who, want_version_prefix):
    px = s.proxy("p64")
    out_dir = outdir(s, who)
    spec = sdk_spec(s, px, out_dir)
    env = client_env()
    env.pop("PYTHONPATH", None)
    p = run([python, os.path.join(HERE, "client_boto3.py")], timeout=300, env=env,
            input=json.dumps(spec).encode())
    if p.returncode != 0:
        raise TestFailure(cmd_fail(p, [python, "client_boto3.py"]))
    out = json.loads(p.stdout)
    c.ok(out["version"].startswith(want_version_prefix), f"{who}: boto3 {out['version']}")
    check_sdk_output(s, c, spec, out, f"{who} ({out['version']})")
    shutil.rmtree(out_dir, ignore_errors=True)


@test(proxy_only=False)
def client_boto3_image_1_43(s, c):
    import sys

    run_python_client(s, c, sys.executable, "boto3-image", "1.4")


@test(proxy_only=False)
def client_boto3_debian_1_26(s, c):
    py = find_system_python()
    if not py:
        raise TestFailure("Debian python3 (command -p python3) not found")
    run_python_client(s, c, py, "boto3-debian", "1.26")


@test(proxy_only=False)
def client_node_aws_sdk_v3(s, c):
    if not os.path.isdir(os.path.join(HERE, "node_modules", "@aws-sdk", "client-s3")):
        raise TestFailure("node_modules missing: run `npm ci` in tests/integration (tests/run.sh does)")
    px = s.proxy("p64")
    out_dir = outdir(s, "node")
    spec = sdk_spec(s, px, out_dir)
    p = run(["node", os.path.join(HERE, "client_node.mjs")], timeout=300, env=client_env(), cwd=HERE,
            input=json.dumps(spec).encode())
    if p.returncode != 0:
        raise TestFailure(cmd_fail(p, ["node", "client_node.mjs"]))
    check_sdk_output(s, c, spec, json.loads(p.stdout), "node @aws-sdk/client-s3")
    shutil.rmtree(out_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------------
# awscli


def awscli(s, c, aws, who):
    px = s.proxy("p64")
    d = s.data()
    env = client_env()
    base = [aws, "--endpoint-url", px.endpoint, "--region", "us-east-1"]
    out_dir = outdir(s, who)

    def call(args, timeout=300):
        p = run(base + args, timeout=timeout, env=env)
        if p.returncode != 0:
            c.fail(cmd_fail(p, [who] + args))
            return None
        return p

    # high-level: recursive copy (list + parallel ranged GETs for the big object)
    if call(["s3", "cp", "--recursive", f"s3://{BUCKET}/sizes/", out_dir + "/sizes/"]):
        for k, obj in d.objects.items():
            if k.startswith("sizes/"):
                path = os.path.join(out_dir, k)
                c.bytes_eq(read_file(path) if os.path.exists(path) else None, obj.data, f"{who} s3 cp {k}")
    if call(["s3", "cp", f"s3://{BUCKET}/big/rand64m", out_dir + "/big.bin"]):
        c.bytes_eq(read_file(out_dir + "/big.bin"), d.objects["big/rand64m"].data, f"{who} s3 cp big")
    p = call(["s3", "cp", f"s3://{BUCKET}/sizes/p64k/3.5P", "-"])
    if p:
        c.bytes_eq(p.stdout, d.objects["sizes/p64k/3.5P"].data, f"{who} s3 cp to stdout")
    # s3api with special keys, ranges, head
    for i, k in enumerate(SPECIAL_KEYS):
        path = f"{out_dir}/special-{i}"
        p = call(["s3api", "get-object", "--bucket", BUCKET, "--key", k, path])
        if p:
            meta = json.loads(p.stdout)
            c.bytes_eq(read_file(path), d.objects[k].data, f"{who} get-object {k[:40]!r}")
            c.eq(meta.get("ETag"), d.objects[k].etag, f"{who} get-object {k[:40]!r} ETag")
            c.eq(meta.get("ContentLength"), d.objects[k].size, f"{who} get-object {k[:40]!r} ContentLength")
    obj = d.objects["big/rand64m"]
    p = call(["s3api", "get-object", "--bucket", BUCKET, "--key", obj.key, "--range", "bytes=1000-2000000",
              f"{out_dir}/range"])
    if p:
        c.bytes_eq(read_file(f"{out_dir}/range"), obj.data[1000:2000001], f"{who} get-object --range")
        c.eq(json.loads(p.stdout).get("ContentRange"), f"bytes 1000-2000000/{obj.size}", f"{who} ContentRange")
    p = call(["s3api", "head-object", "--bucket", BUCKET, "--key", META_KEY])
    if p:
        h = json.loads(p.stdout)
        c.eq(h.get("Metadata"), META_EXPECT, f"{who} head-object Metadata")
        c.eq(h.get("ContentType"), "text/x-test; charset=utf-8", f"{who} head-object ContentType")
        c.eq(h.get("ContentLength"), d.objects[META_KEY].size, f"{who} head-object ContentLength")
        c.eq(h.get("ETag"), d.objects[META_KEY].etag, f"{who} head-object ETag")
    # listing: s3api paginates itself; s3 ls
    p = call(["s3api", "list-objects-v2", "--bucket", LIST_BUCKET, "--page-size", "300"])
    if p:
        keys = [o["Key"] for o in json.loads(p.stdout).get("Contents", [])]
        c.eq(keys == d.list_keys, True, f"{who} list-objects-v2: {len(keys)} keys in order")
    p = call(["s3api", "list-objects", "--bucket", BUCKET, "--prefix", "special/"])
    if p:
        keys = [o["Key"] for o in json.loads(p.stdout).get("Contents", [])]
        c.eq(keys, sorted((k for k in d.objects if k.startswith("special/")), key=lambda k: k.encode()),
             f"{who} list-objects special/")
    p = call(["s3", "ls", "--recursive", f"s3://{LIST_BUCKET}/"])
    if p:
        keys = [ln.split(None, 3)[3] for ln in p.stdout.decode().splitlines() if ln.strip()]
        c.eq(keys == d.list_keys, True, f"{who} s3 ls --recursive: {len(keys)} keys")
    p = call(["s3", "ls"])
    if p:
        c.ok(BUCKET in p.stdout.decode(), f"{who} s3 ls buckets")
    # an error is reported as such
    p = run(base + ["s3api", "head-object", "--bucket", BUCKET, "--key", "no-such"], env=env, timeout=60)
    c.ok(p.returncode != 0 and b"404" in p.stderr, f"{who} head-object missing: {p.returncode} {p.stderr[-200:]!r}")
    shutil.rmtree(out_dir, ignore_errors=True)


@test(proxy_only=False)
def client_awscli_v1(s, c):
    aws = find_aws_v1()
    if not aws:
        raise TestFailure("awscli v1 (the image's `aws`) not found")
    p = run([aws, "--version"], env=client_env())
    c.ok(b"aws-cli/1." in p.stdout + p.stderr, f"aws --version: {p.stdout + p.stderr!r}")
    awscli(s, c, aws, "awscli-v1")


@test(proxy_only=False)
def client_awscli_v2(s, c):
    aws = find_aws_v2()
    if not aws:
        raise TestFailure("awscli v2 (Debian's, command -p aws) not found")
    p = run([aws, "--version"], env=client_env())
    c.ok(b"aws-cli/2." in p.stdout + p.stderr, f"{aws} --version: {p.stdout + p.stderr!r}")
    awscli(s, c, aws, "awscli-v2")


# ------------------------------------------------------------------------------------------
# curl --aws-sigv4


def parse_curl_headers(path):
    """The last response's status and headers from a curl -D file."""
    blocks = read_file(path).decode("latin-1").split("\r\n\r\n")
    blocks = [b for b in blocks if b.startswith("HTTP/")]
    lines = blocks[-1].split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs


@test(proxy_only=False)
def client_curl_aws_sigv4(s, c):
    px = s.proxy("p64")
    d = s.data()
    out_dir = outdir(s, "curl")
    keys = [k for k in d.objects if k.startswith("sizes/p64k/")] + ["big/rand64m", META_KEY] + [
        "special/sp ace.txt", "special/unicodé-ファイル-😀.bin", "special/plus+sign+", "special/lit%2Fpercent",
        "special/eq=ual&amp"]
    base = ["curl", "-sS", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{ACCESS_KEY}:{SECRET_KEY}",
            "--max-time", "120", "--globoff"]
    env = client_env()
    for i, k in enumerate(keys):
        obj = d.objects[k]
        url = f"{px.endpoint}/{BUCKET}/{quote_key(k)}"
        for rng in (None, "bytes=1-70000"):
            body, hdr = f"{out_dir}/{i}.bin", f"{out_dir}/{i}.h"
            args = base + ["-o", body, "-D", hdr] + (["-H", f"Range: {rng}"] if rng else []) + [url]
            p = run(args, env=env, timeout=150)
            what = f"curl GET {k[:40]!r} {rng or ''}"
            if p.returncode != 0:
                c.fail(cmd_fail(p, args))
                continue
            status, h = parse_curl_headers(hdr)
            data = read_file(body) if os.path.exists(body) else b""
            if rng and obj.size > 1:
                last = min(70000, obj.size - 1)
                c.eq(status, 206, f"{what}: status")
                c.bytes_eq(data, obj.data[1 : last + 1], what)
                c.eq(h.get("content-range"), f"bytes 1-{last}/{obj.size}", f"{what}: Content-Range")
            elif rng:
                c.eq(status, 416, f"{what}: status")
            else:
                c.eq(status, 200, f"{what}: status")
                c.bytes_eq(data, obj.data, what)
                c.eq(h.get("etag"), obj.etag, f"{what}: ETag")
                c.eq(h.get("content-length"), str(obj.size), f"{what}: Content-Length")
                if obj.content_type:
                    c.eq(h.get("content-type"), obj.content_type, f"{what}: Content-Type")
                for name, value in obj.headers.items():
                    c.eq(h.get(name.lower()), value, f"{what}: {name}")
    # HEAD, a 404 and a list
    p = run(base + ["-I", f"{px.endpoint}/{BUCKET}/sizes/p64k/P"], env=env)
    c.ok(b" 200" in p.stdout.split(b"\r\n")[0], f"curl -I status line {p.stdout[:40]!r}")
    c.ok(f"content-length: {d.objects['sizes/p64k/P'].size}".encode() in p.stdout.lower(), "curl -I Content-Length")
    p = run(base + ["-o", "/dev/null", "-w", "%{http_code}", f"{px.endpoint}/{BUCKET}/no-such-key"], env=env)
    c.eq(p.stdout, b"404", "curl 404")
    p = run(base + [f"{px.endpoint}/{BUCKET}?list-type=2&prefix=meta%2F"], env=env)
    c.ok(b"<Key>meta/full</Key>" in p.stdout and b"<Key>meta/plain</Key>" in p.stdout, f"curl list: {p.stdout[:300]!r}")
    shutil.rmtree(out_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------------
# s3cmd


@test(proxy_only=False)
def client_s3cmd(s, c):
    px = s.proxy("p64")
    d = s.data()
    out_dir = outdir(s, "s3cmd")
    cfg = os.path.join(out_dir, "s3cfg")
    with open(cfg, "w") as f:
        f.write(
            "[default]\n"
            f"access_key = {ACCESS_KEY}\nsecret_key = {SECRET_KEY}\n"
            f"host_base = 127.0.0.1:{px.port}\nhost_bucket = 127.0.0.1:{px.port}\n"
            "use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n"
            "check_ssl_certificate = False\nmultipart_chunk_size_mb = 15\n"
        )
    base = ["s3cmd", "-c", cfg, "--no-progress"]
    env = client_env()
    keys = [k for k in d.objects if k.startswith("sizes/p64k/")] + ["big/rand64m", "meta/plain"] + PATHLIKE_SPECIAL
    for i, k in enumerate(keys):
        path = f"{out_dir}/{i}.bin"
        args = base + ["get", "--force", f"s3://{BUCKET}/{k}", path]
        p = run(args, env=env, timeout=300)
        if p.returncode != 0:
            c.fail(cmd_fail(p, args))
            continue
        c.bytes_eq(read_file(path), d.objects[k].data, f"s3cmd get {k!r}")
    p = run(base + ["ls", "--recursive", f"s3://{LIST_BUCKET}/"], env=env, timeout=120)
    if p.returncode == 0:
        keys = [ln.split(f"s3://{LIST_BUCKET}/", 1)[1] for ln in p.stdout.decode().splitlines() if "s3://" in ln]
        c.eq(keys == d.list_keys, True, f"s3cmd ls --recursive: {len(keys)} keys in order")
    else:
        c.fail(cmd_fail(p, ["s3cmd", "ls", "--recursive"]))
    p = run(base + ["ls", f"s3://{BUCKET}/special/"], env=env, timeout=60)
    c.eq(p.returncode, 0, f"s3cmd ls special/: {p.stderr[-300:]!r}")
    p = run(base + ["info", f"s3://{BUCKET}/{META_KEY}"], env=env, timeout=60)
    if p.returncode == 0:
        info = p.stdout.decode()
        obj = d.objects[META_KEY]
        c.ok(f"{obj.size}" in info, f"s3cmd info File size: {info!r}")
        c.ok(obj.etag.strip('"') in info, "s3cmd info MD5 sum")
        c.ok("text/x-test" in info, "s3cmd info MIME type")
    else:
        c.fail(cmd_fail(p, ["s3cmd", "info"]))
    p = run(base + ["ls"], env=env, timeout=60)
    c.ok(p.returncode == 0 and f"s3://{BUCKET}".encode() in p.stdout, f"s3cmd ls buckets: {p.stdout[:300]!r}")
    shutil.rmtree(out_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------------
# rclone


def rclone_env(px):
    env = client_env(drop=("AWS_CA_BUNDLE",))
    env.update(
        RCLONE_CONFIG="/nonexistent/rclone.conf",
        RCLONE_CONFIG_PX_TYPE="s3",
        RCLONE_CONFIG_PX_PROVIDER="Other",
        RCLONE_CONFIG_PX_ENV_AUTH="false",
        RCLONE_CONFIG_PX_ACCESS_KEY_ID=ACCESS_KEY,
        RCLONE_CONFIG_PX_SECRET_ACCESS_KEY=SECRET_KEY,
        RCLONE_CONFIG_PX_REGION="us-east-1",
        RCLONE_CONFIG_PX_ENDPOINT=px.endpoint,
        RCLONE_CONFIG_PX_FORCE_PATH_STYLE="true",
    )
    return env


@test(proxy_only=False)
def client_rclone(s, c):
    px = s.proxy("p64")
    d = s.data()
    env = rclone_env(px)
    out_dir = outdir(s, "rclone")
    base = ["rclone", "--retries", "1", "--low-level-retries", "1", "--contimeout", "10s", "--timeout", "60s"]

    def call(args, timeout=300):
        p = run(base + args, env=env, timeout=timeout)
        if p.returncode != 0:
            c.fail(cmd_fail(p, ["rclone"] + args))
            return None
        return p

    if call(["copy", f"px:{BUCKET}/sizes", f"{out_dir}/sizes"]):
        for k, obj in d.objects.items():
            if k.startswith("sizes/"):
                path = os.path.join(out_dir, k)
                c.bytes_eq(read_file(path) if os.path.exists(path) else None, obj.data, f"rclone copy {k}")
    p = call(["cat", f"px:{BUCKET}/big/rand64m"])
    if p:
        c.bytes_eq(p.stdout, d.objects["big/rand64m"].data, "rclone cat big")
    obj = d.objects["sizes/p64k/3.5P"]
    for off, cnt in ((0, 1), (65535, 2), (1000, 100000), (obj.size - 10, 100)):
        p = call(["cat", "--offset", str(off), "--count", str(cnt), f"px:{BUCKET}/{obj.key}"])
        if p:
            c.bytes_eq(p.stdout, obj.data[off : off + cnt], f"rclone cat --offset {off} --count {cnt}")
    for k in PATHLIKE_SPECIAL:
        p = call(["cat", f"px:{BUCKET}/{k}"])
        if p:
            c.bytes_eq(p.stdout, d.objects[k].data, f"rclone cat {k!r}")
    p = call(["lsjson", "-R", "--files-only", f"px:{LIST_BUCKET}"])
    if p:
        entries = json.loads(p.stdout)
        got = {e["Path"]: e["Size"] for e in entries}
        c.eq(sorted(got) == sorted(d.list_keys), True, f"rclone lsjson -R: {len(got)} entries")
        c.eq(all(got.get(k) == len(k.encode()) for k in d.list_keys), True, "rclone lsjson sizes")
    p = call(["lsjson", f"px:{BUCKET}/sizes/p64k"])
    if p:
        got = {e["Path"]: e["Size"] for e in json.loads(p.stdout)}
        want = {k.split("/")[-1]: o.size for k, o in d.objects.items() if k.startswith("sizes/p64k/")}
        c.eq(got, want, "rclone lsjson sizes/p64k")
    p = call(["md5sum", f"px:{BUCKET}/sizes/p64k"])
    if p:
        got = dict(reversed(ln.split("  ", 1)) for ln in p.stdout.decode().splitlines() if ln.strip())
        want = {k.split("/")[-1]: hashlib.md5(o.data).hexdigest() for k, o in d.objects.items()
                if k.startswith("sizes/p64k/")}
        c.eq(got, want, "rclone md5sum (from ETags)")
    p = call(["check", "--one-way", f"{out_dir}/sizes", f"px:{BUCKET}/sizes"])
    shutil.rmtree(out_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------------
# s3fs FUSE mount


def fuse_usable():
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
        os.close(fd)
    except OSError as e:
        return f"/dev/fuse not usable: {e}"
    if not shutil.which("s3fs"):
        return None  # s3fs itself missing is a failure, not a skip
    return None


def unmount(mnt):
    for cmd in (["fusermount", "-u", mnt], ["fusermount3", "-u", mnt], ["umount", mnt], ["umount", "-l", mnt]):
        if shutil.which(cmd[0]):
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if p.returncode == 0:
                return True
    return not os.path.ismount(mnt)


@test(proxy_only=False)
def client_s3fs_fuse_mount(s, c):
    why = fuse_usable()
    if why:
        skip(why)
    if not shutil.which("s3fs"):
        raise TestFailure("s3fs not installed")
    px = s.proxy("p64")
    d = s.data()
    work = outdir(s, "s3fs")
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt)
    pw = os.path.join(work, "passwd")
    with open(pw, "w") as f:
        f.write(f"{ACCESS_KEY}:{SECRET_KEY}\n")
    os.chmod(pw, 0o600)
    log = os.path.join(work, "s3fs.log")
    argv = ["s3fs", BUCKET, mnt, "-f", "-o", f"url={px.endpoint}", "-o", "use_path_request_style",
            "-o", f"passwd_file={pw}", "-o", "endpoint=us-east-1", "-o", "nomultipart",
            "-o", "stat_cache_expire=1", "-o", "retries=1", "-o", "connect_timeout=10",
            "-o", "readwrite_timeout=60", "-o", "dbglevel=info"]
    proc = track(subprocess.Popen(argv, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=client_env()))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not os.path.ismount(mnt) and proc.poll() is None:
            time.sleep(0.1)
        if not os.path.ismount(mnt):
            text = read_file(log).decode("utf-8", "replace")[-1500:]
            if "fuse: device not found" in text or "Operation not permitted" in text:
                skip(f"FUSE mount not permitted here: {text[-300:]}")
            raise TestFailure(f"s3fs did not mount (exit {proc.poll()}):\n{text}")
        time.sleep(0.3)
        for k, obj in d.objects.items():
            if not (k.startswith("sizes/") or k in PATHLIKE_SPECIAL or k in ("big/rand64m", META_KEY)):
                continue
            path = os.path.join(mnt, k)
            try:
                st = os.stat(path)
                c.eq(st.st_size, obj.size, f"s3fs stat {k!r} size")
                c.bytes_eq(read_file(path), obj.data, f"s3fs read {k!r}")
            except OSError as e:
                c.fail(f"s3fs {k!r}: {e}")
        obj = d.objects["big/rand64m"]
        try:
            with open(os.path.join(mnt, obj.key), "rb") as f:
                for off, n in ((0, 10), (33 * 1024 * 1024 + 5, 3 * 1024 * 1024), (obj.size - 7, 100)):
                    f.seek(off)
                    c.bytes_eq(f.read(n), obj.data[off : off + n], f"s3fs pread big at {off}")
        except OSError as e:
            c.fail(f"s3fs big pread: {e}")
        try:
            names = sorted(os.listdir(os.path.join(mnt, "sizes", "p64k")))
            want = sorted(k.split("/")[-1] for k in d.objects if k.startswith("sizes/p64k/"))
            c.eq(names, want, "s3fs listdir sizes/p64k")
            top = set(os.listdir(mnt))
            c.ok({"sizes", "special", "meta", "big"} <= top, f"s3fs listdir /: {sorted(top)}")
        except OSError as e:
            c.fail(f"s3fs listdir: {e}")
        if not harness.MOTO_MODE:
          try:
            with open(os.path.join(mnt, "s3fs-write-test"), "wb") as f:
                f.write(b"x")
            c.fail("s3fs write succeeded against a read-only proxy")
          except OSError:
            pass
    finally:
        ok = unmount(mnt)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill_proc(proc, signal.SIGTERM)
        c.ok(ok, "s3fs unmount failed")
