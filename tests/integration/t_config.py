"""The command line and config contract: --print-config masks secrets; a bad config fails at start
naming the file, the key and the reason; flags > env > file."""

import os
import subprocess

from harness import free_port, test


def run_proxy(s, args, env_extra=None, timeout=20):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("AWS_") or k.startswith("ALLUXIO_S3_PROXY_"):
            del env[k]
    env.update(env_extra or {})
    p = subprocess.run([s.binary] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


@test()
def config_print_masks_secrets(s, c):
    code, out, err = run_proxy(s, ["--set", "target_options.secret=SUPERSECRETVALUE",
                                   "--set", "target_options.token=TOKENVALUE123",
                                   "--set", "options.alluxio.worker.page.store.page.size=4MB",
                                   "--print-config"],
                               env_extra={"AWS_ACCESS_KEY_ID": "AKIDFROMENV"})
    c.eq(code, 0, f"--print-config exit code (stderr {err[-300:]!r})")
    c.ok("SUPERSECRETVALUE" not in out + err, "secret printed")
    c.ok("TOKENVALUE123" not in out + err, "token printed")
    c.ok("listen" in out and "target_protocol" in out, f"--print-config output: {out[:300]!r}")
    c.ok("AKIDFROMENV" in out, "env AWS_ACCESS_KEY_ID not in the effective config")
    c.ok("4194304" in out or "4MiB" in out or "4MB" in out, "page size 4MB not in the effective config")


@test()
def config_errors_name_file_key_reason(s, c):
    code, out, err = run_proxy(s, ["--set", "no_such_key=1"])
    c.ok(code != 0, "unknown --set key accepted")
    c.ok("no_such_key" in err, f"unknown key not named: {err[-300:]!r}")
    code, out, err = run_proxy(s, ["--set", "memory_store_size=lots"])
    c.ok(code != 0, "bad size accepted")
    c.ok("memory_store_size" in err, f"bad size: key not named: {err[-300:]!r}")
    path = os.path.join(s.workdir, "bad-config.yaml")
    with open(path, "w") as f:
        f.write(f"listen: 127.0.0.1:{free_port()}\ntarget_protocol: file\nbogus_option: 3\n")
    code, out, err = run_proxy(s, ["-c", path])
    c.ok(code != 0, "unknown key in the file accepted")
    c.ok(path in err or "bad-config.yaml" in err, f"file not named: {err[-300:]!r}")
    c.ok("bogus_option" in err, f"key not named: {err[-300:]!r}")
    with open(path, "w") as f:
        f.write("metadata_cache_ttl: soon\n")
    code, out, err = run_proxy(s, ["-c", path])
    c.ok(code != 0 and "metadata_cache_ttl" in err, f"bad duration: {code} {err[-300:]!r}")
    code, out, err = run_proxy(s, ["-c", os.path.join(s.workdir, "missing.yaml")])
    c.ok(code != 0 and "missing.yaml" in err, f"missing file: {code} {err[-300:]!r}")
    code, out, err = run_proxy(s, ["--set", "target_protocol=file"])
    c.ok(code != 0 and "root" in err, f"file target without root: {code} {err[-300:]!r}")


@test()
def config_file_env_flag_precedence(s, c):
    path = os.path.join(s.workdir, "prec.yaml")
    with open(path, "w") as f:
        f.write("target_protocol: s3\ntarget_options:\n  region: eu-file-1\n  endpoint_url: http://127.0.0.1:1\n"
                "metadata_cache_ttl: 7s\n")
    code, out, err = run_proxy(s, ["-c", path, "--print-config"])
    c.eq(code, 0, f"exit code ({err[-200:]!r})")
    c.ok("eu-file-1" in out, "file value")
    code, out, err = run_proxy(s, ["-c", path, "--print-config"], env_extra={"AWS_REGION": "eu-env-1"})
    c.ok("eu-env-1" in out and "eu-file-1" not in out, "env beats file")
    code, out, err = run_proxy(s, ["-c", path, "--set", "target_options.region=eu-flag-1", "--print-config"],
                               env_extra={"AWS_REGION": "eu-env-1"})
    c.ok("eu-flag-1" in out and "eu-env-1" not in out, "flag beats env")
