# Fixtures for sercon's integration tests: a real installation in a
# root-owned prefix, a PKI made with ssh-keygen, real sshd instances on free
# loopback ports, and a syslog socket that collects what the programs log.
# Modelled on OpenSSH's regress/test-exec.sh: every test drives the real
# client against real daemons.

import json
import os
import pwd
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
USER = "sercon"


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    run(["usermod", "-p", "*", USER])
    # sshd's privilege separation directory; systemd would create it.
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


class Install:
    """sercon built and installed into its own prefix."""

    def __init__(self, tag):
        self.tag = tag
        self.base = "/var/lib/sercon-test/%s" % tag
        self.prefix = self.base + "/root"
        self.builddir = os.path.join(REPO, "build-test-%s" % tag)
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

    def build(self):
        for d in ("/var/lib/sercon-test", self.base):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        if not os.path.exists(os.path.join(REPO, "configure")):
            run(["autoreconf", "-fi"], cwd=REPO)
        os.makedirs(self.builddir, exist_ok=True)
        if not os.path.exists(os.path.join(self.builddir, "Makefile")):
            argv = [os.path.join(REPO, "configure"), "--prefix=" + self.prefix]
            if SANITIZE:
                argv.append("--enable-sanitizers")
            run(argv, cwd=self.builddir)
        run(["make", "-j2"], cwd=self.builddir)
        run(["make", "install"], cwd=self.builddir)
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


@pytest.fixture(scope="session")
def syslog(install):
    s = Syslog(install.log_socket)
    yield s
    s.close()


def keygen(path, type="ed25519", comment="sercon-test"):
    for p in (path, path + ".pub"):
        if os.path.exists(p):
            os.unlink(p)
    argv = ["ssh-keygen", "-q", "-t", type, "-N", "", "-C", comment, "-f", path]
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
        argv = ["ssh-keygen", "-q", "-s", ca or self.ca, "-I", "sercon-test",
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
    """A real sshd in the foreground, as root, on a free loopback port."""

    def __init__(self, config, extra_opts=(), port=None, netns=None):
        self.config = config
        self.port = port or free_port()
        self.errfile = tempfile.NamedTemporaryFile(prefix="sshd-", suffix=".log", delete=False)
        argv = ["/usr/sbin/sshd", "-D", "-e", "-f", config,
                "-o", "Port=%d" % self.port, "-o", "ListenAddress=127.0.0.1",
                "-o", "PidFile=none"]
        for o in extra_opts:
            argv += ["-o", o]
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=self.errfile, stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("sshd exited %d:\n%s" % (self.proc.returncode, self.log()))
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
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
    started = []

    def start(config, extra_opts=(), **kw):
        d = Sshd(config, extra_opts, **kw)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


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
def user_key(_key_dir):
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
    argv = ["ssh", "-F", "/dev/null", "-p", str(port), "-i", key,
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
