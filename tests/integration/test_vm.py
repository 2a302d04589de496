# Real-VM tests: a tiny qemu VM (Debian kernel + busybox initramfs, TCG) whose
# serial port is a unix socket in the console directory, reached through the
# whole chain: user ssh -> proxy sshd -> sercon-proxy-shell -> ssh -> host
# sshd -> sercon-host-shell -> qemu's socket. Also runs tools/quickstart into
# its own prefix and drives the demo it brings up.

import os
import re
import subprocess
import time
import uuid

import pytest

from conftest import free_port, ssh_argv
import vm_util

pexpect = pytest.importorskip("pexpect")

pytestmark = [
    pytest.mark.vm,
    pytest.mark.skipif(not vm_util.have_qemu(),
                       reason="qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"),
]

VM1 = str(uuid.UUID("5e7c0c1e-0000-4000-8000-000000000001"))
VM2 = str(uuid.UUID("5e7c0c1e-0000-4000-8000-000000000002"))


@pytest.fixture(scope="module")
def vms(install):
    """Two VMs booting in the background while the daemons start."""
    vm_util.build_image()
    booted = {}
    for vmid in (VM1, VM2):
        booted[vmid] = vm_util.VM(os.path.join(install.console_dir, vmid + ".sock"))
    yield booted
    for vm in booted.values():
        vm.kill()


@pytest.fixture(scope="module")
def chain(install, pki, host_sshd, proxy_sshd, user_key, syslog, vms):
    """Inventory: alice and bob share tiny1; alice alone has tiny2."""
    alice = user_key("alice")
    bob = user_key("bob")
    install.write_inventory({
        "users": [
            {"id": "alice", "name": "Alice", "keys": [alice[1]]},
            {"id": "bob", "name": "Bob", "keys": [bob[1]]},
        ],
        "consoles": [
            {"vm_id": VM1, "vm_name": "tiny1", "host": "127.0.0.1",
             "console": VM1 + ".sock", "users": ["alice", "bob"]},
            {"vm_id": VM2, "vm_name": "tiny2", "host": "127.0.0.1",
             "console": VM2 + ".sock", "users": ["alice"]},
        ],
    })
    return {"alice": alice[0], "bob": bob[0], "port": proxy_sshd.port,
            "proxy": proxy_sshd, "host": host_sshd, "syslog": syslog}


def spawn(chain, who, vm_name):
    argv = ssh_argv(chain["port"], chain[who], tty=True,
                    command=["connect", "--vm-name=" + vm_name])
    child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8",
                          codec_errors="replace", timeout=30,
                          dimensions=(24, 80))
    return child


def leave(child):
    """ssh's own escape: the clean way out of a console session."""
    child.send("\r~.")
    child.expect(pexpect.EOF, timeout=15)
    child.close()


def connect_when_free(chain, who, vm_name, timeout=20):
    """Retries while the console is still held by a session that just left;
    returns a child at the VM's login prompt or shell."""
    return vm_util.reach_prompt(lambda: spawn(chain, who, vm_name), chain["syslog"],
                                "%s on %s" % (who, vm_name), timeout)


def test_login_and_command_through_chain(chain, syslog):
    child = spawn(chain, "alice", "tiny1")
    vm_util.console_login(child)
    child.send("echo $((6*7))\r")
    child.expect("\r\n42\r\n", timeout=20)
    child.send("uname -r\r")
    child.expect(r"\d+\.\d+\.\d+", timeout=20)
    child.send("exit\r")
    child.expect("login: ", timeout=20)
    leave(child)
    # A clean disconnect frees the console: the next session gets it.
    again = connect_when_free(chain, "alice", "tiny1")
    leave(again)


def test_second_user_busy_then_admitted(chain):
    first = spawn(chain, "alice", "tiny1")
    vm_util.console_login(first)
    t0 = time.monotonic()
    argv = ssh_argv(chain["port"], chain["bob"], tty=True,
                    command=["connect", "--vm-name=tiny1"])
    second = pexpect.spawn(argv[0], argv[1:], encoding="utf-8",
                           codec_errors="replace", timeout=20)
    second.expect(pexpect.EOF, timeout=20)
    second.close()
    took = time.monotonic() - t0
    assert second.exitstatus != 0, second.before
    assert re.search(r"busy|in use", second.before, re.I), second.before
    assert took < 10, "busy answer took %.1f s" % took
    # The first session is untouched by the refused second one.
    first.send("echo $((6*7))\r")
    first.expect("\r\n42\r\n", timeout=20)
    first.send("exit\r")
    first.expect("login: ", timeout=20)
    leave(first)
    # Once the first user left, the second gets in.
    second = connect_when_free(chain, "bob", "tiny1")
    vm_util.console_login(second)
    second.send("echo $((6*7))\r")
    second.expect("\r\n42\r\n", timeout=20)
    second.send("exit\r")
    second.expect("login: ", timeout=20)
    leave(second)


def test_vm_killed_mid_session(install, chain, vms):
    """The proxy waits follow_timeout for a console that closed (issue 11:
    the VM may be restarting or moving), then ends with status 5."""
    install.write_conf("30-follow.conf", "[proxy]\nfollow_timeout = 3\n")
    try:
        child = spawn(chain, "alice", "tiny2")
        vm_util.console_login(child)
        child.send("echo $((6*7))\r")
        child.expect("\r\n42\r\n", timeout=20)
        t0 = time.monotonic()
        vms[VM2].kill()
        child.expect(r"console of tiny2 closed; waiting for it", timeout=15)
        child.expect(r"tiny2 did not come back within 3 s", timeout=15)
        child.expect(pexpect.EOF, timeout=15)
        child.close()
        assert time.monotonic() - t0 < 20
        assert child.exitstatus == 5
    finally:
        install.remove_conf("30-follow.conf")


QS_PREFIX = "/var/lib/sercon-test/vm-quickstart/root"


@pytest.fixture(scope="module")
def quickstart():
    """tools/quickstart in its own prefix, ports and build directory."""
    env = dict(os.environ)
    env.update({
        "SERCON_DEMO_PREFIX": QS_PREFIX,
        "SERCON_DEMO_BUILDDIR": os.path.join(vm_util.REPO, "build-test-vm-quickstart"),
        "SERCON_DEMO_PROXY_PORT": str(free_port()),
        "SERCON_DEMO_HOST_PORT": str(free_port()),
        "SERCON_DEMO_VMS": "1",
        "SERCON_DEMO_NO_APT": "1",
        "SERCON_DEMO_KEY": os.path.join(os.path.dirname(QS_PREFIX), "user_key"),
        "SERCON_VM_CACHE": vm_util.CACHE,
    })
    qs = os.path.join(vm_util.REPO, "tools", "quickstart")
    r = subprocess.run([qs], env=env, capture_output=True, text=True, timeout=1200)
    try:
        assert r.returncode == 0, "quickstart failed:\n%s\n%s" % (r.stdout, r.stderr)
        yield env, r.stdout
    finally:
        s = subprocess.run([qs, "stop"], env=env, capture_output=True, text=True)
        assert s.returncode == 0, s.stdout + s.stderr


def test_quickstart_demo_reaches_login_prompt(quickstart):
    env, out = quickstart
    port = env["SERCON_DEMO_PROXY_PORT"]
    key = env["SERCON_DEMO_KEY"]
    assert "ssh -t -p %s" % port in out, out
    # A second run is harmless: everything is already there and running.
    qs = os.path.join(vm_util.REPO, "tools", "quickstart")
    r = subprocess.run([qs], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    argv = ["ssh", "-t", "-p", port, "-i", key, "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=%s/etc/pki/sercon/known_hosts" % QS_PREFIX,
            "-o", "StrictHostKeyChecking=yes", "sercon@127.0.0.1"]
    child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8",
                          codec_errors="replace", timeout=30, dimensions=(24, 80))
    vm_util.console_login(child)
    child.send("echo $((6*7))\r")
    child.expect("\r\n42\r\n", timeout=20)
    leave(child)


# --- sercon-consoled with a real VM ------------------------------------------
# These run last in this module: from here on the daemon holds the consoles
# (the tests above show the direct, exclusive mode without it).

VM3 = str(uuid.UUID("5e7c0c1e-0000-4000-8000-000000000003"))
VM4 = str(uuid.UUID("5e7c0c1e-0000-4000-8000-000000000004"))


@pytest.fixture
def vm_log(syslog):
    """What the programs logged during a test, shown when it fails."""
    mark = syslog.mark()
    yield
    print("\n".join(l for l in syslog.lines(mark)[-80:]
                    if "cannot connect" not in l))


@pytest.fixture(scope="module")
def vm_daemon(install, pki, host_sshd, syslog):
    from test_consoled import daemon_with
    yield from daemon_with(install, "20-vm-consoled.conf",
                           "console_grace = 60\nreplay_lines = 24\n")


@pytest.fixture(scope="module")
def vm3(install, vm_daemon, syslog):
    """A VM booted while the daemon runs and nobody is attached."""
    mark = syslog.mark()
    vm = vm_util.VM(os.path.join(install.console_dir, VM3 + ".sock"))
    syslog.wait_for(r"sercon-consoled\[\d+\]: console %s\.sock: connected" % VM3,
                    mark, timeout=20)
    yield vm
    vm.kill()


def host_spawn(install, host, command):
    """A session on the host sshd through a pty, as the proxy's ssh -t."""
    argv = ssh_argv(host.port, install.pki + "/proxy-ssh_user_key", tty=True,
                    command=["--", command])
    return pexpect.spawn(argv[0], argv[1:], timeout=30, dimensions=(24, 80))


def ring_total(install, host, console):
    r = subprocess.run(ssh_argv(host.port, install.pki + "/proxy-ssh_user_key",
                                command=["--", "status"]),
                       capture_output=True, text=True, timeout=30)
    m = re.search(r"^console=%s state=connected ring=\d+ total=(\d+)" %
                  re.escape(console), r.stdout, re.M)
    return int(m.group(1)) if m else -1


def wait_boot_quiet(install, host, console, timeout=vm_util.BOOT_TIMEOUT):
    """Until the guest has printed its boot log and gone quiet."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        total = ring_total(install, host, console)
        if total != last:
            last, since = total, time.monotonic()
        elif total > 60 and time.monotonic() - since > 4:
            return total
        time.sleep(1)
    raise AssertionError("the VM did not go quiet; ring total %d" % last)


def test_daemon_boot_log_replayed_to_first_session(vm_log, install, host_sshd, vm3,
                                                   syslog):
    name = VM3 + ".sock"
    wait_boot_quiet(install, host_sshd, name)
    child = host_spawn(install, host_sshd,
                       "--entity-id=alice --entity=Alice connect "
                       "--console=%s --replay=all" % name)
    try:
        # Printed before anyone was attached: the replay has it.
        child.expect(rb"sercon-vm: booted in [0-9.]+s, kernel", timeout=20)
        child.expect(rb"login: ", timeout=20)
        child.sendline(b"")
    finally:
        child.sendcontrol("d") if child.isalive() else None
        child.close(force=True)


def test_daemon_two_sessions_one_writer(vm_log, install, host_sshd, vm3, syslog):
    name = VM3 + ".sock"
    alice = host_spawn(install, host_sshd, "--entity-id=alice --entity=Alice "
                       "connect --console=%s --replay=0" % name)
    mark = syslog.mark()
    try:
        alice.setecho(False)
        vm_util.console_login(alice)
        bob = host_spawn(install, host_sshd, "--entity-id=bob --entity=Bob "
                         "connect --console=%s --replay=0" % name)
        bob.expect(rb"\[sercon\] %s: Alice writes since \d\d:\d\d UTC; you are "
                   rb"watching read-only" % VM3.encode(), timeout=20)
        alice.send("echo $((6*7))\r")
        alice.expect("\r\n42\r\n", timeout=20)
        bob.expect("\r\n42\r\n", timeout=20)
        # Bob's keystrokes never reach the guest.
        bob.send("echo $((7*11))\r")
        bob.expect(rb"you are watching read-only; your input goes nowhere")
        alice.send("echo $((6*8))\r")
        alice.expect("\r\n48\r\n", timeout=20)
        assert b"77" not in alice.before
        # --takeover: Bob writes, Alice is told and stays.
        carol = host_spawn(install, host_sshd, "--entity-id=bob --entity=Bob "
                           "connect --console=%s --replay=0 --takeover" % name)
        carol.expect(rb"you write now \(took over from Alice\)", timeout=20)
        alice.expect(rb"Bob took over; you are watching read-only", timeout=20)
        carol.send("echo $((5*5))\r")
        carol.expect("\r\n25\r\n", timeout=20)
        alice.expect("\r\n25\r\n", timeout=20)
        carol.send("exit\r")
        carol.expect(rb"login: ", timeout=20)
        for c in (carol, bob):
            c.close(force=True)
    finally:
        alice.close(force=True)


def framed_session(install, host, console, entity="alice"):
    from test_consoled import Session
    return Session(install, host, console, "--replay=0", framed=True,
                   entity=entity)


@pytest.mark.parametrize("telnet", [False, True], ids=["qmp", "telnet"])
def test_daemon_sysrq_reaches_guest_kernel(vm_log, install, host_sshd, vm_daemon,
                                           syslog, telnet):
    """SP_SYSRQ 'h' through ssh, sercon-host-shell and the daemon: qemu sends
    a serial break (QMP chardev-send-break, or telnet IAC BRK), then 'h':
    the guest kernel prints its SysRq help."""
    vmid = VM4 if telnet else VM3
    name = vmid + ".sock"
    mark = syslog.mark()
    vm = None
    if telnet:
        vm = vm_util.VM(os.path.join(install.console_dir, name), telnet=True,
                        qmp=False)
    else:
        vm_util.VM  # VM3 is the module's, already up
    try:
        syslog.wait_for(r"console %s: connected" % re.escape(name), 0,
                        timeout=30)
        if telnet:
            wait_boot_quiet(install, host_sshd, name)
        s = framed_session(install, host_sshd, name)
        try:
            s.expect_msg("H", rb"role=writer")
            s.send_msg("S", "h")
            s.expect_msg("N", rb"^SysRq h sent to %s$" % vmid.encode(),
                         timeout=20)
            s.expect(rb"sysrq: HELP", timeout=30)
            syslog.wait_for(r"break: console=%s .* method=%s what=SysRq h" %
                            (re.escape(name), "telnet" if telnet else "qmp"),
                            mark)
        finally:
            s.close()
    finally:
        if vm is not None:
            vm.kill()


def test_daemon_vm_killed_and_restarted(vm_log, install, host_sshd, vm3, syslog):
    name = VM3 + ".sock"
    mark = syslog.mark()
    child = host_spawn(install, host_sshd, "--entity-id=alice --entity=Alice "
                       "connect --console=%s --replay=0" % name)
    watcher = host_spawn(install, host_sshd, "--entity-id=bob --entity=Bob "
                         "connect --console=%s --replay=0 --read-only" % name)
    try:
        watcher.expect(rb"watching read-only", timeout=20)
        syslog.wait_for(r"attach: console=%s .* entity=Alice role=writer" %
                        re.escape(name), mark, timeout=20)
        vm3.kill()
        child.expect(rb"\[sercon\] %s: console closed" % VM3.encode(), timeout=20)
        watcher.expect(rb"\[sercon\] %s: console closed" % VM3.encode(), timeout=20)
        # The same VM started again: the sessions carry on with it.
        again = vm_util.VM(os.path.join(install.console_dir, name))
        vm3.pid = again.pid
        child.expect(rb"\[sercon\] %s: console back" % VM3.encode(), timeout=30)
        watcher.expect(rb"console back", timeout=30)
        vm_util.console_login(child)
        child.send("echo $((6*7))\r")
        child.expect("\r\n42\r\n", timeout=20)
        watcher.expect("\r\n42\r\n", timeout=20)
    finally:
        child.close(force=True)
        watcher.close(force=True)
