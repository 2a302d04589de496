#!/usr/bin/python3
# tools/bench/host.py: benchmark of sercon-host-shell's relay beside socat.
# Usage: host.py PREFIX|BUILDDIR [--runs=N] [--mib=N]
# Runs sercon-host-shell directly (SSH_ORIGINAL_COMMAND set, a conf.d file
# pointing [host] console_dir at a temporary directory) against a unix
# socket server in a separate process, and socat relaying the same data
# stdio<->unix socket. Prints ONE JSON object on stdout:
#   {"name": {"median": x, "min": y, "max": z, "unit": "..."}, ...}
# and its progress on stderr. With an installed prefix it also runs
# consoled.py (sercon-consoled beside the direct relay and a bare loop, in
# this same run) and adds its figures.

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CHUNK = 1 << 20

# The console side, run as a separate process so that it does not share
# our interpreter lock (consoled.py uses it too). sink: count until EOF,
# answer the count, close; sinkn: count N bytes, answer, stay; source:
# send N bytes of 0x5a, close; waitsource: wait for one byte, send N bytes,
# stay; echo.
SERVER = r"""
import socket, sys
mode, path, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(4)
sys.stdout.write("ready\n")
sys.stdout.flush()
c, _ = s.accept()
if mode in ("sink", "sinkn"):
    buf = bytearray(1 << 20)
    n = 0
    while mode == "sink" or n < total:
        k = c.recv_into(buf)
        if k == 0:
            break
        n += k
    c.sendall(b"%d\n" % n)
elif mode in ("source", "waitsource"):
    if mode == "waitsource":
        c.recv(1)
    block = b"\x5a" * (1 << 20)
    left = total
    while left > 0:
        left -= c.send(block[:min(left, len(block))])
elif mode == "echo":
    while True:
        d = c.recv(4096)
        if not d:
            break
        c.sendall(d)
if mode in ("sinkn", "waitsource"):
    c.recv(1)          # stays until the client goes
c.close()
"""


def start_server(directory, name, mode, total=0):
    """SERVER at directory/name: (its process, the socket's path)."""
    path = os.path.join(directory, name)
    p = subprocess.Popen([sys.executable, "-c", SERVER, mode, path, str(total)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    return p, path


def feed(fd, total, tick=None):
    """Writes total bytes of 0xa5 to fd; tick() after every 64 MiB."""
    block = memoryview(b"\xa5" * CHUNK)
    left = total
    while left > 0:
        left -= os.write(fd, block[:min(left, CHUNK)])
        if tick is not None and (total - left) % (64 * CHUNK) == 0:
            tick()


def drain(fd, total=None, tick=None):
    """Reads fd until EOF, or until total bytes: (bytes read, how many of
    them were not the source's 0x5a: a notice or a gap would show);
    tick() at every 64 MiB."""
    buf = bytearray(CHUNK)
    got = bad = 0
    while total is None or got < total:
        k = os.readv(fd, [buf])
        if k == 0:
            break
        if tick is not None and got // (64 * CHUNK) != (got + k) // (64 * CHUNK):
            tick()
        bad += k - buf.count(0x5a, 0, k)
        got += k
    return got, bad


def rtt_median(wfd, rfd, count):
    """Median seconds of count 1-byte round trips (after 50 to warm up)."""
    samples = []
    for i in range(count + 50):
        t0 = time.perf_counter_ns()
        os.write(wfd, b"k")
        assert os.read(rfd, 1) == b"k"
        if i >= 50:
            samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) / 1e9


def progress(msg):
    sys.stderr.write("bench host: %s\n" % msg)
    sys.stderr.flush()


def make_vars(builddir):
    """prefix and sysconfdir of a configured build directory."""
    vals = {}
    with open(os.path.join(builddir, "Makefile")) as f:
        for line in f:
            for key in ("prefix", "exec_prefix", "sysconfdir"):
                if line.startswith(key + " = "):
                    vals[key] = line.split("=", 1)[1].strip()
    sysconf = vals["sysconfdir"].replace("${prefix}", vals["prefix"])
    return sysconf.replace("$(prefix)", vals["prefix"])


def locate(arg):
    """(the host shell binary, the conf.d directory it reads)."""
    installed = os.path.join(arg, "libexec/sercon/sercon-host-shell")
    if os.path.exists(installed):
        return installed, os.path.join(arg, "etc/sercon/conf.d")
    built = os.path.join(arg, "src/host-shell/sercon-host-shell")
    if os.path.exists(built):
        return built, os.path.join(make_vars(arg), "sercon/conf.d")
    sys.exit("bench host: no sercon-host-shell under %s" % arg)


class Bench:
    def __init__(self, shell, confd):
        self.shell = shell
        self.confd = confd
        self.tmp = tempfile.mkdtemp(prefix="sercon-bench-host-")
        self.made_confd = not os.path.isdir(confd)
        os.makedirs(confd, exist_ok=True)
        self.conf = os.path.join(confd, "zz-bench-host-%d.conf" % os.getpid())
        with open(self.conf, "w") as f:
            f.write("[general]\ndebug = false\nlog_socket = %s/no-log.sock\n"
                    "[host]\nconsole_dir = %s\nlock_dir = %s/lock\n"
                    % (self.tmp, self.tmp, self.tmp))
        self.socat = shutil.which("socat")
        self.n = 0

    def close(self):
        os.unlink(self.conf)
        if self.made_confd:
            try:
                os.rmdir(self.confd)
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, mode, total=0):
        self.n += 1
        name = "b%d.sock" % self.n
        p, path = start_server(self.tmp, name, mode, total)
        return p, name, path

    def relay_argv(self, tool, name, path):
        if tool == "socat":
            return [self.socat, "STDIO", "UNIX-CONNECT:" + path], None
        env = {"PATH": "/usr/bin:/bin",
               "SSH_ORIGINAL_COMMAND": "connect --console=" + name}
        return [self.shell], env

    @staticmethod
    def reap(p):
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        return ru.ru_utime + ru.ru_stime

    @staticmethod
    def memory(pid):
        """(VmHWM, private memory) in KiB of a running process. VmHWM and
        not wait4's ru_maxrss, which also counts the forked copy of this
        Python process from before the exec."""
        try:
            with open("/proc/%d/status" % pid) as f:
                hwm = [int(l.split()[1]) for l in f if l.startswith("VmHWM:")][0]
            with open("/proc/%d/smaps_rollup" % pid) as f:
                priv = sum(int(l.split()[1]) for l in f
                           if l.startswith(("Private_Clean:", "Private_Dirty:")))
            return hwm, priv
        except (OSError, IndexError):
            return None

    def sessions_pss(self, count):
        """Proportional set size per session (shared pages divided among
        the processes mapping them) with count host-shells open at once on
        idle consoles: what each further session costs the host."""
        socks, conns, procs = [], [], []
        try:
            for i in range(count):
                self.n += 1
                name = "idle%d.sock" % self.n
                path = os.path.join(self.tmp, name)
                srv = socket.socket(socket.AF_UNIX)
                srv.bind(path)
                srv.listen(1)
                socks.append(srv)
                argv, env = self.relay_argv("sercon-host-shell", name, path)
                procs.append(subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                                              stdout=subprocess.DEVNULL))
                conns.append(srv.accept()[0])
            time.sleep(0.2)
            pss = 0
            for p in procs:
                with open("/proc/%d/smaps_rollup" % p.pid) as f:
                    pss += sum(int(l.split()[1]) for l in f if l.startswith("Pss:"))
            return pss / count
        finally:
            for p in procs:
                p.stdin.close()
            for c in conns + socks:
                c.close()
            for p in procs:
                p.wait()

    def to_console(self, tool, total):
        """stdin -> console: seconds until the sink's count comes back."""
        srv, name, path = self.server("sink")
        argv, env = self.relay_argv(tool, name, path)
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        mem = []

        def writer():
            feed(p.stdin.fileno(), total, lambda: mem.append(self.memory(p.pid)))
            p.stdin.close()

        th = threading.Thread(target=writer)
        th.start()
        answer = p.stdout.readline()
        t1 = time.perf_counter()
        th.join()
        p.stdout.close()
        cpu = self.reap(p)
        srv.wait()
        assert int(answer) == total, "sink counted %r of %d" % (answer, total)
        return (t1 - t0, cpu) + peak(mem)

    def from_console(self, tool, total):
        """console -> stdout: seconds until EOF on our end of stdout."""
        srv, name, path = self.server("source", total)
        argv, env = self.relay_argv(tool, name, path)
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        mem = []
        got, bad = drain(p.stdout.fileno(),
                         tick=lambda: mem.append(self.memory(p.pid)))
        t1 = time.perf_counter()
        p.stdin.close()
        p.stdout.close()
        cpu = self.reap(p)
        srv.wait()
        assert got == total and bad == 0, "got %d of %d, %d wrong" % (got, total, bad)
        return (t1 - t0, cpu) + peak(mem)

    def rtt(self, tool, count):
        """Median seconds of a 1-byte round trip through tool (or none)."""
        srv, name, path = self.server("echo")
        p = None
        if tool is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            wfd = rfd = s.fileno()
        else:
            argv, env = self.relay_argv(tool, name, path)
            p = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE)
            wfd, rfd = p.stdin.fileno(), p.stdout.fileno()
        rtt = rtt_median(wfd, rfd, count)
        if tool is None:
            s.close()
        else:
            p.stdin.close()
            p.stdout.close()
            self.reap(p)
        srv.wait()
        return rtt


def peak(samples):
    """(highest VmHWM, highest private memory) of the samples taken."""
    samples = [m for m in samples if m is not None]
    if not samples:
        return None, None
    return max(m[0] for m in samples), max(m[1] for m in samples)


def summary(values, unit, scale=1.0):
    v = [x * scale for x in values]
    return {"median": round(statistics.median(v), 4), "min": round(min(v), 4),
            "max": round(max(v), 4), "unit": unit}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    if len(args) != 1:
        sys.exit("usage: host.py PREFIX|BUILDDIR [--runs=N] [--mib=N]")
    runs = int(opts.get("runs", 5))
    mib = int(opts.get("mib", 512))
    total = mib << 20
    shell, confd = locate(args[0])
    b = Bench(shell, confd)
    out = {}
    try:
        tools = ["sercon-host-shell"] + (["socat"] if b.socat else [])
        keys = {"sercon-host-shell": "host_shell", "socat": "socat",
                None: "bare_socket"}
        res = {}
        # Runs interleave the tools, so that the load of a shared machine
        # falls on each alike.
        for i in range(runs):
            for direction in ("to_console", "from_console"):
                for tool in tools:
                    secs, c, r, pv = getattr(b, direction)(tool, total)
                    m = res.setdefault((keys[tool], direction),
                                       {"rate": [], "cpu": [], "rss": [], "priv": []})
                    m["rate"].append(mib / secs)
                    m["cpu"].append(c / (total / (1 << 30)))
                    if r is not None:
                        m["rss"].append(r)
                        m["priv"].append(pv)
                    progress("%s %s run %d: %.0f MiB/s, %.2f s CPU/GiB, "
                             "peak RSS %s KiB, private %s KiB"
                             % (tool, direction, i + 1, m["rate"][-1],
                                m["cpu"][-1], r, pv))
        for (key, direction), m in res.items():
            name = "%s_%s" % (key, direction)
            out[name] = summary(m["rate"], "MiB/s")
            out[name + "_cpu_per_gib"] = summary(m["cpu"], "s/GiB")
            if m["rss"]:
                out[name + "_peak_rss"] = summary(m["rss"], "KiB")
                out[name + "_private_mem"] = summary(m["priv"], "KiB")
        rtt = {}
        for i in range(runs):
            for tool in [None] + tools:
                rtt.setdefault(keys[tool], []).append(b.rtt(tool, 2000))
        for key, v in rtt.items():
            progress("keystroke round trip %s: %s ms" % (
                key, ", ".join("%.4f" % (x * 1e3) for x in v)))
            out["keystroke_rtt_%s" % key] = summary(v, "ms", 1e3)
        for key in ("host_shell", "socat"):
            if key in rtt:
                added = [a - bare for a, bare in zip(rtt[key], rtt["bare_socket"])]
                out["keystroke_added_%s" % key] = summary(added, "ms", 1e3)
        pss = [b.sessions_pss(20) for i in range(runs)]
        progress("PSS per session, 20 sessions open: %s KiB" % pss)
        out["host_shell_pss_per_session_20"] = summary(pss, "KiB")
    finally:
        b.close()
    if os.path.exists(os.path.join(args[0], "libexec/sercon/sercon-consoled")):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import consoled
        out.update(consoled.measure(args[0], confd, runs, min(mib, 256)))
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
