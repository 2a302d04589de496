"""Fixtures for sercon's integration tests: a real installation in a
root-owned prefix, a PKI made with ssh-keygen, real sshd instances on
loopback ports reserved for the session, fake VM consoles, and a syslog
socket that collects what the programs log. Modelled on OpenSSH's
regress/test-exec.sh: every test drives the real client against real
daemons.

Where the programs come from
----------------------------
An installation with tag T (SERCON_TEST_TAG, default "main"; test_setup.py
adds T-setup) lives in /var/lib/sercon-test/T/root and is installed from
the build tree build-test-T, configured with --prefix=that root.

* SERCON_TEST_BUILD=DIR: the trees DIR/build-test-T are already built
  (tools/check builds them before it runs pytest, with --enable-werror);
  the suite only runs `make install` in them, and fails with a message
  saying how to build them when one is missing or configured for another
  prefix. The build never happens inside a fixture then.
* SERCON_TEST_BUILD unset: for a developer running a subset, the suite
  configures and builds build-test-T in the worktree itself first:

      SERCON_TEST_TAG=me /usr/bin/python3 -m pytest -q -p no:cacheprovider \
          tests/integration -k host

SERCON_TEST_SANITIZE=1 wants trees configured with --enable-sanitizers.
The ssh, sshd and ssh-keygen the tests run are the ones configure found
(build-test-T/tests/integration/build.json), not whatever PATH holds.
"""

import fcntl
import hashlib
import json
import os
import pwd
import random
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TAG = os.environ.get("SERCON_TEST_TAG", "main")
SANITIZE = os.environ.get("SERCON_TEST_SANITIZE", "") == "1"
PREBUILT = os.environ.get("SERCON_TEST_BUILD")
USER = "sercon"

# The programs configure found; set from build.json by Install.build().
TOOLS = {"ssh": "ssh", "sshd": "/usr/sbin/sshd", "ssh_keygen": "ssh-keygen"}

# ---- ports -------------------------------------------------------------
#
# Binding port 0, closing, and handing the number to a daemon races with
# every other program on the machine (other test sessions run in
# parallel). Ports are taken instead below the kernel's ephemeral range,
# which nothing gets by accident (bind(0), outgoing connections), and each
# is claimed through a lock file that this session holds to its end, so no
# other sercon test session hands it out. A program outside the suite could
# still sit on one: Sshd then retries with another.

PORT_LOCK_DIR = "/var/lib/sercon-test/ports"
_held_ports = {}


def _port_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return max(1024, low - 12000), low


def free_port():
    """A TCP port on 127.0.0.1 reserved for this session and unused now."""
    os.makedirs(PORT_LOCK_DIR, exist_ok=True)
    lo, hi = _port_range()
    start = random.randrange(lo, hi)
    for i in range(hi - lo):
        port = lo + (start - lo + i) % (hi - lo)
        if port in _held_ports:
            continue
        lock = open(os.path.join(PORT_LOCK_DIR, str(port)), "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            lock.close()
            continue
        _held_ports[port] = lock
        return port
    raise AssertionError("no free port in %d-%d" % (lo, hi))


def run(argv, **kw):
    """subprocess.run that fails the test with the command's output."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    r = subprocess.run(argv, **kw)
    if r.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(map(str, argv)), r.returncode, r.stdout, r.stderr))
    return r


def ensure_user():
    """The sercon account: shell /bin/sh (sshd runs forced commands through
    it), not locked ('*', since a root sshd without PAM refuses '!')."""
    try:
        pwd.getpwnam(USER)
    except KeyError:
        run(["useradd", "--system", "--user-group", "--shell", "/bin/sh",
             "--home-dir", "/var/lib/sercon", "--create-home", USER])
    # /bin/sh even if a bench run was cut short with the account on its
    # sercon-login-shell (tools/bench/proxy.py), which runs only the
    # forced commands of that one installation.
    run(["usermod", "-p", "*", "-s", "/bin/sh", USER])
    # sshd's privilege separation directory; systemd would create it.
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


class Install:
    """sercon built and installed into its own prefix."""

    def __init__(self, tag):
        self.tag = tag
        self.base = "/var/lib/sercon-test/%s" % tag
        self.prefix = self.base + "/root"
        self.builddir = os.path.join(PREBUILT or REPO, "build-test-%s" % tag)
        self.libexec = self.prefix + "/libexec/sercon"
        self.sbin = self.prefix + "/sbin"
        self.datadir = self.prefix + "/share/sercon"
        self.etc = self.prefix + "/etc/sercon"
        self.confd = self.etc + "/conf.d"
        self.pki = self.prefix + "/etc/pki/sercon"
        self.console_dir = self.prefix + "/var/run/sercon/console"
        self.lock_dir = self.prefix + "/var/run/sercon/lock"
        self.cache_dir = self.prefix + "/var/cache/sercon"
        self.inventory = self.etc + "/inventory.json"
        self.log_socket = self.prefix + "/log.sock"

    def configure_argv(self):
        argv = [os.path.join(REPO, "configure"), "--prefix=" + self.prefix]
        if SANITIZE:
            argv.append("--enable-sanitizers")
        return argv

    def _make_tree(self):
        """Configures and builds the tree here (SERCON_TEST_BUILD unset)."""
        if not os.path.exists(os.path.join(REPO, "configure")):
            run(["autoreconf", "-fi"], cwd=REPO)
        os.makedirs(self.builddir, exist_ok=True)
        if not os.path.exists(os.path.join(self.builddir, "Makefile")):
            run(self.configure_argv(), cwd=self.builddir)
        run(["make", "-j2"], cwd=self.builddir)

    def _check_tree(self):
        """The tree tools/check built must be there, for this prefix."""
        how = ("build it first: mkdir -p %s && cd %s && %s --enable-werror "
               "&& make -j2 (tools/check does)" % (
                   self.builddir, self.builddir, " ".join(self.configure_argv())))
        info = os.path.join(self.builddir, "tests/integration/build.json")
        if not os.path.exists(info):
            pytest.exit("SERCON_TEST_BUILD=%s: no build tree %s; %s" % (
                PREBUILT, self.builddir, how), returncode=2)
        with open(info) as f:
            b = json.load(f)
        if b["prefix"] != self.prefix or (b["sanitizers"] == "yes") != SANITIZE:
            pytest.exit("%s is configured for prefix %s (sanitizers %s), not "
                        "%s (sanitizers %s); %s" % (
                            self.builddir, b["prefix"], b["sanitizers"],
                            self.prefix, "yes" if SANITIZE else "no", how),
                        returncode=2)

    def build(self):
        for d in ("/var/lib/sercon-test", self.base):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        if PREBUILT:
            self._check_tree()
        else:
            self._make_tree()
        run(["make", "install"], cwd=self.builddir)
        with open(os.path.join(self.builddir, "tests/integration/build.json")) as f:
            b = json.load(f)
        for k in TOOLS:
            TOOLS[k] = b[k]
        self.sshd = TOOLS["sshd"]
        self.ssh = TOOLS["ssh"]
        self.ssh_keygen = TOOLS["ssh_keygen"]
        for d in (self.confd, self.pki, self.console_dir, self.lock_dir,
                  self.cache_dir):
            os.makedirs(d, exist_ok=True)
        # Each test session starts from a clean configuration and cache.
        for f in os.listdir(self.confd):
            os.unlink(os.path.join(self.confd, f))
        shutil.rmtree(self.cache_dir)
        os.makedirs(self.cache_dir)
        # The programs run as the sercon user, as in production.
        ent = pwd.getpwnam(USER)
        for d in (self.console_dir, self.lock_dir, self.cache_dir):
            os.chown(d, ent.pw_uid, ent.pw_gid)
        self.write_conf("00-test.conf",
                        "[general]\ndebug = true\nlog_socket = %s\n" % self.log_socket)

    def write_conf(self, name, text):
        path = os.path.join(self.confd, name)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)
        return path

    def remove_conf(self, name):
        try:
            os.unlink(os.path.join(self.confd, name))
        except FileNotFoundError:
            pass

    def write_inventory(self, inv, path=None):
        path = path or self.inventory
        data = inv if isinstance(inv, (str, bytes)) else json.dumps(inv, indent=1)
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(path + ".tmp", mode) as f:
            f.write(data)
        os.rename(path + ".tmp", path)
        return path


@pytest.fixture(scope="session")
def install():
    ensure_user()
    inst = Install(TAG)
    inst.build()
    return inst


class Syslog:
    """Receives the datagrams the programs send to their log socket."""

    def __init__(self, path):
        self.path = path
        self._lines = []
        self._cond = threading.Condition()
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            line = data.decode("utf-8", "replace")
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()

    def mark(self):
        with self._cond:
            return len(self._lines)

    def lines(self, since=0):
        with self._cond:
            return list(self._lines[since:])

    def wait_for(self, regex, since=0, timeout=5):
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines[since:]:
                    if rx.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no syslog line matches %r; saw:\n%s" % (
                        regex, "\n".join(self._lines[since:])))
                self._cond.wait(left)

    def close(self):
        self.sock.close()


class FakeConsole:
    """A VM's serial console as the host sees it (what qemu or libvirt
    provides): a unix stream socket at path, owned by root, group sercon,
    mode 0660, served by a thread per connection. With each connection,
    mode says what it does:

      echo    send banner, then answer each chunk with reply(chunk)
              (the chunk itself unless reply is given)
      sink    read to EOF, answer "<sha256 hex> <byte count>\n", close
      source  send the file data, then close
      manual  nothing: the test takes the connection (wait_conn)

    conns lists the connections accepted, received holds what echo read."""

    def __init__(self, path, mode="echo", banner=b"", reply=None, data=None):
        self.path = path
        self.mode = mode
        self.banner = banner
        self.reply = reply or (lambda chunk: chunk)
        self.data = data
        self.conns = []
        self.received = b""
        self._cond = threading.Condition()
        if os.path.lexists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chown(path, 0, pwd.getpwnam(USER).pw_gid)
        os.chmod(path, 0o660)
        self.sock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def clients(self):
        return len(self.conns)

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self._cond:
                self.conns.append(c)
                self._cond.notify_all()
            if self.mode != "manual":
                threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            if self.mode == "echo":
                c.sendall(self.banner)
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    self.received += d
                    c.sendall(self.reply(d))
            elif self.mode == "sink":
                h = hashlib.sha256()
                n = 0
                while True:
                    d = c.recv(1 << 20)
                    if not d:
                        break
                    h.update(d)
                    n += len(d)
                c.sendall(("%s %d\n" % (h.hexdigest(), n)).encode())
            elif self.mode == "source":
                with open(self.data, "rb") as f:
                    while True:
                        d = f.read(1 << 20)
                        if not d:
                            break
                        c.sendall(d)
        except OSError:
            pass
        finally:
            c.close()

    def wait_conn(self, count=1, timeout=10):
        """The count-th connection, once it came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.conns) < count:
                left = deadline - time.monotonic()
                assert left > 0, "no connection to %s" % self.path
                self._cond.wait(left)
            return self.conns[count - 1]

    def stop(self):
        self.sock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass
        if os.path.lexists(self.path):
            os.unlink(self.path)

    close = stop


def stopped_after(cls):
    """A fixture body: yields a maker of cls objects (same arguments), and
    stops every one it made when the fixture ends."""
    made = []

    def make(*args, **kw):
        obj = cls(*args, **kw)
        made.append(obj)
        return obj

    yield make
    for obj in made:
        obj.stop()


@pytest.fixture
def fake_console():
    """Makes FakeConsoles that are stopped after the test."""
    yield from stopped_after(FakeConsole)


@pytest.fixture(scope="session")
def syslog(install):
    s = Syslog(install.log_socket)
    yield s
    s.close()


def keygen(path, type="ed25519", comment="sercon-test"):
    for p in (path, path + ".pub"):
        if os.path.exists(p):
            os.unlink(p)
    argv = [TOOLS["ssh_keygen"], "-q", "-t", type, "-N", "", "-C", comment,
            "-f", path]
    if type == "rsa":
        argv[4:4] = ["-b", "2048"]
    run(argv)
    return path


class PKI:
    """A CA and the certificates the daemons use, in install.pki."""

    def __init__(self, install):
        self.install = install
        self.dir = install.prefix + "/test-ca"
        os.makedirs(self.dir, exist_ok=True)
        self.ca = os.path.join(self.dir, "ca")
        if not os.path.exists(self.ca):
            keygen(self.ca, comment="sercon-test-ca")
        pki = install.pki
        shutil.copy(self.ca + ".pub", pki + "/ca.pub")
        with open(self.ca + ".pub") as f:
            ca_pub = f.read().strip()
        with open(pki + "/known_hosts", "w") as f:
            f.write("@cert-authority * %s\n" % ca_pub)
        names = ["127.0.0.1", "localhost"]
        for key in ("host-ssh_host_key", "proxy-ssh_host_key"):
            keygen(pki + "/" + key)
            self.sign(pki + "/" + key + ".pub", names, host=True)
        keygen(pki + "/proxy-ssh_user_key")
        self.sign(pki + "/proxy-ssh_user_key.pub", ["sercon-proxy"])
        for f in os.listdir(pki):
            os.chmod(os.path.join(pki, f), 0o600 if not f.endswith((".pub", "known_hosts")) else 0o644)
        # proxy-shell runs as the sercon user and dials with this key.
        ent = pwd.getpwnam(USER)
        os.chown(pki + "/proxy-ssh_user_key", ent.pw_uid, ent.pw_gid)

    def keygen(self, path, type="ed25519"):
        return keygen(path, type)

    def new_ca(self, name):
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            keygen(path, comment=name)
        return path

    def sign(self, pub, principals, host=False, validity="-5m:+1d", ca=None,
             serial=1, options=()):
        argv = [TOOLS["ssh_keygen"], "-q", "-s", ca or self.ca, "-I", "sercon-test",
                "-n", ",".join(principals), "-V", validity, "-z", str(serial)]
        if host:
            argv.append("-h")
        for o in options:
            argv += ["-O", o]
        argv.append(pub)
        run(argv)
        return pub[:-len(".pub")] + "-cert.pub"


@pytest.fixture(scope="session")
def pki(install):
    return PKI(install)


class Sshd:
    """A real sshd in the foreground, as root, on a reserved loopback port
    (another one when something outside the suite holds it)."""

    def __init__(self, config, extra_opts=(), port=None, netns=None):
        self.config = config
        self.errfile = tempfile.NamedTemporaryFile(prefix="sshd-", suffix=".log", delete=False)
        for attempt in range(5):
            self.port = port or free_port()
            argv = [TOOLS["sshd"], "-D", "-e", "-f", config,
                    "-o", "Port=%d" % self.port, "-o", "ListenAddress=127.0.0.1",
                    "-o", "PidFile=none"]
            for o in extra_opts:
                argv += ["-o", o]
            if netns:
                argv = ["ip", "netns", "exec", netns] + argv
            self.argv = argv
            self.errfile.seek(0)
            self.errfile.truncate()
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                         stderr=self.errfile, stdin=subprocess.DEVNULL)
            if self._wait_ready() or port:
                break
        else:
            raise AssertionError("sshd found every port taken:\n%s" % self.log())

    def _wait_ready(self):
        """True once sshd listens; False when its port was taken."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if "Address already in use" in self.log():
                    return False
                raise AssertionError("sshd exited %d:\n%s" % (self.proc.returncode, self.log()))
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return True
            time.sleep(0.05)
        raise AssertionError("sshd did not listen on %d:\n%s" % (self.port, self.log()))

    def log(self):
        with open(self.errfile.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.unlink(self.errfile.name)
        except FileNotFoundError:
            pass


@pytest.fixture(scope="session")
def start_sshd():
    """Starts Sshd instances that are stopped after the session."""
    yield from stopped_after(Sshd)


@pytest.fixture(scope="session")
def host_sshd(install, pki, start_sshd):
    return start_sshd(install.datadir + "/host/sshd_config")


@pytest.fixture(scope="session")
def proxy_sshd(install, pki, host_sshd, start_sshd):
    install.write_conf("10-test-host-port.conf",
                       "[proxy]\nhost_port = %d\n" % host_sshd.port)
    return start_sshd(install.datadir + "/proxy/sshd_config")


@pytest.fixture(scope="session")
def _key_dir():
    d = tempfile.mkdtemp(prefix="sercon-keys-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def user_key(install, _key_dir):
    made = {}

    def make(name, type="ed25519"):
        if name not in made:
            path = os.path.join(_key_dir, name)
            keygen(path, type, comment=name + "@test")
            with open(path + ".pub") as f:
                made[name] = (path, f.read().strip())
        return made[name]

    return make


_known_hosts = None


def ssh_argv(port, key, *extra, user=USER, tty=False, command=None):
    """The real ssh client, configured by nothing but its command line."""
    kh = _known_hosts or "/dev/null"
    argv = [TOOLS["ssh"], "-F", "/dev/null", "-p", str(port), "-i", key,
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=" + kh,
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"]
    argv += list(extra)
    argv.append("-tt" if tty else "-T")
    argv.append("%s@127.0.0.1" % user)
    if command:
        argv += [command] if isinstance(command, str) else list(command)
    return argv


@pytest.fixture(scope="session", autouse=True)
def _ssh_known_hosts(request):
    """ssh_argv trusts the test CA once the pki fixture exists."""
    global _known_hosts
    inst = Install(TAG)
    _known_hosts = inst.pki + "/known_hosts"
    yield
