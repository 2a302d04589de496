# Integration tests of the host side: the real host sshd (installed
# sshd_config), the real ssh client logging in with the proxy's user
# certificate, sercon-host-shell as the ForceCommand, and a real unix socket
# server standing in for qemu's serial console.

import hashlib
import os
import pwd
import re
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import pexpect
import pytest

from conftest import SANITIZE, TOOLS, free_port, ssh_argv

USER = "sercon"


@pytest.fixture
def console(install, fake_console):
    """A fake console NAME in the console directory (conftest.FakeConsole)."""
    def make(name, mode="echo", data=None):
        return fake_console(os.path.join(install.console_dir, name), mode=mode,
                            data=data)
    return make


@pytest.fixture(scope="module", autouse=True)
def _privsep_dir():
    """sshd (even sshd -t) wants its privilege separation directory, which
    a machine without a system sshd running may lack."""
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


@pytest.fixture(scope="module")
def host(install, pki, host_sshd, syslog):
    return host_sshd


def proxy_key(install):
    return install.pki + "/proxy-ssh_user_key"


def host_argv(install, host, command, *extra, tty=False, key=None):
    # "--": ssh would take a leading "--entity..." word for its own option.
    return ssh_argv(host.port, key or proxy_key(install), *extra, tty=tty,
                    command=["--", command])


def run_host(install, host, command, *extra, input=b"", timeout=60, **kw):
    return subprocess.run(host_argv(install, host, command, *extra, **kw),
                          input=input, capture_output=True, timeout=timeout)


# --- the daemon's configuration --------------------------------------------

def test_sshd_config_passes_sshd_t(install, pki):
    cfg = install.datadir + "/host/sshd_config"
    r = subprocess.run([TOOLS["sshd"], "-t", "-f", cfg],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([TOOLS["sshd"], "-T", "-f", cfg, "-C",
                        "user=sercon,host=localhost,addr=127.0.0.1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    eff = dict(l.split(" ", 1) for l in r.stdout.splitlines() if " " in l)
    assert eff["forcecommand"] == install.libexec + "/sercon-host-shell"
    assert eff["disableforwarding"] == "yes"
    assert eff["authorizedkeysfile"] == "none"
    assert eff["trustedusercakeys"] == install.pki + "/ca.pub"
    assert eff["passwordauthentication"] == "no"
    assert eff["permittunnel"] == "no"
    assert eff["allowusers"] == USER
    assert "subsystem" not in eff
    with open(install.datadir + "/host/authorized_principals") as f:
        assert f.read().split() == ["sercon-proxy"]


def test_sshd_config_includes_admin_snippets_first(install):
    with open(install.datadir + "/host/sshd_config") as f:
        lines = [l for l in f.read().splitlines()
                 if l.strip() and not l.startswith("#")]
    # MaxStartups alone comes first: sshd keeps its last value, not its first
    assert lines[0].startswith("MaxStartups ")
    assert lines[1] == "Include %s/host-sshd.d/*.conf" % install.etc
    assert not any(l.startswith("Port") for l in lines)


# --- relaying ----------------------------------------------------------------

def test_relay_through_pipes(install, host, console, syslog):
    console("pipe.sock")
    mark = syslog.mark()
    data = bytes(range(256)) * 40 + b"end\n"
    r = run_host(install, host,
                 "--entity-id=alice --entity=Alice connect --console=pipe.sock",
                 input=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data
    assert r.stderr == b""
    syslog.wait_for(r"sercon-host-shell\[\d+\]: console open: console=pipe\.sock "
                    r"entityid=alice entity=Alice peer=127\.0\.0\.1:\d+", mark)
    syslog.wait_for(r"console close: console=pipe\.sock entityid=alice "
                    r"entity=Alice peer=127\.0\.0\.1:\d+ to_console=%d "
                    r"from_console=%d duration=[0-9.]+s status=0 "
                    r"reason=user-closed" % (len(data), len(data)), mark)


def test_relay_in_a_pty_raw(install, host, console):
    srv = console("tty.sock")
    argv = host_argv(install, host, "connect --console=tty.sock", tty=True)
    child = pexpect.spawn(argv[0], argv[1:], timeout=10)
    try:
        srv.wait_conn()
        # Raw mode on the host's pty: no local echo, no ^C signal, no
        # CR/NL translation; what comes back is the console's echo only.
        payload = b"abc\x03\x1a\r\x7fxyz"
        child.send(payload)
        got = b""
        deadline = time.monotonic() + 10
        while len(got) < len(payload) and time.monotonic() < deadline:
            try:
                got += child.read_nonblocking(4096, timeout=1)
            except pexpect.TIMEOUT:
                pass
        assert got == payload
        with pytest.raises(pexpect.TIMEOUT):
            child.read_nonblocking(4096, timeout=0.5)
        # The console goes away under the live session: status 5.
        srv.conns[0].shutdown(socket.SHUT_RDWR)
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 5


def test_ovirt_style_arguments(install, host, console, syslog):
    console("6f1c-ovirt.sock")
    mark = syslog.mark()
    r = run_host(install, host,
                 '--entityid="a1b2-c3" --entity="admin@internal" '
                 'connect --console="6f1c-ovirt.sock"', input=b"ovirt\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"ovirt\n"
    syslog.wait_for(r"console open: console=6f1c-ovirt\.sock entityid=a1b2-c3 "
                    r"entity=admin@internal", mark)
    # argparse's "--option value" form, which ovirt's parser accepts too.
    r = run_host(install, host,
                 "--entityid a1b2-c3 connect --console 6f1c-ovirt.sock",
                 input=b"x")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"x"


def test_debug_and_sercon_style(install, host, console, syslog):
    console("dbg.sock")
    mark = syslog.mark()
    r = run_host(install, host,
                 "--debug --entity-id=bob connect --console=dbg.sock",
                 input=b"q")
    assert r.returncode == 0, r.stderr
    syslog.wait_for(r"console open: console=dbg\.sock entityid=bob entity=- ",
                    mark)


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a;b", "", "x" * 300,
                                  "-x", "a b", "."])
def test_bad_console_names(install, host, syslog, name):
    mark = syslog.mark()
    r = run_host(install, host, "connect --console='%s'" % name)
    assert r.returncode == 3, r.stderr
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), lines
    syslog.wait_for(r"sercon-host-shell\[\d+\]: .*(invalid console name|"
                    r"not available|too long)", mark)


def test_missing_socket(install, host):
    r = run_host(install, host, "connect --console=nosuch.sock")
    assert r.returncode == 3
    assert r.stderr.decode() == ("ERROR: console nosuch.sock is not available: "
                                 "No such file or directory\n")


def test_socket_nobody_listens(install, host):
    path = os.path.join(install.console_dir, "dead.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if os.path.lexists(path):
            os.unlink(path)
        s.bind(path)
        os.chmod(path, 0o777)
        r = run_host(install, host, "connect --console=dead.sock")
    finally:
        s.close()
        os.unlink(path)
    assert r.returncode == 3
    assert b"ERROR: console dead.sock is not available: Connection refused" in r.stderr


def test_not_a_socket(install, host):
    path = os.path.join(install.console_dir, "file.sock")
    with open(path, "w") as f:
        f.write("x")
    try:
        r = run_host(install, host, "connect --console=file.sock")
    finally:
        os.unlink(path)
    assert r.returncode == 3
    assert b"not a socket" in r.stderr


def test_busy_console(install, host, console, syslog):
    srv = console("busy.sock")
    mark = syslog.mark()
    # Percent-encoded, as the sercon proxy sends it.
    first = subprocess.Popen(
        host_argv(install, host,
                  "--entity-id=alice --entity=Alice%20Liddell "
                  "connect --console=busy.sock"),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        srv.wait_conn()
        syslog.wait_for(r"console open: console=busy\.sock entityid=alice "
                        r"entity=Alice%20Liddell peer=", mark)
        # The second session: refused at once, the holder named.
        t0 = time.monotonic()
        r = run_host(install, host,
                     "--entity-id=bob connect --console=busy.sock", timeout=10)
        elapsed = time.monotonic() - t0
        assert r.returncode == 4, r.stderr
        assert re.fullmatch(rb"ERROR: console busy\.sock is in use by Alice "
                            rb"Liddell since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n",
                            r.stderr), r.stderr
        assert elapsed < 1.0 + ssh_overhead(install, host)
        assert len(srv.conns) == 1
        # The first session is unharmed.
        first.stdin.write(b"still here\n")
        first.stdin.flush()
        assert read_exact(first.stdout, 11) == b"still here\n"
        first.stdin.close()
        assert first.wait(10) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    # Once it closed, the console is free again.
    r = run_host(install, host, "connect --console=busy.sock", input=b"again")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"again"


_overhead = []


def ssh_overhead(install, host):
    """Seconds one ssh login with a trivial command takes here (the busy
    check must add under a second to it)."""
    if not _overhead:
        t0 = time.monotonic()
        run_host(install, host, "help")
        _overhead.append(time.monotonic() - t0)
    return _overhead[0]


def read_exact(f, n, timeout=10):
    got = b""
    fd = f.fileno()
    deadline = time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, "read %r, wanted %d bytes" % (got, n)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            d = os.read(fd, n - len(got))
            assert d, "EOF after %r" % got
            got += d
    return got


def read_to_eof(f, timeout=10):
    got = b""
    fd = f.fileno()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no EOF after %r" % got
        r, _, _ = select.select([fd], [], [], left)
        if r:
            d = os.read(fd, 65536)
            if not d:
                return got
            got += d


def test_stale_lock_does_not_block(install, host, console):
    console("stale.sock")
    lock = os.path.join(install.lock_dir, "stale.sock.lock")
    with open(lock, "w") as f:
        f.write("pid=999999\nsince=1\nentityid=ghost\nentity=ghost\n")
    ent = pwd.getpwnam(USER)
    os.chown(lock, ent.pw_uid, ent.pw_gid)
    r = run_host(install, host, "connect --console=stale.sock", input=b"ok")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"ok"


def test_console_side_closes(install, host, console, syslog):
    srv = console("closing.sock", mode="manual")
    mark = syslog.mark()
    p = subprocess.Popen(host_argv(install, host, "connect --console=closing.sock"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        c = srv.wait_conn()
        c.sendall(b"guest halted\r\n")
        c.close()
        # Our input stays open (communicate() would close it first).
        out = read_to_eof(p.stdout)
        assert p.wait(10) == 5, p.stderr.read()
    finally:
        p.stdin.close()
        if p.poll() is None:
            p.kill()
            p.wait()
    assert out == b"guest halted\r\n"
    syslog.wait_for(r"console close: console=closing\.sock .* from_console=14 "
                    r".* status=5 reason=console-closed", mark)


# --- what the daemon refuses -------------------------------------------------

def test_plain_key_refused(install, host, user_key):
    key, _ = user_key("plain-host")
    r = run_host(install, host, "help", key=key)
    assert r.returncode == 255
    assert b"Permission denied" in r.stderr


def copy_key(src, tmpdir):
    dst = os.path.join(tmpdir, os.path.basename(src))
    shutil.copy(src, dst)
    shutil.copy(src + ".pub", dst + ".pub")
    os.chmod(dst, 0o600)
    return dst


@pytest.mark.parametrize("what", ["other-principal", "expired", "other-ca",
                                  "host-cert"])
def test_bad_certificates_refused(install, pki, host, user_key, tmp_path, what):
    key, _ = user_key("cert-" + what)
    key = copy_key(key, str(tmp_path))
    if what == "other-principal":
        pki.sign(key + ".pub", ["someone-else"])
    elif what == "expired":
        pki.sign(key + ".pub", ["sercon-proxy"], validity="-2d:-1d")
    elif what == "other-ca":
        pki.sign(key + ".pub", ["sercon-proxy"], ca=pki.new_ca("rogue-ca"))
    else:
        pki.sign(key + ".pub", ["sercon-proxy"], host=True)
    assert os.path.exists(key + "-cert.pub")
    r = run_host(install, host, "help", key=key)
    assert r.returncode == 255, r.stdout
    assert b"Permission denied" in r.stderr


def test_good_certificate_accepted(install, pki, host, user_key, tmp_path):
    # The control for the test above: the same steps, the right principal.
    key, _ = user_key("cert-good")
    key = copy_key(key, str(tmp_path))
    pki.sign(key + ".pub", ["sercon-proxy"])
    r = run_host(install, host, "help", key=key)
    assert r.returncode == 0, r.stderr
    assert b"usage: sercon-host-shell" in r.stdout


@pytest.mark.parametrize("command", ["id", "sh -c id", "/bin/sh",
                                     "connect --console=x; id",
                                     "info --console=x"])
def test_other_commands_are_usage_errors(install, host, command):
    r = run_host(install, host, command)
    assert r.returncode == 2, r.stderr
    assert r.stdout == b""
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), lines


def test_no_command_is_usage_error(install, host):
    r = subprocess.run(ssh_argv(host.port, proxy_key(install)),
                       input=b"", capture_output=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr.startswith(b"ERROR: no command given")


def test_usage_error_wins_over_broken_configuration(install, syslog):
    """The arguments are parsed before the configuration is read: a usage
    error is reported as one (status 2) even when the configuration is
    broken too; a valid command then fails on the configuration (1)."""
    shell = os.path.join(install.libexec, "sercon-host-shell")
    install.write_conf("99-broken.conf", "[nosuch]\nkey = 1\n")
    try:
        r = subprocess.run([shell], env={"SSH_ORIGINAL_COMMAND": "frobnicate"},
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, r.stderr
        assert r.stderr == "ERROR: unknown command 'frobnicate' (try: help)\n"
        r = subprocess.run([shell], env={"SSH_ORIGINAL_COMMAND": "help"},
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1, r.stderr
        assert r.stderr.startswith("ERROR: configuration: ")
        assert "99-broken.conf:2: unknown key" in r.stderr
    finally:
        install.remove_conf("99-broken.conf")


class TcpTarget:
    """A TCP listener that records whether anyone ever reached it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]

    def reached(self):
        try:
            c, _ = self.sock.accept()
            c.close()
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def session_with(install, host, console, extra, name):
    """An ssh session holding a console open, with extra client options."""
    console(name)
    p = subprocess.Popen(host_argv(install, host, "connect --console=" + name,
                                   *extra),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdin.write(b"up\n")
    p.stdin.flush()
    assert read_exact(p.stdout, 3) == b"up\n"
    return p


def end_session(p):
    p.stdin.close()
    try:
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_local_forward_refused(install, host, console):
    target = TcpTarget()
    lport = free_port()
    p = session_with(install, host, console,
                     ["-L", "%d:127.0.0.1:%d" % (lport, target.port)], "fwd-l.sock")
    try:
        with socket.create_connection(("127.0.0.1", lport), timeout=5) as c:
            c.settimeout(5)
            c.sendall(b"hello")
            try:
                assert c.recv(100) == b""
            except ConnectionResetError:
                pass
        assert not target.reached()
    finally:
        end_session(p)
        target.close()


def test_dynamic_forward_refused(install, host, console):
    target = TcpTarget()
    lport = free_port()
    p = session_with(install, host, console, ["-D", "127.0.0.1:%d" % lport],
                     "fwd-d.sock")
    try:
        with socket.create_connection(("127.0.0.1", lport), timeout=5) as c:
            c.settimeout(5)
            c.sendall(b"\x05\x01\x00")
            assert c.recv(2) == b"\x05\x00"
            c.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
                      struct.pack(">H", target.port))
            reply = c.recv(100)
            # Refused: the channel open fails and ssh drops the client.
            assert reply == b"" or reply[1] != 0
        assert not target.reached()
    finally:
        end_session(p)
        target.close()


def test_remote_forward_refused(install, host):
    r = run_host(install, host, "help", "-o", "ExitOnForwardFailure=yes",
                 "-R", "127.0.0.1:%d:127.0.0.1:22" % free_port())
    assert r.returncode == 255
    assert b"forwarding failed" in r.stderr


def agent_identities(path):
    """How many keys the ssh-agent at path offers (one
    SSH2_AGENTC_REQUEST_IDENTITIES), or None when no agent answers there."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(path)
            s.sendall(struct.pack(">IB", 1, 11))
            answer = b""
            while len(answer) < 9:
                d = s.recv(9 - len(answer))
                if not d:
                    return None
                answer += d
    except OSError:
        return None
    if answer[4] != 12:                 # SSH2_AGENT_IDENTITIES_ANSWER
        return None
    return struct.unpack(">I", answer[5:9])[0]


def session_environ(install, console_name, timeout=10):
    """The environment sshd gave the sercon-host-shell serving the console
    (found through /proc: it runs as the sercon user)."""
    want = ("SSH_ORIGINAL_COMMAND=connect --console=%s" % console_name).encode()
    shell = os.path.join(install.libexec, "sercon-host-shell")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink("/proc/%s/exe" % pid) != shell:
                    continue
                with open("/proc/%s/environ" % pid, "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if want in env:
                return dict(e.decode(errors="replace").split("=", 1)
                            for e in env if b"=" in e)
        time.sleep(0.1)
    raise AssertionError("no sercon-host-shell serving %s" % console_name)


def test_agent_forward_refused(install, host, console, tmp_path):
    """ssh -A: the session gets no agent. An agent holding a key is
    offered; the session's environment must name no agent socket, and none
    sshd could have made for it answers."""
    sock = str(tmp_path / "agent")
    agent = subprocess.run(["ssh-agent", "-s", "-a", sock],
                           capture_output=True, text=True, check=True)
    pid = re.search(r"SSH_AGENT_PID=(\d+)", agent.stdout).group(1)
    env = dict(os.environ, SSH_AUTH_SOCK=sock)
    key = str(tmp_path / "id_agent")
    subprocess.run([TOOLS["ssh_keygen"], "-q", "-t", "ed25519", "-N", "",
                    "-f", key], check=True)
    subprocess.run(["ssh-add", "-q", key], env=env, check=True,
                   capture_output=True)
    assert agent_identities(sock) == 1      # the probe sees a real agent
    console("fwd-a.sock")
    p = subprocess.Popen(host_argv(install, host, "connect --console=fwd-a.sock",
                                   "-A", "-o", "ForwardX11=yes"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        p.stdin.write(b"up\n")
        p.stdin.flush()
        assert read_exact(p.stdout, 3) == b"up\n"
        senv = session_environ(install, "fwd-a.sock")
        forwarded = senv.get("SSH_AUTH_SOCK")
        if forwarded is not None:
            assert agent_identities(forwarded) is None, \
                "the session can use the forwarded agent at " + forwarded
        assert forwarded is None, "sshd forwarded the agent: " + forwarded
        assert "DISPLAY" not in senv, "sshd forwarded X11: " + senv["DISPLAY"]
    finally:
        end_session(p)
        subprocess.run(["kill", pid])


def test_sftp_refused(install, host, tmp_path):
    batch = tmp_path / "batch"
    batch.write_text("ls /\n")
    r = subprocess.run(["sftp", "-F", "/dev/null", "-P", str(host.port),
                        "-i", proxy_key(install), "-o", "IdentitiesOnly=yes",
                        "-o", "BatchMode=yes",
                        "-o", "UserKnownHostsFile=%s/known_hosts" % install.pki,
                        "-o", "GlobalKnownHostsFile=/dev/null",
                        "-o", "StrictHostKeyChecking=yes",
                        "-b", str(batch), USER + "@127.0.0.1"],
                       capture_output=True, timeout=30)
    assert r.returncode != 0
    assert b"subsystem request failed" in r.stderr or b"Connection closed" in r.stderr


# --- info, help --------------------------------------------------------------

def test_info(install, pki, host):
    r = run_host(install, host, "info")
    assert r.returncode == 0, r.stderr
    with open(install.pki + "/ca.pub") as f:
        ca = f.read().strip()
    with open(install.pki + "/host-ssh_host_key-cert.pub") as f:
        cert = f.read().strip()
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 5
    assert lines[0] == "package=sercon-host-shell"
    assert re.fullmatch(r"version=\d+\.\d+\.\d+\S*", lines[1])
    # what a sercon proxy reads before it asks for --proto=1
    assert lines[2] == "protocols=1"
    assert lines[3:] == ["ssh-ca-key=" + ca, "ssh-host-cert=" + cert]


def test_help(install, host):
    r = run_host(install, host, "help")
    assert r.returncode == 0
    assert r.stdout.startswith(b"usage: sercon-host-shell")
    assert b"connect --console=NAME" in r.stdout


# --- volume ------------------------------------------------------------------

@pytest.fixture(scope="module")
def big_file():
    d = tempfile.mkdtemp(prefix="sercon-host-big-")
    path = os.path.join(d, "data")
    h = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(100):
            chunk = hashlib.sha256(b"%d" % i).digest() + block[32:]
            f.write(chunk)
            h.update(chunk)
    yield path, h.hexdigest(), 100 << 20
    shutil.rmtree(d)


def test_100mb_to_console(install, host, console, big_file):
    path, digest, size = big_file
    console("sink.sock", mode="sink")
    with open(path, "rb") as f:
        r = subprocess.run(host_argv(install, host, "connect --console=sink.sock"),
                           stdin=f, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "%s %d\n" % (digest, size)


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for %d" % (field, pid))


def test_100mb_from_console(install, host, console, big_file, syslog):
    path, digest, size = big_file
    console("source.sock", mode="source", data=path)
    mark = syslog.mark()
    p = subprocess.Popen(host_argv(install, host, "connect --console=source.sock"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    h = hashlib.sha256()
    n = 0
    try:
        line = syslog.wait_for(r"sercon-host-shell\[(\d+)\]: console open: "
                               r"console=source\.sock", mark)
        pid = int(re.search(r"\[(\d+)\]", line).group(1))
        # Nobody reads for a while: the relay must hold back, not buffer.
        time.sleep(2)
        rss = vm_kib(pid, "VmRSS")
        # The sanitizers' runtime alone takes megabytes; 100 MB buffered
        # would show either way.
        bound = 65536 if SANITIZE else 4096
        assert rss < bound, "host shell grew to %d KiB" % rss
        while True:
            d = p.stdout.read(1 << 20)
            if not d:
                break
            h.update(d)
            n += len(d)
        # The user's input stayed open: the console closed first.
        assert p.wait(30) == 5, p.stderr.read()
    finally:
        p.stdin.close()
        if p.poll() is None:
            p.kill()
            p.wait()
    assert n == size
    assert h.hexdigest() == digest


# --- the user's terminal ---------------------------------------------------

@pytest.mark.parametrize("ending", ["console-closes", "sigterm", "sighup"])
def test_terminal_mode_restored(install, console, syslog, ending):
    """sercon-host-shell run directly on a pty: raw during the session, the
    original mode back afterwards whichever way it ends, and the closing
    audit line written."""
    srv = console("restore.sock", mode="manual")
    mark = syslog.mark()
    script = ('stty -g; %s/sercon-host-shell; echo "rc=$?"; stty -g'
              % install.libexec)
    env = {"PATH": "/usr/bin:/bin",
           "SSH_ORIGINAL_COMMAND": "--entity-id=tty connect --console=restore.sock"}
    child = pexpect.spawn("/bin/sh", ["-c", script], env=env, timeout=10)
    try:
        before = child.readline().strip()
        c = srv.wait_conn()
        line = syslog.wait_for(r"sercon-host-shell\[(\d+)\]: console open: "
                               r"console=restore\.sock", mark)
        pid = int(re.search(r"sercon-host-shell\[(\d+)\]", line).group(1))
        # Raw now: the pty echoes nothing and passes ^C through as a byte.
        child.send(b"k\x03")
        got = b""
        while len(got) < 2:
            got += c.recv(10)
        assert got == b"k\x03"
        if ending == "console-closes":
            c.shutdown(socket.SHUT_RDWR)
            rc = 5
        else:
            os.kill(pid, 15 if ending == "sigterm" else 1)
            rc = 0
        child.expect(rb"rc=(\d+)\r?\n")
        assert int(child.match.group(1)) == rc
        after = child.readline().strip()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert before and after == before
    reason = {"console-closes": "console-closed"}.get(ending, "signal")
    syslog.wait_for(r"console close: console=restore\.sock entityid=tty .* "
                    r"to_console=2 .*status=%d reason=%s" % (rc, reason), mark)


def test_admin_snippet_wins(install, pki):
    d = install.etc + "/host-sshd.d"
    os.makedirs(d, exist_ok=True)
    snippet = os.path.join(d, "50-test.conf")
    with open(snippet, "w") as f:
        f.write("MaxAuthTries 6\nClientAliveInterval 33\nMaxStartups 50:30:200\n")
    try:
        r = subprocess.run([TOOLS["sshd"], "-T", "-f",
                            install.datadir + "/host/sshd_config"],
                           capture_output=True, text=True)
    finally:
        os.unlink(snippet)
    assert r.returncode == 0, r.stderr
    eff = dict(l.split(" ", 1) for l in r.stdout.splitlines() if " " in l)
    assert eff["maxauthtries"] == "6"
    assert eff["clientaliveinterval"] == "33"
    # sshd keeps the last MaxStartups: the shipped one stands before the
    # Include so that a snippet can still raise it
    assert eff["maxstartups"] == "50:30:200"


@pytest.mark.parametrize("tty", [True, False])
def test_killed_client_frees_console(install, host, console, syslog, tty):
    """The proxy's ssh dies (network gone, kill -9): sshd hangs up the
    session, host-shell ends and logs, the console is free again."""
    name = "killed-%s.sock" % ("tty" if tty else "pipe")
    srv = console(name)
    mark = syslog.mark()
    p = subprocess.Popen(host_argv(install, host, "connect --console=" + name,
                                   tty=tty),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    srv.wait_conn()
    syslog.wait_for(r"console open: console=%s" % re.escape(name), mark)
    p.kill()
    p.wait()
    syslog.wait_for(r"console close: console=%s .* status=0 "
                    r"reason=(user-closed|signal)" % re.escape(name), mark,
                    timeout=10)
    r = run_host(install, host, "connect --console=" + name, input=b"free")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"free"


def test_sshd_runs_as_the_sercon_user(install, pki, console, tmp_path):
    """The way sercon-host-sshd.service runs it: sshd -D -f sshd_config as
    the sercon account (which can then only log in as itself)."""
    ent = pwd.getpwnam(USER)
    # pytest's tmp_path is root's alone; the keys go where sercon can reach.
    top = tempfile.mkdtemp(prefix="host-keys-", dir=install.prefix)
    os.chmod(top, 0o755)
    keydir = os.path.join(top, "keys")
    os.mkdir(keydir)
    for f in ("host-ssh_host_key", "host-ssh_host_key-cert.pub"):
        shutil.copy(os.path.join(install.pki, f), os.path.join(keydir, f))
        os.chown(os.path.join(keydir, f), ent.pw_uid, ent.pw_gid)
    os.chown(keydir, ent.pw_uid, ent.pw_gid)
    port = free_port()
    err = open(str(tmp_path / "sshd.log"), "w")
    d = subprocess.Popen(
        ["runuser", "-u", USER, "--", TOOLS["sshd"], "-D", "-e",
         "-f", install.datadir + "/host/sshd_config",
         "-o", "Port=%d" % port, "-o", "ListenAddress=127.0.0.1",
         "-o", "PidFile=none",
         "-o", "HostKey=%s/host-ssh_host_key" % keydir,
         "-o", "HostCertificate=%s/host-ssh_host_key-cert.pub" % keydir],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert d.poll() is None, open(str(tmp_path / "sshd.log")).read()
            assert time.monotonic() < deadline, "sshd did not listen"
            time.sleep(0.05)
        console("as-user.sock")
        r = subprocess.run(ssh_argv(port, proxy_key(install),
                                    command=["--", "connect --console=as-user.sock"]),
                           input=b"as sercon", capture_output=True, timeout=30)
        assert r.returncode == 0, (r.stderr, open(str(tmp_path / "sshd.log")).read())
        assert r.stdout == b"as sercon"
    finally:
        d.terminate()
        d.wait(10)
        err.close()
        shutil.rmtree(top)
