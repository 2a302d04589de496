# test_setup.py: sercon-setup end to end. A private installation (its own
# SERCON_TEST_TAG, so the shared `pki` fixture's files are never touched)
# starts from nothing: a CA, the proxy's and the host's keys and
# certificates, both daemons from the installed configs, a user reaching a
# console. Then `check` passes and fails naming each problem, `renew`
# re-signs, request/sign/install-cert enrol a second machine, and `engine`
# switches the proxy to the test engine.

import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pexpect
import pytest

from conftest import TAG, TOOLS, USER, FakeConsole, Install, ensure_user

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = "127.0.0.1,localhost"


def setup_cmd(inst, *args, expect=0, stdin=None):
    """Runs the installed sercon-setup; asserts its exit status."""
    r = subprocess.run([inst.sbin + "/sercon-setup"] + list(args),
                       capture_output=True, text=True, input=stdin,
                       timeout=120)
    assert r.returncode == expect, "sercon-setup %s exited %d\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(args), r.returncode, r.stdout, r.stderr)
    return r


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def cert_listing(path):
    r = subprocess.run([TOOLS["ssh_keygen"], "-L", "-f", path], capture_output=True,
                       text=True, check=True, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"})
    return r.stdout


def cert_end(path):
    m = re.search(r"Valid: from \S+ to (\S+)", cert_listing(path))
    assert m, cert_listing(path)
    return time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) - time.timezone


def EchoVM(path):
    """qemu's serial console: answers each chunk with "[vm]" and the chunk
    in upper case."""
    return FakeConsole(path, reply=lambda d: b"[vm]" + d.upper())
@pytest.fixture(scope="module")
def chain_install():
    """A private installation whose PKI directory starts empty."""
    ensure_user()
    inst = Install(TAG + "-setup")
    for d in (inst.pki, inst.base + "/ca"):
        shutil.rmtree(d, ignore_errors=True)
    inst.build()
    inst.ca_dir = inst.base + "/ca"
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    return inst


@pytest.fixture(scope="module")
def chain(chain_install, start_sshd, user_key):
    """From nothing to a user on a console through proxy and host."""
    inst = chain_install
    r = setup_cmd(inst, "ca", "create", "--ca-dir", inst.ca_dir)
    assert "created CA" in r.stdout
    setup_cmd(inst, "proxy", "--ca-dir", inst.ca_dir, "--name", NAMES)
    setup_cmd(inst, "host", "--ca-dir", inst.ca_dir, "--name", NAMES)
    host = start_sshd(inst.datadir + "/host/sshd_config")
    inst.write_conf("10-chain.conf", "[proxy]\nhost_port = %d\n" % host.port)
    _, alice_pub = user_key("setup-alice")
    inst.write_inventory({
        "users": [{"id": "alice", "name": "Alice", "keys": [alice_pub]}],
        "consoles": [{"vm_id": "vm-setup-1", "vm_name": "web1",
                      "host": "127.0.0.1", "console": "vm-setup-1.sock",
                      "users": ["alice"]}]})
    vm = EchoVM(os.path.join(inst.console_dir, "vm-setup-1.sock"))
    proxy = start_sshd(inst.datadir + "/proxy/sshd_config")
    inst.host_sshd = host
    inst.proxy_sshd = proxy
    inst.alice_key = user_key("setup-alice")[0]
    yield inst
    vm.close()


def user_argv(inst, *command, tty=False):
    argv = [TOOLS["ssh"], "-F", "/dev/null", "-p", str(inst.proxy_sshd.port),
            "-i", inst.alice_key, "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=" + inst.pki + "/known_hosts",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR", "-tt" if tty else "-T",
            "%s@127.0.0.1" % USER]
    return argv + list(command)


def reach_console(inst):
    """alice types into the VM's console through proxy and host."""
    argv = user_argv(inst, tty=True)
    child = pexpect.spawn(argv[0], argv[1:], timeout=20, encoding="utf-8")
    try:
        # What is typed before the console is connected may be flushed:
        # type until the VM answers.
        deadline = time.monotonic() + 20
        try:
            while True:
                child.send("hello-sercon")
                try:
                    child.expect(r"\[vm\]HELLO-SERCON", timeout=1)
                    break
                except pexpect.TIMEOUT:
                    if time.monotonic() > deadline:
                        raise
        except pexpect.TIMEOUT:
            raise AssertionError("no answer from the VM; saw %r\nproxy sshd:\n%s\n"
                                 "host sshd:\n%s" % (child.before, inst.proxy_sshd.log(),
                                                      inst.host_sshd.log()))
    finally:
        child.close(force=True)


# ---- from nothing to a console ------------------------------------------------

def test_files_owners_and_modes(chain):
    ent = pwd.getpwnam(USER)
    for key in ("proxy-ssh_host_key", "proxy-ssh_user_key", "host-ssh_host_key"):
        st = os.stat(os.path.join(chain.pki, key))
        assert st.st_mode & 0o777 == 0o600, key
        assert st.st_uid == ent.pw_uid, key
        st = os.stat(os.path.join(chain.pki, key + "-cert.pub"))
        assert st.st_mode & 0o777 == 0o644 and st.st_uid == 0, key
    for f in ("ca.pub", "known_hosts"):
        st = os.stat(os.path.join(chain.pki, f))
        assert st.st_mode & 0o777 == 0o644 and st.st_uid == 0, f
    with open(chain.ca_dir + "/ca.pub") as f:
        ca = f.read().split()
    with open(chain.pki + "/known_hosts") as f:
        assert f.read().split()[:4] == ["@cert-authority", "*", ca[0], ca[1]]
    assert os.stat(chain.ca_dir + "/ca").st_mode & 0o777 == 0o600
    listing = cert_listing(chain.pki + "/proxy-ssh_user_key-cert.pub")
    assert "user certificate" in listing
    assert re.search(r"Principals: \n\s+sercon-proxy\n\s+Critical", listing)
    assert re.search(r"Critical Options: \(none\)\n\s+Extensions: \n\s+permit-pty\n?$",
                     listing), listing
    listing = cert_listing(chain.pki + "/host-ssh_host_key-cert.pub")
    assert "host certificate" in listing
    assert re.search(r"Principals: \n\s+127.0.0.1\n\s+localhost\n", listing)
    # Default validity: one year, starting an hour ago.
    end = cert_end(chain.pki + "/host-ssh_host_key-cert.pub")
    assert 364 * 86400 < end - time.time() <= 365 * 86400


def test_steps_are_idempotent(chain):
    files = [os.path.join(chain.pki, f) for f in sorted(os.listdir(chain.pki))]
    before = {f: digest(f) for f in files}
    r = setup_cmd(chain, "ca", "create", "--ca-dir", chain.ca_dir)
    assert "kept CA" in r.stdout
    r = setup_cmd(chain, "proxy", "--ca-dir", chain.ca_dir, "--name", NAMES)
    assert "kept certificate" in r.stdout and "signed" not in r.stdout
    r = setup_cmd(chain, "host", "--ca-dir", chain.ca_dir, "--name", NAMES)
    assert "kept key" in r.stdout
    assert {f: digest(f) for f in files} == before
    # Other names: the same key, a new certificate.
    r = setup_cmd(chain, "host", "--ca-dir", chain.ca_dir, "--name",
                  NAMES + ",hv1.example")
    assert "signed" in r.stdout
    assert digest(chain.pki + "/host-ssh_host_key") == before[chain.pki + "/host-ssh_host_key"]
    setup_cmd(chain, "host", "--ca-dir", chain.ca_dir, "--name", NAMES)


def test_user_reaches_console(chain):
    r = subprocess.run(user_argv(chain, "list"), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr + chain.proxy_sshd.log()
    assert r.stdout == "vm-setup-1\tweb1\n"
    reach_console(chain)


# ---- check --------------------------------------------------------------------

def copy_pki(inst, dest):
    """A copy of the PKI directory with owners and modes."""
    os.makedirs(dest)
    for f in os.listdir(inst.pki):
        src = os.path.join(inst.pki, f)
        if not os.path.isfile(src):
            continue
        shutil.copy2(src, os.path.join(dest, f))
        st = os.stat(src)
        os.chown(os.path.join(dest, f), st.st_uid, st.st_gid)
    return dest


def check(inst, role, pki=None, expect=0):
    port = inst.proxy_sshd.port if role == "proxy" else inst.host_sshd.port
    args = ["check", role, "--port", str(port)]
    if pki:
        args += ["--pki-dir", pki]
    return setup_cmd(inst, *args, expect=expect)


def problems(r):
    return [l for l in r.stdout.splitlines() if l.startswith("PROBLEM:")]


def test_check_passes(chain):
    for role in ("proxy", "host"):
        r = check(chain, role)
        assert problems(r) == [], r.stdout
        assert "no problems found" in r.stdout
        assert "ok: an sshd listens on port" in r.stdout
    r = check(chain, "proxy")
    assert "ok: the manager (backend file) answers: 1 key" in r.stdout
    assert re.search(r"ok: .*proxy-ssh_user_key-cert.pub: user certificate for "
                     r"sercon-proxy, signed by SHA256:\S+, 36[45] days left", r.stdout)
    r = check(chain, "host")
    assert "ok: console directory %s is reachable by sercon" % chain.console_dir in r.stdout
    # Without a role: both, since both roles' keys are here.
    r = setup_cmd(chain, "check", "--port", str(chain.proxy_sshd.port))
    assert "== proxy" in r.stdout and "== host" in r.stdout


def test_check_world_readable_key(chain, tmp_path):
    pki = copy_pki(chain, str(tmp_path / "pki"))
    os.chmod(pki + "/proxy-ssh_user_key", 0o644)
    r = check(chain, "proxy", pki, expect=1)
    assert problems(r) == [
        "PROBLEM: private key %s/proxy-ssh_user_key is mode 0644, readable by "
        "others; fix: chmod 600 %s/proxy-ssh_user_key" % (pki, pki)]


def test_check_writable_pki_dir(chain, tmp_path):
    pki = copy_pki(chain, str(tmp_path / "pki"))
    os.chmod(pki, 0o777)
    r = check(chain, "host", pki, expect=1)
    assert problems(r) == [
        "PROBLEM: PKI directory %s is mode 0777 owner uid 0, writable by others "
        "than root; fix: chown root: %s && chmod 755 %s" % (pki, pki, pki)]


def test_check_expired_certificate(chain, tmp_path):
    pki = copy_pki(chain, str(tmp_path / "pki"))
    r = setup_cmd(chain, "sign", "--ca-dir", chain.ca_dir, "--role", "proxy-host",
                  "--name", NAMES, "--validity", "-3d:-1d",
                  pki + "/proxy-ssh_host_key.pub")
    with open(pki + "/proxy-ssh_host_key-cert.pub", "w") as f:
        f.write(r.stdout)
    r = check(chain, "proxy", pki, expect=1)
    p = problems(r)
    assert len(p) == 1, r.stdout
    assert re.match(r"PROBLEM: %s/proxy-ssh_host_key-cert.pub expired on "
                    r"\S+ \S+ UTC; fix: sercon-setup renew$" % re.escape(pki), p[0])


def test_check_certificate_of_another_ca(chain, tmp_path):
    pki = copy_pki(chain, str(tmp_path / "pki"))
    other = str(tmp_path / "other-ca")
    setup_cmd(chain, "ca", "create", "--ca-dir", other)
    r = setup_cmd(chain, "sign", "--ca-dir", other, "--role", "host",
                  "--name", NAMES, pki + "/host-ssh_host_key.pub")
    with open(pki + "/host-ssh_host_key-cert.pub", "w") as f:
        f.write(r.stdout)
    r = check(chain, "host", pki, expect=1)
    p = problems(r)
    assert len(p) == 1, r.stdout
    assert "host-ssh_host_key-cert.pub is signed by CA SHA256:" in p[0]
    assert "which ca.pub does not hold" in p[0] and "fix: sercon-setup renew" in p[0]


def test_check_missing_console_dir(chain):
    moved = chain.console_dir + ".moved"
    os.rename(chain.console_dir, moved)
    try:
        r = check(chain, "host", expect=1)
    finally:
        os.rename(moved, chain.console_dir)
    p = problems(r)
    assert len(p) == 1, r.stdout
    assert p[0].startswith("PROBLEM: console directory %s: No such file or "
                           "directory (as user sercon); fix: mkdir -p %s" %
                           (chain.console_dir, chain.console_dir))
    check(chain, "host")


def test_check_locked_user_and_bad_config(chain):
    shadow = subprocess.run(["getent", "shadow", USER], capture_output=True,
                            text=True).stdout.split(":")
    subprocess.run(["usermod", "-p", "!*", USER], check=True)
    try:
        r = check(chain, "host", expect=1)
    finally:
        subprocess.run(["usermod", "-p", shadow[1] or "*", USER], check=True)
    assert problems(r) == ["PROBLEM: user sercon is locked ('!'), and sshd "
                           "refuses locked accounts; fix: usermod -p '*' sercon"]
    chain.write_conf("90-bad.conf", "[proxy]\nno_such_key = 1\n")
    try:
        r = check(chain, "proxy", expect=1)
    finally:
        chain.remove_conf("90-bad.conf")
    assert "PROBLEM: configuration:" in r.stdout and "no_such_key" in r.stdout


def test_check_account_shell(chain):
    login_shell = chain.libexec + "/sercon-login-shell"
    shell = pwd.getpwnam(USER).pw_shell
    try:
        # The suite's account keeps /bin/sh (a shell stays beside each
        # session): a warning with the fix.
        subprocess.run(["usermod", "-s", "/bin/sh", USER], check=True)
        r = check(chain, "host")
        assert ("warning: user sercon has shell /bin/sh, which stays resident beside "
                "every session; fix: usermod -s %s sercon" % login_shell) in r.stdout
        assert problems(r) == []
        # A shell that cannot run: sshd refuses every login.
        subprocess.run(["usermod", "-s", "/nonexistent/sh", USER], check=True)
        r = check(chain, "host", expect=1)
        assert problems(r) == ["PROBLEM: user sercon has shell /nonexistent/sh, and sshd "
                               "runs forced commands through it; fix: usermod -s %s sercon"
                               % login_shell]
        # The packages' shell: nothing to say.
        subprocess.run(["usermod", "-s", login_shell, USER], check=True)
        r = check(chain, "host")
        assert "ok: user sercon (uid %d) exists, shell %s" % (
            pwd.getpwnam(USER).pw_uid, login_shell) in r.stdout
        assert "stays resident" not in r.stdout
    finally:
        subprocess.run(["usermod", "-s", shell, USER], check=True)


# ---- renew --------------------------------------------------------------------

def test_renew_expiring_certificate(chain):
    cert = chain.pki + "/proxy-ssh_host_key-cert.pub"
    keys = {k: digest(chain.pki + "/" + k) for k in
            ("proxy-ssh_host_key", "host-ssh_host_key", "proxy-ssh_user_key")}
    # Nothing to do: silent.
    r = setup_cmd(chain, "renew", "--ca-dir", chain.ca_dir)
    assert r.stdout == "" and r.stderr == ""
    # A certificate with 2 days left, installed through install-cert.
    r = setup_cmd(chain, "sign", "--ca-dir", chain.ca_dir, "--role", "proxy-host",
                  "--name", NAMES, "--validity", "2d",
                  chain.pki + "/proxy-ssh_host_key.pub")
    tmp = chain.base + "/short-cert.pub"
    with open(tmp, "w") as f:
        f.write(r.stdout)
    setup_cmd(chain, "install-cert", tmp)
    assert cert_end(cert) - time.time() < 3 * 86400
    r = check(chain, "proxy")
    assert re.search(r"warning: .*proxy-ssh_host_key-cert.pub expires in [12] days", r.stdout)
    r = setup_cmd(chain, "renew", "--ca-dir", chain.ca_dir)
    assert r.stdout.splitlines()[0] == "renewing %s: expires in 1 days" % cert or \
        r.stdout.splitlines()[0] == "renewing %s: expires in 2 days" % cert
    assert cert_end(cert) - time.time() > 360 * 86400
    listing = cert_listing(cert)
    assert re.search(r"Principals: \n\s+127.0.0.1\n\s+localhost\n", listing)
    assert {k: digest(chain.pki + "/" + k) for k in keys} == keys
    r = setup_cmd(chain, "renew", "--ca-dir", chain.ca_dir)
    assert r.stdout == ""
    # The chain works with the same keys: users' known_hosts stay valid.
    reach_console(chain)


def test_renew_user_cert_keeps_options_and_new_ca(chain, tmp_path):
    pki = copy_pki(chain, str(tmp_path / "pki"))
    old = cert_listing(pki + "/proxy-ssh_user_key-cert.pub")
    new_ca = str(tmp_path / "new-ca")
    setup_cmd(chain, "ca", "create", "--ca-dir", new_ca)
    r = setup_cmd(chain, "renew", "--ca-dir", new_ca, "--pki-dir", pki)
    assert "signed by another CA" in r.stdout
    new = cert_listing(pki + "/proxy-ssh_user_key-cert.pub")
    strip = lambda s: re.sub(r"(Signing CA|Serial|Valid|k?-cert.pub).*", "", s)
    assert strip(old) == strip(new)
    # The new CA is trusted next to the old one.
    with open(pki + "/ca.pub") as f:
        assert len(f.read().splitlines()) == 2
    with open(pki + "/known_hosts") as f:
        assert len(f.read().splitlines()) == 2
    # Done once: the next run has nothing to do.
    r = setup_cmd(chain, "renew", "--ca-dir", new_ca, "--pki-dir", pki)
    assert r.stdout == ""


def test_renew_single_machine_after_ca_rotation(chain, tmp_path):
    """CA and PKI in one directory (no --ca-dir): after a new CA, ca.pub
    lists the old CA first, and renew still knows which CA is current."""
    pki = str(tmp_path / "pki")
    setup_cmd(chain, "ca", "create", "--pki-dir", pki)
    setup_cmd(chain, "host", "--pki-dir", pki, "--name", NAMES)
    os.unlink(pki + "/ca")
    os.rename(pki + "/ca.pub", pki + "/old-ca.pub")
    r = setup_cmd(chain, "ca", "create", "--pki-dir", pki)
    assert "created CA" in r.stdout
    with open(pki + "/old-ca.pub") as f, open(pki + "/ca.pub") as g:
        new = g.read()
        old = f.read()
    with open(pki + "/ca.pub", "w") as f:
        f.write(old + new)
    r = setup_cmd(chain, "renew", "--pki-dir", pki)
    assert "signed by another CA" in r.stdout
    r = setup_cmd(chain, "renew", "--pki-dir", pki)
    assert r.stdout == ""
    assert new.split()[1] in open(pki + "/ca.pub").read()


def test_renew_without_ca_says_what_to_do(chain, tmp_path):
    pki = copy_pki(chain, str(tmp_path / "pki"))
    r = setup_cmd(chain, "sign", "--ca-dir", chain.ca_dir, "--role", "host",
                  "--name", NAMES, "--validity", "2d", pki + "/host-ssh_host_key.pub")
    with open(pki + "/host-ssh_host_key-cert.pub", "w") as f:
        f.write(r.stdout)
    r = setup_cmd(chain, "renew", "--pki-dir", pki, "--ca-dir", str(tmp_path / "none"),
                  expect=1)
    assert "there is no CA in" in r.stderr and "install-cert" in r.stderr


# ---- enrolment between two machines -------------------------------------------

def test_request_sign_install_cert(chain, tmp_path):
    ca_machine = str(tmp_path / "manager-ca")
    hv = str(tmp_path / "hv1-pki")
    px = str(tmp_path / "px-pki")
    setup_cmd(chain, "ca", "create", "--ca-dir", ca_machine)
    # The host: a key, its public half printed.
    r = setup_cmd(chain, "request", "--role", "host", "--name", "hv1.example",
                  "--pki-dir", hv)
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ssh-ed25519 ")
    assert "sercon-setup sign" in r.stderr
    with open(hv + "/host-ssh_host_key.pub") as f:
        assert f.read().split()[:2] == lines[0].split()[:2]
    # The CA machine signs what it was sent (here on standard input).
    r = setup_cmd(chain, "sign", "--ca-dir", ca_machine, "--role", "host",
                  "--name", "hv1.example", "-", stdin=r.stdout)
    certfile = str(tmp_path / "hv1-cert.pub")
    with open(certfile, "w") as f:
        f.write(r.stdout)
    # Without the CA's public key the host cannot tell who signed it.
    r = setup_cmd(chain, "install-cert", "--pki-dir", hv, certfile, expect=1)
    assert "--ca-pub" in r.stderr
    r = setup_cmd(chain, "install-cert", "--pki-dir", hv, "--ca-pub",
                  ca_machine + "/ca.pub", certfile)
    assert "installed %s/host-ssh_host_key-cert.pub" % hv in r.stdout
    assert "hv1.example" in cert_listing(hv + "/host-ssh_host_key-cert.pub")
    with open(hv + "/ca.pub") as f, open(ca_machine + "/ca.pub") as g:
        assert f.read().split()[:2] == g.read().split()[:2]
    # Again: idempotent.
    setup_cmd(chain, "install-cert", "--pki-dir", hv, certfile)

    # The proxy: two keys, two certificates, each finds its slot.
    r = setup_cmd(chain, "request", "--role", "proxy", "--name", "px.example",
                  "--pki-dir", px)
    host_pub, user_pub = r.stdout.splitlines()
    for role, pub in (("proxy-host", host_pub), ("proxy-user", user_pub)):
        args = ["sign", "--ca-dir", ca_machine, "--role", role]
        if role == "proxy-host":
            args += ["--name", "px.example"]
        r = setup_cmd(chain, *args, "-", stdin=pub + "\n")
        cf = str(tmp_path / (role + "-cert.pub"))
        with open(cf, "w") as f:
            f.write(r.stdout)
        setup_cmd(chain, "install-cert", "--pki-dir", px, "--ca-pub",
                  ca_machine + "/ca.pub", cf)
    assert "sercon-proxy" in cert_listing(px + "/proxy-ssh_user_key-cert.pub")
    assert os.path.exists(px + "/known_hosts")
    # Wrong slot kind, foreign key, other CA: refused, nothing installed.
    r = setup_cmd(chain, "sign", "--ca-dir", ca_machine, "--role", "proxy-user",
                  hv + "/host-ssh_host_key.pub")
    wrong = str(tmp_path / "wrong-cert.pub")
    with open(wrong, "w") as f:
        f.write(r.stdout)
    before = digest(hv + "/host-ssh_host_key-cert.pub")
    r = setup_cmd(chain, "install-cert", "--pki-dir", hv, wrong, expect=1)
    assert "is a user certificate but host-ssh_host_key needs a host certificate" in r.stderr
    r = setup_cmd(chain, "install-cert", "--pki-dir", hv,
                  chain.pki + "/host-ssh_host_key-cert.pub", expect=1)
    assert "none of this machine's keys" in r.stderr
    r = setup_cmd(chain, "sign", "--ca-dir", chain.ca_dir, "--role", "host",
                  "--name", "hv1.example", hv + "/host-ssh_host_key.pub")
    with open(wrong, "w") as f:
        f.write(r.stdout)
    r = setup_cmd(chain, "install-cert", "--pki-dir", hv, wrong, expect=1)
    assert "does not hold" in r.stderr
    assert digest(hv + "/host-ssh_host_key-cert.pub") == before


def keygen_cert(ca, pub, principals, host=False):
    """A certificate made by ssh-keygen itself, principals as given (a
    principal may hold newlines: ssh-keygen only splits at commas)."""
    argv = ["ssh-keygen", "-q", "-s", ca, "-I", "hostile", "-n", principals]
    if host:
        argv.append("-h")
    subprocess.run(argv + [pub], check=True, capture_output=True)
    return pub[:-len(".pub")] + "-cert.pub"


def ssh_keygen_fp(path):
    r = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", path],
                       capture_output=True, text=True, check=True)
    return r.stdout.split()[1]


def test_install_cert_refuses_forged_listing(chain, tmp_path):
    """Issue 13: a newline in a principal injected lines into the
    `ssh-keygen -L` text that sercon-setup read, and a repeated field won.
    A certificate from an untrusted CA that forges the trusted CA's
    "Signing CA" line, and a user certificate that forges "Type: host
    certificate", were installed in the host slot and called trusted."""
    hv = str(tmp_path / "hv-pki")
    setup_cmd(chain, "request", "--role", "host", "--pki-dir", hv)
    shutil.copy(chain.ca_dir + "/ca.pub", hv + "/ca.pub")
    evil = str(tmp_path / "evil-ca")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", evil],
                   check=True)
    trusted_fp = ssh_keygen_fp(chain.ca_dir + "/ca.pub")
    pub = str(tmp_path / "hv.pub")
    shutil.copy(hv + "/host-ssh_host_key.pub", pub)
    forged_ca = ("hv1.example\n        Signing CA: ED25519 %s (using ssh-ed25519)"
                 "\n        Principals: \n                hv1.example" % trusted_fp)
    cert = keygen_cert(evil, pub, forged_ca, host=True)
    assert trusted_fp in cert_listing(cert)   # the listing does lie
    r = setup_cmd(chain, "install-cert", "--pki-dir", hv, cert, expect=1)
    assert "which %s/ca.pub does not hold" % hv in r.stderr, r.stderr
    assert not os.path.exists(hv + "/host-ssh_host_key-cert.pub")
    forged_type = ("hv1.example\n        Type: ssh-ed25519-cert-v01@openssh.com "
                   "host certificate\n        Principals: \n                hv1.example")
    cert = keygen_cert(chain.ca_dir + "/ca", pub, forged_type)
    assert "host certificate" in cert_listing(cert)
    r = setup_cmd(chain, "install-cert", "--pki-dir", hv, cert, expect=1)
    assert "is a user certificate but host-ssh_host_key needs a host certificate" \
        in r.stderr, r.stderr
    assert not os.path.exists(hv + "/host-ssh_host_key-cert.pub")
    # check reads the certificate the same way: placed by hand, it is
    # reported as the untrusted CA's, its principal escaped on one line.
    pki = copy_pki(chain, str(tmp_path / "pki"))
    shutil.copy(pki + "/host-ssh_host_key.pub", pub)
    cert = keygen_cert(evil, pub, forged_ca, host=True)
    shutil.copy(cert, pki + "/host-ssh_host_key-cert.pub")
    r = check(chain, "host", pki, expect=1)
    p = problems(r)
    assert len(p) == 1, r.stdout
    assert "is signed by CA %s" % ssh_keygen_fp(evil + ".pub") in p[0]
    assert "which ca.pub does not hold" in p[0]


def test_install_cert_tampered_signature(chain, tmp_path):
    """A certificate whose bytes were changed after signing (here the
    serial) is refused: the signature is verified, not assumed."""
    hv = str(tmp_path / "hv-pki")
    setup_cmd(chain, "request", "--role", "host", "--pki-dir", hv)
    r = setup_cmd(chain, "sign", "--ca-dir", chain.ca_dir, "--role", "host",
                  "--name", "hv1.example", hv + "/host-ssh_host_key.pub")
    kind, b64 = r.stdout.split()[:2]
    import base64
    blob = bytearray(base64.b64decode(b64))
    # type string, nonce string, key string: then the 8-byte serial
    off = 0
    for _ in range(3):
        off += 4 + int.from_bytes(blob[off:off + 4], "big")
    blob[off + 7] ^= 1
    tampered = str(tmp_path / "tampered-cert.pub")
    with open(tampered, "w") as f:
        f.write("%s %s\n" % (kind, base64.b64encode(bytes(blob)).decode()))
    r = setup_cmd(chain, "install-cert", "--pki-dir", hv, "--ca-pub",
                  chain.ca_dir + "/ca.pub", tampered, expect=1)
    assert "signature does not verify" in r.stderr, r.stderr
    assert not os.path.exists(hv + "/host-ssh_host_key-cert.pub")


def test_install_cert_host_updates_known_hosts(chain, tmp_path):
    """Issue 13: install-cert --ca-pub with a host certificate wrote ca.pub
    but not known_hosts, so a machine that is proxy and host could not
    verify its own host. Here the new known_hosts verifies the chain's
    host sshd (whose certificate the same CA signed)."""
    hv = str(tmp_path / "hv-pki")
    setup_cmd(chain, "request", "--role", "host", "--pki-dir", hv)
    r = setup_cmd(chain, "sign", "--ca-dir", chain.ca_dir, "--role", "host",
                  "--name", "hv1.example", hv + "/host-ssh_host_key.pub")
    certfile = str(tmp_path / "hv-cert.pub")
    with open(certfile, "w") as f:
        f.write(r.stdout)
    setup_cmd(chain, "install-cert", "--pki-dir", hv, "--ca-pub",
              chain.ca_dir + "/ca.pub", certfile)
    with open(chain.ca_dir + "/ca.pub") as f:
        ca = f.read().split()[:2]
    with open(hv + "/known_hosts") as f:
        assert f.read().split() == ["@cert-authority", "*"] + ca
    r = subprocess.run(
        ["ssh", "-F", "/dev/null", "-p", str(chain.host_sshd.port),
         "-i", chain.pki + "/proxy-ssh_user_key",
         "-o", "CertificateFile=" + chain.pki + "/proxy-ssh_user_key-cert.pub",
         "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", "UserKnownHostsFile=" + hv + "/known_hosts",
         "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
         "-o", "LogLevel=ERROR", "-T", "%s@127.0.0.1" % USER, "info"],
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr + chain.host_sshd.log()


def ovirt_proxy_login(chain, key, command="info"):
    """Logs in to the chain's host sshd as another proxy would."""
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-p", str(chain.host_sshd.port), "-i", key,
         "-o", "CertificateFile=" + key + "-cert.pub",
         "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", "UserKnownHostsFile=" + chain.pki + "/known_hosts",
         "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
         "-o", "LogLevel=ERROR", "-T", "%s@127.0.0.1" % USER, command],
        capture_output=True, text=True, timeout=30)


def test_host_accepts_another_proxy(chain, tmp_path):
    """Issue 13: an ovirt-vmconsole proxy (its own CA, principal
    ovirt-vmconsole-proxy) reaches this host once `sercon-setup host
    --accept-proxy-principal --accept-ca` says so, and `check host`
    reports it; from sercon.conf, `sercon-setup host` restores what an
    upgrade replaced, and check says when it is missing."""
    principals = chain.datadir + "/host/authorized_principals"
    saved = {p: open(p).read() for p in (principals, chain.pki + "/ca.pub")}
    ovirt_ca = str(tmp_path / "ovirt-ca")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ovirt_ca],
                   check=True)
    key = str(tmp_path / "ovirt-proxy")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key],
                   check=True)
    keygen_cert(ovirt_ca, key + ".pub", "ovirt-vmconsole-proxy")
    try:
        r = ovirt_proxy_login(chain, key)
        assert r.returncode == 255 and "Permission denied" in r.stderr, r.stderr
        # Only the principal, or only the CA, is not enough.
        setup_cmd(chain, "host", "--accept-proxy-principal", "ovirt-vmconsole-proxy")
        assert ovirt_proxy_login(chain, key).returncode == 255
        r = setup_cmd(chain, "host", "--accept-proxy-principal", "ovirt-vmconsole-proxy",
                      "--accept-ca", ovirt_ca + ".pub")
        assert "accepts principal ovirt-vmconsole-proxy already" in r.stdout
        assert "added the CA to %s/ca.pub" % chain.pki in r.stdout
        r = ovirt_proxy_login(chain, key)
        assert r.returncode == 0, r.stderr + chain.host_sshd.log()
        with open(principals) as f:
            assert f.read().split() == ["sercon-proxy", "ovirt-vmconsole-proxy"]
        r = check(chain, "host")
        assert "ok: the host sshd accepts proxy principals sercon-proxy, " \
            "ovirt-vmconsole-proxy (%s)" % principals in r.stdout, r.stdout
        assert "ok: %s/ca.pub trusts 2 CAs: " % chain.pki in r.stdout
        # sercon's own proxy still gets in.
        reach_console(chain)

        # The declarative way: sercon.conf, applied by `sercon-setup host`.
        with open(principals, "w") as f:
            f.write(saved[principals])
        with open(chain.pki + "/ca.pub", "w") as f:
            f.write(saved[chain.pki + "/ca.pub"])
        chain.write_conf("50-ovirt.conf", "[host]\naccept_proxy_principals = "
                         "ovirt-vmconsole-proxy, other-proxy\n"
                         "accept_proxy_ca = %s.pub\n" % ovirt_ca)
        r = check(chain, "host", expect=1)
        p = problems(r)
        assert len(p) == 3, r.stdout
        assert "accept_proxy_principals names ovirt-vmconsole-proxy, which %s " \
            "lacks; fix: sercon-setup host" % principals in p[0]
        assert "accept_proxy_ca names CA %s (%s.pub), which ca.pub lacks" % (
            ssh_keygen_fp(ovirt_ca + ".pub"), ovirt_ca) in p[2]
        assert ovirt_proxy_login(chain, key).returncode == 255
        setup_cmd(chain, "host")
        assert ovirt_proxy_login(chain, key).returncode == 0
        r = check(chain, "host")
        assert "ok: ca.pub accepts proxy certificates of CA %s" % \
            ssh_keygen_fp(ovirt_ca + ".pub") in r.stdout
        # Bad names are refused before anything is written.
        r = setup_cmd(chain, "host", "--accept-proxy-principal", "a b", expect=2)
        assert "letters, digits" in r.stderr
        r = setup_cmd(chain, "host", "--accept-proxy-principal", "-x", expect=2)
    finally:
        chain.remove_conf("50-ovirt.conf")
        for p, text in saved.items():
            with open(p, "w") as f:
                f.write(text)
    r = setup_cmd(chain, "host", expect=2)
    assert "--name is required" in r.stderr


def test_check_cosmetics(chain, tmp_path):
    """Issue 13: "never expires, 0 days left"; backslashes escaped twice
    in error lines."""
    pki = copy_pki(chain, str(tmp_path / "pki"))
    pub = str(tmp_path / "hv.pub")
    shutil.copy(pki + "/host-ssh_host_key.pub", pub)
    cert = keygen_cert(chain.ca_dir + "/ca", pub, NAMES, host=True)  # forever
    shutil.copy(cert, pki + "/host-ssh_host_key-cert.pub")
    r = check(chain, "host", pki)
    line = [l for l in r.stdout.splitlines() if "host-ssh_host_key-cert.pub:" in l]
    assert len(line) == 1, r.stdout
    assert line[0].endswith(", never expires"), line[0]
    r = setup_cmd(chain, "host", "--name", "a\\b", expect=2)
    # one backslash, escaped once: two
    assert "'a\\\\b' is not a host name" in r.stderr, r.stderr


def test_sign_refuses_bad_input(chain, tmp_path):
    bad = str(tmp_path / "bad.pub")
    with open(bad, "w") as f:
        f.write('command="/bin/sh" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3 x\n')
    r = setup_cmd(chain, "sign", "--ca-dir", chain.ca_dir, "--role", "host",
                  "--name", "a.example", bad, expect=1)
    assert r.stderr.startswith("ERROR: sign: not an OpenSSH public key")
    r = setup_cmd(chain, "sign", "--ca-dir", chain.ca_dir, "--role", "host",
                  "--name", "-oProxyCommand=x", bad, expect=2)
    assert "is not a host name" in r.stderr
    r = setup_cmd(chain, "sign", "--ca-dir", chain.ca_dir, "--role", "host",
                  "--name", "a.example", "--validity", "1d;reboot", bad, expect=2)
    r = setup_cmd(chain, "sign", "--ca-dir", chain.ca_dir, "--role", "root",
                  bad, expect=2)


def test_rsa_ca(chain, tmp_path):
    ca = str(tmp_path / "rsa-ca")
    pki = str(tmp_path / "pki")
    r = setup_cmd(chain, "ca", "create", "--ca-dir", ca, "--key-type", "rsa")
    assert "(rsa, SHA256:" in r.stdout
    setup_cmd(chain, "host", "--ca-dir", ca, "--pki-dir", pki, "--name", "hv.example")
    listing = cert_listing(pki + "/host-ssh_host_key-cert.pub")
    assert "Signing CA: RSA SHA256:" in listing and "(using rsa-sha2-512)" in listing


def test_help_and_usage(chain):
    for cmd in ("ca", "proxy", "host", "request", "sign", "install-cert",
                "renew", "engine", "check"):
        r = setup_cmd(chain, cmd, "--help")
        assert r.stdout.startswith("usage: sercon-setup %s" % cmd), r.stdout
    r = setup_cmd(chain, "--help")
    assert "install-cert" in r.stdout
    r = setup_cmd(chain, "frobnicate", expect=2)
    assert r.stderr.startswith("ERROR: unknown command 'frobnicate'")
    r = setup_cmd(chain, "proxy", "--ca-dir", chain.ca_dir, expect=2)
    assert "--name is required" in r.stderr


# ---- engine ---------------------------------------------------------------------

def test_engine(chain, tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "engine"))
    import sercon_test_engine as te
    # Where the sercon user can reach it (pytest's tmp_path is root's only).
    edir = tempfile.mkdtemp(prefix="engine-pki-", dir=chain.base)
    os.chmod(edir, 0o755)
    epki = te.make_pki(edir)
    ent = pwd.getpwnam(USER)
    # The proxy reads the ticket key as the sercon user.
    for p in (epki["ticket-key"], epki["ticket"], epki["ca"]):
        os.chown(p, ent.pw_uid, ent.pw_gid)
        os.chmod(p, 0o600 if p.endswith(".key") else 0o644)
    with open(chain.alice_key + ".pub") as f:
        alice_pub = f.read().strip()
    engine = te.Engine(str(tmp_path / "engine"), epki, {
        "users": [{"id": "alice", "name": "Alice", "keys": [alice_pub]}],
        "vms": [{"vmid": "vm-setup-1", "vmname": "web1", "host": "127.0.0.1",
                 "users": ["alice"]}]})
    conf = chain.confd + "/50-engine.conf"
    try:
        r = setup_cmd(chain, "engine", "--url", engine.url, "--ticket-cert",
                      epki["ticket"], "--ticket-key", epki["ticket-key"],
                      "--engine-ca", epki["ca"])
        assert "wrote %s: backend engine at %s" % (conf, engine.url) in r.stdout
        assert "the engine answered a signed public_keys request: 1 key" in r.stdout
        assert "systemd is not running" in r.stdout
        with open(conf) as f:
            text = f.read()
        assert "backend = engine\nengine_url = %s\n" % engine.url in text
        assert "engine_ca = %s\n" % epki["ca"] in text
        assert os.stat(conf).st_mode & 0o777 == 0o644
        # The written configuration works: the proxy's users come from the engine.
        r = check(chain, "proxy")
        assert "ok: the manager (backend engine) answers: 1 key" in r.stdout
        r = subprocess.run(user_argv(chain, "list"), capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0 and r.stdout == "vm-setup-1\tweb1\n", r.stderr
        # A wrong ticket certificate: the file is written, the check fails.
        r = setup_cmd(chain, "engine", "--url", engine.url, "--ticket-cert",
                      epki["ticket-rogue"], "--ticket-key",
                      epki["ticket-rogue-key"], "--engine-ca", epki["ca"], expect=1)
        assert "the engine did not answer" in r.stderr
        r = setup_cmd(chain, "engine", "--url", "file:///etc/passwd",
                      "--ticket-cert", epki["ticket"], "--ticket-key",
                      epki["ticket-key"], expect=2)
    finally:
        r = setup_cmd(chain, "engine", "--disable")
        engine.stop()
        shutil.rmtree(edir, ignore_errors=True)
    assert "removed %s" % conf in r.stdout
    assert not os.path.exists(conf)
    r = setup_cmd(chain, "engine", "--disable")
    assert "nothing to remove" in r.stdout
    r = check(chain, "proxy")
    assert "backend file" in r.stdout
