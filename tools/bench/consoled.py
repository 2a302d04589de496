#!/usr/bin/python3
# tools/bench/consoled.py: sercon-consoled's figures, measured in the same
# run as their floors: throughput through the daemon beside the direct
# relay (sercon-host-shell without a daemon) and a bare read/write loop;
# the keystroke round trip the daemon adds; the daemon's memory with 1,000
# idle consoles and its CPU and wake-ups while they stay idle; 200 sessions
# over 50 consoles. host.py runs it (its figures join host.py's JSON); run
# alone: consoled.py PREFIX [--runs=N] [--mib=N] prints one JSON object.

import json
import os
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from host import drain, feed, rtt_median, start_server, summary  # noqa: E402

# The floor: a bare read/write loop between stdio and the socket, no
# framing, no policy (what any relay must at least do).
BARE = r"""
import os, selectors, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
sel = selectors.DefaultSelector()
sel.register(0, selectors.EVENT_READ, s.fileno())
sel.register(s.fileno(), selectors.EVENT_READ, 1)
while True:
    for key, _ in sel.select():
        d = os.read(key.fd, 1 << 16)
        if not d:
            sys.exit(0)
        mv = memoryview(d)
        while mv:
            mv = mv[os.write(key.data, mv):]
"""


def progress(msg):
    sys.stderr.write("bench consoled: %s\n" % msg)
    sys.stderr.flush()


def proc_status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])       # utime + stime


def private_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        return sum(int(l.split()[1]) for l in f
                   if l.startswith(("Private_Clean:", "Private_Dirty:")))


class Consoled:
    def __init__(self, prefix, tmp, confd):
        self.daemon = os.path.join(prefix, "libexec/sercon/sercon-consoled")
        self.shell = os.path.join(prefix, "libexec/sercon/sercon-host-shell")
        self.tmp = tmp
        self.sock = os.path.join(tmp, "consoled.sock")
        self.confd = confd
        self.conf = os.path.join(confd, "zz-bench-consoled-%d.conf" % os.getpid())
        self.proc = None
        self.n = 0
        self.write_conf()

    def write_conf(self, extra=""):
        with open(self.conf, "w") as f:
            f.write("[general]\ndebug = false\nlog_socket = %s/no-log.sock\n"
                    "[host]\nconsole_dir = %s/con\nlock_dir = %s/lock\n"
                    "attach_socket = %s\n%s" % (self.tmp, self.tmp, self.tmp,
                                                self.sock, extra))
        os.makedirs(os.path.join(self.tmp, "con"), exist_ok=True)

    def close(self):
        self.stop()
        os.unlink(self.conf)

    def start(self):
        self.proc = subprocess.Popen([self.daemon], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock):
            assert self.proc.poll() is None, "sercon-consoled exited"
            assert time.monotonic() < deadline, "sercon-consoled did not start"
            time.sleep(0.01)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()
        self.proc = None

    def server(self, mode, total=0):
        self.n += 1
        name = "b%d.sock" % self.n
        p, path = start_server(os.path.join(self.tmp, "con"), name, mode, total)
        return p, name, path

    def client(self, tool, name, path, opts=""):
        """bare: the bare loop; direct: host shell, no daemon; daemon."""
        if tool == "bare":
            return subprocess.Popen([sys.executable, "-c", BARE, path],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        env = {"PATH": "/usr/bin:/bin", "SSH_ORIGINAL_COMMAND":
               ("connect --console=%s --replay=0 %s" % (name, opts)).strip()}
        return subprocess.Popen([self.shell], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)

    def wait_attached(self, name):
        """The daemon connected to the console (status says so)."""
        env = {"PATH": "/usr/bin:/bin", "SSH_ORIGINAL_COMMAND": "status"}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = subprocess.run([self.shell], env=env, capture_output=True,
                               text=True)
            if "console=%s state=connected" % name in r.stdout:
                return
            time.sleep(0.01)
        raise AssertionError("the daemon did not connect to %s" % name)

    def _with(self, tool):
        if tool == "daemon":
            if self.proc is None:
                self.start()
        else:
            self.stop()

    def to_console(self, tool, total):
        self._with(tool)
        srv, name, path = self.server("sinkn", total)
        if tool == "daemon":
            self.wait_attached(name)
        t0 = time.perf_counter()
        p = self.client(tool, name, path)
        th = threading.Thread(target=feed, args=(p.stdin.fileno(), total))
        th.start()
        answer = b""
        while not answer.endswith(b"\n"):
            d = os.read(p.stdout.fileno(), 4096)
            assert d, "EOF before the sink's answer"
            answer += d
        t1 = time.perf_counter()
        th.join()
        p.kill()
        p.wait()
        srv.kill()
        srv.wait()
        assert int(answer.split()[-1]) == total, answer
        return t1 - t0

    def from_console(self, tool, total):
        self._with(tool)
        srv, name, path = self.server("waitsource", total)
        if tool == "daemon":
            self.wait_attached(name)
        t0 = time.perf_counter()
        p = self.client(tool, name, path)
        os.write(p.stdin.fileno(), b"g")
        got, bad = drain(p.stdout.fileno(), total)
        t1 = time.perf_counter()
        p.kill()
        p.wait()
        srv.kill()
        srv.wait()
        assert got == total and bad == 0, (got, total, bad)
        return t1 - t0

    def rtt(self, tool, count):
        self._with(tool)
        srv, name, path = self.server("echo")
        if tool == "daemon":
            self.wait_attached(name)
        p = self.client(tool, name, path)
        rtt = rtt_median(p.stdin.fileno(), p.stdout.fileno(), count)
        p.kill()
        p.wait()
        srv.kill()
        srv.wait()
        return rtt


def idle_consoles(c, count=1000, idle_secs=10):
    """count consoles nobody prints on: the daemon's memory once it holds
    them all, then its CPU ticks and context switches while they idle."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    d = os.path.join(c.tmp, "con")
    socks = []
    # No stale sockets of earlier phases (the daemon would retry them).
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    c.stop()
    c.start()
    try:
        base_rss = proc_status(c.proc.pid, "VmRSS")
        base_priv = private_kib(c.proc.pid)
        for i in range(count):
            s = socket.socket(socket.AF_UNIX)
            s.bind(os.path.join(d, "idle%04d.sock" % i))
            s.listen(1)       # the daemon's connect waits in the backlog
            socks.append(s)
        env = {"PATH": "/usr/bin:/bin", "SSH_ORIGINAL_COMMAND": "status"}
        deadline = time.monotonic() + 60
        while True:
            r = subprocess.run([c.shell], env=env, capture_output=True, text=True)
            up = r.stdout.count("state=connected")
            if up >= count:
                break
            assert time.monotonic() < deadline, "only %d consoles up" % up
            time.sleep(0.2)
        time.sleep(0.5)
        rss = proc_status(c.proc.pid, "VmRSS")
        priv = private_kib(c.proc.pid)
        ticks0 = proc_cpu_ticks(c.proc.pid)
        sw0 = (proc_status(c.proc.pid, "voluntary_ctxt_switches") +
               proc_status(c.proc.pid, "nonvoluntary_ctxt_switches"))
        time.sleep(idle_secs)
        ticks = proc_cpu_ticks(c.proc.pid) - ticks0
        sw = (proc_status(c.proc.pid, "voluntary_ctxt_switches") +
              proc_status(c.proc.pid, "nonvoluntary_ctxt_switches")) - sw0
        return {"rss": rss, "priv": priv, "rss_added": rss - base_rss,
                "priv_added": priv - base_priv, "ticks": ticks, "wakeups": sw}
    finally:
        c.stop()
        for s in socks:
            s.close()
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))


ECHO_MANY = r"""
import os, selectors, socket, sys
d, n = sys.argv[1], int(sys.argv[2])
sel = selectors.DefaultSelector()
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.path.join(d, "m%02d.sock" % i))
    s.listen(4)
    sel.register(s, selectors.EVENT_READ, "listen")
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    for key, _ in sel.select():
        if key.data == "listen":
            c, _ = key.fileobj.accept()
            sel.register(c, selectors.EVENT_READ, "conn")
            continue
        d = key.fileobj.recv(4096)
        if not d:
            sel.unregister(key.fileobj)
            key.fileobj.close()
            continue
        key.fileobj.sendall(d)
"""


def many_sessions(c, consoles=50, per=4):
    """consoles x per sessions at once: on each console the writer types a
    token of its own and every session of that console must see exactly
    it. Returns (seconds, sessions correct, daemon RSS KiB)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    c.stop()
    c.write_conf("max_sessions = 1024\n")
    c.start()
    d = os.path.join(c.tmp, "con")
    srv = subprocess.Popen([sys.executable, "-c", ECHO_MANY, d, str(consoles)],
                           stdout=subprocess.PIPE, text=True)
    assert srv.stdout.readline() == "ready\n"
    procs = []
    try:
        for i in range(consoles):
            c.wait_attached("m%02d.sock" % i)
        t0 = time.perf_counter()
        for k in range(per):
            for i in range(consoles):
                name = "m%02d.sock" % i
                procs.append((i, k, c.client("daemon", name, None,
                                             "" if k == 0 else "--read-only")))
        # Every session has attached once the status lists them all.
        env = {"PATH": "/usr/bin:/bin", "SSH_ORIGINAL_COMMAND": "status"}
        deadline = time.monotonic() + 60
        while True:
            r = subprocess.run([c.shell], env=env, capture_output=True, text=True)
            if r.stdout.count("\nsession=") + r.stdout.startswith("session=") >= consoles * per:
                break
            assert time.monotonic() < deadline, "not all sessions attached"
            time.sleep(0.1)
        for i, k, p in procs:
            if k == 0:
                os.write(p.stdin.fileno(), b"<tok%02d>" % i)
        ok = 0
        sel = selectors.DefaultSelector()
        got = {}
        for i, k, p in procs:
            sel.register(p.stdout, selectors.EVENT_READ, (i, k, p))
            got[(i, k)] = b""
        want = {(i, k): b"<tok%02d>" % i for i, k, _ in procs}
        deadline = time.monotonic() + 60
        while sel.get_map() and time.monotonic() < deadline:
            for key, _ in sel.select(1):
                i, k, p = key.data
                d_ = os.read(p.stdout.fileno(), 4096)
                got[(i, k)] += d_
                if want[(i, k)] in got[(i, k)] or not d_:
                    sel.unregister(key.fileobj)
        t1 = time.perf_counter()
        for key, v in got.items():
            # Exactly its own console's token, nobody else's.
            toks = [t for t in v.split(b"<")[1:] if t.startswith(b"tok")]
            if toks == [b"tok%02d>" % key[0]]:
                ok += 1
        rss = proc_status(c.proc.pid, "VmRSS")
        return t1 - t0, ok, rss
    finally:
        for _, _, p in procs:
            p.kill()
            p.wait()
        srv.kill()
        srv.wait()
        c.stop()
        c.write_conf()
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))


def measure(prefix, confd, runs, mib):
    tmp = tempfile.mkdtemp(prefix="sercon-bench-consoled-")
    c = Consoled(prefix, tmp, confd)
    out = {}
    total = mib << 20
    try:
        rates = {}
        # Interleaved: bare, direct, daemon, bare, ... so that the load
        # of a shared machine falls on each alike.
        for i in range(runs):
            for direction in ("to_console", "from_console"):
                for tool in ("bare", "direct", "daemon"):
                    secs = getattr(c, direction)(tool, total)
                    rates.setdefault((tool, direction), []).append(mib / secs)
                    progress("%s %s run %d: %.0f MiB/s" % (tool, direction, i + 1,
                                                           mib / secs))
        for direction in ("to_console", "from_console"):
            for tool in ("bare", "direct", "daemon"):
                out["consoled_tp_%s_%s" % (tool, direction)] = summary(
                    rates[(tool, direction)], "MiB/s")
            ratio = [d / b for d, b in zip(rates[("daemon", direction)],
                                           rates[("bare", direction)])]
            out["consoled_tp_ratio_daemon_to_bare_%s" % direction] = summary(
                ratio, "x")
        rtt = {}
        for i in range(runs):
            for tool in ("bare", "direct", "daemon"):
                rtt.setdefault(tool, []).append(c.rtt(tool, 2000))
        for tool, v in rtt.items():
            out["consoled_rtt_%s" % tool] = summary(v, "ms", 1e3)
        out["consoled_rtt_added_by_daemon"] = summary(
            [d - h for d, h in zip(rtt["daemon"], rtt["direct"])], "ms", 1e3)
        idle = [idle_consoles(c) for i in range(max(1, runs // 2))]
        for k, unit in (("rss", "KiB"), ("priv", "KiB"), ("rss_added", "KiB"),
                        ("priv_added", "KiB"), ("ticks", "ticks/10s"),
                        ("wakeups", "switches/10s")):
            out["consoled_idle1000_%s" % k] = summary([x[k] for x in idle], unit)
        progress("1000 idle consoles: %s" % idle)
        many = [many_sessions(c) for i in range(max(1, runs // 2))]
        out["consoled_200x50_seconds"] = summary([m[0] for m in many], "s")
        out["consoled_200x50_correct"] = summary([m[1] for m in many], "sessions")
        out["consoled_200x50_daemon_rss"] = summary([m[2] for m in many], "KiB")
        progress("200 sessions over 50 consoles: %s" % many)
    finally:
        c.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    if len(args) != 1:
        sys.exit("usage: consoled.py PREFIX [--runs=N] [--mib=N]")
    prefix = args[0]
    print(json.dumps(measure(prefix, os.path.join(prefix, "etc/sercon/conf.d"),
                             int(opts.get("runs", 3)), int(opts.get("mib", 256))),
                     indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
