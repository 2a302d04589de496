#!/usr/bin/python3
# tools/bench/remote.py PREFIX: how long sshd waits for the keys helper
# (sercon-proxy-keys USER TYPE KEY) of an installation in PREFIX when the
# manager is an oVirt engine (the test engine of tests/engine) that knows
# 10,000 keys: with a warm cache (the key index is fresh) and a cold one
# (every run asks the engine: signed ticket, HTTPS, 10k-key JSON, index
# rebuilt), and the engine round trip alone (sercon-proxy-fetch keys).
# Prints one JSON object {"name": {"median", "min", "max",
# "unit"}} on stdout, progress on stderr. Run as root; the helper runs as
# the sercon user when that account exists, as sshd would run it. Times are
# wall clock of one helper process each, from spawn to exit.

import base64
import json
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "engine"))

from sercon_test_engine import Engine, make_pki  # noqa: E402

NKEYS = 10000
CONF = "90-bench-remote.conf"
WARM_RUNS = 30
COLD_RUNS = 10


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def fake_ed25519(i):
    """A well-formed ssh-ed25519 public key blob (random point bytes)."""
    def s(b):
        return len(b).to_bytes(4, "big") + b
    return base64.b64encode(s(b"ssh-ed25519") + s(os.urandom(32))).decode()


def as_sercon():
    """subprocess arguments that run a program as the sercon user (no
    runuser or PAM session in the measurement)."""
    try:
        ent = pwd.getpwnam("sercon")
    except KeyError:
        return {}
    return {"user": ent.pw_uid, "group": ent.pw_gid, "extra_groups": []}


def timed(argv, expect, run_as):
    t0 = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True, **run_as)
    ms = (time.perf_counter() - t0) * 1000
    if r.returncode != 0 or expect not in r.stdout:
        raise SystemExit("keys helper failed (%d): %s%s" % (
            r.returncode, r.stdout[:200], r.stderr[:500]))
    return ms


def summary(values):
    return {"median": round(statistics.median(values), 2),
            "min": round(min(values), 2), "max": round(max(values), 2),
            "unit": "ms"}


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: remote.py PREFIX")
    prefix = os.path.abspath(sys.argv[1])
    helper = prefix + "/libexec/sercon/sercon-proxy-keys"
    confd = prefix + "/etc/sercon/conf.d"
    cache = prefix + "/var/cache/sercon"
    if not os.access(helper, os.X_OK):
        raise SystemExit("no keys helper at %s" % helper)
    os.makedirs(confd, exist_ok=True)
    os.makedirs(cache, exist_ok=True)
    work = tempfile.mkdtemp(prefix="bench-remote-", dir=prefix)
    os.chmod(work, 0o755)
    engine = None
    try:
        progress("making certificates and %d keys" % NKEYS)
        paths = make_pki(work + "/pki")
        os.chmod(work + "/pki", 0o755)
        run_as = as_sercon()
        if run_as:
            ent = pwd.getpwnam("sercon")
            for name, p in paths.items():
                if name.endswith("-key"):
                    os.chown(p, ent.pw_uid, ent.pw_gid)
            os.chown(cache, ent.pw_uid, ent.pw_gid)
        blobs = [fake_ed25519(i) for i in range(NKEYS)]
        users = [{"id": "user-%05d" % i, "name": "user%05d@internal" % i,
                  "keys": ["ssh-ed25519 %s user%05d" % (b, i)]}
                 for i, b in enumerate(blobs)]
        engine = Engine(work + "/engine", paths, {"users": users, "vms": []})
        with open(os.path.join(confd, CONF), "w") as f:
            f.write("[general]\ndebug = false\n[proxy]\nbackend = engine\n"
                    "engine_url = %s\nengine_ca = %s\nticket_certificate = %s\n"
                    "ticket_key = %s\ntimeout = 30\ncache_ttl = 3600\n" % (
                        engine.url, paths["ca"], paths["ticket"],
                        paths["ticket-key"]))
        probe = blobs[NKEYS // 2]
        argv = [helper, "sercon", "ssh-ed25519", probe]
        expect = "entity-id=user-%05d" % (NKEYS // 2)

        def drop_index():
            for f in os.listdir(cache):
                if f.startswith("keys."):
                    os.unlink(os.path.join(cache, f))

        cold = []
        for i in range(COLD_RUNS):
            drop_index()
            cold.append(timed(argv, expect, run_as))
            progress("cold %d/%d: %.1f ms" % (i + 1, COLD_RUNS, cold[-1]))
        # the share of a cold run spent asking the engine: ticket, HTTPS,
        # the engine's answer, parsing and validating 10k keys
        fetch = []
        fetch_argv = [prefix + "/libexec/sercon/sercon-proxy-fetch", "keys"]
        for i in range(COLD_RUNS):
            fetch.append(timed(fetch_argv, "user-%05d" % (NKEYS - 1), run_as))
        progress("fetch: median %.1f ms" % statistics.median(fetch))
        requests = len(engine.log_lines())
        warm = []
        for i in range(WARM_RUNS):
            warm.append(timed(argv, expect, run_as))
        if len(engine.log_lines()) != requests:
            raise SystemExit("the warm runs asked the engine")
        progress("warm: median %.2f ms over %d runs" % (
            statistics.median(warm), WARM_RUNS))
        print(json.dumps({"keys_helper_warm_10k": summary(warm),
                          "keys_helper_cold_10k": summary(cold),
                          "engine_key_fetch_10k": summary(fetch)}))
    finally:
        try:
            os.unlink(os.path.join(confd, CONF))
        except FileNotFoundError:
            pass
        if engine:
            engine.stop()
        for f in os.listdir(cache):
            if f.startswith("keys."):
                os.unlink(os.path.join(cache, f))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
