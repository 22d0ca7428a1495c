"""
fixtures: the shared processes (one moto_server, proxies by name) and the data set the tests
read back. The data is generated here from fixed seeds and written straight to moto; the
expected bytes, ETags and headers are computed from what was written, never read back.
"""

import concurrent.futures
import datetime
import os
import shutil
import time

from harness import (
    KiB,
    MiB,
    Moto,
    Proxy,
    md5_etag,
    multipart_etag,
    prng_bytes,
    sanitizer_report,
)

BUCKET = "itest"
LIST_BUCKET = "itest-list"
EMPTY_BUCKET = "itest-empty"

P_SMALL = 64 * KiB  # page size of the "p64" proxy
P_DEFAULT = 1 * MiB  # the proxy's default page size

# Keys S3 allows and proxies get wrong. Each holds a small distinct object.
SPECIAL_KEYS = [
    "special/sp ace.txt",
    "special/unicodé-ファイル-😀.bin",
    "special/plus+sign+",
    "special/eq=ual&amp",
    "special/lit%2Fpercent",
    "special/pct%20literal%",
    "special/double//slash",
    "special/trail/",
    "special/tilde~star*paren()'!$,;:@",
    "special/question?hash#",
    "special/" + "L" * (1024 - len("special/")),  # a 1024-byte key
]
# The subset that file-like clients (rclone, s3fs, s3cmd, awscli s3 cp) can address as paths.
PATHLIKE_SPECIAL = [
    "special/sp ace.txt",
    "special/unicodé-ファイル-😀.bin",
    "special/plus+sign+",
    "special/eq=ual&amp",
    "special/lit%2Fpercent",
]

META_KEY = "meta/full"
META_EXPIRES = datetime.datetime(2037, 1, 1, 0, 0, 0, tzinfo=datetime.timezone.utc)
META_PUT = dict(
    ContentType="text/x-test; charset=utf-8",
    ContentEncoding="x-test-enc",
    ContentLanguage="fr-CA",
    ContentDisposition='attachment; filename="report.txt"',
    CacheControl="max-age=60, private",
    Expires=META_EXPIRES,
    Metadata={"alpha": "one", "beta-key": "Two Words", "num": "42"},
)
# What S3 answers for that object (header names compared case-insensitively).
META_HEADERS = {
    "Content-Type": "text/x-test; charset=utf-8",
    "Content-Encoding": "x-test-enc",
    "Content-Language": "fr-CA",
    "Content-Disposition": 'attachment; filename="report.txt"',
    "Cache-Control": "max-age=60, private",
    "Expires": "Thu, 01 Jan 2037 00:00:00 GMT",
    "x-amz-meta-alpha": "one",
    "x-amz-meta-beta-key": "Two Words",
    "x-amz-meta-num": "42",
}


def size_name(size, p):
    names = {0: "0", 1: "1", p - 1: "P-1", p: "P", p + 1: "P+1", p * 7 // 2: "3.5P"}
    return names.get(size, str(size))


def sizes_for(p):
    return [0, 1, p - 1, p, p + 1, p * 7 // 2]


class Obj:
    def __init__(self, bucket, key, data, etag, put_window, content_type=None, headers=None):
        self.bucket = bucket
        self.key = key
        self.data = data
        self.size = len(data)
        self.etag = etag
        self.put_window = put_window  # (t_before, t_after) in epoch seconds
        self.content_type = content_type
        self.headers = headers or {}


def list_keys():
    """1200 keys: 700 at the top level and 5 folders of 100, for paging and delimiters."""
    keys = [f"k{i:04d}" for i in range(700)]
    keys += [f"dir{d}/f{i:03d}" for d in range(5) for i in range(100)]
    return keys


class Dataset:
    def __init__(self, moto):
        self.moto = moto
        self.objects = {}  # key -> Obj (bucket BUCKET)
        self.list_keys = sorted(list_keys(), key=lambda k: k.encode("utf-8"))
        self.populate()

    def put(self, s3, key, data, bucket=BUCKET, **kw):
        t0 = time.time()
        s3.put_object(Bucket=bucket, Key=key, Body=data, **kw)
        t1 = time.time()
        obj = Obj(bucket, key, data, md5_etag(data), (t0, t1), kw.get("ContentType"))
        if bucket == BUCKET:
            self.objects[key] = obj
        return obj

    def populate(self):
        s3 = self.moto.client()
        for b in (BUCKET, LIST_BUCKET, EMPTY_BUCKET):
            s3.create_bucket(Bucket=b)
        for p, tag in ((P_SMALL, "p64k"), (P_DEFAULT, "p1m")):
            for size in sizes_for(p):
                key = f"sizes/{tag}/{size_name(size, p)}"
                self.put(s3, key, prng_bytes(key, size), ContentType="application/x-test")
        for i, key in enumerate(SPECIAL_KEYS):
            self.put(s3, key, prng_bytes(key, 1000 + 37 * i), ContentType="application/x-special")
        obj = self.put(s3, META_KEY, prng_bytes(META_KEY, 5000), **META_PUT)
        obj.headers = dict(META_HEADERS)
        self.put(s3, "meta/plain", prng_bytes("meta/plain", 300), ContentType="text/plain")
        self.put_big(s3)

        def put_list(k):
            s3.put_object(Bucket=LIST_BUCKET, Key=k, Body=k.encode())

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            list(ex.map(put_list, self.list_keys))

    def put_big(self, s3):
        """64 MiB random object as a multipart upload of 8 MiB parts (known multipart ETag)."""
        key = "big/rand64m"
        data = prng_bytes(key, 64 * MiB)
        part = 8 * MiB
        parts = [data[i : i + part] for i in range(0, len(data), part)]
        t0 = time.time()
        up = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ContentType="application/x-big")
        done = []
        for n, chunk in enumerate(parts, 1):
            r = s3.upload_part(
                Bucket=BUCKET, Key=key, UploadId=up["UploadId"], PartNumber=n, Body=chunk
            )
            done.append({"PartNumber": n, "ETag": r["ETag"]})
        s3.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=up["UploadId"], MultipartUpload={"Parts": done}
        )
        t1 = time.time()
        self.objects[key] = Obj(
            BUCKET, key, data, multipart_etag(parts), (t0, t1), "application/x-big"
        )

    def sized(self, tag):
        p = P_SMALL if tag == "p64k" else P_DEFAULT
        return [self.objects[f"sizes/{tag}/{size_name(s, p)}"] for s in sizes_for(p)]


class FakeProxy:
    """--target moto: the 'proxy' is moto itself, to check the tests' own logic."""

    def __init__(self, moto):
        self.moto = moto
        self.port = moto.port
        self.endpoint = moto.endpoint
        self.name = "moto"
        self.log = None

    def client(self, **kw):
        from harness import s3_client

        return s3_client(self.endpoint, **kw)

    def alive(self):
        return self.moto.alive()

    def new_log_text(self):
        return ""

    def stop(self, timeout=0):
        return 0


class Suite:
    def __init__(self, binary, workdir, target="proxy", label="release"):
        self.binary = binary
        self.workdir = workdir
        self.target = target
        self.label = label
        self._moto = None
        self._data = None
        self.proxies = {}  # shared, by name
        self.owned = []  # started by tests; checked after each test
        self.events = []  # (name, ok, message) extra results: shutdowns, crashes
        self.shared_paths = set()  # workdir entries kept from one test to the next

    # ---- disk use: a run writes gigabytes of test data; only the logs are kept
    def keep(self, path):
        """Marks a workdir entry as shared by later tests: prune_test leaves it alone."""
        self.shared_paths.add(os.path.basename(os.path.normpath(path)))
        return path

    def prune_test(self, before):
        """Removes what a test added to the workdir (data roots, disk stores, etcd data), but
        logs and shared entries. KEEP_TEST_DATA=1 keeps everything for a post-mortem."""
        if os.environ.get("KEEP_TEST_DATA") == "1":
            return
        for name in set(os.listdir(self.workdir)) - before - self.shared_paths:
            remove_data(os.path.join(self.workdir, name))

    def prune_all(self):
        if os.environ.get("KEEP_TEST_DATA") == "1":
            return
        for name in os.listdir(self.workdir):
            remove_data(os.path.join(self.workdir, name))

    # ---- shared UFS and data
    def moto(self):
        if self._moto is None or not self._moto.alive():
            self._moto = Moto(self.workdir, "moto-shared")
            self._data = None
        return self._moto

    def data(self):
        if self._data is None:
            self._data = Dataset(self.moto())
        return self._data

    # ---- proxies
    def s3_sets(self, moto, **extra):
        sets = {
            "target_protocol": "s3",
            "target_options.endpoint_url": moto.endpoint,
            "target_options.key": "MOTOKEY",
            "target_options.secret": "motosecret",
            "target_options.region": "us-east-1",
            "log_level": "info",
        }
        sets.update(extra)
        return sets

    def proxy(self, name="p64"):
        """A shared proxy in front of the shared moto (started once, restarted if it died)."""
        self.data()
        if self.target == "moto":
            return FakeProxy(self.moto())
        p = self.proxies.get(name)
        if p is not None and p.alive():
            return p
        if p is not None:
            code = p.proc.returncode
            self.events.append(
                (f"proxy {name} stayed up", False, f"exited {code}; log:\n{tail_log(p)}")
            )
        sets = {
            "p64": self.s3_sets(
                self.moto(), **{"options.alluxio.worker.page.store.page.size": "64KB"}
            ),
            "p1m": self.s3_sets(self.moto()),
        }[name]
        p = Proxy(self.binary, self.workdir, name, sets).start()
        self.proxies[name] = p
        return p

    def new_proxy(self, name, sets, **kw):
        """A proxy owned by one test; stopped by the test (or at the end)."""
        if self.target == "moto":
            raise RuntimeError("new_proxy in moto mode")
        p = Proxy(self.binary, self.workdir, name, sets, **kw).start()
        self.owned.append(p)
        return p

    def all_proxies(self):
        return list(self.proxies.values()) + self.owned

    def sanitizer_reports(self):
        out = []
        for p in self.all_proxies():
            rep = sanitizer_report(p.new_log_text())
            if rep:
                out.append(f"proxy {p.name} ({p.log}):\n{rep}")
        return out

    def dead_shared(self):
        out = []
        for name, p in self.proxies.items():
            if not p.alive():
                out.append(f"shared proxy {name} died (exit {p.proc.returncode}):\n{tail_log(p)}")
        return out

    def shutdown(self):
        """Stop everything; returns [(name, ok, msg)] for the shared proxies' shutdowns."""
        results = []
        for name, p in list(self.proxies.items()):
            was_alive = p.alive()
            code = p.stop()
            rep = sanitizer_report(p.new_log_text())  # what appeared since the last test
            ok = was_alive and code == 0 and not rep
            msg = ""
            if not was_alive:
                msg = f"was not running at the end (exit {code})"
            elif code != 0:
                msg = f"SIGTERM exit code {code}; log:\n{tail_log(p)}"
            elif rep:
                msg = f"sanitizer report:\n{rep}"
            results.append((f"shutdown_{name}_sigterm_exit0_clean", ok, msg))
        for p in self.owned:
            if p.alive():
                p.stop(timeout=10)
        if self._moto is not None:
            self._moto.stop()
        return results


def remove_data(path):
    """Deletes a file or tree of test data; log files stay for the post-mortem."""
    if path.endswith(".log"):
        return
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def read_all(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except (OSError, TypeError):
        return ""


def tail_log(p, n=30):
    text = read_all(p.log)
    return "\n".join(text.splitlines()[-n:])


def proxy_sets_file(root, **extra):
    sets = {"target_protocol": "file", "target_options.root": root, "log_level": "info"}
    sets.update(extra)
    return sets


def ensure_dir(path):
    os.makedirs(path, exist_ok=True)
    return path
