#!/usr/bin/python3
# tools/bench/remote.py PREFIX: how long sshd waits for the keys helper
# (sercon-proxy-keys USER TYPE KEY) of an installation in PREFIX when the
# manager is an oVirt engine (the test engine of tests/engine) that knows
# 10,000 keys: with a warm cache (the key index is fresh) and a cold one
# (every run asks the engine: signed ticket, HTTPS, 10k-key JSON, index
# rebuilt), and the engine round trip alone (sercon-proxy-fetch keys);
# the cold index rebuild's time, peak RSS and CPU time (the helper and
# every process it waited for) at 10,000 and 100,000 keys; and what a login costs while
# the engine hangs (sshd runs the keys helper twice, then the shell's
# `list`), for the first login and the ten after it.
# Then the cold rebuild for each backend at 10k and 100k keys
# (rebuild_BACKEND_N: wall, peak RSS, CPU), beside the manager's own floor
# measured the same way in the same run (rebuild_BACKEND_N_floor): file,
# reading the inventory (cat into a pipe); command, the bare key_list
# program (cat of a prepared answer into a pipe); engine, the bare fetch
# (curl POSTing a signed ticket to the test engine). _own is the median wall minus the floor's, _ratio the
# one over the other.
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

from sercon_test_engine import Engine, make_pki, sign_ticket  # noqa: E402

NKEYS = 10000
BIG = 100000
HANG_LOGINS = 11
CONF = "90-bench-remote.conf"
WARM_RUNS = 30
COLD_RUNS = 10
BACKEND_RUNS = {NKEYS: 5, BIG: 5}


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


def timed_rss(argv, expect, run_as, env=None):
    """(ms, peak RSS in MiB, CPU ms) of argv and the processes it waited
    for, as GNU time reports them (wait4's ru_maxrss, user + system time):
    the CPU time is sercon's own share of a cold run, without the engine's
    time to make its answer."""
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "maxrss=%M cpu=%U+%S"] + argv,
                       capture_output=True, text=True, env=env, **run_as)
    ms = (time.perf_counter() - t0) * 1000
    if r.returncode != 0 or expect not in r.stdout:
        raise SystemExit("%s failed (%d): %s%s" % (
            argv[0], r.returncode, r.stdout[:200], r.stderr[-800:]))
    line = [l for l in r.stderr.splitlines() if l.startswith("maxrss=")][-1]
    rss, cpu = line.split()
    user, sys_ = cpu.split("=")[1].split("+")
    return ms, int(rss.split("=")[1]) / 1024.0, \
        (float(user) + float(sys_)) * 1000


def rss_summary(values):
    return {"median": round(statistics.median(values), 1),
            "min": round(min(values), 1), "max": round(max(values), 1),
            "unit": "MiB"}


class Bench:
    def __init__(self, prefix, work, run_as):
        self.prefix = prefix
        self.helper = prefix + "/libexec/sercon/sercon-proxy-keys"
        self.shell = prefix + "/libexec/sercon/sercon-proxy-shell"
        self.confd = prefix + "/etc/sercon/conf.d"
        self.cache = prefix + "/var/cache/sercon"
        self.work = work
        self.run_as = run_as
        self.engine = None

    def users(self, n):
        blobs = [fake_ed25519(i) for i in range(n)]
        users = [{"id": "user-%06d" % i, "name": "user%06d@internal" % i,
                  "keys": ["ssh-ed25519 %s user%06d" % (b, i)]}
                 for i, b in enumerate(blobs)]
        return blobs, users

    def start(self, n, paths):
        if self.engine:
            self.engine.stop()
        self.blobs, users = self.users(n)
        probe = n // 2
        self.probe_id = "user-%06d" % probe
        self.probe_name = "user%06d@internal" % probe
        vms = [{"vmid": "bench-vm-1", "vmname": "bench1", "host": "127.0.0.1",
                "users": [self.probe_id]}]
        self.engine_fixture = {"users": users, "vms": vms}
        self.engine = Engine(self.work + "/engine-%d" % n, paths,
                             self.engine_fixture)
        self.argv = [self.helper, "sercon", "ssh-ed25519", self.blobs[probe]]
        self.expect = "entity-id=" + self.probe_id

    def configure(self, paths, **kw):
        opts = {"engine_url": self.engine.url, "engine_ca": paths["ca"],
                "ticket_certificate": paths["ticket"],
                "ticket_key": paths["ticket-key"], "timeout": 30,
                "cache_ttl": 3600}
        opts.update(kw)
        with open(os.path.join(self.confd, CONF), "w") as f:
            f.write("[general]\ndebug = false\n[proxy]\nbackend = engine\n" +
                    "".join("%s = %s\n" % kv for kv in opts.items()))

    def drop_index(self):
        for f in os.listdir(self.cache):
            if f.startswith(("keys.", "manager.", "inventory.")):
                os.unlink(os.path.join(self.cache, f))

    def drop_all(self):
        for f in os.listdir(self.cache):
            p = os.path.join(self.cache, f)
            if os.path.isfile(p):
                os.unlink(p)

    def cold(self, runs):
        ms, rss, cpu = [], [], []
        for i in range(runs):
            self.drop_index()
            t, r, c = timed_rss(self.argv, self.expect, self.run_as)
            ms.append(t)
            rss.append(r)
            cpu.append(c)
            progress("cold %d/%d (%d keys): %.1f ms, %.1f MiB, %.0f ms CPU"
                     % (i + 1, runs, len(self.blobs), t, r, c))
        return ms, rss, cpu

    def login(self):
        """What sshd and the forced command ask of the manager in one
        login: the keys helper twice (the key query, then the signature
        check), the shell's `list`."""
        t0 = time.perf_counter()
        for _ in range(2):
            r = subprocess.run(self.argv, capture_output=True, text=True,
                               **self.run_as)
            if r.returncode != 0 or self.expect not in r.stdout:
                raise SystemExit("keys helper failed during the hang (%d): "
                                 "%s" % (r.returncode, r.stderr[-400:]))
        env = dict(os.environ, SSH_ORIGINAL_COMMAND="list")
        r = subprocess.run([self.shell, "accept", "--entity-id=" +
                            self.probe_id, "--entity=" + self.probe_name],
                           capture_output=True, text=True, env=env,
                           **self.run_as)
        if r.returncode != 0 or "bench1" not in r.stdout:
            raise SystemExit("list failed during the hang (%d): %s" % (
                r.returncode, r.stderr[-400:]))
        return (time.perf_counter() - t0) * 1000


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    os.chmod(path, 0o644)


class Rebuild:
    """The cold rebuild of each backend beside the manager's floor, at one
    number of keys (the engine of b started with them)."""

    def __init__(self, b, paths, n):
        self.b, self.paths, self.n = b, paths, n
        fx = b.engine_fixture
        d = b.work + "/rebuild-%d" % n
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        self.inventory = d + "/inventory.json"
        write_json(self.inventory, {
            "users": [{"id": u["id"], "name": u["name"], "keys": u["keys"]}
                      for u in fx["users"]],
            "consoles": [{"vm_id": v["vmid"], "vm_name": v["vmname"],
                          "host": v["host"], "users": v["users"]}
                         for v in fx["vms"]]})
        self.keys = d + "/keys.json"
        write_json(self.keys, {"version": 1, "content": "key_list", "keys": [
            {"entityid": u["id"], "entity": u["name"], "key": k}
            for u in fx["users"] for k in u["keys"]]})
        self.consoles = d + "/consoles.json"
        write_json(self.consoles, {"version": 1, "content": "console_list",
                                   "consoles": []})
        self.ticket = d + "/ticket"

    def configure(self, backend):
        common = "[general]\ndebug = false\n[proxy]\ntimeout = 30\n" \
            "cache_ttl = 3600\n"
        if backend == "engine":
            self.b.configure(self.paths)
            return
        with open(os.path.join(self.b.confd, CONF), "w") as f:
            if backend == "file":
                f.write(common + "backend = file\ninventory = %s\n" %
                        self.inventory)
            else:
                f.write(common + "backend = command\nkey_list = /bin/cat %s\n"
                        "console_list = /bin/cat %s\n" % (self.keys,
                                                          self.consoles))

    def floor_argv(self, backend):
        """The manager alone: what the rebuild cannot be faster than. The
        answer goes through a pipe to a reader that only counts it (wc),
        as it goes to sercon, never to this interpreter."""
        if backend in ("file", "command"):
            path = self.inventory if backend == "file" else self.keys
            return (["/bin/sh", "-c", '/bin/cat "$1" | /usr/bin/wc -c', "sh",
                     path], str(os.path.getsize(path)))
        # a fresh ticket each time (they live seconds)
        with open(self.ticket, "wb") as f:
            f.write(sign_ticket(self.paths["ticket"], self.paths["ticket-key"],
                                json.dumps({"command": "public_keys",
                                            "version": 1})))
        os.chmod(self.ticket, 0o644)
        return (["/usr/bin/curl", "-sS", "-f", "-o", "/dev/null", "-w",
                 "%{http_code}", "--cacert", self.paths["ca"], "-H",
                 "Content-Type: text/plain", "--data-binary", "@" + self.ticket,
                 self.b.engine.url + "services/vmconsole-proxy"], "200")

    def measure(self, backend, out):
        runs = BACKEND_RUNS[self.n]
        label = "rebuild_%s_%s" % (backend, "100k" if self.n == BIG else "10k")
        self.configure(backend)
        floor, floor_rss = [], []
        for _ in range(runs):
            argv, expect = self.floor_argv(backend)
            t, r, _ = timed_rss(argv, expect, self.b.run_as)
            floor.append(t)
            floor_rss.append(r)
        ms, rss, cpu = self.b.cold(runs)
        own = statistics.median(ms) - statistics.median(floor)
        ratio = statistics.median(ms) / max(statistics.median(floor), 0.01)
        progress("%s: %.0f ms (floor %.0f ms: +%.0f ms, %.1fx), %.1f MiB, "
                 "%.0f ms CPU" % (label, statistics.median(ms),
                                  statistics.median(floor), own, ratio,
                                  statistics.median(rss),
                                  statistics.median(cpu)))
        out[label] = summary(ms)
        out[label + "_rss"] = rss_summary(rss)
        out[label + "_cpu"] = summary(cpu)
        out[label + "_floor"] = summary(floor)
        out[label + "_floor_rss"] = rss_summary(floor_rss)
        out[label + "_own"] = {"median": round(own, 2), "unit": "ms"}
        out[label + "_ratio"] = {"median": round(ratio, 2), "unit": "x"}


def rebuilds(b, paths, n, out):
    r = Rebuild(b, paths, n)
    for backend in ("file", "command", "engine"):
        b.drop_all()
        r.measure(backend, out)


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: remote.py PREFIX")
    prefix = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="bench-remote-", dir=prefix)
    os.chmod(work, 0o755)
    b = Bench(prefix, work, as_sercon())
    if not os.access(b.helper, os.X_OK):
        raise SystemExit("no keys helper at %s" % b.helper)
    os.makedirs(b.confd, exist_ok=True)
    os.makedirs(b.cache, exist_ok=True)
    out = {}
    try:
        progress("making certificates and %d keys" % NKEYS)
        paths = make_pki(work + "/pki")
        os.chmod(work + "/pki", 0o755)
        if b.run_as:
            ent = pwd.getpwnam("sercon")
            for name, p in paths.items():
                if name.endswith("-key"):
                    os.chown(p, ent.pw_uid, ent.pw_gid)
            os.chown(b.cache, ent.pw_uid, ent.pw_gid)
        b.start(NKEYS, paths)
        b.configure(paths)
        cold, cold_rss, cold_cpu = b.cold(COLD_RUNS)
        # the share of a cold run spent asking the engine: ticket, HTTPS,
        # the engine's answer, parsing and validating 10k keys
        fetch = []
        fetch_argv = [prefix + "/libexec/sercon/sercon-proxy-fetch", "keys"]
        for i in range(COLD_RUNS):
            fetch.append(timed(fetch_argv, "user-%06d" % (NKEYS - 1), b.run_as))
        progress("fetch: median %.1f ms" % statistics.median(fetch))
        requests = len(b.engine.log_lines())
        warm = [timed(b.argv, b.expect, b.run_as) for _ in range(WARM_RUNS)]
        if len(b.engine.log_lines()) != requests:
            raise SystemExit("the warm runs asked the engine")
        progress("warm: median %.2f ms over %d runs" % (
            statistics.median(warm), WARM_RUNS))
        out.update({"keys_helper_warm_10k": summary(warm),
                    "keys_helper_cold_10k": summary(cold),
                    "index_rebuild_peak_rss_10k": rss_summary(cold_rss),
                    "index_rebuild_cpu_10k": summary(cold_cpu),
                    "engine_key_fetch_10k": summary(fetch)})

        # a hung engine: a warm installation whose answers are past
        # cache_ttl, then the engine stops answering (timeout 5 s)
        b.drop_all()
        b.configure(paths, timeout=5, cache_ttl=1)
        b.login()
        time.sleep(1.2)
        b.engine.control("slow", delay=3600)
        logins = []
        for i in range(HANG_LOGINS):
            logins.append(b.login())
            progress("login %d/%d while the engine hangs: %.0f ms" % (
                i + 1, HANG_LOGINS, logins[-1]))
        out["login_engine_hung_first"] = summary(logins[:1])
        out["login_engine_hung_next10"] = summary(logins[1:])

        b.engine.control("normal")
        b.drop_all()
        rebuilds(b, paths, NKEYS, out)

        progress("making %d keys" % BIG)
        b.drop_all()
        b.start(BIG, paths)
        b.configure(paths)
        big, big_rss, big_cpu = b.cold(3)
        out["keys_helper_cold_100k"] = summary(big)
        out["index_rebuild_peak_rss_100k"] = rss_summary(big_rss)
        out["index_rebuild_cpu_100k"] = summary(big_cpu)
        rebuilds(b, paths, BIG, out)
        print(json.dumps(out))
    finally:
        try:
            os.unlink(os.path.join(b.confd, CONF))
        except FileNotFoundError:
            pass
        if b.engine:
            b.engine.stop()
        b.drop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
