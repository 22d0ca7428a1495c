"""
alluxio_ring: an independent Python oracle of the alluxiofs worker selection (the test side's
reference, written from ALLUXIO-PROTOCOL.md sections 1.5, 2 and 3.2, not from the C code).

  murmur3_32(data)            MurmurHash3 x86_32, seed 0, signed result          (2.1)
  vnode_hash(ident, i)        ring point of virtual node i of a worker            (2.2)
  key_hash(path, attempt)     hash of a full UFS path for attempt 1, 2, ...       (2.3)
  Ring(workers, vnodes)       successor() strictly greater with wrap-around       (2.4)
                              get_multiple(path, count) / owner(path)             (2.5)
  host_identity(host)         worker_hosts identity: UUID v3, empty namespace    (1.5)
  path_id(path)               lowercase hex SHA-256 of the UTF-8 path             (3.2)

self_check(vector_dir) recomputes every row of tests/vectors/ring/*.tsv; `python3
alluxio_ring.py` runs it. The test `cluster_ring_oracle_vectors` (t_cluster.py) does the same
before any cluster test relies on the oracle.
"""

import bisect
import hashlib
import json
import os
import struct
import sys

MASK = 0xFFFFFFFF


def _rotl(x, r):
    return ((x << r) | (x >> (32 - r))) & MASK


def murmur3_32(data, seed=0):
    """MurmurHash3 x86_32 over bytes, as a signed 32-bit integer."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & MASK
    n = len(data)
    nblocks = n // 4
    for (k,) in struct.iter_unpack("<I", data[: nblocks * 4]):
        k = (k * c1) & MASK
        k = _rotl(k, 15)
        k = (k * c2) & MASK
        h ^= k
        h = _rotl(h, 13)
        h = (h * 5 + 0xE6546B64) & MASK
    tail = data[nblocks * 4 :]
    k = 0
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if len(tail) >= 1:
        k ^= tail[0]
        k = (k * c1) & MASK
        k = _rotl(k, 15)
        k = (k * c2) & MASK
        h ^= k
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & MASK
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def le32(v):
    return (v & MASK).to_bytes(4, "little")


class Identity:
    """A worker identity: version (1 = UUID) and identifier bytes."""

    def __init__(self, identifier, version=1):
        if isinstance(identifier, str):
            identifier = bytes.fromhex(identifier)
        self.id = bytes(identifier)
        self.version = int(version)

    @property
    def hex(self):
        return self.id.hex()

    def uuid(self):
        h = self.hex
        return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    def __eq__(self, other):
        return isinstance(other, Identity) and (self.id, self.version) == (other.id, other.version)

    def __hash__(self):
        return hash((self.id, self.version))

    def __repr__(self):
        return f"Identity({self.hex}, v{self.version})"


def vnode_hash(ident, i):
    return murmur3_32(ident.id + le32(ident.version) + le32(i))


def key_hash(path, attempt):
    return murmur3_32(path.encode("utf-8") + le32(attempt))


def host_identity(host):
    """Identity of a worker_hosts entry: trimmed, UUID v3 of its UTF-8 bytes (empty namespace)."""
    b = bytearray(hashlib.md5(host.strip().encode("utf-8")).digest())
    b[6] = (b[6] & 0x0F) | 0x30
    b[8] = (b[8] & 0x3F) | 0x80
    return Identity(bytes(b), 1)


def path_id(path):
    return hashlib.sha256(path.encode("utf-8")).hexdigest()


class Ring:
    """workers: iterable of (Identity, label). The label is what owner()/get_multiple() return
    (e.g. "host:port" or a Worker fixture object)."""

    def __init__(self, workers, vnodes=5):
        self.workers = list(workers)
        points = {}
        for ident, label in self.workers:
            for i in range(vnodes):
                points[vnode_hash(ident, i)] = label  # a collision: the later one wins
        self.keys = sorted(points)
        self.labels = [points[k] for k in self.keys]

    def successor(self, h):
        j = bisect.bisect_right(self.keys, h)  # strictly greater
        if j == len(self.keys):
            j = 0
        return self.labels[j]

    def get_multiple(self, path, count):
        if not self.keys:
            return []
        want = min(count, len(self.workers))
        out = []
        a = 1
        while len(out) < want and a <= 100:
            w = self.successor(key_hash(path, a))
            if w not in out:
                out.append(w)
            a += 1
        return out

    def owner(self, path):
        got = self.get_multiple(path, 1)
        return got[0] if got else None


# --------------------------------------------------------------------------------------------
# Self-check against the golden vectors


def _rows(path):
    with open(path, encoding="utf-8", newline="\n") as f:
        lines = f.read().split("\n")
    header = lines[0].split("\t")
    out = []
    for ln in lines[1:]:
        if ln == "":
            continue
        fields = ln.split("\t")
        out.append(dict(zip(header, fields)))
    return header, out


def default_vector_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(os.path.dirname(here), "vectors", "ring")


def self_check(vector_dir=None):
    """Recompute every row of every vector file. Returns (rows checked per file, [mismatches])."""
    d = vector_dir or default_vector_dir()
    bad = []
    counts = {}
    with open(os.path.join(d, "workers.json"), encoding="utf-8") as f:
        wj = json.load(f)
    workers = []
    for w in wj["workers"]:
        v = w["value"]
        ident = Identity(v["Identity"]["identifier"], v["Identity"]["version"])
        workers.append((ident, w["owner"]))
        want_key = wj["etcd_prefix"] + "worker-" + ident.uuid()
        if w.get("etcd_key") != want_key:
            bad.append(f"workers.json: etcd_key {w.get('etcd_key')!r}, want {want_key!r}")
    rings = {}

    def ring(v):
        if v not in rings:
            rings[v] = Ring(workers, v)
        return rings[v]

    _, rows = _rows(os.path.join(d, "hashes.tsv"))
    for r in rows:
        if r["kind"] == "vnode":
            got = vnode_hash(Identity(r["input"], 1), int(r["index"]))
        elif r["kind"] == "key":
            got = key_hash(r["input"], int(r["index"]))
        else:
            bad.append(f"hashes.tsv: unknown kind {r['kind']!r}")
            continue
        if got != int(r["signed_hash"]):
            bad.append(f"hashes.tsv {r['kind']} {r['input']!r} {r['index']}: {got}, want {r['signed_hash']}")
    counts["hashes.tsv"] = len(rows)

    _, rows = _rows(os.path.join(d, "lookups.tsv"))
    for r in rows:
        got = ",".join(ring(int(r["virtual_nodes"])).get_multiple(r["ufs_path"], int(r["count"])))
        if got != r["owners"]:
            bad.append(f"lookups.tsv {r['ufs_path']!r} v={r['virtual_nodes']} n={r['count']}: {got}, want {r['owners']}")
    counts["lookups.tsv"] = len(rows)

    _, rows = _rows(os.path.join(d, "ties.tsv"))
    for r in rows:
        rg = ring(int(r["virtual_nodes"]))
        got = ",".join(rg.get_multiple(r["ufs_path"], int(r["count"])))
        if got != r["owners_alluxiofs"]:
            bad.append(f"ties.tsv {r['ufs_path']!r}: {got}, want {r['owners_alluxiofs']}")
        h = key_hash(r["ufs_path"], 1)
        j = bisect.bisect_left(rg.keys, h)
        if not (j < len(rg.keys) and rg.keys[j] == h):
            bad.append(f"ties.tsv {r['ufs_path']!r}: key hash {h} is not a ring point (not a tie)")
    counts["ties.tsv"] = len(rows)

    _, rows = _rows(os.path.join(d, "path_ids.tsv"))
    for r in rows:
        got = path_id(r["ufs_path"])
        if got != r["path_id"]:
            bad.append(f"path_ids.tsv {r['ufs_path']!r}: {got}, want {r['path_id']}")
    counts["path_ids.tsv"] = len(rows)

    _, rows = _rows(os.path.join(d, "host_identities.tsv"))
    for r in rows:
        ident = host_identity(r["worker_host"])
        if (ident.version, ident.hex) != (int(r["version"]), r["identifier"]):
            bad.append(f"host_identities.tsv {r['worker_host']!r}: {ident.hex}, want {r['identifier']}")
    counts["host_identities.tsv"] = len(rows)
    return counts, bad


if __name__ == "__main__":
    counts, bad = self_check(sys.argv[1] if len(sys.argv) > 1 else None)
    for b in bad[:30]:
        print("MISMATCH", b)
    print(" ".join(f"{k}={v}" for k, v in counts.items()), f"mismatches={len(bad)}")
    sys.exit(1 if bad else 0)
