#!/usr/bin/python3
# tools/bench/proxy.py: benchmark of the proxy side.
# Usage: proxy.py PREFIX [--calls=N] [--runs=N]
# Measures, against the installation in PREFIX (run as root, the sercon
# account existing):
#   keys_*      sercon-proxy-keys per call (wall time, CPU time, peak RSS)
#               at 10, 10k and 100k keys in a generated inventory, after the
#               first call built the index; spawn_true_* is the floor of this
#               machine (running /bin/true the same way);
#   list_*      `ssh proxy list` beside a plain sshd login running `true`
#               (list_command_*: the command backend, a manager program);
#   connect_*   user ssh -> proxy -> host -> console socket, to the console's
#               first byte, beside two plain ssh hops to a first byte;
#   session_pss_*  PSS of the proxy side of each of 10 open sessions
#               (sercon-proxy-wait, its ssh, a shell left waiting if any),
#               just opened, and (*_after_1mib) once each has echoed 1 MiB.
# The sercon account runs with the installation's sercon-login-shell, as
# the packages make it (restored afterwards); the floors log in as
# FLOOR_USER, an ordinary account with /bin/sh.
# Everything it needs (a CA, keys, certificates, sshd configs, inventory,
# cache) is made in a temporary directory, and a conf.d file points sercon
# at it; both are removed at the end. Prints ONE JSON object on stdout:
#   {"name": {"median": x, "min": y, "max": z, "unit": "..."}, ...}
# and its progress on stderr.

import base64
import json
import os
import pwd
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

USER = "sercon"
# The floors (plain sshd logins running true, cat, ssh) log in as an
# account of their own with /bin/sh: the sercon account's shell, during the
# bench, is the installation's sercon-login-shell, which runs nothing else.
FLOOR_USER = "sercon-floor"


def say(msg):
    print("proxy bench: " + msg, file=sys.stderr, flush=True)


def stats(values, unit, digits=3):
    return {"median": round(statistics.median(values), digits),
            "min": round(min(values), digits), "max": round(max(values), digits),
            "unit": unit}


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    r = subprocess.run(argv, **kw)
    if r.returncode != 0:
        raise SystemExit("proxy bench: %s failed: %s" % (" ".join(argv), r.stderr))
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path, comment="bench"):
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path])
    return path


def sign(ca, pub, principals, host=False):
    argv = ["ssh-keygen", "-q", "-s", ca, "-I", "bench", "-n", ",".join(principals),
            "-V", "-5m:+1d"]
    if host:
        argv.append("-h")
    run(argv + [pub])


def synth_key(rng):
    """An ed25519 public key line (random bytes: the helper checks the
    format, not the curve point)."""
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + rng.randbytes(32)
    return "ssh-ed25519 " + base64.b64encode(blob).decode()


def rewrite(conf_in, conf_out, replace):
    """Copies an installed sshd_config, replacing the values of keywords."""
    out = []
    with open(conf_in) as f:
        for line in f:
            word = line.split()[0] if line.split() else ""
            if word in replace:
                v = replace[word]
                if v is not None:
                    out.append("%s %s\n" % (word, v))
            elif not word.startswith("Include"):
                out.append(line)
    with open(conf_out, "w") as f:
        f.writelines(out)


class Sshd:
    def __init__(self, config):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", config, "-o", "Port=%d" % self.port,
             "-o", "ListenAddress=127.0.0.1", "-o", "PidFile=none"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise SystemExit("proxy bench: sshd exited: %s" % self.log.read().decode())
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise SystemExit("proxy bench: sshd did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Console:
    """A console socket that sends one byte at once, then echoes."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        ent = pwd.getpwnam(USER)
        os.chown(path, ent.pw_uid, ent.pw_gid)
        self.sock.listen(8)
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    @staticmethod
    def serve(c):
        try:
            c.sendall(b"!")
            while True:
                d = c.recv(4096)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()


class Bench:
    def __init__(self, prefix, calls, runs):
        self.prefix = prefix
        self.calls = calls
        self.runs = runs
        self.libexec = prefix + "/libexec/sercon"
        self.datadir = prefix + "/share/sercon"
        self.confd = prefix + "/etc/sercon/conf.d"
        self.conf = self.confd + "/zz-bench-proxy.conf"
        # beside the prefix: sshd wants root-owned parents, no /tmp
        self.dir = tempfile.mkdtemp(prefix="bench-proxy-", dir=os.path.dirname(prefix))
        os.chmod(self.dir, 0o755)
        self.ent = pwd.getpwnam(USER)
        self.old_shell = None
        self.daemons = []
        self.results = {}

    def floor_account(self):
        """The floors' account: an ordinary one, with /bin/sh."""
        try:
            pwd.getpwnam(FLOOR_USER)
        except KeyError:
            run(["useradd", "--system", "--no-create-home", "--home-dir", self.dir,
                 "--shell", "/bin/sh", FLOOR_USER])
        run(["usermod", "-p", "*", "-d", self.dir, "-s", "/bin/sh", FLOOR_USER])

    def login_shell(self):
        """The sercon account gets the installation's login shell for the
        bench, as sysusers.d makes it (restored by cleanup)."""
        login_shell = self.libexec + "/sercon-login-shell"
        if os.access(login_shell, os.X_OK):
            self.old_shell = self.ent.pw_shell
            run(["usermod", "-s", login_shell, USER])
        self.results["account_shell"] = pwd.getpwnam(USER).pw_shell

    def chown(self, path):
        os.chown(path, self.ent.pw_uid, self.ent.pw_gid)

    def write_conf(self, inventory, host_port=2223, command=False):
        """The file backend on inventory, or (command) the command backend
        answering what that inventory holds, README.API v1 JSON printed by
        cat: the manager's own cost is next to nothing."""
        os.makedirs(self.confd, exist_ok=True)
        backend = ""
        if command:
            with open(inventory) as f:
                inv = json.load(f)
            keys = {"version": 1, "content": "key_list", "keys": [
                {"entityid": u["id"], "entity": u["name"], "key": k}
                for u in inv["users"] for k in u["keys"]]}
            cons = {"version": 1, "content": "console_list", "consoles": [
                {"vmid": c["vm_id"], "vmname": c["vm_name"], "vm": c["vm_name"],
                 "host": c["host"], "console": c["console"]}
                for c in inv["consoles"] if "bench" in c["users"]]}
            for name, doc in (("keys", keys), ("consoles", cons)):
                with open("%s/%s.json" % (self.dir, name), "w") as f:
                    json.dump(doc, f)
            backend = ("backend = command\nkey_list = /bin/cat %s/keys.json\n"
                       "console_list = /bin/cat %s/consoles.json\n" % (self.dir, self.dir))
        with open(self.conf, "w") as f:
            f.write("[proxy]\n%sinventory = %s\ncache_dir = %s\nssh_config = %s\n"
                    "host_port = %d\n[host]\nconsole_dir = %s\nlock_dir = %s\n" % (
                        backend, inventory, self.cache, self.dir + "/ssh_config", host_port,
                        self.console_dir, self.lock_dir))

    def setup(self):
        d = self.dir
        self.floor_account()
        self.cache = d + "/cache"
        self.console_dir = d + "/console"
        self.lock_dir = d + "/lock"
        for p in (self.cache, self.console_dir, self.lock_dir):
            os.makedirs(p)
            self.chown(p)
        # a CA, host keys with certificates, the proxy's user key, a user
        self.ca = keygen(d + "/ca", "bench-ca")
        for k in ("proxy_host", "host_host"):
            keygen(d + "/" + k)
            sign(self.ca, d + "/%s.pub" % k, ["127.0.0.1", "localhost"], host=True)
        keygen(d + "/proxy_user")
        sign(self.ca, d + "/proxy_user.pub", ["sercon-proxy"])
        # the floor's first hop dials its second with a copy of its own
        for f in ("proxy_user", "proxy_user-cert.pub"):
            shutil.copy(d + "/" + f, d + "/floor_" + f)
        floor = pwd.getpwnam(FLOOR_USER)
        os.chown(d + "/floor_proxy_user", floor.pw_uid, floor.pw_gid)
        self.chown(d + "/proxy_user")
        self.user = keygen(d + "/user")
        with open(d + "/user.pub") as f:
            self.user_pub = f.read().strip()
        with open(d + "/ca.pub") as f:
            ca_pub = f.read().strip()
        with open(d + "/known_hosts", "w") as f:
            f.write("@cert-authority * %s\n" % ca_pub)
        # the proxy's client config, pointed at these files
        with open(self.datadir + "/proxy/ssh_config") as f:
            text = f.read()
        text = re.sub(r"(?m)^(\s*IdentityFile\s).*$", r"\g<1>" + d + "/proxy_user", text)
        text = re.sub(r"(?m)^(\s*CertificateFile\s).*$",
                      r"\g<1>" + d + "/proxy_user-cert.pub", text)
        text = re.sub(r"(?m)^(\s*GlobalKnownHostsFile\s).*$",
                      r"\g<1>" + d + "/known_hosts", text)
        with open(d + "/ssh_config", "w") as f:
            f.write(text)
        with open(d + "/floor_ssh_config", "w") as f:
            f.write(text.replace(d + "/proxy_user", d + "/floor_proxy_user"))
        principals = d + "/principals"
        with open(principals, "w") as f:
            f.write("sercon-proxy\n")
        rewrite(self.datadir + "/proxy/sshd_config", d + "/proxy_sshd_config",
                {"HostKey": d + "/proxy_host",
                 "HostCertificate": d + "/proxy_host-cert.pub", "PidFile": None})
        rewrite(self.datadir + "/host/sshd_config", d + "/host_sshd_config",
                {"HostKey": d + "/host_host",
                 "HostCertificate": d + "/host_host-cert.pub",
                 "TrustedUserCAKeys": d + "/ca.pub",
                 "AuthorizedPrincipalsFile": principals, "PidFile": None})
        # the plain references: a login that runs what its key line says
        with open(d + "/plain_keys", "w") as f:
            f.write("%s\n" % self.user_pub)
        with open(d + "/hop_keys", "w") as f:
            f.write('command="%s -F %s -p {HOP2} -l %s -tt 127.0.0.1 -- x" %s\n' % (
                "/usr/bin/ssh", d + "/floor_ssh_config", FLOOR_USER, self.user_pub))
        with open(d + "/hop2_keys", "w") as f:
            with open(d + "/proxy_user.pub") as p:
                # raw, no echo: cat alone answers, as a console does
                f.write('command="stty raw -echo; printf !; exec cat" %s\n'
                        % p.read().strip())
        for name, keys in (("plain", "plain_keys"), ("hop2", "hop2_keys")):
            rewrite(self.datadir + "/proxy/sshd_config", d + "/%s_sshd_config" % name,
                    {"HostKey": d + "/host_host",
                     "HostCertificate": d + "/host_host-cert.pub", "PidFile": None,
                     "AuthorizedKeysCommand": None, "AuthorizedKeysCommandUser": None,
                     "AuthorizedKeysFile": d + "/" + keys, "AllowUsers": FLOOR_USER})

    def start(self, config):
        s = Sshd(config)
        self.daemons.append(s)
        return s

    def inventory(self, nkeys, rng):
        users = [{"id": "bench", "name": "Bench", "keys": [self.user_pub]}]
        for i in range(nkeys - 1):
            users.append({"id": "u%d" % i, "name": "User %d" % i,
                          "keys": [synth_key(rng)]})
        consoles = [{"vm_id": "vm-%d" % i, "vm_name": "vm%d" % i, "host": "127.0.0.1",
                     "console": "c%d.sock" % i, "users": ["u%d" % (i * 7)]}
                    for i in range(min(nkeys // 10, 10000))]
        consoles.append({"vm_id": "vm-bench", "vm_name": "bench", "host": "127.0.0.1",
                         "console": "bench.sock", "users": ["bench"]})
        # ten more, to hold ten sessions open at once
        consoles += [{"vm_id": "vm-b%d" % i, "vm_name": "b%d" % i, "host": "127.0.0.1",
                      "console": "b%d.sock" % i, "users": ["bench"]} for i in range(10)]
        path = "%s/inventory-%d.json" % (self.dir, nkeys)
        with open(path, "w") as f:
            json.dump({"users": users, "consoles": consoles}, f)
        return path, users

    @staticmethod
    def spawn_ms(argv, cpu=None):
        """Wall time of one run of argv, as sshd pays it (spawn to exit);
        its CPU time (user + system, which a busy machine inflates less)
        is appended to cpu."""
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, {"PATH": "/usr/bin:/bin"},
                             file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
        _, status, ru = os.wait4(pid, 0)
        dt = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("proxy bench: %s failed" % argv)
        if cpu is not None:
            cpu.append((ru.ru_utime + ru.ru_stime) * 1000)
        return dt * 1000

    @staticmethod
    def peak_rss_mib(argv):
        """Peak RSS of argv. Measured through GNU time, a small process:
        a child spawned from this interpreter would report the
        interpreter's own size (the peak before exec counts)."""
        if not os.path.exists("/usr/bin/time"):
            return None
        r = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise SystemExit("proxy bench: %s failed: %s" % (argv, r.stderr))
        return int(r.stderr.strip().splitlines()[-1]) / 1024.0

    def keys_call(self, argv, cpu):
        return self.spawn_ms(argv, cpu), self.peak_rss_mib(argv)

    def bench_keys(self):
        rng = random.Random(7)
        helper = self.libexec + "/sercon-proxy-keys"
        # the floor on this machine: spawning a program that does nothing
        base_cpu = []
        base = [self.spawn_ms(["/bin/true"], base_cpu) for _ in range(self.calls)]
        self.results["spawn_true_time"] = stats(base, "ms")
        self.results["spawn_true_cpu"] = stats(base_cpu, "ms")
        rss = self.peak_rss_mib(["/bin/true"])
        if rss is not None:
            self.results["spawn_true_rss"] = stats([rss], "MiB")
        for n, label in ((10, "10"), (10000, "10k"), (100000, "100k")):
            path, users = self.inventory(n, rng)
            self.write_conf(path)
            say("keys helper at %s keys: first call builds the index" % label)
            t, _ = self.keys_call([helper, USER] + self.user_pub.split()[:2], None)
            self.results["keys_%s_first_call" % label] = stats([t], "ms")
            times, rss, cpu = [], [], []
            for i in range(self.calls):
                k = users[rng.randrange(len(users))]["keys"][0].split()
                t, r = self.keys_call([helper, USER, k[0], k[1]], cpu)
                times.append(t)
                if r is not None:
                    rss.append(r)
            self.results["keys_%s_time" % label] = stats(times, "ms")
            self.results["keys_%s_cpu" % label] = stats(cpu, "ms")
            if rss:
                self.results["keys_%s_rss" % label] = stats(rss, "MiB")
            say("  %.2f ms, %.2f ms CPU (/bin/true: %.2f ms, %.2f ms CPU), %s MiB "
                "(median of %d)" % (
                statistics.median(times), statistics.median(cpu),
                statistics.median(base), statistics.median(base_cpu),
                "%.2f" % statistics.median(rss) if rss else "?", self.calls))

    def ssh(self, port, *cmd, tty=False, user=USER):
        return ["/usr/bin/ssh", "-F", "/dev/null", "-p", str(port), "-i", self.user,
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "UserKnownHostsFile=" + self.dir + "/known_hosts",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
                "-o", "LogLevel=ERROR", "-tt" if tty else "-T",
                user + "@127.0.0.1"] + list(cmd)

    def timed(self, argv, want=None):
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
        dt = (time.perf_counter() - t0) * 1000
        if r.returncode != 0 or (want is not None and r.stdout != want):
            raise SystemExit("proxy bench: %s: exit %d %r" % (argv, r.returncode, r.stderr))
        return dt

    def first_byte(self, argv):
        """Milliseconds from starting argv in a pty to the console's first
        byte, and the pid of the session, which is then ended."""
        import pty
        t0 = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(argv[0], argv)
        buf = b""
        while b"!" not in buf:
            try:
                d = os.read(fd, 1024)
            except OSError:
                d = b""
            if not d:
                raise SystemExit("proxy bench: session ended early: %r" % buf)
            buf += d
        dt = (time.perf_counter() - t0) * 1000
        return dt, pid, fd

    @staticmethod
    def end(pid, fd):
        os.write(fd, b"\r~.")
        os.close(fd)
        os.waitpid(pid, 0)

    @staticmethod
    def pss_kib(pid):
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
        return 0

    def session_pss(self):
        """PSS (KiB) of the proxy-side processes of each open session:
        sercon-proxy-wait (what sercon-proxy-shell becomes), the ssh to
        the host it runs, and the shell sshd started the forced command
        with, when it stayed (a /bin/sh that does not exec its last
        command). Returns [(wait, ssh, sh), ...]."""
        wait = (self.libexec + "/sercon-proxy-wait").encode()
        found = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    if f.read().split(b"\0")[0] != wait:
                        continue
                with open("/proc/%s/stat" % p) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open("/proc/%d/comm" % ppid) as f:
                    parent = f.read().strip()
                sh = self.pss_kib(ppid) if parent in ("sh", "dash", "bash") else 0
                kids = subprocess.run(["pgrep", "-P", p], capture_output=True,
                                      text=True).stdout.split()
                ssh = sum(self.pss_kib(int(k)) for k in kids)
                found.append((self.pss_kib(int(p)), ssh, sh))
            except (OSError, ValueError):
                continue
        return found

    @staticmethod
    def rtt(fd, n):
        """Milliseconds of each of n one-byte round trips through the
        session on pty fd (the console echoes)."""
        out = []
        for i in range(n):
            b = bytes([0x61 + i % 26])
            t0 = time.perf_counter()
            os.write(fd, b)
            got = b""
            while b not in got:
                got += os.read(fd, 64)
            out.append((time.perf_counter() - t0) * 1000)
        return out

    @staticmethod
    def throughput(fd, nbytes):
        """MB/s of nbytes of printable data echoed through the session."""
        chunk = (b"0123456789abcdef" * 256)[:4096]
        got = 0
        t0 = time.perf_counter()

        def writer():
            for _ in range(nbytes // len(chunk)):
                os.write(fd, chunk)

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        want = (nbytes // len(chunk)) * len(chunk)
        while got < want:
            got += len(os.read(fd, 65536))
        t.join()
        return want / (time.perf_counter() - t0) / 1e6

    def bench_sessions(self):
        path, _ = self.inventory(10, random.Random(1))
        host = self.start(self.dir + "/host_sshd_config")
        self.write_conf(path, host.port)
        Console(self.console_dir + "/bench.sock")
        for i in range(10):
            Console(self.console_dir + "/b%d.sock" % i)
        proxy = self.start(self.dir + "/proxy_sshd_config")
        plain = self.start(self.dir + "/plain_sshd_config")
        hop2 = self.start(self.dir + "/hop2_sshd_config")
        with open(self.dir + "/hop_keys") as f:
            text = f.read().replace("{HOP2}", str(hop2.port))
        with open(self.dir + "/hop_keys", "w") as f:
            f.write(text)
        rewrite(self.datadir + "/proxy/sshd_config", self.dir + "/hop_sshd_config",
                {"HostKey": self.dir + "/host_host",
                 "HostCertificate": self.dir + "/host_host-cert.pub", "PidFile": None,
                 "AuthorizedKeysCommand": None, "AuthorizedKeysCommandUser": None,
                 "AuthorizedKeysFile": self.dir + "/hop_keys", "AllowUsers": FLOOR_USER})
        hop1 = self.start(self.dir + "/hop_sshd_config")

        want = b"".join(b"vm-b%d\tb%d\n" % (i, i) for i in range(10)) + b"vm-bench\tbench\n"
        say("list and connect (file backend) beside a plain login and two plain hops")
        rtt_chain, rtt_hops, tput_chain, tput_hops = self.list_and_connect(
            "", proxy.port, plain.port, hop1.port, want, sample=5)
        say("list and connect with the command backend")
        self.write_conf(path, host.port, command=True)
        self.list_and_connect("_command", proxy.port, plain.port, hop1.port, want)
        self.write_conf(path, host.port)
        # memory with 10 sessions open at once, as a proxy holds many:
        # shared pages are divided among them
        opened = [self.first_byte(self.ssh(proxy.port, "b%d" % i, tty=True))[1:]
                  for i in range(10)]
        time.sleep(0.5)
        pss = self.session_pss()
        # and once each has carried a megabyte both ways: what its buffers
        # (the waiter's, ssh's channel buffers) hold once they have been used
        for pid, fd in opened:
            self.throughput(fd, 1 << 20)
        time.sleep(0.5)
        used = self.session_pss()
        for pid, fd in opened:
            self.end(pid, fd)
        for suffix, got in (("", pss), ("_after_1mib", used)):
            if not got:
                continue
            self.results["session_pss_proxy_side" + suffix] = stats(
                [sum(x) / 1024.0 for x in got], "MiB")
            self.results["session_pss_wait" + suffix] = stats(
                [x[0] / 1024.0 for x in got], "MiB")
            self.results["session_pss_ssh" + suffix] = stats(
                [x[1] / 1024.0 for x in got], "MiB")
            self.results["session_pss_resident_sh" + suffix] = stats(
                [x[2] / 1024.0 for x in got], "MiB")
        # one keystroke through proxy sshd -> sercon-proxy-wait -> ssh ->
        # host sshd -> sercon-host-shell -> socket, beside the same two
        # hops with only ssh and cat: what sercon adds to a round trip
        self.results["echo_rtt_chain"] = stats(rtt_chain, "ms")
        self.results["echo_rtt_two_plain_hops"] = stats(rtt_hops, "ms")
        self.results["echo_rtt_added"] = stats(
            [statistics.median(rtt_chain) - statistics.median(rtt_hops)], "ms")
        self.results["throughput_chain"] = stats(tput_chain, "MB/s")
        self.results["throughput_two_plain_hops"] = stats(tput_hops, "MB/s")
        self.results["throughput_ratio"] = stats(
            [statistics.median(tput_chain) / statistics.median(tput_hops)], "x")

    def list_and_connect(self, name, proxy_port, plain_port, hop1_port, want, sample=0):
        """`list` beside a plain login running true, and connect to the
        first console byte beside two plain hops, self.runs times each,
        interleaved; results list<name>_* and connect<name>_*. The first
        `sample` connects of each kind also measure round trips and
        throughput, returned as (rtt_chain, rtt_hops, tput_chain, tput_hops)."""
        self.timed(self.ssh(proxy_port, "list"), want)
        lst, plain_t, con, hops = [], [], [], []
        rtt_chain, rtt_hops, tput_chain, tput_hops = [], [], [], []
        for i in range(self.runs):
            lst.append(self.timed(self.ssh(proxy_port, "list"), want))
            plain_t.append(self.timed(self.ssh(plain_port, "true", user=FLOOR_USER)))
            for argv, times, rtts, tputs in (
                    (self.ssh(proxy_port, "bench", tty=True), con, rtt_chain, tput_chain),
                    (self.ssh(hop1_port, tty=True, user=FLOOR_USER), hops, rtt_hops,
                     tput_hops)):
                dt, pid, fd = self.first_byte(argv)
                times.append(dt)
                if i < sample:
                    rtts += self.rtt(fd, 100)
                    tputs.append(self.throughput(fd, 4 << 20))
                self.end(pid, fd)
        self.results["list%s_proxy" % name] = stats(lst, "ms")
        self.results["list%s_plain_ssh_true" % name] = stats(plain_t, "ms")
        self.results["list%s_ratio" % name] = stats(
            [statistics.median(lst) / statistics.median(plain_t)], "x")
        self.results["connect%s_first_byte" % name] = stats(con, "ms")
        self.results["connect%s_two_plain_hops" % name] = stats(hops, "ms")
        self.results["connect%s_ratio" % name] = stats(
            [statistics.median(con) / statistics.median(hops)], "x")
        return rtt_chain, rtt_hops, tput_chain, tput_hops

    def cleanup(self):
        for d in self.daemons:
            d.stop()
        if self.old_shell is not None:
            run(["usermod", "-s", self.old_shell, USER])
        try:
            os.unlink(self.conf)
        except FileNotFoundError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
    if len(args) != 1:
        raise SystemExit("usage: proxy.py PREFIX [--calls=N] [--runs=N]")
    b = Bench(os.path.abspath(args[0]), int(opts.get("calls", 200)), int(opts.get("runs", 15)))
    try:
        b.login_shell()
        b.setup()
        b.bench_keys()
        b.bench_sessions()
    finally:
        b.cleanup()
    print(json.dumps(b.results))


if __name__ == "__main__":
    main()
