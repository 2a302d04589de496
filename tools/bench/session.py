#!/usr/bin/python3
# tools/bench/session.py: what the proxy's session data path costs
# (sercon-proxy-wait's poll loop, src/lib/proxy/session.c, between the
# user's pty and the ssh child that dials the host), against floors
# measured in the same run, interleaved:
#
#   proxy_*   the proxy's own share. sercon-proxy-wait runs on a pty as
#             sercon-proxy-shell would start it, but in a private mount
#             namespace where the ssh program it runs is bind-mounted over
#             by a stub: `cat` (an echo) or a byte source. The floor is the
#             same stub on the pty itself, as the ssh child was before the
#             session data path (it wrote straight to the user's pty).
#             Raw mode ([proxy] host_protocol = raw) and framed mode
#             (= sercon, --proto=1). cat is a faithful framed echo host:
#             the proxy's hello comes back as a hello, its window size as
#             a message the proxy ignores, and console bytes travel as
#             they are (0xFF doubled both ways).
#   chain_*   the whole chain, user ssh -> proxy sshd -> sercon-proxy-shell
#             -> ssh -> host sshd -> sercon-host-shell -> console socket,
#             of this build against an older revision's
#             (SERCON_BENCH_OLD_PREFIX, set by tools/bench/run); skipped,
#             with a note, when there is none.
#
# Usage: session.py PREFIX [--runs=N]  (as root); prints one JSON object.

import fcntl
import json
import os
import re
import shutil
import statistics
import struct
import sys
import tempfile
import termios
import threading
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import host  # noqa: E402

HOWS = ("direct", "raw", "framed")
RTT_N = 2000            # round trips per mode and run, interleaved
WARM = 50
ECHO_ROUNDS = 8         # rounds of ECHO_BYTES per mode, interleaved
ECHO_BYTES = 1 << 20
SOURCE_ROUNDS = 8       # rounds of SOURCE_BYTES per mode, interleaved
SOURCE_BYTES = 8 << 20
CHAIN_RTT_N = 300

# The byte source: sends N bytes of 0x5a for every "g" it reads, until
# its stdin ends. (The proxy's hello and window size, which come first in
# framed mode, hold no "g": see WINSIZE.)
SOURCE = r"""
import os, sys
n = int(sys.argv[1])
block = memoryview(b"\x5a" * n)
while True:
    d = os.read(0, 4096)
    if not d:
        break
    for _ in range(d.count(b"g")):
        left = block
        while left:
            left = left[os.write(1, left):]
"""
WINSIZE = (24, 80)      # rows, columns: 0x18, 0x50 in the proxy's Z message


def progress(msg):
    sys.stderr.write("bench session: %s\n" % msg)
    sys.stderr.flush()


def summary(values, unit, scale=1.0):
    v = [x * scale for x in values]
    return {"median": round(statistics.median(v), 4), "min": round(min(v), 4),
            "max": round(max(v), 4), "unit": unit}


def p90(v):
    return sorted(v)[int(len(v) * 0.9)]


class Term:
    """argv on a new pty (raw, 80x24, its controlling terminal)."""

    def __init__(self, argv, env):
        # raw before the fork: input written at once is not flushed by a
        # later tcsetattr, nor echoed in canonical mode
        fd, slave = os.openpty()
        tty.setraw(slave, termios.TCSANOW)
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", WINSIZE[0], WINSIZE[1], 0, 0))
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for i in range(3):
                    os.dup2(slave, i)
                os.closerange(3, 256)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        os.close(slave)
        self.pid, self.fd = pid, fd

    def read_until(self, token, timeout=20):
        buf = b""
        deadline = time.monotonic() + timeout
        while token not in buf:
            assert time.monotonic() < deadline, "no %r in %r" % (token, buf[-300:])
            buf += os.read(self.fd, 4096)
        return buf

    def rtt(self, c):
        """Seconds of one round trip of byte c."""
        t0 = time.perf_counter_ns()
        os.write(self.fd, c)
        while os.read(self.fd, 64)[-1:] != c:
            pass
        return (time.perf_counter_ns() - t0) / 1e9

    def echo_time(self, nbytes):
        """Seconds for nbytes of printable text written and echoed back."""
        chunk = (b"0123456789abcdef" * 256)[:4096]
        count = nbytes // len(chunk)

        def writer():
            for _ in range(count):
                os.write(self.fd, chunk)

        th = threading.Thread(target=writer, daemon=True)
        t0 = time.perf_counter()
        th.start()
        got, want = 0, count * len(chunk)
        while got < want:
            got += len(os.read(self.fd, 65536))
        t1 = time.perf_counter()
        th.join()
        assert got == want, (got, want)
        return t1 - t0

    def source_time(self, nbytes):
        """Seconds for the source's nbytes, every one checked."""
        t0 = time.perf_counter()
        os.write(self.fd, b"g")
        got, bad = host.drain(self.fd, nbytes)
        t1 = time.perf_counter()
        assert got == nbytes and bad == 0, (got, nbytes, bad)
        return t1 - t0

    def close(self):
        os.close(self.fd)
        try:
            os.kill(self.pid, 15)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


class Isolated:
    """sercon-proxy-wait with its ssh replaced by a stub, and the floor."""

    def __init__(self, prefix):
        self.wait = os.path.join(prefix, "libexec/sercon/sercon-proxy-wait")
        with open(self.wait, "rb") as f:
            m = re.search(rb"\x00(/[A-Za-z0-9_./-]*/ssh)\x00", f.read())
        assert m, "no ssh path in %s" % self.wait
        self.ssh = m.group(1).decode()
        self.tmp = tempfile.mkdtemp(prefix="sercon-bench-session-")
        confd = os.path.join(prefix, "etc/sercon/conf.d")
        self.conf = os.path.join(confd, "zz-bench-session-%d.conf" % os.getpid())
        # a run killed by tools/bench/run's timeout left its file behind:
        # it would hold every later run of every part (host_protocol, a
        # log socket nobody reads) until removed
        for name in os.listdir(confd) if os.path.isdir(confd) else ():
            m = re.fullmatch(r"zz-bench-session-(\d+)\.conf", name)
            if m and not os.path.exists("/proc/" + m.group(1)):
                os.unlink(os.path.join(confd, name))
        self.env = {"PATH": "/usr/bin:/bin", "TERM": "xterm"}

    def close(self):
        if os.path.exists(self.conf):
            os.unlink(self.conf)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stub_argv(self, stub):
        if stub == "echo":
            return ["/bin/cat"]
        path = os.path.join(self.tmp, "source.py")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(SOURCE)
        return [sys.executable, path, str(SOURCE_BYTES)]

    def start(self, how, stub):
        """how: direct (the stub on the pty), raw or framed."""
        if how == "direct":
            return Term(self.stub_argv(stub), self.env)
        with open(self.conf, "w") as f:
            f.write("[general]\ndebug = false\nlog_socket = %s/no-log.sock\n"
                    "[proxy]\nhost_protocol = %s\nescape = ~\n" % (
                        self.tmp, "raw" if how == "raw" else "sercon"))
        # one file per stub, written once: the child of an earlier start
        # may exec its stub after the next start began
        stub_path = os.path.join(self.tmp, "ssh-" + stub)
        if not os.path.exists(stub_path):
            with open(stub_path, "w") as f:
                f.write("#!/bin/sh\nexec %s\n" % " ".join(
                    "'%s'" % a for a in self.stub_argv(stub)))
            os.chmod(stub_path, 0o755)
        # sercon-proxy-shell's call (core/contract.h), ssh bind-mounted over
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        t = Term(["/usr/bin/unshare", "-m", "--propagation", "private",
                  "/bin/sh", "-c", script, "sh", stub_path, self.ssh, self.wait,
                  "0", "0", "bench", "bench", "vm-bench", "bench",
                  "127.0.0.1", "bench.sock", "rw", "default"], self.env)
        # the session's first notice, then the hop is up
        t.read_until(b"\r\n")
        return t

    def measure(self, runs):
        """Each run opens the three modes side by side and takes their
        samples in turn (direct, raw, framed, direct, ...), so that the
        load of a shared machine falls on each alike."""
        res = {k: {h: [] for h in HOWS} for k in
               ("rtt", "p90", "echo", "source", "echo_ratio", "source_ratio")}
        for i in range(runs):
            terms = {}
            try:
                for how in HOWS:
                    terms[how] = (self.start(how, "echo"),
                                  self.start(how, "source"))
                rtt = {h: [] for h in HOWS}
                for k in range(RTT_N + WARM):
                    c = bytes([0x61 + k % 26])
                    for how in HOWS:
                        t = terms[how][0].rtt(c)
                        if k >= WARM:
                            rtt[how].append(t)
                echo = {h: [] for h in HOWS}
                for k in range(ECHO_ROUNDS):
                    for how in HOWS:
                        echo[how].append(terms[how][0].echo_time(ECHO_BYTES))
                src = {h: [] for h in HOWS}
                for k in range(SOURCE_ROUNDS):
                    for how in HOWS:
                        src[how].append(terms[how][1].source_time(SOURCE_BYTES))
            finally:
                for pair in terms.values():
                    for t in pair:
                        t.close()
            for how in HOWS:
                res["rtt"][how].append(statistics.median(rtt[how]))
                res["p90"][how].append(p90(rtt[how]))
                res["echo"][how].append(ECHO_ROUNDS * ECHO_BYTES / sum(echo[how]) / 1e6)
                res["source"][how].append(SOURCE_ROUNDS * SOURCE_BYTES /
                                          sum(src[how]) / 1e6)
                # round by round against the floor's round beside it
                res["echo_ratio"][how].append(statistics.median(
                    [d / t for t, d in zip(echo[how], echo["direct"])]))
                res["source_ratio"][how].append(statistics.median(
                    [d / t for t, d in zip(src[how], src["direct"])]))
                progress("run %d %s: rtt median %.4f ms p90 %.4f ms, echo %.1f MB/s, "
                         "from host %.0f MB/s" % (
                             i + 1, how, res["rtt"][how][-1] * 1e3,
                             res["p90"][how][-1] * 1e3, res["echo"][how][-1],
                             res["source"][how][-1]))
        out = {}
        for how in HOWS:
            out["proxy_rtt_%s" % how] = summary(res["rtt"][how], "ms", 1e3)
            out["proxy_rtt_p90_%s" % how] = summary(res["p90"][how], "ms", 1e3)
            out["proxy_echo_rate_%s" % how] = summary(res["echo"][how], "MB/s")
            out["proxy_from_host_rate_%s" % how] = summary(res["source"][how], "MB/s")
        for how in ("raw", "framed"):
            for k, name in (("rtt", "proxy_rtt_added_%s"),
                            ("p90", "proxy_rtt_added_p90_%s")):
                out[name % how] = summary(
                    [a - d for a, d in zip(res[k][how], res[k]["direct"])], "ms", 1e3)
            out["proxy_echo_ratio_%s" % how] = summary(res["echo_ratio"][how], "x")
            out["proxy_from_host_ratio_%s" % how] = summary(
                res["source_ratio"][how], "x")
        out["proxy_goals"] = goals(out)
        return out


def goals(out):
    """Issue 11's goals for the proxy's own share, met or not (medians)."""
    said = []
    for how in ("raw", "framed"):
        rtt = out["proxy_rtt_added_%s" % how]["median"]
        words = ["%s: +%.3f ms a round trip (goal <= 0.05: %s)" % (
            how, rtt, "met" if rtt <= 0.05 else "NOT MET")]
        for k, what in (("from_host", "from the host"), ("echo", "echoed")):
            r = out["proxy_%s_ratio_%s" % (k, how)]["median"]
            words.append("%.2fx of the floor's throughput %s (goal >= 0.8: %s)" % (
                r, what, "met" if r >= 0.8 else "NOT MET"))
        said.append(", ".join(words))
    return "; ".join(said)


def chain(new_prefix, old_prefix, runs):
    """The whole chain, this build's and the old one's, interleaved, with
    proxy.py's setup (a CA, both sshd, an echoing console)."""
    import random
    import proxy
    benches = {}
    out = {}
    try:
        for label, prefix in (("new", new_prefix), ("old", old_prefix)):
            b = proxy.Bench(prefix, 1, runs)
            benches[label] = b
            b.setup()
            path, _ = b.inventory(10, random.Random(1))
            host = b.start(b.dir + "/host_sshd_config")
            b.write_conf(path, host.port)
            proxy.Console(b.console_dir + "/bench.sock")
            b.port = b.start(b.dir + "/proxy_sshd_config").port
        rtt, tput = {}, {}
        for i in range(runs):
            # both sessions open, their samples taken in turn
            sess = {}
            try:
                for label, b in benches.items():
                    sess[label] = b.first_byte(b.ssh(b.port, "bench", tty=True))[1:]
                r = {label: [] for label in benches}
                for k in range(CHAIN_RTT_N):
                    for label, b in benches.items():
                        r[label] += b.rtt(sess[label][1], 1)
                t = {label: [] for label in benches}
                for k in range(ECHO_ROUNDS):
                    for label, b in benches.items():
                        t[label].append(b.throughput(sess[label][1], ECHO_BYTES))
            finally:
                for label, (pid, fd) in sess.items():
                    benches[label].end(pid, fd)
            for label in benches:
                rtt.setdefault(label, []).append(r[label])
                tput.setdefault(label, []).append(statistics.median(t[label]))
                progress("chain %s run %d: rtt median %.3f ms, echo %.1f MB/s" % (
                    label, i + 1, statistics.median(r[label]), tput[label][-1]))
        for label in benches:
            out["chain_rtt_%s" % label] = summary(
                [statistics.median(s) for s in rtt[label]], "ms")
            out["chain_rtt_p90_%s" % label] = summary(
                [p90(s) for s in rtt[label]], "ms")
            out["chain_echo_rate_%s" % label] = summary(tput[label], "MB/s")
        out["chain_rtt_added_new_over_old"] = summary(
            [statistics.median(n) - statistics.median(o)
             for n, o in zip(rtt["new"], rtt["old"])], "ms")
        out["chain_echo_ratio_new_to_old"] = summary(
            [n / o for n, o in zip(tput["new"], tput["old"])], "x")
        added = out["chain_rtt_added_new_over_old"]["median"]
        ratio = out["chain_echo_ratio_new_to_old"]["median"]
        out["chain_goals"] = (
            "whole chain, this build against the old: %+.3f ms a round trip "
            "(goal <= 0.05: %s), %.2fx the old throughput (goal >= 0.8: %s)" % (
                added, "met" if added <= 0.05 else "NOT MET", ratio,
                "met" if ratio >= 0.8 else "NOT MET"))
    finally:
        for b in benches.values():
            b.cleanup()
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    if len(args) != 1:
        sys.exit("usage: session.py PREFIX [--runs=N]")
    prefix = os.path.abspath(args[0])
    runs = int(opts.get("runs", 5))
    iso = Isolated(prefix)
    try:
        out = iso.measure(runs)
    finally:
        iso.close()
    old = os.environ.get("SERCON_BENCH_OLD_PREFIX")
    if old:
        out["chain_old_revision"] = os.environ.get("SERCON_BENCH_OLD_REV", "?")
        out.update(chain(prefix, old, runs))
    else:
        out["chain_old_vs_new"] = "skipped: %s" % os.environ.get(
            "SERCON_BENCH_OLD_SKIPPED", "no SERCON_BENCH_OLD_PREFIX (run it "
            "through tools/bench/run)")
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
