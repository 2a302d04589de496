#!/usr/bin/python3
# tools/bench/migration.py: from a VM's arrival on its new host (a real
# qemu live migration) to the first byte on the user's screen, with the
# machinery of tests/integration/test_migration.py (three network
# namespaces: the proxy and two hypervisors, each with its host sshd and
# sercon-consoled; the manager an inventory file), which this script runs
# through pytest with the suite's conftest.py and test_migration.py as
# plugins. One user session stays attached while the VM is migrated back
# and forth MIGRATIONS times; the guest prints a counter every 0.1 s.
#
#   arrival      the source's QMP says the migration is "completed"
#                (polled every 10 ms): from then on the VM runs on the
#                destination. Then, as libvirt and the manager would, the
#                inventory is updated to the new host and the source qemu
#                quits (its console closes under the session).
#   first byte   the first console byte the user's ssh gets after the
#                proxy's "[sercon] VM is now on HOST" notice.
#
# The installation is the integration suite's (SERCON_TEST_TAG, default
# "bench": /var/lib/sercon-test/bench/root, built from build-test-bench),
# not PREFIX: the fixtures build and install it. Needs root, iproute2 and
# qemu-system-x86_64; without them it says why and prints no figures.
# Usage: migration.py PREFIX [--migrations=N]; prints one JSON object.

import json
import os
import re
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
INTEG = os.path.join(TOP, "tests", "integration")
# When pytest collects this file (main below), the suite's conftest is
# loaded and its directory on the path: test_migration's fixtures, imported
# then, share that one conftest module (and its trusted known_hosts).
if INTEG in sys.path:
    from test_migration import chain, hypervisors, inventory  # noqa: E402,F401
MIGRATIONS = 5
# What the programs log on the way, timed as the bench receives it.
STEPS = (("console_closed", r"console \S+: closed"),
         ("proxy_follows", r"follow entity=.*: the console closed"),
         ("proxy_dials", r"connect entity=.*replay=arrival: dialing"),
         ("host_session_open", r"console open: console="))


class TimedLines(list):
    """The syslog fixture's list of lines, with when each came."""

    def __init__(self, lines):
        super().__init__(lines)
        self.at = [0.0] * len(lines)

    def append(self, line):
        self.at.append(time.monotonic())
        super().append(line)


def progress(msg):
    sys.stderr.write("bench migration: %s\n" % msg)
    sys.stderr.flush()


def summary(values, unit):
    return {"median": round(statistics.median(values), 1),
            "min": round(min(values), 1), "max": round(max(values), 1),
            "unit": unit, "runs": len(values)}


def wait_gone(vm, when):
    """Appends to when the time vm's qemu is no longer there."""
    deadline = time.monotonic() + 30
    while vm.alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    if not vm.alive():
        when.append(time.monotonic())


def migrate_once(tm, hypervisors, p, src, src_hv, dst_hv, k, syslog):
    """Moves the VM from src_hv to dst_hv under the session p; returns the
    destination's VM and the times (ms after arrival)."""
    h = hypervisors["hosts"]
    mig = os.path.join(hypervisors["work"], "migrate-%d.sock" % k)
    m = syslog.mark()
    dst, t_cmd, arrived = tm.live_migrate(hypervisors, src, dst_hv, mig, syslog, 0.01)
    # the source's end is watched beside the session, which is read now
    gone = []
    watch = threading.Thread(target=wait_gone, args=(src, gone), daemon=True)
    watch.start()
    left = (b"[sercon] migr left %s; following it" % h[src_hv]["addr"].encode())
    now_on = b"[sercon] migr is now on %s\r\n" % h[dst_hv]["addr"].encode()
    p.expect_exact(left, timeout=60)
    t_left = time.monotonic()
    p.expect_exact(now_on, timeout=60)
    t_on = time.monotonic()
    # the first byte after the notice: already read with it, or the next
    if not p.buffer:
        p.read_nonblocking(1, timeout=30)    # the log keeps it
    t_first = time.monotonic()
    watch.join(30)
    src.kill()
    ms = lambda t: (t - arrived) * 1000   # noqa: E731
    t = {"migrate_cmd_to_arrival": (arrived - t_cmd) * 1000}
    if gone:
        t["source_gone"] = ms(gone[0])
    lines = syslog._lines
    for name, rx in STEPS:
        for i in range(m, len(lines)):
            if lines.at[i] >= arrived and re.search(rx, lines[i]):
                t[name] = ms(lines.at[i])
                break
    t.update({"left_notice": ms(t_left), "now_on_notice": ms(t_on),
              "first_byte": ms(t_first)})
    return dst, t


def test_bench_migration(hypervisors, syslog):
    """Not a test of its own: the bench's body, run through pytest."""
    import test_migration as tm
    import vm_util
    with syslog._cond:
        syslog._lines = TimedLines(syslog._lines)
    hv = tm.MIG_NS[1:]
    h = hypervisors["hosts"]
    hypervisors["place"](hv[0])
    src = vm_util.VM(os.path.join(h[hv[0]]["console"], tm.MIG_VMID + ".sock"))
    vms = [src]
    try:
        p, log = tm.counter_session(hypervisors, 0.1)
        samples = []
        n = int(os.environ.get("SERCON_BENCH_MIGRATIONS", MIGRATIONS))
        for k in range(n):
            a, b = hv[k % 2], hv[1 - k % 2]
            src, t = migrate_once(tm, hypervisors, p, src, a, b, k, syslog)
            vms.append(src)
            samples.append(t)
            progress("migration %d %s -> %s: %s" % (k + 1, a, b, ", ".join(
                "%s %.0f ms" % kv for kv in t.items())))
            p.expect(rb"tick\d+\r\n", timeout=30)
        # the session followed the VM each time, without a gap
        ticks = sorted({int(x) for x in re.findall(rb"tick(\d+)\r\n", log.getvalue())})
        assert ticks == list(range(ticks[0], ticks[-1] + 1)), ticks
        with open(os.environ["SERCON_BENCH_MIGRATION_OUT"], "w") as f:
            json.dump(samples, f)
        p.send(b"\x03")
        p.send(b"\r~~.")
        p.expect_exact(b"[sercon] you left migr")
        p.close()
    finally:
        for v in vms:
            v.kill()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    if len(args) != 1:
        sys.exit("usage: migration.py PREFIX [--migrations=N]")
    try:
        import pexpect  # noqa: F401
        import pytest
    except ImportError:
        # the suite's interpreter (pytest, pexpect), as tools/check uses
        if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
            os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
        print(json.dumps({"migration": "skipped: pytest and pexpect are needed"}))
        return 0
    if "migrations" in opts:
        os.environ["SERCON_BENCH_MIGRATIONS"] = opts["migrations"]
    os.environ.setdefault("SERCON_TEST_TAG", "bench")
    sys.path.insert(0, INTEG)
    import tempfile
    fd, result = tempfile.mkstemp(prefix="sercon-bench-migration-")
    os.close(fd)
    os.environ["SERCON_BENCH_MIGRATION_OUT"] = result
    # pytest's output is progress: stdout carries the JSON only
    out = os.dup(1)
    os.dup2(2, 1)
    try:
        rc = pytest.main([os.path.abspath(__file__) + "::test_bench_migration",
                          "-q", "-s", "-p", "no:cacheprovider", "-c",
                          os.path.join(INTEG, "pytest.ini"), "--rootdir", INTEG])
    finally:
        sys.stdout.flush()
        os.dup2(out, 1)
    with open(result) as f:
        data = f.read()
    s = json.loads(data) if data else None
    os.unlink(result)
    if s is None:
        if rc == pytest.ExitCode.OK:     # skipped: why is in pytest's lines
            print(json.dumps({"migration": "skipped: no root, iproute2 or qemu"}))
            return 0
        progress("pytest exit %s" % rc)
        return 1
    res = {"migration_arrival_to_first_byte": summary([x["first_byte"] for x in s], "ms"),
           "migration_arrival_to_left_notice": summary([x["left_notice"] for x in s], "ms"),
           "migration_arrival_to_now_on_notice":
               summary([x["now_on_notice"] for x in s], "ms"),
           "migration_migrate_to_arrival":
               summary([x["migrate_cmd_to_arrival"] for x in s], "ms"),
           "migration_first_byte_each": [round(x["first_byte"]) for x in s],
           "migration_steps_each": [{k: round(v) for k, v in x.items()} for x in s]}
    for name, _ in (("source_gone", 0),) + STEPS:
        v = [x[name] for x in s if name in x]
        if v:
            res["migration_arrival_to_" + name] = summary(v, "ms")
    print(json.dumps(res, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
