# Integration tests of sercon-consoled, the host's console daemon: the real
# host sshd and ssh client, sercon-host-shell as the thin client, the daemon
# running as the sercon user, and unix socket servers standing in for qemu
# (plain, telnet-mode, with a QMP monitor beside). The real-VM cases are in
# test_vm.py.

import os
import pwd
import re
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import SANITIZE
from test_host import host_argv, run_host, read_exact

USER = "sercon"


# --- the session protocol, as a sercon proxy speaks it ----------------------

def frame(type_, payload=b""):
    if isinstance(payload, str):
        payload = payload.encode()
    return b"\xff" + type_.encode() + struct.pack(">H", len(payload)) + payload


def escape(data):
    return data.replace(b"\xff", b"\xff\xff")


class Decoder:
    """Incremental decoder of the framed stream: data and messages."""

    def __init__(self):
        self.buf = b""
        self.data = b""
        self.msgs = []

    def feed(self, b):
        self.buf += b
        while True:
            i = self.buf.find(b"\xff")
            if i == -1:
                self.data += self.buf
                self.buf = b""
                return
            self.data += self.buf[:i]
            self.buf = self.buf[i:]
            if len(self.buf) < 2:
                return
            if self.buf[1] == 0xff:
                self.data += b"\xff"
                self.buf = self.buf[2:]
                continue
            if len(self.buf) < 4:
                return
            n = struct.unpack(">H", self.buf[2:4])[0]
            if len(self.buf) < 4 + n:
                return
            self.msgs.append((chr(self.buf[1]), self.buf[4:4 + n]))
            self.buf = self.buf[4 + n:]


# --- fixtures ----------------------------------------------------------------

class Daemon:
    """sercon-consoled as the sercon user, as its unit runs it."""

    def __init__(self, install):
        self.install = install
        self.sock = install.prefix + "/var/run/sercon/consoled/consoled.sock"
        self.proc = None

    def start(self):
        ent = pwd.getpwnam(USER)
        os.makedirs(os.path.dirname(self.sock), exist_ok=True)
        os.chown(os.path.dirname(self.sock), ent.pw_uid, ent.pw_gid)
        self.proc = subprocess.Popen(
            ["runuser", "-u", USER, "--",
             self.install.libexec + "/sercon-consoled"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            assert self.proc.poll() is None, self.proc.stderr.read()
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(self.sock)
                s.close()
                break
            except OSError:
                s.close()
            assert time.monotonic() < deadline, "the daemon did not listen"
            time.sleep(0.05)
        self.pid = self.daemon_pid()
        return self

    def daemon_pid(self):
        """runuser forks: the daemon is its child."""
        for _ in range(50):
            r = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                               capture_output=True, text=True)
            if r.stdout.strip():
                return int(r.stdout.split()[0])
            time.sleep(0.05)
        return self.proc.pid

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return
        # A daemon that died on its own (a crash, a sanitizer report) is a
        # failure, said here with what it wrote: a restart would hide it
        assert self.proc.poll() is None, \
            "sercon-consoled had exited (status %s): %s" % (
                self.proc.returncode, self.proc.stderr.read().decode()[-4000:])
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def host(install, pki, host_sshd, syslog):
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    return host_sshd


@pytest.fixture(scope="module")
def record_dir(install):
    d = install.prefix + "/var/log/sercon/consoles"
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    ent = pwd.getpwnam(USER)
    os.chown(d, ent.pw_uid, ent.pw_gid)
    return d


def daemon_with(install, conf_name, host_conf):
    """A fixture body: sercon-consoled with host_conf as the [host] section
    of the snippet conf_name, stopped after; its stop must be clean."""
    install.write_conf(conf_name, "[host]\n" + host_conf)
    d = Daemon(install).start()
    yield d
    d.stop()
    install.remove_conf(conf_name)
    # A clean stop: exit 0 (under the sanitizers, no leak report either).
    assert d.proc.returncode == 0, d.proc.stderr.read().decode()[-4000:]


@pytest.fixture(scope="module")
def daemon(install, pki, host_sshd, syslog, record_dir):
    yield from daemon_with(install, "20-consoled.conf",
                           "console_grace = 3\nsession_stall = 6\n"
                           "record = yes\nrecord_dir = %s\nrecord_input = yes\n"
                           "replay_lines = 3\n" % record_dir)


@pytest.fixture
def console(install, fake_console):
    """A fake console NAME in the console directory (conftest.FakeConsole);
    manual by default: the daemon's connection is handed to the test."""
    def make(name, mode="manual", data=None):
        return fake_console(os.path.join(install.console_dir, name), mode=mode,
                            data=data)
    return make


class Session:
    """One ssh session to the host through the daemon, raw or framed."""

    def __init__(self, install, host, console, *opts, entity="alice",
                 framed=False, extra=()):
        cmd = "--entity-id=%s --entity=%s connect --console=%s %s" % (
            entity, entity.capitalize(), console, " ".join(opts))
        if framed:
            cmd += " --proto=1"
        self.framed = framed
        self.p = subprocess.Popen(host_argv(install, host, cmd.strip(), *extra),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.out = b""
        self.dec = Decoder()
        self.keep = 1 << 24

    def send(self, data):
        self.p.stdin.write(escape(data) if self.framed else data)
        self.p.stdin.flush()

    def send_msg(self, type_, payload=b""):
        self.p.stdin.write(frame(type_, payload))
        self.p.stdin.flush()

    def _read(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return None
        d = os.read(self.p.stdout.fileno(), 65536)
        if self.framed:
            self.dec.feed(d)
            self.out = self.dec.data
        else:
            self.out += d
        if len(self.out) > self.keep:
            self.out = self.out[-self.keep:]
            self.dec.data = self.dec.data[-self.keep:]
        return d

    def expect(self, pattern, timeout=10):
        """Waits until the output (data, raw) matches; returns the match."""
        rx = re.compile(pattern if isinstance(pattern, bytes) else pattern.encode())
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.out)
            if m:
                return m
            left = deadline - time.monotonic()
            assert left > 0, "no %r in %r" % (rx.pattern, self.out[-2000:])
            d = self._read(left)
            assert d != b"", "EOF before %r; got %r; stderr %r" % (
                rx.pattern, self.out[-2000:], self.p.stderr.read())

    def expect_msg(self, type_, pattern=b"", timeout=10):
        rx = re.compile(pattern if isinstance(pattern, bytes) else pattern.encode())
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for t, p in self.dec.msgs[seen:]:
                if t == type_ and rx.search(p):
                    return p
            seen = len(self.dec.msgs)
            left = deadline - time.monotonic()
            assert left > 0, "no %s %r in %r" % (type_, pattern, self.dec.msgs)
            d = self._read(left)
            assert d != b"", "EOF; messages %r" % self.dec.msgs

    def quiet(self, secs=0.5):
        """Whatever arrives within secs."""
        before = len(self.out)
        deadline = time.monotonic() + secs
        while time.monotonic() < deadline:
            if self._read(deadline - time.monotonic()) == b"":
                break
        return self.out[before:]

    def close(self, timeout=10):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        return self.wait(timeout)

    def wait(self, timeout=10):
        deadline = time.monotonic() + timeout
        while self.p.poll() is None:
            assert time.monotonic() < deadline, "session did not end"
            self._read(0.2)
        while self._read(0.1):
            pass
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


_syslog = []


@pytest.fixture(autouse=True)
def _syslog_on_failure(syslog):
    """What the programs logged during a test, shown when it fails."""
    _syslog[:] = [syslog]
    mark = syslog.mark()
    yield
    print("\n".join(syslog.lines(mark)[-60:]))


@pytest.fixture
def sessions():
    made = []
    yield made
    for s in made:
        s.kill()


def attach(install, host, sessions, console, *opts, **kw):
    """A session, returned once the daemon has attached it."""
    log = _syslog[0]
    mark = log.mark()
    s = Session(install, host, console, *opts, **kw)
    sessions.append(s)
    log.wait_for(r"sercon-consoled\[\d+\]: attach: console=%s session=\d+ "
                 r"entityid=%s " % (re.escape(console),
                                    kw.get("entity", "alice")), mark,
                 timeout=15)
    return s


def wait_daemon_conn(srv):
    """The daemon connects on its own, before anyone attaches."""
    return srv.wait_conn(timeout=10)


def collect(conn, n, timeout=10):
    got = b""
    conn.settimeout(timeout)
    while len(got) < n:
        d = conn.recv(65536)
        assert d, "console connection closed after %r" % got
        got += d
    return got


# --- capture, replay, roles ------------------------------------------------------

def test_output_before_anyone_is_replayed(install, host, daemon, console,
                                          sessions, syslog):
    srv = console("boot.sock")
    c = wait_daemon_conn(srv)
    c.sendall(b"".join(b"boot line %d\r\n" % i for i in range(1, 11)))
    time.sleep(0.3)
    mark = syslog.mark()
    s = attach(install, host, sessions, "boot.sock", "--replay=all")
    s.expect(rb"boot line 1\r\n(.|\n)*boot line 10\r\n")
    # The session is the writer: its keystrokes reach the console.
    s.send(b"typed")
    assert collect(c, 5) == b"typed"
    syslog.wait_for(r"sercon-consoled\[\d+\]: attach: console=boot\.sock "
                    r"session=\d+ entityid=alice entity=Alice role=writer "
                    r"peer=127\.0\.0\.1:\d+ mode=rw replay=all", mark)
    assert s.close() == 0
    syslog.wait_for(r"detach: console=boot\.sock .* role=writer .*"
                    r"to_console=5 from_console=\d+ duration=[0-9.]+s "
                    r"status=0 reason=user-closed", mark)


@pytest.mark.parametrize("opt,first", [("--replay=0", None),
                                       ("--replay=2", b"line 9"),
                                       ("", b"line 8"),      # replay_lines = 3
                                       ("--replay=all", b"line 1\r")])
def test_replay_amounts(install, host, daemon, console, sessions, opt, first):
    name = "replay-%s.sock" % (opt.replace("--replay=", "") or "default")
    srv = console(name)
    c = wait_daemon_conn(srv)
    c.sendall(b"".join(b"line %d\r\n" % i for i in range(1, 11)))
    time.sleep(0.3)
    s = attach(install, host, sessions, name, *([opt] if opt else []))
    c.sendall(b"now\r\n")
    s.expect(rb"now\r\n")
    before = s.out[:s.out.index(b"now\r\n")]
    if first is None:
        assert b"line" not in before, before
    else:
        assert before.startswith(first), before
        assert before.endswith(b"line 10\r\n"), before
    s.close()


def alice_writes(install, host, sessions, console, name):
    """Console name with Alice attached first, so the writer: her keystrokes
    reach it. Returns the console's end of the connection and her session."""
    c = wait_daemon_conn(console(name))
    alice = attach(install, host, sessions, name, "--replay=0")
    alice.send(b"a1")
    assert collect(c, 2) == b"a1"
    return c, alice


def test_writer_and_watcher(install, host, daemon, console, sessions, syslog):
    c, alice = alice_writes(install, host, sessions, console, "shared.sock")
    mark = syslog.mark()
    bob = attach(install, host, sessions, "shared.sock", "--replay=0",
                 entity="bob")
    bob.expect(rb"^\r\n\[sercon\] shared: Alice writes since "
               rb"\d\d:\d\d UTC; you are watching read-only\r\n")
    syslog.wait_for(r"attach: console=shared\.sock .* entityid=bob entity=Bob "
                    r"role=watcher", mark)
    # Both see the guest's output.
    c.sendall(b"guest says hi\r\n")
    alice.expect(rb"guest says hi\r\n")
    bob.expect(rb"guest says hi\r\n")
    # Only the writer's keystrokes reach the guest; the watcher is told
    # once, not once per key.
    bob.send(b"x")
    bob.send(b"y")
    bob.expect(rb"you are watching read-only; your input goes nowhere")
    alice.send(b"a2")
    assert collect(c, 2) == b"a2"
    bob.send(b"z")
    assert bob.quiet(0.5).count(b"goes nowhere") == 0
    assert bob.out.count(b"goes nowhere") == 1
    alice.close()
    bob.close()


def test_read_only_on_purpose(install, host, daemon, console, sessions):
    srv = console("ro.sock")
    c = wait_daemon_conn(srv)
    w = attach(install, host, sessions, "ro.sock", "--watch", "--replay=0")
    w.expect(rb"ro: nobody writes; you are watching read-only")
    w.send(b"nope")
    w.expect(rb"goes nowhere")
    c.settimeout(0.5)
    with pytest.raises(socket.timeout):
        c.recv(10)
    w.close()


def test_takeover_demotes_and_no_silent_promotion(install, host, daemon,
                                                  console, sessions, syslog):
    c, alice = alice_writes(install, host, sessions, console, "take.sock")
    mark = syslog.mark()
    bob = attach(install, host, sessions, "take.sock", "--takeover",
                 "--replay=0", entity="bob")
    bob.expect(rb"take: you write now \(took over from Alice\)")
    alice.expect(rb"\[sercon\] take: Bob took over; you are watching read-only")
    syslog.wait_for(r"attach: console=take\.sock .* entity=Bob role=writer "
                    r".*mode=takeover", mark)
    syslog.wait_for(r"role: console=take\.sock .* entity=Alice role=watcher "
                    r".*reason=taken-over", mark)
    # Alice is still connected and still sees output, but cannot write.
    c.sendall(b"out\r\n")
    alice.expect(rb"out\r\n")
    alice.send(b"A")
    alice.expect(rb"goes nowhere")
    bob.send(b"B")
    assert collect(c, 1) == b"B"
    # Bob leaves: Alice is told, and is NOT promoted.
    assert bob.close() == 0
    alice.expect(rb"take: Bob left; nobody writes now")
    alice.send(b"still not")
    c.settimeout(0.7)
    with pytest.raises(socket.timeout):
        c.recv(10)
    # A takeover works at once.
    carol = attach(install, host, sessions, "take.sock", "--takeover",
                   "--replay=0", entity="carol")
    carol.expect(rb"you write now")
    carol.send(b"C")
    assert collect(c, 1) == b"C"
    alice.expect(rb"Carol writes now")
    carol.close()
    alice.close()


def test_ovirt_style_connect_through_daemon(install, host, daemon, console,
                                            syslog):
    srv = console("6f1c-ovirt-d.sock")
    c = wait_daemon_conn(srv)
    c.sendall(b"login: ")
    time.sleep(0.2)
    mark = syslog.mark()
    p = subprocess.Popen(host_argv(install, host,
                                   '--entityid="a1b2-c3" --entity="admin@internal" '
                                   'connect --console="6f1c-ovirt-d.sock"'),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        assert read_exact(p.stdout, 7) == b"login: "
        p.stdin.write(b"root\n")
        p.stdin.flush()
        assert collect(c, 5) == b"root\n"
        syslog.wait_for(r"attach: console=6f1c-ovirt-d\.sock .*entityid=a1b2-c3 "
                        r"entity=admin@internal role=writer", mark)
        p.stdin.close()
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()


def test_unknown_console_is_unavailable(install, host, daemon):
    r = run_host(install, host, "connect --console=nosuch-d.sock")
    assert r.returncode == 3
    assert r.stderr.decode() == "ERROR: console nosuch-d.sock is not available\n"


def test_status(install, host, daemon, console, sessions):
    srv = console("stat.sock")
    c = wait_daemon_conn(srv)
    c.sendall(b"12345")
    a = attach(install, host, sessions, "stat.sock", "--replay=0")
    b = attach(install, host, sessions, "stat.sock", "--replay=0", entity="bob")
    b.expect(rb"watching read-only")
    r = run_host(install, host, "status")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert re.search(r"^console=stat\.sock state=connected ring=5 total=5 "
                     r"sessions=2 writer=Alice writer_since=\S+Z$", out, re.M), out
    assert re.search(r"^session=\d+ console=stat\.sock role=writer "
                     r"entity_id=alice entity=Alice since=\S+ "
                     r"peer=127\.0\.0\.1:\d+$", out, re.M), out
    assert re.search(r"^session=\d+ console=stat\.sock role=watcher "
                     r"entity_id=bob entity=Bob", out, re.M), out
    a.close()
    b.close()


# --- the console going away --------------------------------------------------

def test_console_closed_and_back(install, host, daemon, console, sessions,
                                 syslog):
    srv = console("restart.sock")
    c = wait_daemon_conn(srv)
    w = attach(install, host, sessions, "restart.sock", "--replay=0")
    v = attach(install, host, sessions, "restart.sock", "--replay=0",
               entity="bob", framed=True)
    v.expect_msg("H", rb"role=watcher")
    c.sendall(b"last words\r\n")
    w.expect(rb"last words\r\n")
    srv.stop()
    w.expect(rb"last words\r\n\r\n\[sercon\] restart: console closed\r\n")
    v.expect_msg("T", rb"^console=closed$")
    v.expect_msg("N", rb"^restart: console closed$")
    # Typing while it is closed is dropped, not saved for the next VM.
    w.send(b"lost")
    w.expect(rb"console closed; input dropped")
    srv2 = console("restart.sock")
    c2 = srv2.wait_conn()
    w.expect(rb"\[sercon\] restart: console back\r\n")
    v.expect_msg("T", rb"^console=back$")
    c2.sendall(b"new boot\r\n")
    w.expect(rb"new boot\r\n")
    w.send(b"k")
    assert collect(c2, 1) == b"k"
    # Gone for longer than console_grace (3 s): status 5.
    srv2.stop()
    w.expect(rb"console closed")
    t0 = time.monotonic()
    assert w.wait(15) == 5
    assert v.wait(15) == 5
    v.expect_msg("E", rb"^\x05")
    assert 2.5 < time.monotonic() - t0 < 8


def test_daemon_killed_and_restarted(install, host, daemon, console, sessions,
                                     syslog):
    srv = console("kill9.sock")
    wait_daemon_conn(srv)
    s = attach(install, host, sessions, "kill9.sock", "--replay=0")
    s.expect(rb"")
    time.sleep(0.5)
    daemon.stop(signal.SIGKILL)
    s.expect(rb"\[sercon\] kill9: sercon-consoled went away; session ended")
    assert s.wait() == 3
    # No stale lock: a direct session works while the daemon is down.
    mark = syslog.mark()
    d = Session(install, host, "kill9.sock")
    sessions.append(d)
    c = srv.wait_conn(count=2)
    d.send(b"direct")
    assert collect(c, 6) == b"direct"
    syslog.wait_for(r"sercon-consoled is not running .* direct, exclusive "
                    r"session to kill9\.sock", mark)
    # The daemon is back: it waits for the direct session's lock.
    daemon.start()
    time.sleep(0.5)
    assert len(srv.conns) == 2
    d.p.stdin.close()
    c.settimeout(10)
    assert c.recv(10) == b""        # the user's end, passed on
    c.close()
    assert d.wait() == 0
    c3 = srv.wait_conn(count=3)
    c3.sendall(b"captured\r\n")
    s2 = attach(install, host, sessions, "kill9.sock", "--replay=all")
    s2.expect(rb"captured\r\n")
    s2.close()


# --- recording ---------------------------------------------------------------

def asciinema_cat(path):
    """asciinema cat insists on a terminal: it gets one as its controlling
    tty, and its output goes to a pipe, byte for byte."""
    import fcntl
    import termios
    import tty
    master, slave = os.openpty()
    tty.setraw(slave)

    def ctty():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    try:
        r = subprocess.run(["asciinema", "cat", path], stdin=slave,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           preexec_fn=ctty, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    return r.stdout, r.stderr, r.returncode


def test_recording_replays_with_asciinema(install, host, daemon, console,
                                          sessions, record_dir):
    srv = console("rec.sock")
    c = wait_daemon_conn(srv)
    s = attach(install, host, sessions, "rec.sock", "--replay=all")
    text = "héllo wörld ✓ \x1b[1mbold\x1b[0m\r\n".encode() + bytes(range(32, 127))
    # The bytes arrive in pieces that cut a UTF-8 sequence.
    c.sendall(text[:2])
    time.sleep(0.1)
    c.sendall(text[2:])
    s.expect(re.escape(text))
    s.send(b"secret")
    collect(c, 6)
    s.close()
    time.sleep(0.3)
    files = sorted(f for f in os.listdir(record_dir) if f.startswith("rec.sock-"))
    assert len(files) == 1, files
    path = os.path.join(record_dir, files[0])
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o640
    assert pwd.getpwuid(st.st_uid).pw_name == USER
    out, err, rc = asciinema_cat(path)
    assert rc == 0, err
    assert out == s.out, (out, s.out)
    with open(path, encoding="utf-8") as f:
        body = f.read()
    assert '"m", "attach Alice (writer)"' in body
    assert '"m", "detach Alice (writer)"' in body
    assert '"i", "secret"' in body      # record_input = yes here


# --- framed sessions (the sercon proxy) ------------------------------------------

def test_framed_every_byte_value(install, host, daemon, console, sessions):
    srv = console("frame.sock", mode="manual")
    c = wait_daemon_conn(srv)
    s = attach(install, host, sessions, "frame.sock", "--replay=0",
               framed=True)
    hello = s.expect_msg("H")
    assert hello.startswith(b"sercon 1 role=writer console=frame.sock")
    s.expect_msg("T", rb"role=writer console=up")
    data = bytes(range(256)) * 64
    s.send(data)
    assert collect(c, len(data)) == data
    c.sendall(data)
    s.expect(re.escape(data))
    # A message the host does not take from a proxy is dropped, the stream
    # stays in step.
    s.p.stdin.write(frame("N", "forged notice") + frame("E", b"\x00x") +
                    escape(b"\xffafter"))
    s.p.stdin.flush()
    assert collect(c, 6) == b"\xffafter"
    s.p.stdin.close()
    assert s.wait() == 0
    s.expect_msg("E", rb"^\x00")


def test_framed_replay_and_takeover_messages(install, host, daemon, console,
                                             sessions):
    srv = console("fr2.sock")
    c = wait_daemon_conn(srv)
    c.sendall(b"one\r\ntwo\r\nthree\r\n")
    time.sleep(0.2)
    a = attach(install, host, sessions, "fr2.sock", "--replay=0")
    b = attach(install, host, sessions, "fr2.sock", "--replay=0", framed=True,
               entity="bob")
    b.expect_msg("H", rb"role=watcher")
    b.send_msg("R", "2")
    b.expect(rb"two\r\nthree\r\n")
    b.send_msg("W")
    b.expect_msg("T", rb"^role=writer$")
    a.expect(rb"Bob took over")
    b.send(b"w")
    assert collect(c, 1) == b"w"
    a.close()
    b.close()


# --- BREAK -------------------------------------------------------------------

def test_break_telnet_console(install, host, daemon, console, sessions, syslog,
                              record_dir):
    srv = console("tn.sock")
    c = wait_daemon_conn(srv)
    # IAC WILL ECHO, IAC WILL SGA, IAC WILL BINARY, IAC DO BINARY
    c.sendall(b"\xff\xfb\x01\xff\xfb\x03\xff\xfb\x00\xff\xfd\x00login: ")
    time.sleep(0.2)
    s = attach(install, host, sessions, "tn.sock", "--replay=all",
               framed=True)
    s.expect(rb"^login: ")
    mark = syslog.mark()
    s.send_msg("B")
    s.expect_msg("N", rb"^BREAK sent to tn$")
    assert collect(c, 2) == b"\xff\xf3"
    s.send_msg("S", "h")
    s.expect_msg("N", rb"^SysRq h sent to tn$")
    assert collect(c, 3) == b"\xff\xf3h"
    # 0xFF typed by the user is doubled for telnet.
    s.send(b"\xff")
    assert collect(c, 2) == b"\xff\xff"
    syslog.wait_for(r"break: console=tn\.sock session=\d+ entity=Alice "
                    r"method=telnet what=BREAK", mark)
    s.close()


def test_break_unsupported_is_said(install, host, daemon, console, sessions):
    srv = console("nobrk.sock")
    wait_daemon_conn(srv)
    s = attach(install, host, sessions, "nobrk.sock", "--replay=0", framed=True)
    s.expect_msg("H")
    s.send_msg("B")
    s.expect_msg("N", rb"^BREAK is not supported by this console$")
    s.close()


class FakeQmp:
    """A QMP monitor: greeting, capabilities, query-chardev, send-break."""

    def __init__(self, path, console_path):
        self.path = path
        self.console_path = console_path
        self.breaks = []
        if os.path.lexists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        ent = pwd.getpwnam(USER)
        os.chown(path, ent.pw_uid, ent.pw_gid)
        self.sock.listen(2)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        import json
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            f = c.makefile("rwb")
            f.write(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
            f.flush()
            for line in f:
                cmd = json.loads(line)
                ex = cmd["execute"]
                if ex == "query-chardev":
                    f.write(b'{"event": "NOISE", "data": {}}\r\n')
                    ret = [{"frame-opened": False, "filename": "unix:/x/other.sock,server=on",
                            "label": "other"},
                           {"frame-opened": True,
                            "filename": "unix:%s,server=on" % self.console_path,
                            "label": "charserial0"}]
                elif ex == "chardev-send-break":
                    self.breaks.append(cmd["arguments"]["id"])
                    ret = {}
                else:
                    ret = {}
                f.write(json.dumps({"return": ret}).encode() + b"\r\n")
                f.flush()
            c.close()

    def stop(self):
        self.sock.close()
        os.unlink(self.path)


def test_break_through_qmp(install, host, daemon, console, sessions, syslog):
    srv = console("qm1.sock")
    c = wait_daemon_conn(srv)
    qmp = FakeQmp(os.path.join(install.console_dir, "qm1.qmp"), srv.path)
    try:
        s = attach(install, host, sessions, "qm1.sock", "--replay=0",
                   framed=True)
        s.expect_msg("H")
        mark = syslog.mark()
        s.send_msg("S", "b")
        s.expect_msg("N", rb"^SysRq b sent to qm1$")
        assert qmp.breaks == ["charserial0"]
        assert collect(c, 1) == b"b"
        syslog.wait_for(r"break: console=qm1\.sock .* method=qmp what=SysRq b",
                        mark)
        # The monitor socket is not taken for a console.
        r = run_host(install, host, "status")
        assert "qm1.qmp" not in r.stdout.decode()
        # A watcher cannot send a BREAK.
        w = attach(install, host, sessions, "qm1.sock", "--replay=0",
                   framed=True, entity="bob")
        w.expect_msg("H", rb"role=watcher")
        w.send_msg("B")
        w.expect_msg("N", rb"watching read-only; BREAK not sent")
        assert qmp.breaks == ["charserial0"]
        s.close()
        w.close()
    finally:
        qmp.stop()


# --- hostile clients, floods -------------------------------------------------------

def client_as_sercon(code):
    """Python as the sercon user, for tests that talk to the daemon's
    socket directly (the socket is the sercon user's alone)."""
    return subprocess.Popen(["runuser", "-u", USER, "--", "/usr/bin/python3",
                             "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_attach_socket_is_the_sercon_users_only(install, daemon, syslog):
    st = os.stat(daemon.sock)
    assert st.st_mode & 0o777 == 0o600
    code = ("import socket\ns=socket.socket(socket.AF_UNIX)\ns.connect(%r)\n"
            "try:\n s.sendall(b'\\xffH\\x00\\x08sercon 1')\n"
            " s.settimeout(5)\n print(repr(s.recv(100)))\n"
            "except OSError as e:\n print('closed', e.errno)\n" % daemon.sock)
    r = subprocess.run(["runuser", "-u", "nobody", "--", "/usr/bin/python3",
                        "-c", code], capture_output=True)
    assert r.returncode != 0 and b"Permission denied" in r.stderr
    # Past the mode, the peer's credentials are checked too.
    mark = syslog.mark()
    os.chmod(daemon.sock, 0o666)
    try:
        r = subprocess.run(["runuser", "-u", "nobody", "--", "/usr/bin/python3",
                            "-c", code], capture_output=True)
    finally:
        os.chmod(daemon.sock, 0o600)
    assert r.stdout.strip() in (b"b''", b"closed 32", b"closed 104"), (
        r.stdout, r.stderr)
    syslog.wait_for(r"sercon-consoled\[\d+\]: refused a client running as "
                    r"uid %d" % pwd.getpwnam("nobody").pw_uid, mark)


def test_hostile_clients(install, host, daemon, console, sessions, syslog):
    srv = console("hostile.sock")
    c = wait_daemon_conn(srv)
    rss0 = daemon.rss_kib()
    mark = syslog.mark()
    code = r'''
import socket, struct, time, sys
path = %r
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(path); return s
t0 = time.monotonic()
# garbage: dropped at once
g = conn(); g.sendall(b"GET / HTTP/1.0\r\n\r\n" * 100)
g.settimeout(5); assert g.recv(100) == b"" or True
# a malformed frame (length over the limit)
m = conn(); m.sendall(b"\xffH\xff\xff"); m.settimeout(5)
while m.recv(100): pass
# half a hello, then silence; and connect-and-hang: both closed within 5 s
h = conn(); h.sendall(b"\xffH\x00\x40sercon 1 cons")
k = conn()
hangers = [conn() for i in range(50)]
for s in [h, k] + hangers:
    s.settimeout(8)
    assert s.recv(100) == b""
print("hung up after %%.1f" %% (time.monotonic() - t0))
# a million tiny writes of a valid session
t = conn()
hello = b"sercon 1 console=hostile.sock entity=tiny mode=ro replay=0"
t.sendall(b"\xffH" + struct.pack(">H", len(hello)) + hello)
for i in range(1000000):
    t.send(b"x")
t.sendall(b"\xffW\x00\x00")
t.settimeout(10)
got = b""
while b"role=writer" not in got:
    got += t.recv(65536)
print("tiny ok")
''' % daemon.sock
    p = client_as_sercon(code)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err.decode()
    assert b"tiny ok" in out
    hung = float(re.search(rb"hung up after ([0-9.]+)", out).group(1))
    assert hung < 7.5, out
    syslog.wait_for(r"session \d+: no hello within 5 s; dropped", mark)
    syslog.wait_for(r"session \d+: (data before the hello|malformed stream)",
                    mark)
    # Everyone else is served throughout, memory stayed bounded.
    s = attach(install, host, sessions, "hostile.sock", "--replay=0")
    c.sendall(b"fine\r\n")
    s.expect(rb"fine\r\n")
    s.close()
    # The sanitizers' quarantine keeps freed memory; 4 MiB is the bound of
    # a plain build.
    bound = 65536 if SANITIZE else 4096
    assert daemon.rss_kib() - rss0 < bound, (rss0, daemon.rss_kib())


@pytest.mark.slow
def test_flood_never_blocks_others(install, host, daemon, console, sessions,
                                   syslog):
    """One guest floods. Another console keeps answering at keystroke
    speed; the writer's input arrives whole and its output has no gap (the
    flood is paced to it); a watcher that pauses is told what it missed; a
    watcher that reads nothing is dropped after session_stall (6 s)."""
    flood = console("flood.sock")
    fc = wait_daemon_conn(flood)
    other = console("calm.sock", mode="echo")
    wait_daemon_conn(other)
    mark = syslog.mark()
    writer = attach(install, host, sessions, "flood.sock", "--replay=0")
    stalled = attach(install, host, sessions, "flood.sock", "--replay=0",
                     entity="bob")
    slow = attach(install, host, sessions, "flood.sock", "--replay=0",
                  entity="dave")
    calm = attach(install, host, sessions, "calm.sock", "--replay=0",
                  entity="carol")
    stop = threading.Event()
    sent = [0]

    def pump():
        block = b"".join(b"%08d\n" % i for i in range(7000))   # 63,000 bytes
        fc.settimeout(60)
        while not stop.is_set():
            try:
                fc.sendall(block)
            except OSError:
                return
            sent[0] += 1

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    writer.keep = 1 << 20
    slow.keep = 1 << 20
    # Another console keeps answering quickly.
    worst = 0
    for i in range(20):
        t0 = time.monotonic()
        calm.send(b"k%02d" % i)
        calm.expect(rb"k%02d" % i)
        worst = max(worst, time.monotonic() - t0)
        writer.quiet(0.05)
    assert worst < 1.0, worst
    # The writer's input is not lost while the guest floods.
    typed = bytes(range(33, 127)) * 100
    writer.send(typed)
    got = b""
    fc.settimeout(0.2)
    deadline = time.monotonic() + 30
    while len(got) < len(typed) and time.monotonic() < deadline:
        writer.quiet(0.01)
        try:
            got += fc.recv(65536)
        except socket.timeout:
            pass
    assert got == typed
    # The slow watcher pauses 3 s, then reads: it is told what it missed.
    t_pause = time.monotonic()
    while time.monotonic() - t_pause < 3:
        writer.quiet(0.1)
    slow.expect(rb"bytes of output missed \(this session fell behind\)",
                timeout=30)
    # The one that reads nothing is dropped after session_stall.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        writer.quiet(0.2)
        if any(re.search(r"session \d+: read none of its output for 6 s; "
                         r"dropped", l) for l in syslog.lines(mark)):
            break
    syslog.wait_for(r"session \d+: read none of its output for 6 s; dropped",
                    mark, timeout=1)
    stop.set()
    # The writer's output is the flood without a gap: every line follows
    # the one before (modulo the block), and it was never told of a loss.
    lines = writer.out.split(b"\n")[1:-1]
    nums = [int(l) for l in lines if re.fullmatch(rb"\d{8}", l)]
    assert len(nums) > 1000
    assert all((b - a) % 7000 == 1 for a, b in zip(nums, nums[1:])), \
        "gap in the writer's output"
    assert b"missed" not in writer.out
    t.join(10)
    calm.close()
    writer.kill()
    stalled.kill()
    slow.kill()


def test_dead_session_loses_the_writer_role(install, pki, daemon, console,
                                            sessions, syslog, start_sshd):
    """A writer whose ssh went silent (SIGSTOP: no TCP answers) is dropped
    by sshd's ClientAlive* keepalives (the shipped host config: 10 s x 3;
    here 1 s x 2), and the writer role is free again."""
    quick = start_sshd(install.datadir + "/host/sshd_config",
                       ["ClientAliveInterval=1", "ClientAliveCountMax=2"])
    srv = console("dead.sock")
    c = wait_daemon_conn(srv)
    alice = attach(install, quick, sessions, "dead.sock", "--replay=0")
    bob = attach(install, quick, sessions, "dead.sock", "--replay=0",
                 entity="bob")
    bob.expect(rb"Alice writes since")
    mark = syslog.mark()
    os.kill(alice.p.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        syslog.wait_for(r"detach: console=dead\.sock .* entity=Alice "
                        r"role=writer", mark, timeout=15)
        assert time.monotonic() - t0 < 10
        bob.expect(rb"dead: Alice left; nobody writes now")
        carol = attach(install, quick, sessions, "dead.sock", "--replay=0",
                       entity="carol")
        carol.send(b"c")
        assert collect(c, 1) == b"c"
    finally:
        os.kill(alice.p.pid, signal.SIGCONT)


def test_recordings_rotate_and_are_capped(install, daemon, console, record_dir):
    """Past record_max a recording is closed and a new one begun; past
    record_total the console's oldest recordings are removed."""
    daemon.stop()
    install.write_conf("21-rotate.conf", "[host]\nrecord_max = 4096\n"
                       "record_total = 12000\n")
    try:
        daemon.start()
        srv = console("rot.sock")
        c = wait_daemon_conn(srv)
        for i in range(40):
            c.sendall(b"%04d " % i + b"r" * 990 + b"\r\n")
            time.sleep(0.02)
        time.sleep(0.5)
        files = sorted(f for f in os.listdir(record_dir)
                       if f.startswith("rot.sock-"))
        sizes = [os.path.getsize(os.path.join(record_dir, f)) for f in files]
        # 40 KB of output in files of about 4 KB, at most 12 KB kept
        # (the newest, still growing, is never removed).
        assert len(files) >= 2, files
        assert all(s < 4096 + 2200 for s in sizes), sizes
        assert sum(sizes[:-1]) <= 12000, sizes
        # What is kept is the newest: the last line is in one of the last
        # two files (a rotation may just have begun the last one).
        tail = ""
        for f in files[-2:]:
            with open(os.path.join(record_dir, f)) as fh:
                tail += fh.read()
        assert "0039 " in tail
        out, err, rc = asciinema_cat(os.path.join(record_dir, files[-1]))
        assert rc == 0, err
    finally:
        daemon.stop()
        install.remove_conf("21-rotate.conf")
        daemon.start()
