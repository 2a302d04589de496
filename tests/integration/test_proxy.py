# The proxy side over the real chain: the user's ssh -> proxy sshd ->
# sercon-proxy-keys -> sercon-proxy-shell -> ssh with certificates -> host
# sshd -> sercon-host-shell -> a unix socket served by a small console
# server here. Inventories are written per test (backend file).

import json
import os
import re
import shutil
import socket
import subprocess
import time

import pexpect
import pytest

from conftest import SANITIZE, TOOLS, FakeConsole, ssh_argv

USER = "sercon"


def Console(directory, name, banner):
    """A VM's serial console that greets each connection and echoes what
    it receives, prefixed."""
    return FakeConsole(os.path.join(directory, name), banner=banner,
                       reply=lambda d: b"echo:" + d)


class Chain:
    """Everything a proxy test needs: daemons, users and their keys, the
    inventory and the consoles behind it."""

    def __init__(self, install, pki, syslog, proxy_sshd, host_sshd, user_key):
        self.install = install
        self.pki = pki
        self.syslog = syslog
        self.proxy = proxy_sshd
        self.host = host_sshd
        self.user_key = user_key
        self.keys = {n: user_key(n) for n in ("alice", "bob", "carol", "mallory", "eve")}
        self.consoles = {}
        for name in ("web1", "web2", "db1"):
            self.consoles[name] = Console(install.console_dir, "id-%s.sock" % name,
                                          ("CONSOLE %s READY\r\n" % name).encode())

    def pub(self, name):
        return self.keys[name][1]

    def base_inventory(self):
        return {
            "users": [
                {"id": "alice", "name": "Alice", "keys": [self.pub("alice")]},
                {"id": "bob", "name": "Bob", "keys": [self.pub("bob")]},
                {"id": "carol", "name": "Carol", "keys": [self.pub("carol")]},
            ],
            "consoles": [
                {"vm_id": "id-web2", "vm_name": "web2", "host": "127.0.0.1",
                 "console": "id-web2.sock", "users": ["alice"]},
                {"vm_id": "id-web1", "vm_name": "web1", "host": "127.0.0.1",
                 "console": "id-web1.sock", "users": ["alice"]},
                {"vm_id": "id-db1", "vm_name": "db1", "host": "localhost",
                 "console": "id-db1.sock", "users": ["bob"]},
            ],
        }

    def ssh(self, user, command=None, *extra, tty=False, timeout=30, input=None):
        argv = ssh_argv(self.proxy.port, self.keys[user][0], *extra, tty=tty,
                        command=command)
        return subprocess.run(argv, capture_output=True, timeout=timeout,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)

    def spawn(self, user, command=None, *extra):
        argv = ssh_argv(self.proxy.port, self.keys[user][0], *extra, tty=True,
                        command=command)
        return pexpect.spawn(argv[0], argv[1:], timeout=20)


@pytest.fixture(scope="module")
def chain(install, pki, syslog, proxy_sshd, host_sshd, user_key):
    c = Chain(install, pki, syslog, proxy_sshd, host_sshd, user_key)
    install.write_inventory(c.base_inventory())
    yield c
    for con in c.consoles.values():
        con.stop()


@pytest.fixture
def inventory(chain, install):
    """Lets a test replace the inventory; the base one comes back after."""
    yield install.write_inventory
    install.write_inventory(chain.base_inventory())


def out(r):
    return r.stdout.decode("utf-8", "replace")


def err(r):
    return r.stderr.decode("utf-8", "replace")


# ---- the shipped files ----------------------------------------------------

def test_sshd_config_passes_sshd_t(install, pki):
    r = subprocess.run([TOOLS["sshd"], "-t", "-f", install.datadir + "/proxy/sshd_config",
                        "-o", "Port=2222"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with open(install.datadir + "/proxy/sshd_config") as f:
        text = f.read()
    lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    # MaxStartups alone comes first: sshd keeps its last value, not its first
    assert lines[0].startswith("MaxStartups ")
    assert lines[1] == "Include %s/proxy-sshd.d/*.conf" % install.etc
    assert "AuthorizedKeysCommand %s/sercon-proxy-keys %%u %%t %%k" % install.libexec in text
    assert "Subsystem" not in text
    assert not re.search(r"^\s*Port\b", text, re.M)


def test_ssh_config_is_strict(install):
    r = subprocess.run([TOOLS["ssh"], "-G", "-F", install.datadir + "/proxy/ssh_config", "hv1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    g = dict(l.split(" ", 1) for l in r.stdout.splitlines() if " " in l)
    assert g["stricthostkeychecking"] == "true"
    assert g["userknownhostsfile"] == "/dev/null"
    assert g["globalknownhostsfile"] == install.pki + "/known_hosts"
    assert g["batchmode"] == "yes"
    assert g["escapechar"] == "none"
    assert g["clearallforwardings"] == "yes"
    assert g["forwardagent"] == "no"
    assert g["identitiesonly"] == "yes"
    assert g["checkhostip"] == "no"


# ---- sercon-proxy-keys -------------------------------------------------------

def as_sercon(argv):
    """argv run as the sercon user, as sshd runs the helpers."""
    return ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups"] + argv


def keys_helper(install, *args):
    return subprocess.run(as_sercon([install.libexec + "/sercon-proxy-keys"] + list(args)),
                          capture_output=True, text=True, timeout=30)


def test_keys_helper_lines(chain, install):
    t, b = chain.pub("alice").split()[:2]
    r = keys_helper(install, USER, t, b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ('restrict,pty,command="%s/sercon-proxy-shell accept '
                        '--entity-id=alice --entity=Alice" %s %s\n' % (install.libexec, t, b))
    # all keys when none is offered; nothing for another account or key
    r = keys_helper(install, USER)
    assert len(r.stdout.splitlines()) == 3
    assert keys_helper(install, "root", t, b).stdout == ""
    t, b = chain.pub("mallory").split()[:2]
    r = keys_helper(install, USER, t, b)
    assert r.returncode == 0 and r.stdout == ""


def test_keys_helper_manager_failure(chain, install, syslog):
    install.write_conf("50-missing-inventory.conf",
                       "[proxy]\ninventory = %s/nonexistent.json\n" % install.etc)
    try:
        m = syslog.mark()
        r = keys_helper(install, USER)
        assert r.returncode != 0 and r.stdout == ""
        syslog.wait_for(r"sercon-proxy-keys.*nonexistent\.json", since=m)
    finally:
        install.remove_conf("50-missing-inventory.conf")


def test_keys_helper_unwritable_cache(chain, install, syslog):
    install.write_conf("50-cache.conf", "[proxy]\ncache_dir = %s/no-such-dir\n" % install.prefix)
    try:
        m = syslog.mark()
        t, b = chain.pub("bob").split()[:2]
        r = keys_helper(install, USER, t, b)
        assert r.returncode == 0 and "--entity-id=bob" in r.stdout
        syslog.wait_for(r"not writable.*directly", since=m)
    finally:
        install.remove_conf("50-cache.conf")


# ---- list -------------------------------------------------------------------

def test_list_plain_per_user(chain):
    r = chain.ssh("alice", "list")
    assert r.returncode == 0, err(r)
    assert out(r) == "id-web1\tweb1\nid-web2\tweb2\n"
    r = chain.ssh("bob", "list")
    assert out(r) == "id-db1\tdb1\n"
    r = chain.ssh("carol", "list")
    assert r.returncode == 0 and out(r) == ""


def test_list_json(chain, syslog):
    m = syslog.mark()
    r = chain.ssh("alice", ["list", "--format=json"])
    assert r.returncode == 0, err(r)
    # host and console too, as ovirt-vmconsole's list carries them
    assert json.loads(out(r)) == {"content": "console_list", "version": 1, "consoles": [
        {"vmid": "id-web1", "vm": "web1", "host": "127.0.0.1", "console": "id-web1.sock"},
        {"vmid": "id-web2", "vm": "web2", "host": "127.0.0.1", "console": "id-web2.sock"}]}
    syslog.wait_for(r"list entity=alice consoles=2 outcome=ok", since=m)


def test_info_and_help(chain):
    r = chain.ssh("bob", "info")
    assert r.returncode == 0 and "entity: Bob" in out(r)
    r = chain.ssh("bob", "help")
    assert r.returncode == 0 and "list" in out(r)
    # the in-session commands, and why one ~B is not enough
    for word in ("~~.", "~~B", "~~S<key>", "~~W", "~~R", "~~?", "~~~", "single ~B"):
        assert word in out(r), word
    r = chain.ssh("bob", "frobnicate --x")
    assert r.returncode == 2
    assert err(r).startswith("ERROR: ") and len(err(r).strip().splitlines()) == 1
    r = chain.ssh("bob", ["--", "--bogus"])
    assert r.returncode == 2
    assert "'--bogus'" in err(r) and err(r).count("try 'help'") == 1, err(r)


def test_unknown_vm_without_tty_is_named(chain):
    # no -t: the answer is about the unknown word, not the missing terminal
    r = chain.ssh("alice", "foo")
    assert r.returncode == 2
    assert "'foo'" in err(r) and "terminal" not in err(r), err(r)
    r = chain.ssh("alice", ["connect", "--vm-id=nope"])
    assert r.returncode == 2 and "'nope'" in err(r), err(r)


def test_ambiguous_names_refused(chain, inventory):
    inv = chain.base_inventory()
    inv["consoles"] += [
        # a VM whose name is another VM's id, and a duplicated id
        {"vm_id": "id-trap", "vm_name": "id-web1", "host": "127.0.0.1",
         "console": "id-web2.sock", "users": ["alice"]},
        {"vm_id": "id-dup", "vm_name": "dup-a", "host": "127.0.0.1",
         "console": "id-web1.sock", "users": ["alice"]},
        {"vm_id": "id-dup", "vm_name": "dup-b", "host": "127.0.0.1",
         "console": "id-web2.sock", "users": ["alice"]},
    ]
    inventory(inv)
    r = chain.ssh("alice", "id-web1", tty=True)
    assert r.returncode == 2
    e = err(r) + out(r)
    assert "web1 (id id-web1)" in e and "id-web1 (id id-trap)" in e, e
    r = chain.ssh("alice", ["connect", "--vm-id=id-dup"], tty=True)
    assert r.returncode == 2
    e = err(r) + out(r)
    assert "dup-a (id id-dup)" in e and "dup-b (id id-dup)" in e, e
    # the menu refuses it too, and names both
    p = chain.spawn("alice")
    p.expect(b"console> ")
    p.send(b"id-web1\r")
    p.expect(b"names more than one console")
    p.expect(b"console> ")
    p.send(b"exit\r")
    p.expect(pexpect.EOF)
    p.close()


def test_inventory_change_is_seen(chain, inventory):
    inv = chain.base_inventory()
    inv["consoles"].append({"vm_id": "id-new", "vm_name": "new", "host": "127.0.0.1",
                            "users": ["carol"]})
    inventory(inv)
    r = chain.ssh("carol", "list")
    assert out(r) == "id-new\tnew\n"


# ---- who gets in --------------------------------------------------------------

def test_unknown_key_refused(chain):
    r = chain.ssh("mallory", "list")
    assert r.returncode == 255
    assert b"Permission denied" in r.stderr


def test_nothing_but_the_shell(chain):
    # a command is taken as a VM name, never run
    r = chain.ssh("alice", "id")
    assert r.returncode != 0 and "uid=" not in out(r)
    assert err(r).startswith("ERROR: ")
    r = chain.ssh("alice", "/bin/sh -c id")
    assert r.returncode != 0 and "uid=" not in out(r)
    # no subsystem: sftp and ssh -s
    key = chain.keys["alice"][0]
    r = subprocess.run(["sftp", "-b", "-", "-P", str(chain.proxy.port), "-i", key,
                        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                        "-o", "UserKnownHostsFile=" + chain.install.pki + "/known_hosts",
                        "-o", "StrictHostKeyChecking=yes", "sercon@127.0.0.1"],
                       input=b"ls\n", capture_output=True, timeout=30)
    assert r.returncode != 0
    r = chain.ssh("alice", "sftp", "-s")
    assert r.returncode != 0 and out(r) == ""
    # -W (stdio forwarding, what ProxyJump uses): the channel is refused,
    # so the target never sees a connection and no byte comes back
    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen(1)
    target.settimeout(3)
    p = subprocess.Popen(ssh_argv(chain.proxy.port, key, "-W",
                                  "127.0.0.1:%d" % target.getsockname()[1]),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        try:
            p.stdin.write(b"through the proxy\n")
            p.stdin.flush()
        except BrokenPipeError:
            pass                        # ssh gave up already: refused
        try:
            target.accept()[0].close()
            reached = True
        except socket.timeout:
            reached = False
        assert not reached, "the proxy opened a -W channel to the target"
        o, e = p.communicate(timeout=30)
        assert o == b""
        assert p.returncode == 255, e
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        target.close()
    # -R is refused outright
    r = chain.ssh("alice", None, "-N", "-o", "ExitOnForwardFailure=yes",
                  "-R", "127.0.0.1:0:127.0.0.1:22")
    assert r.returncode == 255 and b"forwarding failed" in r.stderr


def forward_refused(chain, *extra, socks=False):
    """Starts ssh -N with a local (or SOCKS) forward and checks that a
    connection through it never reaches its target: the proxy refuses the
    channel."""
    from conftest import free_port
    lport = free_port()
    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen(1)
    tport = target.getsockname()[1]
    spec = ["-D", "127.0.0.1:%d" % lport] if socks else \
        ["-L", "127.0.0.1:%d:127.0.0.1:%d" % (lport, tport)]
    argv = ssh_argv(chain.proxy.port, chain.keys["alice"][0], "-N", *spec)
    p = subprocess.Popen(argv, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                c = socket.create_connection(("127.0.0.1", lport), timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "ssh did not listen"
                time.sleep(0.1)
        if socks:
            # SOCKS5, no auth, CONNECT 127.0.0.1:tport
            c.sendall(b"\x05\x01\x00")
            c.recv(2)
            c.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + tport.to_bytes(2, "big"))
        c.settimeout(5)
        try:
            data = c.recv(100)
        except OSError:
            data = b""
        c.close()
        target.settimeout(1)
        with pytest.raises(socket.timeout):
            target.accept()
        assert not data or data[:2] != b"\x05\x00"
    finally:
        p.terminate()
        p.communicate(timeout=10)
        target.close()


def test_local_forward_refused(chain):
    forward_refused(chain)


def test_dynamic_forward_refused(chain):
    forward_refused(chain, socks=True)


# ---- connect ----------------------------------------------------------------

def expect_console(p, name):
    p.expect(("CONSOLE %s READY" % name).encode())
    p.send(b"hello\r")
    p.expect(b"echo:hello")


def close_session(p):
    # <Enter>~. of the user's own client ends the session
    p.send(b"\r~.")
    p.expect(pexpect.EOF)
    p.close()


def test_connect_by_name(chain, syslog):
    m = syslog.mark()
    p = chain.spawn("alice", "web2")
    expect_console(p, "web2")
    close_session(p)
    syslog.wait_for(r"connect entity=alice vm=web2 vmid=id-web2 host=127\.0\.0\.1 .*dialing",
                    since=m)
    syslog.wait_for(r"connect entity=alice vm=web2 vmid=id-web2 host=127\.0\.0\.1 outcome=",
                    since=m, timeout=15)


def test_connect_by_id_and_options(chain):
    # ("--" keeps the user's own ssh from reading the options as its own)
    for cmd in (["connect", "--vm-id=id-web1"], ["--", "--vm-name=web1"],
                ["connect", "--vm-name=web1"], ["id-web1"]):
        p = chain.spawn("alice", cmd)
        expect_console(p, "web1")
        close_session(p)


def test_single_console_connects_at_once(chain):
    p = chain.spawn("bob")
    expect_console(p, "db1")
    close_session(p)


def test_menu(chain):
    p = chain.spawn("alice")
    p.expect(b"Available consoles")
    p.expect(b"1  web1")
    p.expect(b"2  web2")
    p.expect_exact(b"~~. leaves the console, ~~? lists the commands")
    p.expect(b"console> ")
    p.send(b"9\r")
    p.expect(b"No console '9'")
    p.expect(b"console> ")
    p.send(b"db1\r")                # bob's: not in alice's menu
    p.expect(b"No console 'db1'")
    p.send(b"2\r")
    expect_console(p, "web2")
    close_session(p)

    for choice, name in ((b"web1", "web1"), (b"id-web2", "web2")):
        p = chain.spawn("alice")
        p.expect(b"console> ")
        p.send(choice + b"\r")
        expect_console(p, name)
        close_session(p)

    p = chain.spawn("alice")
    p.expect(b"console> ")
    p.send(b"exit\r")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0


def test_menu_title(chain, install):
    install.write_conf("50-title.conf", "[proxy]\nmenu_title = Consoles of ACME\n")
    try:
        p = chain.spawn("alice")
        p.expect(b"Consoles of ACME")
        p.expect(b"console> ")
        p.sendeof()
        p.expect(pexpect.EOF)
        p.close()
    finally:
        install.remove_conf("50-title.conf")


def test_no_tty(chain):
    r = chain.ssh("alice", "web1")
    assert r.returncode != 0
    assert "ssh -t" in err(r) and err(r).startswith("ERROR: ")


def test_no_consoles(chain):
    p = chain.spawn("carol")
    p.expect(b"ERROR: no consoles available to Carol")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus != 0


def test_users_never_reach_each_other(chain, syslog):
    for cmd in (["--", "--vm-id=id-web1"], ["web1"], ["connect", "--vm-name=web2"],
                ["id-web2"]):
        m = syslog.mark()
        p = chain.spawn("bob", cmd)
        p.expect(b"ERROR: no console of a VM")
        p.expect(pexpect.EOF)
        p.close()
        assert p.exitstatus == 2
        assert not any("dialing" in l for l in syslog.lines(m))
    assert "web" not in out(chain.ssh("bob", "list"))


def test_host_statuses_explained(chain):
    # the VM's socket is gone: the host says 3, the user reads why
    chain.consoles["web1"].stop()
    try:
        p = chain.spawn("alice", "web1")
        p.expect(b"ERROR: the console is not available")
        p.expect(pexpect.EOF)
        p.close()
        assert p.exitstatus == 3
    finally:
        chain.consoles["web1"] = Console(chain.install.console_dir, "id-web1.sock",
                                         b"CONSOLE web1 READY\r\n")


# ---- a hostile manager ---------------------------------------------------------

def test_hostile_inventory(chain, inventory, syslog):
    inv = chain.base_inventory()
    inv["users"].append({"id": "eve", "name": "Eve",
                         "keys": ['command="/bin/sh" ' + chain.pub("eve")]})
    inv["consoles"] += [
        {"vm_id": "id-c1", "vm_name": "\u009b31mred\u202eevil", "host": "127.0.0.1",
         "console": "id-web1.sock", "users": ["carol"]},
        {"vm_id": "id-esc", "vm_name": "\x1b[2Jclear", "host": "127.0.0.1",
         "users": ["carol"]},
        {"vm_id": "id-pc", "vm_name": "pc", "host": "-oProxyCommand=touch /tmp/sercon-pwned",
         "users": ["carol"]},
        {"vm_id": "id-dots", "vm_name": "dots", "host": "127.0.0.1", "console": "../x",
         "users": ["carol"]},
        {"vm_id": "id-sp", "vm_name": "sp", "host": "127.0.0.1 -p 1", "users": ["carol"]},
    ]
    m = syslog.mark()
    inventory(inv)
    # the key with options is refused; everyone else still works
    assert chain.ssh("eve", "list").returncode == 255
    r = chain.ssh("carol", "list")
    assert r.returncode == 0, err(r)
    # names with control characters are listed, escaped (sorted by the
    # raw name: ESC before C1)
    assert out(r) == ("id-esc\t\\x1b[2Jclear\n"
                      "id-c1\t\\xc2\\x9b31mred\\xe2\\x80\\xaeevil\n"), out(r)
    assert "\x1b" not in out(r) and "\u009b" not in out(r)
    raw = chain.ssh("carol", ["list", "--format=json"]).stdout
    # ASCII only: C1 and bidi characters travel as \uXXXX, never raw
    assert all(b < 0x80 for b in raw) and b"\\U009B" in raw.upper() and b"\\U202E" in raw.upper(), raw
    j = json.loads(raw)
    assert [c["vmid"] for c in j["consoles"]] == ["id-esc", "id-c1"]
    assert j["consoles"][1]["vm"] == "\u009b31mred\u202eevil"
    assert j["consoles"][0]["vm"] == "\x1b[2Jclear"
    assert chain.ssh("alice", "list").returncode == 0
    # each bad entry was logged with the file, the entry and the field
    syslog.wait_for(r"inventory .*inventory\.json: consoles\[5\] .*'id-pc'.*field 'host'", since=m)
    syslog.wait_for(r"consoles\[6\] .*field 'console'", since=m)
    syslog.wait_for(r"users\[3\] .*keys\[0\] skipped", since=m)
    # the escaped name shows in the menu too, and the VM is reached by id
    p = chain.spawn("carol")
    p.expect(rb"\\x1b\[2Jclear")
    p.expect(b"console> ")
    p.send(b"id-c1\r")
    p.expect(b"CONSOLE web1 READY")
    close_session(p)
    assert not os.path.exists("/tmp/sercon-pwned")


# ---- hosts that cannot prove who they are -------------------------------------------

@pytest.fixture
def bad_host(install, pki, start_sshd, tmp_path):
    started = []

    def make(what):
        d = os.path.join(install.prefix, "test-badhost-" + what)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d, mode=0o755)
        key = pki.keygen(os.path.join(d, "host_key"))
        if what == "other-ca":
            cert = pki.sign(key + ".pub", ["127.0.0.1", "localhost"], host=True,
                            ca=pki.new_ca("other-ca"))
        else:
            cert = pki.sign(key + ".pub", ["hv9.example"], host=True)
        os.chmod(key, 0o600)
        conf = os.path.join(d, "sshd_config")
        with open(conf, "w") as f:
            f.write("HostKey %s\nHostCertificate %s\nAuthorizedKeysFile none\n"
                    "UsePAM no\nPasswordAuthentication no\n" % (key, cert))
        s = start_sshd(conf)
        install.write_conf("60-badhost.conf", "[proxy]\nhost_port = %d\n" % s.port)
        started.append(s)
        return s

    yield make
    install.remove_conf("60-badhost.conf")
    for s in started:
        s.stop()


@pytest.mark.parametrize("what", ["other-ca", "other-name"])
def test_host_certificate_checked(chain, bad_host, syslog, what):
    bad_host(what)
    m = syslog.mark()
    p = chain.spawn("bob")
    p.expect(b"ERROR: could not reach or verify the VM's host")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 255
    syslog.wait_for(r"connect entity=bob vm=db1 .*outcome=unreachable", since=m)


# ---- the key index ------------------------------------------------------------

def test_concurrent_rebuild(chain, install, inventory, syslog):
    """sshd runs one helper per offered key, many at once: after a change
    of the inventory they rebuild the index once, under the lock, and each
    gets its answer."""
    import base64
    rng = __import__("random").Random(3)
    inv = chain.base_inventory()
    extra = []
    for i in range(3000):
        blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + rng.randbytes(32)
        key = "ssh-ed25519 " + base64.b64encode(blob).decode()
        inv["users"].append({"id": "u%d" % i, "keys": [key]})
        extra.append(("u%d" % i, key))
    m = syslog.mark()
    inventory(inv)
    procs = []
    for uid, key in extra[:10]:
        t, b = key.split()
        procs.append((uid, subprocess.Popen(
            as_sercon([install.libexec + "/sercon-proxy-keys", USER, t, b]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    for uid, p in procs:
        o, e = p.communicate(timeout=60)
        assert p.returncode == 0, e
        assert "--entity-id=%s " % uid in o and len(o.splitlines()) == 1
    # The collector reads datagrams on its own thread: wait for the line
    # rather than racing it, then count.
    syslog.wait_for("key index rebuilt", since=m, timeout=10)
    rebuilt = [l for l in syslog.lines(m) if "key index rebuilt" in l]
    assert len(rebuilt) == 1, rebuilt
    assert "3003 keys" in rebuilt[0]


def test_tampered_index_is_not_trusted(chain, install, syslog):
    idx = install.cache_dir + "/inventory.idx"
    keys_helper(install, USER)             # make sure it is current
    with open(idx, "r+b") as f:
        data = bytearray(f.read())
        # alice's key record names alice: make it name bob instead
        pos = data.find(b"alice\0Alice\0")
        assert pos > 0
        data[pos:pos + 5] = b"bobby"
        f.seek(0)
        f.write(data)
    m = syslog.mark()
    t, b = chain.pub("alice").split()[:2]
    r = keys_helper(install, USER, t, b)
    assert r.returncode == 0 and "--entity-id=alice " in r.stdout
    syslog.wait_for(r"ignoring key index: index record is corrupt", since=m)


STALE_HELPER = """#!/bin/sh
# key_list stand-in: prints the key list, or fails when told to
d=$(dirname "$0")
if [ -e "$d/fail" ]; then echo "manager down" >&2; exit 3; fi
cat "$d/keys.json"
"""


def test_remote_key_list_served_stale(chain, install, syslog):
    d = install.prefix + "/test-proxy-stale"
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d, mode=0o755)
    helper = d + "/key-list"
    with open(helper, "w") as f:
        f.write(STALE_HELPER)
    os.chmod(helper, 0o755)
    with open(d + "/keys.json", "w") as f:
        json.dump({"content": "key_list", "version": 1, "keys": [
            {"entityid": "alice", "entity": "Alice", "key": chain.pub("alice")}]}, f)
    conf = "[proxy]\nbackend = command\nkey_list = %s\nconsole_list = %s\n" \
           "cache_ttl = 0\n" % (helper, helper)
    t, b = chain.pub("alice").split()[:2]
    try:
        install.write_conf("70-stale.conf", conf + "cache_stale_max = 600\n")
        r = keys_helper(install, USER, t, b)
        assert r.returncode == 0 and "--entity-id=alice " in r.stdout, r.stderr
        assert os.path.exists(install.cache_dir + "/keys.idx")
        open(d + "/fail", "w").close()
        m = syslog.mark()
        r = keys_helper(install, USER, t, b)
        assert r.returncode == 0 and "--entity-id=alice " in r.stdout
        syslog.wait_for(r"manager failed .*serving the key list from \d+ s ago", since=m)
        # stale answers disabled: the failure shows, nothing is printed
        install.write_conf("70-stale.conf", conf + "cache_stale_max = 0\n")
        m = syslog.mark()
        r = keys_helper(install, USER, t, b)
        assert r.returncode == 1 and r.stdout == ""
        syslog.wait_for(r"manager \(keys\)", since=m)
    finally:
        install.remove_conf("70-stale.conf")
        for f in ("keys.idx", "keys.lock"):
            try:
                os.unlink(install.cache_dir + "/" + f)
            except FileNotFoundError:
                pass


def test_100k_consoles_linear(chain, install, inventory):
    """A user with 100,000 consoles: list (plain and JSON) and the menu
    cost well under a second of CPU (the lookup was quadratic: minutes)."""
    import resource
    import pexpect as px
    inv = chain.base_inventory()
    inv["consoles"] = [{"vm_id": "id-%06d" % i, "vm_name": "vm%06d" % (99999 - i),
                        "host": "127.0.0.1", "console": "c%d.sock" % i,
                        "users": ["carol", "*"][i % 2:i % 2 + 1]}
                       for i in range(100000)]
    inventory(inv)
    shell = [install.libexec + "/sercon-proxy-shell", "accept", "--entity-id=carol",
             "--entity=Carol"]
    chain.ssh("carol", "list")        # the index is built once, outside the figure
    # The quadratic lookup took minutes; a linear one well under a second,
    # a few times that under the sanitizers.
    limit = 10.0 if SANITIZE else 1.0
    for cmd, check in (("list", lambda o: o.count(b"\n") == 100000),
                       ("list --format=json",
                        lambda o: len(json.loads(o)["consoles"]) == 100000)):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run(as_sercon(["env", "SSH_ORIGINAL_COMMAND=" + cmd] + shell),
                           capture_output=True, timeout=120)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        assert r.returncode == 0 and check(r.stdout), r.stderr
        assert cpu < limit, (cmd, cpu)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = px.spawn(as_sercon(["env", "SSH_ORIGINAL_COMMAND="] + shell)[0],
                 as_sercon(["env", "SSH_ORIGINAL_COMMAND="] + shell)[1:],
                 timeout=120, maxread=65536)
    p.expect(b"console> ")
    p.send(b"exit\r")
    p.expect(px.EOF)
    p.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < limit, ("menu", cpu)
