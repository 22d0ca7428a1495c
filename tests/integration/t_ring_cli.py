"""`alluxio-s3-proxy ring lookup|show`: the operator's "who owns this file?".

The expected owners come from the golden vectors (tests/vectors/ring/lookups.tsv, computed by
the real alluxiofs code) and from what each test registered, never from the proxy itself.
"""

import csv
import json
import os
import subprocess

from cluster_fixtures import Etcd, have_etcd, worker_value
from harness import skip, test

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "ring")


def run_cli(s, *args, timeout=30):
    r = subprocess.run([s.binary, "ring", *args], capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8", "replace")


def lookup_rows():
    with open(os.path.join(VECTORS, "lookups.tsv"), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


@test(timeout=120)
def ring_cli_lookup_matches_golden_vectors(s, c):
    """Every row of lookups.tsv (5 workers; 5, 100 and 2000 virtual nodes; 1 to 8 owners),
    asked through `ring lookup --workers workers.json`, in one call per (vnodes, count)."""
    rows = lookup_rows()
    groups = {}
    for row in rows:
        groups.setdefault((row["virtual_nodes"], row["count"]), []).append(row)
    checked = 0
    for (vnodes, count), group in sorted(groups.items()):
        paths = [row["ufs_path"] for row in group]
        code, out, err = run_cli(s, "lookup", "--workers", os.path.join(VECTORS, "workers.json"),
                                 "--virtual-nodes", vnodes, "--count", count, "--", *paths)
        c.eq(code, 0, f"exit status (vnodes {vnodes}, count {count}): {err}")
        lines = out.split("\n")
        c.eq(lines[-1], "", "output ends with a newline")
        c.eq(len(lines) - 1, len(group), f"one line per path (vnodes {vnodes}, count {count})")
        for row, line in zip(group, lines):
            path, _, owners = line.partition("\t")
            c.eq(path, row["ufs_path"], "the path echoed")
            c.eq(owners, row["owners"], f"owners of {row['ufs_path']!r} (vnodes {vnodes}, "
                                        f"count {count})")
            checked += 1
    print(f"    {checked} lookups checked", flush=True)
    c.ok(checked == len(rows) and checked >= 300, f"only {checked} rows checked")


@test(timeout=60)
def ring_cli_show_and_errors(s, c):
    """`ring show --workers` lists the distinct workers; bad usage exits 2, a bad file 1."""
    code, out, err = run_cli(s, "show", "--workers", os.path.join(VECTORS, "workers.json"))
    c.eq(code, 0, f"show: {err}")
    with open(os.path.join(VECTORS, "workers.json"), encoding="utf-8") as f:
        doc = json.load(f)
    want = sorted(f"{w['value']['WorkerNetAddress']['Host']}:{w['value']['WorkerNetAddress']['HttpServerPort']}"
                  f"\tversion=1\tidentifier={w['value']['Identity']['identifier'].lower()}"
                  for w in doc["workers"])
    lines = out.strip().split("\n")
    c.eq(lines[0], f"# {len(want)} workers, 5 virtual nodes each", "header")
    c.eq(sorted(lines[1:]), want, "workers")

    code, _, err = run_cli(s, "lookup", "s3://b/k")
    c.eq(code, 2, f"no source: {err}")
    code, _, err = run_cli(s, "lookup", "--workers", os.path.join(VECTORS, "workers.json"))
    c.eq(code, 2, f"no path: {err}")
    code, _, err = run_cli(s, "lookup", "--workers", "x", "--count", "0", "p")
    c.eq(code, 2, f"count 0: {err}")
    code, _, err = run_cli(s, "frobnicate")
    c.eq(code, 2, f"unknown subcommand: {err}")
    bad = os.path.join(s.workdir, "ring-cli-bad.json")
    with open(bad, "w") as f:
        f.write("{not json")
    code, _, err = run_cli(s, "show", "--workers", bad)
    c.eq(code, 1, f"bad JSON: {err}")
    # A malformed value is skipped (and said), the others still form the ring.
    mixed = os.path.join(s.workdir, "ring-cli-mixed.json")
    with open(mixed, "w") as f:
        json.dump([json.loads(worker_value("00" * 16, "10.1.1.1", 28080)), {"Identity": 7}], f)
    code, out, err = run_cli(s, "show", "--workers", mixed)
    c.eq(code, 0, f"mixed: {err}")
    c.ok("1 malformed" in err, f"skipped value reported: {err!r}")
    c.ok(out.startswith("# 1 workers"), f"one worker left: {out!r}")


@test(timeout=120)
def ring_cli_from_config(s, c):
    """`-c CONF`: the static worker_hosts of a config, and the live members in its etcd."""
    conf = os.path.join(s.workdir, "ring-cli-static.yaml")
    with open(conf, "w") as f:
        f.write("worker_hosts: \"w1, w2 ,w3\"\nworker_http_port: 29000\n")
    code, out, err = run_cli(s, "show", "-c", conf)
    c.eq(code, 0, f"static show: {err}")
    hosts = sorted(line.split("\t")[0] for line in out.strip().split("\n")[1:])
    c.eq(hosts, ["w1:29000", "w2:29000", "w3:29000"], "static members (trimmed)")

    if not have_etcd():
        skip("etcd not installed")
    etcd = Etcd(s.workdir, "etcd-ring-cli").start()
    try:
        ids = [f"{i:02x}" * 16 for i in (1, 2, 3)]
        for i, ident in enumerate(ids):
            etcd.put(f"/ServiceDiscovery/cli-cluster/worker-{i}",
                     worker_value(ident, f"10.9.0.{i + 1}", 28080 + i))
        etcd.put("/ServiceDiscovery/other/worker-x", worker_value("ff" * 16, "10.9.9.9", 1))
        conf = os.path.join(s.workdir, "ring-cli-etcd.yaml")
        with open(conf, "w") as f:
            f.write(f"etcd_hosts: \"127.0.0.1:{etcd.client_port}\"\n"
                    "options: {alluxio.cluster.name: cli-cluster}\n")
        code, out, err = run_cli(s, "show", "-c", conf)
        c.eq(code, 0, f"etcd show: {err}")
        got = sorted(out.strip().split("\n")[1:])
        want = sorted(f"10.9.0.{i + 1}:{28080 + i}\tversion=1\tidentifier={ident}"
                      for i, ident in enumerate(ids))
        c.eq(got, want, "members read from etcd (another cluster's key ignored)")
        code, out, err = run_cli(s, "lookup", "-c", conf, "--set", "hash_node_per_worker=100",
                                 "--count", "3", "s3://b/k")
        c.eq(code, 0, f"etcd lookup: {err}")
        owners = out.strip().split("\t")[1].split(",")
        c.eq(sorted(owners), sorted(f"10.9.0.{i + 1}:{28080 + i}" for i in range(3)),
             "three distinct owners")
    finally:
        etcd.stop()
    code, _, err = run_cli(s, "show", "-c", conf, timeout=60)
    c.eq(code, 1, f"etcd down: {err}")
    c.ok("cannot read the membership" in err, f"says why: {err!r}")
