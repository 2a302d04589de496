# Interoperability with ovirt-vmconsole, both ways, over real sshd and ssh:
#  - a sercon proxy reaching an ovirt-vmconsole host: tests/ovirt_host_shell.py
#    parses the host command line as ovirt-vmconsole-host-shell does (argparse:
#    --entityid, --entity, connect --console), so a word it does not know is
#    refused exactly as the real one refuses it;
#  - an ovirt-vmconsole proxy reaching a sercon host: its command line as
#    ovirt-vmconsole-proxy-shell builds it (console_attach in its
#    ovirt-vmconsole-proxy.conf), its principal ovirt-vmconsole-proxy signed
#    by another CA, accepted with sercon-setup host --accept-*;
#  - sercon to sercon is test_proxy.py (raw) and test_session.py (framed).

import json
import os
import shutil
import subprocess

import pexpect
import pytest

from conftest import REPO, USER, run
from test_proxy import Console, chain, close_session, expect_console, out, err  # noqa: F401

STANDIN = os.path.join(REPO, "tests", "ovirt_host_shell.py")


@pytest.fixture
def ovirt_host(install, chain, start_sshd):
    """An 'ovirt-vmconsole host': the host sshd with the stand-in as its
    ForceCommand, its own console directory, and the proxy dialling it."""
    d = os.path.join(install.prefix, "test-ovirt-host")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d + "/console", mode=0o755)
    shell = os.path.join(d, "ovirt_host_shell.py")
    shutil.copy(STANDIN, shell)
    os.chmod(shell, 0o755)
    log = os.path.join(d, "calls.log")
    open(log, "w").close()
    os.chmod(log, 0o666)
    cons = Console(d + "/console", "id-web1.sock", b"OVIRT CONSOLE READY\r\n")
    # sshd keeps the first value it reads: -o wins over the file
    s = start_sshd(install.datadir + "/host/sshd_config",
                   ["ForceCommand=/usr/bin/python3 %s %s %s" % (shell, d + "/console", log)])
    install.write_conf("60-ovirt-host.conf", "[proxy]\nhost_port = %d\n" % s.port)

    class H:
        port = s.port
        console = cons

        @staticmethod
        def calls():
            with open(log) as f:
                return [json.loads(line) for line in f if line.strip()]

    yield H
    install.remove_conf("60-ovirt-host.conf")
    cons.stop()
    s.stop()


def standin(command, tty=False):
    """The stand-in run directly, as sshd would run it."""
    env = dict(os.environ, SSH_ORIGINAL_COMMAND=command)
    argv = ["/usr/bin/python3", STANDIN, "/nonexistent"]
    if tty:
        p = pexpect.spawn(argv[0], argv[1:], env=env, timeout=10)
        p.expect(pexpect.EOF)
        p.close()
        return p.exitstatus, p.before.decode()
    r = subprocess.run(argv, env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=10)
    return r.returncode, r.stdout + r.stderr


def test_standin_parses_like_ovirt():
    # what ovirt-vmconsole-host-shell refuses, the stand-in refuses: the
    # spelling old sercon proxies sent, and sercon's framed mode
    for bad in ("--entity-id=alice connect --console=x.sock",
                "--entityid=alice connect --console=x.sock --proto=1",
                "connect", "frob"):
        rc, text = standin(bad)
        assert rc == 2 and "usage: ovirt-vmconsole-host-shell" in text, (bad, text)
    rc, text = standin("--entityid=alice --entity=Alice info")
    assert rc == 0 and "package=ovirt-vmconsole-host-shell" in text
    rc, text = standin("--entityid=alice connect --console=x.sock")
    assert rc == 1 and "ERROR: No pty support" in text
    rc, text = standin("--entityid=alice connect --console=../x.sock", tty=True)
    assert rc == 1 and "ERROR: Invalid console name" in text
    rc, text = standin("--entityid alice --entity Alice connect --console x.sock", tty=True)
    assert rc == 1 and "ERROR: Console 'x.sock' is not available" in text


def test_sercon_proxy_to_ovirt_host(chain, ovirt_host, syslog):
    m = syslog.mark()
    p = chain.spawn("alice", "web1")
    p.expect(b"OVIRT CONSOLE READY")
    p.send(b"hello\r")
    p.expect(b"echo:hello")
    # commands that need a sercon host say so; local ones work
    # (the user's ssh takes one ~ of "~~B" and passes "~B" on)
    p.send(b"\r~~B")
    p.expect_exact(b"[sercon] BREAK is not supported by this host")
    p.send(b"\r~~?")
    p.expect_exact(b"send a BREAK (not on this host)")
    p.send(b"\r~~.")               # the user's ssh sends "~." to the proxy
    p.expect_exact(b"[sercon] you left web1")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0
    calls = ovirt_host.calls()
    # asked what the host speaks (info), then connect in words it accepts
    assert [c["command"] for c in calls][-2:] == ["info", "connect"], calls
    c = calls[-1]
    assert (c["entityid"], c["entity"], c["console"]) == ("alice", "Alice", "id-web1.sock"), c
    assert "--proto" not in c["raw"] and "--entity-id" not in c["raw"], c
    line = syslog.wait_for(r"connect entity=alice vm=web1 .*proto=raw mode=rw replay=default: dialing", since=m)
    syslog.wait_for(r"connect entity=alice vm=web1 .*outcome=closed status=0", since=m,
                    timeout=10)
    assert "ovirt" not in line
    # the answer is remembered: the next connect does not ask again
    p = chain.spawn("alice", "web1")
    p.expect(b"OVIRT CONSOLE READY")
    close_session(p)
    assert [c["command"] for c in ovirt_host.calls()][len(calls):] == ["connect"]


@pytest.fixture
def ovirt_proxy_identity(install, pki, tmp_path):
    """An ovirt-vmconsole proxy's user key and certificate: principal
    ovirt-vmconsole-proxy, signed by its own CA."""
    ca = pki.new_ca("ovirt-vmconsole-ca")
    key = pki.keygen(str(tmp_path / "proxy-ssh_user_rsa"))
    pki.sign(key + ".pub", ["ovirt-vmconsole-proxy"], ca=ca)
    kh = tmp_path / "known_hosts"
    with open(install.pki + "/ca.pub") as f:
        ca_pub = f.read().splitlines()[0]
    # what ovirt-vmconsole-proxy-shell writes: @cert-authority {host},{alias}
    kh.write_text("@cert-authority 127.0.0.1,ovirt-vmconsole-host %s\n" % ca_pub)
    return key, ca + ".pub", str(kh)


def ovirt_attach(host_port, key, kh, entityid, entity, console, spaced=False):
    """ovirt-vmconsole-proxy-shell's console_attach, run as its /bin/sh -c
    would run it (the quotes are the shell's). spaced: argparse's other
    form, "--entityid ID", which a site's console_attach_command may use."""
    fmt = ('--entityid "%s" --entity "%s" connect --console "%s"' if spaced else
           '--entityid="%s" --entity="%s" connect --console="%s"')
    cmd = ('exec ssh -t -F /dev/null -o GlobalKnownHostsFile="%s" -o UserKnownHostsFile=/dev/null '
           '-o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes -i "%s" -p %d '
           '"%s@127.0.0.1" -- ' + fmt) % (kh, key, host_port, USER, entityid, entity, console)
    return pexpect.spawn("/bin/sh", ["-c", cmd], timeout=20)


def test_ovirt_proxy_to_sercon_host(chain, install, host_sshd, ovirt_proxy_identity, syslog):
    key, ca_pub, kh = ovirt_proxy_identity
    principals = install.datadir + "/host/authorized_principals"
    saved = {p: open(p).read() for p in (principals, install.pki + "/ca.pub")}
    try:
        # not accepted yet: the host's sshd refuses the other CA's principal
        p = ovirt_attach(host_sshd.port, key, kh, "alice", "Alice", "id-web1.sock")
        p.expect(pexpect.EOF)
        p.close()
        assert p.exitstatus == 255 and b"Permission denied" in p.before, p.before
        run([install.sbin + "/sercon-setup", "host", "--pki-dir", install.pki,
             "--accept-proxy-principal", "ovirt-vmconsole-proxy", "--accept-ca", ca_pub])
        m = syslog.mark()
        p = ovirt_attach(host_sshd.port, key, kh, "alice", "Alice", "id-web1.sock")
        expect_console(p, "web1")
        p.send(b"\r~.")
        p.expect(pexpect.EOF)
        p.close()
        # the host read ovirt's spelling of the entity
        syslog.wait_for(r"console open: console=id-web1\.sock entityid=alice entity=Alice", since=m)
        # argparse's other form, "--entityid ID"
        p = ovirt_attach(host_sshd.port, key, kh, "bob", "Bob", "id-db1.sock", spaced=True)
        p.expect(b"CONSOLE db1 READY")
        p.send(b"\r~.")
        p.expect(pexpect.EOF)
        p.close()
    finally:
        for path, text in saved.items():
            with open(path, "w") as f:
                f.write(text)
