"""
A boto3 client run as a subprocess by t_clients.py, under either Python: the image's (boto3 1.43,
new default checksum behaviour) or Debian's (`command -p python3`, boto3 1.26). It only reads:
the spec on stdin (JSON) says what; bodies go to files in out_dir; the answer is JSON on stdout.
The test compares everything with the truth; this script judges nothing.
"""

import json
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def main():
    spec = json.load(sys.stdin)
    s3 = boto3.client(
        "s3",
        endpoint_url=spec["endpoint"],
        aws_access_key_id=spec["key"],
        aws_secret_access_key=spec["secret"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )
    out = {"version": boto3.__version__, "reads": [], "heads": [], "lists": []}
    for i, rd in enumerate(spec.get("reads", [])):
        kw = {"Bucket": rd["bucket"], "Key": rd["key"]}
        if rd.get("range"):
            kw["Range"] = rd["range"]
        try:
            r = s3.get_object(**kw)
            path = os.path.join(spec["out_dir"], f"read-{i}.bin")
            with open(path, "wb") as f:
                for chunk in iter(lambda: r["Body"].read(1 << 20), b""):
                    f.write(chunk)
            out["reads"].append(
                {
                    "file": path,
                    "status": r["ResponseMetadata"]["HTTPStatusCode"],
                    "etag": r.get("ETag"),
                    "length": r.get("ContentLength"),
                    "content_type": r.get("ContentType"),
                    "content_range": r.get("ContentRange"),
                    "metadata": r.get("Metadata"),
                }
            )
        except ClientError as e:
            out["reads"].append({"error": e.response["Error"].get("Code")})
    for hd in spec.get("heads", []):
        try:
            r = s3.head_object(Bucket=hd["bucket"], Key=hd["key"])
            out["heads"].append(
                {
                    "etag": r.get("ETag"),
                    "length": r.get("ContentLength"),
                    "content_type": r.get("ContentType"),
                    "metadata": r.get("Metadata"),
                    "cache_control": r.get("CacheControl"),
                    "content_disposition": r.get("ContentDisposition"),
                }
            )
        except ClientError as e:
            out["heads"].append({"error": e.response["Error"].get("Code")})
    for ls in spec.get("lists", []):
        kw = {"Bucket": ls["bucket"]}
        if ls.get("prefix"):
            kw["Prefix"] = ls["prefix"]
        if ls.get("delimiter"):
            kw["Delimiter"] = ls["delimiter"]
        cfg = {"PageSize": ls["page_size"]} if ls.get("page_size") else {}
        keys, prefixes = [], []
        for page in s3.get_paginator(ls.get("op", "list_objects_v2")).paginate(PaginationConfig=cfg, **kw):
            keys += [o["Key"] for o in page.get("Contents", [])]
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        out["lists"].append({"keys": keys, "prefixes": prefixes})
    out["buckets"] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
