#!/usr/bin/env python3
# tools/bench/vm.py: whole-chain benchmarks (user ssh -> proxy sshd ->
# sercon-proxy-shell -> ssh -> host sshd -> sercon-host-shell -> console
# socket) against baselines measured side by side in the same run:
#   echo_rtt_chain / echo_rtt_direct     one keystroke's round trip
#   connect_first_byte_chain / _plain    connect to the console's first byte,
#                                        vs. two plain ssh hops to socat
#   sessions_200_*                       200 concurrent sessions, one proxy
# The consoles are an echo server on unix sockets (it greets each client
# and answers each byte upper-cased), so the figures measure sercon, not a
# guest. Usage: vm.py PREFIX (as root); prints one JSON object.

import json
import os
import pwd
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

GREETING = b"console-ready\r\n"
N_SESSIONS = int(os.environ.get("SERCON_BENCH_SESSIONS", "200"))
N_CONNECT = 9
N_KEYS = 200
N_CONCURRENT_RUNS = 3
IN_FLIGHT = 20


def log(msg):
    print("vm.py: " + msg, file=sys.stderr, flush=True)


def sh(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr))
    return r.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def figure(values, unit, scale=1.0):
    v = [x * scale for x in values]
    return {"median": statistics.median(v), "min": min(v), "max": max(v),
            "unit": unit, "runs": len(v)}


# --- the console stand-in -------------------------------------------------

def echo_server(directory, count):
    """Serves directory/bench-NNN.sock: greeting, then each byte upper-cased.
    Runs in its own process so that it competes with nothing in the client."""
    import asyncio

    async def handle(reader, writer):
        writer.write(GREETING)
        await writer.drain()
        while True:
            data = await reader.read(4096)
            if not data:
                break
            writer.write(data.upper())
            await writer.drain()
        writer.close()

    async def main():
        ent = pwd.getpwnam("sercon")
        servers = []
        for i in range(count):
            path = os.path.join(directory, "bench-%03d.sock" % i)
            if os.path.exists(path):
                os.unlink(path)
            servers.append(await asyncio.start_unix_server(handle, path=path))
            os.chown(path, 0, ent.pw_gid)
            os.chmod(path, 0o660)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# --- the environment --------------------------------------------------------

class Env:
    def __init__(self, prefix):
        self.prefix = prefix
        self.work = os.path.join(os.path.dirname(prefix), "vm-bench")
        self.pki = prefix + "/etc/pki/sercon"
        self.etc = prefix + "/etc/sercon"
        self.datadir = prefix + "/share/sercon"
        self.console_dir = prefix + "/var/run/sercon/console"
        self.procs = []
        self.conf = os.path.join(self.etc, "conf.d", "90-bench-vm.conf")
        self.inventory = os.path.join(self.etc, "inventory.json")
        self.saved_inventory = None

    def keygen(self, path, comment="sercon-bench"):
        for p in (path, path + ".pub"):
            if os.path.exists(p):
                os.unlink(p)
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path])

    def sign(self, pub, principals, host=False):
        argv = ["ssh-keygen", "-q", "-s", self.ca, "-I", "sercon-bench",
                "-n", ",".join(principals), "-V", "-5m:+1d"]
        if host:
            argv.append("-h")
        sh(argv + [pub])

    def setup_pki(self):
        """A CA and the certificates, as sercon-setup would make them."""
        self.ca = os.path.join(self.work, "ca")
        self.keygen(self.ca, "sercon-bench-ca")
        os.makedirs(self.pki, exist_ok=True)
        shutil.copy(self.ca + ".pub", self.pki + "/ca.pub")
        with open(self.ca + ".pub") as f:
            ca_pub = f.read().strip()
        self.known_hosts = self.pki + "/known_hosts"
        with open(self.known_hosts, "w") as f:
            f.write("@cert-authority * %s\n" % ca_pub)
        for key in ("host-ssh_host_key", "proxy-ssh_host_key"):
            self.keygen(self.pki + "/" + key)
            self.sign(self.pki + "/" + key + ".pub", ["127.0.0.1", "localhost"], host=True)
        self.keygen(self.pki + "/proxy-ssh_user_key")
        self.sign(self.pki + "/proxy-ssh_user_key.pub", ["sercon-proxy"])
        ent = pwd.getpwnam("sercon")
        os.chown(self.pki + "/proxy-ssh_user_key", ent.pw_uid, ent.pw_gid)

    def setup(self):
        os.makedirs(self.work, exist_ok=True)
        os.chmod(self.work, 0o755)
        self.setup_pki()
        ent = pwd.getpwnam("sercon")
        # Another part's run may have left manager answers in the cache.
        shutil.rmtree(self.prefix + "/var/cache/sercon", ignore_errors=True)
        for d in (self.console_dir, self.prefix + "/var/run/sercon/lock",
                  self.prefix + "/var/cache/sercon"):
            os.makedirs(d, exist_ok=True)
            os.chown(d, ent.pw_uid, ent.pw_gid)
        self.user_key = os.path.join(self.work, "user_key")
        self.keygen(self.user_key, "bench@sercon")
        with open(self.user_key + ".pub") as f:
            user_pub = f.read().strip()
        n = N_SESSIONS + 4
        self.n_consoles = n
        inv = {"users": [{"id": "vm-bench", "name": "VM bench", "keys": [user_pub]}],
               "consoles": [{"vm_id": "b0000000-0000-4000-8000-%012d" % i,
                             "vm_name": "vm%03d" % i, "host": "127.0.0.1",
                             "console": "bench-%03d.sock" % i,
                             "users": ["vm-bench"]} for i in range(n)]}
        if os.path.exists(self.inventory):
            with open(self.inventory) as f:
                self.saved_inventory = f.read()
        with open(self.inventory, "w") as f:
            json.dump(inv, f)
        # The consoles.
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__),
                              "--echo-server", self.console_dir, str(n)],
                             stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError("echo server did not start")
        # The sercon daemons; MaxStartups lets 200 clients in at once.
        self.host_port = free_port()
        with open(self.conf, "w") as f:
            f.write("[proxy]\nhost_port = %d\n" % self.host_port)
        self.host_sshd = self.sshd(self.raised("host"), self.host_port, [])
        self.proxy_port = free_port()
        self.proxy_sshd = self.sshd(self.raised("proxy"), self.proxy_port, [])
        self.setup_plain()

    def raised(self, part):
        """The shipped sshd_config with MaxStartups raised for 200 clients
        at once. A copy: sshd keeps the last MaxStartups it reads, so
        neither -o nor an Include'd snippet can override the shipped one."""
        with open("%s/%s/sshd_config" % (self.datadir, part)) as f:
            lines = f.read().splitlines()
        out = ["MaxStartups 1000:30:1000" if l.split()[:1] == ["MaxStartups"] else l
               for l in lines]
        if "MaxStartups 1000:30:1000" not in out:
            out.append("MaxStartups 1000:30:1000")
        path = os.path.join(self.work, part + "-sshd_config")
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")
        return path

    def setup_plain(self):
        """Baseline: two stock sshd with nothing of sercon; the sercon account
        (shell /bin/sh, no dotfiles) logs in by key and runs socat."""
        d = os.path.join(self.work, "plain")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        self.keygen(d + "/host_key")
        self.keygen(d + "/client_key")
        # The second hop starts as the sercon account: its own key.
        self.keygen(d + "/hop_key")
        ent = pwd.getpwnam("sercon")
        os.chown(d + "/hop_key", ent.pw_uid, ent.pw_gid)
        with open(d + "/authorized_keys", "w") as out:
            for k in ("client_key", "hop_key"):
                with open("%s/%s.pub" % (d, k)) as f:
                    out.write(f.read().strip() + "\n")
        with open(d + "/host_key.pub") as f:
            hostpub = f.read().strip()
        with open(d + "/known_hosts", "w") as f:
            f.write("* %s\n" % hostpub)
        cfg = d + "/sshd_config"
        with open(cfg, "w") as f:
            f.write("HostKey %s/host_key\nAuthorizedKeysFile %s/authorized_keys\n"
                    "PermitRootLogin no\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nUsePAM no\nPrintMotd no\n"
                    "PrintLastLog no\nMaxStartups 1000:30:1000\n" % (d, d))
        self.plain_dir = d
        self.plain_a = free_port()
        self.plain_b = free_port()
        self.sshd(cfg, self.plain_a, [])
        self.sshd(cfg, self.plain_b, [])

    def sshd(self, config, port, opts):
        argv = ["/usr/sbin/sshd", "-D", "-f", config, "-o", "Port=%d" % port,
                "-o", "ListenAddress=127.0.0.1", "-o", "PidFile=none"]
        for o in opts:
            argv += ["-o", o]
        os.makedirs("/run/sshd", exist_ok=True)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return p
            if p.poll() is not None:
                raise RuntimeError("sshd %s exited %d" % (config, p.returncode))
            time.sleep(0.05)
        raise RuntimeError("sshd %s did not listen" % config)

    def client_opts(self, known_hosts):
        return ["-F", "/dev/null", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "UserKnownHostsFile=" + known_hosts,
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR"]

    def chain_argv(self, i):
        return (["ssh"] + self.client_opts(self.known_hosts) +
                ["-i", self.user_key, "-p", str(self.proxy_port), "-tt",
                 "sercon@127.0.0.1", "connect", "--vm-name=vm%03d" % i])

    def plain_argv(self, i):
        d = self.plain_dir
        inner = " ".join(["ssh"] + self.client_opts(d + "/known_hosts") +
                         ["-i", d + "/hop_key", "-p", str(self.plain_b), "-tt",
                          "sercon@127.0.0.1", "socat", "-,raw,echo=0",
                          "UNIX-CONNECT:%s/bench-%03d.sock" % (self.console_dir, i)])
        return (["ssh"] + self.client_opts(d + "/known_hosts") +
                ["-i", d + "/client_key", "-p", str(self.plain_a), "-tt",
                 "sercon@127.0.0.1", inner])

    def teardown(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for path in (self.conf,):
            if os.path.exists(path):
                os.unlink(path)
        if self.saved_inventory is not None:
            with open(self.inventory, "w") as f:
                f.write(self.saved_inventory)
        elif os.path.exists(self.inventory):
            os.unlink(self.inventory)


# --- sessions ---------------------------------------------------------------

class Session:
    """An ssh client with pipes; reads without blocking."""

    def __init__(self, argv):
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, bufsize=0)
        os.set_blocking(self.p.stdout.fileno(), False)
        self.buf = b""

    def read_until(self, token, timeout=60):
        deadline = time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        sel.register(self.p.stdout, selectors.EVENT_READ)
        try:
            while token not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise RuntimeError("timeout waiting for %r; got %r" % (token, self.buf[-300:]))
                data = self.p.stdout.read(65536)
                if not data:
                    raise RuntimeError("EOF waiting for %r; got %r" % (token, self.buf[-300:]))
                self.buf += data
        finally:
            sel.close()
        self.buf = self.buf[self.buf.index(token) + len(token):]

    def send(self, data):
        self.p.stdin.write(data)

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p.stdin.close()
        self.p.stdout.close()


def bench_connect(env):
    """Connect-to-first-byte, chain and plain alternating, fresh consoles."""
    chain, plain = [], []
    for r in range(N_CONNECT):
        for kind, argv, out in (("chain", env.chain_argv(r), chain),
                                ("plain", env.plain_argv(r), plain)):
            s = Session(argv)
            try:
                s.read_until(GREETING)
                out.append(time.monotonic() - s.t0)
            finally:
                s.close()
        time.sleep(0.2)
    return {"connect_first_byte_chain": figure(chain, "ms", 1000),
            "connect_first_byte_plain_ssh_2hops": figure(plain, "ms", 1000),
            "connect_first_byte_ratio": statistics.median(chain) / statistics.median(plain)}


def bench_echo(env):
    """One keystroke's round trip: chain and direct socket, interleaved."""
    i = env.n_consoles - 1
    s = Session(env.chain_argv(i))
    d = socket.socket(socket.AF_UNIX)
    d.connect(os.path.join(env.console_dir, "bench-%03d.sock" % (i - 1)))
    try:
        s.read_until(GREETING)
        got = b""
        while GREETING not in got:
            got += d.recv(100)
        chain, direct = [], []
        for k in range(N_KEYS):
            c = bytes([ord("a") + k % 26])
            t = time.monotonic()
            s.send(c)
            s.read_until(c.upper())
            chain.append(time.monotonic() - t)
            t = time.monotonic()
            d.sendall(c)
            while d.recv(1) != c.upper():
                pass
            direct.append(time.monotonic() - t)
    finally:
        d.close()
        s.close()
    return {"echo_rtt_chain": figure(chain, "ms", 1000),
            "echo_rtt_direct_socket": figure(direct, "ms", 1000)}


def descendants(roots):
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    out, todo = [], list(roots)
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def bench_concurrent(env):
    """N_SESSIONS sessions open at once through one proxy, each echoing its
    own token. Handshakes are let in IN_FLIGHT at a time (as sshd's own
    MaxStartups default would): a herd of 200 simultaneous handshakes on a
    small machine measures the timeouts, not sercon."""
    times, mem, ok_counts = [], [], []
    for run in range(N_CONCURRENT_RUNS):
        t0 = time.monotonic()
        sessions, state = [], []
        tokens = [("s%03dx" % i).encode() for i in range(N_SESSIONS)]
        sel = selectors.DefaultSelector()
        deadline = t0 + 300
        done = connecting = 0
        # state: 0 waiting for greeting, 1 waiting for echo, 2 ok, 3 failed
        while done < N_SESSIONS and time.monotonic() < deadline:
            while len(sessions) < N_SESSIONS and connecting < IN_FLIGHT:
                s = Session(env.chain_argv(len(sessions)))
                sel.register(s.p.stdout, selectors.EVENT_READ, len(sessions))
                sessions.append(s)
                state.append(0)
                connecting += 1
            for key, _ in sel.select(1):
                i = key.data
                s = sessions[i]
                data = s.p.stdout.read(65536)
                if not data:
                    sel.unregister(key.fileobj)
                    connecting -= state[i] == 0
                    state[i] = 3
                    done += 1
                    continue
                s.buf += data
                if state[i] == 0 and GREETING in s.buf:
                    s.buf = s.buf[s.buf.index(GREETING) + len(GREETING):]
                    state[i] = 1
                    connecting -= 1
                    s.send(tokens[i])
                if state[i] == 1 and tokens[i].upper() in s.buf:
                    state[i] = 2
                    sel.unregister(key.fileobj)
                    done += 1
        took = time.monotonic() - t0
        ok = state.count(2)
        pids = descendants([env.proxy_sshd.pid, env.host_sshd.pid])
        mem.append(pss_kib(pids) / 1024.0)
        sel.close()
        for s in sessions:
            s.close()
        times.append(took)
        ok_counts.append(ok)
        log("concurrent run %d: %d/%d echoed in %.1f s, %.1f MiB in %d processes" % (
            run + 1, ok, N_SESSIONS, took, mem[-1], len(pids)))
        time.sleep(2)
    return {"sessions_%d_total_time" % N_SESSIONS: figure(times, "s"),
            "sessions_%d_server_memory_pss" % N_SESSIONS: figure(mem, "MiB"),
            "sessions_%d_memory_per_session" % N_SESSIONS:
                figure([m * 1024 / N_SESSIONS for m in mem], "KiB"),
            "sessions_%d_echoed_ok" % N_SESSIONS: figure(ok_counts, "sessions")}


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "--echo-server":
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
        echo_server(sys.argv[2], int(sys.argv[3]))
        return 0
    if len(sys.argv) != 2:
        print("usage: vm.py PREFIX", file=sys.stderr)
        return 2
    if not shutil.which("socat"):
        print("vm.py: socat is needed for the plain-ssh baseline (apt-get install socat)",
              file=sys.stderr)
        return 1
    env = Env(os.path.abspath(sys.argv[1]))
    results = {}
    try:
        env.setup()
        log("connect to first byte")
        results.update(bench_connect(env))
        log("keystroke echo")
        results.update(bench_echo(env))
        log("%d concurrent sessions" % N_SESSIONS)
        results.update(bench_concurrent(env))
    finally:
        env.teardown()
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
