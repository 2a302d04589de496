# A console session as sercon-proxy-wait holds it, over the real chain (user
# ssh -> proxy sshd -> sercon-proxy-wait -> ssh -> host sshd ->
# sercon-host-shell -> console socket): the in-session commands, byte-exact
# data both ways, what the audit log says when a session ends, a hop the
# host's sshd drops retried. The framed protocol with a sercon host is
# exercised when the host announces it (protocols=1 in its info); the raw
# path is what an ovirt-vmconsole host gets.

import os
import random
import re
import socket
import subprocess
import threading
import time

import pexpect
import pytest

from conftest import FakeConsole, ssh_argv
from test_proxy import Console, chain, close_session, expect_console, err, inventory, out  # noqa: F401


@pytest.fixture
def conf(install):
    """Writes a [proxy] snippet for one test."""
    written = []

    def write(text):
        install.write_conf("70-session.conf", "[proxy]\n" + text)
        written.append(1)

    yield write
    install.remove_conf("70-session.conf")


@pytest.fixture
def echo(chain, install, inventory):
    e = FakeConsole(os.path.join(install.console_dir, "id-echo.sock"),
                    banner=b"ECHO READY\r\n")
    inv = chain.base_inventory()
    inv["consoles"].append({"vm_id": "id-echo", "vm_name": "echo", "host": "127.0.0.1",
                            "console": "id-echo.sock", "users": ["alice", "bob"]})
    inventory(inv)
    yield e
    e.stop()


# ---- the in-session commands --------------------------------------------------

def leave(p, vm):
    """~~. (the user's ssh passes "~." on): the proxy leaves, status 0."""
    p.send(b"\r~~.")
    p.expect_exact(b"[sercon] you left " + vm.encode())
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0


def exit_from_menu(p):
    """~~. back to the menu, then 'exit' there: status 0."""
    p.send(b"\r~~.")
    p.expect(b"console> ")
    p.send(b"exit\r")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0


def test_help_literal_and_leave(chain, syslog):
    m = syslog.mark()
    p = chain.spawn("alice", "web1")
    expect_console(p, "web1")
    # ~~? : the help, printed by the proxy; audited
    p.send(b"\r~~?")
    p.expect_exact(b"sercon commands, at the start of a line:")
    p.expect_exact(b"~~.  leave this console")
    syslog.wait_for(r"session entity=alice vm=web1 .*command=help", since=m)
    # ~~~ : one literal ~ reaches the console (the user's ssh makes "~~"
    # of "~~~", the proxy one "~")
    p.send(b"\r~~~x\r")
    p.expect_exact(b"echo:\r~x\r")
    # ~~. : leaves; no menu was shown, so the session ends, status 0
    leave(p, "web1")
    syslog.wait_for(r"session entity=alice vm=web1 .*command=leave", since=m)
    syslog.wait_for(r"connect entity=alice vm=web1 .*outcome=closed status=0", since=m,
                    timeout=10)


def test_leave_goes_back_to_the_menu(chain):
    p = chain.spawn("alice")
    p.expect(b"console> ")
    p.send(b"web2\r")
    expect_console(p, "web2")
    p.send(b"\r~~.")
    p.expect_exact(b"[sercon] you left web2")
    p.expect(b"Available consoles")
    p.expect(b"console> ")
    p.send(b"1\r")
    expect_console(p, "web1")
    exit_from_menu(p)


def test_banner_says_how_to_leave(chain):
    # the direct connect names the commands too (the menu does, see test_proxy)
    p = chain.spawn("alice", "web1")
    p.expect_exact(b"~~. leaves the console, ~~? lists the commands")
    expect_console(p, "web1")
    close_session(p)


def test_escape_none_and_other_character(chain, conf):
    conf("escape = none\n")
    p = chain.spawn("alice", "web1")
    p.expect_exact(b"<Enter>~. of your ssh disconnects")
    expect_console(p, "web1")
    # nothing is a command: "~." arrives at the console as typed
    p.send(b"\r~~.\r")
    p.expect_exact(b"echo:\r~.\r")
    p.send(b"\r~~?\r")
    p.expect_exact(b"echo:\r~?\r")
    close_session(p)
    conf("escape = ^]\n")
    p = chain.spawn("alice", "web1")
    p.expect_exact(b"^]. leaves the console")
    expect_console(p, "web1")
    p.send(b"\r\x1d.")
    p.expect_exact(b"[sercon] you left web1")
    p.expect(pexpect.EOF)
    p.close()


def test_bad_escape_is_a_configuration_error(chain, conf):
    conf("escape = xy\n")
    p = chain.spawn("alice", "web1")
    p.expect(b"ERROR: the proxy is misconfigured")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 1


# ---- data, byte-exact -------------------------------------------------------------

def roundtrip(chain, user, target, payload, timeout=120):
    """Sends payload through the whole chain to an echo console and returns
    what came back (after the banner), reading and writing at once."""
    argv = ssh_argv(chain.proxy.port, chain.keys[user][0], "-e", "none", tty=True,
                    command=target)
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    got = bytearray()
    deadline = time.monotonic() + timeout
    while b"ECHO READY\r\n" not in got:
        d = os.read(p.stdout.fileno(), 65536)
        assert d and time.monotonic() < deadline, bytes(got)
        got += d
    got = got[got.index(b"ECHO READY\r\n") + 12:]

    def writer():
        for i in range(0, len(payload), 4096):
            p.stdin.write(payload[i:i + 4096])
        p.stdin.flush()

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    while len(got) < len(payload) and time.monotonic() < deadline:
        d = os.read(p.stdout.fileno(), 65536)
        if not d:
            break
        got += d
    t.join(5)
    p.kill()
    p.wait()
    return bytes(got)


def test_every_byte_value_and_10mb(chain, echo, conf):
    # the escape character would (as with ssh) take "\r~." as a command
    conf("escape = none\n")
    every = bytes(range(256)) * 4
    assert roundtrip(chain, "alice", "echo", every) == every
    data = random.Random(11).randbytes(10 * 1024 * 1024)
    back = roundtrip(chain, "alice", "echo", data, timeout=300)
    assert len(back) == len(data)
    assert back == data


# ---- how sessions end, in the audit log ---------------------------------------

def test_session_end_is_not_unreachable(chain, syslog):
    # the user's own <Enter>~. ends the session: closed, not unreachable
    m = syslog.mark()
    p = chain.spawn("alice", "web1")
    expect_console(p, "web1")
    close_session(p)
    line = syslog.wait_for(r"connect entity=alice vm=web1 .*outcome=", since=m, timeout=10)
    assert "outcome=closed status=0" in line, line


def test_unreachable_host_is_unreachable(chain, install, syslog, conf):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]         # nobody listens there
    install.write_conf("60-deadhost.conf", "[proxy]\nhost_port = %d\n" % port)
    try:
        m = syslog.mark()
        p = chain.spawn("alice", "web1")
        p.expect(b"ERROR: could not reach or verify the VM's host")
        p.expect(pexpect.EOF)
        p.close()
        assert p.exitstatus == 255
        syslog.wait_for(r"connect entity=alice vm=web1 .*outcome=unreachable status=255",
                        since=m)
    finally:
        install.remove_conf("60-deadhost.conf")


class Dropper:
    """A TCP front of the host sshd that drops the first `drop` connections
    before the SSH banner, as sshd's MaxStartups does, then forwards."""

    def __init__(self, target_port, drop):
        self.target = target_port
        self.drop = drop
        self.seen = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.seen += 1
            if self.seen <= self.drop:
                c.close()
                continue
            u = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.sock.close()


def test_refused_hop_is_retried(chain, install, host_sshd, syslog, conf):
    # the protocol probe is answered already (or not needed) so that only
    # connects meet the dropper
    conf("host_protocol = raw\n")
    d = Dropper(host_sshd.port, drop=2)
    install.write_conf("60-dropper.conf", "[proxy]\nhost_port = %d\n" % d.port)
    try:
        m = syslog.mark()
        p = chain.spawn("alice", "web1")
        expect_console(p, "web1")
        close_session(p)
        retries = [l for l in syslog.lines(m) if "dropped the connection; retrying" in l]
        assert len(retries) == 2, syslog.lines(m)
        # bounded: with no retries allowed, the same drop reaches the user
        conf("host_protocol = raw\nhop_retries = 0\n")
        d.seen, d.drop = 0, 1
        p = chain.spawn("alice", "web1")
        p.expect(b"ERROR: could not reach or verify the VM's host")
        p.expect(pexpect.EOF)
        p.close()
        assert p.exitstatus == 255
    finally:
        install.remove_conf("60-dropper.conf")
        d.stop()


# A framed host that prints console bytes before its hello, after a line on
# stderr: the proxy goes live on the first console bytes, and what the hop
# said on the way in (ssh's or the host's stderr) reaches the user before
# them, not after.
EARLY_HOST = r"""
import os, sys, time
if os.environ.get("SSH_ORIGINAL_COMMAND", "").split()[-1:] == ["info"]:
    print("protocols=1")
    sys.exit(0)
sys.stderr.write("NOTE FROM THE WAY IN\n")
sys.stderr.flush()
time.sleep(0.5)
out = sys.stdout.buffer
out.write(b"EARLY CONSOLE BYTES\r\n")
out.flush()
time.sleep(0.3)
out.write(b"\xffH\x00\x08sercon 1" + b"LATER BYTES\r\n")
out.flush()
sys.stdin.read()
"""


def test_what_the_hop_said_comes_before_the_first_bytes(chain, install, start_sshd,
                                                        conf, tmp_path):
    script = os.path.join(install.prefix, "test-early-host.py")
    with open(script, "w") as f:
        f.write(EARLY_HOST)
    os.chmod(script, 0o755)
    s = start_sshd(install.datadir + "/host/sshd_config",
                   ["ForceCommand=/usr/bin/python3 " + script])
    conf("host_port = %d\nhost_protocol = sercon\n" % s.port)
    try:
        p = chain.spawn("alice", "web1")
        p.expect_exact(b"NOTE FROM THE WAY IN")
        assert b"EARLY CONSOLE BYTES" not in p.before, p.before
        p.expect_exact(b"EARLY CONSOLE BYTES")
        p.expect_exact(b"LATER BYTES")
        close_session(p)
    finally:
        s.stop()
        os.unlink(script)


# ---- with sercon-consoled on the host: the commands that need a sercon host --------

from test_vm import vm_daemon as consoled  # noqa: E402,F401  sercon-consoled


def test_takeover_and_replay_through_the_proxy(chain, consoled, echo, syslog):
    m = syslog.mark()
    alice = chain.spawn("alice", "echo")
    alice.expect(b"ECHO READY")
    syslog.wait_for(r"connect entity=alice vm=echo .*proto=1 mode=rw replay=default: dialing", since=m)
    alice.send(b"first\r")
    alice.expect(b"first")
    bob = chain.spawn("bob", "echo")
    bob.expect_exact(b"you are watching read-only")
    # ~~W: bob takes over; both are told by the host
    bob.send(b"\r~~W")
    bob.expect_exact(b"you write now (took over from Alice)")
    alice.expect_exact(b"Bob took over; you are watching read-only")
    syslog.wait_for(r"session entity=bob vm=echo .*command=takeover", since=m)
    bob.send(b"second\r")
    bob.expect(b"second")
    # ~~R: the recent output again, "first" included
    alice.send(b"\r~~R")
    alice.expect(b"first")
    syslog.wait_for(r"session entity=alice vm=echo .*command=replay", since=m)
    # ~~B on a console with no way to send a BREAK: said, never silent
    bob.send(b"\r~~B")
    bob.expect_exact(b"[sercon] ")
    bob.expect(rb"BREAK|break")
    leave(alice, "echo")
    leave(bob, "echo")


def test_host_notices_are_escaped(chain, consoled, echo, inventory):
    # An entity name may hold C1 controls and bidi overrides (valid UTF-8):
    # the host names the writer in its notices; the proxy shows them escaped.
    inv = chain.base_inventory()
    inv["users"][0]["name"] = "Ali\u009b2Jce\u202e"
    inv["consoles"].append({"vm_id": "id-echo", "vm_name": "echo", "host": "127.0.0.1",
                            "console": "id-echo.sock", "users": ["alice", "bob"]})
    inventory(inv)
    alice = chain.spawn("alice", "echo")
    alice.expect(b"ECHO READY")
    bob = chain.spawn("bob", "echo")
    bob.expect_exact(b"you are watching read-only")
    line = bob.before + bob.after
    bob.send(b"\r~~W")
    bob.expect(rb"took over from [^\r\n]*\r\n")
    line += bob.after
    assert b"\xc2\x9b" not in line and b"\xe2\x80\xae" not in line, line
    assert b"x9b2Jce" in line, line
    leave(alice, "echo")
    leave(bob, "echo")


@pytest.mark.vm
def test_sysrq_into_a_real_guest(chain, consoled, install, inventory, syslog):
    """~~Sh typed in the user's ssh: the proxy sends SP_SYSRQ, the daemon a
    serial break (QMP) and 'h', and the guest kernel prints its SysRq help."""
    import vm_util
    if not vm_util.have_qemu():
        pytest.skip("qemu-system-x86_64 is not installed")
    vm_util.build_image()
    vmid = "5e7c0c1e-0000-4000-8000-0000000000b1"
    inv = chain.base_inventory()
    inv["consoles"].append({"vm_id": vmid, "vm_name": "guest", "host": "127.0.0.1",
                            "console": vmid + ".sock", "users": ["alice"]})
    inventory(inv)
    m = syslog.mark()
    vm = vm_util.VM(os.path.join(install.console_dir, vmid + ".sock"))
    try:
        syslog.wait_for(r"console %s\.sock: connected" % vmid, m, timeout=30)
        p = chain.spawn("alice", "guest")
        p.timeout = 60
        vm_util.console_login(p)
        p.send(b"\r~~Sh")
        p.expect_exact(b"[sercon] SysRq h sent to")
        p.expect(rb"sysrq: HELP", timeout=60)
        p.send(b"\r~~B")
        p.expect_exact(b"[sercon] BREAK sent to")
        syslog.wait_for(r"session entity=alice vm=guest .*command=sysrq", since=m)
        leave(p, "guest")
    finally:
        vm.kill()


# ---- connect --read-only / --takeover / --replay, passed to the host -----------

def ends_with_error(p, message, status=2):
    p.expect_exact(b"ERROR: " + message)
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == status, (p.exitstatus, p.before)


def test_read_only_takeover_replay_from_the_command_line(chain, consoled, echo,
                                                         syslog):
    m = syslog.mark()
    # --read-only with nobody writing: a watcher on purpose; no replay
    bob = chain.spawn("bob", "connect --vm-name=echo --read-only --replay=0")
    bob.expect_exact(b"nobody writes; you are watching read-only")
    seen = bob.before + bob.after
    syslog.wait_for(r"connect entity=bob vm=echo .*proto=1 mode=ro replay=0: dialing", since=m)
    bob.send(b"bobkeys\r")
    bob.expect_exact(b"your input goes nowhere")
    seen += bob.before + bob.after
    # the default replay shows what the console printed before
    alice = chain.spawn("alice", "connect echo")
    alice.expect(b"ECHO READY")
    alice.send(b"first\r")
    alice.expect(b"first")
    bob.expect(b"first")
    seen += bob.before
    assert b"ECHO READY" not in seen, seen
    assert b"bobkeys" not in echo.received, echo.received
    # --takeover: the writer there is demoted and told so
    bob2 = chain.spawn("bob", ["--", "--takeover --replay=all echo"])
    bob2.expect_exact(b"you write now (took over from Alice)")
    bob2.expect(b"ECHO READY")  # --replay=all: the whole ring
    alice.expect_exact(b"Bob took over; you are watching read-only")
    bob2.send(b"second\r")
    bob2.expect(b"second")
    alice.send(b"alicekeys\r")
    alice.expect_exact(b"your input goes nowhere")
    bob2.send(b"third\r")
    bob2.expect(b"third")
    assert b"second" in echo.received and b"alicekeys" not in echo.received
    for p in (alice, bob, bob2):
        leave(p, "echo")


def test_options_apply_to_the_menu_choice(chain, consoled, echo):
    p = chain.spawn("alice", "connect --watch --replay=0")
    p.expect(b"console> ")
    p.send(b"echo\r")
    p.expect_exact(b"nobody writes; you are watching read-only")
    # back to the menu: the options hold for the next choice too
    p.send(b"\r~~.")
    p.expect_exact(b"[sercon] you left echo")
    p.expect(b"console> ")
    p.send(b"echo\r")
    p.expect_exact(b"nobody writes; you are watching read-only")
    seen = p.before + p.after
    p.send(b"keys\r")
    p.expect_exact(b"your input goes nowhere")
    seen += p.before
    assert b"ECHO READY" not in seen, seen
    exit_from_menu(p)


@pytest.mark.parametrize("command,message", [
    ("connect echo --read-only --takeover",
     b"--read-only and --takeover exclude each other"),
    ("connect --replay=many echo", b"--replay takes a number of lines"),
    (["--", "--replay=-1"], b"--replay takes a number of lines"),
    ("connect --replay=100001 echo",
     b"--replay takes a number of lines (0 to 100000) or 'all', not '100001'"),
    ("connect --takeover=yes", b"unknown option '--takeover=yes'"),
])
def test_bad_mode_or_replay_is_a_usage_error(chain, echo, command, message):
    ends_with_error(chain.spawn("alice", command), message)


@pytest.mark.parametrize("opt", ["--read-only", "--takeover", "--replay=5"])
def test_raw_host_cannot_honour_the_options(chain, echo, conf, syslog, opt):
    # an ovirt-vmconsole host would make a watcher a writer, silently
    conf("host_protocol = raw\n")
    m = syslog.mark()
    p = chain.spawn("alice", "connect --vm-name=echo " + opt)
    ends_with_error(p, b"127.0.0.1 does not support %s (not a sercon host)"
                    % opt.split("=")[0].encode())
    syslog.wait_for(r"connect entity=alice vm=echo .*outcome=unsupported "
                    r"status=2", since=m)
    # --replay=0 asks for nothing a raw host does not do
    p = chain.spawn("alice", "connect --vm-name=echo --replay=0")
    p.expect(b"ECHO READY")
    leave(p, "echo")
