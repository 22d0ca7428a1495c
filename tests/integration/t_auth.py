"""Client authentication (issue 4): every request verified with SigV4 against the proxy's own
client credentials, apart from the UFS keys. Real clients with the right keys read; a wrong
secret, an unknown key, no signature, SigV2, tampered or expired presigned URLs are refused with
S3's codes; keys rotate on SIGHUP; anonymous access only when asked, and loopback only."""

import os
import signal
import subprocess
import time
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from harness import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    check_error,
    client_env,
    cmd_fail,
    find_aws_v1,
    request,
    run,
    test,
)
from fixtures import BUCKET

OTHER_KEY = "AKIDOTHER"
OTHER_SECRET = "other/Secret+Key"


def client(px, key=ACCESS_KEY, secret=SECRET_KEY, **kw):
    return boto3.client(
        "s3",
        endpoint_url=px.endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=kw.pop("region", REGION),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **kw),
    )


def small_key(s):
    d = s.data()
    k = "sizes/p64k/P+1"
    return k, d.objects[k]


def error_code(e):
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


@test(proxy_only=False)
def auth_boto3_right_wrong_unknown(s, c):
    px = s.proxy("p64")
    k, obj = small_key(s)
    got = client(px).get_object(Bucket=BUCKET, Key=k)["Body"].read()
    c.bytes_eq(got, obj.data, "right keys read")
    try:
        client(px, secret="not-the-secret").get_object(Bucket=BUCKET, Key=k)
        c.fail("wrong secret was served")
    except ClientError as e:
        c.eq(error_code(e), ("SignatureDoesNotMatch", 403), "wrong secret")
    try:
        client(px, key="AKIDUNKNOWN").list_objects_v2(Bucket=BUCKET, MaxKeys=1)
        c.fail("unknown key was served")
    except ClientError as e:
        c.eq(error_code(e), ("InvalidAccessKeyId", 403), "unknown key")
    try:
        client(px, region="eu-west-1").head_bucket(Bucket=BUCKET)
        c.fail("wrong region was served")
    except ClientError as e:
        c.eq(e.response["ResponseMetadata"]["HTTPStatusCode"], 400, "wrong region status")


@test(proxy_only=False)
def auth_error_bodies_as_s3(s, c):
    px = s.proxy("p64")
    k, _ = small_key(s)
    path = f"/{BUCKET}/sizes/p64k/P%2B1"
    # No credentials at all.
    r = request(px.port, "GET", path, signed=False)
    check_error(c, r, 403, "AccessDenied", "unsigned GET")
    # Wrong signature: S3 puts StringToSign and CanonicalRequest in the XML.
    from harness import sign

    hdrs = sign("GET", f"127.0.0.1:{px.port}", path, "", {}, b"", secret="wrong")
    r = request(px.port, "GET", path, headers=[h for h in hdrs if h[0].lower() != "host"],
                signed=False, host=f"127.0.0.1:{px.port}")
    root = check_error(c, r, 403, "SignatureDoesNotMatch", "wrong signature")
    if root is not None:
        c.ok(root.findtext("StringToSign", "").startswith("AWS4-HMAC-SHA256\n"), "StringToSign")
        c.ok(root.findtext("CanonicalRequest", "").startswith("GET\n"), "CanonicalRequest")
        c.eq(root.findtext("AWSAccessKeyId"), ACCESS_KEY, "AWSAccessKeyId")
    # SigV2 gets a clear 400 (header form, and the presigned form botocore makes by default).
    r = request(px.port, "GET", path, headers={"Authorization": f"AWS {ACCESS_KEY}:c2lnbmF0dXJl"},
                signed=False)
    root = check_error(c, r, 400, "InvalidRequest", "SigV2")
    if root is not None:
        c.ok("AWS4-HMAC-SHA256" in root.findtext("Message", ""), "SigV2 message names SigV4")
    url = client(px).generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": k})
    if "Signature=" in url and "X-Amz-Signature" not in url:
        q = url.split("?", 1)[1]
        r = request(px.port, "GET", path, query=q, signed=False)
        check_error(c, r, 400, "InvalidRequest", "SigV2 presigned URL")
    # HEAD errors have no body.
    r = request(px.port, "HEAD", path, signed=False)
    check_error(c, r, 403, "AccessDenied", "unsigned HEAD", head=True)


@test(proxy_only=False)
def auth_presigned_url_with_plain_curl(s, c):
    px = s.proxy("p64")
    k, obj = small_key(s)
    # botocore presigns SigV2 for S3 unless told otherwise: ask for SigV4.
    url = client(px, signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": k}, ExpiresIn=2
    )
    p = run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", url], env=client_env())
    body, _, status = p.stdout.rpartition(b"\n")
    c.eq(status, b"200", "presigned GET status")
    c.bytes_eq(body, obj.data, "presigned GET bytes")
    # One character of the signature changed.
    i = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    bad = url[:i] + ("0" if url[i] != "0" else "1") + url[i + 1 :]
    p = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", bad], env=client_env())
    c.eq(p.stdout, b"403", "tampered presigned URL")
    # A changed key (path) with the same signature.
    bad = url.replace("P%2B1", "P", 1)
    p = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", bad], env=client_env())
    c.eq(p.stdout, b"403", "presigned URL for another key")
    # After expiry.
    time.sleep(3.5)
    p = run(["curl", "-sS", "-w", "\n%{http_code}", url], env=client_env())
    body, _, status = p.stdout.rpartition(b"\n")
    c.eq(status, b"403", "expired presigned URL")
    c.ok(b"<Code>AccessDenied</Code>" in body and b"expired" in body, f"expired body {body[:200]!r}")


@test(proxy_only=False)
def auth_curl_awscli_s3cmd(s, c):
    px = s.proxy("p64")
    k, obj = small_key(s)
    url = f"{px.endpoint}/{BUCKET}/sizes/p64k/P%2B1"
    for user, want in ((f"{ACCESS_KEY}:{SECRET_KEY}", b"200"), (f"{ACCESS_KEY}:nope", b"403"),
                       (f"AKIDUNKNOWN:{SECRET_KEY}", b"403")):
        p = run(["curl", "-sS", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", user, "-o",
                 "/dev/null", "-w", "%{http_code}", url], env=client_env())
        c.eq(p.stdout, want, f"curl --aws-sigv4 as {user.split(':')[0]}/{user.split(':')[1][:4]}")
    aws = find_aws_v1()
    if aws:
        argv = [aws, "--endpoint-url", px.endpoint, "s3", "cp", f"s3://{BUCKET}/{k}", "-"]
        p = run(argv, env=client_env())
        c.ok(p.returncode == 0, cmd_fail(p, argv))
        c.bytes_eq(p.stdout, obj.data, "awscli v1 with the right keys")
        p = run(argv, env=client_env({"AWS_SECRET_ACCESS_KEY": "wrong"}))
        # awscli starts with a HEAD, whose 403 carries no body (so no code to show).
        c.ok(p.returncode != 0 and b"403" in p.stderr, f"awscli wrong secret: {p.stderr[-300:]!r}")
    cfg = os.path.join(s.workdir, "s3cfg-auth")
    for secret, ok in ((SECRET_KEY, True), ("wrong", False)):
        with open(cfg, "w") as f:
            f.write(
                f"[default]\naccess_key = {ACCESS_KEY}\nsecret_key = {secret}\n"
                f"host_base = 127.0.0.1:{px.port}\nhost_bucket = 127.0.0.1:{px.port}\n"
                "use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n"
            )
        argv = ["s3cmd", "-c", cfg, "--no-check-md5", "get", "--force", f"s3://{BUCKET}/{k}", "-"]
        p = run(argv, env=client_env())
        if ok:
            c.ok(p.returncode == 0, cmd_fail(p, argv))
            c.bytes_eq(p.stdout, obj.data, "s3cmd with the right keys")
        else:
            c.ok(p.returncode != 0, "s3cmd with a wrong secret must fail")


@test(proxy_only=False)
def auth_credentials_file_and_sighup_rotation(s, c):
    m = s.moto()
    s.data()
    creds = os.path.join(s.workdir, "client-credentials")
    with open(creds, "w") as f:
        f.write(f"# proxy keys\n{OTHER_KEY}:{OTHER_SECRET}\n")
    os.chmod(creds, 0o644)
    # A file others can read is refused at start.
    sets = s.s3_sets(m, credentials_file=creds)
    from harness import Proxy, free_port

    bad = Proxy(s.binary, s.workdir, "auth-open-file", sets)
    bad.port = free_port()
    p = subprocess.run(bad.argv(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    c.ok(p.returncode != 0 and b"chmod 600" in p.stderr, f"mode 0644 accepted: {p.stderr[-300:]!r}")
    os.chmod(creds, 0o600)
    px = s.new_proxy("auth-file", sets)
    k, obj = small_key(s)
    c.bytes_eq(client(px, OTHER_KEY, OTHER_SECRET).get_object(Bucket=BUCKET, Key=k)["Body"].read(),
               obj.data, "key from the file")
    try:
        client(px).get_object(Bucket=BUCKET, Key=k)
        c.fail("a key not in the file was served")
    except ClientError as e:
        c.eq(error_code(e), ("InvalidAccessKeyId", 403), "key not in the file")
    # Rotate: the old key goes, a new one comes, on SIGHUP, with a connection kept open.
    keep = client(px, OTHER_KEY, OTHER_SECRET)
    keep.head_object(Bucket=BUCKET, Key=k)
    with open(creds, "w") as f:
        f.write(f"{ACCESS_KEY}:{SECRET_KEY}\n")
    px.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            client(px).head_object(Bucket=BUCKET, Key=k)
            break
        except ClientError:
            time.sleep(0.2)
    c.bytes_eq(client(px).get_object(Bucket=BUCKET, Key=k)["Body"].read(), obj.data,
               "new key after SIGHUP")
    try:
        keep.head_object(Bucket=BUCKET, Key=k)
        c.fail("the rotated-out key still works")
    except ClientError as e:
        c.eq(e.response["ResponseMetadata"]["HTTPStatusCode"], 403, "old key after SIGHUP")
    c.ok(px.alive(), "proxy alive after SIGHUP")
    c.eq(px.stop(), 0, "SIGTERM exit code")


@test(proxy_only=False)
def auth_none_only_on_loopback(s, c):
    m = s.moto()
    s.data()
    px = s.new_proxy("auth-none", s.s3_sets(m, auth="none"))
    k, obj = small_key(s)
    r = request(px.port, "GET", f"/{BUCKET}/sizes/p64k/P%2B1", signed=False)
    c.eq(r.status, 200, "anonymous GET with auth: none")
    c.bytes_eq(r.body, obj.data, "anonymous bytes")
    c.ok("auth: none" in open(px.log, encoding="utf-8", errors="replace").read(),
         "no warning logged for auth: none")
    c.eq(px.stop(), 0, "SIGTERM exit code")
    # On a non-loopback address it refuses to start unless forced.
    from harness import free_port

    argv = [s.binary, "--set", "auth=none", "--set", f"listen=0.0.0.0:{free_port()}",
            "--set", "target_protocol=s3", "--set", f"target_options.endpoint_url={m.endpoint}"]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    c.ok(p.returncode != 0 and b"not loopback" in p.stderr, f"auth none on 0.0.0.0: {p.stderr[-300:]!r}")
